import time

import jwt
import pytest

from ansible_collections.mcp.k8s.plugins.module_utils import connection, reviews, tokens
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


def test_mint_returns_claims_expiry_and_kubeconfig(cluster, kube):
    result = tokens.ensure_token(cluster, spec(audiences=['mcp'], duration='2h'))
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


def test_reuse_makes_no_request(cluster, kube):
    first = tokens.ensure_token(cluster, spec())
    kube.clear_requests()
    again = tokens.ensure_token(cluster, spec(), token=first['token'], renew_before='10m')
    assert again['reused'] is True and again['token'] == first['token'] and kube.requests == []
    assert again['audiences'] == [ISSUER] and again['duration'] == 3600
    for other in (spec(name='default', namespace='default'), spec(audiences=['x']), spec(duration='2h')):
        fits = tokens.reusable(first['token'], other, 0)
        assert fits[0] is (other.seconds == 7200)  # the duration is not part of the identity
    assert tokens.reusable(first['token'], spec(), 3600) == (False, 'expires within renew_before')
    renewed = tokens.ensure_token(cluster, spec(), token=first['token'], renew_before='1h')
    assert renewed['reused'] is False and kube.count('POST', TOKEN_PATH) == 1


def test_check_mode_mints_nothing(cluster, kube):
    result = tokens.ensure_token(cluster, spec(), check_mode=True)
    assert result['token'] is None and result['reused'] is False and kube.requests == []
    assert result['duration'] == 3600


def test_bound_object_reads_uid_and_reuse_checks_it(cluster, kube):
    uid = add_pod(kube, 'p', 'server')
    result = tokens.ensure_token(cluster, spec(bound_object={'kind': 'Pod', 'name': 'p'}))
    assert result['bound_object'] == {'kind': 'Pod', 'name': 'p', 'uid': uid}
    # the double binds to the boundObjectRef sent: the token names the Pod and its uid
    assert result['claims']['kubernetes.io']['pod'] == {'name': 'p', 'uid': uid}
    assert kube.count('GET', r'/pods/p$') == 1
    again = tokens.ensure_token(cluster, spec(bound_object={'kind': 'Pod', 'name': 'p'}), token=result['token'])
    assert again['reused'] is True
    add_pod(kube, 'p', 'server')    # recreated: another uid
    renewed = tokens.ensure_token(cluster, spec(bound_object={'kind': 'Pod', 'name': 'p'}), token=result['token'])
    assert renewed['reused'] is False and renewed['bound_object']['uid'] != uid


def test_bound_object_errors(cluster, kube):
    add_pod(kube, 'other', 'default')
    with pytest.raises(K8sTokenError) as info:
        tokens.ensure_token(cluster, spec(bound_object={'kind': 'Pod', 'name': 'other'}))
    assert info.value.message == ('Pod "mcp/other" runs as ServiceAccount "default", not "server"; a token can '
                                  'only be bound to a Pod of its own ServiceAccount.')
    with pytest.raises(K8sTokenError) as info:
        tokens.ensure_token(cluster, spec(bound_object={'kind': 'Pod', 'name': 'gone'}))
    assert info.value.message.startswith('Pod "gone" does not exist in namespace "mcp"; create it first')
    add_pod(kube, 'p', 'server')
    with pytest.raises(K8sTokenError) as info:
        tokens.ensure_token(cluster, spec(bound_object={'kind': 'Pod', 'name': 'p', 'uid': 'old-uid'}))
    assert info.value.message.endswith('omit bound_object.uid to bind to its current uid.')


def test_missing_service_account_namespace_and_forbidden(cluster, kube):
    with pytest.raises(K8sTokenError) as info:
        tokens.ensure_token(cluster, spec(name='nobody'))
    assert info.value.message == ('ServiceAccount "nobody" does not exist in namespace "mcp"; create it first '
                                  'or correct the name.')
    with pytest.raises(K8sTokenError) as info:
        tokens.ensure_token(cluster, spec(namespace='nowhere'))
    assert info.value.message.startswith('Namespace "nowhere" does not exist;')
    alice = connection.get_api_client({'kubeconfig': kube.write_kubeconfig(user='alice')})  # no grants
    with pytest.raises(K8sTokenError) as info:
        tokens.ensure_token(alice, spec())
    assert info.value.message.startswith('User "alice" may not create serviceaccounts/token in namespace "mcp"')


def test_retries_count_requests(cluster, kube):
    kube.inject_fault(TOKEN_PATH, status=429, count=2, retry_after=0)
    kube.inject_fault(TOKEN_PATH, drop=True, count=1)
    assert tokens.ensure_token(cluster, spec())['token']
    assert kube.count('POST', TOKEN_PATH) == 4


def test_warnings_and_validate(kube_double_factory, monkeypatch):
    monkeypatch.delenv('K8S_AUTH_KUBECONFIG', raising=False)
    kube = kube_double_factory(max_token_expiration=3600)
    kube.create_service_account('server', 'mcp')
    cluster = connection.get_api_client({'kubeconfig': kube.kubeconfig_path})
    result = tokens.ensure_token(cluster, spec(duration='24h'), validate=True)
    assert result['api_warnings'] == ['requested expiration of 86400 seconds shortened to 3600 seconds']
    assert result['duration'] == 3600
    assert result['review']['authenticated'] is True
    assert result['review']['user']['username'] == 'system:serviceaccount:mcp:server'


def test_reviews_with_the_token(cluster, kube):
    token = tokens.ensure_token(cluster, spec())['token']
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
    info = tokens.inspect_token(token, now=now)
    assert info['expires_in'] == 3607 and info['bound_object'] == {'kind': 'Pod', 'name': 'p', 'uid': 'pu'}
    with pytest.raises(K8sTokenError) as error:
        tokens.inspect_token('not-a-token')
    assert 'not-a-token' not in error.value.message


def test_not_a_jwt_is_not_reused(cluster, kube):
    result = tokens.ensure_token(cluster, spec(), token='garbage-token')
    assert result['reused'] is False


def test_concurrent_minting_over_one_client(cluster, kube):
    from concurrent.futures import ThreadPoolExecutor
    for i in range(40):
        kube.create_service_account('sa%d' % i, 'mcp')
    kube.clear_requests()
    options = {'kubeconfig': kube.kubeconfig_path}
    with ThreadPoolExecutor(8) as pool:
        clients = set(pool.map(lambda _i: id(connection.get_api_client(options)), range(16)))
        results = list(pool.map(lambda i: tokens.ensure_token(connection.get_api_client(options),
                                                              spec(name='sa%d' % i)), range(40)))
    assert clients == {id(cluster)}
    assert [r['service_account']['name'] for r in results] == ['sa%d' % i for i in range(40)]
    assert len(set(r['token'] for r in results)) == 40 and kube.count('POST', TOKEN_PATH) == 40


def test_empty_audiences_take_any_audiences_as_the_defaults(cluster, kube):
    custom = tokens.ensure_token(cluster, spec(audiences=['api.example']))['token']
    assert tokens.reusable(custom, spec(), 0) == (True, None)
    assert tokens.reusable(custom, spec(audiences=['api.example']), 0) == (True, None)
    assert tokens.reusable(custom, spec(audiences=['api.example', 'other']), 0) == (False, 'other audiences')


def test_inspect_legacy_token():
    token = jwt.encode({'iss': tokens.LEGACY_ISSUER, 'sub': 'system:serviceaccount:mcp:server',
                        'kubernetes.io/serviceaccount/namespace': 'mcp',
                        'kubernetes.io/serviceaccount/secret.name': 'server-token',
                        'kubernetes.io/serviceaccount/service-account.name': 'server',
                        'kubernetes.io/serviceaccount/service-account.uid': 'sa-uid'}, 'k' * 32, algorithm='HS256')
    info = tokens.inspect_token(token)
    assert info['legacy'] is True and info['expires_in'] is None and info['audiences'] == []
    assert info['service_account'] == {'namespace': 'mcp', 'name': 'server', 'uid': 'sa-uid'}
    assert info['secret'] == {'namespace': 'mcp', 'name': 'server-token'}
    assert tokens.reusable(token, spec(), 0) == (False, 'expires within renew_before')
