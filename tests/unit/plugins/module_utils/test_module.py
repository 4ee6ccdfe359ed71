"""The modules' base, run through a real AnsibleModule: what it returns, hides and reports."""
import json
import os

import pytest

from ansible.module_utils import basic
try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core before 2.19 (.venv-old runs 2.16): the module arguments as 2.16 reads them
    import contextlib

    from ansible.module_utils.common.text.converters import to_bytes

    @contextlib.contextmanager
    def patch_module_args(args):
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved

from ansible_collections.mcp.k8s.plugins.module_utils import connection, module as base
from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError

TOKEN = 'eyJhbGciOiJSUzI1NiJ9.given-token-payload.signature-of-the-given-token'
API_KEY = 'api-key-of-the-connection-0123456789'
SPEC = {'token': {'type': 'str', 'no_log': True}, 'name': {'type': 'str', 'aliases': ['service_account']}}


@pytest.fixture(autouse=True)
def no_connection_env(monkeypatch):
    for name in list(connection.AUTH_ENV) + ['KUBECONFIG']:
        monkeypatch.delenv(name, raising=False)
    for names in connection.AUTH_ENV.values():
        for name in names:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('HOME', '/nonexistent')
    # warnings go to the module result, as in a module process (not to Display, as once the
    # controller's code is imported by other tests)
    try:
        from ansible.module_utils import _internal
    except ImportError:  # ansible-core before 2.19 always returns them with the result
        return
    monkeypatch.setattr(_internal, 'is_controller', False)


def run_module(args, body, spec=None, **kwargs):
    """The JSON the module prints when ``body(module)`` ends it, and its exit code."""
    with patch_module_args(args):
        module = base.K8sModule(spec or SPEC, **kwargs)
        with pytest.raises(SystemExit) as exited:
            body(module)
    return exited.value.code


def output(capsys):
    return json.loads(capsys.readouterr().out)


def test_returned_secret_is_kept_and_hidden_in_the_invocation(capsys):
    args = {'token': TOKEN, 'name': 'app', 'api_key': API_KEY, 'host': 'https://203.0.113.10:6443'}
    code = run_module(args, lambda m: m.exit_returning_secret('token', {'token': TOKEN, 'changed': False,
                                                                        'echo': 'key %s' % API_KEY}))
    result = output(capsys)
    assert code == 0
    assert result['token'] == TOKEN
    invocation = json.dumps(result['invocation'])
    assert TOKEN not in invocation
    assert result['invocation']['module_args']['token'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
    assert result['invocation']['module_args']['name'] == 'app'
    # the connection's secrets stay hidden everywhere
    assert API_KEY not in json.dumps(result)


def test_plain_exit_scrubs_a_no_log_value_from_the_result(capsys):
    """Why exit_returning_secret exists: AnsibleModule removes a no_log input from the result. If
    ansible-core stops doing so, this fails and the method can go."""
    run_module({'token': TOKEN, 'name': 'app'}, lambda m: m.exit({'token': TOKEN, 'changed': False}))
    result = output(capsys)
    assert TOKEN not in json.dumps(result)


def test_connection_options_are_merged_with_kubernetes_core_aliases(capsys):
    args = {'name': 'app', 'verify_ssl': False, 'ssl_ca_cert': '/ca.crt', 'kubeconfig': '/k'}
    run_module(args, lambda m: m.exit({'params': dict(m.params), 'changed': False}))
    params = output(capsys)['params']
    assert params['validate_certs'] is False
    assert params['ca_cert'] == '/ca.crt'
    assert params['kubeconfig'] == '/k'


def test_kubeconfig_secrets_are_no_log(capsys):
    kubeconfig = {'users': [{'name': 'u', 'user': {'token': 'kubeconfig-user-token-abcdef'}}]}
    run_module({'kubeconfig': kubeconfig}, lambda m: m.exit({'seen': 'kubeconfig-user-token-abcdef',
                                                             'changed': False}))
    assert 'kubeconfig-user-token-abcdef' not in json.dumps(output(capsys))


def test_token_error_fails_with_its_sentence(capsys):
    def work(module):
        raise K8sTokenError('The ServiceAccount "default/app" does not exist; create it first.')
    code = run_module({'name': 'app'}, lambda m: m.run(work))
    result = output(capsys)
    assert code == 1
    assert result['failed'] is True
    assert result['msg'] == 'The ServiceAccount "default/app" does not exist; create it first.'
    assert result['changed'] is False
    assert 'exception' not in result or 'Traceback' not in result.get('msg', '')


def test_token_error_after_a_change_reports_changed(capsys):
    def work(module):
        exc = K8sTokenError('The Secret was created but no token came.')
        exc.changed = True
        raise exc
    run_module({'name': 'app'}, lambda m: m.run(work))
    assert output(capsys)['changed'] is True


def test_warnings_and_diff(capsys):
    def body(module):
        module.exit({'changed': True}, warnings=['requested expiration shortened'], diff={'before': 'a'})
    run_module({'name': 'app'}, body)
    result = output(capsys)
    assert 'requested expiration shortened' in json.dumps(result['warnings'])
    assert 'diff' not in result
    with patch_module_args({'name': 'app', '_ansible_diff': True}):
        module = base.K8sModule(SPEC)
        with pytest.raises(SystemExit):
            module.exit({'changed': True}, diff={'before': 'a'})
    assert output(capsys)['diff'] == {'before': 'a'}


MISSING_KUBERNETES = (connection, 'kubernetes_import_error', lambda: ImportError('No module named kubernetes'))


@pytest.mark.parametrize('library, flag', [('kubernetes', MISSING_KUBERNETES),
                                           ('PyJWT', ('serviceaccounts', 'HAS_JWT', False)),
                                           ('PyYAML', ('server_files', 'HAS_YAML', False))])
def test_missing_library_fails_with_missing_required_lib(capsys, monkeypatch, library, flag):
    owner, name, value = flag
    if isinstance(owner, str):
        import importlib
        owner = importlib.import_module('ansible_collections.mcp.k8s.plugins.module_utils.' + owner)
    monkeypatch.setattr(owner, name, value)
    with patch_module_args({'name': 'app'}):
        with pytest.raises(SystemExit) as exited:
            base.K8sModule(SPEC, requires=(library,))
    result = output(capsys)
    assert exited.value.code == 1
    assert result['msg'].startswith('Failed to import the required Python library (%s)' % library)


def test_a_module_that_sends_no_request_does_not_import_the_kubernetes_client(tmp_path):
    # server_files with the cluster entry given: the client's import (every API model) is not paid
    import subprocess
    import sys
    code = ('import sys, json\n'
            'from ansible_collections.mcp.k8s.plugins.modules import server_files\n'
            'from ansible_collections.mcp.k8s.plugins.module_utils import connection, module\n'
            'print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "kubernetes")))\n')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True, env=env).stdout
    assert json.loads(out) == []


def test_unknown_library_is_a_programming_error():
    with patch_module_args({'name': 'app'}):
        with pytest.raises(ValueError):
            base.K8sModule(SPEC, requires=('nope',))


def test_params_are_those_of_ansible_module():
    with patch_module_args({'service_account': 'app'}):
        module = base.K8sModule(SPEC)
    assert module.params['name'] == 'app'
    assert isinstance(module.ansible, basic.AnsibleModule)
    assert module.check_mode is False


def test_a_failure_with_an_http_answer_returns_its_diagnostics(capsys, monkeypatch):
    """status, reason and the API server's Status (redacted), and the traceback in exception where
    ansible-core keeps it (asked for here: -vvv before 2.19, DISPLAY_TRACEBACK=error from 2.19)."""
    from ansible_collections.mcp.k8s.plugins.module_utils.errors import Action, HttpError, as_token_error
    args = {'name': 'app', 'token': TOKEN, '_ansible_verbosity': 3}
    try:    # 2.19 reads _ansible_tracebacks_for once per process: forget what an earlier test's arguments said
        from ansible.module_utils._internal import _traceback
        monkeypatch.setattr(_traceback, '_module_tracebacks_enabled_events', None)
        # as in a module process (the controller's display, once another test imported it, decides otherwise)
        monkeypatch.setattr(_traceback, '_is_traceback_enabled', _traceback._is_module_traceback_enabled)
        args['_ansible_tracebacks_for'] = ['error']
    except ImportError:   # before 2.19: -vvv
        pass
    answer = json.dumps({'kind': 'Status', 'apiVersion': 'v1', 'status': 'Failure', 'reason': 'Forbidden', 'code': 403,
                         'message': 'User "alice" cannot create resource "serviceaccounts/token"; saw %s' % TOKEN})

    def work(module):
        try:
            raise HttpError(403, 'Forbidden', {}, answer)
        except HttpError as exc:
            raise as_token_error(exc, Action('create', 'serviceaccounts/token', namespace='mcp'))
    code = run_module(args, lambda m: m.run(work))
    result = output(capsys)
    assert code == 1 and result['failed'] is True
    assert result['msg'] == ('User "alice" may not create serviceaccounts/token in namespace "mcp" (403 Forbidden); '
                             'grant it "create" on "serviceaccounts/token" with a Role and RoleBinding.')
    assert (result['status'], result['reason']) == (403, 'Forbidden')
    assert result['api_status']['code'] == 403 and result['api_status']['kind'] == 'Status'
    assert result['api_status']['message'].startswith('User "alice" cannot create resource "serviceaccounts/token"; saw ')
    assert 'Traceback (most recent call last)' in result['exception'] and 'K8sTokenError' in result['exception']
    assert 'HttpError: 403 Forbidden' in result['exception']
    assert TOKEN not in json.dumps(result) and 'given-token-payload' not in json.dumps(result)


def test_a_failure_without_an_http_answer_has_no_diagnostics(capsys):
    def work(module):
        raise K8sTokenError('duration "abc" is not a duration.')
    run_module({'name': 'app'}, lambda m: m.run(work))
    result = output(capsys)
    assert not set(result) & {'status', 'reason', 'api_status'}


def test_traceback_only_at_vvv_before_ansible_core_2_19():
    assert base._core_decides_tracebacks('2.19.0') and base._core_decides_tracebacks('2.20.1')
    assert not base._core_decides_tracebacks('2.16.14') and not base._core_decides_tracebacks('2.18.3')


def test_fail_returns_the_result_and_shows_the_warnings(capsys):
    def body(module):
        module.fail('The check failed.', {'changed': True, 'table': ['a']}, warnings=['careful'])
    code = run_module({'name': 'app'}, body)
    result = output(capsys)
    assert code == 1 and result['msg'] == 'The check failed.' and result['table'] == ['a'] and result['changed']
    assert 'careful' in json.dumps(result['warnings'])


def test_a_module_that_makes_no_request_has_no_connection_options(capsys):
    """check_variables: K8sModule(connects=False, requires=()) is an AnsibleModule of its own options only."""
    code = run_module({'name': 'app'}, lambda m: m.exit({'params': dict(m.params), 'changed': False}),
                      spec={'name': {'type': 'str'}}, requires=(), connects=False)
    assert code == 0 and output(capsys)['params'] == {'name': 'app'}
    with patch_module_args({'name': 'app', 'kubeconfig': '/k'}):
        with pytest.raises(SystemExit) as exited:
            base.K8sModule({'name': {'type': 'str'}}, requires=(), connects=False)
    assert exited.value.code == 1 and 'Unsupported parameters' in output(capsys)['msg']


MODULES = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'plugins', 'modules')


def _module_sources():
    for name in sorted(os.listdir(MODULES)):
        if name.endswith('.py') and name != '__init__.py':
            with open(os.path.join(MODULES, name), encoding='utf-8') as handle:
                yield name, handle.read()


def test_modules_use_the_base_class_only():
    for name, source in _module_sources():
        assert 'K8sModule(' in source, name
        assert '.ansible.' not in source and 'AnsibleModule' not in source, name


def test_every_module_that_connects_documents_the_diagnostics_alike():
    import yaml
    documented = {}
    for name, source in _module_sources():
        if 'connects=False' in source:
            continue
        returns = yaml.safe_load(source.split("RETURN = r'''", 1)[1].split("'''", 1)[0])
        documented[name] = dict((key, returns[key]) for key in ('status', 'reason', 'api_status'))
        assert all(entry['returned'] == 'on failure with an HTTP answer' for entry in documented[name].values()), name
    assert len(documented) == 5
    assert all(entry == documented['sa_token.py'] for entry in documented.values())
