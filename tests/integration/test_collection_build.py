"""The built collection: what the tarball ships, and that every plugin's docs render from an install."""
import glob
import os
import subprocess
import tarfile

import pytest

from harness import ansible_command

PLUGIN_TYPES = {'modules': 'module', 'lookup': 'lookup', 'filter': 'filter'}


def plugins_in(tree):
    found = []
    for folder, plugin_type in PLUGIN_TYPES.items():
        for path in sorted(glob.glob(os.path.join(tree, 'plugins', folder, '*.py'))):
            name = os.path.splitext(os.path.basename(path))[0]
            if name != '__init__':
                found.append((plugin_type, name))
    return found


@pytest.fixture(scope='module')
def installed_tree(collections_path):
    return os.path.join(str(collections_path), 'ansible_collections', 'mcp', 'k8s')


def doc_env(collections_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith('ANSIBLE_')}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(collections_path), ANSIBLE_NOCOLOR='1')
    return env


def test_tarball_ships_the_collection_and_not_the_test_machinery(collections_path):
    tarball = sorted(glob.glob(os.path.join(os.path.dirname(str(collections_path)), 'mcp-k8s-*.tar.gz')))[-1]
    with tarfile.open(tarball) as tar:
        names = set(tar.getnames())
    for required in ('MANIFEST.json', 'FILES.json', 'README.md', 'meta/runtime.yml',
                     'requirements.txt', 'plugins/modules/sa_token.py', 'plugins/module_utils/connection.py'):
        assert required in names, required
    assert not any(n.startswith(('tests/kube_double', 'tests/unit', 'tests/integration', '.venv', 'build/', '.ci'))
                   for n in names), sorted(n for n in names if n.startswith(('tests/', '.', 'build')))
    assert 'Makefile' not in names


def test_every_plugin_renders_with_ansible_doc(collections_path, installed_tree):
    plugins = plugins_in(installed_tree)
    assert ('module', 'sa_token') in plugins
    env = doc_env(collections_path)
    for plugin_type, name in plugins:
        proc = subprocess.run([ansible_command('ansible-doc'), '-t', plugin_type, 'mcp.k8s.%s' % name],
                              capture_output=True, text=True, env=env, check=False)
        assert proc.returncode == 0, (plugin_type, name, proc.stderr)
        assert 'ERROR' not in proc.stderr and 'WARNING' not in proc.stderr, proc.stderr
        assert 'OPTIONS' in proc.stdout, (plugin_type, name)
        if plugin_type == 'module':
            assert 'EXAMPLES' in proc.stdout and 'RETURN VALUES' in proc.stdout, name


def test_the_module_lists_under_the_collection(collections_path):
    proc = subprocess.run([ansible_command('ansible-doc'), '-t', 'module', '-l', 'mcp.k8s'],
                          capture_output=True, text=True, env=doc_env(collections_path), check=False)
    assert proc.returncode == 0, proc.stderr
    assert 'mcp.k8s.sa_token' in proc.stdout


def test_the_role_documents_its_arguments(collections_path, installed_tree):
    if not os.path.exists(os.path.join(installed_tree, 'roles', 'mcp_k8s_server', 'meta', 'argument_specs.yml')):
        pytest.fail('roles/mcp_k8s_server/meta/argument_specs.yml is missing from the installed collection')
    proc = subprocess.run([ansible_command('ansible-doc'), '-t', 'role', 'mcp.k8s.mcp_k8s_server'],
                          capture_output=True, text=True, env=doc_env(collections_path), check=False)
    assert proc.returncode == 0, proc.stderr
    assert 'mcp_k8s_server_access' in proc.stdout
