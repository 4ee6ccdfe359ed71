"""tokens.py: what to mint and the decisions over a token's decoded claims (no request, no JWT)."""
import pytest

from ansible_collections.mcp.k8s.plugins.module_utils import tokens
from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError

NOW = 1800000000
UID = '5a8f3d5c-2d1e-4d0a-8a4c-0a4f0b3c2e11'


def spec(**kwargs):
    options = {'name': 'server', 'namespace': 'mcp'}
    options.update(kwargs)
    return tokens.token_spec(options)


def claims(sub='system:serviceaccount:mcp:server', aud=('https://kubernetes.default.svc',), exp=NOW + 3600, **extra):
    k8s = {'namespace': 'mcp', 'serviceaccount': {'name': sub.split(':')[-1], 'uid': UID}}
    k8s.update(extra.pop('k8s', {}))
    data = {'iss': 'https://kubernetes.default.svc', 'sub': sub, 'aud': list(aud), 'iat': NOW - 60, 'nbf': NOW - 60,
            'exp': exp, 'jti': 'j-1', 'kubernetes.io': k8s}
    data.update(extra)
    return data


def info(**kwargs):
    return tokens.read_claims(claims(**kwargs), now=NOW)


def test_spec_validation_before_any_request():
    assert spec().key() == ('mcp', 'server', (), 3600, None)
    assert spec(audiences='a', bound_object={'kind': 'pod', 'name': 'p'}).key() == \
        ('mcp', 'server', ('a',), 3600, ('Pod', 'p', None))
    for options, fragment in (({'name': ''}, 'name must be'), ({'audiences': ['']}, 'non-empty strings'),
                              ({'duration': '1m'}, 'below the minimum'),
                              ({'bound_object': {'kind': 'ConfigMap', 'name': 'c'}}, 'Pod, Secret or Node'),
                              ({'bound_object': {'kind': 'Pod'}}, 'bound_object.name is required')):
        with pytest.raises(K8sTokenError) as info:
            spec(**options)
        assert fragment in info.value.message


def test_read_claims_says_who_for_whom_and_until_when():
    read = info(k8s={'pod': {'name': 'p', 'uid': 'pod-uid'}, 'warnafter': NOW + 600})
    assert read['service_account'] == {'namespace': 'mcp', 'name': 'server', 'uid': UID}
    assert read['bound_object'] == {'kind': 'Pod', 'name': 'p', 'uid': 'pod-uid'}
    assert (read['expires_at'], read['jwt_expires_at'], read['expires_in']) == (NOW + 600, NOW + 3600, 600)
    assert read['credential_id'] == 'JTI=j-1' and read['legacy'] is False
    legacy = tokens.read_claims({'iss': tokens.LEGACY_ISSUER, 'sub': 'system:serviceaccount:mcp:old',
                                 tokens.LEGACY_CLAIM + 'secret.name': 'old-token'}, now=NOW)
    assert legacy['legacy'] is True and legacy['secret'] == {'namespace': 'mcp', 'name': 'old-token'}
    with pytest.raises(K8sTokenError) as failed:
        tokens.read_claims(claims(exp='tomorrow'), now=NOW)
    assert 'a "exp" claim of "tomorrow" instead of a number of seconds' in failed.value.message
    with pytest.raises(K8sTokenError):
        tokens.read_claims(['not', 'a', 'dict'], now=NOW)


@pytest.mark.parametrize('read, asked, renew, answer', [
    (dict(), {}, 300, (True, None)),
    (dict(sub='system:serviceaccount:mcp:other'), {}, 300, (False, 'another ServiceAccount')),
    (dict(aud=['a', 'b']), {'audiences': ['a']}, 300, (False, 'other audiences')),
    (dict(aud=['b', 'a']), {'audiences': ['a', 'b']}, 300, (True, None)),
    (dict(aud=['anything']), {}, 300, (True, None)),      # no audiences asked: the server's defaults
    (dict(), {'bound_object': {'kind': 'Pod', 'name': 'p'}}, 300, (False, 'another bound object')),
    (dict(k8s={'pod': {'name': 'p', 'uid': 'u1'}}), {'bound_object': {'kind': 'Pod', 'name': 'p', 'uid': 'u2'}}, 300,
     (False, 'another bound object')),
    (dict(k8s={'pod': {'name': 'p', 'uid': 'u1'}}), {'bound_object': {'kind': 'Pod', 'name': 'p'}}, 300, (True, None)),
    (dict(exp=NOW + 300), {}, 300, (False, 'expires within renew_before')),
    (dict(exp=NOW + 301), {}, 300, (True, None)),
])
def test_fits_decides_reuse_offline_with_the_reason(read, asked, renew, answer):
    assert tokens.fits(info(**read), spec(**asked), renew) == answer


def test_account_problem_compares_the_uids_the_cluster_has_now():
    read = info(k8s={'pod': {'name': 'p', 'uid': 'pod-uid'}})
    bound = spec(bound_object={'kind': 'Pod', 'name': 'p'})
    assert tokens.account_problem(read, spec(), UID) is None
    assert tokens.account_problem(read, spec(), 'recreated') == \
        'the token is for another cluster or an earlier ServiceAccount of that name'
    assert tokens.account_problem(read, spec(), None) == \
        'the token is for another cluster or an earlier ServiceAccount of that name'
    assert tokens.needs_bound_uid(bound) and not tokens.needs_bound_uid(spec())
    assert tokens.account_problem(read, bound, UID) is None                 # bound object not read yet
    assert tokens.account_problem(read, bound, UID, 'pod-uid') is None
    assert tokens.account_problem(read, bound, UID, 'new-pod') == 'the bound object was replaced'
    no_uid = tokens.read_claims(claims(k8s={'serviceaccount': {'name': 'server'}}), now=NOW)
    assert tokens.account_problem(no_uid, spec(), UID) == 'the token names no ServiceAccount uid'


@pytest.mark.parametrize('answer, expiration, problem', [
    (claims(), None, None),
    (claims(), '2027-01-15T09:00:00Z', None),
    (None, None, 'a token that is not a JWT (three base64url parts with a JSON payload)'),
    (claims(iat='soon'), None, 'a token with a "iat" claim of "soon" instead of a number of seconds'),
    (claims(sub='system:serviceaccount:mcp:other'), None, 'a token for "system:serviceaccount:mcp:other"'),
    (claims(), 'yesterday', 'an expirationTimestamp "yesterday" that is not an RFC 3339 time'),
    (claims(), '2020-01-01T00:00:00Z', 'an expirationTimestamp "2020-01-01T00:00:00Z" in the past'),
    (claims(exp=NOW - 1), None, 'a token that has already expired'),
])
def test_answer_problem_names_what_kube_apiserver_never_sends(answer, expiration, problem):
    assert tokens.answer_problem(spec(), answer, expiration, now=NOW) == problem


def test_result_for_leaves_the_token_and_kubeconfig_to_the_caller():
    result = tokens.result_for(info(k8s={'warnafter': NOW + 600}), reused=False, now=NOW)
    assert set(result) == set(tokens.RESULT_KEYS)
    assert result['token'] is None and result['kubeconfig'] is None and result['reused'] is False
    assert (result['expires_in'], result['duration']) == (600, 660)
    assert result['jwt_expiration_timestamp'] is not None and result['credential_id'] == 'JTI=j-1'
    given = tokens.result_for(info(), reused=True, now=NOW, status_expiration='2027-01-15T08:00:00Z')
    assert given['expiration_timestamp'] == '2027-01-15T08:00:00Z' and given['reused'] is True
    empty = tokens.empty_result(spec(audiences=['a']))
    assert empty['token'] is None and empty['audiences'] == ['a'] and empty['duration'] == 3600


def test_phrase_fits_a_sentence_inside_another():
    assert tokens.phrase('The keys could not be read.') == 'the keys could not be read'
    assert tokens.phrase('HTTP 403 Forbidden.') == 'HTTP 403 Forbidden'
