"""TokenRequest as kube-apiserver does it, driven with the kubernetes Python client."""
import datetime
import json

import jwt
import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from kd_helpers import Raw, api_client, token_request

ISSUER = 'https://kubernetes.default.svc.cluster.local'


@pytest.fixture
def core(kube_double):
    kube_double.create_service_account('app', 'ns1')
    return client.CoreV1Api(api_client(kube_double.kubeconfig_path))


def _claims(token):
    return jwt.decode(token, options={'verify_signature': False})


def _status(exc):
    return json.loads(exc.body)


def test_success_is_201_with_token_and_rfc3339_expiry(kube_double, core):
    data, status, _headers = core.create_namespaced_service_account_token_with_http_info('app', 'ns1', token_request())
    assert status == 201
    assert data.spec.expiration_seconds == 3600
    assert data.spec.audiences == [ISSUER]
    assert data.metadata.name == 'app' and data.metadata.namespace == 'ns1'
    expires = data.status.expiration_timestamp
    assert expires.tzinfo is not None and expires.microsecond == 0
    claims = _claims(data.status.token)
    assert claims['exp'] == int(expires.timestamp())
    assert claims['exp'] - claims['iat'] == 3600
    status, _h, raw = Raw(kube_double).post('/api/v1/namespaces/ns1/serviceaccounts/app/token', {'spec': {}})
    assert status == 201
    assert raw['status']['expirationTimestamp'].endswith('Z') and len(raw['status']['expirationTimestamp']) == 20


def test_jwt_header_claims_and_signature(kube_double, core):
    token = core.create_namespaced_service_account_token('app', 'ns1', token_request(seconds=7200, audiences=['vault'])).status.token
    header = jwt.get_unverified_header(token)
    assert header == {'alg': 'RS256', 'kid': kube_double.pki.kid}
    claims = jwt.decode(token, kube_double.pki.sa_public, algorithms=['RS256'], audience='vault')
    account = kube_double.objects.get('serviceaccounts', 'app', 'ns1')
    assert claims['iss'] == ISSUER
    assert claims['sub'] == 'system:serviceaccount:ns1:app'
    assert claims['aud'] == ['vault']
    assert claims['nbf'] == claims['iat'] and claims['exp'] == claims['iat'] + 7200
    assert len(claims['jti']) == 36
    assert claims['kubernetes.io'] == {'namespace': 'ns1', 'serviceaccount': {'name': 'app', 'uid': account['metadata']['uid']}}


def test_kid_is_sha256_of_der_public_key(kube_double):
    import base64
    import hashlib
    from cryptography.hazmat.primitives import serialization
    der = kube_double.pki.sa_public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert kube_double.pki.kid == base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b'=').decode()


def test_missing_service_account_is_404_with_plural_kind(core):
    with pytest.raises(ApiException) as info:
        core.create_namespaced_service_account_token('nope', 'ns1', token_request())
    assert info.value.status == 404
    assert _status(info.value) == {'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Failure',
                                   'message': 'serviceaccounts "nope" not found', 'reason': 'NotFound',
                                   'details': {'name': 'nope', 'kind': 'serviceaccounts'}, 'code': 404}


@pytest.mark.parametrize('seconds', [60, 599, -5, 0])
def test_short_duration_is_422(core, seconds):
    with pytest.raises(ApiException) as info:
        core.create_namespaced_service_account_token('app', 'ns1', token_request(seconds=seconds))
    body = _status(info.value)
    assert info.value.status == 422
    assert body['message'] == ('TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: %d: '
                               'may not specify a duration less than 10 minutes' % seconds)
    assert body['reason'] == 'Invalid'
    assert body['details']['group'] == 'authentication.k8s.io' and body['details']['kind'] == 'TokenRequest'
    assert body['details']['causes'] == [{'reason': 'FieldValueInvalid', 'field': 'spec.expirationSeconds',
                                          'message': 'Invalid value: %d: may not specify a duration less than 10 minutes' % seconds}]


def test_duration_limits_around_2_pow_32(core):
    assert core.create_namespaced_service_account_token('app', 'ns1', token_request(seconds=600)).spec.expiration_seconds == 600
    assert core.create_namespaced_service_account_token('app', 'ns1', token_request(seconds=2 ** 32)).spec.expiration_seconds == 2 ** 32
    with pytest.raises(ApiException) as info:
        core.create_namespaced_service_account_token('app', 'ns1', token_request(seconds=2 ** 32 + 1))
    assert info.value.status == 422
    assert 'may not specify a duration larger than 2^32 seconds' in _status(info.value)['message']


def test_authorization_before_404_before_422(kube_double):
    kube_double.create_service_account('app', 'ns1')
    raw = Raw(kube_double, user='mallory')
    status, _h, body = raw.post('/api/v1/namespaces/ns1/serviceaccounts/nope/token', {'spec': {'expirationSeconds': 60}})
    assert status == 403
    assert body['message'] == ('serviceaccounts "nope" is forbidden: User "mallory" cannot create resource '
                               '"serviceaccounts/token" in API group "" in the namespace "ns1"')
    assert body['details'] == {'name': 'nope', 'kind': 'serviceaccounts'}
    assert body['reason'] == 'Forbidden'
    status, _h, body = Raw(kube_double).post('/api/v1/namespaces/ns1/serviceaccounts/nope/token', {'spec': {'expirationSeconds': 60}})
    assert status == 404
    status, _h, body = Raw(kube_double).post('/api/v1/namespaces/ns1/serviceaccounts/app/token', {'spec': {'expirationSeconds': 60}})
    assert status == 422


def test_body_name_differing_from_url_is_422_namespace_400(kube_double):
    kube_double.create_service_account('app', 'ns1')
    raw = Raw(kube_double)
    status, _h, body = raw.post('/api/v1/namespaces/ns1/serviceaccounts/app/token', {'metadata': {'name': 'other'}, 'spec': {}})
    assert status == 422 and 'must match the service account name if specified' in body['message']
    status, _h, body = raw.post('/api/v1/namespaces/ns1/serviceaccounts/app/token', {'metadata': {'namespace': 'x'}, 'spec': {}})
    assert status == 400 and body['message'] == ('the namespace of the provided object does not match the namespace sent '
                                                 'on the request')


def test_empty_audiences_become_api_audiences(kube_double_factory):
    kube = kube_double_factory(api_audiences=['api', 'other'])
    kube.create_service_account('app', 'default')
    core = client.CoreV1Api(api_client(kube.kubeconfig_path))
    made = core.create_namespaced_service_account_token('app', 'default', token_request(audiences=[]))
    assert made.spec.audiences == ['api', 'other']
    assert _claims(made.status.token)['aud'] == ['api', 'other']


def test_issuer_option(kube_double_factory):
    kube = kube_double_factory(issuer='https://issuer.example')
    kube.create_service_account('app', 'default')
    core = client.CoreV1Api(api_client(kube.kubeconfig_path))
    made = core.create_namespaced_service_account_token('app', 'default', token_request())
    assert _claims(made.status.token)['iss'] == 'https://issuer.example'
    assert made.spec.audiences == ['https://issuer.example']


def test_longer_than_maximum_is_shortened_with_warning(kube_double_factory):
    kube = kube_double_factory(max_token_expiration=3600)
    kube.create_service_account('app', 'default')
    core = client.CoreV1Api(api_client(kube.kubeconfig_path))
    data, status, headers = core.create_namespaced_service_account_token_with_http_info('app', 'default', token_request(seconds=7200))
    assert status == 201
    assert data.spec.expiration_seconds == 3600
    assert headers['Warning'] == '299 - "requested expiration of 7200 seconds shortened to 3600 seconds"'
    claims = _claims(data.status.token)
    assert claims['exp'] - claims['iat'] == 3600
    _data, _status_code, headers = core.create_namespaced_service_account_token_with_http_info('app', 'default', token_request(seconds=1800))
    assert 'Warning' not in headers


def _pod(kube, name, account='app', namespace='ns1', node=None):
    spec = {'serviceAccountName': account, 'containers': [{'name': 'c', 'image': 'busybox'}]}
    if node:
        spec['nodeName'] = node
    return kube.objects.create('pods', {'metadata': {'name': name, 'namespace': namespace}, 'spec': spec}, namespace)


def test_bound_to_pod_secret_and_node(kube_double, core):
    node = kube_double.objects.create('nodes', {'metadata': {'name': 'node1'}})
    pod = _pod(kube_double, 'p1', node='node1')
    made = core.create_namespaced_service_account_token('app', 'ns1', token_request(
        bound={'kind': 'Pod', 'api_version': 'v1', 'name': 'p1', 'uid': pod['metadata']['uid']}))
    info = _claims(made.status.token)['kubernetes.io']
    assert info['pod'] == {'name': 'p1', 'uid': pod['metadata']['uid']}
    assert info['node'] == {'name': 'node1', 'uid': node['metadata']['uid']}
    assert made.spec.bound_object_ref.name == 'p1'
    secret = kube_double.objects.create('secrets', {'metadata': {'name': 's1'}}, 'ns1')
    made = core.create_namespaced_service_account_token('app', 'ns1', token_request(bound={'kind': 'Secret', 'name': 's1'}))
    assert _claims(made.status.token)['kubernetes.io']['secret'] == {'name': 's1', 'uid': secret['metadata']['uid']}
    made = core.create_namespaced_service_account_token('app', 'ns1', token_request(bound={'kind': 'Node', 'api_version': 'v1',
                                                                                           'name': 'node1'}))
    assert _claims(made.status.token)['kubernetes.io']['node'] == {'name': 'node1', 'uid': node['metadata']['uid']}


def test_bound_object_errors(kube_double, core):
    _pod(kube_double, 'other-sa', account='default')
    pod = _pod(kube_double, 'p1')
    cases = [
        ({'kind': 'ConfigMap', 'api_version': 'v1', 'name': 'x'}, 400, 'BadRequest',
         'cannot bind token to object of type /v1, Kind=ConfigMap'),
        ({'kind': 'Pod', 'api_version': 'v1', 'name': 'gone'}, 404, 'NotFound', 'pods "gone" not found'),
        ({'kind': 'Secret', 'name': 'gone'}, 404, 'NotFound', 'secrets "gone" not found'),
        ({'kind': 'Node', 'name': 'gone'}, 404, 'NotFound', 'nodes "gone" not found'),
        ({'kind': 'Pod', 'api_version': 'v1', 'name': 'other-sa'}, 400, 'BadRequest',
         'cannot bind token for serviceaccount "app" to pod running with different serviceaccount name.'),
        ({'kind': 'Pod', 'api_version': 'v1', 'name': 'p1', 'uid': 'wrong'}, 409, 'Conflict',
         'Operation cannot be fulfilled on Pod "p1": the UID in the bound object reference (wrong) does not match the UID '
         'in record. The object might have been deleted and then recreated'),
        ({'kind': 'Deployment', 'api_version': 'apps/v1', 'name': 'x'}, 400, 'BadRequest',
         'cannot bind token to object of type apps/v1, Kind=Deployment'),
    ]
    for bound, code, reason, message in cases:
        with pytest.raises(ApiException) as info:
            core.create_namespaced_service_account_token('app', 'ns1', token_request(bound=bound))
        body = _status(info.value)
        assert (info.value.status, body['reason'], body['message']) == (code, reason, message), bound
    assert pod['metadata']['uid']


def test_conflict_details_kind_is_the_kind(kube_double):
    kube_double.create_service_account('app', 'ns1')
    _pod(kube_double, 'p1')
    status, _h, body = Raw(kube_double).post('/api/v1/namespaces/ns1/serviceaccounts/app/token', {
        'spec': {'boundObjectRef': {'kind': 'Pod', 'apiVersion': 'v1', 'name': 'p1', 'uid': 'x'}}})
    assert status == 409
    assert body['details'] == {'name': 'p1', 'kind': 'Pod'}


def test_extended_expiration_for_pod_bound_3607(kube_double, core):
    pod = _pod(kube_double, 'p1')
    bound = {'kind': 'Pod', 'api_version': 'v1', 'name': 'p1', 'uid': pod['metadata']['uid']}
    made = core.create_namespaced_service_account_token('app', 'ns1', token_request(seconds=3607, bound=bound))
    claims = _claims(made.status.token)
    assert made.spec.expiration_seconds == 3607
    assert int(made.status.expiration_timestamp.timestamp()) == claims['iat'] + 3607
    assert claims['exp'] == claims['iat'] + 365 * 24 * 3600
    assert claims['kubernetes.io']['warnafter'] == claims['iat'] + 3607
    # not extended: other audiences, other durations, or no pod
    for request in (token_request(seconds=3607, bound=bound, audiences=['vault']), token_request(seconds=3608, bound=bound),
                    token_request(seconds=3607)):
        claims = _claims(core.create_namespaced_service_account_token('app', 'ns1', request).status.token)
        assert claims['exp'] - claims['iat'] in (3607, 3608)
        assert 'warnafter' not in claims['kubernetes.io']


def test_extension_can_be_disabled(kube_double_factory):
    kube = kube_double_factory(extend_token_expiration=False)
    kube.create_service_account('app', 'ns1')
    pod = _pod(kube, 'p1')
    core = client.CoreV1Api(api_client(kube.kubeconfig_path))
    made = core.create_namespaced_service_account_token('app', 'ns1', token_request(
        seconds=3607, bound={'kind': 'Pod', 'api_version': 'v1', 'name': 'p1', 'uid': pod['metadata']['uid']}))
    claims = _claims(made.status.token)
    assert claims['exp'] - claims['iat'] == 3607


def test_expiration_timestamp_whole_seconds_utc(core):
    made = core.create_namespaced_service_account_token('app', 'ns1', token_request(seconds=900))
    delta = made.status.expiration_timestamp - datetime.datetime.now(datetime.timezone.utc)
    assert 890 <= delta.total_seconds() <= 901


def test_pod_on_missing_node_names_the_node_without_uid(kube_double, core):
    pod = _pod(kube_double, 'p1', node='ghost-node')
    made = core.create_namespaced_service_account_token('app', 'ns1', token_request(
        bound={'kind': 'Pod', 'api_version': 'v1', 'name': 'p1', 'uid': pod['metadata']['uid']}))
    assert _claims(made.status.token)['kubernetes.io']['node'] == {'name': 'ghost-node'}


def test_bound_object_errors_come_before_clamping(kube_double_factory):
    kube = kube_double_factory(max_token_expiration=3600)
    kube.create_service_account('app', 'ns1')
    status, headers, _body = Raw(kube).post('/api/v1/namespaces/ns1/serviceaccounts/app/token', {
        'spec': {'expirationSeconds': 7200, 'boundObjectRef': {'kind': 'Pod', 'apiVersion': 'v1', 'name': 'gone'}}})
    assert status == 404 and 'Warning' not in headers


def test_feature_gates_follow_the_version(kube_double_factory):
    kube = kube_double_factory(version='v1.29.0')
    kube.create_service_account('app', 'ns1')
    kube.objects.create('nodes', {'metadata': {'name': 'n1'}})
    raw = Raw(kube)
    status, _h, body = raw.post('/api/v1/namespaces/ns1/serviceaccounts/app/token', {
        'spec': {'boundObjectRef': {'kind': 'Node', 'apiVersion': 'v1', 'name': 'n1'}}})
    assert status == 400
    assert body['message'] == 'cannot bind token to a Node object as the "ServiceAccountTokenNodeBinding" feature-gate is disabled'
    status, _h, body = raw.post('/api/v1/namespaces/ns1/serviceaccounts/app/token', {'spec': {}})
    assert 'jti' not in _claims(body['status']['token'])
