import pytest

from ansible_collections.mcp.k8s.plugins.module_utils import rbac_checks
from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError

POD_READ = {'apiGroups': [''], 'resources': ['pods', 'pods/log'], 'verbs': ['get', 'list']}
DEPLOY_GET = {'apiGroups': ['apps'], 'resources': ['deployments'], 'verbs': ['get']}


def keys(checks):
    return [(c['verb'], c['group'], c['resource'], c['subresource'], c['namespace'], c['allowed']) for c in checks]


def test_rules_expand_to_one_check_per_verb_group_and_resource():
    checks = rbac_checks.expand_checks([POD_READ, DEPLOY_GET])
    assert keys(checks) == [
        ('get', '', 'pods', '', '', True), ('list', '', 'pods', '', '', True),
        ('get', '', 'pods', 'log', '', True), ('list', '', 'pods', 'log', '', True),
        ('get', 'apps', 'deployments', '', '', True)]
    assert set(checks[0]) == {'verb', 'group', 'resource', 'subresource', 'namespace', 'allowed'}


def test_wildcards_are_asked_as_written_not_skipped():
    rules = [{'apiGroups': ['*'], 'resources': ['*'], 'verbs': ['*']},
             {'apiGroups': ['apps'], 'resources': ['*/scale'], 'verbs': ['patch']}]
    assert keys(rbac_checks.expand_checks(rules)) == [
        ('*', '*', '*', '', '', True), ('patch', 'apps', '*', 'scale', '', True)]


def test_resource_names_and_urls_are_not_asked():
    rules = [{'apiGroups': [''], 'resources': ['configmaps'], 'resourceNames': ['one'], 'verbs': ['get']},
             {'nonResourceURLs': ['/healthz'], 'verbs': ['get']}, DEPLOY_GET]
    assert keys(rbac_checks.expand_checks(rules)) == [('get', 'apps', 'deployments', '', '', True)]


def test_namespaces_scope_asks_in_each_namespace_and_denies_cluster_wide():
    checks = rbac_checks.expand_checks([DEPLOY_GET], 'namespaces', ['b', 'a', 'b'])
    assert keys(checks) == [('get', 'apps', 'deployments', '', 'b', True), ('get', 'apps', 'deployments', '', 'a', True),
                            ('get', 'apps', 'deployments', '', '', False)]


def test_given_checks_replace_the_rules_and_keep_their_namespace():
    given = [{'verb': 'list', 'resource': 'pods', 'allowed': True},
             {'verb': 'get', 'resource': 'secrets', 'allowed': False},
             {'verb': 'get', 'resource': 'pods/log', 'namespace': 'x'},
             {'verb': 'list', 'resource': 'pods', 'allowed': True}]
    assert keys(rbac_checks.expand_checks([DEPLOY_GET], 'cluster', [], given)) == [
        ('list', '', 'pods', '', '', True), ('get', '', 'secrets', '', '', False), ('get', '', 'pods', 'log', 'x', True)]
    with pytest.raises(K8sTokenError, match=r'checks\[0\] needs a verb and a resource'):
        rbac_checks.expand_checks([], checks=[{'verb': 'get'}])


@pytest.mark.parametrize('rule, phrase', [
    ({'apiGroups': [''], 'resources': ['pods'], 'verbs': ['*']}, 'grants every verb ("*")'),
    ({'apiGroups': [''], 'resources': ['*'], 'verbs': ['get']}, 'grants every resource ("*")'),
    ({'apiGroups': ['apps'], 'resources': ['*/scale'], 'verbs': ['get']}, 'grants every resource ("*/scale")'),
    ({'nonResourceURLs': ['*'], 'verbs': ['get']}, 'grants every non-resource URL ("*")'),
    ({'apiGroups': ['rbac.authorization.k8s.io'], 'resources': ['clusterroles'], 'verbs': ['escalate']}, 'grants "escalate"'),
    ({'apiGroups': ['rbac.authorization.k8s.io'], 'resources': ['roles'], 'verbs': ['bind']}, 'grants "bind"'),
    ({'apiGroups': [''], 'resources': ['users'], 'verbs': ['impersonate']}, 'grants "impersonate"'),
])
def test_risky_grants_are_named(rule, phrase):
    assert rbac_checks.risky_grants([POD_READ, rule]) == ['rules[1] ' + phrase]


def test_plain_rules_are_not_risky():
    assert rbac_checks.risky_grants([POD_READ, DEPLOY_GET]) == []


def test_creating_pods_means_reading_secrets_and_acting_as_any_account():
    rules = [{'apiGroups': [''], 'resources': ['pods', 'pods/exec'], 'verbs': ['create', 'delete']}]
    paths = rbac_checks.escalation_paths(rules, 'namespaces', ['team-a'])
    assert paths[0] == {'grant': 'create pods', 'means': 'can read any Secret and act as any ServiceAccount in '
                                                         'namespace team-a, through a pod that mounts them'}
    assert paths[1]['grant'] == 'create pods/exec'
    assert rbac_checks.escalation_paths([POD_READ, DEPLOY_GET]) == []


def test_workloads_secrets_tokens_and_wildcards_are_escalation_paths():
    assert [p['grant'] for p in rbac_checks.escalation_paths(
        [{'apiGroups': ['apps'], 'resources': ['deployments'], 'verbs': ['patch']}])] == ['patch apps/deployments']
    assert 'every Secret in every namespace' in rbac_checks.escalation_paths(
        [{'apiGroups': [''], 'resources': ['secrets'], 'verbs': ['list']}])[0]['means']
    everything = rbac_checks.escalation_paths([{'apiGroups': ['*'], 'resources': ['*'], 'verbs': ['*']}])
    assert len(everything) == len(rbac_checks._PATHS)
    named = rbac_checks.escalation_paths([{'apiGroups': [''], 'resources': ['secrets'], 'resourceNames': ['x'],
                                           'verbs': ['get']}])
    assert named == []


@pytest.mark.parametrize('rule, message', [
    ({'apiGroups': [''], 'resources': ['pods']}, r'rules\[0\] has no verbs'),
    ({'apiGroups': [''], 'resources': ['pods'], 'verbs': 'get'}, r'rules\[0\]\.verbs must be a list of strings'),
    ({'resources': ['pods'], 'verbs': ['get']}, r'rules\[0\] has no apiGroups; use \[""\]'),
    ({'apiGroups': [''], 'verbs': ['get']}, r'rules\[0\] has no resources'),
    ({'apiGroups': [''], 'resources': ['pods'], 'verbs': ['get'], 'verb': ['x']}, r'unknown key\(s\) verb'),
    ({'nonResourceURLs': ['/x'], 'resources': ['pods'], 'verbs': ['get']}, 'mixes nonResourceURLs'),
    ('pods', r'rules\[0\] is not a PolicyRule'),
])
def test_bad_rules_get_one_sentence(rule, message):
    with pytest.raises(K8sTokenError, match=message):
        rbac_checks.check_rules([rule])


def test_writes_lists_write_verbs():
    assert rbac_checks.writes([POD_READ, {'apiGroups': [''], 'resources': ['pods'], 'verbs': ['get', 'delete']}]) == \
        ['delete pods']


def test_compare_builds_the_table():
    checks = rbac_checks.expand_checks([], checks=[{'verb': 'list', 'resource': 'pods'},
                                                   {'verb': 'get', 'resource': 'secrets', 'allowed': False},
                                                   {'verb': 'list', 'group': 'apps', 'resource': 'deployments'}])
    result = rbac_checks.compare(checks, [True, True, None])
    assert result['mismatches'] == ['get secrets in (all): expected denied, got allowed',
                                    'list apps/deployments in (all): expected allowed, got no answer']
    assert [row.split() for row in result['table']] == [
        ['RESULT', 'VERB', 'RESOURCE', 'NAMESPACE', 'EXPECTED', 'ACTUAL'],
        ['ok', 'list', 'pods', '(all)', 'allowed', 'allowed'],
        ['DIFFER', 'get', 'secrets', '(all)', 'denied', 'allowed'],
        ['DIFFER', 'list', 'apps/deployments', '(all)', 'allowed', 'no', 'answer']]
    assert [c['ok'] for c in result['checks']] == [True, False, False]
    paths = rbac_checks.escalation_paths([{'apiGroups': [''], 'resources': ['pods'], 'verbs': ['create']}],
                                         'namespaces', ['team-a'])
    noted = rbac_checks.compare(checks, [True, False, True], paths)
    assert noted['mismatches'] == [] and noted['table'][-1] == (
        'ALLOWS  create pods => can read any Secret and act as any ServiceAccount in namespace team-a, '
        'through a pod that mounts them')


def test_verify_asks_again_until_the_answers_match(kube):
    from ansible_collections.mcp.k8s.plugins.module_utils import connection
    token = kube.mint_token('server', 'mcp')
    asking = connection.get_cluster({'kubeconfig': kube.kubeconfig_path}).with_token(token)
    checks = rbac_checks.expand_checks([], checks=[{'verb': 'list', 'resource': 'pods', 'namespace': 'mcp'},
                                                   {'verb': '*', 'group': '*', 'resource': '*', 'allowed': False}])
    sleeps = []

    def grant_then_sleep(seconds):
        sleeps.append(seconds)
        kube.grant('system:serviceaccount:mcp:server', ['list'], ['pods'], namespace='mcp')

    result = rbac_checks.verify(asking, checks, retries=2, delay=0.5, sleep=grant_then_sleep)
    assert sleeps == [0.5] and result['mismatches'] == []
    assert kube.count(method='POST', path_re=r'selfsubjectaccessreviews$') == 4
    result = rbac_checks.verify(asking, checks[:1] + [dict(checks[1], allowed=True)], retries=0)
    assert result['mismatches'] == ['* */* in (all): expected allowed, got denied']
