"""docs/connecting.md and docs/playbooks.md, run word for word: their inventory of two clusters,
the shipped playbooks over it, and the fleet play that hands a token to kubernetes.core."""
import os
import re
import shlex
import shutil

import pytest

from docs_blocks import block as page_block
from harness import ansible_playbook
from interpreters import discovered_first, python_without_requirements

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BOT = 'system:serviceaccount:ci:deploy-bot'


@pytest.fixture
def clusters(cluster, kube_double_factory, tmp_path):
    """The two clusters of the docs' inventory (~/.kube/east.conf: the server under test, west: a
    second double), each with the deploy bot that may read ConfigMaps in ci."""
    west = kube_double_factory()
    home = tmp_path / 'home'
    (home / '.kube').mkdir(parents=True)
    for name, server in (('east', cluster), ('west', west)):
        shutil.copy(server.kubeconfig_path, str(home / '.kube' / ('%s.conf' % name)))
        server.create_service_account('deploy-bot', 'ci')
        server.grant(BOT, ['get', 'list'], ['configmaps'], namespace='ci')
        server.objects.create('configmaps', {'metadata': {'name': 'settings'}, 'data': {'level': 'info'}}, namespace='ci')
        server.clear_requests()
    return {'east': cluster, 'west': west, 'home': str(home)}


def run_console(command, ansible_env, cwd, home):
    """As a user runs it: no ANSIBLE_PYTHON_INTERPRETER, and the first Python that interpreter
    discovery finds on PATH is one without the kubernetes client, as on most controllers."""
    argv = shlex.split(command.strip())
    assert argv[0] == 'ansible-playbook'
    env = dict(ansible_env, HOME=home, K8S_AUTH_KUBECONFIG='')
    del env['ANSIBLE_PYTHON_INTERPRETER']
    env['PATH'] = discovered_first(cwd, python_without_requirements(cwd)) + os.pathsep + env['PATH']
    proc = ansible_playbook(argv[1:], env, cwd, timeout=900)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_the_connecting_and_playbooks_pages_as_written(clusters, ansible_env, tmp_path):
    (tmp_path / 'clusters.yml').write_text(page_block('docs/connecting.md', 'yaml', '# clusters.yml'))
    (tmp_path / 'fleet.yml').write_text(page_block('docs/connecting.md', 'yaml', '# fleet.yml'))
    servers = (clusters['east'], clusters['west'])

    run_console(page_block('docs/connecting.md', 'console', 'ansible-playbook -i clusters.yml mcp.k8s.provision'),
                ansible_env, tmp_path, clusters['home'])
    for server in servers:
        assert server.objects.find('serviceaccounts', 'mcp-k8s-server', 'default') is not None

    for server in servers:
        server.clear_requests()
    out = run_console(page_block('docs/connecting.md', 'console', 'ansible-playbook -i clusters.yml fleet.yml'),
                      ansible_env, tmp_path, clusters['home'])
    assert re.search(r'east\s+: ok=2 ', out) and re.search(r'west\s+: ok=2 ', out), out
    for server in servers:
        # the ConfigMaps were read with the bot's token alone, not with the kubeconfig's admin certificate
        reads = [r for r in server.requests if r['method'] == 'GET' and r['path'] == '/api/v1/namespaces/ci/configmaps']
        assert reads and {r['user'] for r in reads} == {BOT}, server.requests

    out = run_console(page_block('docs/playbooks.md', 'console', 'ansible-playbook -i clusters.yml mcp.k8s.token'),
                      ansible_env, tmp_path, clusters['home'])
    assert out.count('"sub": "%s"' % BOT) == 2, out

    out = run_console(page_block('docs/playbooks.md', 'console', 'ansible-playbook -i clusters.yml mcp.k8s.deprovision'),
                      ansible_env, tmp_path, clusters['home'])
    for server in servers:
        assert server.objects.find('serviceaccounts', 'mcp-k8s-server', 'default') is None
    assert out.count('"Removed: ClusterRoleBinding mcp-k8s-server, ClusterRole mcp-k8s-server, '
                     'ServiceAccount default/mcp-k8s-server"') == 2, out


def test_the_readme_example_as_written(cluster, ansible_env, tmp_path):
    """README's first play: module_defaults for group/mcp.k8s.k8s with ~/.kube/config and context
    prod, the token handed to kubernetes.core, with no warning (no audiences given)."""
    import yaml
    home = tmp_path / 'home'
    (home / '.kube').mkdir(parents=True)
    with open(cluster.kubeconfig_path, encoding='utf-8') as handle:
        config = yaml.safe_load(handle)
    config['contexts'][0]['name'] = 'prod'
    config['current-context'] = 'nowhere'
    (home / '.kube' / 'config').write_text(yaml.safe_dump(config))
    cluster.create_service_account('deploy-bot', 'ci')
    cluster.grant(BOT, ['get', 'list'], ['configmaps'], namespace='ci')
    cluster.clear_requests()
    play = page_block('README.md', 'yaml', '- hosts: localhost\n  module_defaults:\n    group/mcp.k8s.k8s:')
    (tmp_path / 'readme.yml').write_text(play)
    out = run_console('ansible-playbook readme.yml', ansible_env, tmp_path, str(home))
    warnings = [line for line in out.splitlines() if line.startswith('[WARNING]') and 'localhost' not in line]
    assert warnings == [] and 'ok=3' in out, out
    reads = [r for r in cluster.requests if r['method'] == 'GET' and r['path'] == '/api/v1/namespaces/ci/configmaps']
    assert reads and {r['user'] for r in reads} == {BOT}
