"""Stored resources: CRUD, selectors, patches, conflicts, Status bodies, defaults, discovery."""
import pytest
from kubernetes import client, dynamic
from kubernetes.client.rest import ApiException

from kd_helpers import Raw, api_client

import json


@pytest.fixture
def core(kube_double):
    return client.CoreV1Api(api_client(kube_double.kubeconfig_path))


def test_default_namespaces_and_service_accounts(kube_double, core):
    names = [n.metadata.name for n in core.list_namespace().items]
    assert {'default', 'kube-system', 'kube-public'} <= set(names)
    for name in ('default', 'kube-system', 'kube-public'):
        assert core.read_namespaced_service_account('default', name).metadata.uid
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name='fresh')))
    account = core.read_namespaced_service_account('default', 'fresh')
    assert account.metadata.namespace == 'fresh'
    ns = core.read_namespace('fresh')
    assert ns.status.phase == 'Active'
    assert ns.metadata.labels == {'kubernetes.io/metadata.name': 'fresh'}


def test_create_get_list_delete_with_metadata(kube_double, core):
    made = core.create_namespaced_config_map('default', client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name='c1', labels={'app': 'a', 'tier': 'x'}), data={'k': 'v'}))
    assert made.metadata.uid and made.metadata.resource_version and made.metadata.creation_timestamp
    core.create_namespaced_config_map('default', client.V1ConfigMap(metadata=client.V1ObjectMeta(name='c2', labels={'app': 'b'})))
    core.create_namespaced_config_map('default', client.V1ConfigMap(metadata=client.V1ObjectMeta(generate_name='gen-')))
    listed = core.list_namespaced_config_map('default')
    assert len(listed.items) == 3 and listed.metadata.resource_version
    assert [c.metadata.name for c in core.list_namespaced_config_map('default', label_selector='app=a').items] == ['c1']
    assert [c.metadata.name for c in core.list_namespaced_config_map('default', label_selector='app in (a,b),tier!=y').items] == ['c1', 'c2']
    assert [c.metadata.name for c in core.list_namespaced_config_map('default', label_selector='!tier,app').items] == ['c2']
    assert [c.metadata.name for c in core.list_namespaced_config_map('default', field_selector='metadata.name=c2').items] == ['c2']
    assert len(core.list_config_map_for_all_namespaces(label_selector='app').items) == 2
    with pytest.raises(ApiException) as info:
        core.list_namespaced_config_map('default', field_selector='data.k=v')
    assert info.value.status == 400 and '\\"data.k\\" is not a known field selector' in info.value.body
    core.delete_namespaced_config_map('c1', 'default')
    status, _h, body = Raw(kube_double).request('DELETE', '/api/v1/namespaces/default/configmaps/c2')
    assert (status, body['kind'], body['status'], body['details']['kind'], body['details']['name']) == (
        200, 'Status', 'Success', 'configmaps', 'c2')
    with pytest.raises(ApiException) as info:
        core.read_namespaced_config_map('c1', 'default')
    assert info.value.status == 404


def test_list_items_have_no_kind_and_paging(kube_double):
    raw = Raw(kube_double)
    for index in range(5):
        kube_double.objects.create('configmaps', {'metadata': {'name': 'c%d' % index}}, 'default')
    _status, _h, body = raw.get('/api/v1/namespaces/default/configmaps?limit=2')
    assert body['kind'] == 'ConfigMapList' and body['apiVersion'] == 'v1'
    assert 'kind' not in body['items'][0] and len(body['items']) == 2 and body['metadata']['continue']
    assert body['metadata']['remainingItemCount'] == 3
    names = [i['metadata']['name'] for i in body['items']]
    while body['metadata'].get('continue'):
        _status, _h, body = raw.get('/api/v1/namespaces/default/configmaps?limit=2&continue=%s' % body['metadata']['continue'])
        names += [i['metadata']['name'] for i in body['items']]
    assert names == ['c0', 'c1', 'c2', 'c3', 'c4']


def test_field_selectors_for_secrets_and_pods(kube_double, core):
    core.create_namespaced_secret('default', client.V1Secret(metadata=client.V1ObjectMeta(name='s1'), type='kubernetes.io/tls',
                                                             string_data={'tls.crt': 'a', 'tls.key': 'b'}))
    core.create_namespaced_secret('default', client.V1Secret(metadata=client.V1ObjectMeta(name='s2'), data={'x': 'eA=='}))
    assert [s.metadata.name for s in core.list_namespaced_secret('default', field_selector='type=kubernetes.io/tls').items] == ['s1']
    assert [s.metadata.name for s in core.list_namespaced_secret('default', field_selector='type!=kubernetes.io/tls').items] == ['s2']
    assert core.read_namespaced_secret('s1', 'default').data == {'tls.crt': 'YQ==', 'tls.key': 'Yg=='}
    assert core.read_namespaced_secret('s2', 'default').type == 'Opaque'
    pod = client.V1Pod(metadata=client.V1ObjectMeta(name='p'), spec=client.V1PodSpec(
        containers=[client.V1Container(name='c', image='busybox')], node_name='n1'))
    core.create_namespaced_pod('default', pod)
    assert len(core.list_namespaced_pod('default', field_selector='spec.nodeName=n1').items) == 1
    assert core.read_namespaced_pod('p', 'default').spec.service_account_name == 'default'


def test_not_found_already_exists_and_invalid_bodies(kube_double):
    raw = Raw(kube_double)
    status, _h, body = raw.get('/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles/nope')
    assert (status, body) == (404, {'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Failure',
                                    'message': 'roles.rbac.authorization.k8s.io "nope" not found', 'reason': 'NotFound',
                                    'details': {'name': 'nope', 'group': 'rbac.authorization.k8s.io', 'kind': 'roles'}, 'code': 404})
    raw.post('/api/v1/namespaces/default/serviceaccounts', {'metadata': {'name': 'dup'}})
    status, _h, body = raw.post('/api/v1/namespaces/default/serviceaccounts', {'metadata': {'name': 'dup'}})
    assert status == 409 and body['reason'] == 'AlreadyExists'
    assert body['message'] == 'serviceaccounts "dup" already exists'
    assert body['details'] == {'name': 'dup', 'kind': 'serviceaccounts'}
    status, _h, body = raw.post('/api/v1/namespaces/default/serviceaccounts', {'metadata': {'name': 'Bad_Name'}})
    assert status == 422 and body['reason'] == 'Invalid'
    assert body['message'].startswith('ServiceAccount "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain')
    assert body['details']['kind'] == 'ServiceAccount' and body['details']['causes'][0]['field'] == 'metadata.name'
    status, _h, body = raw.post('/api/v1/namespaces/missing/serviceaccounts', {'metadata': {'name': 'x'}})
    assert status == 404 and body['message'] == 'namespaces "missing" not found'
    status, _h, body = raw.post('/apis/rbac.authorization.k8s.io/v1/clusterroles', {'metadata': {'name': 'r'}, 'rules': [{'resources': ['pods']}]})
    assert status == 422 and 'rules[0].verbs: Required value' in body['message']
    status, _h, body = raw.get('/api/v1/widgets')
    assert status == 404 and body['message'] == 'the server could not find the requested resource'


def test_put_conflicts_and_noop_keeps_resource_version(kube_double, core):
    made = core.create_namespaced_config_map('default', client.V1ConfigMap(metadata=client.V1ObjectMeta(name='c'), data={'a': '1'}))
    same = core.replace_namespaced_config_map('c', 'default', made)
    assert same.metadata.resource_version == made.metadata.resource_version
    made.data = {'a': '2'}
    changed = core.replace_namespaced_config_map('c', 'default', made)
    assert int(changed.metadata.resource_version) > int(made.metadata.resource_version)
    made.data = {'a': '3'}   # still the old resourceVersion
    with pytest.raises(ApiException) as info:
        core.replace_namespaced_config_map('c', 'default', made)
    body = json.loads(info.value.body)
    assert info.value.status == 409 and body['reason'] == 'Conflict'
    assert body['message'] == ('Operation cannot be fulfilled on configmaps "c": the object has been modified; please apply '
                               'your changes to the latest version and try again')
    made.metadata.resource_version = None   # unconditional update
    assert core.replace_namespaced_config_map('c', 'default', made).data == {'a': '3'}


def test_patch_types(kube_double):
    raw = Raw(kube_double)
    path = '/apis/apps/v1/namespaces/default/deployments'
    deployment = {'apiVersion': 'apps/v1', 'kind': 'Deployment', 'metadata': {'name': 'd', 'labels': {'a': '1'}}, 'spec': {
        'selector': {'matchLabels': {'app': 'd'}}, 'template': {'metadata': {'labels': {'app': 'd'}}, 'spec': {'containers': [
            {'name': 'main', 'image': 'nginx:1', 'env': [{'name': 'A', 'value': '1'}]}, {'name': 'side', 'image': 'busybox:1'}]}}}}
    status, _h, made = raw.post(path, deployment)
    assert status == 201 and made['spec']['replicas'] == 1 and made['metadata']['generation'] == 1
    rv = made['metadata']['resourceVersion']
    # strategic merge: containers merge by name, env by name
    status, _h, body = raw.request('PATCH', path + '/d', {'spec': {'template': {'spec': {'containers': [
        {'name': 'main', 'env': [{'name': 'B', 'value': '2'}]}]}}}}, content_type='application/strategic-merge-patch+json')
    containers = body['spec']['template']['spec']['containers']
    assert [c['name'] for c in containers] == ['main', 'side']
    assert containers[0]['image'] == 'nginx:1' and [e['name'] for e in containers[0]['env']] == ['A', 'B']
    assert body['metadata']['generation'] == 2
    # merge patch replaces lists, null deletes
    status, _h, body = raw.request('PATCH', path + '/d', {'metadata': {'labels': {'a': None, 'b': '2'}}},
                                   content_type='application/merge-patch+json')
    assert body['metadata']['labels'] == {'b': '2'}
    # json patch
    status, _h, body = raw.request('PATCH', path + '/d', [{'op': 'replace', 'path': '/spec/replicas', 'value': 3},
                                                          {'op': 'add', 'path': '/metadata/annotations', 'value': {'x': 'y'}}],
                                   content_type='application/json-patch+json')
    assert body['spec']['replicas'] == 3 and body['metadata']['annotations'] == {'x': 'y'}
    status, _h, body = raw.request('PATCH', path + '/d', [{'op': 'test', 'path': '/spec/replicas', 'value': 9}],
                                   content_type='application/json-patch+json')
    assert status == 422
    # a patch that changes nothing keeps the resourceVersion
    status, _h, before = raw.get(path + '/d')
    status, _h, body = raw.request('PATCH', path + '/d', {'metadata': {'labels': {'b': '2'}}},
                                   content_type='application/strategic-merge-patch+json')
    assert body['metadata']['resourceVersion'] == before['metadata']['resourceVersion'] != rv
    # a stale resourceVersion inside a patch conflicts
    status, _h, body = raw.request('PATCH', path + '/d', {'metadata': {'resourceVersion': rv, 'labels': {'c': '3'}}},
                                   content_type='application/merge-patch+json')
    assert status == 409
    status, _h, body = raw.request('PATCH', path + '/nope', {}, content_type='application/merge-patch+json')
    assert status == 404 and body['message'] == 'deployments.apps "nope" not found'


def test_server_side_apply(kube_double):
    raw = Raw(kube_double)
    path = '/api/v1/namespaces/default/configmaps/ssa?fieldManager=me&force=true'
    manifest = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  a: "1"\n  b: "2"\n'
    status, _h, body = raw.request('PATCH', path, manifest, content_type='application/apply-patch+yaml')
    assert status == 201 and body['data'] == {'a': '1', 'b': '2'}
    rv = body['metadata']['resourceVersion']
    status, _h, body = raw.request('PATCH', path, manifest, content_type='application/apply-patch+yaml')
    assert status == 200 and body['metadata']['resourceVersion'] == rv
    status, _h, body = raw.request('PATCH', path, manifest.replace('  b: "2"\n', ''), content_type='application/apply-patch+yaml')
    assert body['data'] == {'a': '1'}
    status, _h, body = raw.request('PATCH', '/api/v1/namespaces/default/configmaps/ssa', manifest,
                                   content_type='application/apply-patch+yaml')
    assert status == 422 and body['message'] == ('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                                                 'is required for apply patch')


def test_role_ref_is_immutable(kube_double):
    rbac = client.RbacAuthorizationV1Api(api_client(kube_double.kubeconfig_path))
    subject_cls = getattr(client, 'RbacV1Subject', None) or getattr(client, 'V1Subject')
    binding = client.V1RoleBinding(metadata=client.V1ObjectMeta(name='b'), role_ref=client.V1RoleRef(
        api_group='rbac.authorization.k8s.io', kind='ClusterRole', name='view'),
        subjects=[subject_cls(kind='User', name='u', api_group='rbac.authorization.k8s.io')])
    made = rbac.create_namespaced_role_binding('default', binding)
    made.role_ref.name = 'edit'
    with pytest.raises(ApiException) as info:
        rbac.replace_namespaced_role_binding('b', 'default', made)
    body = json.loads(info.value.body)
    assert info.value.status == 422
    assert body['message'] == ('RoleBinding.rbac.authorization.k8s.io "b" is invalid: roleRef: Invalid value: '
                               '{"APIGroup":"rbac.authorization.k8s.io","Kind":"ClusterRole","Name":"edit"}: field is immutable')
    assert body['details']['causes'][0]['field'] == 'roleRef'
    made.role_ref.name = 'view'
    made.subjects[0].name = 'v'
    assert rbac.replace_namespaced_role_binding('b', 'default', made).subjects[0].name == 'v'


def test_namespace_delete_terminates_then_removes_content(kube_double_factory):
    kube = kube_double_factory(namespace_deletion_delay=0.2)
    core = client.CoreV1Api(api_client(kube.kubeconfig_path))
    kube.create_service_account('app', 'gone')
    deleted = core.delete_namespace('gone')
    assert deleted is not None
    assert core.read_namespace('gone').status.phase == 'Terminating'
    with pytest.raises(ApiException) as info:
        core.create_namespaced_config_map('gone', client.V1ConfigMap(metadata=client.V1ObjectMeta(name='c')))
    assert info.value.status == 403 and 'because it is being terminated' in info.value.body
    import time
    deadline = time.time() + 5
    while kube.objects.find('namespaces', 'gone') is not None and time.time() < deadline:
        time.sleep(0.05)
    assert kube.objects.find('namespaces', 'gone') is None
    assert kube.objects.find('serviceaccounts', 'app', 'gone') is None


def test_discovery_and_dynamic_client(kube_double):
    raw = Raw(kube_double)
    _status, _h, body = raw.get('/api/v1')
    token = [r for r in body['resources'] if r['name'] == 'serviceaccounts/token'][0]
    assert token == {'name': 'serviceaccounts/token', 'singularName': '', 'namespaced': True, 'group': 'authentication.k8s.io',
                     'version': 'v1', 'kind': 'TokenRequest', 'verbs': ['create']}
    _status, _h, body = raw.get('/apis')
    assert {'apps', 'rbac.authorization.k8s.io', 'authentication.k8s.io', 'authorization.k8s.io'} <= {g['name'] for g in body['groups']}
    assert raw.get('/apis/rbac.authorization.k8s.io/v1')[2]['groupVersion'] == 'rbac.authorization.k8s.io/v1'
    assert raw.get('/api')[2]['versions'] == ['v1']
    # kubectl asks for aggregated discovery and gets the legacy form back
    _status, headers, body = raw.get('/apis', headers={'Accept': 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json'})
    assert headers['Content-Type'] == 'application/json' and body['kind'] == 'APIGroupList'
    dyn = dynamic.DynamicClient(api_client(kube_double.kubeconfig_path))
    roles = dyn.resources.get(api_version='rbac.authorization.k8s.io/v1', kind='Role')
    roles.create(body={'metadata': {'name': 'r'}, 'rules': []}, namespace='default')
    assert roles.get(name='r', namespace='default').metadata.name == 'r'
    accounts = dyn.resources.get(api_version='v1', kind='ServiceAccount')
    assert accounts.subresources['token'].kind == 'TokenRequest' if hasattr(accounts, 'subresources') else True
    version = client.VersionApi(api_client(kube_double.kubeconfig_path)).get_code()
    assert version.git_version == 'v1.33.0' and version.major == '1' and version.minor == '33'


def test_status_is_kept_on_main_resource_updates(kube_double, core):
    pod = client.V1Pod(metadata=client.V1ObjectMeta(name='p'), spec=client.V1PodSpec(containers=[client.V1Container(name='c', image='x')]))
    made = core.create_namespaced_pod('default', pod)
    made.status.phase = 'Succeeded'
    made.metadata.labels = {'x': 'y'}
    replaced = core.replace_namespaced_pod('p', 'default', made)
    assert replaced.status.phase == made.status.phase or replaced.status.phase == 'Pending'
    assert replaced.status.phase == 'Pending' and replaced.metadata.labels == {'x': 'y'}


def test_watch_with_python_client(kube_double, core):
    import threading
    from kubernetes import watch
    core.create_namespaced_config_map('default', client.V1ConfigMap(metadata=client.V1ObjectMeta(name='w1')))

    def later():
        core.create_namespaced_config_map('default', client.V1ConfigMap(metadata=client.V1ObjectMeta(name='w2')))
        core.delete_namespaced_config_map('w1', 'default')
    timer = threading.Timer(0.3, later)
    timer.start()
    seen = []
    for event in watch.Watch().stream(core.list_namespaced_config_map, 'default', timeout_seconds=5):
        seen.append((event['type'], event['object'].metadata.name))
        if len(seen) == 3:
            break
    timer.join()
    assert seen == [('ADDED', 'w1'), ('ADDED', 'w2'), ('DELETED', 'w1')]
    listed = core.list_namespaced_config_map('default')
    stream = watch.Watch().stream(core.list_namespaced_config_map, 'default', timeout_seconds=1,
                                  resource_version=listed.metadata.resource_version)
    seen = [e['type'] for e in stream]
    assert seen == []


def test_field_validation(kube_double, tmp_path):
    raw = Raw(kube_double)
    path = '/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles'
    role = {'metadata': {'name': 'r', 'labels': {'a': 'b'}}, 'rules': [{'apiGroups': [''], 'resources': ['pods'], 'verb': ['get'],
                                                                        'verbs': ['get']}], 'extra': 1}
    status, _h, body = raw.post(path + '?fieldValidation=Strict', role)
    assert status == 400
    assert body['message'] == ('Role in version "v1" cannot be handled as a Role: strict decoding error: unknown field "extra", '
                               'unknown field "rules[0].verb"')
    status, headers, body = raw.post(path, role)
    assert status == 201 and headers.get_all('Warning') == ['299 - "unknown field \\"extra\\""', '299 - "unknown field \\"rules[0].verb\\""']
    status, _h, body = raw.request('PATCH', path + '/r?fieldValidation=Strict', {'spec': {}}, content_type='application/merge-patch+json')
    assert status == 400 and body['message'] == 'strict decoding error: unknown field "spec"'
    status, _h, body = raw.request('PATCH', path + '/r?fieldValidation=Strict&fieldManager=m', 'spec: {}\n',
                                   content_type='application/apply-patch+yaml')
    assert status == 400
    assert body['message'] == ('failed to create typed patch object (default/r; rbac.authorization.k8s.io/v1, Kind=Role): '
                               '.spec: field not declared in schema')


def test_namespace_status_subresource(kube_double):
    raw = Raw(kube_double)
    status, _h, body = raw.get('/api/v1/namespaces/default/status')
    assert status == 200 and body['kind'] == 'Namespace' and body['status']['phase'] == 'Active'
    status, _h, body = Raw(kube_double, user='nobody').get('/api/v1/namespaces/default/status')
    assert body['message'] == ('namespaces "default" is forbidden: User "nobody" cannot get resource "namespaces/status" in API '
                               'group "" in the namespace "default"')


def test_put_creates_rbac_objects_but_not_others(kube_double):
    raw = Raw(kube_double)
    status, _h, body = raw.request('PUT', '/apis/rbac.authorization.k8s.io/v1/clusterroles/made-by-put',
                                   {'metadata': {'name': 'made-by-put'}, 'rules': []})
    assert status == 201 and body['metadata']['uid']
    status, _h, body = raw.request('PUT', '/api/v1/namespaces/default/configmaps/nope', {'metadata': {'name': 'nope'}})
    assert status == 404 and body['message'] == 'configmaps "nope" not found'


def test_secret_validation(kube_double):
    raw = Raw(kube_double)
    path = '/api/v1/namespaces/default/secrets'
    status, _h, body = raw.post(path, {'metadata': {'name': 't'}, 'type': 'kubernetes.io/service-account-token'})
    assert status == 422
    assert body['message'] == ('Secret "t" is invalid: metadata.annotations[kubernetes.io/service-account.name]: Required value')
    raw.post(path, {'metadata': {'name': 'frozen'}, 'data': {'a': 'YQ=='}, 'immutable': True})
    status, _h, body = raw.request('PATCH', path + '/frozen', {'data': {'a': 'Yg=='}}, content_type='application/merge-patch+json')
    assert status == 422 and body['message'] == 'Secret "frozen" is invalid: data: Forbidden: field is immutable when `immutable` is set'
    status, _h, body = raw.request('PATCH', path + '/frozen', {'type': 'other'}, content_type='application/merge-patch+json')
    assert status == 422 and 'type: Invalid value: "other": field is immutable' in body['message']


def test_server_side_apply_conflicts(kube_double):
    raw = Raw(kube_double)
    base = '/api/v1/namespaces/default/configmaps'
    raw.post(base + '?fieldManager=creator', {'metadata': {'name': 'owned'}, 'data': {'a': '1', 'b': '2'}})
    manifest = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: owned\ndata:\n  a: "1"\n  c: "3"\n'
    status, _h, body = raw.request('PATCH', base + '/owned?fieldManager=mine', manifest, content_type='application/apply-patch+yaml')
    assert status == 200 and body['data'] == {'a': '1', 'b': '2', 'c': '3'}   # same value: no conflict
    changed = manifest.replace('a: "1"', 'a: "9"')
    status, _h, body = raw.request('PATCH', base + '/owned?fieldManager=mine', changed, content_type='application/apply-patch+yaml')
    assert status == 409 and body['reason'] == 'Conflict'
    assert body['message'].startswith('Apply failed with 1 conflict: conflict with "creator" using v1 at ')
    assert body['message'].endswith(': .data.a')
    assert body['details']['causes'][0]['reason'] == 'FieldManagerConflict' and body['details']['causes'][0]['field'] == '.data.a'
    status, _h, body = raw.request('PATCH', base + '/owned?fieldManager=mine&force=true', changed,
                                   content_type='application/apply-patch+yaml')
    assert status == 200 and body['data']['a'] == '9'
    # now "mine" owns .data.a: the creator's update takes it back, the next apply conflicts with it
    raw.request('PATCH', base + '/owned?fieldManager=creator', {'data': {'a': '5'}}, content_type='application/merge-patch+json')
    status, _h, body = raw.request('PATCH', base + '/owned?fieldManager=mine', changed, content_type='application/apply-patch+yaml')
    assert status == 409
    deployment = ('apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  selector:\n    matchLabels: {app: d}\n'
                  '  template:\n    metadata:\n      labels: {app: d}\n    spec:\n      containers:\n      - name: c1\n        image: one\n')
    path = '/apis/apps/v1/namespaces/default/deployments/d?fieldManager=%s'
    assert raw.request('PATCH', path % 'a', deployment, content_type='application/apply-patch+yaml')[0] == 201
    other = deployment.replace('- name: c1\n        image: one\n', '- name: c2\n        image: two\n')
    assert raw.request('PATCH', path % 'b', other, content_type='application/apply-patch+yaml')[0] == 200  # another element
    status, _h, body = raw.request('PATCH', path % 'b', deployment.replace('image: one', 'image: three'),
                                   content_type='application/apply-patch+yaml')
    assert status == 409 and body['message'] == ('Apply failed with 1 conflict: conflict with "a": '
                                                 '.spec.template.spec.containers[name="c1"].image')
