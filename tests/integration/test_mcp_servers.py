"""End to end: the two real MCP servers run on what the role writes.

The upstream ``mcp-k8s-server`` (kubernetes Python client, SSE) starts on the config file the
role wrote, ``kubernetes-mcp-server`` (client-go, streamable HTTP) on the role's kubeconfig;
both are installed by ``make mcp-servers`` (test dependencies only, see mcp_servers.py).

The cluster is ``cluster`` (the API server double, and the real control plane when that tier is
on), used through the interface both offer (``kubeconfig_path``, ``objects``). The rotation test
needs tokens that expire in test time: TokenRequest's minimum is 10 minutes, so it asks the
double for its test-only ``token_lifetime`` option (every token lives 40 s); it is the one test
here that runs against the double only.
"""
import calendar
import json
import os
import stat
import time

import pytest
import yaml

import mcp_servers
from mcp_servers import kms_call, kms_tools, start_kms, start_upstream, upstream_call

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not mcp_servers.installed(), reason=mcp_servers.MISSING)]

NS = 'mcp'
SA = 'mcp-k8s-server'
USER = 'system:serviceaccount:%s:%s' % (NS, SA)
TOKEN_LIFETIME = 40


def forbidden(verb, resource, name='web', group=''):
    """The API server's 403 sentence for the role's account in namespace mcp."""
    return ('%s "%s" is forbidden: User "%s" cannot %s resource "%s" in API group "%s" in the namespace "%s"'
            % (resource.split('/')[0] + ('.' + group if group else ''), name, USER, verb, resource, group, NS))


def api_status(text):
    """The API server's Status inside an upstream tool's answer (it quotes the ApiException,
    whose text ends with the response body); {} when there is none."""
    try:
        answer = json.loads(text)
    except ValueError:
        answer = text
    if isinstance(answer, dict):
        answer = answer.get('message') or answer.get('error') or ''
    if not isinstance(answer, str) or 'HTTP response body: ' not in answer:
        return {}
    return json.loads(answer.split('HTTP response body: ', 1)[1].strip())


@pytest.fixture
def workload(cluster):
    """The cluster under test, with a Pod ``web`` and a Deployment ``api`` in namespace ``mcp``."""
    cluster.objects.create('namespaces', {'metadata': {'name': NS}})
    cluster.objects.create('pods', {'metadata': {'name': 'web', 'labels': {'app': 'web'}}, 'spec': {
        'containers': [{'name': 'c', 'image': 'busybox'}]}}, namespace=NS)
    cluster.objects.create('deployments', {'metadata': {'name': 'api'}, 'spec': {
        'replicas': 1, 'selector': {'matchLabels': {'app': 'api'}},
        'template': {'metadata': {'labels': {'app': 'api'}}, 'spec': {'containers': [{'name': 'c', 'image': 'busybox'}]}}}},
        namespace=NS)
    return cluster


@pytest.fixture
def servers():
    """Servers a test started; all stopped at teardown (SIGTERM, then SIGKILL)."""
    started = []
    yield started
    for server in started:
        server.stop()


def role_play(variables, state='present'):
    return [{'name': 'provision', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'name': 'Run the role', 'ansible.builtin.include_role': {'name': 'mcp.k8s.mcp_k8s_server'},
         'vars': dict(variables, mcp_k8s_server_state=state, mcp_k8s_server_auth_kubeconfig='{{ kubeconfig }}')}]}]


def provision(run_playbook, variables, state='present'):
    run = run_playbook(role_play(variables, state))
    assert run.rc == 0, str(run)
    return run


@pytest.fixture
def files(tmp_path):
    """The role variables for the server's files, and where they go."""
    return {
        'mcp_k8s_server_namespace': NS,
        'mcp_k8s_server_kubeconfig_path': str(tmp_path / 'kubeconfig'),
        'mcp_k8s_server_config_path': str(tmp_path / 'config.yaml'),
        'mcp_k8s_server_config_port': mcp_servers.free_port(),
        'mcp_k8s_server_config_namespace': NS,
        'mcp_k8s_server_config_monitoring': {'enabled': False},
    }


def credential_token(files):
    with open(files['mcp_k8s_server_kubeconfig_path'] + '.credential.json', encoding='utf-8') as handle:
        return json.load(handle)['status']['token']


def test_upstream_server_runs_with_each_access_level(workload, run_playbook, files, servers, tmp_path):
    """One upstream server process on the role's files while the role changes the account's access:
    read-only lists pods and is refused a delete with the API server's 403; upstream (the rules of
    upstream's rbac.yaml) is refused pod logs and deployment scaling, the gaps that file leaves,
    which operator fills; operator may delete a pod."""
    provision(run_playbook, dict(files, mcp_k8s_server_access='read-only'))
    for path in (files['mcp_k8s_server_kubeconfig_path'], files['mcp_k8s_server_config_path']):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    server = start_upstream(files['mcp_k8s_server_config_path'], tmp_path / 'upstream.log')
    servers.append(server)

    listed, deleted = upstream_call(
        server, ('get_resources', {'resource_type': 'pods', 'namespace': NS}),
        ('delete_resource', {'resource_type': 'Pod', 'name': 'web', 'namespace': NS}))
    # every Pod of the namespace, as the API server lists them: `web`, and on a control plane that runs
    # the Deployment and ReplicaSet controllers (production's), the Pod of Deployment `api`
    pods = sorted(pod['metadata']['name'] for pod in workload.objects.list('pods', NS)[0])
    assert 'web' in pods and sorted(pod['name'] for pod in json.loads(listed['text'])) == pods
    assert api_status(deleted['text'])['message'] == forbidden('delete', 'pods'), deleted
    assert workload.objects.find('pods', 'web', NS) is not None

    gaps = (('get_pod_logs', {'name': 'web', 'namespace': NS}),
            ('scale_deployment', {'name': 'api', 'replicas': 2, 'namespace': NS}))
    provision(run_playbook, dict(files, mcp_k8s_server_access='upstream'))
    logs, scaled = upstream_call(server, *gaps)
    assert api_status(logs['text'])['message'] == forbidden('get', 'pods/log'), logs
    assert api_status(scaled['text'])['message'] == forbidden('patch', 'deployments/scale', name='api', group='apps'), scaled

    provision(run_playbook, dict(files, mcp_k8s_server_access='operator'))
    logs, scaled = upstream_call(server, *gaps)
    # past RBAC (the double serves neither subresource; a real cluster answers them)
    assert api_status(logs['text']).get('code') != 403 and api_status(scaled['text']).get('code') != 403, (logs, scaled)
    (deleted,) = upstream_call(server, ('delete_resource', {'resource_type': 'Pod', 'name': 'web', 'namespace': NS}))
    assert json.loads(deleted['text'])['success'] is True, deleted
    assert workload.objects.find('pods', 'web', NS) is None
    assert server.running()


def test_kubernetes_mcp_server_read_only_and_operator(workload, run_playbook, files, servers, tmp_path):
    provision(run_playbook, dict(files, mcp_k8s_server_access='read-only'))
    kubeconfig = files['mcp_k8s_server_kubeconfig_path']
    server = start_kms(kubeconfig, tmp_path / 'kms.log')
    flagged = start_kms(kubeconfig, tmp_path / 'kms-read-only.log', read_only=True)
    servers.extend([server, flagged])

    for tool, arguments in (('pods_list', {}), ('pods_list_in_namespace', {'namespace': NS})):
        listed = kms_call(server, tool, arguments)
        assert not listed['is_error'], listed
        assert 'web' in listed['text'].split(), listed
    refused = kms_call(server, 'pods_delete', {'name': 'web', 'namespace': NS})
    assert refused['is_error'] and forbidden('delete', 'pods') in refused['text'], refused
    # --read-only does not even offer the tool
    assert 'pods_list' in kms_tools(flagged) and 'pods_delete' not in kms_tools(flagged)
    assert kms_call(flagged, 'pods_delete', {'name': 'web', 'namespace': NS})['is_error']
    assert workload.objects.find('pods', 'web', NS) is not None

    provision(run_playbook, dict(files, mcp_k8s_server_access='operator'))
    deleted = kms_call(server, 'pods_delete', {'name': 'web', 'namespace': NS})
    assert not deleted['is_error'], deleted
    assert workload.objects.find('pods', 'web', NS) is None


@pytest.mark.double_only('tokens that expire in test time: the double\'s token_lifetime (TokenRequest minimum: 10 minutes)')
@pytest.mark.parametrize('cluster', [{'token_lifetime': TOKEN_LIFETIME}], indirect=True)
def test_rotation_without_restart(workload, run_playbook, files, servers, tmp_path):
    """Both servers keep answering after the token they started with has expired, once the role
    has rerun (it rewrote the credential file their exec plugin reads); the same processes.
    Between expiry and the rerun they fail: the rerun is what rotates."""
    provision(run_playbook, files)
    first = credential_token(files)
    kubeconfig = yaml.safe_load(open(files['mcp_k8s_server_kubeconfig_path'], encoding='utf-8'))
    assert 'token' not in json.dumps(kubeconfig['users'])
    upstream = start_upstream(files['mcp_k8s_server_config_path'], tmp_path / 'upstream.log')
    kms = start_kms(files['mcp_k8s_server_kubeconfig_path'], tmp_path / 'kms.log')
    servers.extend([upstream, kms])
    pids = (upstream.pid, kms.pid)

    def answers():
        listed = kms_call(kms, 'pods_list_in_namespace', {'namespace': NS})
        (denied,) = upstream_call(upstream, ('delete_resource', {'resource_type': 'Pod', 'name': 'web', 'namespace': NS}))
        return listed, denied['text']

    listed, denied = answers()
    assert 'web' in listed['text'].split() and api_status(denied)['message'] == forbidden('delete', 'pods'), (listed, denied)

    expires = json.load(open(files['mcp_k8s_server_kubeconfig_path'] + '.credential.json', encoding='utf-8'))
    deadline = calendar.timegm(time.strptime(expires['status']['expirationTimestamp'], '%Y-%m-%dT%H:%M:%SZ'))
    time.sleep(max(0, deadline - time.time()) + 2)
    listed, denied = answers()
    assert listed['is_error'] and 'Unauthorized' in listed['text'], listed
    assert api_status(denied)['code'] == 401, denied

    provision(run_playbook, files)
    assert credential_token(files) != first
    listed, denied = answers()
    assert not listed['is_error'] and 'web' in listed['text'].split(), listed
    assert api_status(denied)['message'] == forbidden('delete', 'pods'), denied
    assert (upstream.pid, kms.pid) == pids and upstream.running() and kms.running()


def test_revocation_stops_running_servers(workload, run_playbook, files, servers, tmp_path):
    provision(run_playbook, files)
    upstream = start_upstream(files['mcp_k8s_server_config_path'], tmp_path / 'upstream.log')
    kms = start_kms(files['mcp_k8s_server_kubeconfig_path'], tmp_path / 'kms.log')
    servers.extend([upstream, kms])
    assert not kms_call(kms, 'pods_list_in_namespace', {'namespace': NS})['is_error']

    provision(run_playbook, files, state='absent')
    for suffix in ('', '.credential.json'):
        assert not os.path.exists(files['mcp_k8s_server_kubeconfig_path'] + suffix)
    assert not os.path.exists(files['mcp_k8s_server_config_path'])
    # The next call already fails: the account's RBAC is gone (403). kube-apiserver caches a token's
    # successful authentication for 10 s, after which the token itself is refused (401).
    deadline = time.monotonic() + 20
    while True:
        listed = kms_call(kms, 'pods_list_in_namespace', {'namespace': NS})
        assert listed['is_error'] and ('Unauthorized' in listed['text'] or 'forbidden' in listed['text']), listed
        if 'Unauthorized' in listed['text'] or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert 'Unauthorized' in listed['text'], listed
    (denied,) = upstream_call(upstream, ('delete_resource', {'resource_type': 'Pod', 'name': 'web', 'namespace': NS}))
    assert api_status(denied['text'])['code'] == 401 and api_status(denied['text'])['reason'] == 'Unauthorized', denied
    assert workload.objects.find('pods', 'web', NS) is not None
