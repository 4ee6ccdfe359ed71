"""The lookup's work (terms, cache, concurrent minting, errors) against the API server double.

Options and templating are exercised through ansible-playbook in tests/integration; here
plugin_utils/token_batch.py runs in-process on the shared core and a real double. Each call of
``new_task()`` stands for the next task, which Ansible runs in a new worker process.
"""

import pytest
from kube_double import forgery

from ansible.errors import AnsibleLookupError

from ansible_collections.mcp.k8s.plugins.module_utils import connection, errors, tokens
from ansible_collections.mcp.k8s.plugins.plugin_utils import token_batch

TOKEN_PATH = r'/serviceaccounts/[^/]+/token$'


GET_ACCOUNT = r'/serviceaccounts/sa-1$'


def new_task():
    """What this process confirmed is forgotten, as in the next task's worker process."""
    token_batch.forget_confirmed()


@pytest.fixture
def cluster(kube_double, monkeypatch):
    for name in ('K8S_AUTH_KUBECONFIG', 'K8S_AUTH_CONTEXT', 'K8S_AUTH_HOST', 'K8S_AUTH_API_KEY', 'KUBECONFIG'):
        monkeypatch.delenv(name, raising=False)
    kube_double.objects.create('namespaces', {'metadata': {'name': 'mcp'}})
    for index in range(20):
        kube_double.objects.create('serviceaccounts', {'metadata': {'name': 'sa-%d' % index}}, namespace='mcp')
    kube_double.clear_requests()
    token_batch.clear_cache()
    return connection.get_cluster({'kubeconfig': kube_double.kubeconfig_path})


@pytest.mark.parametrize('term, expected', [
    ('server', ('mcp', 'server')),
    (' team/worker ', ('team', 'worker')),
])
def test_parse_term(term, expected):
    assert token_batch.parse_term(term, 'mcp') == expected


@pytest.mark.parametrize('term', ['', '/x', 'x/', 'a/b/c', None, '  '])
def test_parse_term_rejects(term):
    with pytest.raises(AnsibleLookupError, match='is not a ServiceAccount; give "name" or "namespace/name"'):
        token_batch.parse_term(term, 'mcp')


def specs(*names):
    return [tokens.TokenSpec(name, 'mcp') for name in names]


def test_tokens_for_mints_each_once_with_bounded_workers(cluster, kube_double):
    names = ['sa-%d' % index for index in range(20)]
    minted = token_batch.tokens_for(cluster, specs(*names), workers=4, use_cache=False)
    assert [result['claims']['sub'] for result in minted] == ['system:serviceaccount:mcp:%s' % name for name in names]
    assert kube_double.count('POST', TOKEN_PATH) == 20


def test_tokens_for_names_the_first_failing_term_and_the_cluster_asked(cluster, kube_double):
    with pytest.raises(AnsibleLookupError) as failed:
        token_batch.tokens_for(cluster, specs('sa-1', 'missing-b', 'sa-2', 'missing-a'))
    assert str(failed.value) == ('The API server at %s (context "kube-double" of kubeconfig %s) answered: '
                                 'ServiceAccount "missing-b" does not exist in namespace "mcp"; create it first or '
                                 'correct the name.' % (kube_double.url, kube_double.kubeconfig_path))


@pytest.mark.parametrize('status, sentence', [
    # a sentence that does not name the account is led by it (and, for a 403, the cluster asked)
    (403, 'Cannot mint a token for ServiceAccount "mcp/sa-3" from the API server at {url} (context "kube-double" of '
          'kubeconfig {kubeconfig}): The caller may not create serviceaccounts/token in namespace "mcp" (403 Forbidden)'),
    # one that names it is kept as it is
    (400, 'The API server refused to create serviceaccounts/token for ServiceAccount "mcp/sa-3" (400 Bad Request)'),
])
def test_errors_are_led_by_the_account_unless_they_name_it(cluster, kube_double, status, sentence):
    kube_double.inject_fault(TOKEN_PATH, status=status, count=1)
    with pytest.raises(AnsibleLookupError) as failed:
        token_batch.tokens_for(cluster, specs('sa-3'))
    assert str(failed.value).startswith(sentence.format(url=kube_double.url, kubeconfig=kube_double.kubeconfig_path))


def test_tokens_for_serves_identical_requests_from_the_cache(cluster, kube_double):
    specs = [tokens.TokenSpec(name, 'mcp') for name in ('sa-1', 'sa-2', 'sa-1')]
    first = token_batch.tokens_for(cluster, specs)
    assert [result['service_account']['name'] for result in first] == ['sa-1', 'sa-2', 'sa-1']
    assert first[0]['token'] == first[2]['token'] and first[0]['reused'] is False
    again = token_batch.tokens_for(cluster, specs[:1])
    assert again[0]['token'] == first[0]['token'] and again[0]['reused'] is True
    assert kube_double.count('POST', TOKEN_PATH) == 2
    fresh = token_batch.tokens_for(cluster, specs[:1], use_cache=False)
    renewed = token_batch.tokens_for(cluster, specs[:1], renew=3600)
    assert len({first[0]['token'], fresh[0]['token'], renewed[0]['token']}) == 3
    assert kube_double.count('POST', TOKEN_PATH) == 4


def test_a_cached_token_bound_by_name_is_checked_against_the_object(cluster, kube_double):
    pod = {'metadata': {'name': 'web'}, 'spec': {'serviceAccountName': 'sa-1', 'containers': [{'name': 'c', 'image': 'x'}]}}
    kube_double.objects.create('pods', dict(pod), namespace='mcp')
    spec = tokens.TokenSpec('sa-1', 'mcp', bound_object={'kind': 'Pod', 'name': 'web'})
    first = token_batch.tokens_for(cluster, [spec])[0]
    same = token_batch.tokens_for(cluster, [spec])[0]
    assert same['token'] == first['token'] and same['reused'] is True
    assert kube_double.count('POST', TOKEN_PATH) == 1
    kube_double.objects.delete('pods', 'web', namespace='mcp')
    kube_double.objects.create('pods', dict(pod), namespace='mcp')
    new_task()
    replaced = token_batch.tokens_for(cluster, [spec])[0]
    assert replaced['token'] != first['token']
    assert replaced['bound_object']['uid'] == kube_double.objects.get('pods', 'web', namespace='mcp')['metadata']['uid']
    assert kube_double.count('POST', TOKEN_PATH) == 2


def test_a_cached_token_of_a_recreated_account_is_replaced(cluster, kube_double):
    spec = tokens.TokenSpec('sa-1', 'mcp')
    first = token_batch.tokens_for(cluster, [spec], validate=True)[0]
    path = '/api/v1/namespaces/mcp/serviceaccounts'
    cluster.request('DELETE', path + '/sa-1')
    cluster.request('POST', path, body={'apiVersion': 'v1', 'kind': 'ServiceAccount', 'metadata': {'name': 'sa-1'}})
    kube_double.clear_requests()
    new_task()
    again = token_batch.tokens_for(cluster, [spec], validate=True)[0]
    assert again['reused'] is False and again['token'] != first['token']
    assert again['service_account']['uid'] != first['service_account']['uid']
    assert again['review']['authenticated'] is True and again['review'] != first['review']
    assert kube_double.count('POST', TOKEN_PATH) == 1
    # the new token replaced the old one in the cache
    kube_double.clear_requests()
    assert token_batch.tokens_for(cluster, [spec], validate=True)[0]['token'] == again['token']
    assert kube_double.count('POST', TOKEN_PATH) == 0


def test_the_cache_is_keyed_by_cluster(cluster, kube_double, kube_double_factory):
    """Two clusters with the same names: each gets its own token, never the other's."""
    other = kube_double_factory()
    other.create_service_account('sa-1', 'mcp')
    other_cluster = connection.get_cluster({'kubeconfig': other.kubeconfig_path})
    assert other_cluster.identity != cluster.identity
    spec = tokens.TokenSpec('sa-1', 'mcp')
    mine = token_batch.tokens_for(cluster, [spec])[0]
    theirs = token_batch.tokens_for(other_cluster, [spec])[0]
    assert theirs['reused'] is False and theirs['token'] != mine['token']
    assert other.count('POST', TOKEN_PATH) == 1
    again = token_batch.tokens_for(cluster, [spec])[0]
    assert again['reused'] is True and again['token'] == mine['token']


def test_missing_library_sentence():
    message = token_batch.missing_library('kubernetes')
    assert message.startswith('The kubernetes Python package is required by the mcp.k8s.sa_token lookup, which runs '
                              'on the controller; install it in the Python that runs Ansible (')


def test_a_reuse_reads_the_account_once_per_task(cluster, kube_double):
    spec = tokens.TokenSpec('sa-1', 'mcp')
    first = token_batch.tokens_for(cluster, [spec])[0]
    for dummy in range(5):      # the same task: minted here, so no read
        assert token_batch.tokens_for(cluster, [spec])[0]['token'] == first['token']
    assert kube_double.count('GET', GET_ACCOUNT) == 0
    new_task()
    for dummy in range(5):      # the next task: one read, then none
        assert token_batch.tokens_for(cluster, [spec])[0]['token'] == first['token']
    assert kube_double.count('GET', GET_ACCOUNT) == 1
    assert kube_double.count('POST', TOKEN_PATH) == 1


def test_a_recreated_account_is_seen_by_the_next_task(cluster, kube_double):
    spec = tokens.TokenSpec('sa-1', 'mcp')
    first = token_batch.tokens_for(cluster, [spec])[0]
    kube_double.objects.delete('serviceaccounts', 'sa-1', namespace='mcp')
    kube_double.objects.create('serviceaccounts', {'metadata': {'name': 'sa-1'}}, namespace='mcp')
    new_task()
    again = token_batch.tokens_for(cluster, [spec])[0]
    assert again['reused'] is False and again['token'] != first['token']
    assert kube_double.count('POST', TOKEN_PATH) == 2


def test_what_one_process_confirmed_is_not_trusted_by_its_forks(cluster, kube_double, monkeypatch):
    spec = tokens.TokenSpec('sa-1', 'mcp')
    token_batch.tokens_for(cluster, [spec])
    monkeypatch.setattr(token_batch.os, 'getpid', lambda: -1)   # as in a worker forked from this process
    token_batch.tokens_for(cluster, [spec])
    assert kube_double.count('GET', GET_ACCOUNT) == 1


def test_a_given_token_is_returned_while_it_fits(cluster, kube_double):
    spec = tokens.TokenSpec('sa-1', 'mcp', duration='1h')
    given = token_batch.tokens_for(cluster, [spec], use_cache=False)[0]['token']
    new_task()
    kube_double.clear_requests()
    # another run (nothing cached): the given token is reused, one read of the account, no TokenRequest
    token_batch.clear_cache()
    again = token_batch.tokens_for(cluster, [spec], token=given)[0]
    assert again['token'] == given and again['reused'] is True
    assert kube_double.count('POST', TOKEN_PATH) == 0 and kube_double.count('GET', GET_ACCOUNT) == 1
    # the same token for another account, or inside renew_before: a new one
    other = token_batch.tokens_for(cluster, [tokens.TokenSpec('sa-2', 'mcp')], token=given)[0]
    assert other['token'] != given and other['claims']['sub'] == 'system:serviceaccount:mcp:sa-2'
    renewed = token_batch.tokens_for(cluster, [spec], token=given, renew=3599, use_cache=False)[0]
    assert renewed['token'] != given and renewed['reused'] is False
    assert kube_double.count('POST', TOKEN_PATH) == 2


@pytest.mark.parametrize('given', ['', 'not-a-jwt', None])
def test_no_token_or_a_broken_one_mints(cluster, kube_double, given):
    result = token_batch.tokens_for(cluster, [tokens.TokenSpec('sa-1', 'mcp')], token=given, use_cache=False)[0]
    assert result['reused'] is False
    assert kube_double.count('POST', TOKEN_PATH) == 1


def test_a_given_token_of_a_recreated_account_is_replaced(cluster, kube_double):
    spec = tokens.TokenSpec('sa-1', 'mcp')
    given = token_batch.tokens_for(cluster, [spec], use_cache=False)[0]['token']
    kube_double.objects.delete('serviceaccounts', 'sa-1', namespace='mcp')
    kube_double.objects.create('serviceaccounts', {'metadata': {'name': 'sa-1'}}, namespace='mcp')
    new_task()
    again = token_batch.tokens_for(cluster, [spec], token=given, use_cache=False)[0]
    assert again['token'] != given and again['reused'] is False


@pytest.mark.parametrize('account, expected', [
    (('mcp', 'sa-3'), 'the sentence'),
    (('mcp', 'sa-4'), 'Cannot mint a token for ServiceAccount "mcp/sa-3": the sentence'),
    (None, 'Cannot mint a token for ServiceAccount "mcp/sa-3": the sentence'),
])
def test_the_error_is_led_by_the_account_unless_it_names_it(account, expected):
    error = token_batch.lookup_error(tokens.TokenSpec('sa-3', 'mcp'), errors.K8sTokenError('the sentence', account=account))
    assert str(error) == expected


def _lookup_options(kube_double, **options):
    base = dict((name, None) for name in connection.AUTH_ARG_SPEC)
    base.update(kubeconfig=kube_double.kubeconfig_path, namespace='mcp', audiences=[], duration='1h', bound_object=None,
                validate=False, renew_before='5m', cache=False, workers=8, token=None, output='token')
    base.update(options)
    return base


@pytest.mark.parametrize('duration, renew_before', [('10m', '10m'), ('10m', '20m'), ('1h', '1h')])
def test_lookup_refuses_renew_before_not_shorter_than_duration_before_any_request(
        cluster, kube_double, duration, renew_before):
    with pytest.raises(AnsibleLookupError) as failed:
        token_batch.lookup(['sa-1'], _lookup_options(kube_double, duration=duration, renew_before=renew_before))
    assert str(failed.value).startswith('renew_before "%s" (' % renew_before)
    assert 'is not shorter than duration "%s"' % duration in str(failed.value)
    assert kube_double.requests == []


def test_lookup_warns_when_renew_before_leaves_less_than_five_minutes(cluster, kube_double, monkeypatch):
    shown = []
    monkeypatch.setattr(token_batch.display, 'warning', shown.append)
    minted = token_batch.lookup(['sa-1'], _lookup_options(kube_double, duration='10m', renew_before='8m'))
    assert len(minted) == 1 and kube_double.count('POST', TOKEN_PATH) == 1
    assert [text for text in shown if text.startswith('renew_before "8m"')] == [
        'renew_before "8m" leaves a token of duration "10m" reusable for only "2m" after it is minted, so a run more '
        'than that after the last mints a new token; keep at least "5m" between them (renew_before "5m" or less).']
    shown[:] = []
    token_batch.lookup(['sa-1'], _lookup_options(kube_double, duration='10m'))
    assert shown == []


def test_the_cluster_keys_are_read_once_per_run_whichever_task_reads_them(cluster, kube_double, monkeypatch):
    """The option token is checked against the cluster's keys; the run's cache keeps them for every
    later task (worker process), and a forged token is replaced with a warning."""
    shown = []
    monkeypatch.setattr(token_batch.display, 'warning', shown.append)
    spec = tokens.TokenSpec('sa-1', 'mcp')
    given = token_batch.tokens_for(cluster, [spec], use_cache=False)[0]['token']
    uid = kube_double.objects.get('serviceaccounts', 'sa-1', 'mcp')['metadata']['uid']
    forged = forgery.forge(kube_double, 'alg none', 'sa-1', 'mcp', uid)
    token_batch.clear_cache()
    kube_double.clear_requests()
    for dummy in range(3):
        new_task()
        assert token_batch.tokens_for(cluster, [spec], token=given)[0]['token'] == given
    assert kube_double.count('GET', r'openid-configuration$') == 1 and kube_double.count('GET', r'^/openid/v1/jwks$') == 1
    new_task()
    replaced = token_batch.tokens_for(cluster, [spec, tokens.TokenSpec('sa-2', 'mcp')], token=forged, workers=2)
    assert forged not in [result['token'] for result in replaced] and kube_double.count('POST', TOKEN_PATH) == 2
    assert kube_double.count('GET', r'^/openid/v1/jwks$') == 1
    assert shown == ['The token given in the option token was not reused because the token is signed with algorithm '
                     '"none", which no Kubernetes cluster uses; it was not issued by this cluster; a new token '
                     'replaces it.']
