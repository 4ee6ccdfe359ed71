"""What a token is (offline) and what the API server says of it (TokenReview, signature, can-i)."""
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ansible_collections.mcp.k8s.plugins.module_utils import connection, legacy_secrets, token_info
from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError

ISSUER = 'https://kubernetes.default.svc.cluster.local'


def _sign(claims, headers=None):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, key, algorithm='RS256', headers=headers or {'kid': 'k1'})


def _no_cluster():
    raise AssertionError('no request expected')


@pytest.fixture
def kube(kube_double):
    kube_double.create_service_account('app', 'ns')
    return kube_double


def _cluster(kube):
    return connection.get_cluster({'kubeconfig': kube.kubeconfig_path})


# ---------------------------------------------------------------- offline

def test_bound_token():
    now = 1800000000
    claims = {'iss': ISSUER, 'sub': 'system:serviceaccount:ns:app', 'aud': ['a', 'b'], 'iat': now - 100,
              'nbf': now - 100, 'exp': now + 500, 'jti': 'j',
              'kubernetes.io': {'namespace': 'ns', 'serviceaccount': {'name': 'app', 'uid': 'sa-uid'},
                                'pod': {'name': 'p', 'uid': 'pod-uid'}, 'node': {'name': 'n', 'uid': 'node-uid'}}}
    result = token_info.token_info(_sign(claims), _no_cluster, now=now)
    assert result['claims'] == claims
    assert result['header'] == {'alg': 'RS256', 'kid': 'k1', 'typ': 'JWT'}
    assert result['issuer'] == ISSUER and result['subject'] == 'system:serviceaccount:ns:app'
    assert result['service_account'] == {'namespace': 'ns', 'name': 'app', 'uid': 'sa-uid'}
    assert result['audiences'] == ['a', 'b']
    assert result['bound_object'] == {'kind': 'Pod', 'name': 'p', 'uid': 'pod-uid'}
    assert result['secret'] is None
    assert result['issued_at'] == time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now - 100))
    assert result['expires_at'] == time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now + 500))
    assert result['expires_in'] == 500 and result['expired'] is False and result['legacy'] is False
    assert all(result[k] is None for k in ('review', 'signature', 'can_i', 'all_allowed'))


def test_extended_pod_token_reports_warnafter():
    now = 1800000000
    claims = {'iss': ISSUER, 'sub': 'system:serviceaccount:ns:app', 'aud': [ISSUER], 'iat': now, 'exp': now + 31536000,
              'kubernetes.io': {'namespace': 'ns', 'serviceaccount': {'name': 'app', 'uid': 'u'},
                                'pod': {'name': 'p', 'uid': 'q'}, 'warnafter': now + 3607}}
    result = token_info.token_info(_sign(claims), _no_cluster, now=now)
    assert result['expires_in'] == 3607


def test_expired_token():
    claims = {'iss': ISSUER, 'sub': 'system:serviceaccount:ns:app', 'aud': [ISSUER], 'iat': 1000, 'exp': 2000,
              'kubernetes.io': {'namespace': 'ns', 'serviceaccount': {'name': 'app', 'uid': 'u'}}}
    result = token_info.token_info(_sign(claims), _no_cluster, now=5000)
    assert result['expired'] is True and result['expires_in'] == -3000


def test_legacy_token():
    claims = {'iss': 'kubernetes/serviceaccount', 'sub': 'system:serviceaccount:ns:app',
              'kubernetes.io/serviceaccount/namespace': 'ns',
              'kubernetes.io/serviceaccount/secret.name': 'app-token',
              'kubernetes.io/serviceaccount/service-account.name': 'app',
              'kubernetes.io/serviceaccount/service-account.uid': 'sa-uid'}
    result = token_info.token_info('  %s\n' % _sign(claims), _no_cluster)
    assert result['legacy'] is True
    assert result['service_account'] == {'namespace': 'ns', 'name': 'app', 'uid': 'sa-uid'}
    assert result['secret'] == {'namespace': 'ns', 'name': 'app-token'}
    assert result['audiences'] == [] and result['bound_object'] is None
    assert result['expires_at'] is None and result['expires_in'] is None and result['expired'] is False
    assert result['issued_at'] is None


@pytest.mark.parametrize('token', ['', '   ', None])
def test_empty_token(token):
    with pytest.raises(K8sTokenError, match='not an empty value'):
        token_info.token_info(token, _no_cluster)


def test_not_a_jwt_never_echoes_it():
    with pytest.raises(K8sTokenError) as raised:
        token_info.token_info('secret-but-not-a-jwt', _no_cluster)
    assert 'not a JWT' in raised.value.message and 'secret-but-not-a-jwt' not in raised.value.message


@pytest.mark.parametrize('checks', [[{'verb': 'get'}], [{'resource': 'pods'}], ['get pods'], [{'verb': '', 'resource': 'x'}]])
def test_checks_need_verb_and_resource(checks):
    with pytest.raises(K8sTokenError, match=r'can_i\[0\] needs a verb and a resource'):
        token_info.normalize_checks(checks)


# ---------------------------------------------------------------- against the double

def test_review_of_a_valid_and_a_revoked_legacy_token(kube):
    cluster = _cluster(kube)
    spec = legacy_secrets.SecretSpec('app', 'ns')
    token = legacy_secrets.ensure_secret_token(cluster, spec)[1]['token']
    result = token_info.token_info(token, lambda: cluster, review=True)
    assert result['legacy'] and result['secret'] == {'namespace': 'ns', 'name': 'app-token'}
    assert result['review']['authenticated'] is True
    assert result['review']['user']['username'] == 'system:serviceaccount:ns:app'
    assert 'system:serviceaccounts:ns' in result['review']['user']['groups']
    legacy_secrets.remove_secret_token(cluster, spec)
    kube.expire_auth_cache()   # kube-apiserver would accept it for up to 10 s more
    review = token_info.token_info(token, lambda: cluster, review=True)['review']
    assert review['authenticated'] is False and review['error']


def test_review_with_audiences(kube):
    cluster = _cluster(kube)
    token = kube.mint_token('app', 'ns', audiences=['vault'])
    assert token_info.token_info(token, lambda: cluster, review=True)['review']['authenticated'] is False
    review = token_info.token_info(token, lambda: cluster, review=True, audiences=['vault'])['review']
    assert review['authenticated'] is True and review['audiences'] == ['vault']


def test_signature_of_cluster_tokens(kube):
    cluster = _cluster(kube)
    legacy = legacy_secrets.ensure_secret_token(cluster, legacy_secrets.SecretSpec('app', 'ns'))[1]['token']
    for token in (kube.mint_token('app', 'ns'), legacy):
        signature = token_info.token_info(token, lambda: cluster, verify_signature=True)['signature']
        assert signature['verified'] is True and signature['issuer'] == kube.issuers[0]


def test_signature_of_a_foreign_token(kube):
    cluster = _cluster(kube)
    claims = jwt.decode(kube.mint_token('app', 'ns'), options={'verify_signature': False})
    signature = token_info.token_info(_sign(claims), lambda: cluster, verify_signature=True)['signature']
    assert signature['verified'] is False and 'has the token\'s key id "k1"' in signature['reason']


def test_can_i_with_the_token_itself(kube):
    cluster = _cluster(kube)
    kube.grant('system:serviceaccount:ns:app', ['get', 'list'], ['pods'], namespace='ns')
    token = kube.mint_token('app', 'ns')
    kube.clear_requests()
    result = token_info.token_info(token, lambda: cluster, can_i=[
        {'verb': 'list', 'resource': 'pods', 'namespace': 'ns'},
        {'verb': 'get', 'resource': 'pods', 'namespace': 'ns', 'name': 'p'},
        {'verb': 'delete', 'resource': 'pods', 'namespace': 'ns'},
        {'verb': 'list', 'resource': 'pods', 'namespace': 'other'},
        {'verb': 'create', 'resource': 'deployments', 'group': 'apps', 'namespace': 'ns'},
        {'verb': 'get', 'resource': 'pods', 'subresource': 'log', 'namespace': 'ns'},
    ])
    table = [(c['verb'], c['resource'], c['group'], c['namespace'], c['name'], c['allowed']) for c in result['can_i']]
    assert table == [('list', 'pods', '', 'ns', None, True),
                     ('get', 'pods', '', 'ns', 'p', True),
                     ('delete', 'pods', '', 'ns', None, False),
                     ('list', 'pods', '', 'other', None, False),
                     ('create', 'deployments', 'apps', 'ns', None, False),
                     ('get', 'pods/log', '', 'ns', None, False)]
    assert result['all_allowed'] is False
    users = set(entry['user'] for entry in kube.requests if entry['path'].endswith('selfsubjectaccessreviews'))
    assert users == {'system:serviceaccount:ns:app'}


def test_can_i_with_a_revoked_token(kube):
    cluster = _cluster(kube)
    spec = legacy_secrets.SecretSpec('app', 'ns')
    token = legacy_secrets.ensure_secret_token(cluster, spec)[1]['token']
    assert token_info.token_info(token, lambda: cluster, can_i=[{'verb': 'get', 'resource': 'pods'}])['can_i']
    legacy_secrets.remove_secret_token(cluster, spec)
    kube.expire_auth_cache()   # kube-apiserver would accept it for up to 10 s more
    # reported, not raised: one call audits a revoked token too
    result = token_info.token_info(token, lambda: cluster, can_i=[{'verb': 'get', 'resource': 'pods'}])
    assert result['all_allowed'] is False
    (check,) = result['can_i']
    assert check['allowed'] is False and check['verb'] == 'get' and check['resource'] == 'pods'
    assert check['evaluation_error'] == (
        'The API server at %s rejected the token (401 Unauthorized) when asked to create selfsubjectaccessreviews '
        'for get pods; the token has expired, been revoked (its Secret, ServiceAccount or bound object deleted) '
        'or is for another cluster.' % kube.url)


def test_can_i_fails_when_the_question_cannot_be_asked(kube):
    cluster = connection.get_cluster({'host': 'https://127.0.0.1:1', 'api_key': 'x' * 40,
                                     'validate_certs': False, 'request_timeout': 2})
    kube.create_service_account('app', 'ns')
    with pytest.raises(K8sTokenError) as raised:
        token_info.token_info(kube.mint_token('app', 'ns'), lambda: cluster, can_i=[{'verb': 'get', 'resource': 'pods'}])
    assert raised.value.status is None and 'https://127.0.0.1:1' in raised.value.message


def test_review_forbidden(kube):
    cluster = connection.get_cluster({'kubeconfig': kube.write_kubeconfig(user='bob')})
    with pytest.raises(K8sTokenError, match='User "bob" may not create tokenreviews'):
        token_info.token_info(kube.mint_token('app', 'ns'), lambda: cluster, review=True)
