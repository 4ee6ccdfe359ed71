"""sa_access judges privilege by what the cluster grants, not by the rules it wrote (issue 21).

On the real control plane the ClusterRole aggregation controller runs, as in production: a
ClusterRole labelled ``aggregate-to-view`` widens ``view`` for everyone bound to it. These tests
show that the module refuses such labels (and that without the refusal ``view`` is widened),
removes the aggregationRule of a ClusterRole it takes over, refuses accounts of system
namespaces, and that its rights check reports (and fails on) what the account holds beyond its
grant, naming the binding; rules limited to resourceNames are verified by name.
"""
import time

import pytest

from ansible_collections.mcp.k8s.plugins.module_utils import connection, reviews

from harness import play

AGG_VIEW = 'rbac.authorization.k8s.io/aggregate-to-view'
AGG_EDIT = 'rbac.authorization.k8s.io/aggregate-to-edit'
SECRETS_GET = [{'apiGroups': [''], 'resources': ['secrets'], 'verbs': ['get']}]
PODS_LIST = [{'apiGroups': [''], 'resources': ['pods'], 'verbs': ['list']}]


def record(*names):
    return {'name': 'Record', 'ansible.builtin.copy': {
        'content': '{{ {%s} | to_json }}' % ', '.join("'%s': %s" % (n, n) for n in names),
        'dest': '{{ results_file }}', 'mode': '0600'}}


def access_task(register, ignore_errors=True, **options):
    return {'name': register, 'register': register, 'ignore_errors': ignore_errors, 'mcp.k8s.sa_access': options}


def may(cluster, user, verb, resource, namespace='team'):
    """What the API server answers ``user`` (a client certificate) asking itself."""
    asking = connection.get_cluster({'kubeconfig': cluster.write_kubeconfig(user=user)})
    return reviews.access_review(asking, verb, resource, namespace=namespace)['allowed']


def eventually(predicate, seconds=15.0):
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.3)
    return True


def test_labels_that_aggregate_into_view_are_refused_and_view_stays_as_it_was(cluster, run_playbook):
    store = cluster.objects
    store.create('namespaces', {'metadata': {'name': 'team'}})
    alice_view = {'metadata': {'name': 'alice-view', 'namespace': 'team'},
                  'subjects': [{'kind': 'User', 'name': 'alice', 'apiGroup': 'rbac.authorization.k8s.io'}],
                  'roleRef': {'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'ClusterRole', 'name': 'view'}}
    store.create('rolebindings', alice_view, 'team')
    assert eventually(lambda: may(cluster, 'alice', 'list', 'pods')) and not may(cluster, 'alice', 'get', 'secrets')
    labels = {'app': 'reader', AGG_VIEW: 'true'}
    run = run_playbook(play(access_task('refused', name='reader', labels=labels, rules=SECRETS_GET), record('refused'), record=None))
    assert run.rc == 0, str(run)
    refused = run.results['refused']
    assert refused['failed'] and refused['msg'] == (
        'The labels of the ClusterRole reader (rbac.authorization.k8s.io/aggregate-to-view) are selected by the '
        'aggregationRule of ClusterRole admin, ClusterRole edit and ClusterRole view, so its rules would be copied into '
        'them and granted to everyone bound to them; remove those labels, or set allow_aggregation to true if that is '
        'really meant.')
    assert store.find('clusterroles', 'reader') is None and store.find('serviceaccounts', 'reader', 'default') is None
    time.sleep(1)
    assert not may(cluster, 'alice', 'get', 'secrets')

    # what the refusal prevents: with the opt-in, the aggregation controller copies the rules into view
    run = run_playbook(play(access_task('allowed', ignore_errors=False, name='reader', labels=labels, rules=SECRETS_GET,
                                        allow_aggregation=True), record('allowed'), record=None))
    assert run.rc == 0 and run.results['allowed']['changed'], str(run)
    assert eventually(lambda: may(cluster, 'alice', 'get', 'secrets')), 'view was not widened by the aggregation controller'


def test_an_adopted_aggregated_cluster_role_loses_its_aggregation_rule(cluster, run_playbook):
    cluster.objects.create('clusterroles', {'metadata': {'name': 'app'}, 'aggregationRule': {
        'clusterRoleSelectors': [{'matchLabels': {AGG_EDIT: 'true'}}]}})
    # the aggregation controller fills it with everything edit aggregates (a moment on the real server)
    assert eventually(lambda: len(cluster.objects.find('clusterroles', 'app').get('rules') or []) > 3)
    task = access_task('adopted', ignore_errors=False, name='app', adopt=True, rules=PODS_LIST, verify_mint=True)
    first = run_playbook(play(task, record('adopted'), record=None))
    assert first.rc == 0, str(first)
    adopted = first.results['adopted']
    role = [c for c in adopted['changes'] if c['kind'] == 'ClusterRole'][0]
    assert role['action'] == 'updated' and 'its aggregationRule was removed' in role['reason']
    live = cluster.objects.find('clusterroles', 'app')
    assert 'aggregationRule' not in live and live['rules'] == PODS_LIST
    # the report is what the live role grants: list pods, nothing beyond, no escalation
    assert adopted['escalations'] == [] and adopted['beyond_grant'] == []
    assert adopted['verification']['mismatches'] == []
    time.sleep(1)   # the controller had its chance to refill it
    assert cluster.objects.find('clusterroles', 'app')['rules'] == PODS_LIST
    second = run_playbook(play(task, record('adopted'), record=None))
    assert second.rc == 0 and not second.results['adopted']['changed'], second.results


def test_accounts_of_system_namespaces_are_never_adopted(cluster, run_playbook):
    run = run_playbook(play(access_task('system', name='root-ca-cert-publisher', namespace='kube-system', adopt=True,
                                        rules=PODS_LIST), record('system'), record=None))
    assert run.rc == 0, str(run)
    assert run.results['system']['msg'] == (
        '"kube-system" is a system namespace: its ServiceAccounts belong to Kubernetes and its controllers and hold '
        'rights through built-in bindings, so mcp.k8s never creates, adopts or changes an account there; choose '
        'another namespace.')
    assert cluster.count(method='PATCH') == 0


def test_rights_beyond_the_grant_fail_the_check_and_name_their_binding(cluster, run_playbook):
    task = access_task('checked', name='app', rules=PODS_LIST, verify_mint=True)
    clean = run_playbook(play(task, record('checked'), record=None))
    assert clean.rc == 0, str(clean)
    # a fresh account holds nothing but its grant and what every account holds
    assert clean.results['checked']['beyond_grant'] == [], clean.results['checked']['verification']['table']
    assert not clean.results['checked'].get('failed')

    cluster.objects.create('clusterroles', {'metadata': {'name': 'cm-writer'},
                                            'rules': [{'apiGroups': [''], 'resources': ['configmaps'],
                                                       'verbs': ['create', 'update']}]})
    cluster.objects.create('clusterrolebindings', {
        'metadata': {'name': 'app-cm-writer'},
        'subjects': [{'kind': 'ServiceAccount', 'name': 'app', 'namespace': 'default'}],
        'roleRef': {'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'ClusterRole', 'name': 'cm-writer'}})
    extra = run_playbook(play(task, record('checked'), record=None))
    assert extra.rc == 0, str(extra)
    checked = extra.results['checked']
    assert checked['failed']
    assert checked['msg'].endswith('that give them): it may create, update configmaps in every namespace, through '
                                   'ClusterRoleBinding app-cm-writer (ClusterRole cm-writer); the verification table '
                                   'lists every check.'), checked['msg']
    assert [(b['resource'], b['verbs'], b['namespaces']) for b in checked['beyond_grant']] == [
        ('configmaps', ['create', 'update'], [''])]
    assert any(row.startswith('BEYOND  create, update configmaps') for row in checked['verification']['table'])
    assert cluster.count(method='POST', path_re=r'/selfsubjectrulesreviews$') >= 2


@pytest.mark.real_only("kube-apiserver's rules review reports a binding it cannot evaluate; the double's never does")
def test_a_rules_review_the_api_server_could_not_complete_is_reported_and_warned(cluster, run_playbook):
    cluster.objects.create('rolebindings', {
        'metadata': {'name': 'app-gone', 'namespace': 'default'},
        'subjects': [{'kind': 'ServiceAccount', 'name': 'app', 'namespace': 'default'}],
        'roleRef': {'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'ClusterRole', 'name': 'gone'}}, 'default')
    run = run_playbook(play(access_task('checked', name='app', rules=PODS_LIST, verify_mint=True), record('checked'),
                            record=None))
    assert run.rc == 0, str(run)
    checked = run.results['checked']
    assert not checked.get('failed'), checked.get('msg')
    assert checked['beyond_grant'] == []
    [incomplete] = checked['verification']['incomplete']
    assert incomplete['namespace'] == 'default' and '"gone" not found' in incomplete['evaluation_error'], incomplete
    assert any(warning.startswith('The API server could not list every rule of the account in namespace default (')
               for warning in checked['warnings']), checked['warnings']


def test_rules_limited_to_resource_names_are_verified_by_name_and_their_paths_reported(cluster, run_playbook):
    cluster.objects.create('namespaces', {'metadata': {'name': 'team'}})
    rules = [{'apiGroups': [''], 'resources': ['configmaps'], 'resourceNames': ['settings'], 'verbs': ['get']},
             {'apiGroups': [''], 'resources': ['serviceaccounts/token'], 'resourceNames': ['deployer'],
              'verbs': ['create']}]
    run = run_playbook(play(access_task('named', ignore_errors=False, name='app', rules=rules, scope='namespaces',
                                        namespaces=['team'], verify_mint=True), record('named'), record=None))
    assert run.rc == 0, str(run)
    named = run.results['named']
    asked = [(c['verb'], c['resource'], c.get('name'), c['namespace'], c['actual']) for c in named['verification']['checks']]
    assert asked == [('get', 'configmaps', 'settings', 'team', True), ('create', 'serviceaccounts', 'deployer', 'team', True),
                     ('get', 'configmaps', 'settings', '', False)]
    assert cluster.count(method='POST', path_re=r'/selfsubjectaccessreviews$') >= 3
    assert [(p['id'], p['names']) for p in named['escalations']] == [('tokens', ['deployer'])]
    assert named['escalations'][0]['grant'] == 'create serviceaccounts/token (resourceNames deployer)'
