"""The role ``mcp.k8s.mcp_k8s_server`` against the API server double.

Each test runs ``ansible-playbook`` with the built and installed collection (harness in
conftest.py) and then looks at the double's store and request log, which is what a cluster
would hold. The expected RBAC rules are written out here, independently of the role's data:
the upstream ones are those of guolisen/mcp_k8s_server k8s/rbac.yaml.
"""
import base64
import json
import os
import re
import stat
import subprocess
import time

import pytest
import yaml


from harness import displayed, recap_changed, run_collection_playbook

pytestmark = [pytest.mark.slow]

SA = 'mcp-k8s-server'
USER = 'system:serviceaccount:default:mcp-k8s-server'
JWT = re.compile(r'^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$')
RBAC = 'rbac.authorization.k8s.io'
READ = ['get', 'list', 'watch']
WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update']

UPSTREAM_RULES = [
    {'apiGroups': [''], 'resources': ['pods', 'services', 'configmaps', 'secrets', 'namespaces', 'nodes',
                                      'persistentvolumes', 'persistentvolumeclaims', 'events'], 'verbs': READ},
    {'apiGroups': ['apps'], 'resources': ['deployments', 'statefulsets', 'daemonsets', 'replicasets'], 'verbs': READ},
    {'apiGroups': ['batch'], 'resources': ['jobs', 'cronjobs'], 'verbs': READ},
    {'apiGroups': ['networking.k8s.io'], 'resources': ['ingresses'], 'verbs': READ},
    {'apiGroups': ['metrics.k8s.io'], 'resources': ['pods', 'nodes'], 'verbs': ['get', 'list']},
    {'apiGroups': [''], 'resources': ['pods', 'pods/exec', 'pods/log'], 'verbs': WRITE},
    {'apiGroups': ['apps'], 'resources': ['deployments', 'statefulsets', 'daemonsets'], 'verbs': WRITE},
    {'apiGroups': ['batch'], 'resources': ['jobs', 'cronjobs'], 'verbs': WRITE},
]

CUSTOM_RULES = [
    {'apiGroups': [''], 'resources': ['pods', 'pods/log'], 'verbs': ['get', 'list']},
    {'apiGroups': ['apps'], 'resources': ['deployments'], 'verbs': ['get']},
]


# ---------------------------------------------------------------------------------- helpers
def grants(rules):
    """The set of (group, resource, verb) a list of PolicyRules grants."""
    out = set()
    for rule in rules:
        for group in rule.get('apiGroups', ['']):
            for resource in rule.get('resources', []):
                for verb in rule.get('verbs', []):
                    out.add((group, resource, verb))
    return out


UPSTREAM = grants(UPSTREAM_RULES)
READ_ONLY = {g for g in UPSTREAM if g[2] in READ and g[1] != 'secrets'} | {('', 'pods/log', 'get')}
OPERATOR = ({g for g in UPSTREAM if g[1] != 'secrets'} | {('', 'pods/log', 'get')}
            | {('apps', 'deployments/scale', verb) for verb in ('get', 'patch', 'update')})
EXPECTED_GRANTS = {'read-only': READ_ONLY, 'operator': OPERATOR, 'upstream': UPSTREAM, 'custom': grants(CUSTOM_RULES)}


def role_play(name='Run the role', role_vars=None, record=True, tasks_after=(), tasks_from=None):
    """A play that includes the role (with role_vars) and records what the tests assert on."""
    include = {'name': 'Include the role', 'ansible.builtin.include_role': {'name': 'mcp.k8s.mcp_k8s_server'}}
    if tasks_from:
        include['ansible.builtin.include_role']['tasks_from'] = tasks_from
    if role_vars:
        include['vars'] = role_vars
    tasks = [include] + list(tasks_after)
    if record:
        tasks.append(RECORD)
    return {'name': name, 'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}


RECORD = {
    'name': 'Record results',
    'no_log': True,
    'changed_when': False,
    'ansible.builtin.copy': {
        'content': "{{ {'summary': mcp_k8s_server_summary | default(none),"
                   " 'verification': mcp_k8s_server_verification | default(none),"
                   " 'token': mcp_k8s_server_token | default(none),"
                   " 'expiration': mcp_k8s_server_token_expiration | default(none),"
                   " 'claims': mcp_k8s_server_token_claims | default(none),"
                   " 'kubeconfig': mcp_k8s_server_kubeconfig | default(none)} | to_json }}",
        'dest': '{{ results_file }}',
        'mode': '0600',
    },
}


def play_output(output, play_name):
    """The part of the default callback's output that belongs to one play."""
    start = output.index('PLAY [%s]' % play_name)
    end = output.find('\nPLAY ', start + 1)
    return output[start:end if end >= 0 else len(output)]


def get(cluster, plural, name=SA, namespace=None):
    return cluster.objects.find(plural, name, namespace)


def rbac_objects(cluster):
    """Every (kind, namespace, name) named after the account."""
    found = set()
    for plural, kind in (('clusterroles', 'ClusterRole'), ('clusterrolebindings', 'ClusterRoleBinding'),
                         ('roles', 'Role'), ('rolebindings', 'RoleBinding')):
        items = cluster.objects.list(plural)[0]
        for obj in items:
            if obj['metadata']['name'] == SA:
                found.add((kind, obj['metadata'].get('namespace', ''), SA))
    return found


def resource_versions(cluster):
    return {(plural, obj['metadata'].get('namespace', ''), obj['metadata']['name']): obj['metadata']['resourceVersion']
            for plural in ('serviceaccounts', 'clusterroles', 'clusterrolebindings', 'roles', 'rolebindings')
            for obj in cluster.objects.list(plural)[0]}


def real_writes(cluster):
    """Writes in the request log that were not server-side dry runs (reviews excluded)."""
    return [r for r in cluster.requests if r['method'] in ('POST', 'PUT', 'PATCH', 'DELETE')
            and 'dryRun=All' not in (r.get('query') or '') and not r['path'].endswith('reviews')]


def review_once_revoked(cluster, token, wait=15):
    """TokenReview until the token is rejected or ``wait`` seconds pass: kube-apiserver (and the
    double, as it) caches a token's successful authentication for 10 s."""
    deadline = time.monotonic() + wait
    review = token_review(cluster, token)
    while review.authenticated is True and time.monotonic() < deadline:
        time.sleep(0.5)
        review = token_review(cluster, token)
    return review


def token_review(cluster, token):
    """TokenReview with the admin credentials, as an authenticating proxy would ask."""
    from kubernetes import client, config  # pylint: disable=import-outside-toplevel
    api_client = config.new_client_from_config(config_file=cluster.kubeconfig_path)
    try:
        api = client.AuthenticationV1Api(api_client)
        body = {'apiVersion': 'authentication.k8s.io/v1', 'kind': 'TokenReview', 'spec': {'token': token}}
        review = api.create_token_review(body)
        return review.status
    finally:
        api_client.close()


def kubectl(kubeconfig, *args):
    return subprocess.run(['kubectl', '--kubeconfig', kubeconfig, *args], capture_output=True, text=True,
                          timeout=120, check=False)


def assert_ok(run):
    assert run.rc == 0, str(run)


def assert_account(cluster, access, scope='cluster', namespaces=()):
    """The ServiceAccount, role(s) and binding(s) exist as the role makes them, and nothing else."""
    account = get(cluster, 'serviceaccounts', namespace='default')
    assert account is not None
    assert account['metadata']['labels'] == {'app': 'mcp-k8s-server', 'app.kubernetes.io/managed-by': 'mcp.k8s'}
    subject = [{'kind': 'ServiceAccount', 'name': SA, 'namespace': 'default'}]
    if scope == 'cluster':
        expected = {('ClusterRole', '', SA), ('ClusterRoleBinding', '', SA)}
        roles = [get(cluster, 'clusterroles')]
        bindings = [(get(cluster, 'clusterrolebindings'), 'ClusterRole')]
    else:
        expected = {(kind, ns, SA) for ns in namespaces for kind in ('Role', 'RoleBinding')}
        roles = [get(cluster, 'roles', namespace=ns) for ns in namespaces]
        bindings = [(get(cluster, 'rolebindings', namespace=ns), 'Role') for ns in namespaces]
    assert rbac_objects(cluster) == expected
    for role in roles:
        assert grants(role['rules']) == EXPECTED_GRANTS[access], role['rules']
        assert role['metadata']['annotations']['mcp.k8s/service-account'] == 'default/' + SA
        assert role['metadata']['labels']['app.kubernetes.io/managed-by'] == 'mcp.k8s'
    if access == 'upstream':
        assert roles[0]['rules'] == UPSTREAM_RULES
    for binding, ref_kind in bindings:
        assert binding['subjects'] == subject
        assert binding['roleRef'] == {'apiGroup': RBAC, 'kind': ref_kind, 'name': SA}


# ------------------------------------------------------------------------------------ tests
def test_read_only_cluster_idempotent_and_token_reused(cluster, run_playbook, tmp_path):
    """Default variables: the objects and rules of read-only; a second run of the role in the
    play changes nothing and mints nothing; a later ansible-playbook run with the same
    kubeconfig_path reuses the token in that file and reports changed=0."""
    kubeconfig = str(tmp_path / 'mcp.kubeconfig')
    role_vars = {'mcp_k8s_server_kubeconfig_path': kubeconfig}
    run = run_playbook([role_play('first', role_vars, record=False), role_play('second', role_vars)])
    assert_ok(run)
    assert_account(cluster, 'read-only')
    # SSA with our own field manager
    patches = [r for r in cluster.requests if r['method'] == 'PATCH']
    assert patches and all('fieldManager=mcp.k8s' in (r.get('query') or '') for r in patches), patches
    # the account's token, and on the first run (no token yet when sa_access checks the rights) a
    # 10-minute one that sa_access mints for its checks; the second play reuses the fact for both
    minted = [r for r in cluster.requests
              if r['method'] == 'POST' and r['path'].endswith('/serviceaccounts/mcp-k8s-server/token')]
    assert len(minted) == 2, minted
    second = play_output(run.stdout, 'second')
    assert 'changed:' not in second, second
    # the facts
    results = run.results
    assert JWT.match(results['token']), 'the token fact is not a JWT'
    assert results['claims']['sub'] == USER
    assert results['expiration'] == results['summary']['token_expiration']
    assert results['summary']['token_minted'] is False  # the second run reused it
    assert [check['ok'] for check in results['verification']['checks']] == [True] * 6
    # the kubeconfig file
    assert stat.S_IMODE(os.stat(kubeconfig).st_mode) == 0o600
    with open(kubeconfig, encoding='utf-8') as handle:
        written = yaml.safe_load(handle)
    # exec mode (the default): the token is in the credential file the kubeconfig's plugin prints
    # (compared as booleans so that a failure does not print tokens)
    assert written['users'][0]['user']['exec']['args'] == [kubeconfig + '.credential.json']
    assert stat.S_IMODE(os.stat(kubeconfig + '.credential.json').st_mode) == 0o600
    with open(kubeconfig + '.credential.json', encoding='utf-8') as handle:
        same_token = json.load(handle)['status']['token'] == results['token']
    assert same_token, 'the credential file holds another token than the fact'
    same_kubeconfig = written == results['kubeconfig']
    assert same_kubeconfig, 'the kubeconfig file differs from the kubeconfig fact'

    versions = resource_versions(cluster)
    cluster.clear_requests()
    again = run_playbook([role_play('third', role_vars)])
    assert_ok(again)
    assert recap_changed(again.stdout) == 0, again.stdout
    assert cluster.count(method='POST', path_re=r'/token$') == 0
    reused = again.results['token'] == results['token']
    assert reused, 'the token was not reused'
    # server-side apply sends its PATCH every time; nothing may change
    assert resource_versions(cluster) == versions
    assert cluster.count(method='DELETE') == 0 and cluster.count(method='PUT') == 0
    # the rights were checked once, with the file's token, by the same sa_access call
    assert cluster.count(method='POST', path_re=r'/selfsubjectaccessreviews$') == 6
    assert [check['ok'] for check in again.results['verification']['checks']] == [True] * 6


@pytest.mark.parametrize('access', ['operator', 'upstream', 'custom'])
def test_access_levels(cluster, run_playbook, access):
    role_vars = {'mcp_k8s_server_access': access}
    if access == 'custom':
        role_vars['mcp_k8s_server_rules'] = CUSTOM_RULES
    run = run_playbook([role_play('provision', role_vars)])
    assert_ok(run)
    assert_account(cluster, access)
    checks = run.results['verification']['checks']
    assert checks and all(check['ok'] for check in checks)
    asked = {(c['verb'], c['resource'], c['subresource']): c['expected'] for c in checks}
    if access == 'operator':
        assert asked[('patch', 'deployments', 'scale')] is True
        assert asked[('get', 'secrets', '')] is False
    elif access == 'upstream':
        assert asked[('get', 'secrets', '')] is True
        assert asked[('get', 'pods', 'log')] is False  # what upstream forgets
    else:
        assert set(asked) == {('get', 'pods', ''), ('list', 'pods', ''), ('get', 'pods', 'log'),
                              ('list', 'pods', 'log'), ('get', 'deployments', '')}


def test_scope_and_access_converge(cluster, run_playbook):
    """cluster -> namespaces (two) -> namespaces (one) -> operator at cluster scope; a binding
    whose roleRef must change is recreated; objects that are not ours are left alone."""
    for name in ('team-a', 'team-b'):
        cluster.objects.create('namespaces', {'metadata': {'name': name}})
    assert_ok(run_playbook([role_play('cluster')]))
    assert_account(cluster, 'read-only')

    # an earlier run bound the account to 'view' under our binding's name in team-a
    cluster.objects.create('rolebindings', {
        'metadata': {'name': SA, 'namespace': 'team-a', 'annotations': {'mcp.k8s/service-account': 'default/' + SA}},
        'subjects': [{'kind': 'ServiceAccount', 'name': SA, 'namespace': 'default'}],
        'roleRef': {'apiGroup': RBAC, 'kind': 'ClusterRole', 'name': 'view'}}, 'team-a')
    old_uid = get(cluster, 'rolebindings', namespace='team-a')['metadata']['uid']
    foreign = cluster.grant('someone-else', ['get'], ['pods'], namespace='team-b', name=SA + '-other')

    both = {'mcp_k8s_server_scope': 'namespaces', 'mcp_k8s_server_namespaces': ['team-a', 'team-b']}
    run = run_playbook([role_play('namespaces', both)])
    assert_ok(run)
    assert_account(cluster, 'read-only', 'namespaces', ['team-a', 'team-b'])
    assert get(cluster, 'rolebindings', namespace='team-a')['metadata']['uid'] != old_uid
    checks = run.results['verification']['checks']
    assert {c['namespace'] for c in checks} == {'team-a', 'team-b', ''}
    assert [c for c in checks if c['namespace'] == ''] == [
        {'verb': 'list', 'group': '', 'resource': 'pods', 'subresource': '', 'namespace': '',
         'allowed': False, 'expected': False, 'actual': False, 'ok': True}]
    assert sorted(run.results['summary']['removed'], key=lambda r: r['kind']) == [
        {'kind': 'ClusterRole', 'namespace': '', 'name': SA},
        {'kind': 'ClusterRoleBinding', 'namespace': '', 'name': SA}]

    one = {'mcp_k8s_server_scope': 'namespaces', 'mcp_k8s_server_namespaces': ['team-a']}
    assert_ok(run_playbook([role_play('one namespace', one)]))
    assert_account(cluster, 'read-only', 'namespaces', ['team-a'])

    assert_ok(run_playbook([role_play('operator', {'mcp_k8s_server_access': 'operator'})]))
    assert_account(cluster, 'operator')
    assert get(cluster, 'roles', foreign, 'team-b') is not None
    assert get(cluster, 'rolebindings', foreign, 'team-b') is not None


def test_check_mode_and_diff(cluster, run_playbook, tmp_path):
    """--check --diff on an empty cluster creates and mints nothing but shows the objects;
    after a real run, a check run with the same variables reports nothing to change (the
    token in the kubeconfig is still good), and one for operator shows the rule change and
    changes nothing."""
    role_vars = {'mcp_k8s_server_kubeconfig_path': str(tmp_path / 'sa.kubeconfig')}
    run = run_playbook([role_play('check', role_vars)], check=True, diff=True)
    assert_ok(run)
    assert get(cluster, 'serviceaccounts', namespace='default') is None
    assert rbac_objects(cluster) == set()
    assert cluster.count(method='POST', path_re=r'/token$') == 0
    assert real_writes(cluster) == []
    assert recap_changed(run.stdout) > 0
    assert 'ClusterRoleBinding' in run.stdout and 'pods/log' in run.stdout  # the diff

    assert not os.path.exists(role_vars['mcp_k8s_server_kubeconfig_path'])
    assert_ok(run_playbook([role_play('provision', role_vars)]))
    before = get(cluster, 'clusterroles')
    cluster.clear_requests()
    same = run_playbook([role_play('check again', role_vars)], check=True, diff=True)
    assert_ok(same)
    assert recap_changed(same.stdout) == 0, same.stdout

    run = run_playbook([role_play('check operator', dict(role_vars, mcp_k8s_server_access='operator'))],
                       check=True, diff=True)
    assert_ok(run)
    assert get(cluster, 'clusterroles') == before
    assert real_writes(cluster) == []
    assert 'deletecollection' in run.stdout and 'deployments/scale' in run.stdout
    assert recap_changed(run.stdout) >= 1


def test_check_mode_into_a_new_namespace_and_no_takeover(cluster, run_playbook):
    """Check mode with a namespace still to create dry-runs what it can; a ClusterRole of the
    same name that belongs to another account (another namespace) is never taken over."""
    role_vars = {'mcp_k8s_server_namespace': 'brand-new', 'mcp_k8s_server_create_namespace': True}
    run = run_playbook([role_play('check', role_vars)], check=True, diff=True)
    assert_ok(run)
    assert cluster.objects.find('namespaces', 'brand-new') is None
    assert rbac_objects(cluster) == set() and real_writes(cluster) == []
    assert '+++ after: ServiceAccount brand-new/mcp-k8s-server' in run.stdout  # shown, not dry-run

    cluster.objects.create('clusterroles', {
        'metadata': {'name': SA, 'annotations': {'mcp.k8s/service-account': 'tools/' + SA}}, 'rules': []})
    run = run_playbook([role_play('take over', role_vars)])
    assert run.rc != 0
    assert ('ClusterRole mcp-k8s-server belongs to the ServiceAccount tools/mcp-k8s-server. Remove that account first'
            in run.stdout), run.stdout
    assert not get(cluster, 'clusterroles').get('rules')  # untouched (kube-apiserver omits empty rules)
    assert cluster.objects.find('namespaces', 'brand-new') is None  # refused before anything changed


def test_verify_fails_with_a_table_when_rbac_is_tampered_with(cluster, run_playbook):
    # 1. someone else granted the account secrets: the role applies its own objects, but the
    #    account can do more than read-only allows
    assert_ok(run_playbook([role_play('provision')]))
    extra = cluster.grant(USER, ['get'], ['secrets'])
    run = run_playbook([role_play('tampered', {'mcp_k8s_server_verify_retries': 0})])
    assert run.rc != 0
    assert 'RBAC verification failed for %s (access read-only, scope cluster): 1 of 6 checks differ' % USER in run.stdout
    assert 'get secrets in (all): expected denied, got allowed' in run.stdout
    # and the API server's own account of its rights names the binding that gives them (issue 21)
    assert ('the account holds rights beyond its grant (remove the bindings, or the account\'s groups\' bindings, '
            'that give them): it may get secrets in every namespace, through ClusterRoleBinding %s (ClusterRole %s)'
            % (extra, extra)) in displayed(run.stdout), run.stdout
    table = [line.strip().strip('",') for line in run.stdout.splitlines() if re.search(r'"(ok|DIFFER|RESULT) ', line)]
    assert table[0].split() == ['RESULT', 'VERB', 'RESOURCE', 'NAMESPACE', 'EXPECTED', 'ACTUAL']
    assert ['DIFFER', 'get', 'secrets', '(all)', 'denied', 'allowed'] in [row.split() for row in table]
    assert ['ok', 'list', 'pods', '(all)', 'allowed', 'allowed'] in [row.split() for row in table]
    assert len(table) == 7

    # 2. the ClusterRole loses pod logs after the role ran: the verify entry point (with the
    #    account's kubeconfig fact of an earlier run) reports it
    cluster.objects.delete('clusterrolebindings', extra)
    provisioned = run_playbook([role_play('provision')])
    assert_ok(provisioned)
    role = get(cluster, 'clusterroles')
    role['rules'] = [{'apiGroups': [''], 'resources': ['pods'], 'verbs': ['list']}]
    cluster.objects.update('clusterroles', role, SA)
    clean = run_playbook(
        [role_play('verify', {'mcp_k8s_server_verify_retries': 1, 'mcp_k8s_server_verify_delay': 1},
                   tasks_from='verify')],
        extra_vars={'mcp_k8s_server_kubeconfig': provisioned.results['kubeconfig']})
    assert clean.rc != 0, str(clean)
    assert 'get pods/log in (all): expected allowed, got denied' in clean.stdout
    assert 'list apps/deployments in (all): expected allowed, got denied' in clean.stdout

    # 3. the role repairs it
    assert_ok(run_playbook([role_play('repair')]))
    assert_account(cluster, 'read-only')


def test_token_for_other_audiences_is_verified_with_an_api_server_token(cluster, run_playbook):
    """A token for the MCP server's proxy (not the API server) is registered as asked; the
    verify step asks with a short-lived token of the API server's audiences."""
    run = run_playbook([role_play('provision', {'mcp_k8s_server_token_audiences': ['mcp-proxy']})])
    assert_ok(run)
    assert run.results['claims']['aud'] == ['mcp-proxy']
    assert all(check['ok'] for check in run.results['verification']['checks'])
    # the verify one (sa_access, before the token exists), the token, the one that asks the API server's
    # audiences (mcp.k8s.sa_token warns about mcp-proxy)
    assert cluster.count(method='POST', path_re=r'/serviceaccounts/mcp-k8s-server/token$') == 3
    assert token_review(cluster, run.results['token']).authenticated is not True  # not for the API server


def test_kubeconfig_works_with_kubectl_and_only_its_rights(cluster, run_playbook, tmp_path):
    kubeconfig = str(tmp_path / 'sa.kubeconfig')
    assert_ok(run_playbook([role_play('provision', {'mcp_k8s_server_kubeconfig_path': kubeconfig})]))
    assert stat.S_IMODE(os.stat(kubeconfig).st_mode) == 0o600
    pods = kubectl(kubeconfig, 'get', 'pods', '-n', 'kube-system')
    assert pods.returncode == 0, pods.stderr
    secrets = kubectl(kubeconfig, 'get', 'secrets')
    assert secrets.returncode != 0
    assert 'Forbidden' in secrets.stderr and USER in secrets.stderr, secrets.stderr


def test_absent_removes_everything_and_revokes_tokens(cluster, run_playbook, tmp_path):
    cluster.objects.create('namespaces', {'metadata': {'name': 'team-a'}})
    kubeconfig = str(tmp_path / 'sa.kubeconfig')
    present = {'mcp_k8s_server_namespace': 'mcp', 'mcp_k8s_server_create_namespace': True,
               'mcp_k8s_server_kubeconfig_path': kubeconfig, 'mcp_k8s_server_scope': 'namespaces',
               'mcp_k8s_server_namespaces': ['team-a', 'mcp']}
    run = run_playbook([role_play('provision', present)])
    assert_ok(run)
    token = run.results['token']
    assert cluster.objects.find('namespaces', 'mcp')['metadata']['annotations']['mcp.k8s/created-by'] == 'mcp/' + SA
    assert token_review(cluster, token).authenticated is True
    # an earlier provisioning at cluster scope left objects the current variables do not name
    assert_ok(run_playbook([role_play('cluster too', dict(present, mcp_k8s_server_scope='cluster',
                                                          mcp_k8s_server_verify=False))]))
    cluster.objects.create('clusterroles', {'metadata': {'name': SA + '-unrelated'}, 'rules': []})

    absent = dict(present, mcp_k8s_server_state='absent', mcp_k8s_server_delete_namespace=True)
    run = run_playbook([role_play('deprovision', absent)])
    assert_ok(run)
    assert rbac_objects(cluster) == set()
    assert cluster.objects.find('serviceaccounts', SA, 'mcp') is None
    ns = cluster.objects.find('namespaces', 'mcp')
    assert ns is None or ns['metadata'].get('deletionTimestamp')
    assert cluster.objects.find('namespaces', 'team-a') is not None
    assert cluster.objects.find('clusterroles', SA + '-unrelated') is not None
    assert not os.path.exists(kubeconfig)
    # kube-apiserver caches a successful authentication for 10 s: the revocation shows within that
    review = review_once_revoked(cluster, token)
    assert review.authenticated is not True, review
    assert run.results['token'] == ''

    # again: nothing left to do
    again = run_playbook([role_play('deprovision again', absent)])
    assert_ok(again)
    assert recap_changed(again.stdout) == 0, again.stdout


def test_namespace_not_created_without_asking(cluster, run_playbook):
    run = run_playbook([role_play('provision', {'mcp_k8s_server_namespace': 'missing'})])
    assert run.rc != 0
    assert 'Namespace(s) missing not found: create them first (or set mcp_k8s_server_create_namespace: true)' in run.stdout
    run = run_playbook([role_play('provision', {'mcp_k8s_server_scope': 'namespaces'})])
    assert run.rc != 0
    assert 'mcp_k8s_server_scope=namespaces needs mcp_k8s_server_namespaces' in run.stdout
    run = run_playbook([role_play('provision', {'mcp_k8s_server_access': 'everything'})])
    assert run.rc != 0
    assert 'mcp_k8s_server_access' in run.stdout and 'read-only' in run.stdout


def test_no_token_in_verbose_output(cluster, run_playbook, tmp_path):
    """-vvv through minting, reuse from the fact and the file, verify, failure paths."""
    kubeconfig = str(tmp_path / 'sa.kubeconfig')
    role_vars = {'mcp_k8s_server_kubeconfig_path': kubeconfig}
    first = run_playbook([role_play('mint', role_vars, record=False), role_play('reuse', role_vars)], verbosity=3)
    assert_ok(first)
    tokens = {first.results['token']}
    # renew_before the whole duration of the file's token: it is read, then replaced
    again = run_playbook([role_play('renew from file', dict(role_vars, mcp_k8s_server_token_duration='2h',
                                                            mcp_k8s_server_token_renew_before='1h'))],
                         verbosity=3)
    assert_ok(again)
    tokens.add(again.results['token'])
    assert len(tokens) == 2, 'the token was not renewed'
    cluster.grant(USER, ['get'], ['secrets'])
    failed = run_playbook([role_play('tampered', dict(role_vars, mcp_k8s_server_verify_retries=0))], verbosity=3)
    assert failed.rc != 0
    assert 'ESTABLISH LOCAL CONNECTION' in first.output  # -vvv was in effect
    for token in tokens:
        assert JWT.match(token)
        signature = token.rsplit('.', 1)[1]
        for run in (first, again, failed):
            assert signature not in run.output
    assert 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER' not in json.dumps(first.results)


def test_playbooks(cluster, ansible_env, tmp_path):
    kubeconfig = str(tmp_path / 'sa.kubeconfig')
    run = run_collection_playbook(ansible_env, tmp_path, 'provision', '-e', 'mcp_k8s_server_kubeconfig_path=' + kubeconfig)
    assert run.returncode == 0, run.stdout + run.stderr
    with open(kubeconfig + '.credential.json', encoding='utf-8') as handle:   # exec mode, the default
        token = json.load(handle)['status']['token']
    assert token.rsplit('.', 1)[1] not in run.stdout + run.stderr
    for line in ('"Account:    %s"' % USER, '"Access:     read-only (cluster scope)"',
                 '"RBAC:       ServiceAccount default/mcp-k8s-server, ClusterRole mcp-k8s-server, '
                 'ClusterRoleBinding mcp-k8s-server"', '"Claims:     sub=%s aud=' % USER,
                 '"Kubeconfig: %s"' % kubeconfig, '"Verified:   6 access checks passed"', '"Token:      minted, expires '):
        assert line in run.stdout, run.stdout

    cluster.create_service_account('ci', 'build')
    token_file = tmp_path / 'ci.token'
    run = run_collection_playbook(ansible_env, tmp_path, 'token', '-e', 'token_service_account=ci', '-e',
                                  'token_namespace=build', '-e', 'token_duration=30m', '-e', 'token_file=%s' % token_file)
    assert run.returncode == 0, run.stdout + run.stderr
    ci_token = token_file.read_text()
    assert JWT.match(ci_token) and stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert ci_token.rsplit('.', 1)[1] not in run.stdout + run.stderr
    assert '"sub": "system:serviceaccount:build:ci"' in run.stdout
    claims = json.loads(base64.urlsafe_b64decode(ci_token.split('.')[1] + '==='))
    assert claims['exp'] - claims['iat'] == 1800
    assert '"expires_in": ' in run.stdout and '"expiration_timestamp": ' in run.stdout

    run = run_collection_playbook(ansible_env, tmp_path, 'token')
    assert run.returncode != 0 and 'Name the ServiceAccount: -e token_service_account=NAME' in run.stdout

    run = run_collection_playbook(ansible_env, tmp_path, 'deprovision', '-e', 'mcp_k8s_server_kubeconfig_path=' + kubeconfig)
    assert run.returncode == 0, run.stdout + run.stderr
    assert rbac_objects(cluster) == set()
    assert get(cluster, 'serviceaccounts', namespace='default') is None
    assert not os.path.exists(kubeconfig)
    assert ('"Removed: ClusterRoleBinding mcp-k8s-server, ClusterRole mcp-k8s-server, ServiceAccount default/mcp-k8s-server, '
            'file %s, file %s.credential.json"' % (kubeconfig, kubeconfig)) in run.stdout
    assert '"Kept:    Namespace default (mcp_k8s_server_delete_namespace is false)"' in run.stdout
    assert review_once_revoked(cluster, token).authenticated is not True


# ------------------------------------------- what is not ours (issue 16 items 1, 4 and 5)
def test_someone_elses_cluster_role_of_the_same_name_is_untouched(cluster, run_playbook):
    """An existing ci-deployer ClusterRole and binding (another account's rights, no annotation of
    ours) are neither rewritten nor deleted: the run fails before changing anything, naming both;
    with mcp_k8s_server_adopt they are taken over."""
    cluster.objects.create('namespaces', {'metadata': {'name': 'ci'}})
    deployer_rules = [{'apiGroups': ['apps'], 'resources': ['deployments'], 'verbs': ['*']}]
    cluster.objects.create('clusterroles', {'metadata': {'name': 'ci-deployer'}, 'rules': deployer_rules})
    cluster.objects.create('clusterrolebindings', {
        'metadata': {'name': 'ci-deployer'},
        'subjects': [{'kind': 'ServiceAccount', 'name': 'deployer', 'namespace': 'ci'}],
        'roleRef': {'apiGroup': RBAC, 'kind': 'ClusterRole', 'name': 'ci-deployer'}})
    before = (get(cluster, 'clusterroles', 'ci-deployer'), get(cluster, 'clusterrolebindings', 'ci-deployer'))
    cluster.clear_requests()
    role_vars = {'mcp_k8s_server_service_account': 'ci-deployer', 'mcp_k8s_server_namespace': 'ci'}
    run = run_playbook([role_play('take over', role_vars)])
    assert run.rc != 0
    assert ('ClusterRole ci-deployer and ClusterRoleBinding ci-deployer already exist and were not made by mcp.k8s '
            'for the ServiceAccount ci/ci-deployer (no mcp.k8s/service-account annotation), so nothing was changed; '
            'choose another name, remove them, or set mcp_k8s_server_adopt to true to take them over.') in run.stdout
    assert (get(cluster, 'clusterroles', 'ci-deployer'), get(cluster, 'clusterrolebindings', 'ci-deployer')) == before
    assert real_writes(cluster) == []
    assert cluster.objects.find('serviceaccounts', 'ci-deployer', 'ci') is None

    # absent does not delete them either, and says so
    run = run_playbook([role_play('absent', dict(role_vars, mcp_k8s_server_state='absent'))])
    assert_ok(run)
    assert (get(cluster, 'clusterroles', 'ci-deployer'), get(cluster, 'clusterrolebindings', 'ci-deployer')) == before
    assert run.results['summary']['removed'] == []
    assert [(o['kind'], o['name']) for o in run.results['summary']['left_alone']] == [
        ('ClusterRoleBinding', 'ci-deployer'), ('ClusterRole', 'ci-deployer')]

    adopted = run_playbook([role_play('adopt', dict(role_vars, mcp_k8s_server_adopt=True))])
    assert_ok(adopted)
    role = get(cluster, 'clusterroles', 'ci-deployer')
    assert grants(role['rules']) == READ_ONLY and role['metadata']['annotations']['mcp.k8s/service-account'] == 'ci/ci-deployer'
    assert get(cluster, 'clusterrolebindings', 'ci-deployer')['subjects'] == [
        {'kind': 'ServiceAccount', 'name': 'ci-deployer', 'namespace': 'ci'}]


@pytest.mark.parametrize('name', ['cluster-admin', 'view'])
def test_builtin_role_names_are_refused(cluster, run_playbook, name):
    before = get(cluster, 'clusterroles', name)
    run = run_playbook([role_play('built-in', {'mcp_k8s_server_service_account': name,
                                               'mcp_k8s_server_adopt': True})])
    assert run.rc != 0
    assert ('"%s" is a built-in Kubernetes name and the roles and bindings take the account\'s name, so they would '
            'replace a built-in role; built-in and system names are never changed: choose another name.' % name) in run.stdout
    assert get(cluster, 'clusterroles', name) == before
    assert real_writes(cluster) == []


def test_absent_leaves_what_it_did_not_make_and_says_so(cluster, run_playbook, tmp_path):
    """A hand-made ServiceAccount of the role's name survives state absent, listed in the
    summary with the reason; a kubeconfig file the collection did not write is not deleted."""
    cluster.create_service_account(SA, 'default')
    run = run_playbook([role_play('absent', {'mcp_k8s_server_state': 'absent'})])
    assert_ok(run)
    assert recap_changed(run.stdout) == 0, run.stdout
    assert get(cluster, 'serviceaccounts', namespace='default') is not None
    assert run.results['summary']['left_alone'] == [
        {'kind': 'ServiceAccount', 'namespace': 'default', 'name': SA,
         'reason': 'it was not made by mcp.k8s for default/mcp-k8s-server (no mcp.k8s/service-account annotation)'}]
    foreign_file = tmp_path / 'sa.kubeconfig'
    foreign_file.write_text('apiVersion: v1\nkind: Config\nusers: []\n')
    run = run_playbook([role_play('absent', {'mcp_k8s_server_state': 'absent',
                                             'mcp_k8s_server_kubeconfig_path': str(foreign_file)})])
    assert foreign_file.read_text() == 'apiVersion: v1\nkind: Config\nusers: []\n'
    assert get(cluster, 'serviceaccounts', namespace='default') is not None


def test_a_file_the_role_did_not_write_is_not_overwritten(cluster, run_playbook, tmp_path):
    path = tmp_path / 'kubeconfig'
    path.write_text('not: [yaml')
    token_mode = {'mcp_k8s_server_kubeconfig_path': str(path), 'mcp_k8s_server_kubeconfig_credential': 'token'}
    run = run_playbook([role_play('provision', token_mode)])
    assert run.rc != 0
    assert ('%s exists and was not written by mcp.k8s; move it away, set mcp_k8s_server_kubeconfig_path to another '
            'path, or set mcp_k8s_server_kubeconfig_overwrite: true to replace it.' % path) in run.stdout
    assert path.read_text() == 'not: [yaml' and get(cluster, 'serviceaccounts', namespace='default') is None
    assert cluster.count(method='POST', path_re=r'/token$') == 0 and cluster.count(method='PATCH') == 0
    assert_ok(run_playbook([role_play('overwrite', dict(token_mode, mcp_k8s_server_kubeconfig_overwrite=True))]))
    assert path.read_text().startswith('# Written by mcp.k8s for %s: later runs reuse its token' % USER)


def test_a_kubeconfig_an_earlier_version_of_the_role_wrote_is_reused(cluster, run_playbook, tmp_path):
    # token mode files written before mcp.k8s.server_files wrote them: same YAML, another first line
    path = tmp_path / 'kubeconfig'
    token_mode = {'mcp_k8s_server_kubeconfig_path': str(path), 'mcp_k8s_server_kubeconfig_credential': 'token'}
    assert_ok(run_playbook([role_play('provision', token_mode)]))
    text = path.read_text()
    # (this version's two comment lines, the second the cluster record, in place of that first line)
    path.write_text('# Written by the Ansible role mcp.k8s.mcp_k8s_server for %s\n' % USER + text.split('\n', 2)[2])
    before = cluster.count(method='POST', path_re=r'/token$')
    run = run_playbook([role_play('again', token_mode)])
    assert_ok(run)
    assert cluster.count(method='POST', path_re=r'/token$') == before     # its token was reused
    assert path.read_text() == text                                          # and the file taken over


@pytest.mark.parametrize('rules, phrase', [
    ([{'apiGroups': [''], 'resources': ['pods'], 'verbs': ['*']}], 'rules[0] grants every verb ("*")'),
    ([{'apiGroups': ['apps'], 'resources': ['*'], 'verbs': ['get']}], 'rules[0] grants every resource ("*")'),
    ([{'apiGroups': [RBAC], 'resources': ['clusterroles'], 'verbs': ['escalate', 'bind']}], 'rules[0] grants "escalate"'),
    ([{'apiGroups': [''], 'resources': ['users'], 'verbs': ['impersonate']}], 'rules[0] grants "impersonate"'),
])
def test_custom_rules_that_grant_everything_need_the_opt_in(cluster, run_playbook, rules, phrase):
    role_vars = {'mcp_k8s_server_access': 'custom', 'mcp_k8s_server_rules': rules}
    run = run_playbook([role_play('custom', role_vars)])
    assert run.rc != 0
    assert ('Refusing to grant %s what the rules allow: %s' % (USER, phrase)) in run.stdout
    assert 'set mcp_k8s_server_allow_wildcards_and_escalation to true if that is really meant' in run.stdout
    assert real_writes(cluster) == []
    if '"*"' in phrase:  # the check of rights asks the wildcard as written
        run = run_playbook([role_play('custom', dict(role_vars, mcp_k8s_server_allow_wildcards_and_escalation=True))])
        assert_ok(run)
        checks = run.results['verification']['checks']
        assert any('*' in (c['verb'], c['resource']) and c['ok'] and c['actual'] for c in checks), checks


def test_operator_warns_and_names_its_escalation_paths(cluster, run_playbook):
    run = run_playbook([role_play('operator', {'mcp_k8s_server_access': 'operator'})])
    assert_ok(run)
    assert 'may write in every namespace (create pods' in run.output
    assert 'scope namespaces' in run.output
    means = {e['grant']: e['means'] for e in run.results['summary']['escalations']}
    assert means['create pods'] == ('can read any Secret and act as any ServiceAccount in every namespace, '
                                    'through a pod that mounts them')
    assert 'create pods/exec' in means
    assert ('ALLOWS  create pods => can read any Secret and act as any ServiceAccount in every namespace, through a '
            'pod that mounts them') in run.results['verification']['table']
    narrow = run_playbook([role_play('read-only', {'mcp_k8s_server_scope': 'namespaces',
                                                   'mcp_k8s_server_namespaces': ['default']})])
    assert_ok(narrow)
    assert narrow.results['summary']['escalations'] == [] and 'may write' not in narrow.output


# ------------------------------------------------------ connecting (issue 17 items 2 and 7)
def test_play_module_defaults_are_honoured(cluster, run_playbook, tmp_path):
    """A fleet play sets the kubeconfig once, in module_defaults for group/mcp.k8s.k8s; the
    role (its own mcp_k8s_server_auth_* unset) uses it, although K8S_AUTH_KUBECONFIG is wrong."""
    play = role_play('fleet', {'mcp_k8s_server_kubeconfig_path': str(tmp_path / 'sa.kubeconfig')})
    play['module_defaults'] = {'group/mcp.k8s.k8s': {'kubeconfig': cluster.kubeconfig_path}}
    run = run_playbook([play], env={'K8S_AUTH_KUBECONFIG': str(tmp_path / 'missing')})
    assert_ok(run)
    assert_account(cluster, 'read-only')
    assert all(c['ok'] for c in run.results['verification']['checks'])
    # the role's own variable still wins where it is set
    play = role_play('own', {'mcp_k8s_server_auth_kubeconfig': str(tmp_path / 'missing')})
    play['module_defaults'] = {'group/mcp.k8s.k8s': {'kubeconfig': cluster.kubeconfig_path}}
    run = run_playbook([play])
    assert run.rc != 0 and 'kubeconfig %s does not exist' % (tmp_path / 'missing') in run.stdout


def test_unreachable_cluster_fails_first_in_one_sentence(cluster, run_playbook, tmp_path):
    with open(cluster.kubeconfig_path, encoding='utf-8') as handle:
        config = yaml.safe_load(handle)
    config['clusters'][0]['cluster']['server'] = 'https://127.0.0.1:9'
    unreachable = tmp_path / 'unreachable.kubeconfig'
    unreachable.write_text(yaml.safe_dump(config))
    run = run_playbook([role_play('unreachable', {'mcp_k8s_server_auth_kubeconfig': str(unreachable)})])
    assert run.rc != 0
    assert 'Cannot reach the API server at https://127.0.0.1:9 (connection refused)' in run.stdout, run.stdout
    assert 'HTTPSConnectionPool' not in run.output and 'Traceback' not in run.output
    assert re.search(r'localhost\s+: ok=\d+\s+changed=0\s+unreachable=0\s+failed=1', run.stdout)
