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


def test_resource_names_and_urls_are_asked_by_name_and_path():
    """Rules that all use resourceNames or nonResourceURLs still give checks (issue 21, 5: "Nothing to verify")."""
    rules = [{'apiGroups': [''], 'resources': ['configmaps'], 'resourceNames': ['one', 'two'], 'verbs': ['get']},
             {'nonResourceURLs': ['/healthz', '/metrics*'], 'verbs': ['get']}, DEPLOY_GET]
    checks = rbac_checks.expand_checks(rules)
    assert [(c['verb'], c['resource'], c.get('name'), c.get('path')) for c in checks] == [
        ('get', 'configmaps', 'one', None), ('get', 'configmaps', 'two', None), ('get', '', None, '/healthz'),
        ('get', '', None, '/metrics*'), ('get', 'deployments', None, None)]
    table = rbac_checks.compare(checks, [True] * 5)['table']
    assert 'configmaps "one"' in table[1] and '/metrics*' in table[4]
    named = rbac_checks.expand_checks(rules[:1], 'namespaces', ['a'])
    assert [(c['name'], c['namespace'], c['allowed']) for c in named] == [
        ('one', 'a', True), ('two', 'a', True), ('one', '', False)]


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
    ({'nonResourceURLs': ['/*'], 'verbs': ['get']}, 'grants every non-resource URL ("/*")'),
    ({'nonResourceURLs': ['/healthz', '/**'], 'verbs': ['get']}, 'grants every non-resource URL ("/**")'),
    ({'apiGroups': [''], 'resources': ['users'], 'resourceNames': ['admin'], 'verbs': ['impersonate']},
     'grants "impersonate"'),
    ({'apiGroups': ['rbac.authorization.k8s.io'], 'resources': ['clusterroles'], 'resourceNames': ['cluster-admin'],
      'verbs': ['bind']}, 'grants "bind"'),
    ({'apiGroups': ['rbac.authorization.k8s.io'], 'resources': ['clusterroles'], 'verbs': ['escalate']}, 'grants "escalate"'),
    ({'apiGroups': ['rbac.authorization.k8s.io'], 'resources': ['roles'], 'verbs': ['bind']}, 'grants "bind"'),
    ({'apiGroups': [''], 'resources': ['users'], 'verbs': ['impersonate']}, 'grants "impersonate"'),
])
def test_risky_grants_are_named(rule, phrase):
    assert rbac_checks.risky_grants([POD_READ, rule]) == ['rules[1] ' + phrase]


def test_plain_rules_are_not_risky():
    assert rbac_checks.risky_grants([POD_READ, DEPLOY_GET]) == []
    assert rbac_checks.risky_grants([{'nonResourceURLs': ['/metrics*', '/healthz'], 'verbs': ['get']}]) == []


def test_creating_pods_means_reading_secrets_and_acting_as_any_account():
    rules = [{'apiGroups': [''], 'resources': ['pods', 'pods/exec'], 'verbs': ['create', 'delete']}]
    paths = rbac_checks.escalation_paths(rules, 'namespaces', ['team-a'])
    assert paths[0] == {'id': 'workloads', 'grant': 'create pods',
                        'means': 'can read any Secret and act as any ServiceAccount in namespace team-a, through a pod '
                                 'that mounts them'}
    assert paths[1]['grant'] == 'create pods/exec'
    assert rbac_checks.escalation_paths([POD_READ, DEPLOY_GET]) == []


def test_workloads_secrets_tokens_and_wildcards_are_escalation_paths():
    assert [p['grant'] for p in rbac_checks.escalation_paths(
        [{'apiGroups': ['apps'], 'resources': ['deployments'], 'verbs': ['patch']}])] == ['patch apps/deployments']
    assert 'every Secret in every namespace' in rbac_checks.escalation_paths(
        [{'apiGroups': [''], 'resources': ['secrets'], 'verbs': ['list']}])[0]['means']
    everything = rbac_checks.escalation_paths([{'apiGroups': ['*'], 'resources': ['*'], 'verbs': ['*']}])
    assert [p['id'] for p in everything] == [entry['id'] for entry in rbac_checks.CATALOGUE]
    assert not any('names' in p for p in everything)


def test_resource_names_narrow_a_path_but_do_not_close_it():
    """One named account is enough for a cluster-admin token (issue 21, 3)."""
    named = rbac_checks.escalation_paths([{'apiGroups': [''], 'resources': ['serviceaccounts/token'],
                                           'resourceNames': ['admin-bot'], 'verbs': ['create']}])
    assert named == [{'id': 'tokens', 'grant': 'create serviceaccounts/token (resourceNames admin-bot)',
                      'names': ['admin-bot'],
                      'means': 'can mint tokens for any ServiceAccount in every namespace and act as it; limited to '
                               'admin-bot by resourceNames, which narrows the path but does not close it (one '
                               'privileged object is enough)'}]
    # names of several rules are merged; one rule without names makes it every object
    rules = [{'apiGroups': [''], 'resources': ['secrets'], 'resourceNames': ['a'], 'verbs': ['get']},
             {'apiGroups': [''], 'resources': ['secrets'], 'resourceNames': ['b', 'a'], 'verbs': ['list']}]
    assert rbac_checks.escalation_paths(rules)[0]['names'] == ['a', 'b']
    rules.append({'apiGroups': [''], 'resources': ['secrets'], 'verbs': ['watch']})
    assert rbac_checks.escalation_paths(rules)[0]['grant'] == 'watch secrets'


def test_cluster_scoped_paths_need_a_cluster_wide_grant():
    rules = [{'apiGroups': [''], 'resources': ['nodes/proxy', 'namespaces'], 'verbs': ['get', 'patch']}]
    assert [p['id'] for p in rbac_checks.escalation_paths(rules)] == ['nodes-proxy', 'namespaces']
    assert [p['id'] for p in rbac_checks.escalation_paths(rules, 'namespaces', ['a'])] == ['namespaces']


# One row per entry of the catalogue: the narrowest rule that opens it, and a near miss that does not.
CERT = 'certificates.k8s.io'
ADM = 'admissionregistration.k8s.io'
CATALOGUE_ROWS = {
    'workloads': ({'apiGroups': ['batch'], 'resources': ['cronjobs'], 'verbs': ['create']},
                  {'apiGroups': ['batch'], 'resources': ['cronjobs'], 'verbs': ['delete']}),
    'exec': ({'apiGroups': [''], 'resources': ['pods/exec'], 'verbs': ['get']},
             {'apiGroups': [''], 'resources': ['pods/log'], 'verbs': ['get']}),
    'ephemeral-containers': ({'apiGroups': [''], 'resources': ['pods/ephemeralcontainers'], 'verbs': ['patch']},
                             {'apiGroups': [''], 'resources': ['pods/ephemeralcontainers'], 'verbs': ['get']}),
    'secrets': ({'apiGroups': [''], 'resources': ['secrets'], 'verbs': ['watch']},
                {'apiGroups': [''], 'resources': ['secrets'], 'verbs': ['delete']}),
    'tokens': ({'apiGroups': [''], 'resources': ['serviceaccounts/token'], 'verbs': ['create']},
               {'apiGroups': [''], 'resources': ['serviceaccounts'], 'verbs': ['create']}),
    'bindings': ({'apiGroups': ['rbac.authorization.k8s.io'], 'resources': ['clusterrolebindings'], 'verbs': ['patch']},
                 {'apiGroups': ['rbac.authorization.k8s.io'], 'resources': ['clusterrolebindings'], 'verbs': ['list']}),
    'escalate': ({'apiGroups': ['rbac.authorization.k8s.io'], 'resources': ['roles'], 'verbs': ['escalate']},
                 {'apiGroups': ['rbac.authorization.k8s.io'], 'resources': ['roles'], 'verbs': ['get']}),
    'bind': ({'apiGroups': ['rbac.authorization.k8s.io'], 'resources': ['clusterroles'], 'verbs': ['bind']},
             {'apiGroups': ['rbac.authorization.k8s.io'], 'resources': ['clusterroles'], 'verbs': ['list']}),
    'impersonate': ({'apiGroups': ['authentication.k8s.io'], 'resources': ['uids'], 'verbs': ['impersonate']},
                    {'apiGroups': [''], 'resources': ['users'], 'verbs': ['get']}),
    'nodes-proxy': ({'apiGroups': [''], 'resources': ['nodes/proxy'], 'verbs': ['get']},
                    {'apiGroups': [''], 'resources': ['nodes'], 'verbs': ['get']}),
    'persistent-volumes': ({'apiGroups': [''], 'resources': ['persistentvolumes'], 'verbs': ['create']},
                           {'apiGroups': [''], 'resources': ['persistentvolumeclaims'], 'verbs': ['create']}),
    'csr-create': ({'apiGroups': [CERT], 'resources': ['certificatesigningrequests'], 'verbs': ['create']},
                   {'apiGroups': [CERT], 'resources': ['certificatesigningrequests'], 'verbs': ['list']}),
    'csr-approve': ({'apiGroups': [CERT], 'resources': ['certificatesigningrequests/approval'], 'verbs': ['update']},
                    {'apiGroups': [CERT], 'resources': ['certificatesigningrequests/status'], 'verbs': ['get']}),
    'signers': ({'apiGroups': [CERT], 'resources': ['signers'], 'resourceNames': ['kubernetes.io/kube-apiserver-client'],
                 'verbs': ['approve']},
                {'apiGroups': [CERT], 'resources': ['signers'], 'verbs': ['get']}),
    'mutating-webhooks': ({'apiGroups': [ADM], 'resources': ['mutatingwebhookconfigurations'], 'verbs': ['create']},
                          {'apiGroups': [ADM], 'resources': ['mutatingwebhookconfigurations'], 'verbs': ['list']}),
    'validating-webhooks': ({'apiGroups': [ADM], 'resources': ['validatingwebhookconfigurations'], 'verbs': ['delete']},
                            {'apiGroups': [ADM], 'resources': ['validatingwebhookconfigurations'], 'verbs': ['watch']}),
    'namespaces': ({'apiGroups': [''], 'resources': ['namespaces'], 'verbs': ['update']},
                   {'apiGroups': [''], 'resources': ['namespaces'], 'verbs': ['create']}),
    'apiservices': ({'apiGroups': ['apiregistration.k8s.io'], 'resources': ['apiservices'], 'verbs': ['create']},
                    {'apiGroups': ['apiregistration.k8s.io'], 'resources': ['apiservices'], 'verbs': ['get']}),
    'endpoints': ({'apiGroups': ['discovery.k8s.io'], 'resources': ['endpointslices'], 'verbs': ['patch']},
                  {'apiGroups': [''], 'resources': ['endpointslices'], 'verbs': ['patch']}),
}


def test_every_catalogue_entry_has_a_row():
    assert sorted(CATALOGUE_ROWS) == sorted(entry['id'] for entry in rbac_checks.CATALOGUE)


@pytest.mark.parametrize('entry', list(CATALOGUE_ROWS))
def test_catalogue_entry_is_found_by_its_narrowest_rule_and_not_by_a_near_miss(entry):
    opens, misses = CATALOGUE_ROWS[entry]
    found = rbac_checks.escalation_paths([POD_READ, opens])
    assert [p['id'] for p in found] == [entry], found
    assert found[0]['means'] and '{' not in found[0]['means']
    assert rbac_checks.escalation_paths([POD_READ, misses]) == []
    named = rbac_checks.escalation_paths([dict(opens, resourceNames=['x1'])])
    assert [(p['id'], p['names']) for p in named] == [(entry, ['x1'])]
    assert named[0]['grant'].endswith('(resourceNames x1)')


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


def review(namespace, resource_rules=(), non_resource_rules=()):
    return {'namespace': namespace, 'resource_rules': list(resource_rules), 'non_resource_rules': list(non_resource_rules)}


def test_beyond_grant_names_what_the_server_says_beyond_the_rules_and_the_baseline():
    baseline = [{'verbs': ['create'], 'apiGroups': ['authorization.k8s.io'], 'resources': ['selfsubjectrulesreviews']},
                {'verbs': ['get'], 'apiGroups': [], 'resources': [], 'nonResourceURLs': []}]
    reviews_ = [review('mcp', [POD_READ, {'verbs': ['create', 'update'], 'apiGroups': [''], 'resources': ['configmaps']},
                               {'verbs': ['get'], 'apiGroups': [''], 'resources': ['secrets'], 'resourceNames': ['a']}]
                       + baseline[:1], [{'verbs': ['get'], 'nonResourceURLs': ['/healthz', '/metrics']}]),
                review('team', [{'verbs': ['create'], 'apiGroups': [''], 'resources': ['configmaps']}])]
    extras = rbac_checks.beyond_grant(reviews_, lambda namespace: [POD_READ])
    assert extras == [
        {'verbs': ['create', 'update'], 'group': '', 'resource': 'configmaps', 'names': [], 'path': '',
         'namespaces': ['mcp', 'team']},
        {'verbs': ['get'], 'group': '', 'resource': 'secrets', 'names': ['a'], 'path': '', 'namespaces': ['mcp']},
        {'verbs': ['get'], 'group': '', 'resource': '', 'names': [], 'path': '/metrics', 'namespaces': ['']}]
    # a grant of the named object, or of every object, covers a resourceNames rule; wildcards only by wildcards
    named = [{'apiGroups': [''], 'resources': ['secrets'], 'resourceNames': ['a', 'b'], 'verbs': ['get']}]
    assert rbac_checks.beyond_grant([review('x', reviews_[0]['resource_rules'][2:3])], lambda ns: named) == []
    star = [{'apiGroups': ['*'], 'resources': ['*'], 'verbs': ['*']}]
    assert rbac_checks.beyond_grant([review('x', star)], lambda ns: [POD_READ])[0]['verbs'] == ['*']
    assert rbac_checks.beyond_grant([review('x', star)], lambda ns: star) == []
    assert rbac_checks.beyond_grant([review('x', [], [{'verbs': ['get'], 'nonResourceURLs': ['/*']}])],
                                    lambda ns: [])[0]['path'] == '/*'


@pytest.mark.parametrize('granted, url, covered', [
    ('*', '/anything', True), ('/healthz', '/healthz', True), ('/healthz', '/healthz/etcd', False),
    ('/api/*', '/api/v1', True), ('/api/*', '/apis', False), ('/*', '/*', True), ('/api/*', '/*', False),
])
def test_urls_match_as_rbac_does(granted, url, covered):
    assert rbac_checks.url_matches(granted, url) is covered


@pytest.mark.parametrize('subject, matches', [
    ({'kind': 'ServiceAccount', 'name': 'app', 'namespace': 'ci'}, True),
    ({'kind': 'ServiceAccount', 'name': 'app', 'namespace': 'other'}, False),
    ({'kind': 'User', 'name': 'system:serviceaccount:ci:app'}, True),
    ({'kind': 'Group', 'name': 'system:serviceaccounts'}, True),
    ({'kind': 'Group', 'name': 'system:serviceaccounts:ci'}, True),
    ({'kind': 'Group', 'name': 'system:serviceaccounts:other'}, False),
    ({'kind': 'Group', 'name': 'system:authenticated'}, True),
    ({'kind': 'Group', 'name': 'system:masters'}, False),
])
def test_bindings_name_the_account_or_its_groups(subject, matches):
    assert rbac_checks.subject_matches([{'kind': 'User', 'name': 'bob'}, subject], 'app', 'ci') is matches


def test_sources_and_the_table_name_the_binding_that_gives_a_right():
    extra = {'verbs': ['create'], 'group': '', 'resource': 'configmaps', 'names': [], 'path': '', 'namespaces': ['']}
    bindings = [
        {'kind': 'ClusterRoleBinding', 'name': 'pub', 'namespace': '', 'role': 'ClusterRole pub',
         'rules': [{'apiGroups': [''], 'resources': ['configmaps'], 'verbs': ['create', 'update']}]},
        {'kind': 'RoleBinding', 'name': 'rb', 'namespace': 'team', 'role': 'ClusterRole edit',
         'rules': [{'apiGroups': ['*'], 'resources': ['*'], 'verbs': ['*']}]},
        {'kind': 'ClusterRoleBinding', 'name': 'basic', 'namespace': '', 'role': 'ClusterRole basic', 'rules': list(
            rbac_checks.BASELINE)}]
    extra['sources'] = rbac_checks.sources(extra, bindings)
    assert extra['sources'] == ['ClusterRoleBinding pub (ClusterRole pub)']
    assert rbac_checks.sources(dict(extra, namespaces=['team']), bindings) == [
        'ClusterRoleBinding pub (ClusterRole pub)', 'RoleBinding team/rb (ClusterRole edit)']
    result = rbac_checks.compare([], [], beyond=[extra])
    assert result['mismatches'] == ['beyond the grant it may create configmaps in every namespace, through '
                                    'ClusterRoleBinding pub (ClusterRole pub)']
    assert result['table'][-1].startswith('BEYOND  create configmaps in every namespace')
    assert result['summary'] == ("the account holds rights beyond its grant (remove the bindings, or the account's "
                                 "groups' bindings, that give them): it may create configmaps in every namespace, "
                                 "through ClusterRoleBinding pub (ClusterRole pub)")
    both = rbac_checks.compare(rbac_checks.expand_checks([POD_READ])[:1], [False], beyond=[extra])
    assert both['summary'].startswith('1 of 1 checks differ from the expected answer: get pods in (all): expected '
                                      'allowed, got denied; the account holds rights beyond its grant')
    assert rbac_checks.compare([], [])['summary'] == ''
    assert rbac_checks.describe_right(dict(extra, sources=[], namespaces=['a'])) == (
        'create configmaps in namespace a, through no binding found naming it or its groups')


def test_an_incomplete_rules_review_is_reported_and_warned():
    complete = {'namespace': 'a', 'resource_rules': [], 'non_resource_rules': [], 'incomplete': False,
                'evaluation_error': ''}
    partial = {'namespace': 'b', 'resource_rules': [{'apiGroups': [''], 'resources': ['secrets'], 'verbs': ['get']}],
               'non_resource_rules': [], 'incomplete': True,
               'evaluation_error': 'clusterroles.rbac.authorization.k8s.io "gone" not found'}
    found = rbac_checks.beyond_grant([complete, partial], lambda namespace: [])
    assert [item['resource'] for item in found] == ['secrets']
    assert found.incomplete == [{'namespace': 'b', 'evaluation_error': partial['evaluation_error']}]
    result = rbac_checks.compare([], [], beyond=found)
    assert result['incomplete'] == found.incomplete
    warning = rbac_checks.incomplete_warning(result['incomplete'])
    assert 'namespace b (clusterroles.rbac.authorization.k8s.io "gone" not found)' in warning
    assert 'rights beyond the grant may be missing from beyond_grant' in warning
    assert rbac_checks.beyond_grant([complete], lambda namespace: []).incomplete == []
    assert rbac_checks.compare([], [], beyond=[])['incomplete'] == []
    assert rbac_checks.incomplete_warning([]) is None
    assert rbac_checks.incomplete_warning([{'namespace': 'c', 'evaluation_error': ''}]).startswith(
        'The API server could not list every rule of the account in namespace c (its rules review')
