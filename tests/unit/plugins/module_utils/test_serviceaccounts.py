import time

import jwt
import pytest
from kube_double import forgery

from ansible_collections.mcp.k8s.plugins.module_utils import connection, jwks, object_names, reviews, serviceaccounts, tokens
from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError

ISSUER = 'https://kubernetes.default.svc.cluster.local'  # the double's issuer and default audience
TOKEN_PATH = r'/serviceaccounts/[^/]+/token$'


def spec(**kwargs):
    options = {'name': 'server', 'namespace': 'mcp'}
    options.update(kwargs)
    return tokens.token_spec(options)


def add_pod(kube, name, service_account, namespace='mcp'):
    """Create (or recreate, with a new uid) a Pod running as ``service_account``; its uid."""
    if kube.objects.find('pods', name, namespace) is not None:
        kube.objects.delete('pods', name, namespace)
    pod = kube.objects.create('pods', {'metadata': {'name': name}, 'spec': {
        'serviceAccountName': service_account, 'containers': [{'name': 'c', 'image': 'busybox'}]}},
        namespace=namespace)
    return pod['metadata']['uid']


def test_mint_returns_claims_expiry_and_kubeconfig(cluster, kube):
    result = serviceaccounts.ensure_token(cluster, spec(audiences=['mcp'], duration='2h'))
    claims = result['claims']
    # what was asked for (audiences, expirationSeconds) is what the double granted and signed
    assert claims['sub'] == 'system:serviceaccount:mcp:server' and claims['aud'] == ['mcp']
    assert claims['exp'] - claims['iat'] == 7200 == result['duration']
    assert result['reused'] is False and result['audiences'] == ['mcp']
    assert 7190 < result['expires_in'] <= 7200
    assert result['expiration_timestamp'].endswith('Z') and result['jwt_expiration_timestamp'] is None
    assert result['service_account'] == {'namespace': 'mcp', 'name': 'server',
                                         'uid': kube.objects.get('serviceaccounts', 'server', 'mcp')['metadata']['uid']}
    assert result['kubeconfig']['users'][0]['user']['token'] == result['token']
    assert kube.count('POST', TOKEN_PATH) == 1 == len(kube.requests)
    assert set(result) == set(tokens.RESULT_KEYS)


def test_reuse_makes_one_read_and_no_token_request(cluster, kube):
    first = serviceaccounts.ensure_token(cluster, spec())
    kube.clear_requests()
    again = serviceaccounts.ensure_token(cluster, spec(), token=first['token'], renew_before='10m')
    assert again['reused'] is True and again['token'] == first['token']
    # the cluster's keys, once per process and cluster (the token is from outside: signed by this
    # cluster?), then the one read per reuse: the ServiceAccount as it exists now (its uid)
    assert [(r['method'], r['path']) for r in kube.requests] == [
        ('GET', '/.well-known/openid-configuration'), ('GET', '/openid/v1/jwks'),
        ('GET', '/api/v1/namespaces/mcp/serviceaccounts/server')]
    kube.clear_requests()
    assert serviceaccounts.ensure_token(cluster, spec(), token=first['token'], renew_before='10m')['reused'] is True
    assert [(r['method'], r['path']) for r in kube.requests] == [('GET', '/api/v1/namespaces/mcp/serviceaccounts/server')]
    assert again['audiences'] == [ISSUER] and again['duration'] == 3600
    for other in (spec(name='default', namespace='default'), spec(audiences=['x']), spec(duration='2h')):
        fits = serviceaccounts.reusable(first['token'], other, 0)
        assert fits[0] is (other.seconds == 7200)  # the duration is not part of the identity
    assert serviceaccounts.reusable(first['token'], spec(), 3600) == (False, 'expires within renew_before')
    renewed = serviceaccounts.ensure_token(cluster, spec(), token=first['token'], renew_before='1h')
    assert renewed['reused'] is False and kube.count('POST', TOKEN_PATH) == 1


def test_check_mode_mints_nothing(cluster, kube):
    result = serviceaccounts.ensure_token(cluster, spec(), check_mode=True)
    assert result['token'] is None and result['reused'] is False and kube.requests == []
    assert result['duration'] == 3600


def test_bound_object_reads_uid_and_reuse_checks_it(cluster, kube):
    uid = add_pod(kube, 'p', 'server')
    result = serviceaccounts.ensure_token(cluster, spec(bound_object={'kind': 'Pod', 'name': 'p'}))
    assert result['bound_object'] == {'kind': 'Pod', 'name': 'p', 'uid': uid}
    # the double binds to the boundObjectRef sent: the token names the Pod and its uid
    assert result['claims']['kubernetes.io']['pod'] == {'name': 'p', 'uid': uid}
    assert kube.count('GET', r'/pods/p$') == 1
    again = serviceaccounts.ensure_token(cluster, spec(bound_object={'kind': 'Pod', 'name': 'p'}), token=result['token'])
    assert again['reused'] is True
    add_pod(kube, 'p', 'server')    # recreated: another uid
    renewed = serviceaccounts.ensure_token(cluster, spec(bound_object={'kind': 'Pod', 'name': 'p'}), token=result['token'])
    assert renewed['reused'] is False and renewed['bound_object']['uid'] != uid


def test_bound_object_errors(cluster, kube):
    add_pod(kube, 'other', 'default')
    with pytest.raises(K8sTokenError) as info:
        serviceaccounts.ensure_token(cluster, spec(bound_object={'kind': 'Pod', 'name': 'other'}))
    assert info.value.message == ('Pod "mcp/other" runs as ServiceAccount "default", not "server"; a token can '
                                  'only be bound to a Pod of its own ServiceAccount.')
    with pytest.raises(K8sTokenError) as info:
        serviceaccounts.ensure_token(cluster, spec(bound_object={'kind': 'Pod', 'name': 'gone'}))
    assert info.value.message.startswith('Pod "gone" does not exist in namespace "mcp"; create it first')
    add_pod(kube, 'p', 'server')
    with pytest.raises(K8sTokenError) as info:
        serviceaccounts.ensure_token(cluster, spec(bound_object={'kind': 'Pod', 'name': 'p', 'uid': 'old-uid'}))
    assert info.value.message.endswith('omit bound_object.uid to bind to its current uid.')


def test_missing_service_account_namespace_and_forbidden(cluster, kube):
    with pytest.raises(K8sTokenError) as info:
        serviceaccounts.ensure_token(cluster, spec(name='nobody'))
    assert info.value.message == ('ServiceAccount "nobody" does not exist in namespace "mcp"; create it first '
                                  'or correct the name.')
    with pytest.raises(K8sTokenError) as info:
        serviceaccounts.ensure_token(cluster, spec(namespace='nowhere'))
    assert info.value.message.startswith('Namespace "nowhere" does not exist;')
    alice = connection.get_cluster({'kubeconfig': kube.write_kubeconfig(user='alice')})  # no grants
    with pytest.raises(K8sTokenError) as info:
        serviceaccounts.ensure_token(alice, spec())
    assert info.value.message.startswith('User "alice" may not create serviceaccounts/token in namespace "mcp"')


def test_retries_count_requests(cluster, kube):
    kube.inject_fault(TOKEN_PATH, status=429, count=2, retry_after=0)
    kube.inject_fault(TOKEN_PATH, drop=True, count=1)
    assert serviceaccounts.ensure_token(cluster, spec())['token']
    assert kube.count('POST', TOKEN_PATH) == 4


def test_warnings_and_validate(kube_double_factory, monkeypatch):
    monkeypatch.delenv('K8S_AUTH_KUBECONFIG', raising=False)
    kube = kube_double_factory(max_token_expiration=3600)
    kube.create_service_account('server', 'mcp')
    cluster = connection.get_cluster({'kubeconfig': kube.kubeconfig_path})
    result = serviceaccounts.ensure_token(cluster, spec(duration='24h'), validate=True)
    assert result['api_warnings'] == ['requested expiration of 86400 seconds shortened to 3600 seconds']
    assert result['duration'] == 3600
    assert result['review']['authenticated'] is True
    assert result['review']['user']['username'] == 'system:serviceaccount:mcp:server'


def test_reviews_with_the_token(cluster, kube):
    token = serviceaccounts.ensure_token(cluster, spec())['token']
    account = 'system:serviceaccount:mcp:server'
    kube.grant(account, ['list'], ['pods'], namespace='mcp')
    kube.grant(account, ['get'], ['pods/log'])
    # allowed only when the core splits "deployments.apps/scale" into resource, group and subresource
    kube.grant(account, ['patch'], ['deployments/scale'], api_groups=['apps'])
    as_token = cluster.with_token(token)
    checks = reviews.access_reviews(as_token, [{'verb': 'list', 'resource': 'pods', 'namespace': 'mcp'},
                                               {'verb': 'get', 'resource': 'secrets'},
                                               {'verb': 'get', 'resource': 'pods/log'},
                                               {'verb': 'patch', 'resource': 'deployments.apps/scale'}])
    assert [c['allowed'] for c in checks] == [True, False, True, True]
    assert kube.requests[-1]['path'].endswith('/selfsubjectaccessreviews')
    assert kube.requests[-1]['user'] == account    # sent with the token


def test_inspect_token_extended_expiry():
    now = int(time.time())
    token = jwt.encode({'iss': ISSUER, 'sub': 'system:serviceaccount:mcp:server', 'aud': [ISSUER], 'iat': now,
                        'exp': now + 365 * 86400, 'kubernetes.io': {
                            'namespace': 'mcp', 'serviceaccount': {'name': 'server', 'uid': 'u'},
                            'pod': {'name': 'p', 'uid': 'pu'}, 'node': {'name': 'n', 'uid': 'nu'},
                            'warnafter': now + 3607}}, 'k' * 32, algorithm='HS256')
    info = serviceaccounts.inspect_token(token, now=now)
    assert info['expires_in'] == 3607 and info['bound_object'] == {'kind': 'Pod', 'name': 'p', 'uid': 'pu'}
    with pytest.raises(K8sTokenError) as error:
        serviceaccounts.inspect_token('not-a-token')
    assert 'not-a-token' not in error.value.message


def test_not_a_jwt_is_not_reused(cluster, kube):
    result = serviceaccounts.ensure_token(cluster, spec(), token='garbage-token')
    assert result['reused'] is False


def test_concurrent_minting_over_one_client(cluster, kube):
    from concurrent.futures import ThreadPoolExecutor
    for i in range(40):
        kube.create_service_account('sa%d' % i, 'mcp')
    kube.clear_requests()
    options = {'kubeconfig': kube.kubeconfig_path}
    with ThreadPoolExecutor(8) as pool:
        clients = set(pool.map(lambda _i: id(connection.get_cluster(options)), range(16)))
        results = list(pool.map(lambda i: serviceaccounts.ensure_token(connection.get_cluster(options),
                                                                       spec(name='sa%d' % i)), range(40)))
    assert clients == {id(cluster)}
    assert [r['service_account']['name'] for r in results] == ['sa%d' % i for i in range(40)]
    assert len(set(r['token'] for r in results)) == 40 and kube.count('POST', TOKEN_PATH) == 40


def test_empty_audiences_take_any_audiences_as_the_defaults(cluster, kube):
    custom = serviceaccounts.ensure_token(cluster, spec(audiences=['api.example']))['token']
    assert serviceaccounts.reusable(custom, spec(), 0) == (True, None)
    assert serviceaccounts.reusable(custom, spec(audiences=['api.example']), 0) == (True, None)
    assert serviceaccounts.reusable(custom, spec(audiences=['api.example', 'other']), 0) == (False, 'other audiences')


def test_inspect_legacy_token():
    token = jwt.encode({'iss': tokens.LEGACY_ISSUER, 'sub': 'system:serviceaccount:mcp:server',
                        'kubernetes.io/serviceaccount/namespace': 'mcp',
                        'kubernetes.io/serviceaccount/secret.name': 'server-token',
                        'kubernetes.io/serviceaccount/service-account.name': 'server',
                        'kubernetes.io/serviceaccount/service-account.uid': 'sa-uid'}, 'k' * 32, algorithm='HS256')
    info = serviceaccounts.inspect_token(token)
    assert info['legacy'] is True and info['expires_in'] is None and info['audiences'] == []
    assert info['service_account'] == {'namespace': 'mcp', 'name': 'server', 'uid': 'sa-uid'}
    assert info['secret'] == {'namespace': 'mcp', 'name': 'server-token'}
    assert serviceaccounts.reusable(token, spec(), 0) == (False, 'expires within renew_before')


def recreate_account(cluster, name='server', namespace='mcp'):
    """Delete and recreate a ServiceAccount through the API, as a user would (it gets a new uid)."""
    path = '/api/v1/namespaces/%s/serviceaccounts' % namespace
    cluster.request('DELETE', '%s/%s' % (path, name))
    body = {'apiVersion': 'v1', 'kind': 'ServiceAccount', 'metadata': {'name': name}}
    return cluster.request('POST', path, body=body).data['metadata']['uid']


def test_token_of_a_recreated_account_is_replaced(cluster, kube):
    first = serviceaccounts.ensure_token(cluster, spec())
    old_uid = first['service_account']['uid']
    new_uid = recreate_account(cluster)
    assert new_uid != old_uid
    kube.clear_requests()
    again = serviceaccounts.ensure_token(cluster, spec(), token=first['token'])
    assert again['reused'] is False and again['token'] != first['token']
    assert again['service_account']['uid'] == new_uid and kube.count('POST', TOKEN_PATH) == 1
    # and the old one really is dead: the server rejects it
    assert serviceaccounts.review_token(cluster, first['token'])['authenticated'] is False


def test_token_of_another_cluster_is_replaced(cluster, kube, kube_double_factory):
    other = kube_double_factory()
    other.create_service_account('server', 'mcp')
    foreign = other.mint_token('server', 'mcp')     # same issuer, same names: only the uid differs
    assert serviceaccounts.reusable(foreign, spec(), 300) == (True, None)
    kube.clear_requests()
    result = serviceaccounts.ensure_token(cluster, spec(), token=foreign)
    assert result['reused'] is False and result['token'] != foreign and kube.count('POST', TOKEN_PATH) == 1
    assert serviceaccounts.current_problem(cluster, spec(), foreign) == \
        'the token is for another cluster or an earlier ServiceAccount of that name'


def test_previous_result_is_reused_only_while_current(cluster, kube):
    """The lookup's cache hands ensure_token its earlier result: kept whole while current."""
    first = serviceaccounts.ensure_token(cluster, spec(), validate=True)
    first['api_warnings'] = ['old warning']
    kube.clear_requests()
    again = serviceaccounts.ensure_token(cluster, spec(), previous=first, validate=True)
    assert again['reused'] is True and again['token'] == first['token'] and again['api_warnings'] == []
    assert again['issued_at'] == first['issued_at'] and again['review']['authenticated'] is True
    assert kube.count('POST', r'/tokenreviews$') == 1 and kube.count('POST', TOKEN_PATH) == 0
    recreate_account(cluster)
    renewed = serviceaccounts.ensure_token(cluster, spec(), previous=first, validate=True)
    assert renewed['reused'] is False and renewed['token'] != first['token']
    assert renewed['review']['authenticated'] is True


def test_reuse_without_read_rights_asks_the_server_with_the_token(cluster, kube):
    """A caller that may only mint: the token itself says who it is (SelfSubjectReview)."""
    kube.grant('minter', ['create'], ['serviceaccounts/token'], namespace='mcp')
    minter = connection.get_cluster({'kubeconfig': kube.write_kubeconfig(user='minter')})
    first = serviceaccounts.ensure_token(minter, spec())
    kube.clear_requests()
    again = serviceaccounts.ensure_token(minter, spec(), token=first['token'], keys=jwks.KeyStore())
    assert again['reused'] is True
    # the keys and TokenReview refused (as on a cluster that grants them to ServiceAccounts only):
    # the token itself asks who it is, once
    assert [(r['path'], r['status']) for r in kube.requests] == [
        ('/.well-known/openid-configuration', 403),
        ('/apis/authentication.k8s.io/v1/tokenreviews', 403),
        ('/apis/authentication.k8s.io/v1/selfsubjectreviews', 201),
        ('/api/v1/namespaces/mcp/serviceaccounts/server', 403)]
    recreate_account(cluster)
    kube.expire_auth_cache()   # kube-apiserver accepts the old token for up to 10 s more
    renewed = serviceaccounts.ensure_token(minter, spec(), token=first['token'])
    assert renewed['reused'] is False and renewed['token'] != first['token']


def _replace_token(token):
    def rewrite(body):
        body['status']['token'] = token
        return body
    return rewrite


def _set_status(**fields):
    def rewrite(body):
        body['status'].update(fields)
        return body
    return rewrite


def _unsigned(claims):
    return jwt.encode(claims, 'k' * 32, algorithm='HS256')


@pytest.mark.parametrize('case', ['past', 'not-rfc3339', 'other-account', 'exp-not-a-number', 'opaque', 'expired-jwt'])
def test_malformed_token_request_answer_blames_the_server(cluster, kube, case):
    now = int(time.time())
    claims = {'iss': ISSUER, 'sub': 'system:serviceaccount:mcp:server', 'aud': [ISSUER], 'iat': now,
              'exp': now + 3600, 'kubernetes.io': {'namespace': 'mcp', 'serviceaccount': {'name': 'server', 'uid': 'u'}}}
    rewrite, phrase = {
        'past': (_set_status(expirationTimestamp='2001-01-01T00:00:00Z'),
                 'an expirationTimestamp "2001-01-01T00:00:00Z" in the past'),
        'not-rfc3339': (_set_status(expirationTimestamp='tomorrow at noon'),
                        'an expirationTimestamp "tomorrow at noon" that is not an RFC 3339 time'),
        'other-account': (_replace_token(kube.mint_token('default', 'default')),
                          'a token for "system:serviceaccount:default:default"'),
        'exp-not-a-number': (_replace_token(_unsigned(dict(claims, exp='soon'))),
                             'a token with a "exp" claim of "soon" instead of a number of seconds'),
        'opaque': (_replace_token('opaque-secret-value'),
                   'a token that is not a JWT (three base64url parts with a JSON payload)'),
        'expired-jwt': (_replace_token(_unsigned(dict(claims, iat=now - 7200, exp=now - 3600))),
                        'a token that has already expired'),
    }[case]
    kube.inject_fault(TOKEN_PATH, rewrite=rewrite)
    with pytest.raises(K8sTokenError) as info:
        serviceaccounts.ensure_token(cluster, spec())
    assert info.value.message == (
        'The API server answered the TokenRequest for ServiceAccount "mcp/server" with %s, which kube-apiserver '
        'never sends; check that %s is the Kubernetes API server and that no proxy or webhook in between changes '
        'its answers.' % (phrase, kube.url))
    assert 'opaque-secret-value' not in info.value.message


def test_a_given_token_with_a_non_numeric_exp_is_not_reused_nor_a_python_error(cluster, kube):
    now = int(time.time())
    token = _unsigned({'sub': 'system:serviceaccount:mcp:server', 'exp': 'never', 'iat': now,
                       'kubernetes.io': {'namespace': 'mcp', 'serviceaccount': {'name': 'server', 'uid': 'u'}}})
    assert serviceaccounts.reusable(token, spec(), 0) == (False, 'not a JWT')
    with pytest.raises(K8sTokenError) as info:
        serviceaccounts.inspect_token(token)
    assert info.value.message == ('The given token has a "exp" claim of "never" instead of a number of seconds; it '
                                  'is not a token a Kubernetes API server issues.')
    assert serviceaccounts.ensure_token(cluster, spec(), token=token)['reused'] is False


def test_bound_object_name_with_a_final_newline_is_refused():
    with pytest.raises(K8sTokenError) as info:
        spec(bound_object={'kind': 'Secret', 'name': 'anchor\n'})
    assert info.value.message.startswith('bound_object.name "anchor\\n" is not a valid Secret name;')
    assert object_names.is_dns1123_subdomain('anchor\n') is False and object_names.is_dns1123_label('mcp\n') is False


def test_a_given_token_with_whitespace_around_it_is_replaced(cluster, kube):
    first = serviceaccounts.ensure_token(cluster, spec())
    assert serviceaccounts.reusable(first['token'] + '\n', spec(), 0) == (False, 'not a JWT')
    again = serviceaccounts.ensure_token(cluster, spec(), token=first['token'] + '\n')
    assert again['reused'] is False and again['token'] == again['token'].strip()


def test_a_given_token_comes_before_the_previous_result_and_confirmed_tokens_are_not_read(cluster, kube):
    given = serviceaccounts.ensure_token(cluster, spec())
    previous = serviceaccounts.ensure_token(cluster, spec())
    kube.clear_requests()
    assert serviceaccounts.ensure_token(cluster, spec(), token=given['token'], previous=previous)['token'] == given['token']
    # a given token that does not fit (another account): the previous result, read once
    other = serviceaccounts.ensure_token(cluster, spec(name='default', namespace='default'))
    kube.clear_requests()
    again = serviceaccounts.ensure_token(cluster, spec(), token=other['token'], previous=previous)
    assert again['token'] == previous['token'] and again['reused'] is True
    assert [(r['method'], r['path']) for r in kube.requests] == [('GET', '/api/v1/namespaces/mcp/serviceaccounts/server')]
    # confirmed by the caller: no read at all, but still only while it fits offline
    kube.clear_requests()
    assert serviceaccounts.ensure_token(cluster, spec(), previous=previous, confirmed={previous['token']})['reused'] is True
    assert kube.requests == []
    renewed = serviceaccounts.ensure_token(cluster, spec(), previous=previous, confirmed={previous['token']}, renew_before='1h')
    assert renewed['reused'] is False and kube.count('POST', TOKEN_PATH) == 1


# ---------------------------------------------------------------- only tokens the API server accepts are reused


def _uid(kube, name='server', namespace='mcp'):
    return kube.objects.get('serviceaccounts', name, namespace)['metadata']['uid']


@pytest.mark.parametrize('kind', forgery.KINDS)
def test_a_forged_token_naming_the_account_and_its_uid_is_replaced_with_a_warning(cluster, kube, kind):
    forged = forgery.forge(kube, kind, 'server', 'mcp', _uid(kube))
    assert serviceaccounts.reusable(forged, spec(), 300)[0]       # everything it claims fits
    warnings = []
    result = serviceaccounts.ensure_token(cluster, spec(), token=forged, source='read from /srv/mcp.kubeconfig',
                                          keys=jwks.KeyStore(), warn=warnings.append)
    assert result['reused'] is False and result['token'] != forged
    assert kube.count('POST', TOKEN_PATH) == 1
    assert kube.count('GET', r'/serviceaccounts/server$') == 0      # judged before the uid read
    reason = {'alg none': 'the token is signed with algorithm "none", which no Kubernetes cluster uses',
              'another key': 'no key the cluster publishes at /openid/v1/jwks has the token\'s key id "mine"',
              'another key, the cluster key id': 'the token\'s signature does not match the cluster\'s key',
              'another issuer': 'the token\'s issuer "https://issuer.elsewhere.example" is not the cluster\'s'}[kind]
    assert len(warnings) == 1 and warnings[0].startswith(
        'The token read from /srv/mcp.kubeconfig was not reused because ' + reason), warnings
    assert warnings[0].endswith('; a new token replaces it.') and forged not in warnings[0]


def test_the_keys_are_read_once_per_store_and_again_once_for_an_unknown_key_id(cluster, kube):
    keys = jwks.KeyStore()
    good = serviceaccounts.ensure_token(cluster, spec())['token']
    for dummy in range(3):
        assert serviceaccounts.ensure_token(cluster, spec(), token=good, keys=keys)['reused'] is True
    assert kube.count('GET', r'^/openid/v1/jwks$') == 1 and kube.count('GET', r'openid-configuration$') == 1
    # a set read before a key rotation: the token's key id is unknown, the set is read again, once
    keys.put(cluster.identity, dict(keys.get(cluster.identity), keys={'keys': []}))
    assert serviceaccounts.ensure_token(cluster, spec(), token=good, keys=keys)['reused'] is True
    assert kube.count('GET', r'^/openid/v1/jwks$') == 2
    forged = forgery.forge(kube, 'another key', 'server', 'mcp', _uid(kube))
    for dummy in range(2):
        assert serviceaccounts.ensure_token(cluster, spec(), token=forged, keys=keys)['reused'] is False
    assert kube.count('GET', r'^/openid/v1/jwks$') == 2


def test_without_the_keys_a_token_review_decides(cluster, kube):
    """A caller that may not read the keys but may review tokens (system:auth-delegator)."""
    kube.grant('reviewer', ['create'], ['serviceaccounts/token'], namespace='mcp')
    kube.grant('reviewer', ['get'], ['serviceaccounts'], namespace='mcp')
    kube.grant('reviewer', ['create'], ['tokenreviews'], api_groups=['authentication.k8s.io'])
    reviewer = connection.get_cluster({'kubeconfig': kube.write_kubeconfig(user='reviewer')})
    good = serviceaccounts.ensure_token(cluster, spec())['token']
    keys, warnings = jwks.KeyStore(), []
    kube.clear_requests()
    assert serviceaccounts.ensure_token(reviewer, spec(), token=good, keys=keys, warn=warnings.append)['reused'] is True
    assert kube.count('POST', r'/tokenreviews$') == 1 and warnings == []
    forged = forgery.forge(kube, 'another key', 'server', 'mcp', _uid(kube))
    result = serviceaccounts.ensure_token(reviewer, spec(), token=forged, keys=keys, warn=warnings.append)
    assert result['reused'] is False and kube.count('POST', r'/tokenreviews$') == 2
    assert len(warnings) == 1 and warnings[0].startswith(
        'The token given was not reused because the API server does not authenticate it (TokenReview: ')
    assert kube.count('GET', r'openid-configuration$') == 1      # the refusal is remembered too


def test_without_keys_or_review_only_the_token_itself_can_say(kube):
    kube.grant('minter', ['create'], ['serviceaccounts/token'], namespace='mcp')
    minter = connection.get_cluster({'kubeconfig': kube.write_kubeconfig(user='minter')})
    forged = forgery.forge(kube, 'alg none', 'server', 'mcp', _uid(kube))
    warnings = []
    result = serviceaccounts.ensure_token(minter, spec(), token=forged, keys=jwks.KeyStore(), warn=warnings.append,
                                          source='given in option token')
    assert result['reused'] is False
    assert len(warnings) == 1 and warnings[0].startswith(
        'The token given in option token was not reused because the cluster\'s signing keys could not be read (User '
        '"minter" may not get the OIDC discovery document')
    assert warnings[0].endswith('a TokenReview is not allowed and the API server does not authenticate the token as '
                                'system:serviceaccount:mcp:server; a new token replaces it.')


def test_tokens_of_the_cache_and_confirmed_ones_are_not_checked_again(cluster, kube):
    first = serviceaccounts.ensure_token(cluster, spec())
    kube.clear_requests()
    assert serviceaccounts.ensure_token(cluster, spec(), previous=first, keys=jwks.KeyStore())['reused'] is True
    assert serviceaccounts.ensure_token(cluster, spec(), token=first['token'], confirmed={first['token']},
                                        keys=jwks.KeyStore())['reused'] is True
    assert kube.count('GET', r'openid') == 0


def test_validate_lets_the_token_review_judge_and_warns(cluster, kube):
    forged = forgery.forge(kube, 'another issuer', 'server', 'mcp', _uid(kube))
    warnings = []
    result = serviceaccounts.ensure_token(cluster, spec(), token=forged, validate=True, keys=jwks.KeyStore(),
                                          warn=warnings.append)
    assert result['reused'] is False and result['review']['authenticated'] is True
    assert kube.count('GET', r'openid') == 0 and len(warnings) == 1
    assert 'the API server does not authenticate it (TokenReview:' in warnings[0]


def test_the_cluster_keys_are_read_only_for_a_given_token_that_fits(cluster, kube):
    # a mint reads no keys; nor does a given token that would not be reused anyway (other audiences,
    # expiring): the two GETs (discovery and JWKS) come only before a reuse, in a fresh key store
    kube.clear_requests()
    first = serviceaccounts.ensure_token(cluster, spec(), keys=jwks.KeyStore())
    assert [(r['method'], r['path']) for r in kube.requests] == [
        ('POST', '/api/v1/namespaces/mcp/serviceaccounts/server/token')]
    kube.clear_requests()
    serviceaccounts.ensure_token(cluster, spec(audiences=['x']), token=first['token'], keys=jwks.KeyStore())
    serviceaccounts.ensure_token(cluster, spec(), token=first['token'], renew_before='2h', keys=jwks.KeyStore())
    assert kube.count('GET', r'openid') == 0 and kube.count('POST', TOKEN_PATH) == 2
    kube.clear_requests()
    serviceaccounts.ensure_token(cluster, spec(), token=first['token'], keys=jwks.KeyStore())
    assert kube.count('GET', r'openid') == 2 and kube.count('POST', TOKEN_PATH) == 0
