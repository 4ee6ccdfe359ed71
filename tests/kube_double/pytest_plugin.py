"""pytest fixtures: ``kube_double`` (a fresh server per test) and ``kube_double_factory``."""
import pytest

from .server import KubeDouble


@pytest.fixture
def kube_double_factory(tmp_path_factory):
    """``make(**options)`` starts a double with KubeDouble options; all stop at teardown."""
    started = []

    def make(**options):
        state_dir = tmp_path_factory.mktemp('kube-double')
        double = KubeDouble(state_dir, **options).start()
        started.append(double)
        return double

    yield make
    for double in started:
        double.stop()


@pytest.fixture
def kube_double(kube_double_factory):
    """A started :class:`kube_double.KubeDouble` with default options."""
    return kube_double_factory()
