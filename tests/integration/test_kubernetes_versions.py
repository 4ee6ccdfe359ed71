"""What needs a newer Kubernetes (README.md, "Kubernetes versions"): on a supported server it
works, on an older one the collection says so in one sentence (never a traceback).

The real tier runs the minor of ``$MCP_K8S_KUBE_VERSION`` (every supported one in `make matrix`);
a server older than the supported minors is the double started as that release (it answers as
kube-apiserver's source does for it: tests/kube_double/server.py, tokens.py).
"""
import base64
import json

import pytest

NODE = 'worker-1'


def play(task, record):
    return [{'name': 'versions', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        dict(task, register='minted', ignore_errors=True),
        {'name': 'Record results', 'ansible.builtin.copy': {
            'content': '{{ %s | to_json }}' % record, 'dest': '{{ results_file }}', 'mode': '0600'}},
    ]}]


def node_bound_mint(cluster, run_playbook):
    cluster.create_service_account('server', 'mcp')
    cluster.objects.create('nodes', {'metadata': {'name': NODE}})
    task = {'name': 'Mint', 'mcp.k8s.sa_token': {'name': 'server', 'namespace': 'mcp',
                                                 'bound_object': {'kind': 'Node', 'name': NODE}}}
    return run_playbook(play(task, "{'failed': minted.failed | default(false), 'msg': minted.msg | default(''), "
                                   "'claims': minted.claims | default({}), 'bound': minted.bound_object | default({})}"))


def test_a_node_bound_token_on_a_supported_server(cluster, run_playbook):
    run = node_bound_mint(cluster, run_playbook)
    assert run.rc == 0, run
    node = cluster.objects.get('nodes', NODE)
    assert run.results['failed'] is False, run.results['msg']
    assert run.results['claims']['kubernetes.io']['node'] == {'name': NODE, 'uid': node['metadata']['uid']}


@pytest.mark.double_only('a server older than the supported minors (the real tier runs supported ones only)')
@pytest.mark.parametrize('cluster', [{'version': 'v1.30.14'}], indirect=True)
def test_a_node_bound_token_on_1_30_is_one_sentence(cluster, run_playbook):
    run = node_bound_mint(cluster, run_playbook)
    assert run.rc == 0, run
    assert run.results['failed'] is True
    assert run.results['msg'] == (
        'The API server refused to create serviceaccounts/token for ServiceAccount "mcp/server" (400 Bad Request): '
        'cannot bind token to a Node object as the "ServiceAccountTokenNodeBinding" feature-gate is disabled; '
        'tokens bound to a Node need Kubernetes 1.31 or newer (GA in 1.33); bind to a Pod or Secret instead.')
    assert 'Traceback' not in run.output
    assert cluster.count(method='POST', path_re=r'/token$') == 1


def mint_and_read_credential_id(cluster, run_playbook):
    cluster.create_service_account('server', 'mcp')
    task = {'name': 'Mint', 'mcp.k8s.sa_token': {'name': 'server', 'namespace': 'mcp'}}
    run = run_playbook(play(task, "{'failed': minted.failed | default(false), 'credential_id': minted.credential_id,"
                                  " 'token': minted.token}"))
    assert run.rc == 0, run
    assert run.results['failed'] is False
    payload = run.results['token'].split('.')[1]
    return json.loads(base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4))), run.results['credential_id']


def test_credential_id_on_a_supported_server(cluster, run_playbook):
    claims, credential_id = mint_and_read_credential_id(cluster, run_playbook)
    assert credential_id == 'JTI=%s' % claims['jti']


@pytest.mark.double_only('a server older than the supported minors (the real tier runs supported ones only)')
@pytest.mark.parametrize('cluster', [{'version': 'v1.29.6'}], indirect=True)
def test_credential_id_is_null_on_1_29_without_a_jti(cluster, run_playbook):
    """The jti claim (and with it the audit log's credential id) came in 1.30 (beta) / 1.32 (GA)."""
    claims, credential_id = mint_and_read_credential_id(cluster, run_playbook)
    assert 'jti' not in claims and credential_id is None
