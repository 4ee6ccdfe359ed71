"""pytest fixtures for the real control plane: one per set of options, per pytest worker.

``real_control_plane_factory(**options)`` starts (once per worker and options) a
:class:`kube_real.ControlPlane` and resets it to a fresh cluster for each test. The real tier
is on unless ``MCP_K8S_REAL_CLUSTER=0``; when it is on and cannot be built or started, the
tests that use it fail with the reason (never a silent skip).
"""
import os

import pytest

from .build import BuildError
from .control_plane import ControlPlane


def real_tier_enabled():
    return os.environ.get('MCP_K8S_REAL_CLUSTER', '1').strip().lower() not in ('0', 'false', 'no', 'off')


# Two control planes per set of options take turns: while a test uses one, the other is reset
# in the background (deleting namespaces takes kube-controller-manager about five seconds).
PLANES_PER_OPTIONS = 2


@pytest.fixture(scope='session')
def _real_planes():
    pools = {}
    yield pools
    for pool in pools.values():
        for plane in pool:
            plane.stop()


@pytest.fixture
def real_control_plane_factory(_real_planes, tmp_path_factory):
    """``make(**options)``: a fresh cluster on one of the worker's control planes for these options."""
    used = []

    def make(**options):
        key = tuple(sorted((name, repr(value)) for name, value in options.items()))
        pool = _real_planes.setdefault(key, [])
        if len(pool) < PLANES_PER_OPTIONS:
            try:
                plane = ControlPlane(tmp_path_factory.mktemp('kube-real'), **options).start()
            except BuildError as exc:
                pytest.fail('The real control plane could not start: %s' % exc, pytrace=False)
        else:
            plane = pool.pop(0)   # the one used longest ago: its reset has had the most time
            plane.wait_reset()
        pool.append(plane)
        used.append(plane)
        return plane

    yield make
    for plane in used:
        plane.reset_in_background()
