"""Secrets are never printed, whatever their form or source (issue 16, item 3), at -vvv with a log file.

A credential with a trailing newline used to be printed in clear, even under no_log, as the repr
in urllib3's "Invalid header value b'Bearer ...\\n'". Now such a credential is refused with one
sentence before any request, and every form of it (raw, stripped, escaped) is redacted. Passwords
in host and proxy URLs are never shown, and an unreachable proxy is named as the proxy.
"""
import socket

import pytest
import yaml

from harness import displayed

pytestmark = pytest.mark.both_clients


@pytest.fixture
def seeded_cluster(cluster):
    cluster.create_service_account('server', 'mcp')
    cluster.create_service_account('minter', 'mcp')
    cluster.grant('system:serviceaccount:mcp:minter', ['create'], ['serviceaccounts/token'], namespace='mcp')
    cluster.clear_requests()
    return cluster


@pytest.fixture
def minter_token(seeded_cluster):
    return seeded_cluster.mint_token('minter', 'mcp')


def needles(token):
    """The token and the parts of it that would give it away."""
    return {token, token.strip(), token.strip().rsplit('.', 1)[1]}


def assert_hidden(secret_parts, run, log_path):
    with open(log_path, encoding='utf-8', errors='replace') as handle:
        log = handle.read()
    assert 'PLAY RECAP' in log
    for needle in secret_parts:
        assert needle not in run.stdout and needle not in run.stderr and needle not in log


def module_task(no_log, **options):
    options = dict({'name': 'server', 'namespace': 'mcp'}, **options)
    return {'name': 'Mint (no_log %s)' % no_log, 'mcp.k8s.sa_token': options, 'no_log': no_log,
            'ignore_errors': True, 'register': 'by_module_%s' % str(no_log).lower()}


def lookup_task(no_log, **kwargs):
    args = ', '.join('%s=%s' % (key, value) for key, value in kwargs.items())
    return {'name': 'Lookup (no_log %s)' % no_log, 'ansible.builtin.debug': {
        'msg': "{{ lookup('mcp.k8s.sa_token', 'mcp/server', cache=false, %s) | length }}" % args},
        'no_log': no_log, 'ignore_errors': True}


def run_cases(run_playbook, tmp_path, tasks, extra_vars):
    return run_playbook([{'name': 'secrets', 'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}],
                        extra_vars=extra_vars, verbosity=3, env={'ANSIBLE_LOG_PATH': str(tmp_path / 'ansible.log')})


API_KEY_SENTENCE = ('api_key has whitespace (a line break or spaces) at its start or end; remove it, for example '
                    'with the trim filter.')


def test_api_key_with_a_trailing_newline(seeded_cluster, minter_token, run_playbook, tmp_path):
    key = minter_token + '\n'
    options = {'host': seeded_cluster.url, 'ca_cert': seeded_cluster.ca_path, 'api_key': '{{ key }}'}
    tasks = [module_task(True, **options), module_task(False, **options),
             lookup_task(True, host='host', ca_cert='ca', api_key='key'),
             lookup_task(False, host='host', ca_cert='ca', api_key='key')]
    run = run_cases(run_playbook, tmp_path, tasks, {'key': key, 'host': seeded_cluster.url, 'ca': seeded_cluster.ca_path})
    assert run.rc == 0, run
    assert API_KEY_SENTENCE in run.output, run      # the tasks without no_log say what is wrong
    assert_hidden(needles(key), run, tmp_path / 'ansible.log')
    assert seeded_cluster.requests == []                               # refused before any request


def test_kubeconfig_token_with_a_trailing_newline(seeded_cluster, minter_token, run_playbook, tmp_path):
    path = tmp_path / 'newline.kubeconfig'
    with open(seeded_cluster.write_kubeconfig(token=minter_token), encoding='utf-8') as handle:
        config = yaml.safe_load(handle)
    config['users'][0]['user']['token'] = minter_token + '\n'
    path.write_text(yaml.safe_dump(config))
    tasks = [module_task(True, kubeconfig=str(path)), module_task(False, kubeconfig=str(path)),
             lookup_task(True, kubeconfig="'%s'" % path), lookup_task(False, kubeconfig="'%s'" % path),
             module_task(False, kubeconfig='{{ config }}')]
    run = run_cases(run_playbook, tmp_path, tasks, {'config': config})
    assert run.rc == 0, run
    sentence = ('The token of user "token" in kubeconfig %s has whitespace (a line break or spaces) at its start or '
                'end; remove it.' % path)
    assert sentence in displayed(run.output), run
    assert ('The token of user "token" in the kubeconfig dict has whitespace (a line break or spaces) at its start '
            'or end; remove it.') in displayed(run.output)
    assert_hidden(needles(minter_token), run, tmp_path / 'ansible.log')
    assert seeded_cluster.requests == []


def test_a_token_file_with_a_trailing_newline_works_and_is_never_shown(seeded_cluster, minter_token, run_playbook,
                                                                       tmp_path):
    token_file = tmp_path / 'token'
    token_file.write_text(minter_token + '\n')
    with open(seeded_cluster.write_kubeconfig(token='x'), encoding='utf-8') as handle:
        config = yaml.safe_load(handle)
    config['users'][0]['user'] = {'tokenFile': str(token_file)}
    path = tmp_path / 'token-file.kubeconfig'
    path.write_text(yaml.safe_dump(config))
    tasks = [dict(module_task(False, kubeconfig=str(path), name='ghost'))]   # fails after authenticating
    run = run_cases(run_playbook, tmp_path, tasks, {})
    assert run.rc == 0, run
    assert 'ServiceAccount "ghost" does not exist in namespace "mcp"' in displayed(run.output)
    assert [r['user'] for r in seeded_cluster.requests][:1] == ['system:serviceaccount:mcp:minter']
    assert_hidden(needles(minter_token), run, tmp_path / 'ansible.log')


def test_passwords_in_host_and_proxy_urls_are_never_shown(seeded_cluster, run_playbook, tmp_path):
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]        # nothing listens there once closed
    host = seeded_cluster.url.replace('https://', 'https://admin:host-pass-word@')
    proxy = 'http://proxyuser:proxy-pass-word@127.0.0.1:%d' % port
    tasks = [module_task(False, host=host, api_key='sekrit-not-a-jwt', ca_cert=seeded_cluster.ca_path),
             module_task(False, host=host, api_key='sekrit-not-a-jwt', ca_cert=seeded_cluster.ca_path, proxy=proxy,
                         request_timeout=5)]
    run = run_cases(run_playbook, tmp_path, tasks, {})
    assert run.rc == 0, run
    assert ('The API server at %s rejected the credentials (401 Unauthorized); check the kubeconfig, api_key or '
            'client certificate.' % seeded_cluster.url) in run.output
    assert ('Cannot reach the API server at %s through the proxy http://127.0.0.1:%d (connection refused); check '
            'proxy (or proxy-url in the kubeconfig) and that the proxy is running and lets the connection through.'
            % (seeded_cluster.url, port)) in run.output
    assert_hidden({'host-pass-word', 'proxy-pass-word', 'sekrit-not-a-jwt'}, run, tmp_path / 'ansible.log')


def test_exec_plugin_env_and_args_of_a_kubeconfig_dict_are_masked(seeded_cluster, minter_token, run_playbook, tmp_path):
    """A dict kubeconfig whose user is an exec plugin: its env values and arguments (here a script
    printing the token) never show at -vvv, on a task without no_log."""
    with open(seeded_cluster.write_kubeconfig(token='x'), encoding='utf-8') as handle:
        config = yaml.safe_load(handle)
    credential = ('{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", '
                  '"status": {"token": "%s"}}' % minter_token)
    config['users'][0]['user'] = {'exec': {
        'apiVersion': 'client.authentication.k8s.io/v1', 'command': '/bin/sh', 'interactiveMode': 'Never',
        'args': ['-c', "test \"$VAULT_TOKEN\" = sekrit-env-value && printf '%s' '" + credential + "'"],
        'env': [{'name': 'VAULT_TOKEN', 'value': 'sekrit-env-value'}]}}
    tasks = [module_task(False, kubeconfig='{{ config }}', name='ghost'),   # fails after authenticating
             module_task(False, kubeconfig='{{ config }}')]
    tasks[1]['register'] = 'minted'
    run = run_cases(run_playbook, tmp_path, tasks, {'config': config})
    assert run.rc == 0, run
    assert 'ServiceAccount "ghost" does not exist in namespace "mcp"' in displayed(run.output)
    assert seeded_cluster.count('POST', r'/serviceaccounts/server/token$', status=201) == 1
    assert {r['user'] for r in seeded_cluster.requests} == {'system:serviceaccount:mcp:minter'}
    assert_hidden(needles(minter_token) | {'sekrit-env-value'}, run, tmp_path / 'ansible.log')
