"""meta/execution-environment.yml, as ansible-builder uses it: an execution environment whose
definition installs mcp.k8s (from the built tarball: Galaxy is not reachable) gets a build context
from `ansible-builder create`, and what its container build would do is done here, without a
container: install the collection from the context's requirements.yml, introspect it (the
collection's Python requirements and bindep entries), check the bindep entries against this
machine (Debian), install the Python requirements with ansible-core into a clean virtual
environment, and list every plugin there with ansible-doc.

meta/execution-environment.yml is read by introspection in someone else's build (its paths are
relative to the collection root), not given to `ansible-builder create -f` itself."""
import hashlib
import json
import os
import subprocess
import sys

import pytest
import yaml

from harness import PYTHON, ansible_command

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PINS = os.path.join(ROOT, 'tests', 'requirements-builder.txt')

pytestmark = pytest.mark.slow


def run(argv, **kwargs):
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=900, **kwargs)
    assert proc.returncode == 0, '%s\n%s\n%s' % (argv, proc.stdout[-4000:], proc.stderr[-4000:])
    return proc.stdout


@pytest.fixture(scope='module')
def builder():
    """The bin folder of an environment with the pinned ansible-builder and bindep."""
    with open(PINS, 'rb') as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()[:12]
    cache = os.environ.get('MCP_K8S_CACHE') or os.path.join(os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'), 'mcp-k8s')
    venv = os.path.join(cache, 'ansible-builder-' + digest)
    if not os.path.exists(os.path.join(venv, '.installed')):
        run([sys.executable, '-m', 'venv', '--clear', venv])
        run([os.path.join(venv, 'bin', 'pip'), 'install', '--quiet', '--disable-pip-version-check', '-r', PINS])
        open(os.path.join(venv, '.installed'), 'w').close()
    return os.path.join(venv, 'bin')


def plugin_names(folder):
    return sorted('mcp.k8s.' + name[:-3] for name in os.listdir(os.path.join(ROOT, 'plugins', folder))
                  if name.endswith('.py') and not name.startswith('_'))


def test_an_execution_environment_with_the_collection_installs(builder, tmp_path):
    run([ansible_command('ansible-galaxy'), 'collection', 'build', ROOT, '--output-path', str(tmp_path)])
    with open(os.path.join(ROOT, 'galaxy.yml'), encoding='utf-8') as handle:
        version = yaml.safe_load(handle)['version']
    tarball = 'mcp-k8s-%s.tar.gz' % version
    core = run([PYTHON, '-c', 'from ansible.release import __version__; print(__version__)']).strip()
    (tmp_path / 'requirements.yml').write_text(yaml.safe_dump({'collections': [{'name': 'collections/' + tarball, 'type': 'file'}]}))
    (tmp_path / 'execution-environment.yml').write_text(yaml.safe_dump({
        'version': 3,
        'images': {'base_image': {'name': 'localhost/ee-base:latest'}},
        'dependencies': {'galaxy': 'requirements.yml', 'ansible_core': {'package_pip': 'ansible-core==' + core},
                         'ansible_runner': {'package_pip': 'ansible-runner'}},
        'additional_build_files': [{'src': tarball, 'dest': 'collections'}],
    }, sort_keys=False))

    context = tmp_path / 'context'
    run([os.path.join(builder, 'ansible-builder'), 'create', '-f', 'execution-environment.yml', '-c', str(context),
         '--output-filename', 'Containerfile'], cwd=str(tmp_path))
    build = context / '_build'
    containerfile = (context / 'Containerfile').read_text()
    assert 'ansible-galaxy collection install' in containerfile and 'ansible-core==' + core in containerfile
    assert (build / 'collections' / tarball).is_file() and (build / 'scripts' / 'introspect.py').is_file()

    # the galaxy stage: the collection from the context's requirements.yml
    collections = tmp_path / 'collections'
    run([ansible_command('ansible-galaxy'), 'collection', 'install', '-r', 'requirements.yml', '-p', str(collections)], cwd=str(build))
    # the builder stage: what the collections need
    pip_file, bindep_file = tmp_path / 'requirements.txt', tmp_path / 'bindep.txt'
    run([os.path.join(builder, 'ansible-builder'), 'introspect', '--sanitize', '--write-pip', str(pip_file),
         '--write-bindep', str(bindep_file), str(collections)])
    with open(os.path.join(ROOT, 'requirements.txt'), encoding='utf-8') as handle:
        ours = [line.split('#')[0].strip() for line in handle if line.split('#')[0].strip()]
    introspected = [line.split('#')[0].strip() for line in pip_file.read_text().splitlines() if line.split('#')[0].strip()]
    assert introspected == ours, pip_file.read_text()
    assert 'python3 [platform:dpkg]' in bindep_file.read_text()
    # bindep: every system package for this platform is installed (exit 1 and the missing ones otherwise)
    missing = subprocess.run([os.path.join(builder, 'bindep'), '-b', '-f', str(bindep_file)], capture_output=True, text=True, check=False)
    assert missing.returncode == 0 and missing.stdout.strip() == '', missing.stdout + missing.stderr

    # the final stage: the Python requirements and ansible-core into a clean environment
    venv = tmp_path / 'ee'
    run([sys.executable, '-m', 'venv', str(venv)])
    run([str(venv / 'bin' / 'pip'), 'install', '--quiet', '--disable-pip-version-check', '--no-compile', '-r', str(pip_file), 'ansible-core==' + core])
    env = {name: value for name, value in os.environ.items() if not name.startswith(('ANSIBLE_', 'K8S_AUTH_'))}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(collections), HOME=str(tmp_path / 'home'))
    run([str(venv / 'bin' / 'python'), '-c', 'import kubernetes, jwt; '
         'import ansible_collections.mcp.k8s.plugins.module_utils.connection as c; assert c.kubernetes_import_error() is None'],
        env=env, cwd=str(collections))
    # every plugin's documentation, rendered in one ansible-doc run (a broken one fails it)
    dump = json.loads(run([str(venv / 'bin' / 'ansible-doc'), '--metadata-dump', 'mcp.k8s'], env=env))['all']
    listed = {kind: sorted(dump.get(kind) or ()) for kind in ('module', 'lookup', 'filter', 'role')}
    assert listed == {'module': plugin_names('modules'), 'lookup': plugin_names('lookup'),
                      'filter': ['mcp.k8s.token_claims'], 'role': ['mcp.k8s.mcp_k8s_server']}, listed
