import hashlib
import json
import os
import re
import stat
import time

import pytest
import yaml
from kubernetes import client, config

from ansible_collections.mcp.k8s.plugins.module_utils import connection, handoff, server_files
from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError

USER = 'system:serviceaccount:mcp:server'
CLUSTER = {'server': 'https://127.0.0.1:1', 'certificate-authority-data': 'Q0E='}
RECORD = {'account': USER, 'server': 'https://127.0.0.1:1', 'ca': ['sha256:' + hashlib.sha256(b'CA').hexdigest()]}
SERVER = {'host': '127.0.0.1', 'port': 8000, 'transport': 'sse', 'namespace': 'default', 'monitoring': {}}


def params(tmp_path, **overrides):
    values = {'state': 'present', 'token': 'secret-token-1', 'expiration_timestamp': '2030-01-01T00:00:00Z',
              'kubeconfig_path': str(tmp_path / 'kubeconfig'), 'kubeconfig_credential': 'exec',
              'credential_path': None, 'exec_command': '/bin/cat', 'config_path': str(tmp_path / 'config.yaml'),
              'server': dict(SERVER), 'namespace': 'mcp', 'force': False}
    values.update(overrides)
    return values


def run(tmp_path, check_mode=False, cluster='default', **overrides):
    cluster = CLUSTER if cluster == 'default' else cluster
    changes, written = server_files.plan(params(tmp_path, **overrides), cluster, USER, check_mode=check_mode)
    return server_files.ensure(changes, check_mode=check_mode), changes, written


def test_writes_three_files_0600_then_nothing_changes(tmp_path):
    changed, changes, written = run(tmp_path)
    assert changed and [c.label for c in changes] == ['kubeconfig', 'credential', 'config']
    for name in ('kubeconfig', 'kubeconfig.credential.json', 'config.yaml'):
        assert stat.S_IMODE(os.stat(str(tmp_path / name)).st_mode) == 0o600
    kubeconfig = yaml.safe_load((tmp_path / 'kubeconfig').read_text())
    assert kubeconfig == written
    assert kubeconfig['users'][0]['user'] == {'exec': {
        'apiVersion': 'client.authentication.k8s.io/v1', 'command': '/bin/cat',
        'args': [str(tmp_path / 'kubeconfig.credential.json')], 'interactiveMode': 'Never', 'provideClusterInfo': False}}
    credential = json.loads((tmp_path / 'kubeconfig.credential.json').read_text())
    assert credential['status'] == {'token': 'secret-token-1', 'expirationTimestamp': '2030-01-01T00:00:00Z'}
    text = (tmp_path / 'config.yaml').read_text()
    assert text.startswith('# Written by mcp.k8s for the ServiceAccount mcp/server')
    assert text.splitlines()[1] == '# mcp.k8s: ' + json.dumps(RECORD, sort_keys=True)
    assert yaml.safe_load(text) == {
        'server': {'name': 'mcp-k8s-server', 'transport': 'sse', 'host': '127.0.0.1', 'port': 8000},
        'kubernetes': {'config_path': str(tmp_path / 'kubeconfig'), 'namespace': 'default'}}
    assert run(tmp_path)[0] is False
    os.chmod(str(tmp_path / 'config.yaml'), 0o644)
    assert run(tmp_path)[0] is True
    assert stat.S_IMODE(os.stat(str(tmp_path / 'config.yaml')).st_mode) == 0o600


def test_new_token_rewrites_only_the_credential_and_diffs_hide_it(tmp_path):
    run(tmp_path)
    changed, changes, _written = run(tmp_path, check_mode=True, token='secret-token-2')
    assert changed and [c.label for c in changes if c.changed] == ['credential']
    assert 'secret-token-1' in (tmp_path / 'kubeconfig.credential.json').read_text()   # check mode wrote nothing
    diffs = json.dumps([c.diff() for c in changes])
    assert 'secret-token' not in diffs and '(token hidden)' in diffs
    run(tmp_path, token='secret-token-2')
    assert 'secret-token-2' in (tmp_path / 'kubeconfig.credential.json').read_text()


def test_monitoring_and_other_settings_reach_the_config(tmp_path):
    server = dict(SERVER, host='0.0.0.0', port=9000, namespace='apps', monitoring={'enabled': False})
    run(tmp_path, server=server)
    data = yaml.safe_load((tmp_path / 'config.yaml').read_text())
    assert data['server']['host'] == '0.0.0.0' and data['server']['port'] == 9000
    assert data['kubernetes']['namespace'] == 'apps' and data['monitoring'] == {'enabled': False}


def test_foreign_files_are_refused_and_left_alone(tmp_path):
    (tmp_path / 'config.yaml').write_text('server: {port: 1}\n')
    with pytest.raises(K8sTokenError) as info:
        run(tmp_path)
    assert info.value.message == ('%s exists and was not written by mcp.k8s; move it away, set config_path to '
                                  'another path, or set force=true to replace it.' % (tmp_path / 'config.yaml'))
    assert not (tmp_path / 'kubeconfig').exists()   # nothing written when one file is not ours
    run(tmp_path, state='absent')
    assert (tmp_path / 'config.yaml').read_text() == 'server: {port: 1}\n'
    assert run(tmp_path, force=True)[0] is True     # force replaces it
    assert server_files.is_our_config((tmp_path / 'config.yaml').read_text(), USER)


def test_messages_name_the_options_as_the_caller_knows_them(tmp_path):
    names = {'config_path': 'mcp_k8s_server_config_path', 'force': 'mcp_k8s_server_kubeconfig_overwrite',
             'credential_path': 'mcp_k8s_server_credential_path', 'kubeconfig_path': 'mcp_k8s_server_kubeconfig_path'}
    (tmp_path / 'config.yaml').write_text('server: {port: 1}\n')
    with pytest.raises(K8sTokenError) as info:
        run(tmp_path, option_names=names)
    assert info.value.message == ('%s exists and was not written by mcp.k8s; move it away, set mcp_k8s_server_config_path '
                                  'to another path, or set mcp_k8s_server_kubeconfig_overwrite: true to replace it.'
                                  % (tmp_path / 'config.yaml'))
    with pytest.raises(K8sTokenError) as info:
        run(tmp_path, option_names=names, credential_path=str(tmp_path / 'kubeconfig'))
    assert info.value.message == ('mcp_k8s_server_credential_path and mcp_k8s_server_kubeconfig_path name the same file, '
                                  '%s, which would hold both; set mcp_k8s_server_credential_path to another path.'
                                  % (tmp_path / 'kubeconfig'))
    with pytest.raises(K8sTokenError, match='option_names gives names for adopt, which is not an option'):
        run(tmp_path, option_names={'adopt': 'mcp_k8s_server_adopt'})


def test_force_never_removes_a_foreign_file(tmp_path):
    (tmp_path / 'kubeconfig').write_text('apiVersion: v1\nkind: Config\nusers: []\n')
    assert run(tmp_path, state='absent', force=True, config_path=None)[0] is False
    assert (tmp_path / 'kubeconfig').read_text() == 'apiVersion: v1\nkind: Config\nusers: []\n'


def test_absent_removes_only_ours_and_token_mode_drops_the_credential(tmp_path):
    run(tmp_path)
    changed, _changes, written = run(tmp_path, kubeconfig_credential='token', config_path=None)
    assert changed and not (tmp_path / 'kubeconfig.credential.json').exists() and written is None
    text = (tmp_path / 'kubeconfig').read_text()  # token mode: the token inside the kubeconfig, 0600
    assert text.startswith('# Written by mcp.k8s for %s: ' % USER)
    assert yaml.safe_load(text)['users'] == [{'name': USER, 'user': {'token': 'secret-token-1'}}]
    assert yaml.safe_load(text)['clusters'][0]['cluster'] == CLUSTER
    assert stat.S_IMODE(os.stat(str(tmp_path / 'kubeconfig')).st_mode) == 0o600
    assert run(tmp_path, kubeconfig_credential='token', config_path=None)[0] is False
    run(tmp_path)
    assert run(tmp_path, state='absent')[0] is True
    assert sorted(os.listdir(str(tmp_path))) == []
    assert run(tmp_path, state='absent')[0] is False


def test_bad_combinations_get_one_sentence(tmp_path):
    with pytest.raises(K8sTokenError) as info:
        run(tmp_path, kubeconfig_path=None)
    assert 'config_path needs kubeconfig_path' in info.value.message
    with pytest.raises(K8sTokenError) as info:
        run(tmp_path, token=None)
    assert 'needs token and expiration_timestamp' in info.value.message
    with pytest.raises(K8sTokenError) as info:
        run(tmp_path, kubeconfig_credential='token', token=None)
    assert info.value.message == 'kubeconfig_credential=token needs token (from mcp.k8s.sa_token).'
    with pytest.raises(K8sTokenError) as info:
        run(tmp_path, cluster={'certificate-authority-data': 'Q0E='})
    assert info.value.message.startswith('cluster needs the server of the kubeconfig, such as minted.kubeconfig')
    assert run(tmp_path, check_mode=True, token=None)[0] is True
    # check mode without the cluster reads nothing and only tells whether a file is in the way
    assert run(tmp_path, check_mode=True, token=None, cluster=None)[0] is True
    assert not (tmp_path / 'kubeconfig').exists()


def test_stored_token_reads_back_only_what_the_collection_wrote(tmp_path):
    run(tmp_path)                                     # exec mode: kubeconfig -> credential file
    assert server_files.stored_token(str(tmp_path / 'kubeconfig')) == 'secret-token-1'
    assert server_files.stored_token(str(tmp_path / 'kubeconfig.credential.json')) == 'secret-token-1'
    run(tmp_path, kubeconfig_credential='token', token='secret-token-2')
    assert server_files.stored_token(str(tmp_path / 'kubeconfig')) == 'secret-token-2'
    odd = tmp_path / 'odd'
    for text in ('', 'not: [yaml', '[]', 'kind: Config\nusers: [{name: a, user: {token: x}}, {name: b}]\n',
                 'kind: Config\nusers: [{name: a, user: {token: 42}}]\n', '{"kind": "ExecCredential"}',
                 'kind: Config\nusers: [{name: a, user: {exec: {apiVersion: client.authentication.k8s.io/v1,'
                 ' args: [%s]}}}]\n' % odd):
        odd.write_text(text)
        assert server_files.stored_token(str(odd)) is None, text
    assert server_files.stored_token(str(tmp_path / 'missing')) is None
    os.mkfifo(str(tmp_path / 'fifo'))                 # would block a read forever
    assert server_files.stored_token(str(tmp_path / 'fifo')) is None
    assert server_files.stored_token(str(tmp_path)) is None
    (tmp_path / 'big').write_text('x' * (server_files.MAX_STORED_SIZE + 1))
    assert server_files.stored_token(str(tmp_path / 'big')) is None
    assert server_files.stored_token('') is None


def _whoami(api_client):
    """The user the client's current credential authenticates as: the API server names it when it
    refuses the list (neither account may list pods)."""
    with pytest.raises(client.ApiException) as info:
        client.CoreV1Api(api_client).list_namespaced_pod('mcp')
    assert info.value.status == 403
    return re.search(r'User "([^"]+)"', json.loads(info.value.body)['message']).group(1)


@pytest.mark.parametrize('seconds_left, rotates', [(120, True), (3600, False)])
def test_the_python_client_reruns_the_plugin_once_the_credential_expires(kube_double, tmp_path, seconds_left, rotates):
    """With this client generation, a running client picks up a rewritten credential file once the
    credential it holds is within its expiry margin (5 minutes), and keeps its credential before."""
    for name in ('first', 'second'):
        kube_double.create_service_account(name, 'mcp')
    cluster = connection.get_cluster({'kubeconfig': kube_double.kubeconfig_path})
    kubeconfig = handoff.kubeconfig_for_token(cluster, '', 'mcp', 'system:serviceaccount:mcp:first')
    credential = str(tmp_path / 'credential.json')
    expires = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() + seconds_left))
    server_files.write_atomic(credential, server_files.credential_text(kube_double.mint_token('first', 'mcp'), expires))
    server_files.write_atomic(str(tmp_path / 'kubeconfig'), server_files.kubeconfig_text(
        server_files.exec_kubeconfig(kubeconfig, credential, '/bin/cat')))
    api_client = config.new_client_from_config(config_file=str(tmp_path / 'kubeconfig'))
    assert isinstance(api_client, client.ApiClient)
    assert _whoami(api_client) == 'system:serviceaccount:mcp:first'
    server_files.write_atomic(credential, server_files.credential_text(kube_double.mint_token('second', 'mcp'), expires))
    assert _whoami(api_client) == 'system:serviceaccount:mcp:%s' % ('second' if rotates else 'first')


# Mutants of server_files.py that the tests above let live (make mutation, docs/testing.md).

def test_token_mode_needs_no_expiration_timestamp(tmp_path):
    # only the exec credential carries an expiry (mode == 'exec' -> mode != 'exec')
    changed, changes, _written = run(tmp_path, kubeconfig_credential='token', expiration_timestamp=None, config_path=None)
    assert changed and 'secret-token-1' in (tmp_path / 'kubeconfig').read_text()


@pytest.mark.parametrize('text', [
    yaml.safe_dump({'kind': 'Secret', 'users': [{'name': USER, 'user': {'token': 'sekrit-token-x'}}]}),   # > 'Config'
    yaml.safe_dump({'kind': 'Bogus', 'users': [{'name': USER, 'user': {'token': 'sekrit-token-x'}}]}),    # < 'Config'
    'users: [oops\n',                                                                                      # not YAML
])
def test_a_file_that_is_not_a_kubeconfig_is_neither_ours_nor_read(tmp_path, text):
    # kind must be Config, exactly (!= -> < or <=), and YAML that does not parse is not ours (return False -> True)
    path = tmp_path / 'kubeconfig'
    path.write_text(text)
    assert server_files.stored_token(str(path)) is None
    run(tmp_path, state='absent', config_path=None)
    assert path.read_text() == text
    with pytest.raises(K8sTokenError, match='was not written by mcp.k8s'):
        run(tmp_path, config_path=None)


def test_an_exec_plugin_without_arguments_holds_no_token(tmp_path):
    # the credential file is the plugin's one argument (len(args) == 1 -> <= 1 would read args[0] of [])
    config = server_files.exec_kubeconfig(server_files.token_kubeconfig(CLUSTER, '', 'mcp', USER), 'x', '/bin/cat')
    config['users'][0]['user']['exec']['args'] = []
    (tmp_path / 'kubeconfig').write_text(yaml.safe_dump(config))
    assert server_files.stored_token(str(tmp_path / 'kubeconfig')) is None


@pytest.mark.parametrize('text', ['{"kind": "ExecCredential"}', '{"kind": "ExecCredential", "status": "no token"}'])
def test_redact_takes_an_exec_credential_without_a_status(text):
    # isinstance(status, dict) and 'token' in status (and -> or would index a missing or text status)
    assert json.loads(server_files.redact(text)) == json.loads(text)


def test_a_failed_write_is_one_sentence_and_leaves_no_temporary_file(tmp_path):
    # os.replace over a folder fails: "Cannot write PATH: Is a directory." (except OSError, strerror or exc)
    changes, _written = server_files.plan(params(tmp_path, config_path=None), CLUSTER, USER)
    (tmp_path / 'kubeconfig').mkdir()       # appears between the plan and the write
    with pytest.raises(K8sTokenError) as info:
        server_files.ensure(changes)
    assert info.value.message == 'Cannot write %s: Is a directory.' % (tmp_path / 'kubeconfig')
    assert sorted(os.listdir(str(tmp_path))) == ['kubeconfig']


def test_redact_keeps_the_credential_layout_and_hides_what_is_not_yaml():
    # the redacted ExecCredential is the file as written, token hidden (indent=2); text that is not
    # YAML is hidden whole (except yaml.YAMLError)
    written = server_files.credential_text('sekrit-token-y', '2030-01-01T00:00:00Z')
    assert server_files.redact(written) == server_files.credential_text(server_files.HIDDEN, '2030-01-01T00:00:00Z')
    assert server_files.redact('users: [oops\n') == '(content hidden: not YAML)\n'


def test_a_folder_that_cannot_be_made_is_one_sentence(tmp_path):
    # makedirs over a file: "Cannot write ...; create the folder ..." (except OSError around makedirs and mkstemp)
    path = tmp_path / 'sub' / 'kubeconfig'
    changes, _written = server_files.plan(params(tmp_path, kubeconfig_path=str(path), config_path=None), CLUSTER, USER)
    (tmp_path / 'sub').write_text('a file where the folder should be')
    with pytest.raises(K8sTokenError) as info:
        server_files.ensure(changes)
    assert info.value.message == ('Cannot write %s: File exists; create the folder %s or choose another path.'
                                  % (path, tmp_path / 'sub'))


def test_exec_mode_needs_the_expiration_timestamp(tmp_path):
    # mode == 'exec' -> mode < 'exec': a token without its expiry would be written as an ExecCredential
    with pytest.raises(K8sTokenError) as info:
        run(tmp_path, expiration_timestamp=None)
    assert info.value.message == 'kubeconfig_credential=exec needs token and expiration_timestamp (from mcp.k8s.sa_token).'


def test_files_keep_their_key_order_and_report_their_state(tmp_path):
    # kubeconfig and config as a person reads them (sort_keys=False), and each change's state
    changes = run(tmp_path, config_path=str(tmp_path / 'config.yaml'))[1]
    kubeconfig = yaml.safe_load((tmp_path / 'kubeconfig').read_text())
    assert list(kubeconfig) == ['apiVersion', 'kind', 'clusters', 'users', 'contexts', 'current-context', 'preferences']
    assert list(yaml.safe_load((tmp_path / 'config.yaml').read_text())) == ['server', 'kubernetes']
    assert [c.report()['state'] for c in changes] == ['present', 'present', 'present']
    gone = run(tmp_path, state='absent', config_path=str(tmp_path / 'config.yaml'))[1]
    assert [c.report()['state'] for c in gone] == ['absent', 'absent', 'absent']


@pytest.mark.parametrize('token', ['   ', server_files.HIDDEN])
def test_a_blank_or_hidden_token_is_no_token(tmp_path, token):
    # not token.strip() or token == HIDDEN (or -> and)
    path = tmp_path / 'credential.json'
    path.write_text(server_files.credential_text(token, '2030-01-01T00:00:00Z'))
    assert server_files.stored_token(str(path)) is None


def test_redact_takes_a_kubeconfig_with_odd_users():
    # isinstance(user, dict) and isinstance(user.get('user'), dict) (and -> or would call .get on a string)
    text = yaml.safe_dump({'kind': 'Config', 'users': ['oops', {'name': 'u', 'user': {'token': 'sekrit-z'}}]})
    assert 'sekrit-z' not in server_files.redact(text) and 'oops' in server_files.redact(text)


def test_a_file_of_ours_with_another_mode_is_rewritten_0600(tmp_path):
    # every permission bit counts (st_mode & 0o7777, not & 0o7776): 0601 is not 0600
    run(tmp_path, config_path=None)
    os.chmod(str(tmp_path / 'kubeconfig'), 0o601)
    changed, _changes, _written = run(tmp_path, config_path=None)
    assert changed and stat.S_IMODE(os.stat(str(tmp_path / 'kubeconfig')).st_mode) == 0o600


def test_a_path_that_cannot_be_read_is_one_sentence(tmp_path):
    # "Cannot read PATH: Is a directory." (strerror or exc)
    (tmp_path / 'kubeconfig').mkdir()
    with pytest.raises(K8sTokenError) as info:
        run(tmp_path, config_path=None)
    assert info.value.message == 'Cannot read %s: Is a directory.' % (tmp_path / 'kubeconfig')


def test_stored_token_size_limit_and_plugin_api_version(tmp_path):
    # up to MAX_STORED_SIZE bytes is read (> not ==), one byte more is not; an exec plugin of another
    # apiVersion is not followed (== not >=); the context keeps the namespace (or 'default', not and)
    text = server_files.credential_text('sekrit-token-w', '2030-01-01T00:00:00Z')
    path = tmp_path / 'credential.json'
    path.write_text(text + ' ' * (server_files.MAX_STORED_SIZE - len(text)))
    assert server_files.stored_token(str(path)) == 'sekrit-token-w'
    path.write_text(text + ' ' * (server_files.MAX_STORED_SIZE + 1 - len(text)))
    assert server_files.stored_token(str(path)) is None
    path.write_text(text)
    config = server_files.exec_kubeconfig(server_files.token_kubeconfig(CLUSTER, '', 'mcp', USER), str(path), '/bin/cat')
    config['users'][0]['user']['exec']['apiVersion'] = 'client.authentication.k8s.io/v1beta1'
    (tmp_path / 'kubeconfig').write_text(yaml.safe_dump(config))
    assert server_files.stored_token(str(tmp_path / 'kubeconfig')) is None
    (tmp_path / 'kubeconfig').unlink()
    run(tmp_path, config_path=None)
    assert yaml.safe_load((tmp_path / 'kubeconfig').read_text())['contexts'][0]['context']['namespace'] == 'mcp'
