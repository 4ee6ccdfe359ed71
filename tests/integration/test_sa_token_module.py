"""``mcp.k8s.sa_token`` driven through ansible-playbook against the API server double."""
import importlib.util
import json
import time

import pytest
import yaml

from harness import claims_of, local_inventory, object_uid, play

pytestmark = pytest.mark.both_clients

TOKEN_PATH = r'/serviceaccounts/[^/]+/token$'


def mint(register='minted', **options):
    options.setdefault('namespace', 'mcp')
    options.setdefault('name', 'server')
    return {'name': 'Mint', 'mcp.k8s.sa_token': options, 'register': register}


def task_result(stdout, task):
    """The result of ``task`` as ``-v`` output shows it."""
    section = stdout.split('TASK [%s]' % task, 1)[1].split('\nTASK [', 1)[0]
    start = section.index('=> {') + 3
    return json.JSONDecoder().raw_decode(section[start:])[0]


def test_mints_a_token_with_the_requested_claims(seeded_cluster, run_playbook):
    run = run_playbook(play(mint(audiences=['mcp-server', 'other'], duration='2h', validate=True),
                            record='minted'))
    assert run.rc == 0, run
    minted = run.results
    claims = claims_of(minted['token'])
    assert claims == minted['claims']
    assert claims['sub'] == 'system:serviceaccount:mcp:server'
    assert claims['aud'] == ['mcp-server', 'other'] == minted['audiences']
    assert claims['exp'] - claims['iat'] == 7200 == minted['duration']
    assert claims['kubernetes.io']['serviceaccount']['uid'] == object_uid(seeded_cluster, 'serviceaccounts', 'server')
    assert minted['changed'] is True and minted['reused'] is False
    assert minted['service_account'] == {'namespace': 'mcp', 'name': 'server',
                                         'uid': object_uid(seeded_cluster, 'serviceaccounts', 'server')}
    assert minted['review']['authenticated'] is True
    assert minted['review']['user']['username'] == 'system:serviceaccount:mcp:server'
    assert 7190 < minted['expires_in'] <= 7200 and minted['jwt_expiration_timestamp'] is None
    # the mint, and one of the shortest duration that asks the API server's audiences (given audiences)
    assert seeded_cluster.count('POST', TOKEN_PATH) == 2


def test_binds_to_a_pod_read_for_its_uid(seeded_cluster, run_playbook):
    run = run_playbook(play(mint(bound_object={'kind': 'Pod', 'name': 'web'}), record='minted'))
    assert run.rc == 0, run
    pod_uid = object_uid(seeded_cluster, 'pods', 'web')
    assert run.results['claims']['kubernetes.io']['pod'] == {'name': 'web', 'uid': pod_uid}
    assert run.results['bound_object'] == {'kind': 'Pod', 'name': 'web', 'uid': pod_uid}
    sent = [r for r in seeded_cluster.requests if r['method'] == 'POST']
    assert seeded_cluster.count('GET', r'/namespaces/mcp/pods/web$') == 1 and len(sent) == 1


def test_extended_expiration_of_pod_bound_tokens(seeded_cluster, run_playbook):
    run = run_playbook(play(mint(bound_object={'kind': 'Pod', 'name': 'web'}, duration=3607), record='minted'))
    assert run.rc == 0, run
    minted = run.results
    claims = minted['claims']
    assert minted['duration'] == 3607 and 3590 < minted['expires_in'] <= 3607
    assert claims['exp'] - claims['iat'] > 300 * 86400
    assert minted['jwt_expiration_timestamp'] == time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(claims['exp']))
    assert minted['jwt_expiration_timestamp'] != minted['expiration_timestamp']


def test_reuses_a_token_that_still_fits(seeded_cluster, run_playbook):
    tasks = [
        mint('first', audiences=['mcp']),
        mint('again', audiences=['mcp'], token='{{ first.token }}', renew_before='10m'),
        # the first token has less than 2h left (renew_before must be shorter than the duration asked)
        mint('renewed', audiences=['mcp'], token='{{ first.token }}', duration='3h', renew_before='2h'),
        mint('other_audience', audiences=['else'], token='{{ first.token }}'),
    ]
    run = run_playbook(play(*tasks, record="{'first': first, 'again': again, 'renewed': renewed, "
                                           "'other_audience': other_audience}"))
    assert run.rc == 0, run
    first, again = run.results['first'], run.results['again']
    assert again['changed'] is False and again['reused'] is True
    assert again['token'] == first['token'] and again['kubeconfig']['users'][0]['user']['token'] == first['token']
    assert again['claims'] == first['claims'] and again['expiration_timestamp'] == first['expiration_timestamp']
    assert run.results['renewed']['reused'] is False and run.results['renewed']['changed'] is True
    assert run.results['other_audience']['reused'] is False
    # three mints, each with audiences given: each asks the API server's audiences once
    assert seeded_cluster.count('POST', TOKEN_PATH) == 6


def test_reuse_in_a_later_run_makes_no_token_request(seeded_cluster, run_playbook):
    first = run_playbook(play(mint(), record='minted'))
    assert first.rc == 0, first
    seeded_cluster.clear_requests()
    again = run_playbook(play(dict(mint(token='{{ old }}'), no_log=True), record='minted'),
                         extra_vars={'old': first.results['token']}, verbosity=3)
    assert again.rc == 0, again
    assert again.results['reused'] is True and again.results['changed'] is False
    assert again.results['token'] == first.results['token']
    assert seeded_cluster.count('POST', TOKEN_PATH) == 0
    assert first.results['token'] not in again.output


def test_reused_token_is_not_scrubbed_and_input_is_hidden(seeded_cluster, run_playbook):
    first = run_playbook(play(mint(), record='minted'))
    token = first.results['token']
    again = run_playbook(play(mint(token='{{ old }}'), record='minted'), extra_vars={'old': token}, verbosity=3)
    assert again.rc == 0, again
    assert again.results['token'] == token
    shown = task_result(again.stdout, 'Mint')
    assert shown['token'] == token and shown['reused'] is True
    assert shown['invocation']['module_args']['token'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'


def test_check_mode(seeded_cluster, run_playbook):
    run = run_playbook(play(mint(), record='minted'), check=True)
    assert run.rc == 0, run
    assert run.results['changed'] is True and run.results['token'] is None
    assert seeded_cluster.count('POST') == 0
    real = run_playbook(play(dict(mint(), check_mode=False), record='minted'), check=True)
    assert real.results['token'] and real.results['changed'] is True
    reused = run_playbook(play(mint(token='{{ old }}'), record='minted'), extra_vars={'old': real.results['token']},
                          check=True)
    assert reused.results['changed'] is False and reused.results['token'] == real.results['token']
    assert seeded_cluster.count('POST', TOKEN_PATH) == 1


@pytest.mark.parametrize('cluster', [{'max_token_expiration': 3600}], indirect=True)
def test_shortened_duration_becomes_a_warning(seeded_cluster, run_playbook):
    run = run_playbook(play(mint(duration='24h'), record='minted'))
    assert run.rc == 0, run
    assert run.results['duration'] == 3600
    assert run.results['api_warnings'] == ['requested expiration of 86400 seconds shortened to 3600 seconds']
    assert '[WARNING]: requested expiration of 86400 seconds shortened to 3600 seconds' in run.output.replace('\n', ' ')


@pytest.mark.double_only('fault injection')
def test_retries_after_429_503_and_dropped_connections(seeded_cluster, run_playbook):
    seeded_cluster.inject_fault(TOKEN_PATH, status=429, count=1, retry_after=1)
    seeded_cluster.inject_fault(TOKEN_PATH, status=503, count=1)
    seeded_cluster.inject_fault(TOKEN_PATH, drop=True, count=1)
    started = time.monotonic()
    run = run_playbook(play(mint(), record='minted'))
    assert run.rc == 0, run
    assert run.results['token'] and seeded_cluster.count('POST', TOKEN_PATH) == 4
    assert time.monotonic() - started >= 1


@pytest.mark.double_only('fault injection')
def test_retries_are_bounded(seeded_cluster, run_playbook):
    seeded_cluster.inject_fault(TOKEN_PATH, status=502, count=50, retry_after=None)
    run = run_playbook(play(dict(mint(), ignore_errors=True), record='minted'))
    assert run.results['failed'] is True
    assert seeded_cluster.count('POST', TOKEN_PATH) == 5
    assert run.results['msg'].startswith('The API server at %s kept answering 502 ' % seeded_cluster.url)
    assert 'after 5 attempts in' in run.results['msg']


def test_kubeconfig_dict_secrets_stay_out_of_logs(seeded_cluster, run_playbook):
    with open(seeded_cluster.kubeconfig_path) as handle:
        config = yaml.safe_load(handle)
    key_data = config['users'][0]['user']['client-key-data']
    run = run_playbook(play(mint(kubeconfig='{{ config }}'), record='minted'), extra_vars={'config': config},
                       verbosity=3)
    assert run.rc == 0, run
    assert key_data not in run.output and key_data not in json.dumps(run.results)
    assert run.results['claims']['sub'] == 'system:serviceaccount:mcp:server'
    assert run.results['kubeconfig']['clusters'][0]['cluster'] == {
        'server': seeded_cluster.url, 'certificate-authority-data': config['clusters'][0]['cluster']['certificate-authority-data']}


@pytest.mark.skipif(importlib.util.find_spec('ansible_collections.kubernetes') is None,
                    reason='kubernetes.core is not installed in this environment')
def test_returned_kubeconfig_works_with_kubernetes_core(seeded_cluster, run_playbook):
    tasks = [mint(),
             {'name': 'List pods as the ServiceAccount', 'kubernetes.core.k8s_info': {
                 'kubeconfig': '{{ minted.kubeconfig }}', 'kind': 'Pod', 'namespace': 'mcp'},
              'register': 'pods', 'ignore_errors': True},
             {'name': 'Review with its own token', 'mcp.k8s.sa_token': {
                 'name': 'server', 'namespace': 'mcp', 'token': '{{ minted.token }}', 'validate': True,
                 'kubeconfig': '{{ minted.kubeconfig }}'},
              'register': 'as_itself', 'ignore_errors': True}]
    run = run_playbook(play(*tasks, record="{'pods': pods, 'as_itself': as_itself}"))
    assert run.rc == 0, run
    # both authenticate with the ServiceAccount's token (403, not 401), which may do neither
    assert 'Reason: Forbidden' in run.results['pods']['msg'], run.results['pods']
    assert run.results['as_itself']['msg'].startswith(
        'User "system:serviceaccount:mcp:server" may not create tokenreviews (403 Forbidden)')


ERROR_CASES = {
    'missing_account': ({'name': 'nobody'},
                        'ServiceAccount "nobody" does not exist in namespace "mcp"; create it first or correct the name.'),
    'missing_namespace': ({'namespace': 'nowhere'},
                          'Namespace "nowhere" does not exist; create it and the ServiceAccount "server" first or '
                          'correct namespace.'),
    'forbidden': ({'kubeconfig': '{{ alice_kubeconfig }}'},
                  'User "alice" may not create serviceaccounts/token in namespace "mcp" (403 Forbidden); grant it '
                  '"create" on "serviceaccounts/token" with a Role and RoleBinding.'),
    'short_duration': ({'duration': '5m'},
                       'duration "5m" (300 seconds) is below the minimum of 10 minutes (600 seconds) that the API '
                       'server accepts; use "10m" or longer.'),
    'long_duration': ({'duration': 2 ** 32 + 1},
                      'duration 4294967297 (4294967297 seconds) is above the maximum of 2^32 seconds (4294967296) '
                      'that the API server accepts; use a shorter duration.'),
    'fractional_duration': ({'duration': '1500ms'}, 'duration must be whole seconds; "1500ms" is 1.5 seconds.'),
    'bad_duration': ({'duration': 'soon'},
                     'duration "soon" is not a duration; use kubectl\'s form such as "10m", "1h30m", "3600s" or a '
                     'number of seconds.'),
    'unknown_kind': ({'bound_object': {'kind': 'ConfigMap', 'name': 'c'}},
                     'value of kind must be one of: Pod, Secret, Node, got: ConfigMap found in bound_object'),
    'bound_missing': ({'bound_object': {'kind': 'Pod', 'name': 'gone'}},
                      'Pod "gone" does not exist in namespace "mcp"; create it first, or correct bound_object (set '
                      'its uid to skip this read).'),
    'bound_other_uid': ({'bound_object': {'kind': 'Pod', 'name': 'web', 'uid': '0000-old'}},
                        'The API server refused to create serviceaccounts/token for ServiceAccount "mcp/server" '
                        '(409 Conflict): '),
    'pod_of_other_account': ({'name': 'other', 'bound_object': {'kind': 'Pod', 'name': 'web'}},
                             'Pod "mcp/web" runs as ServiceAccount "server", not "other"; a token can only be bound '
                             'to a Pod of its own ServiceAccount.'),
    'unreachable': ({'host': 'https://127.0.0.1:1', 'api_key': 'unused-api-key'},
                    'Cannot reach the API server at https://127.0.0.1:1 (connection refused); check host or the '
                    'kubeconfig and that the server is running.'),
    'tls': ({'host': '{{ url }}', 'api_key': 'unused-api-key'},
            'TLS verification of the API server at {url} failed ('),
    'unauthorized': ({'host': '{{ url }}', 'api_key': 'wrong-api-key', 'ca_cert': '{{ ca }}'},
                     'The API server at {url} rejected the credentials (401 Unauthorized); check the kubeconfig, '
                     'api_key or client certificate.'),
    'no_kubeconfig': ({'kubeconfig': '/nonexistent/kubeconfig'},
                      'No usable Kubernetes configuration (kubeconfig /nonexistent/kubeconfig does not exist); set '
                      'kubeconfig (or K8S_AUTH_KUBECONFIG), or host with credentials, or run inside a pod.'),
}


def test_every_error_is_one_clear_sentence(seeded_cluster, run_playbook):
    alice = seeded_cluster.write_kubeconfig(user='alice')
    tasks = [dict(mint(case, **options), ignore_errors=True) for case, (options, _msg) in ERROR_CASES.items()]
    record = '{%s}' % ', '.join("'%s': %s" % (case, case) for case in ERROR_CASES)
    run = run_playbook(play(*tasks, record=record),
                       extra_vars={'alice_kubeconfig': alice, 'url': seeded_cluster.url, 'ca': seeded_cluster.ca_path})
    assert run.rc == 0, run
    with open(alice) as handle:
        alice_key = yaml.safe_load(handle)['users'][0]['user']['client-key-data']
    for case, (_options, expected) in ERROR_CASES.items():
        result = run.results[case]
        expected = expected.replace('{url}', seeded_cluster.url)
        assert result['failed'] is True, case
        assert result['msg'].startswith(expected), (case, result['msg'])
        assert result['msg'].count('. ') == 0 or case == 'bound_other_uid', (case, result['msg'])
        # ansible-core 2.19 adds "(traceback unavailable)" to every failed result
        assert result.get('exception', '(traceback unavailable)') == '(traceback unavailable)', case
        for secret in ('unused-api-key', 'wrong-api-key', alice_key):
            assert secret not in result['msg'], case
    assert 'Traceback (most recent call last)' not in run.output
    # options are checked before any request: only missing account and namespace, forbidden,
    # uid conflict and unauthorized reached the TokenRequest endpoint
    assert seeded_cluster.count('POST', TOKEN_PATH) == 5


def test_missing_kubernetes_package(seeded_cluster, run_playbook, tmp_path):
    inventory = local_inventory(tmp_path / 'system-python.ini', python='/usr/bin/python3')
    run = run_playbook(play(dict(mint(), ignore_errors=True), record='minted'), inventory=inventory)
    assert run.results['failed'] is True
    assert run.results['msg'].startswith('Failed to import the required Python library (kubernetes)')


@pytest.mark.parametrize('cluster', [{'issuer': 'https://oidc.example.com/id/0123',
                                      'api_audiences': ['https://kubernetes.default.svc']}], indirect=True)
def test_reuse_when_default_audiences_are_not_the_issuer(seeded_cluster, run_playbook):
    run = run_playbook(play(mint('first'), mint('again', token='{{ first.token }}'),
                            record="{'first': first, 'again': again}"))
    assert run.rc == 0, run
    assert run.results['first']['claims']['iss'] == 'https://oidc.example.com/id/0123'
    assert run.results['first']['audiences'] == ['https://kubernetes.default.svc']
    assert run.results['again']['reused'] is True and run.results['again']['changed'] is False
    assert seeded_cluster.count('POST', TOKEN_PATH) == 1
