import pytest

from ansible_collections.mcp.k8s.plugins.module_utils import access
from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError

RULES = [{'apiGroups': [''], 'resources': ['pods'], 'verbs': ['get', 'list']}]
OWNER = 'ci/app'


def spec(**params):
    base = {'name': 'app', 'namespace': 'ci', 'rules': RULES}
    base.update(params)
    return access.access_spec(base)


def live(kind, name='app', namespace='', owner=OWNER, labels=None, **fields):
    meta = {'name': name, 'uid': 'u-%s-%s' % (kind, namespace), 'labels': labels or {}}
    if namespace:
        meta['namespace'] = namespace
    if owner:
        meta['annotations'] = {access.OWNER_ANNOTATION: owner}
    obj = {'kind': kind, 'metadata': meta}
    obj.update(fields)
    return obj


def by_key(*objects):
    return dict((access.key_of(o), o) for o in objects)


def test_wanted_objects_per_scope():
    cluster = access.wanted_objects(spec())
    assert [access.shown(access.key_of(o)) for o in cluster] == [
        'ServiceAccount ci/app', 'ClusterRole app', 'ClusterRoleBinding app']
    assert cluster[0]['metadata'] == {'name': 'app', 'namespace': 'ci',
                                      'labels': {'app.kubernetes.io/managed-by': 'mcp.k8s'},
                                      'annotations': {'mcp.k8s/service-account': OWNER}}
    assert cluster[2]['subjects'] == [{'kind': 'ServiceAccount', 'name': 'app', 'namespace': 'ci'}]
    namespaced = access.wanted_objects(spec(scope='namespaces', namespaces=['a', 'b', 'a']))
    assert [access.shown(access.key_of(o)) for o in namespaced] == [
        'ServiceAccount ci/app', 'Role a/app', 'RoleBinding a/app', 'Role b/app', 'RoleBinding b/app']
    bound = access.wanted_objects(spec(rules=[], cluster_role='view', scope='namespaces', namespaces=['a']))
    assert [o['kind'] for o in bound] == ['ServiceAccount', 'RoleBinding']
    assert bound[1]['roleRef'] == {'apiGroup': access.RBAC_GROUP, 'kind': 'ClusterRole', 'name': 'view'}


def test_plan_prunes_owned_recreates_changed_refs_and_leaves_others():
    wanted = access.wanted_objects(spec(scope='namespaces', namespaces=['a']))
    existing = by_key(
        live('ServiceAccount', namespace='ci'),
        live('ClusterRole'), live('ClusterRoleBinding'),                       # ours, no longer wanted
        live('RoleBinding', namespace='a', roleRef={'kind': 'ClusterRole', 'name': 'view'}),   # ours, wrong ref
        live('Role', namespace='elsewhere', owner=None))                        # not ours, not wanted
    steps = access.plan(wanted, existing, OWNER)
    assert [access.key_of(o) for o in steps['apply']] == [access.key_of(o) for o in wanted]
    assert steps['recreate'] == [('RoleBinding', 'a', 'app')]
    assert [access.key_of(o) for o in steps['prune']] == [('ClusterRoleBinding', '', 'app'), ('ClusterRole', '', 'app')]
    assert steps['conflicts'] == steps['foreign'] == steps['builtin'] == steps['left_alone'] == []


def test_plan_refuses_what_is_not_ours_unless_adopted():
    wanted = access.wanted_objects(spec())
    existing = by_key(live('ClusterRole', owner=None), live('ClusterRoleBinding', owner=None,
                                                            roleRef={'kind': 'ClusterRole', 'name': 'other'}))
    steps = access.plan(wanted, existing, OWNER)
    assert steps['foreign'] == [('ClusterRole', '', 'app'), ('ClusterRoleBinding', '', 'app')]
    assert access.refusal(steps, spec()) == (
        'ClusterRole app and ClusterRoleBinding app already exist and were not made by mcp.k8s for the ServiceAccount '
        'ci/app (no mcp.k8s/service-account annotation), so nothing was changed; choose another name, remove them, '
        'or set adopt to true to take them over.')
    # named as the caller knows the option (the role: its variable)
    named = spec(adopt=False, option_names={'adopt': 'mcp_k8s_server_adopt'})
    assert access.refusal(steps, named).endswith('or set mcp_k8s_server_adopt to true to take them over.')
    adopted = access.plan(wanted, existing, OWNER, adopt=True)
    assert adopted['foreign'] == [] and adopted['recreate'] == [('ClusterRoleBinding', '', 'app')]
    assert len(adopted['apply']) == 3


def test_plan_never_takes_another_accounts_or_builtin_objects():
    wanted = access.wanted_objects(spec())
    existing = by_key(live('ClusterRole', owner='tools/app'),
                      live('ClusterRoleBinding', owner=None, labels={access.BOOTSTRAP_LABEL: 'rbac-defaults'}))
    steps = access.plan(wanted, existing, OWNER, adopt=True)
    assert steps['conflicts'] == [(('ClusterRole', '', 'app'), 'tools/app')]
    assert steps['builtin'] == [('ClusterRoleBinding', '', 'app')]
    message = access.refusal(steps, spec())
    assert 'ClusterRoleBinding app is built into Kubernetes and never changed' in message
    assert 'ClusterRole app belongs to the ServiceAccount tools/app. Remove that account first' in message


def test_plan_absent_deletes_only_ours_and_says_what_it_left():
    existing = by_key(live('ServiceAccount', namespace='ci', owner=None), live('ClusterRole'),
                      live('RoleBinding', namespace='x', owner='tools/app'), live('ClusterRoleBinding'))
    steps = access.plan([], existing, OWNER, absent=True)
    assert [access.key_of(o) for o in steps['prune']] == [('ClusterRoleBinding', '', 'app'), ('ClusterRole', '', 'app')]
    assert steps['left_alone'] == [
        (('RoleBinding', 'x', 'app'), 'it belongs to the ServiceAccount tools/app'),
        (('ServiceAccount', 'ci', 'app'), 'it was not made by mcp.k8s for ci/app (no mcp.k8s/service-account annotation)')]


@pytest.mark.parametrize('name', ['cluster-admin', 'admin', 'edit', 'view'])
def test_builtin_names_are_refused(name):
    with pytest.raises(K8sTokenError, match='"%s" is a built-in Kubernetes name' % name):
        spec(name=name)


@pytest.mark.parametrize('params, message', [
    ({'rules': [], 'cluster_role': None}, 'Give the account its rights'),
    ({'cluster_role': 'view'}, 'Give either rules or cluster_role, not both'),
    ({'scope': 'namespaces'}, 'scope namespaces needs namespaces'),
    ({'name': 'Bad_Name'}, 'is not a valid ServiceAccount name'),
    ({'namespaces': ['a b'], 'scope': 'namespaces'}, 'namespaces entry "a b" is not a valid namespace name'),
])
def test_bad_specs(params, message):
    with pytest.raises(K8sTokenError, match=message):
        spec(**params)


def test_ensure_present_converges_and_is_idempotent(kube, cluster):
    kube.objects.create('namespaces', {'metadata': {'name': 'team-a'}})
    wanted = spec(namespace='apps', create_namespace=True, labels={'app': 'x'})
    result = access.ensure_present(cluster, wanted)
    assert result['changed'] and result['names'] == ['ServiceAccount apps/app', 'ClusterRole app', 'ClusterRoleBinding app']
    assert [c['action'] for c in result['changes']] == ['created'] * 4
    assert kube.objects.find('namespaces', 'apps')['metadata']['annotations'][access.CREATED_ANNOTATION] == 'apps/app'
    patches = [r for r in kube.requests if r['method'] == 'PATCH']
    assert len(patches) == 4 and all('fieldManager=mcp.k8s' in r['query'] for r in patches)

    again = access.ensure_present(cluster, wanted)
    assert not again['changed'] and [c['action'] for c in again['changes']] == ['unchanged'] * 3

    namespaced = spec(namespace='apps', scope='namespaces', namespaces=['team-a'], labels={'app': 'x'})
    kube.clear_requests()
    check = access.ensure_present(cluster, namespaced, check_mode=True)
    assert check['changed'] and kube.objects.find('clusterroles', 'app') is not None
    assert not [r for r in kube.requests if r['method'] in ('DELETE', 'POST', 'PUT')
                or (r['method'] == 'PATCH' and 'dryRun=All' not in r['query'])]
    assert {'before_header', 'after', 'before'} <= set(check['diff'][0])

    moved = access.ensure_present(cluster, namespaced)
    assert moved['removed'] == [{'kind': 'ClusterRoleBinding', 'namespace': '', 'name': 'app'},
                                {'kind': 'ClusterRole', 'namespace': '', 'name': 'app'}]
    assert kube.objects.find('clusterroles', 'app') is None and kube.objects.find('roles', 'app', 'team-a') is not None


def test_ensure_present_refuses_foreign_objects_before_any_write(kube, cluster):
    kube.objects.create('clusterroles', {'metadata': {'name': 'ci-deployer'},
                                         'rules': [{'apiGroups': ['apps'], 'resources': ['deployments'], 'verbs': ['*']}]})
    wanted = spec(name='ci-deployer', namespace='mcp')
    kube.clear_requests()
    with pytest.raises(K8sTokenError, match='ClusterRole ci-deployer already exists and was not made by mcp.k8s'):
        access.ensure_present(cluster, wanted)
    assert kube.count(method='PATCH') == 0 and kube.count(method='DELETE') == 0
    assert kube.objects.find('clusterroles', 'ci-deployer')['rules'][0]['verbs'] == ['*']

    adopted = access.ensure_present(cluster, spec(name='ci-deployer', namespace='mcp', adopt=True))
    actions = dict(((c['kind'], c['name']), c['action']) for c in adopted['changes'])
    assert actions[('ClusterRole', 'ci-deployer')] == 'updated'
    role = kube.objects.find('clusterroles', 'ci-deployer')
    assert role['rules'] == RULES and role['metadata']['annotations'][access.OWNER_ANNOTATION] == 'mcp/ci-deployer'


def test_risky_rules_and_cluster_roles_need_the_opt_in(kube, cluster):
    star = [{'apiGroups': [''], 'resources': ['*'], 'verbs': ['get']}]
    with pytest.raises(K8sTokenError, match=r'Refusing to grant system:serviceaccount:mcp:app what the rules allow: '
                                            r'rules\[0\] grants every resource \("\*"\)'):
        access.ensure_present(cluster, spec(namespace='mcp', rules=star))
    with pytest.raises(K8sTokenError, match='what the ClusterRole cluster-admin allow'):
        access.ensure_present(cluster, spec(namespace='mcp', rules=[], cluster_role='cluster-admin'))
    with pytest.raises(K8sTokenError, match='ClusterRole "nope" does not exist'):
        access.ensure_present(cluster, spec(namespace='mcp', rules=[], cluster_role='nope'))
    assert kube.count(method='PATCH') == 0
    with pytest.raises(K8sTokenError, match=r'narrow the rules, or set mcp_k8s_server_allow_wildcards_and_escalation to '
                                            r'true if that is really meant\.$'):
        access.ensure_present(cluster, spec(namespace='mcp', rules=star, allow_wildcards_and_escalation=False, option_names={
            'allow_wildcards_and_escalation': 'mcp_k8s_server_allow_wildcards_and_escalation'}))
    result = access.ensure_present(cluster, spec(namespace='mcp', rules=star, allow_wildcards_and_escalation=True))
    assert result['changed'] and 'get secrets' in [path['grant'] for path in result['escalations']]


def test_cluster_wide_writes_warn(cluster):
    writes = [{'apiGroups': [''], 'resources': ['pods'], 'verbs': ['create']}]
    assert 'may write in every namespace (create pods)' in access.warnings_for(spec(rules=writes), writes)[0]
    assert access.warnings_for(spec(rules=writes, scope='namespaces', namespaces=['a']), writes) == []


def test_ensure_absent_removes_only_what_it_owns(kube, cluster):
    access.ensure_present(cluster, spec(namespace='mcp'))
    kube.objects.create('rolebindings', {'metadata': {'name': 'app', 'namespace': 'mcp'},
                                         'subjects': [], 'roleRef': {'apiGroup': access.RBAC_GROUP,
                                                                     'kind': 'ClusterRole', 'name': 'view'}}, 'mcp')
    result = access.ensure_absent(cluster, spec(namespace='mcp', state='absent', delete_namespace=True))
    assert result['removed'] == [{'kind': 'ClusterRoleBinding', 'namespace': '', 'name': 'app'},
                                 {'kind': 'ClusterRole', 'namespace': '', 'name': 'app'},
                                 {'kind': 'ServiceAccount', 'namespace': 'mcp', 'name': 'app'}]
    assert [(a['kind'], a['name']) for a in result['left_alone']] == [('RoleBinding', 'app'), ('Namespace', 'mcp')]
    assert kube.objects.find('rolebindings', 'app', 'mcp') is not None
    assert kube.objects.find('namespaces', 'mcp') is not None
    assert not access.ensure_absent(cluster, spec(namespace='mcp', state='absent'))['changed']


AGG = 'rbac.authorization.k8s.io/aggregate-to-%s'


def aggregating(name, selectors, labels=None):
    return {'kind': 'ClusterRole', 'metadata': {'name': name, 'labels': labels or {}},
            'aggregationRule': {'clusterRoleSelectors': selectors}}


BUILTIN_AGGREGATION = [
    aggregating('admin', [{'matchLabels': {AGG % 'admin': 'true'}}]),
    aggregating('edit', [{'matchLabels': {AGG % 'edit': 'true'}}], {AGG % 'admin': 'true'}),
    aggregating('view', [{'matchLabels': {AGG % 'view': 'true'}}], {AGG % 'edit': 'true'}),
    {'kind': 'ClusterRole', 'metadata': {'name': 'plain', 'labels': {AGG % 'view': 'true'}}, 'rules': RULES},
]


@pytest.mark.parametrize('selector, labels, matches', [
    ({}, {}, True),
    ({'matchLabels': {'a': '1'}}, {'a': '1', 'b': '2'}, True),
    ({'matchLabels': {'a': '1'}}, {'a': '2'}, False),
    ({'matchExpressions': [{'key': 'a', 'operator': 'In', 'values': ['1', '2']}]}, {'a': '2'}, True),
    ({'matchExpressions': [{'key': 'a', 'operator': 'In', 'values': ['1']}]}, {}, False),
    ({'matchExpressions': [{'key': 'a', 'operator': 'NotIn', 'values': ['1']}]}, {}, True),
    ({'matchExpressions': [{'key': 'a', 'operator': 'NotIn', 'values': ['1']}]}, {'a': '1'}, False),
    ({'matchExpressions': [{'key': 'a', 'operator': 'Exists'}]}, {'a': ''}, True),
    ({'matchExpressions': [{'key': 'a', 'operator': 'DoesNotExist'}]}, {'a': ''}, False),
    ({'matchExpressions': [{'key': 'a', 'operator': 'Unknown'}]}, {'a': ''}, False),
])
def test_label_selectors_match_as_kubernetes_does(selector, labels, matches):
    assert access.selector_matches(selector, labels) is matches


@pytest.mark.parametrize('labels, widened', [
    ({AGG % 'view': 'true'}, ['admin', 'edit', 'view']),     # view is aggregated into edit, edit into admin
    ({AGG % 'edit': 'true'}, ['admin', 'edit']),
    ({AGG % 'admin': 'true'}, ['admin']),
    ({'app': 'x', AGG % 'view': 'false'}, []),
])
def test_aggregation_follows_the_chain_of_aggregated_roles(labels, widened):
    assert access.aggregated_into(labels, BUILTIN_AGGREGATION, 'app') == widened


def test_labels_that_aggregate_are_refused_unless_allowed():
    wanted = spec(labels={'app': 'x', AGG % 'view': 'true'})
    assert access.aggregation_refusal(wanted, BUILTIN_AGGREGATION) == (
        'The labels of the ClusterRole app (rbac.authorization.k8s.io/aggregate-to-view) are selected by the '
        'aggregationRule of ClusterRole admin, ClusterRole edit and ClusterRole view, so its rules would be copied into '
        'them and granted to everyone bound to them; remove those labels, or set allow_aggregation to true if that is '
        'really meant.')
    assert access.aggregation_refusal(spec(labels={'app': 'x', AGG % 'view': 'true'}, allow_aggregation=True),
                                      BUILTIN_AGGREGATION) is None
    # a Role in a namespace, or a bound ClusterRole, is never aggregated
    assert access.aggregation_refusal(spec(labels={AGG % 'view': 'true'}, scope='namespaces', namespaces=['a']),
                                      BUILTIN_AGGREGATION) is None
    custom = [aggregating('team-reader', [{'matchExpressions': [{'key': 'team', 'operator': 'Exists'}]}])]
    assert 'aggregationRule of ClusterRole team-reader, so its rules would be copied into it' in \
        access.aggregation_refusal(spec(labels={'team': 'a'}), custom)


def test_plan_drops_the_aggregation_rule_of_an_adopted_cluster_role():
    wanted = access.wanted_objects(spec())
    existing = by_key(live('ClusterRole', owner=None, aggregationRule={'clusterRoleSelectors': [{}]}))
    assert access.plan(wanted, existing, OWNER, adopt=True)['drop_aggregation'] == [('ClusterRole', '', 'app')]
    assert access.plan(wanted, by_key(live('ClusterRole')), OWNER)['drop_aggregation'] == []


@pytest.mark.parametrize('namespace', access.SYSTEM_NAMESPACES)
def test_system_namespaces_are_refused(namespace):
    with pytest.raises(K8sTokenError, match='"%s" is a system namespace: its ServiceAccounts belong to Kubernetes'
                       % namespace):
        spec(namespace=namespace, adopt=True)
    assert spec(namespace=namespace, state='absent')['namespace'] == namespace
    assert spec(namespace=namespace, verify_only=True)['namespace'] == namespace


def test_aggregating_labels_are_refused_before_any_write(kube, cluster):
    kube.objects.create('namespaces', {'metadata': {'name': 'apps'}})
    wanted = spec(namespace='apps', labels={AGG % 'view': 'true'})
    kube.clear_requests()
    with pytest.raises(K8sTokenError, match=r'aggregationRule of ClusterRole admin, ClusterRole edit and ClusterRole '
                                            r'view, so its rules would be copied'):
        access.ensure_present(cluster, wanted)
    assert kube.count(method='PATCH') == 0 and kube.count(method='DELETE') == 0
    allowed = access.ensure_present(cluster, spec(namespace='apps', labels={AGG % 'view': 'true'},
                                                  allow_aggregation=True))
    assert allowed['changed']


def test_adopting_an_aggregated_cluster_role_removes_its_aggregation_rule(kube, cluster):
    kube.objects.create('namespaces', {'metadata': {'name': 'apps'}})
    kube.objects.create('clusterroles', {'metadata': {'name': 'app'},
                                         'aggregationRule': {'clusterRoleSelectors': [{'matchLabels': {AGG % 'edit': 'true'}}]}})
    wanted = spec(namespace='apps', adopt=True)
    checked = access.ensure_present(cluster, wanted, check_mode=True)
    assert kube.objects.find('clusterroles', 'app').get('aggregationRule')
    assert 'its aggregationRule was removed' in [c for c in checked['changes'] if c['kind'] == 'ClusterRole'][0]['reason']
    result = access.ensure_present(cluster, wanted)
    role = kube.objects.find('clusterroles', 'app')
    assert 'aggregationRule' not in role and role['rules'] == RULES
    assert result['escalations'] == [] and result['objects'][1]['rules'] == RULES
    assert not access.ensure_present(cluster, wanted)['changed']


def test_absent_leaves_an_account_in_a_system_namespace(kube, cluster):
    kube.objects.create('serviceaccounts', {'metadata': {'name': 'app', 'namespace': 'kube-system',
                                                         'annotations': {access.OWNER_ANNOTATION: 'kube-system/app'}}},
                        'kube-system')
    result = access.ensure_absent(cluster, spec(namespace='kube-system', state='absent'))
    assert result['removed'] == [] and result['left_alone'][0]['kind'] == 'ServiceAccount'
    assert 'system namespace kube-system' in result['left_alone'][0]['reason']
    assert kube.objects.find('serviceaccounts', 'app', 'kube-system') is not None


def test_binding_an_aggregated_cluster_role_warns(kube, cluster):
    result = access.ensure_present(cluster, spec(namespace='mcp', rules=[], cluster_role='view'))
    assert any('ClusterRole view has an aggregationRule' in warning for warning in result['warnings'])


def test_rights_beyond_the_grant_are_asked_of_the_api_server_and_traced_to_their_binding(kube, cluster):
    from ansible_collections.mcp.k8s.plugins.module_utils import rbac_checks
    wanted = spec(namespace='mcp')
    result = access.ensure_present(cluster, wanted)
    asking = cluster.with_token(kube.mint_token('app', 'mcp'))
    checks = rbac_checks.expand_checks(result['rules'])
    kube.clear_requests()
    clean = rbac_checks.verify(asking, checks, retries=0, beyond=access.rights_check(cluster, wanted, result['rules']))
    assert clean['mismatches'] == [] and clean['beyond_grant'] == []
    assert kube.count(method='POST', path_re=r'selfsubjectrulesreviews$') == 1
    # the RoleBindings tell the namespaces to review; the ClusterRoleBindings are read only to name the
    # source of a right beyond the grant (none here)
    assert kube.count(method='GET', path_re=r'/v1/rolebindings$') == 1
    assert kube.count(method='GET', path_re=r'clusterrolebindings$') == 0

    binding = kube.grant('system:serviceaccount:mcp:app', ['create'], ['configmaps'])
    named = kube.grant('group:system:serviceaccounts:mcp', ['get'], ['secrets'], namespace='team', resource_names=['db'])
    found = rbac_checks.verify(asking, checks, retries=0, beyond=access.rights_check(cluster, wanted, result['rules']))
    assert found['mismatches'] == [
        'beyond the grant it may create configmaps in every namespace, through ClusterRoleBinding %s (ClusterRole %s)'
        % (binding, binding),
        'beyond the grant it may get secrets (resourceNames db) in namespace team, through RoleBinding team/%s (Role %s)'
        % (named, named)]
    # scope namespaces: what the grant gives in its namespaces is no extra there, but is elsewhere
    kube.objects.create('namespaces', {'metadata': {'name': 'team-a'}})
    narrow = spec(namespace='mcp', scope='namespaces', namespaces=['team-a'],
                  rules=[{'apiGroups': [''], 'resources': ['configmaps'], 'verbs': ['create']}])
    access.ensure_present(cluster, narrow)
    extras = access.rights_check(cluster, narrow, narrow['rules'])(asking)
    assert [(e['resource'], e['namespaces']) for e in extras] == [('configmaps', ['']), ('secrets', ['team'])]


def test_rights_beyond_without_the_right_to_list_bindings_are_still_found(kube, cluster):
    from ansible_collections.mcp.k8s.plugins.module_utils import connection
    wanted = spec(namespace='mcp')
    result = access.ensure_present(cluster, wanted)
    kube.grant('system:serviceaccount:mcp:app', ['delete'], ['pods'], namespace='mcp')
    as_account = connection.get_cluster({'kubeconfig': kube.kubeconfig_path}).with_token(kube.mint_token('app', 'mcp'))
    extras = access.rights_check(as_account, wanted, result['rules'])(as_account)
    assert [(e['verbs'], e['resource'], e['namespaces'], e.get('sources')) for e in extras] == [
        (['delete'], 'pods', ['mcp'], None)]
    assert rbac_checks_describe(extras[0]) == 'delete pods in namespace mcp'


def rbac_checks_describe(extra):
    from ansible_collections.mcp.k8s.plugins.module_utils import rbac_checks
    return rbac_checks.describe_right(extra)


def namespace(owner=OWNER, deleting=False):
    meta = {'name': 'ci', 'annotations': {access.CREATED_ANNOTATION: owner} if owner else {}}
    if deleting:
        meta['deletionTimestamp'] = '2026-01-01T00:00:00Z'
    return {'kind': 'Namespace', 'metadata': meta}


MADE = [('ServiceAccount', 'ci', 'app'), ('RoleBinding', 'ci', 'app')]
DEFAULTS = [('ServiceAccount', 'default'), ('ConfigMap', 'kube-root-ca.crt')]


@pytest.mark.parametrize('live, held, expected', [
    (namespace(), DEFAULTS + [('ServiceAccount', 'app'), ('RoleBinding', 'app')], (True, None)),
    (namespace(), [], (True, None)),
    (namespace(), DEFAULTS + [('ConfigMap', 'precious')],
     (False, 'it holds ConfigMap precious, which this run did not make')),
    (namespace(), DEFAULTS + [('ServiceAccount', 'h2'), ('ServiceAccount', 'short'), ('ConfigMap', 'precious'),
                              ('Secret', 's'), ('Role', 'app')],
     (False, 'it holds ConfigMap precious, Role app, Secret s (and 2 more), which this run did not make')),
    (namespace(), None, (False, 'not every kind of object in it could be listed, so it may hold objects this run '
                                'did not make')),
    (namespace(owner='ci/other'), DEFAULTS,
     (False, 'it was not created for ci/app (no mcp.k8s/created-by annotation naming it)')),
    (namespace(owner=None), DEFAULTS,
     (False, 'it was not created for ci/app (no mcp.k8s/created-by annotation naming it)')),
    (namespace(deleting=True), DEFAULTS, (False, None)),
    (None, None, (False, None)),
])
def test_namespace_verdict(live, held, expected):
    assert access.namespace_verdict(OWNER, live, held, MADE) == expected


def test_ensure_absent_keeps_a_shared_namespace_and_names_what_it_holds(kube, cluster):
    access.ensure_present(cluster, spec(namespace='hx', name='h1', create_namespace=True))
    access.ensure_present(cluster, spec(namespace='hx', name='h2'))
    kube.objects.create('configmaps', {'metadata': {'name': 'precious', 'namespace': 'hx'}, 'data': {}}, 'hx')
    for check_mode in (True, False):
        result = access.ensure_absent(cluster, spec(namespace='hx', name='h1', state='absent', delete_namespace=True),
                                      check_mode=check_mode)
        assert [(a['kind'], a['name'], a['reason']) for a in result['left_alone']] == [
            ('Namespace', 'hx', 'it holds ConfigMap precious, ServiceAccount h2, which this run did not make')]
        assert ('Namespace', 'hx') not in [(r['kind'], r['name']) for r in result['removed']]
    assert kube.objects.find('namespaces', 'hx') is not None
    assert kube.objects.find('serviceaccounts', 'h2', 'hx') is not None
    assert kube.objects.find('serviceaccounts', 'h1', 'hx') is None
    # once h2 and precious are gone, h1's namespace holds only what Kubernetes puts there: deleted
    access.ensure_absent(cluster, spec(namespace='hx', name='h2', state='absent'))
    kube.objects.delete('configmaps', 'precious', 'hx')
    result = access.ensure_absent(cluster, spec(namespace='hx', name='h1', state='absent', delete_namespace=True))
    assert result['removed'] == [{'kind': 'Namespace', 'namespace': '', 'name': 'hx'}]
    assert result['left_alone'] == []
    # gone: nothing is said about it
    result = access.ensure_absent(cluster, spec(namespace='hx', name='h1', state='absent', delete_namespace=True))
    assert result['left_alone'] == [] and result['removed'] == []
