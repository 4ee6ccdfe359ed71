"""``mcp.k8s.sa_token_secret`` driven through ansible-playbook against the API server double."""
import base64
import glob
import os

import pytest

from harness import BIN, ansible_core_version, flat, play

pytestmark = pytest.mark.both_clients

SECRETS_PATH = r'/namespaces/mcp/secrets'
WARNING = ('[WARNING]: A token kept in a Secret never expires: it stays valid until the Secret or its '
           'ServiceAccount is deleted. Prefer short-lived tokens from mcp.k8s.sa_token wherever the client '
           'can renew them.')


@pytest.fixture
def seeded_cluster(cluster):
    """Namespace ``mcp`` with the ServiceAccount ``legacy``."""
    cluster.create_service_account('legacy', 'mcp')
    cluster.clear_requests()
    return cluster


def secret(register='kept', ignore_errors=False, no_log=True, **options):
    options.setdefault('namespace', 'mcp')
    options.setdefault('service_account', 'legacy')
    task = {'name': 'Token Secret', 'mcp.k8s.sa_token_secret': options, 'register': register, 'no_log': no_log}
    if ignore_errors:
        task['ignore_errors'] = True
    return task


def review(register='reviewed', token='{{ kept.token }}', until_rejected=False):
    task = {'name': 'Review', 'mcp.k8s.sa_token_info': {'token': token, 'review': True}, 'register': register}
    if until_rejected:  # kube-apiserver caches a token's successful authentication for 10 s
        task.update(until='not %s.review.authenticated' % register, retries=20, delay=1)
    return task


def stored_token(cluster, name='legacy-token'):
    return base64.b64decode(cluster.objects.get('secrets', name, 'mcp')['data']['token']).decode()


def test_creates_then_returns_the_same_token_unchanged(seeded_cluster, run_playbook):
    run = run_playbook(play(secret(register='first', labels={'team': 'mcp'}),
                            secret(register='second', labels={'team': 'mcp'}),
                            record="{'first': first, 'second': second}"), verbosity=3)
    assert run.rc == 0, str(run)
    first, second = run.results['first'], run.results['second']
    token = stored_token(seeded_cluster)
    assert first['changed'] is True and second['changed'] is False
    assert first['token'] == second['token'] == token
    assert first['ca_crt'] == seeded_cluster.pki.ca_pem.decode()
    assert first['namespace'] == 'mcp'
    stored = seeded_cluster.objects.get('secrets', 'legacy-token', 'mcp')
    assert stored['type'] == 'kubernetes.io/service-account-token'
    assert stored['metadata']['labels'] == {'team': 'mcp'} == first['secret']['labels']
    assert stored['metadata']['annotations']['kubernetes.io/service-account.name'] == 'legacy'
    assert stored['metadata']['annotations']['mcp.k8s/created-by'] == 'mcp/legacy'   # what state=absent checks
    assert first['service_account']['uid'] == seeded_cluster.objects.get('serviceaccounts', 'legacy', 'mcp')['metadata']['uid']
    assert first['kubeconfig']['users'][0]['user']['token'] == token
    assert seeded_cluster.count('POST', SECRETS_PATH + '$') == 1
    # no_log on the task: the caller got the token, -vvv output shows none of it
    assert token not in run.output
    if ansible_core_version() >= (2, 19):
        assert flat(WARNING) in flat(run.output)   # shown once: Ansible does not repeat a warning
    else:   # 2.16 to 2.18 hide all of a no_log task's result from the display, warnings too;
        # the module gave the warning all the same, as the registered result shows
        assert 'never expires' not in run.output
        assert first['warnings'] == [WARNING.replace('[WARNING]: ', '')]


def test_name_and_its_alias_service_account_name_the_same_account(seeded_cluster, run_playbook):
    by_name = {'name': 'Token Secret by name', 'register': 'by_name', 'no_log': True,
               'mcp.k8s.sa_token_secret': {'name': 'legacy', 'namespace': 'mcp'}}
    run = run_playbook(play(by_name, secret(register='by_alias'), record="{'first': by_name, 'second': by_alias}"))
    assert run.rc == 0, str(run)
    first, second = run.results['first'], run.results['second']
    assert first['changed'] is True and second['changed'] is False
    assert first['token'] == second['token'] == stored_token(seeded_cluster)
    assert first['service_account']['name'] == 'legacy'
    assert seeded_cluster.count('POST', SECRETS_PATH + '$') == 1


HAS_KUBERNETES_CORE = bool(glob.glob(os.path.join(os.path.dirname(BIN), 'lib', 'python3*', 'site-packages',
                                                  'ansible_collections', 'kubernetes', 'core')))


@pytest.mark.skipif(not HAS_KUBERNETES_CORE, reason='kubernetes.core is not installed with this ansible')
def test_returned_kubeconfig_works(seeded_cluster, run_playbook):
    seeded_cluster.grant('system:serviceaccount:mcp:legacy', ['list'], ['configmaps'], namespace='mcp')
    run = run_playbook(play(secret(), {
        'name': 'List with the token', 'kubernetes.core.k8s_info': {
            'kind': 'ConfigMap', 'namespace': 'mcp', 'kubeconfig': '{{ kept.kubeconfig }}'},
        'register': 'listed'}, record='listed'))
    assert run.rc == 0, str(run)
    # a real cluster's namespaces hold the root CA ConfigMap (root-ca-certificate-publisher)
    assert [r['metadata']['name'] for r in run.results['resources']] in ([], ['kube-root-ca.crt'])
    users = set(e['user'] for e in seeded_cluster.requests if e['path'].startswith('/api/v1/namespaces/mcp/configmaps'))
    assert users == {'system:serviceaccount:mcp:legacy'}


def test_custom_name_labels_merge_and_diff(seeded_cluster, run_playbook):
    run = run_playbook(play(secret(secret_name='long-lived', labels={'a': '1'}), record='kept'))
    assert run.rc == 0, str(run)
    token = run.results['token']
    stored = seeded_cluster.objects.get('secrets', 'long-lived', 'mcp')
    stored['metadata']['labels']['kubernetes.io/legacy-token-last-used'] = '2026-11-28'
    seeded_cluster.objects.update('secrets', stored, 'long-lived', 'mcp')
    run = run_playbook(play(secret(secret_name='long-lived', labels={'a': '2'}), record='kept'), diff=True)
    assert run.rc == 0, str(run)
    assert run.results['changed'] is True and run.results['token'] == token
    assert seeded_cluster.objects.get('secrets', 'long-lived', 'mcp')['metadata']['labels'] == {
        'a': '2', 'kubernetes.io/legacy-token-last-used': '2026-11-28'}


def test_check_mode_and_diff(seeded_cluster, run_playbook):
    run = run_playbook(play(secret(labels={'team': 'mcp'}, no_log=False), record='kept'), check=True, diff=True)
    assert run.rc == 0, str(run)
    assert run.results['changed'] is True and run.results['token'] is None
    assert seeded_cluster.objects.find('secrets', 'legacy-token', 'mcp') is None
    assert seeded_cluster.count('POST', SECRETS_PATH) == 0
    assert '+    "type": "kubernetes.io/service-account-token"' in run.stdout
    assert '"team": "mcp"' in run.stdout

    run = run_playbook(play(secret(), record='kept'))
    token = run.results['token']
    run = run_playbook(play(secret(labels={'team': 'other'}, no_log=False), secret(register='same', no_log=False),
                            record="{'kept': kept, 'same': same}"), check=True, diff=True)
    assert run.rc == 0, str(run)
    assert run.results['kept']['changed'] is True and run.results['kept']['token'] == token
    assert run.results['same']['changed'] is False
    assert '+            "team": "other"' in run.stdout
    assert token not in run.stdout            # the diff never shows the data
    assert 'labels' not in seeded_cluster.objects.get('secrets', 'legacy-token', 'mcp')['metadata'] or \
        seeded_cluster.objects.get('secrets', 'legacy-token', 'mcp')['metadata']['labels'] == {}


def test_absent_revokes_the_token(seeded_cluster, run_playbook):
    run = run_playbook(play(
        secret(), review(register='before'),
        secret(register='removed', state='absent'), review(register='after', until_rejected=True),
        secret(register='again', state='absent'),
        record="{'before': before.review, 'removed': removed.changed, 'after': after.review, 'again': again.changed}"))
    assert run.rc == 0, str(run)
    results = run.results
    assert results['before']['authenticated'] is True
    assert results['before']['user']['username'] == 'system:serviceaccount:mcp:legacy'
    assert results['removed'] is True and results['again'] is False
    assert results['after']['authenticated'] is False
    assert 'Token has been invalidated' in results['after']['error']
    assert seeded_cluster.objects.find('secrets', 'legacy-token', 'mcp') is None


def test_absent_in_check_mode_keeps_the_secret(seeded_cluster, run_playbook):
    run_playbook(play(secret()))
    run = run_playbook(play(secret(state='absent', no_log=False), record='kept'), check=True, diff=True)
    assert run.rc == 0, str(run)
    assert run.results['changed'] is True
    assert '-    "type": "kubernetes.io/service-account-token"' in run.stdout
    assert seeded_cluster.objects.find('secrets', 'legacy-token', 'mcp') is not None


def _failure(run_playbook, **options):
    run = run_playbook(play(secret(ignore_errors=True, no_log=False, **options), record='kept'))
    assert run.rc == 0, str(run)
    assert run.results['failed'] is True, run
    return run.results


def test_missing_service_account(seeded_cluster, run_playbook):
    result = _failure(run_playbook, service_account='ghost')
    assert result['msg'] == ('ServiceAccount "ghost" does not exist in namespace "mcp"; create it first or correct '
                             'name and namespace.')
    assert result['changed'] is False
    assert seeded_cluster.count('POST', SECRETS_PATH) == 0


def test_missing_namespace(seeded_cluster, run_playbook):
    result = _failure(run_playbook, namespace='nowhere')
    assert result['msg'].startswith('Namespace "nowhere" does not exist;')


@pytest.mark.double_only('stops the token controller inside the double')
def test_timeout_without_token_controller(seeded_cluster, run_playbook):
    seeded_cluster.stop_token_controller()
    result = _failure(run_playbook, wait_timeout='2s')
    assert result['msg'] == ('The token controller did not fill in Secret "mcp/legacy-token" within 2 seconds; check '
                             'that kube-controller-manager runs with its service account token controller '
                             '(--service-account-private-key-file), or raise wait_timeout.')
    assert result['changed'] is True           # the Secret was created
    assert seeded_cluster.objects.find('secrets', 'legacy-token', 'mcp') is not None
    polls = seeded_cluster.count('GET', SECRETS_PATH + '/legacy-token$')
    assert 3 <= polls <= 12


def test_rbac_denial(seeded_cluster, run_playbook):
    kubeconfig = seeded_cluster.write_kubeconfig(user='alice')
    seeded_cluster.grant('alice', ['get'], ['secrets', 'serviceaccounts'], namespace='mcp')
    result = _failure(run_playbook, kubeconfig=kubeconfig)
    assert result['msg'] == ('User "alice" may not create secrets in namespace "mcp" (403 Forbidden); grant it '
                             '"create" on "secrets" with a Role and RoleBinding.')


def test_refuses_a_secret_that_is_not_a_token_secret(seeded_cluster, run_playbook):
    seeded_cluster.objects.create('secrets', {'metadata': {'name': 'legacy-token', 'namespace': 'mcp'}, 'type': 'Opaque',
                                              'data': {'x': 'eA=='}}, 'mcp')
    for state in ('present', 'absent'):
        result = _failure(run_playbook, state=state)
        assert result['msg'] == ('Secret "mcp/legacy-token" exists with type "Opaque", not '
                                 '"kubernetes.io/service-account-token"; choose another secret_name or remove that '
                                 'Secret.')
    assert seeded_cluster.objects.get('secrets', 'legacy-token', 'mcp')['type'] == 'Opaque'


def test_bad_wait_timeout(seeded_cluster, run_playbook):
    result = _failure(run_playbook, wait_timeout='soon')
    assert 'wait_timeout' in result['msg']


def test_module_defaults_group(seeded_cluster, run_playbook, ansible_env):
    playbook = play(secret(), record='kept')
    playbook[0]['module_defaults'] = {'group/mcp.k8s.k8s': {'kubeconfig': '{{ kubeconfig }}', 'namespace': 'mcp'}}
    run = run_playbook(playbook, env={'K8S_AUTH_KUBECONFIG': '/nonexistent'})
    assert run.rc == 0, str(run)
    assert run.results['token'] == stored_token(seeded_cluster)


def test_invalid_names_fail_before_any_request(seeded_cluster, run_playbook):
    result = _failure(run_playbook, secret_name='Bad/Name')
    assert result['msg'] == ('secret_name "Bad/Name" is not a valid Secret name; use lowercase letters, digits, "-" '
                             'and ".", starting and ending with a letter or digit.')
    assert seeded_cluster.requests == []


NOT_OURS = ('Secret "mcp/legacy-token" exists but was not made by mcp.k8s for the ServiceAccount mcp/legacy (no '
            'mcp.k8s/created-by annotation), so nothing was changed; if you made it, or an earlier release of '
            'mcp.k8s did, set adopt to true once to take it over, otherwise choose another secret_name.')


def _hand_made_token_secret(kube):
    kube.objects.create('secrets', {
        'metadata': {'name': 'legacy-token', 'namespace': 'mcp', 'annotations': {
            'kubernetes.io/service-account.name': 'legacy', 'owner': 'someone-else'}},
        'type': 'kubernetes.io/service-account-token'}, 'mcp')
    return kube.objects.get('secrets', 'legacy-token', 'mcp')['metadata']['uid']


def test_a_hand_made_token_secret_is_neither_taken_over_nor_deleted(seeded_cluster, run_playbook):
    uid = _hand_made_token_secret(seeded_cluster)
    for state in ('present', 'absent'):
        result = _failure(run_playbook, state=state)
        assert flat(result['msg']) == NOT_OURS
        assert result['changed'] is False and result.get('token') is None
    assert seeded_cluster.objects.get('secrets', 'legacy-token', 'mcp')['metadata']['uid'] == uid
    assert seeded_cluster.count('DELETE', SECRETS_PATH) == 0 and seeded_cluster.count('PUT', SECRETS_PATH) == 0


def test_adopt_takes_a_hand_made_token_secret_over_then_deletes_it(seeded_cluster, run_playbook):
    uid = _hand_made_token_secret(seeded_cluster)
    run = run_playbook(play(
        secret(register='adopted', adopt=True), review(register='reviewed', token='{{ adopted.token }}'),
        secret(register='again'), secret(register='removed', state='absent'),
        record="{'adopted': adopted.changed, 'uid': adopted.secret.uid, 'again': again.changed, "
               "'same': adopted.token == again.token, 'removed': removed.changed, 'user': reviewed.review.user}"))
    assert run.rc == 0, str(run)
    results = run.results
    assert results['adopted'] is True and results['uid'] == uid
    assert results['user']['username'] == 'system:serviceaccount:mcp:legacy'
    assert results['again'] is False and results['same'] is True
    assert results['removed'] is True
    assert seeded_cluster.objects.find('secrets', 'legacy-token', 'mcp') is None
