"""The token_claims filter: claims of a JWT, unverified; one sentence for anything else."""
import base64
import json

import jwt
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mcp.k8s.plugins.filter.token_claims import FilterModule, token_claims

CLAIMS = {'iss': 'https://kubernetes.default.svc.cluster.local', 'sub': 'system:serviceaccount:mcp:server',
          'aud': ['https://kubernetes.default.svc.cluster.local'], 'exp': 1795886471, 'iat': 1795882871,
          'kubernetes.io': {'namespace': 'mcp', 'serviceaccount': {'name': 'server', 'uid': 'u-1'}}}
LEGACY_CLAIMS = {'iss': 'kubernetes/serviceaccount', 'sub': 'system:serviceaccount:mcp:server',
                 'kubernetes.io/serviceaccount/namespace': 'mcp',
                 'kubernetes.io/serviceaccount/secret.name': 'server-token'}


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


def _token(claims):
    return jwt.encode(claims, 'not-a-cluster-key-but-long-enough-for-hs256', algorithm='HS256')


def test_registered_under_its_name():
    assert FilterModule().filters()['token_claims'] is token_claims


def test_decodes_a_bound_token_without_verifying():
    assert token_claims(_token(CLAIMS)) == CLAIMS


def test_decodes_a_legacy_token_without_exp():
    claims = token_claims(_token(LEGACY_CLAIMS))
    assert claims == LEGACY_CLAIMS
    assert 'exp' not in claims


def test_expired_token_still_decodes():
    claims = dict(CLAIMS, exp=1000)
    assert token_claims(_token(claims))['exp'] == 1000


def test_white_space_and_bytes_are_accepted():
    token = _token(CLAIMS)
    assert token_claims('  %s\n' % token) == CLAIMS
    assert token_claims(token.encode()) == CLAIMS


@pytest.mark.parametrize('value', [
    'not-a-token-at-all',
    'aaaa.bbbb.cccc',
    'eyJhbGciOiJSUzI1NiJ9.!!!!.sig',
    'eyJhbGciOiJSUzI1NiJ9.%s.sig' % _b64(b'not json'),
    'only.two',
    'secret-value-%s' % ('x' * 40),
])
def test_not_a_jwt_is_one_sentence_without_the_value(value):
    with pytest.raises(AnsibleFilterError) as raised:
        token_claims(value)
    message = str(raised.value)
    assert message.startswith('token_claims: ')
    assert 'not a JWT' in message
    assert value not in message
    assert message.count('. ') == 0 and message.endswith('.')


def test_payload_that_is_not_an_object():
    token = '%s.%s.%s' % (_b64(b'{"alg":"HS256"}'), _b64(json.dumps([1, 2]).encode()), _b64(b'sig'))
    with pytest.raises(AnsibleFilterError, match='not a JWT'):
        token_claims(token)


@pytest.mark.parametrize('value, kind', [(None, 'nothing'), (42, 'int'), ({'a': 1}, 'dict'), (['x'], 'list')])
def test_not_a_string(value, kind):
    with pytest.raises(AnsibleFilterError, match='expects a token') as raised:
        token_claims(value)
    assert kind in str(raised.value)


@pytest.mark.parametrize('value', ['', '   ', '\n'])
def test_empty(value):
    with pytest.raises(AnsibleFilterError, match='empty string'):
        token_claims(value)
