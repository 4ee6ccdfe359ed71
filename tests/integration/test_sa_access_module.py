"""The module ``mcp.k8s.sa_access`` on its own, as its documentation shows it.

Its EXAMPLES run word for word (one play, after creating the namespaces they name); then the
cluster holds what they describe, the check of rights answered from the account's own token,
and state absent removed only what the account owned.
"""
import ast
import json
import os

import pytest
import yaml

MODULE = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'modules', 'sa_access.py')

pytestmark = [pytest.mark.both_clients]


def examples():
    with open(MODULE, encoding='utf-8') as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == 'EXAMPLES':
            return yaml.safe_load(node.value.value)
    raise AssertionError('no EXAMPLES')


RECORD = {'name': 'Record results', 'no_log': True, 'ansible.builtin.copy': {
    'content': "{{ {'access': access, 'rights': rights, 'removed': removed} | to_json }}",
    'dest': '{{ results_file }}', 'mode': '0600'}}


def test_examples_word_for_word(cluster, run_playbook):
    for namespace in ('team-a', 'team-b', 'monitoring', 'ops'):
        cluster.objects.create('namespaces', {'metadata': {'name': namespace}})
    # the hand-made account and role that the adopt example takes over
    cluster.objects.create('serviceaccounts', {'metadata': {'name': 'backup'}}, 'ops')
    cluster.objects.create('clusterroles', {'metadata': {'name': 'backup'}, 'rules': []})
    play = {'name': 'examples', 'hosts': 'localhost', 'gather_facts': False, 'tasks': examples() + [RECORD]}
    run = run_playbook([play])
    assert run.rc == 0, str(run)
    access, rights, removed = run.results['access'], run.results['rights'], run.results['removed']

    assert access['names'] == ['ServiceAccount ci/ci-deployer', 'Role team-a/ci-deployer', 'RoleBinding team-a/ci-deployer',
                               'Role team-b/ci-deployer', 'RoleBinding team-b/ci-deployer']
    assert cluster.objects.find('namespaces', 'ci')['metadata']['annotations']['mcp.k8s/created-by'] == 'ci/ci-deployer'
    assert [e['grant'] for e in access['escalations']] == ['update apps/deployments']
    assert 'team-a, team-b' in access['escalations'][0]['means']

    binding = cluster.objects.find('clusterrolebindings', 'dashboard')
    assert binding['roleRef']['name'] == 'view' and cluster.objects.find('clusterroles', 'dashboard') is None
    adopted = cluster.objects.find('clusterroles', 'backup')
    assert adopted['rules'][0]['resources'] == ['persistentvolumeclaims']
    assert cluster.objects.find('serviceaccounts', 'backup', 'ops')['metadata']['annotations'] == {
        'mcp.k8s/service-account': 'ops/backup'}

    asked = [(c['verb'], c['resource'], c['namespace'], c['expected'], c['actual']) for c in rights['verification']['checks']]
    assert asked == [('patch', 'deployments', 'team-a', True, True), ('patch', 'deployments', 'team-b', True, True),
                     ('get', 'secrets', 'team-a', False, False), ('get', 'secrets', 'team-b', False, False),
                     ('patch', 'deployments', '', False, False)]
    assert cluster.count(method='POST', path_re=r'/selfsubjectaccessreviews$') == 5

    assert removed['removed'] == [{'kind': 'RoleBinding', 'namespace': 'team-a', 'name': 'ci-deployer'},
                                  {'kind': 'RoleBinding', 'namespace': 'team-b', 'name': 'ci-deployer'},
                                  {'kind': 'Role', 'namespace': 'team-a', 'name': 'ci-deployer'},
                                  {'kind': 'Role', 'namespace': 'team-b', 'name': 'ci-deployer'},
                                  {'kind': 'ServiceAccount', 'namespace': 'ci', 'name': 'ci-deployer'}]
    assert cluster.objects.find('serviceaccounts', 'ci-deployer', 'ci') is None
    assert 'ci-deployer Role kept' not in run.stdout


def test_check_mode_diff_and_a_second_run(cluster, run_playbook):
    task = {'name': 'Access', 'mcp.k8s.sa_access': {
        'name': 'app', 'namespace': 'default',
        'rules': [{'apiGroups': [''], 'resources': ['pods', 'pods/log'], 'verbs': ['get', 'list']}]},
        'register': 'access'}
    record = {'name': 'Record', 'ansible.builtin.copy': {'content': '{{ access | to_json }}', 'dest': '{{ results_file }}',
                                                         'mode': '0600'}, 'check_mode': False}
    play = {'name': 'access', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [task, record]}
    check = run_playbook([play], check=True, diff=True)
    assert check.rc == 0, str(check)
    assert '+++ after: ClusterRole app' in check.stdout and 'pods/log' in check.stdout
    assert cluster.objects.find('clusterroles', 'app') is None
    assert [c['action'] for c in check.results['changes']] == ['created'] * 3

    first = run_playbook([play])
    assert first.rc == 0 and first.results['changed']
    versions = [cluster.objects.get(p, 'app', ns)['metadata']['resourceVersion']
                for p, ns in (('serviceaccounts', 'default'), ('clusterroles', None), ('clusterrolebindings', None))]
    again = run_playbook([play], diff=True)
    assert again.rc == 0 and not again.results['changed'], again.results
    assert [c['action'] for c in again.results['changes']] == ['unchanged'] * 3
    assert versions == [cluster.objects.get(p, 'app', ns)['metadata']['resourceVersion']
                        for p, ns in (('serviceaccounts', 'default'), ('clusterroles', None), ('clusterrolebindings', None))]


def test_a_rejected_verify_token_is_reported_not_fatal_unless_verify_only(cluster, run_playbook):
    rules = [{'apiGroups': [''], 'resources': ['pods'], 'verbs': ['list']}]
    tasks = [
        {'name': 'Converge, verifying with a token the API server rejects', 'register': 'converged',
         'mcp.k8s.sa_access': {'name': 'app', 'rules': rules, 'verify_token': '{{ old_token }}'}},
        {'name': 'Only verify with it', 'register': 'verified', 'ignore_errors': True,
         'mcp.k8s.sa_access': {'name': 'app', 'rules': rules, 'verify_only': True, 'verify_token': '{{ old_token }}'}},
        {'name': 'Record', 'ansible.builtin.copy': {
            'content': "{{ {'converged': converged, 'verified': verified} | to_json }}", 'dest': '{{ results_file }}',
            'mode': '0600'}}]
    run = run_playbook([{'name': 'rejected', 'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}],
                       extra_vars={'old_token': 'not-a-token-of-this-cluster'})
    assert run.rc == 0, str(run)
    converged, verified = run.results['converged'], run.results['verified']
    assert converged['changed'] and 'verification' not in converged
    assert 'rejected the token (401 Unauthorized)' in converged['verify_skipped']
    assert verified['failed'] and 'rejected the token (401 Unauthorized)' in verified['msg']
    assert 'not-a-token-of-this-cluster' not in run.output


def test_verify_mint_checks_with_a_short_token_and_verify_token_file_only_takes_the_accounts_own(
        cluster, run_playbook, tmp_path):
    """verify_mint: no token at hand (or a rejected one) -> one 10-minute token of the account, minted for
    the checks; verify_token_file: the token of a file the collection wrote, only when it is the account's."""
    rules = [{'apiGroups': [''], 'resources': ['pods'], 'verbs': ['list']}]
    cluster.create_service_account('other', 'default')
    other_token = cluster.mint_token('other', 'default')
    foreign = tmp_path / 'other.credential.json'
    foreign.write_text(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', 'kind': 'ExecCredential',
                                   'status': {'token': other_token, 'expirationTimestamp': '2099-01-01T00:00:00Z'}}))
    tasks = [
        {'name': 'Converge and check with a token minted for it', 'register': 'minted',
         'mcp.k8s.sa_access': {'name': 'app', 'rules': rules, 'verify_mint': True}},
        {'name': 'A file holding another account token is not used', 'register': 'not_ours',
         'mcp.k8s.sa_access': {'name': 'app', 'rules': rules, 'verify_token_file': str(foreign)}},
        {'name': 'A rejected token falls back to a minted one', 'register': 'fallback',
         'mcp.k8s.sa_access': {'name': 'app', 'rules': rules, 'verify_token': 'not-a-token', 'verify_mint': True}},
        {'name': 'Only verify, with that file', 'register': 'only_not_ours', 'ignore_errors': True,
         'mcp.k8s.sa_access': {'name': 'app', 'rules': rules, 'verify_only': True, 'verify_token_file': str(foreign)}},
        {'name': 'Only verify, as the admin connection', 'register': 'as_admin', 'ignore_errors': True,
         'mcp.k8s.sa_access': {'name': 'app', 'rules': rules, 'verify_only': True}},
        {'name': 'Record', 'ansible.builtin.copy': {
            'content': "{{ {'minted': minted, 'not_ours': not_ours, 'fallback': fallback, 'only_not_ours': only_not_ours,"
                       " 'as_admin': as_admin} | to_json }}",
            'dest': '{{ results_file }}', 'mode': '0600'}}]
    before = cluster.count(method='POST', path_re=r'/serviceaccounts/app/token$')
    run = run_playbook([{'name': 'mint', 'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}])
    assert run.rc == 0, str(run)
    minted, not_ours, fallback = run.results['minted'], run.results['not_ours'], run.results['fallback']
    assert minted['verify_token_minted'] is True and [c['ok'] for c in minted['verification']['checks']] == [True]
    assert 'verification' not in not_ours and 'verify_token_minted' not in not_ours
    assert not_ours['verify_skipped'] == ('Nothing was verified: %s holds no token of system:serviceaccount:default:app '
                                          '(no file, another shape or another account\'s token).' % foreign)
    # verify_only never answers for the account with another user's rights
    only_not_ours, as_admin = run.results['only_not_ours'], run.results['as_admin']
    assert only_not_ours['failed'] and only_not_ours['msg'].startswith('verify_token_file %s holds no token of ' % foreign)
    assert as_admin['failed'] and 'verification' not in as_admin
    assert as_admin['msg'].startswith('The connection authenticates as ') and \
        ', not as system:serviceaccount:default:app, so verify_only would check the rights of ' in as_admin['msg']
    assert fallback['verify_token_minted'] is True and fallback['verification']['mismatches'] == []
    assert cluster.count(method='POST', path_re=r'/serviceaccounts/app/token$') - before == 2
    assert cluster.count(method='POST', path_re=r'/serviceaccounts/other/token$') == 0
    assert other_token not in run.output
