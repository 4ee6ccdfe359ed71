"""Faults from the API server double during minting, lookups and the role's apply and verify steps.

Transient faults (429 with Retry-After, 500, 503, dropped connections, slow answers) are ridden
out within the retry budget (at most 5 attempts per request, counted in the double's request
log); persistent ones fail within a bounded time with one sentence; a role run that failed
halfway completes when run again and leaves nothing half-made. Existing tests already cover
429/503/drop on the module and the lookup once each and the 502 attempt bound; these add the
remaining statuses, slow answers, time bounds and the role.
"""
import os
import re
import stat
import time

import pytest
import yaml

from harness import displayed, lookup_sentence, play

pytestmark = [pytest.mark.both_clients, pytest.mark.double_only('fault injection')]

TOKEN_PATH = r'/serviceaccounts/[^/]+/token$'
MAX_ATTEMPTS = 5          # plugins/module_utils/retries.py
RETRY_WINDOW = 30         # seconds
# ansible-playbook start, fork and module run on a loaded machine, on top of the retries' own time
OVERHEAD = 25


@pytest.fixture
def seeded_cluster(cluster):
    cluster.create_service_account('server', 'mcp')
    cluster.create_service_account('other', 'mcp')
    cluster.create_service_account('third', 'mcp')
    cluster.clear_requests()
    return cluster


def mint(register='minted', **options):
    options.setdefault('namespace', 'mcp')
    options.setdefault('name', 'server')
    return {'name': 'Mint', 'mcp.k8s.sa_token': options, 'register': register, 'no_log': True,
            'ignore_errors': True}


def summary(register='minted'):
    """Record what a test needs from a registered mint without the token itself."""
    return ("{'failed': %s.failed | default(false), 'msg': %s.msg | default(''), "
            "'sub': %s.claims.sub | default('')}" % (register, register, register))


def timed(run_playbook, *args, **kwargs):
    started = time.monotonic()
    run = run_playbook(*args, **kwargs)
    return run, time.monotonic() - started


def posts(cluster, path_re=TOKEN_PATH):
    return cluster.count(method='POST', path_re=path_re)


# ------------------------------------------------------------------ the module


def test_module_rides_out_every_transient_fault_within_five_attempts(seeded_cluster, run_playbook):
    """429 (Retry-After 1), 500, 503 (Retry-After 1), a dropped connection, then a slow but good
    answer: five attempts, the last one mints."""
    seeded_cluster.inject_fault(TOKEN_PATH, status=429, count=1, retry_after=1)
    seeded_cluster.inject_fault(TOKEN_PATH, status=500, count=1)
    seeded_cluster.inject_fault(TOKEN_PATH, status=503, count=1, retry_after=1)
    seeded_cluster.inject_fault(TOKEN_PATH, drop=True, count=1)
    seeded_cluster.inject_fault(TOKEN_PATH, status=None, delay=1.5, count=1)
    run, elapsed = timed(run_playbook, play(mint(), record=summary()))
    assert run.rc == 0, run
    assert run.results == {'failed': False, 'msg': '', 'sub': 'system:serviceaccount:mcp:server'}
    assert posts(seeded_cluster) == MAX_ATTEMPTS
    assert [entry['status'] for entry in seeded_cluster.requests if entry['method'] == 'POST'] == [429, 500, 503, 0, 201]
    assert elapsed >= 1 + 1 + 1.5            # both Retry-After waits and the slow answer
    assert elapsed < RETRY_WINDOW + OVERHEAD


@pytest.mark.parametrize('fault, sentence, attempts', [
    ({'status': 503, 'retry_after': 1},
     'The API server at {url} kept answering 503 Service Unavailable to create serviceaccounts/token for '
     'ServiceAccount "mcp/server" after 5 attempts in ', MAX_ATTEMPTS),
    ({'status': 500, 'retry_after': None},
     'The API server at {url} kept answering 500 Internal Server Error to create serviceaccounts/token for '
     'ServiceAccount "mcp/server" after 5 attempts in ', MAX_ATTEMPTS),
    ({'drop': True},
     'Cannot reach the API server at {url} (connection closed by the server); check host or the kubeconfig and that '
     'the server is running.', MAX_ATTEMPTS),
    # a Retry-After beyond the retry window: give up at once rather than wait past it
    ({'status': 429, 'retry_after': 120},
     'The API server at {url} kept answering 429 Too Many Requests to create serviceaccounts/token for '
     'ServiceAccount "mcp/server" after 1 attempt in ', 1),
], ids=['503', '500', 'drop', '429-retry-after-120'])
def test_module_persistent_fault_fails_in_bounded_time(seeded_cluster, run_playbook, fault, sentence, attempts):
    seeded_cluster.inject_fault(TOKEN_PATH, count=1000, **fault)
    run, elapsed = timed(run_playbook, play(mint(), record=summary()))
    assert run.rc == 0, run
    assert run.results['failed'] is True
    assert run.results['msg'].startswith(sentence.replace('{url}', seeded_cluster.url)), run.results['msg']
    assert run.results['msg'].endswith('.') and '\n' not in run.results['msg']
    assert posts(seeded_cluster) == attempts
    assert elapsed < RETRY_WINDOW + OVERHEAD
    assert 'Traceback' not in run.output


def test_module_slow_answers_time_out_in_bounded_time(seeded_cluster, run_playbook):
    """An answer slower than request_timeout is a timeout: reported, not retried (the request
    may have been slow, not lost), so the task ends after about request_timeout."""
    seeded_cluster.inject_fault(TOKEN_PATH, status=None, delay=6, count=1000)
    run, elapsed = timed(run_playbook, play(mint(request_timeout=2), record=summary()))
    assert run.results['failed'] is True
    assert run.results['msg'] == (
        'The API server at %s did not answer in time while trying to create serviceaccounts/token for '
        'ServiceAccount "mcp/server"; check the address or raise request_timeout.' % seeded_cluster.url)
    assert elapsed < 6 + OVERHEAD
    # the double logs the slow request once its delay is over: one request, not retried
    deadline = time.monotonic() + 10
    while posts(seeded_cluster) < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)
    assert posts(seeded_cluster) == 1


def test_module_faults_on_the_bound_object_read_are_ridden_out(seeded_cluster, run_playbook):
    seeded_cluster.objects.create('pods', {'metadata': {'name': 'web'}, 'spec': {
        'serviceAccountName': 'server', 'containers': [{'name': 'c', 'image': 'busybox'}]}}, namespace='mcp')
    seeded_cluster.clear_requests()
    seeded_cluster.inject_fault(r'/namespaces/mcp/pods/web$', status=503, count=1, retry_after=1)
    seeded_cluster.inject_fault(r'/namespaces/mcp/pods/web$', drop=True, count=1)
    run = run_playbook(play(mint(bound_object={'kind': 'Pod', 'name': 'web'}), record=summary()))
    assert run.rc == 0 and run.results['failed'] is False, run
    assert seeded_cluster.count(method='GET', path_re=r'/pods/web$') == 3 and posts(seeded_cluster) == 1


# ------------------------------------------------------------------ the lookup


def test_lookup_rides_out_500_drops_and_slow_answers_while_minting_concurrently(seeded_cluster, run_playbook):
    seeded_cluster.inject_fault(TOKEN_PATH, status=500, count=2)
    seeded_cluster.inject_fault(TOKEN_PATH, drop=True, count=1)
    seeded_cluster.inject_fault(TOKEN_PATH, status=None, delay=1, count=2)
    expression = "query('mcp.k8s.sa_token', 'mcp/server', 'mcp/other', 'mcp/third') | map('mcp.k8s.token_claims') | map(attribute='sub') | list"
    run = run_playbook(play({'name': 'Look up', 'ansible.builtin.set_fact': {'subs': '{{ %s }}' % expression}},
                            record='subs'))
    assert run.rc == 0, run
    assert run.results == ['system:serviceaccount:mcp:%s' % name for name in ('server', 'other', 'third')]
    assert posts(seeded_cluster) == 3 + 3     # three tokens, three answers that were not one
    assert seeded_cluster.count(method='POST', path_re=TOKEN_PATH, status=201) == 3


def test_lookup_persistent_fault_fails_in_bounded_time_naming_the_account(seeded_cluster, run_playbook):
    seeded_cluster.inject_fault(TOKEN_PATH, status=502, count=1000, retry_after=None)
    task = {'name': 'Look up', 'ansible.builtin.debug': {'msg': "{{ lookup('mcp.k8s.sa_token', 'mcp/other') | length }}"},
            'register': 'attempt', 'ignore_errors': True}
    run, elapsed = timed(run_playbook, play(task, record='attempt'))
    assert run.results['failed'] is True
    message = lookup_sentence(run.results['msg'])
    assert message.startswith('The API server at %s kept answering '
                              '502 Bad Gateway to create serviceaccounts/token for ServiceAccount "mcp/other" after 5 '
                              'attempts in ' % seeded_cluster.url), message
    assert message.endswith(' seconds; try again later.')
    assert posts(seeded_cluster) == MAX_ATTEMPTS
    assert elapsed < RETRY_WINDOW + OVERHEAD


# ------------------------------------------------------------------ the role

SA = 'mcp-k8s-server'


def role_play(name, role_vars):
    return {'name': name, 'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'name': 'Include the role', 'ansible.builtin.include_role': {'name': 'mcp.k8s.mcp_k8s_server'},
         'vars': role_vars},
        {'name': 'Record results', 'no_log': True, 'changed_when': False, 'ansible.builtin.copy': {
            'content': "{{ {'summary': mcp_k8s_server_summary | default(none),"
                       " 'verification': mcp_k8s_server_verification | default(none)} | to_json }}",
            'dest': '{{ results_file }}', 'mode': '0600'}}]}


@pytest.mark.slow
def test_role_failed_halfway_completes_when_run_again_through_transient_faults(cluster, run_playbook, tmp_path):
    """1. The ClusterRoleBinding cannot be applied (503 every time): the run fails after the
    ServiceAccount and ClusterRole, with the API server's answer, mints nothing, writes no
    kubeconfig. 2. Run again while the apply, mint and verify steps each meet a transient fault:
    it completes, every object is there once and right, the token works, verify passes."""
    kubeconfig = str(tmp_path / 'sa.kubeconfig')
    role_vars = {'mcp_k8s_server_kubeconfig_path': kubeconfig, 'mcp_k8s_server_verify_delay': 1}
    cluster.inject_fault(r'/clusterrolebindings', status=503, count=1000, retry_after=1, method='PATCH')
    failed, elapsed = timed(run_playbook, [role_play('fails halfway', role_vars)])
    assert failed.rc == 2, str(failed)
    assert elapsed < 2 * RETRY_WINDOW + 2 * OVERHEAD
    assert 'Traceback' not in failed.output
    # the core's sentence, after its retries
    assert re.search(r'The API server at \S+ kept answering 503 Service Unavailable to patch clusterrolebindings '
                     r'for ClusterRoleBinding "mcp-k8s-server" after 5 attempts in \d+ seconds; try again later\.',
                     displayed(failed.stdout)), failed.stdout
    assert cluster.count(method='PATCH', path_re=r'/clusterrolebindings/', status=503) == 5
    assert cluster.objects.find('serviceaccounts', SA, 'default') is not None
    assert cluster.objects.find('clusterroles', SA) is not None
    assert cluster.objects.find('clusterrolebindings', SA) is None
    assert cluster.count(method='POST', path_re=TOKEN_PATH) == 0
    assert not os.path.exists(kubeconfig)

    cluster.clear_faults()
    cluster.clear_requests()
    cluster.inject_fault(r'/clusterroles/%s$' % SA, status=503, count=1, retry_after=1, method='PATCH')
    cluster.inject_fault(r'/clusterrolebindings/%s$' % SA, status=429, count=1, retry_after=1, method='PATCH')
    cluster.inject_fault(r'/api/v1/namespaces$', drop=True, count=1, method='GET')
    cluster.inject_fault(TOKEN_PATH, status=500, count=1)
    cluster.inject_fault(r'/selfsubjectaccessreviews$', status=503, count=1, retry_after=1)
    again = run_playbook([role_play('run again', role_vars)])
    assert again.rc == 0, str(again)
    for plural, namespace in (('serviceaccounts', 'default'), ('clusterroles', None), ('clusterrolebindings', None)):
        items = cluster.objects.list(plural, namespace)[0]
        assert [obj['metadata']['name'] for obj in items].count(SA) == 1, plural
    binding = cluster.objects.get('clusterrolebindings', SA)
    assert binding['subjects'] == [{'kind': 'ServiceAccount', 'name': SA, 'namespace': 'default'}]
    assert binding['roleRef'] == {'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'ClusterRole', 'name': SA}
    checks = again.results['verification']['checks']
    assert checks and all(check['ok'] for check in checks)
    assert stat.S_IMODE(os.stat(kubeconfig).st_mode) == 0o600
    with open(kubeconfig, encoding='utf-8') as handle:   # exec mode: the token is in the credential file
        assert yaml.safe_load(handle)['users'][0]['user']['exec']['args'] == [kubeconfig + '.credential.json']
    with open(kubeconfig + '.credential.json', encoding='utf-8') as handle:
        assert yaml.safe_load(handle)['status']['token']
    # every injected fault was met, and each failed request was tried again
    faulted = [entry for entry in cluster.requests if entry['status'] in (0, 429, 500, 503)]
    assert len(faulted) == 5, faulted
    # one token for the account, and the 10-minute one sa_access minted to check its rights on the first run
    assert cluster.count(method='POST', path_re=TOKEN_PATH, status=201) == 2
