"""The lookup's own logic (terms, cache, concurrent minting, errors) against the API server double.

Options and templating are exercised through ansible-playbook in tests/integration; here the
helpers of the plugin run in-process on the shared core and a real double.
"""

import pytest

from ansible.errors import AnsibleLookupError

from ansible_collections.mcp.k8s.plugins.lookup import sa_token
from ansible_collections.mcp.k8s.plugins.module_utils import connection, tokens

TOKEN_PATH = r'/serviceaccounts/[^/]+/token$'


@pytest.fixture
def core():
    return sa_token._Core()


@pytest.fixture
def cluster(kube_double, monkeypatch):
    for name in ('K8S_AUTH_KUBECONFIG', 'K8S_AUTH_CONTEXT', 'K8S_AUTH_HOST', 'K8S_AUTH_API_KEY', 'KUBECONFIG'):
        monkeypatch.delenv(name, raising=False)
    kube_double.objects.create('namespaces', {'metadata': {'name': 'mcp'}})
    for index in range(20):
        kube_double.objects.create('serviceaccounts', {'metadata': {'name': 'sa-%d' % index}}, namespace='mcp')
    kube_double.clear_requests()
    sa_token.clear_cache()
    return connection.get_cluster({'kubeconfig': kube_double.kubeconfig_path})


@pytest.mark.parametrize('term, expected', [
    ('server', ('mcp', 'server')),
    (' team/worker ', ('team', 'worker')),
])
def test_parse_term(term, expected):
    assert sa_token.parse_term(term, 'mcp') == expected


@pytest.mark.parametrize('term', ['', '/x', 'x/', 'a/b/c', None, '  '])
def test_parse_term_rejects(term):
    with pytest.raises(AnsibleLookupError, match='is not a ServiceAccount; give "name" or "namespace/name"'):
        sa_token.parse_term(term, 'mcp')


def wanted(cluster, *names):
    return dict(((cluster.identity, tokens.TokenSpec(name, 'mcp').key(), False), (tokens.TokenSpec(name, 'mcp'), None))
                for name in names)


def test_mint_all_mints_each_once_with_bounded_workers(core, cluster, kube_double):
    specs = wanted(cluster, *['sa-%d' % index for index in range(20)])
    minted = sa_token._mint_all(core, cluster, specs, False, 300, 4, list(specs))
    assert len(minted) == 20
    for key, result in minted.items():
        assert result['claims']['sub'] == 'system:serviceaccount:mcp:%s' % specs[key][0].name
    assert kube_double.count('POST', TOKEN_PATH) == 20


def test_mint_all_names_the_first_failing_term(core, cluster):
    specs = wanted(cluster, 'sa-1', 'missing-b', 'sa-2', 'missing-a')
    with pytest.raises(AnsibleLookupError) as failed:
        sa_token._mint_all(core, cluster, specs, False, 300, 8, list(specs))
    assert str(failed.value) == ('ServiceAccount "missing-b" does not exist in namespace "mcp"; create it first or '
                                 'correct the name.')


def test_errors_that_do_not_name_the_account_are_led_by_it(core, cluster, kube_double):
    kube_double.inject_fault(TOKEN_PATH, status=403, count=1)
    specs = wanted(cluster, 'sa-3')
    with pytest.raises(AnsibleLookupError) as failed:
        sa_token._mint_all(core, cluster, specs, False, 300, 8, list(specs))
    assert str(failed.value).startswith('Cannot mint a token for ServiceAccount "mcp/sa-3": The caller may not create '
                                        'serviceaccounts/token in namespace "mcp" (403 Forbidden)')


def test_errors_that_name_the_account_are_kept(core, cluster, kube_double):
    kube_double.inject_fault(TOKEN_PATH, status=400, count=1)
    specs = wanted(cluster, 'sa-3')
    with pytest.raises(AnsibleLookupError) as failed:
        sa_token._mint_all(core, cluster, specs, False, 300, 8, list(specs))
    assert str(failed.value).startswith('The API server refused to create serviceaccounts/token for ServiceAccount '
                                        '"mcp/sa-3" (400 Bad Request)')


def test_tokens_for_serves_identical_requests_from_the_cache(core, cluster, kube_double):
    specs = [tokens.TokenSpec(name, 'mcp') for name in ('sa-1', 'sa-2', 'sa-1')]
    first = sa_token.tokens_for(core, cluster, specs)
    assert [result['service_account']['name'] for result in first] == ['sa-1', 'sa-2', 'sa-1']
    assert first[0]['token'] == first[2]['token'] and first[0]['reused'] is False
    again = sa_token.tokens_for(core, cluster, specs[:1])
    assert again[0]['token'] == first[0]['token'] and again[0]['reused'] is True
    assert kube_double.count('POST', TOKEN_PATH) == 2
    fresh = sa_token.tokens_for(core, cluster, specs[:1], use_cache=False)
    renewed = sa_token.tokens_for(core, cluster, specs[:1], renew=3600)
    assert len({first[0]['token'], fresh[0]['token'], renewed[0]['token']}) == 3
    assert kube_double.count('POST', TOKEN_PATH) == 4


def test_a_cached_token_bound_by_name_is_checked_against_the_object(core, cluster, kube_double):
    pod = {'metadata': {'name': 'web'}, 'spec': {'serviceAccountName': 'sa-1', 'containers': [{'name': 'c', 'image': 'x'}]}}
    kube_double.objects.create('pods', dict(pod), namespace='mcp')
    spec = tokens.TokenSpec('sa-1', 'mcp', bound_object={'kind': 'Pod', 'name': 'web'})
    first = sa_token.tokens_for(core, cluster, [spec])[0]
    same = sa_token.tokens_for(core, cluster, [spec])[0]
    assert same['token'] == first['token'] and same['reused'] is True
    assert kube_double.count('POST', TOKEN_PATH) == 1
    kube_double.objects.delete('pods', 'web', namespace='mcp')
    kube_double.objects.create('pods', dict(pod), namespace='mcp')
    replaced = sa_token.tokens_for(core, cluster, [spec])[0]
    assert replaced['token'] != first['token']
    assert replaced['bound_object']['uid'] == kube_double.objects.get('pods', 'web', namespace='mcp')['metadata']['uid']
    assert kube_double.count('POST', TOKEN_PATH) == 2


def test_a_cached_token_of_a_recreated_account_is_replaced(core, cluster, kube_double):
    spec = tokens.TokenSpec('sa-1', 'mcp')
    first = sa_token.tokens_for(core, cluster, [spec], validate=True)[0]
    path = '/api/v1/namespaces/mcp/serviceaccounts'
    cluster.request('DELETE', path + '/sa-1')
    cluster.request('POST', path, body={'apiVersion': 'v1', 'kind': 'ServiceAccount', 'metadata': {'name': 'sa-1'}})
    kube_double.clear_requests()
    again = sa_token.tokens_for(core, cluster, [spec], validate=True)[0]
    assert again['reused'] is False and again['token'] != first['token']
    assert again['service_account']['uid'] != first['service_account']['uid']
    assert again['review']['authenticated'] is True and again['review'] != first['review']
    assert kube_double.count('POST', TOKEN_PATH) == 1
    # the new token replaced the old one in the cache
    kube_double.clear_requests()
    assert sa_token.tokens_for(core, cluster, [spec], validate=True)[0]['token'] == again['token']
    assert kube_double.count('POST', TOKEN_PATH) == 0


def test_the_cache_is_keyed_by_cluster(core, cluster, kube_double, kube_double_factory):
    """Two clusters with the same names: each gets its own token, never the other's."""
    other = kube_double_factory()
    other.create_service_account('sa-1', 'mcp')
    other_cluster = connection.get_cluster({'kubeconfig': other.kubeconfig_path})
    assert other_cluster.identity != cluster.identity
    spec = tokens.TokenSpec('sa-1', 'mcp')
    mine = sa_token.tokens_for(core, cluster, [spec])[0]
    theirs = sa_token.tokens_for(core, other_cluster, [spec])[0]
    assert theirs['reused'] is False and theirs['token'] != mine['token']
    assert other.count('POST', TOKEN_PATH) == 1
    again = sa_token.tokens_for(core, cluster, [spec])[0]
    assert again['reused'] is True and again['token'] == mine['token']


def test_missing_library_sentence():
    message = sa_token._missing_library('kubernetes')
    assert message.startswith('The kubernetes Python package is required by the mcp.k8s.sa_token lookup, which runs '
                              'on the controller; install it in the Python that runs Ansible (')
