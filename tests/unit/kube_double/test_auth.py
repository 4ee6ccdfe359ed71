"""Authentication, impersonation, RBAC and the review APIs."""
import base64
import time

import jwt
import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from kd_helpers import Raw, api_client, token_request

UNAUTHORIZED = {'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Failure', 'message': 'Unauthorized',
                'reason': 'Unauthorized', 'code': 401}


def _mint(kube, name='app', namespace='ns1', **kw):
    kube.create_service_account(name, namespace)
    core = client.CoreV1Api(api_client(kube.kubeconfig_path))
    return core.create_namespaced_service_account_token(name, namespace, token_request(**kw)).status.token


def _whoami(kube, token):
    status, _h, body = Raw(kube, token=token).post('/apis/authentication.k8s.io/v1/selfsubjectreviews', {})
    return status, body


def test_client_certificate_user_and_groups(kube_double):
    status, _h, body = Raw(kube_double, user='alice', groups=('dev', 'ops')).post(
        '/apis/authentication.k8s.io/v1/selfsubjectreviews', {'apiVersion': 'authentication.k8s.io/v1', 'kind': 'SelfSubjectReview'})
    assert status == 201
    assert body['status']['userInfo'] == {'username': 'alice', 'groups': ['dev', 'ops', 'system:authenticated']}
    status, _h, body = Raw(kube_double).post('/apis/authentication.k8s.io/v1/selfsubjectreviews', {})
    assert body['status']['userInfo']['groups'] == ['system:masters', 'system:authenticated']


def test_minted_token_authenticates_as_service_account(kube_double):
    token = _mint(kube_double)
    status, body = _whoami(kube_double, token)
    assert status == 201
    user = body['status']['userInfo']
    account = kube_double.objects.get('serviceaccounts', 'app', 'ns1')
    assert user['username'] == 'system:serviceaccount:ns1:app'
    assert user['uid'] == account['metadata']['uid']
    assert user['groups'] == ['system:serviceaccounts', 'system:serviceaccounts:ns1', 'system:authenticated']
    jti = jwt.decode(token, options={'verify_signature': False})['jti']
    assert user['extra'] == {'authentication.kubernetes.io/credential-id': ['JTI=%s' % jti]}


@pytest.mark.parametrize('mangle', ['garbage', 'signature', 'audience', 'expired', 'not-yet', 'issuer'])
def test_bad_tokens_are_401(kube_double, mangle):
    kube_double.create_service_account('app', 'ns1')
    account = kube_double.objects.get('serviceaccounts', 'app', 'ns1')
    now = int(time.time())
    claims = {'iss': kube_double.issuers[0], 'sub': 'system:serviceaccount:ns1:app', 'aud': kube_double.api_audiences,
              'iat': now, 'nbf': now, 'exp': now + 600, 'jti': 'x',
              'kubernetes.io': {'namespace': 'ns1', 'serviceaccount': {'name': 'app', 'uid': account['metadata']['uid']}}}
    key = kube_double.pki.sa_key
    if mangle == 'garbage':
        token = 'not-a-token'
    else:
        if mangle == 'audience':
            claims['aud'] = ['someone-else']
        elif mangle == 'expired':
            claims['exp'] = now - 10
        elif mangle == 'not-yet':
            claims['nbf'] = now + 300
        elif mangle == 'issuer':
            claims['iss'] = 'https://evil'
        elif mangle == 'signature':
            from cryptography.hazmat.primitives.asymmetric import rsa
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        token = jwt.encode(claims, key, algorithm='RS256', headers={'kid': kube_double.pki.kid})
    status, _h, body = Raw(kube_double, token=token).get('/api/v1/namespaces')
    assert status == 401
    assert body == UNAUTHORIZED


def test_deleting_service_account_invalidates_tokens(kube_double):
    token = _mint(kube_double)
    assert _whoami(kube_double, token)[0] == 201
    kube_double.objects.delete('serviceaccounts', 'app', 'ns1')
    assert _whoami(kube_double, token)[0] == 401
    kube_double.create_service_account('app', 'ns1')   # same name, new uid
    assert _whoami(kube_double, token)[0] == 401


def test_deleting_bound_pod_or_secret_invalidates_token(kube_double):
    kube_double.create_service_account('app', 'ns1')
    pod = kube_double.objects.create('pods', {'metadata': {'name': 'p'}, 'spec': {'serviceAccountName': 'app',
                                                                                  'containers': [{'name': 'c', 'image': 'x'}]}}, 'ns1')
    secret = kube_double.objects.create('secrets', {'metadata': {'name': 's'}}, 'ns1')
    by_pod = _mint(kube_double, bound={'kind': 'Pod', 'api_version': 'v1', 'name': 'p', 'uid': pod['metadata']['uid']})
    by_secret = _mint(kube_double, bound={'kind': 'Secret', 'api_version': 'v1', 'name': 's'})
    status, body = _whoami(kube_double, by_pod)
    assert status == 201
    extra = body['status']['userInfo']['extra']
    assert extra['authentication.kubernetes.io/pod-name'] == ['p']
    assert extra['authentication.kubernetes.io/pod-uid'] == [pod['metadata']['uid']]
    assert _whoami(kube_double, by_secret)[0] == 201
    kube_double.objects.delete('pods', 'p', 'ns1')
    kube_double.objects.delete('secrets', 's', 'ns1')
    assert _whoami(kube_double, by_pod)[0] == 401
    assert _whoami(kube_double, by_secret)[0] == 401
    assert secret['metadata']['uid']


def test_legacy_secret_token_controller(kube_double):
    kube_double.create_service_account('legacy', 'ns1')
    account = kube_double.objects.get('serviceaccounts', 'legacy', 'ns1')
    core = client.CoreV1Api(api_client(kube_double.kubeconfig_path))
    core.create_namespaced_secret('ns1', client.V1Secret(
        metadata=client.V1ObjectMeta(name='legacy-token', annotations={'kubernetes.io/service-account.name': 'legacy'}),
        type='kubernetes.io/service-account-token'))
    secret = core.read_namespaced_secret('legacy-token', 'ns1')
    assert secret.metadata.annotations['kubernetes.io/service-account.uid'] == account['metadata']['uid']
    assert base64.b64decode(secret.data['namespace']) == b'ns1'
    assert base64.b64decode(secret.data['ca.crt']) == kube_double.pki.ca_pem
    token = base64.b64decode(secret.data['token']).decode()
    claims = jwt.decode(token, kube_double.pki.sa_public, algorithms=['RS256'])
    assert claims['iss'] == 'kubernetes/serviceaccount' and 'exp' not in claims and 'aud' not in claims
    assert claims['kubernetes.io/serviceaccount/secret.name'] == 'legacy-token'
    assert claims['kubernetes.io/serviceaccount/service-account.uid'] == account['metadata']['uid']
    status, body = _whoami(kube_double, token)
    assert status == 201 and body['status']['userInfo']['username'] == 'system:serviceaccount:ns1:legacy'
    auth = client.AuthenticationV1Api(api_client(kube_double.kubeconfig_path))
    review = auth.create_token_review(client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token)))
    assert review.status.authenticated is True and review.status.audiences == kube_double.api_audiences
    review = auth.create_token_review(client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token, audiences=['vault'])))
    assert not review.status.authenticated
    used = core.read_namespaced_secret('legacy-token', 'ns1').metadata.labels['kubernetes.io/legacy-token-last-used']
    assert used == time.strftime('%Y-%m-%d', time.gmtime())
    # deleting the ServiceAccount deletes its token Secrets and the token stops working
    core.delete_namespaced_service_account('legacy', 'ns1')
    with pytest.raises(ApiException) as info:
        core.read_namespaced_secret('legacy-token', 'ns1')
    assert info.value.status == 404
    assert _whoami(kube_double, token)[0] == 401


def test_legacy_secret_for_missing_account_is_removed(kube_double):
    kube_double.objects.create('secrets', {'metadata': {'name': 'orphan', 'annotations': {
        'kubernetes.io/service-account.name': 'ghost'}}, 'type': 'kubernetes.io/service-account-token'}, 'default')
    assert kube_double.objects.find('secrets', 'orphan', 'default') is None


def test_anonymous_and_no_credentials(kube_double_factory):
    kube = kube_double_factory()
    status, _h, body = Raw(kube, anonymous=True).get('/version')
    assert status == 200 and body['gitVersion'] == 'v1.33.0'
    status, _h, body = Raw(kube, anonymous=True).get('/api/v1/namespaces')
    assert status == 403
    assert body['message'] == ('namespaces is forbidden: User "system:anonymous" cannot list resource "namespaces" in API '
                               'group "" at the cluster scope')
    strict = kube_double_factory(anonymous_auth=False)
    status, _h, body = Raw(strict, anonymous=True).get('/version')
    assert status == 401 and body == UNAUTHORIZED


def test_forbidden_messages(kube_double):
    raw = Raw(kube_double, user='bob')
    cases = [
        ('GET', '/api/v1/namespaces/ns1/secrets/s',
         'secrets "s" is forbidden: User "bob" cannot get resource "secrets" in API group "" in the namespace "ns1"'),
        ('GET', '/api/v1/namespaces/ns1/secrets', 'secrets is forbidden: User "bob" cannot list resource "secrets" in API group "" in the namespace "ns1"'),
        ('GET', '/api/v1/nodes', 'nodes is forbidden: User "bob" cannot list resource "nodes" in API group "" at the cluster scope'),
        ('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/x',
         'clusterroles.rbac.authorization.k8s.io "x" is forbidden: User "bob" cannot get resource "clusterroles" in API group '
         '"rbac.authorization.k8s.io" at the cluster scope'),
        ('GET', '/api/v1/namespaces/ns1',
         'namespaces "ns1" is forbidden: User "bob" cannot get resource "namespaces" in API group "" in the namespace "ns1"'),
        ('GET', '/metrics', 'forbidden: User "bob" cannot get path "/metrics"'),
    ]
    for method, path, message in cases:
        status, _h, body = raw.request(method, path)
        assert status == 403, path
        assert body['message'] == message
        assert body['reason'] == 'Forbidden' and body['code'] == 403


def test_rbac_rules_subresources_names_wildcards(kube_double):
    kube_double.create_service_account('minter', 'ns1')
    kube_double.create_service_account('app', 'ns1')
    kube_double.create_service_account('other', 'ns1')
    user = 'system:serviceaccount:ns1:minter'
    kube_double.grant(user, ['create'], ['serviceaccounts/token'], namespace='ns1', resource_names=['app'])
    token = _mint(kube_double, 'minter', 'ns1')
    raw = Raw(kube_double, token=token)
    assert raw.post('/api/v1/namespaces/ns1/serviceaccounts/app/token', {'spec': {}})[0] == 201
    assert raw.post('/api/v1/namespaces/ns1/serviceaccounts/other/token', {'spec': {}})[0] == 403
    assert raw.get('/api/v1/namespaces/ns1/serviceaccounts/app')[0] == 403   # the subresource only
    kube_double.create_service_account('x', 'ns2')
    assert raw.post('/api/v1/namespaces/ns2/serviceaccounts/app/token', {'spec': {}})[0] == 403
    kube_double.grant(user, ['get', 'list'], ['*'], api_groups=['*'], namespace='ns2')
    assert raw.get('/api/v1/namespaces/ns2/configmaps')[0] == 200
    assert raw.get('/apis/apps/v1/namespaces/ns2/deployments')[0] == 200
    assert raw.get('/api/v1/namespaces/ns1/configmaps')[0] == 403
    kube_double.grant(user, ['get'], ['*/status'], namespace='ns1')
    assert raw.get('/api/v1/namespaces/ns1/pods/p/status')[0] == 404   # allowed, and there is no pod


def test_non_resource_urls_and_bootstrap_roles(kube_double):
    kube_double.create_service_account('app', 'ns1')
    raw = Raw(kube_double, token=_mint(kube_double))
    assert raw.get('/version')[0] == 200
    assert raw.get('/api')[0] == 200
    status, _h, config = raw.get('/.well-known/openid-configuration')
    assert status == 200   # system:service-account-issuer-discovery is bound to system:serviceaccounts
    assert config['issuer'] == kube_double.issuers[0]
    assert config['jwks_uri'].endswith('/openid/v1/jwks')
    assert config['response_types_supported'] == ['id_token']
    assert config['subject_types_supported'] == ['public']
    assert config['id_token_signing_alg_values_supported'] == ['RS256']
    status, headers, jwks = raw.get('/openid/v1/jwks', headers={'Accept': 'application/json, */*'})
    assert headers['Content-Type'] == 'application/jwk-set+json'
    # as kube-apiserver: the key set comes in its own media type only
    status, _h, refused = raw.get('/openid/v1/jwks', headers={'Accept': 'application/json'})
    assert status == 406 and refused['reason'] == 'NotAcceptable'
    assert refused['message'] == '406: Not Acceptable\n\nAvailable representations: application/jwk-set+json'
    key = jwks['keys'][0]
    assert key['kid'] == kube_double.pki.kid and key['use'] == 'sig' and key['alg'] == 'RS256' and key['kty'] == 'RSA'
    public = jwt.algorithms.RSAAlgorithm.from_jwk(key)
    assert jwt.decode(_mint(kube_double), public, algorithms=['RS256'], audience=kube_double.api_audiences[0])
    user = Raw(kube_double, user='carol')
    assert user.get('/openid/v1/jwks', headers={'Accept': '*/*'})[0] == 403
    roles = {r['metadata']['name'] for r in kube_double.objects.list('clusterroles')[0]}
    assert {'cluster-admin', 'admin', 'edit', 'view', 'system:basic-user', 'system:auth-delegator',
            'system:service-account-issuer-discovery', 'system:discovery', 'system:public-info-viewer'} <= roles


def test_edit_role_can_mint_view_cannot(kube_double):
    kube_double.create_service_account('app', 'ns1')
    for user, role in (('ed', 'edit'), ('vi', 'view')):
        kube_double.objects.create('rolebindings', {'metadata': {'name': user}, 'roleRef': {
            'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'ClusterRole', 'name': role},
            'subjects': [{'kind': 'User', 'name': user, 'apiGroup': 'rbac.authorization.k8s.io'}]}, 'ns1')
    assert Raw(kube_double, user='ed').post('/api/v1/namespaces/ns1/serviceaccounts/app/token', {})[0] == 201
    assert Raw(kube_double, user='vi').post('/api/v1/namespaces/ns1/serviceaccounts/app/token', {})[0] == 403
    assert Raw(kube_double, user='vi').get('/api/v1/namespaces/ns1/serviceaccounts/app')[0] == 200
    assert Raw(kube_double, user='vi').get('/api/v1/namespaces/ns1/secrets')[0] == 403


def test_impersonation(kube_double):
    kube_double.create_service_account('app', 'ns1')
    admin = Raw(kube_double)
    headers = {'Impersonate-User': 'system:serviceaccount:ns1:app'}
    status, _h, body = admin.post('/apis/authentication.k8s.io/v1/selfsubjectreviews', {}, headers=headers)
    assert body['status']['userInfo'] == {'username': 'system:serviceaccount:ns1:app', 'groups': [
        'system:serviceaccounts', 'system:serviceaccounts:ns1', 'system:authenticated']}
    assert admin.get('/api/v1/namespaces/ns1/secrets', headers=headers)[0] == 403
    status, _h, body = admin.post('/apis/authentication.k8s.io/v1/selfsubjectreviews', {}, headers={
        'Impersonate-User': 'jane', 'Impersonate-Group': 'devs', 'Impersonate-Extra-Scopes': 'a'})
    assert body['status']['userInfo'] == {'username': 'jane', 'groups': ['devs', 'system:authenticated'], 'extra': {'scopes': ['a']}}
    # a user without the impersonate verb
    status, _h, body = Raw(kube_double, user='eve').get('/api/v1/namespaces', headers={'Impersonate-User': 'admin'})
    assert status == 403
    assert body['message'] == 'users "admin" is forbidden: User "eve" cannot impersonate resource "users" in API group "" at the cluster scope'
    status, _h, body = Raw(kube_double, user='eve').get('/api/v1/namespaces', headers=headers)
    assert body['message'] == ('serviceaccounts "app" is forbidden: User "eve" cannot impersonate resource "serviceaccounts" '
                               'in API group "" in the namespace "ns1"')
    kube_double.grant('eve', ['impersonate'], ['serviceaccounts'], namespace='ns1')
    assert Raw(kube_double, user='eve').get('/api/v1/namespaces/ns1/serviceaccounts', headers=headers)[0] == 403
    status, _h, body = Raw(kube_double, user='eve').post('/apis/authentication.k8s.io/v1/selfsubjectreviews', {}, headers=headers)
    assert body['status']['userInfo']['username'] == 'system:serviceaccount:ns1:app'


def test_token_review(kube_double):
    token = _mint(kube_double, audiences=['vault'])
    auth = client.AuthenticationV1Api(api_client(kube_double.kubeconfig_path))
    review = auth.create_token_review(client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token, audiences=['vault'])))
    assert review.status.authenticated is True
    assert review.status.user.username == 'system:serviceaccount:ns1:app'
    assert review.status.audiences == ['vault']
    review = auth.create_token_review(client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token)))
    assert not review.status.authenticated and review.status.error
    review = auth.create_token_review(client.V1TokenReview(spec=client.V1TokenReviewSpec(token='junk')))
    assert not review.status.authenticated
    status, _h, body = Raw(kube_double).post('/apis/authentication.k8s.io/v1/tokenreviews', {'spec': {'token': ''}})
    assert status == 400 and body['message'] == 'token is required for TokenReview in authentication'
    # needs create tokenreviews: system:auth-delegator
    kube_double.create_service_account('checker', 'ns1')
    checker = Raw(kube_double, token=_mint(kube_double, 'checker'))
    status, _h, body = checker.post('/apis/authentication.k8s.io/v1/tokenreviews', {'spec': {'token': token}})
    assert status == 403
    kube_double.objects.create('clusterrolebindings', {'metadata': {'name': 'checker'}, 'roleRef': {
        'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'ClusterRole', 'name': 'system:auth-delegator'},
        'subjects': [{'kind': 'ServiceAccount', 'name': 'checker', 'namespace': 'ns1'}]})
    status, _h, body = checker.post('/apis/authentication.k8s.io/v1/tokenreviews', {'spec': {'token': token, 'audiences': ['vault']}})
    assert status == 201 and body['status']['authenticated'] is True


def test_access_reviews(kube_double):
    kube_double.create_service_account('app', 'ns1')
    kube_double.grant('system:serviceaccount:ns1:app', ['create'], ['serviceaccounts/token'], namespace='ns1', name='mint')
    authz = client.AuthorizationV1Api(api_client(kube_double.kubeconfig_path))
    attrs = client.V1ResourceAttributes(namespace='ns1', verb='create', resource='serviceaccounts', subresource='token', name='x')
    review = authz.create_subject_access_review(client.V1SubjectAccessReview(spec=client.V1SubjectAccessReviewSpec(
        user='system:serviceaccount:ns1:app', groups=['system:serviceaccounts'], resource_attributes=attrs)))
    assert review.status.allowed is True
    assert review.status.reason == 'RBAC: allowed by RoleBinding "mint/ns1" of Role "mint" to ServiceAccount "app/ns1"'
    raw = Raw(kube_double, token=_mint(kube_double))
    status, _h, body = raw.post('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {'spec': {'resourceAttributes': {
        'namespace': 'ns1', 'verb': 'create', 'resource': 'serviceaccounts', 'subresource': 'token', 'name': 'x'}}})
    assert status == 201 and body['status']['allowed'] is True
    status, _h, body = raw.post('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {'spec': {'resourceAttributes': {
        'namespace': 'ns2', 'verb': 'create', 'resource': 'serviceaccounts', 'subresource': 'token'}}})
    assert body['status']['allowed'] is False
    status, _h, body = raw.post('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {'spec': {'nonResourceAttributes': {
        'path': '/version', 'verb': 'get'}}})
    assert body['status']['allowed'] is True
    status, _h, body = raw.post('/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', {'spec': {'namespace': 'ns1'}})
    assert status == 201 and body['status']['incomplete'] is False
    assert {'verbs': ['create'], 'apiGroups': [''], 'resources': ['serviceaccounts/token']} in body['status']['resourceRules']
    assert any('/version' in r['nonResourceURLs'] for r in body['status']['nonResourceRules'])
    rules = authz.create_self_subject_rules_review(client.V1SelfSubjectRulesReview(
        spec=client.V1SelfSubjectRulesReviewSpec(namespace='ns1')))
    assert any('*' in r.verbs for r in rules.status.resource_rules)
    # SubjectAccessReview needs create subjectaccessreviews
    assert raw.post('/apis/authorization.k8s.io/v1/subjectaccessreviews', {'spec': {'user': 'x', 'resourceAttributes': {}}})[0] == 403


def test_cluster_role_aggregation(kube_double):
    view = kube_double.objects.get('clusterroles', 'view')
    assert view['aggregationRule'] and any('pods' in r['resources'] for r in view['rules'])
    edit = kube_double.objects.get('clusterroles', 'edit')
    assert all(rule in edit['rules'] for rule in view['rules'])
    assert not any('widgets' in r.get('resources', []) for r in edit['rules'])
    kube_double.objects.create('clusterroles', {'metadata': {'name': 'widgets-view', 'labels': {
        'rbac.authorization.k8s.io/aggregate-to-view': 'true'}}, 'rules': [
        {'apiGroups': ['example.com'], 'resources': ['widgets'], 'verbs': ['get']}]})
    for name in ('view', 'edit', 'admin'):
        rules = kube_double.objects.get('clusterroles', name)['rules']
        assert {'apiGroups': ['example.com'], 'resources': ['widgets'], 'verbs': ['get']} in rules, name
    kube_double.objects.delete('clusterroles', 'widgets-view')
    assert not any('widgets' in r.get('resources', []) for r in kube_double.objects.get('clusterroles', 'admin')['rules'])


def test_local_subject_access_review(kube_double):
    kube_double.objects.create('namespaces', {'metadata': {'name': 'ns1'}})
    kube_double.grant('dana', ['get'], ['configmaps'], namespace='ns1')
    raw = Raw(kube_double)
    review = {'spec': {'user': 'dana', 'resourceAttributes': {'namespace': 'ns1', 'verb': 'get', 'resource': 'configmaps'}}}
    status, _h, body = raw.post('/apis/authorization.k8s.io/v1/namespaces/ns1/localsubjectaccessreviews', review)
    assert status == 201 and body['status']['allowed'] is True and body['metadata']['namespace'] == 'ns1'
    review['spec']['resourceAttributes']['namespace'] = 'ns2'
    status, _h, body = raw.post('/apis/authorization.k8s.io/v1/namespaces/ns1/localsubjectaccessreviews', review)
    assert status == 422
