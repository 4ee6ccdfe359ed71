"""The rule the playbook token.yml follows for token_file: write only a missing file or a bare token
file of the same account (server_files.token_file_status)."""
import base64
import json
import os

import pytest

from ansible_collections.mcp.k8s.plugins.module_utils import server_files
from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError

USER = 'system:serviceaccount:ci:deploy-bot'


def jwt(sub):
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip('=')
    return '%s.%s.%s' % (part({'alg': 'RS256'}), part({'sub': sub, 'exp': 4102444800}), 'c2lnbmF0dXJl')


def _write(path, text, mode=0o600):
    with open(path, 'w') as handle:
        handle.write(text)
    os.chmod(path, mode)
    return str(path)


def test_a_missing_file_in_a_writable_or_missing_folder_may_be_written(tmp_path):
    assert server_files.token_file_status(str(tmp_path / 'token'), USER) == 'missing'
    assert server_files.token_file_status(str(tmp_path / 'new' / 'deeper' / 'token'), USER) == 'missing'


@pytest.mark.parametrize('text', [jwt(USER), jwt(USER) + '\n'])
def test_a_bare_token_of_the_same_account_is_ours(tmp_path, text):
    assert server_files.token_file_status(_write(tmp_path / 'token', text), USER) == 'ours'


NOT_OURS = ('token_file {path} exists and is not a token file of system:serviceaccount:ci:deploy-bot that mcp.k8s '
            'wrote, so it was not replaced; remove it or choose another path.')


@pytest.mark.parametrize('text', [
    'unrelated settings\n',                                   # any other file
    jwt('system:serviceaccount:ci:other'),                   # another account's token
    jwt(USER) + '\n' + jwt(USER),                            # more than the token
    'apiVersion: v1\nkind: Config\nusers: []\n',             # a kubeconfig
    '',
])
def test_any_other_file_is_refused_and_kept(tmp_path, text):
    path = _write(tmp_path / 'token', text, mode=0o644)
    with pytest.raises(K8sTokenError) as err:
        server_files.token_file_status(path, USER)
    assert str(err.value) == NOT_OURS.format(path=path)
    with open(path) as handle:
        assert handle.read() == text


def test_a_symlink_is_refused_even_to_a_token_file_of_ours(tmp_path):
    target = _write(tmp_path / 'real', jwt(USER))
    link = tmp_path / 'token'
    link.symlink_to(target)
    with pytest.raises(K8sTokenError) as err:
        server_files.token_file_status(str(link), USER)
    assert str(err.value) == ('token_file %s is a symbolic link, which is never replaced; remove it or choose '
                              'another path.' % link)
    assert link.is_symlink()


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(K8sTokenError, match='exists and is not a regular file; choose another path'):
        server_files.token_file_status(str(tmp_path), USER)


def test_a_folder_that_cannot_be_made_is_refused_before_minting(tmp_path):
    blocker = _write(tmp_path / 'plain', 'x')
    path = os.path.join(blocker, 'sub', 'token')
    with pytest.raises(K8sTokenError) as err:
        server_files.token_file_status(path, USER, option='token_kubeconfig_path')
    assert str(err.value) == ('token_kubeconfig_path %s cannot be written: its folder cannot be created or written '
                              'by this user; choose another path.' % path)


def test_the_message_never_holds_the_file_s_text(tmp_path):
    secret = jwt('system:serviceaccount:ci:other')
    path = _write(tmp_path / 'token', secret)
    with pytest.raises(K8sTokenError) as err:
        server_files.token_file_status(path, USER)
    assert secret not in str(err.value)


def _params(tmp_path, **extra):
    params = {'state': 'present', 'token': jwt(USER), 'token_path': str(tmp_path / 'token'),
              'kubeconfig_path': None, 'config_path': None}
    params.update(extra)
    return params


def test_ensure_token_file_writes_0600_then_is_unchanged_and_removes_only_its_own(tmp_path):
    params = _params(tmp_path)
    assert server_files.ensure_token_file(params, USER, check_mode=True)['changed'] is True
    assert not (tmp_path / 'token').exists()
    assert server_files.ensure_token_file(params, USER) == {'path': params['token_path'], 'changed': True,
                                                            'state': 'present', 'file': 'token'}
    assert (tmp_path / 'token').read_text() == params['token']
    assert os.stat(params['token_path']).st_mode & 0o777 == 0o600
    assert server_files.ensure_token_file(params, USER)['changed'] is False
    assert server_files.ensure_token_file(dict(params, state='absent'), USER)['changed'] is True
    assert not (tmp_path / 'token').exists()


def test_token_path_and_kubeconfig_path_may_not_name_one_file(tmp_path):
    params = _params(tmp_path, kubeconfig_path=str(tmp_path / 'token'))
    with pytest.raises(K8sTokenError, match='name the same file'):
        server_files.check_token_file(params, USER)


def test_token_path_needs_a_token_outside_check_mode(tmp_path):
    params = _params(tmp_path, token=None)
    assert server_files.ensure_token_file(params, USER, check_mode=True)['changed'] is True
    with pytest.raises(K8sTokenError, match='token_path needs token'):
        server_files.ensure_token_file(params, USER)
