"""Signature checks against a JSON Web Key Set, and reading the set from the double."""
import base64
import hashlib
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ansible_collections.mcp.k8s.plugins.module_utils import connection, jwks
from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError

CLAIMS = {'iss': 'https://kubernetes.default.svc.cluster.local', 'sub': 'system:serviceaccount:ns:app',
          'aud': ['https://kubernetes.default.svc.cluster.local'], 'iat': 1000, 'nbf': 1000, 'exp': 2000}


def _kid(public_key):
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b'=').decode()


def _jwk(public_key, alg, kid):
    algorithm = jwt.algorithms.RSAAlgorithm if alg.startswith('RS') else jwt.algorithms.ECAlgorithm
    data = json.loads(algorithm.to_jwk(public_key))
    data.update({'use': 'sig', 'alg': alg, 'kid': kid})
    return data


@pytest.fixture(scope='module')
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope='module')
def other_rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope='module')
def cluster_keys(rsa_key):
    kid = _kid(rsa_key.public_key())
    return kid, {'keys': [_jwk(rsa_key.public_key(), 'RS256', kid)]}


def test_verifies_a_token_signed_by_a_published_key(rsa_key, cluster_keys):
    kid, keys = cluster_keys
    token = jwt.encode(CLAIMS, rsa_key, algorithm='RS256', headers={'kid': kid})
    assert jwks.verify_signature(token, keys) == {'verified': True, 'key_id': kid, 'algorithm': 'RS256'}


def test_expiry_and_audience_are_not_checked(rsa_key, cluster_keys):
    kid, keys = cluster_keys
    token = jwt.encode(dict(CLAIMS, exp=1, aud='elsewhere'), rsa_key, algorithm='RS256', headers={'kid': kid})
    assert jwks.verify_signature(token, keys)['verified']


def test_token_without_kid_is_tried_against_every_key(rsa_key, other_rsa_key, cluster_keys):
    kid, keys = cluster_keys
    keys = {'keys': [_jwk(other_rsa_key.public_key(), 'RS256', 'other')] + keys['keys']}
    token = jwt.encode(CLAIMS, rsa_key, algorithm='RS256')
    assert jwks.verify_signature(token, keys)['key_id'] == kid


def test_unknown_kid_names_the_published_ones(other_rsa_key, cluster_keys):
    kid, keys = cluster_keys
    token = jwt.encode(CLAIMS, other_rsa_key, algorithm='RS256', headers={'kid': 'my-own-key'})
    with pytest.raises(K8sTokenError) as raised:
        jwks.verify_signature(token, keys, source='/openid/v1/jwks')
    message = raised.value.message
    assert 'No key the cluster publishes at /openid/v1/jwks has the token\'s key id "my-own-key"' in message
    assert kid in message
    assert token not in message


def test_bad_signature_with_the_cluster_kid(other_rsa_key, cluster_keys):
    kid, keys = cluster_keys
    token = jwt.encode(CLAIMS, other_rsa_key, algorithm='RS256', headers={'kid': kid})
    with pytest.raises(K8sTokenError, match='signature does not match the cluster\'s key "%s"' % kid):
        jwks.verify_signature(token, keys)


def test_bad_signature_without_kid(other_rsa_key, cluster_keys):
    token = jwt.encode(CLAIMS, other_rsa_key, algorithm='RS256')
    with pytest.raises(K8sTokenError, match='matches none of the 1 keys'):
        jwks.verify_signature(token, cluster_keys[1])


def test_altered_payload_fails(rsa_key, cluster_keys):
    kid, keys = cluster_keys
    header, payload, signature = jwt.encode(CLAIMS, rsa_key, algorithm='RS256', headers={'kid': kid}).split('.')
    forged = base64.urlsafe_b64encode(json.dumps(dict(CLAIMS, sub='system:serviceaccount:kube-system:admin'))
                                      .encode()).rstrip(b'=').decode()
    with pytest.raises(K8sTokenError, match='altered'):
        jwks.verify_signature('.'.join((header, forged, signature)), keys)


@pytest.mark.parametrize('alg', ['none', 'HS256'])
def test_algorithms_no_cluster_uses(alg, cluster_keys):
    kid, keys = cluster_keys
    key = None if alg == 'none' else 'a-shared-secret-that-is-long-enough-for-hs256'
    token = jwt.encode(CLAIMS, key, algorithm=alg, headers={'kid': kid})
    with pytest.raises(K8sTokenError, match='which no Kubernetes cluster uses'):
        jwks.verify_signature(token, keys)


def test_algorithm_must_fit_the_key_type(cluster_keys):
    kid, keys = cluster_keys
    token = jwt.encode(CLAIMS, ec.generate_private_key(ec.SECP256R1()), algorithm='ES256', headers={'kid': kid})
    with pytest.raises(K8sTokenError, match='has the token\'s key id'):
        jwks.verify_signature(token, keys)


def test_ecdsa_keys():
    key = ec.generate_private_key(ec.SECP384R1())
    kid = _kid(key.public_key())
    keys = {'keys': [_jwk(key.public_key(), 'ES384', kid)]}
    token = jwt.encode(CLAIMS, key, algorithm='ES384', headers={'kid': kid})
    assert jwks.verify_signature(token, keys) == {'verified': True, 'key_id': kid, 'algorithm': 'ES384'}


def test_unusable_and_encryption_keys_are_skipped(rsa_key, cluster_keys):
    kid, keys = cluster_keys
    keys = {'keys': [{'kty': 'RSA', 'kid': kid, 'use': 'sig'},                        # no modulus
                     dict(keys['keys'][0], use='enc'),                                 # not for signatures
                     'garbage']}
    token = jwt.encode(CLAIMS, rsa_key, algorithm='RS256', headers={'kid': kid})
    with pytest.raises(K8sTokenError, match='has the token\'s key id'):
        jwks.verify_signature(token, keys)


def test_not_a_jwt():
    with pytest.raises(K8sTokenError, match='not a JWT'):
        jwks.verify_signature('not-a-token', {'keys': []})


@pytest.mark.parametrize('uri, path', [
    (None, '/openid/v1/jwks'),
    ('', '/openid/v1/jwks'),
    ('https://kubernetes.default.svc.cluster.local/openid/v1/jwks', '/openid/v1/jwks'),
    ('https://issuer.example.com/keys?x=1', '/keys?x=1'),
    ('https://issuer.example.com', '/openid/v1/jwks'),
])
def test_jwks_path(uri, path):
    assert jwks.jwks_path(uri) == path


# ---------------------------------------------------------------- against the double

def _cluster(kube, **options):
    return connection.get_cluster(dict({'kubeconfig': kube.kubeconfig_path}, **options))


def test_verify_with_cluster(kube_double):
    kube_double.create_service_account('app', 'ns')
    token = kube_double.mint_token('app', 'ns')
    result = jwks.verify_with_cluster(_cluster(kube_double), token)
    assert result['verified'] and result['algorithm'] == 'RS256'
    assert result['key_id'] == jwt.get_unverified_header(token)['kid']
    assert result['issuer'] == kube_double.issuers[0]
    assert result['jwks_uri'].endswith('/openid/v1/jwks')
    assert kube_double.count(method='GET', path_re=r'^/\.well-known/openid-configuration$') == 1
    assert kube_double.count(method='GET', path_re=r'^/openid/v1/jwks$') == 1


def test_verify_with_cluster_reports_a_foreign_token(kube_double, other_rsa_key):
    kid = jwt.get_unverified_header(kube_double.mint_token('default', 'default'))['kid']
    token = jwt.encode(dict(CLAIMS, exp=int(time.time()) + 600), other_rsa_key, algorithm='RS256',
                       headers={'kid': kid})
    result = jwks.verify_with_cluster(_cluster(kube_double), token)   # reported, not raised
    assert result['verified'] is False and result['key_id'] is None and result['algorithm'] == 'RS256'
    assert result['reason'] == ('The token\'s signature does not match the cluster\'s key "%s"; the token was '
                                'altered or was not signed by this cluster.' % kid)
    assert result['issuer'] == kube_double.issuers[0]


def test_discovery_failures_are_one_sentence(kube_double):
    kube_double.inject_fault(r'^/\.well-known/openid-configuration$', status=404, count=1)
    with pytest.raises(K8sTokenError) as raised:
        jwks.discover(_cluster(kube_double))
    assert 'does not publish its ServiceAccount issuer' in raised.value.message


def test_discovery_forbidden(kube_double):
    path = kube_double.write_kubeconfig(user='nobody')
    with pytest.raises(K8sTokenError) as raised:
        jwks.discover(connection.get_cluster({'kubeconfig': path}))
    assert '403' in raised.value.message and 'system:service-account-issuer-discovery' in raised.value.message


# Mutants of jwks.py that the tests above let live (make mutation, docs/testing.md).

def test_a_kid_that_no_key_has_is_not_verified_by_another_key(rsa_key, cluster_keys):
    # a published key that would check the signature does not count when its kid is another one
    # (c[0] == kid -> c[0] >= kid)
    kid, keys = cluster_keys
    token = jwt.encode(CLAIMS, rsa_key, algorithm='RS256', headers={'kid': '0-before-every-kid'})
    with pytest.raises(K8sTokenError, match='has the token\'s key id "0-before-every-kid"'):
        jwks.verify_signature(token, keys)


@pytest.mark.parametrize('key_alg, token_alg', [('RS384', 'RS256'), ('RS256', 'RS384')])
def test_a_key_is_used_only_for_its_own_alg(rsa_key, key_alg, token_alg):
    # the same RSA key published for another algorithm does not check this one
    # (data.get('alg') != algorithm -> < or >)
    keys = {'keys': [_jwk(rsa_key.public_key(), key_alg, 'k')]}
    token = jwt.encode(CLAIMS, rsa_key, algorithm=token_alg, headers={'kid': 'k'})
    with pytest.raises(K8sTokenError, match='has the token\'s key id "k" for %s' % token_alg):
        jwks.verify_signature(token, keys)
    # and a key that names its alg checks tokens of that alg ("and" -> "or" would skip every such key)
    fitting = {'keys': [_jwk(rsa_key.public_key(), token_alg, 'k')]}
    assert jwks.verify_signature(token, fitting)['verified'] is True


def test_unusable_keys_before_the_right_one_are_skipped(rsa_key, cluster_keys):
    # every kind of unusable key is passed over, not the end of the search (continue -> break)
    kid, keys = cluster_keys
    keys = {'keys': ['garbage', dict(keys['keys'][0], use='enc'), dict(keys['keys'][0], kty='EC'),
                     {'kty': 'RSA', 'kid': kid, 'use': 'sig'}, keys['keys'][0]]}
    token = jwt.encode(CLAIMS, rsa_key, algorithm='RS256', headers={'kid': kid})
    assert jwks.verify_signature(token, keys)['key_id'] == kid


def test_a_token_pyjwt_cannot_read_is_one_sentence(rsa_key, cluster_keys):
    # an unencoded payload ("b64": false) needs a detached payload: PyJWT's DecodeError becomes one
    # sentence (except jwt.PyJWTError)
    kid, keys = cluster_keys
    token = jwt.encode(CLAIMS, rsa_key, algorithm='RS256', headers={'kid': kid, 'b64': False})
    with pytest.raises(K8sTokenError) as raised:
        jwks.verify_signature(token, keys)
    assert raised.value.message == 'The given token is not a well-formed signed JWT, so its signature cannot be checked.'


def test_the_refused_algorithm_is_named():
    # the sentence names the algorithm ((algorithm or 'none') -> (algorithm and 'none'))
    token = jwt.encode(CLAIMS, 'a-shared-secret-that-is-long-enough-for-hs256', algorithm='HS256')
    with pytest.raises(K8sTokenError) as raised:
        jwks.verify_signature(token, {'keys': []})
    assert raised.value.message.startswith('The token is signed with algorithm "HS256", which no Kubernetes')


def test_a_key_set_without_a_keys_list_is_one_sentence(kube_double):
    # a JWKS answer that is a JSON object without a "keys" list (or -> and in discover)
    kube_double.inject_fault(r'^/openid/v1/jwks$', rewrite=lambda body: {'keys': 'not a list'})
    with pytest.raises(K8sTokenError) as raised:
        jwks.discover(_cluster(kube_double))
    assert raised.value.message == ('The API server answered /openid/v1/jwks without a "keys" list; it does not '
                                    'publish a JSON Web Key Set there.')


def test_jwks_forbidden_names_its_url(kube_double):
    # 403 on the key set itself gets the hint for that URL (the 403 of the hints dict -> 402/404)
    kube_double.inject_fault(r'^/openid/v1/jwks$', status=403, count=1)
    with pytest.raises(K8sTokenError) as raised:
        jwks.discover(_cluster(kube_double))
    assert 'grant it "get" on the non-resource URL "/openid/v1/jwks"' in raised.value.message
