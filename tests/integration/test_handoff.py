"""A minted token handed on: the module's ``connection`` values given to kubernetes.core (its own
examples, word for word), and the warning for audiences the API server does not accept."""
import importlib.util
import os
import stat

import pytest
import yaml

from harness import record_task

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ACCOUNT = 'system:serviceaccount:mcp:mcp-k8s-server'


def module_examples(module='sa_token'):
    """The module's EXAMPLES, by task name."""
    spec = importlib.util.spec_from_file_location('doc_' + module, os.path.join(ROOT, 'plugins', 'modules', module + '.py'))
    source = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(source)
    return dict((task['name'], task) for task in yaml.safe_load(source.EXAMPLES))


@pytest.fixture
def reader(cluster):
    """ServiceAccount mcp/mcp-k8s-server that may read ConfigMaps and Pods in mcp, a ConfigMap to read."""
    cluster.create_service_account('mcp-k8s-server', 'mcp')
    cluster.grant(ACCOUNT, ['get', 'list'], ['configmaps', 'pods'], namespace='mcp')
    cluster.objects.create('configmaps', {'metadata': {'name': 'settings'}, 'data': {'level': 'info'}}, namespace='mcp')
    cluster.clear_requests()
    return cluster


def test_the_examples_hand_the_token_to_kubernetes_core_unmasked(reader, run_playbook, tmp_path):
    examples = module_examples()
    tasks = [examples[name] for name in (
        'Mint a token for mcp-k8s-server, valid for one hour',
        'Read ConfigMaps as mcp-k8s-server with kubernetes.core',
        'Or give the values as options of one task',
        'Write the kubeconfig for kubectl (mode 0600)')]
    # what the examples no longer recommend, for contrast: the kubeconfig dict given to kubernetes.core
    tasks.append({'name': 'The kubeconfig dict', 'kubernetes.core.k8s_info': {
        'kind': 'ConfigMap', 'namespace': 'mcp', 'name': 'settings', 'kubeconfig': '{{ minted.kubeconfig }}'},
        'register': 'with_kubeconfig'})
    tasks.append(record_task("{'configmaps': configmaps, 'pods': pods, 'with_kubeconfig': with_kubeconfig, "
                             "'connection': minted.connection, 'token': minted.token}"))
    tasks[2] = dict(tasks[2], register='pods')
    cache = tmp_path / 'cache'
    run = run_playbook([{'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}], verbosity=3,
                       env={'XDG_CACHE_HOME': str(cache)})
    assert run.rc == 0, run
    results = run.results
    token = results['token']
    assert token and token not in run.output

    [configmap] = [c for c in results['configmaps']['resources'] if c['metadata']['name'] == 'settings']
    assert configmap['kind'] == 'ConfigMap' and configmap['apiVersion'] == 'v1'
    assert configmap['metadata']['namespace'] == 'mcp' and configmap['data'] == {'level': 'info'}
    assert results['pods']['api_found'] is True and results['pods']['resources'] == []
    # kubernetes.core's no_log kubeconfig masks the dict's strings in its result
    [masked] = results['with_kubeconfig']['resources']
    assert masked['kind'] != 'ConfigMap' and masked['apiVersion'] != 'v1'

    connection = results['connection']
    assert connection['host'] == reader.url and connection['api_key'] == token
    assert connection['validate_certs'] is True
    # the admin kubeconfig holds certificate-authority-data: the CA is kept in a 0644 file
    assert os.path.dirname(connection['ca_cert']) == str(cache / 'mcp.k8s' / 'ca')
    assert stat.S_IMODE(os.stat(connection['ca_cert']).st_mode) == 0o644
    with open(connection['ca_cert'], 'rb') as handle, open(reader.ca_path, 'rb') as expected:
        assert handle.read() == expected.read()
    # the reads were made as the ServiceAccount, with the token
    paths = {r['path'] for r in reader.requests if r['user'] == ACCOUNT and r['method'] == 'GET'}
    assert {'/api/v1/namespaces/mcp/configmaps', '/api/v1/namespaces/mcp/pods'} <= paths, paths
    kubeconfig = tmp_path / 'mcp-k8s-server.kubeconfig'
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
    assert yaml.safe_load(kubeconfig.read_text())['users'][0]['user']['token'] == token


ACCEPTED = ['https://api.example.com', 'https://second.example.com']


@pytest.mark.parametrize('cluster', [{'api_audiences': ACCEPTED}], indirect=True)
def test_audiences_the_api_server_refuses_are_warned_about(cluster, reader, run_playbook):
    """The README's old example asked for https://kubernetes.default.svc, which this API server
    does not accept: the module says so, and the connection values are indeed refused."""
    tasks = [
        {'name': 'Mint for kubernetes.default.svc', 'mcp.k8s.sa_token': {
            'name': 'mcp-k8s-server', 'namespace': 'mcp', 'audiences': ['https://kubernetes.default.svc']},
         'register': 'refused', 'no_log': True},
        {'name': 'Mint for the API server', 'mcp.k8s.sa_token': {
            'name': 'mcp-k8s-server', 'namespace': 'mcp', 'audiences': [ACCEPTED[1]]},
         'register': 'accepted', 'no_log': True},
        {'name': 'Read with the refused token', 'kubernetes.core.k8s_info': {'kind': 'ConfigMap', 'namespace': 'mcp'},
         'module_defaults': {'group/kubernetes.core.k8s': '{{ refused.connection }}'},
         'register': 'read_refused', 'ignore_errors': True},
        {'name': 'Read with the accepted token', 'kubernetes.core.k8s_info': {'kind': 'ConfigMap', 'namespace': 'mcp'},
         'module_defaults': {'group/kubernetes.core.k8s': '{{ accepted.connection }}'},
         'register': 'read_accepted'},
        record_task("{'refused': refused.warnings | default([]), 'accepted': accepted.warnings | default([]), "
                    "'read_refused': [read_refused.failed | default(false), read_refused.msg | default('')], "
                    "'read_accepted': read_accepted.resources | map(attribute='metadata.name') | list}"),
    ]
    run = run_playbook([{'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}])
    assert run.rc == 0, run
    results = run.results
    [warning] = results['refused']
    assert 'is for https://kubernetes.default.svc, none of which the API server at %s accepts' % cluster.url in warning
    assert '(it accepts %s)' % ', '.join(ACCEPTED) in warning
    assert 'add %s to audiences' % ACCEPTED[0] in warning
    assert results['accepted'] == []
    failed, message = results['read_refused']
    assert failed is True and ('401' in message or 'Unauthorized' in message), message
    assert 'settings' in results['read_accepted']   # (kube-root-ca.crt too on a real control plane)
    # one TokenRequest per mint and one that asked the API server's audiences, per mint with audiences
    assert cluster.count('POST', r'/serviceaccounts/mcp-k8s-server/token$') == 4


def lookup_examples():
    """The lookup's EXAMPLES, by task name."""
    path = os.path.join(ROOT, 'plugins', 'lookup', 'sa_token.py')
    with open(path, encoding='utf-8') as handle:
        source = handle.read()
    start = source.index("EXAMPLES = r'''") + len("EXAMPLES = r'''")
    return dict((task['name'], task) for task in yaml.safe_load(source[start:source.index("'''", start)]))


def test_the_lookup_examples_hand_the_token_to_kubernetes_core_unmasked(cluster, run_playbook, tmp_path):
    deployer = 'system:serviceaccount:ci:deployer'
    cluster.create_service_account('deployer', 'ci')
    cluster.grant(deployer, ['get', 'list', 'create', 'patch'], ['pods', 'configmaps'], namespace='ci')
    cluster.clear_requests()
    examples = lookup_examples()
    tasks = [examples[name] for name in ('Mint a token for the deployer and keep its connection values',
                                         'Act as the deployer with kubernetes.core',
                                         'Or give them to every kubernetes.core task of a block')]
    tasks.append(record_task("{'pods': pods, 'connection': deployer.connection, 'token': deployer.token}"))
    run = run_playbook([{'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}], verbosity=3,
                       env={'XDG_CACHE_HOME': str(tmp_path / 'cache')})
    assert run.rc == 0, run.stdout[-2500:]
    token = run.results['token']
    assert token and token not in run.output
    assert run.results['pods']['api_found'] is True and run.results['pods']['resources'] == []
    assert run.results['connection']['host'] == cluster.url and run.results['connection']['api_key'] == token
    # the block's ConfigMap was created by the deployer, and its result is not masked
    assert 'kind": "ConfigMap' in run.output or "'kind': 'ConfigMap'" in run.output
    writes = [r for r in cluster.requests if r['method'] in ('POST', 'PATCH') and '/configmaps' in r['path']]
    assert writes and {r['user'] for r in writes} == {deployer}, writes
