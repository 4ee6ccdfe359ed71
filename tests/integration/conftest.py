"""Drive ``ansible-playbook`` as a user would, with the built and installed collection.

Once per session the collection is built with ``ansible-galaxy collection build`` and the
tarball installed into a temporary collections path (``--no-deps``: kubernetes.core comes
with the ``ansible`` package in the test environment). Each test gets ``run_playbook``,
which runs a playbook against the server under test, ``cluster``.

Every test that uses ``cluster`` (or ``seeded_cluster``, ``run_playbook``) runs twice: against a
fresh API server double (``[double]``, ``cluster.kind == 'double'``) and against the worker's
real control plane (``[real]``, ``'real'``: kube-apiserver built from Go modules, reset to a
fresh cluster for each test).
A test that needs what only the double can do (fault injection, its internals) says so with
``@pytest.mark.double_only('why')`` and runs once. ``MCP_K8S_REAL_CLUSTER=0`` leaves the real
tier out, and the run says so.
"""
import json
import os
import subprocess
from dataclasses import dataclass, field

import pytest
import yaml

from harness import ansible_command, ansible_playbook, local_inventory, playbook_env
from kube_real.build import BuildError, selected_version
from kube_real.pytest_plugin import real_tier_enabled

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass
class PlaybookRun:
    command: list
    rc: int
    stdout: str
    stderr: str
    results: dict = field(default_factory=dict)

    @property
    def output(self):
        return self.stdout + self.stderr

    def __str__(self):
        return 'rc=%d\n--- stdout\n%s\n--- stderr\n%s' % (self.rc, self.stdout[-6000:], self.stderr[-4000:])


def pytest_generate_tests(metafunc):
    if 'cluster_kind' not in metafunc.fixturenames:
        return
    kinds = ['double']
    if real_tier_enabled() and metafunc.definition.get_closest_marker('double_only') is None:
        kinds.append('real')
    if metafunc.definition.get_closest_marker('real_only') is not None:
        kinds = ['real'] if real_tier_enabled() else []
    metafunc.parametrize('cluster_kind', kinds, scope='function')


def pytest_report_header(config):  # pylint: disable=unused-argument
    if not real_tier_enabled():
        return 'mcp.k8s: the real control plane tier is OFF (MCP_K8S_REAL_CLUSTER=0): double only'
    try:
        version = selected_version()
    except BuildError as exc:
        version = '(%s)' % exc
    return 'mcp.k8s: tests run against the API server double and a real kube-apiserver %s' % version


@pytest.fixture
def cluster_kind():
    """Parametrized in pytest_generate_tests: 'double' or 'real' (the test ids [double], [real])."""
    return 'double'


@pytest.fixture
def cluster(cluster_kind, kube_double_factory, real_control_plane_factory, request):
    """The server under test: a fresh API server double (``.kind == 'double'``) or a real control
    plane reset to a fresh cluster (``.kind == 'real'``). A test parametrized indirectly on
    ``cluster`` passes server options (``max_token_expiration``, ``api_audiences``, ``issuer``, ...)."""
    options = getattr(request, 'param', None) or {}
    if cluster_kind == 'real':
        server = real_control_plane_factory(**options)
    else:
        server = kube_double_factory(**options)
    assert server.kind == cluster_kind, (server, cluster_kind)
    return server


@pytest.fixture
def kube_double():
    """Not here: the unit tests' name for a double, which an integration test would take for the
    server under test and so never run against the real control plane."""
    pytest.fail('tests/integration: the server under test is the fixture `cluster` (double or real, '
                'cluster.kind); kube_double_factory() starts a double of its own', pytrace=False)


@pytest.fixture
def seeded_cluster(cluster):
    """``cluster`` with namespace ``mcp``, ServiceAccounts ``server`` and ``other`` and a Pod running
    as ``server``. Test files that need other objects define their own ``seeded_cluster``."""
    store = cluster.objects
    store.create('namespaces', {'metadata': {'name': 'mcp'}})
    for name in ('server', 'other'):
        store.create('serviceaccounts', {'metadata': {'name': name}}, namespace='mcp')
    store.create('pods', {'metadata': {'name': 'web'}, 'spec': {
        'serviceAccountName': 'server', 'containers': [{'name': 'c', 'image': 'busybox'}]}}, namespace='mcp')
    cluster.clear_requests()
    return cluster


@pytest.fixture(scope='session')
def collections_path(tmp_path_factory):
    """Build the collection tarball and install it, as a user installs a release."""
    base = tmp_path_factory.mktemp('collection')
    build = subprocess.run(
        [ansible_command('ansible-galaxy'), 'collection', 'build', ROOT, '--output-path', str(base), '--force'],
        capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stdout + build.stderr
    tarballs = sorted(base.glob('mcp-k8s-*.tar.gz'))
    assert tarballs, build.stdout
    path = base / 'collections'
    install = subprocess.run(
        [ansible_command('ansible-galaxy'), 'collection', 'install', str(tarballs[-1]), '-p', str(path), '--no-deps', '--force'],
        capture_output=True, text=True, check=False)
    assert install.returncode == 0, install.stdout + install.stderr
    return path


@pytest.fixture
def ansible_env(collections_path, tmp_path, cluster):
    """playbook_env for this test's server."""
    return playbook_env(collections_path, tmp_path, cluster.kubeconfig_path)


@pytest.fixture
def run_playbook(ansible_env, tmp_path, cluster):
    """Return a function that runs one playbook (YAML text, a list of plays, or a path)."""
    counter = [0]

    def run(playbook, extra_vars=None, check=False, diff=False, verbosity=0, env=None,
            inventory=None, args=(), timeout=600):
        more_args = args
        counter[0] += 1
        n = counter[0]
        if isinstance(playbook, (list, dict)):
            playbook = yaml.safe_dump(playbook, sort_keys=False)
        if '\n' in playbook or not os.path.exists(playbook):
            path = tmp_path / ('playbook-%d.yml' % n)
            path.write_text(playbook)
            playbook = str(path)
        results_file = tmp_path / ('results-%d.json' % n)
        variables = {
            'results_file': str(results_file),
            'kubeconfig': cluster.kubeconfig_path,
        }
        variables.update(extra_vars or {})
        vars_file = tmp_path / ('vars-%d.json' % n)
        vars_file.write_text(json.dumps(variables))
        if inventory is None:
            inventory = local_inventory(tmp_path / 'inventory.ini')
        args = ['-i', str(inventory), playbook, '-e', '@%s' % vars_file]
        if check:
            args.append('--check')
        if diff:
            args.append('--diff')
        if verbosity:
            args.append('-' + 'v' * verbosity)
        args.extend(more_args)
        run_env = dict(ansible_env)
        run_env.update(env or {})
        proc = ansible_playbook(args, run_env, tmp_path, timeout=timeout)
        results = json.loads(results_file.read_text()) if results_file.exists() else {}
        return PlaybookRun(proc.args, proc.returncode, proc.stdout, proc.stderr, results)

    return run
