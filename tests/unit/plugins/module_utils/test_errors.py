import json
import socket

import jwt
import pytest
import urllib3

from ansible_collections.mcp.k8s.plugins.module_utils import errors
from ansible_collections.mcp.k8s.plugins.module_utils.errors import Action, HttpError, K8sTokenError, as_token_error

TOKEN_ACTION = Action('create', 'serviceaccounts/token', namespace='mcp', subject='ServiceAccount "mcp/server"',
                      server='https://10.0.0.1:6443')


def status_body(code, reason, message, details=None):
    return json.dumps({'kind': 'Status', 'status': 'Failure', 'message': message, 'reason': reason,
                       'details': details or {}, 'code': code}).encode()


def test_forbidden_names_user_verb_and_namespace():
    exc = HttpError(403, 'Forbidden', {}, status_body(
        403, 'Forbidden', 'serviceaccounts "server" is forbidden: User "alice" cannot create resource '
        '"serviceaccounts/token" in API group "" in the namespace "mcp"'))
    assert as_token_error(exc, TOKEN_ACTION).message == (
        'User "alice" may not create serviceaccounts/token in namespace "mcp" (403 Forbidden); '
        'grant it "create" on "serviceaccounts/token" with a Role and RoleBinding.')


def test_not_found_names_the_kind():
    body = status_body(404, 'NotFound', 'serviceaccounts "server" not found',
                       {'name': 'server', 'kind': 'serviceaccounts'})
    exc = HttpError(404, 'Not Found', {}, body)
    error = as_token_error(exc, TOKEN_ACTION)
    assert error.message == ('ServiceAccount "server" does not exist in namespace "mcp"; '
                             'create it first or correct the name.')
    assert error.status == 404


def test_other_answers_quote_the_server_with_the_hint():
    action = Action('create', 'serviceaccounts/token', namespace='mcp', subject='x', hints={409: 'omit the uid'})
    exc = HttpError(409, 'Conflict', {}, status_body(409, 'Conflict', 'the UID does not match.\n'))
    assert as_token_error(exc, action).message == ('The API server refused to create serviceaccounts/token for x '
                                                   '(409 Conflict): the UID does not match; omit the uid.')


def test_retry_exhaustion_counts_attempts():
    exc = HttpError(503, 'Service Unavailable', {}, b'')
    exc.attempts, exc.elapsed = 4, 2.2
    assert as_token_error(exc, TOKEN_ACTION).message.startswith(
        'The API server at https://10.0.0.1:6443 kept answering 503 Service Unavailable to create '
        'serviceaccounts/token for ServiceAccount "mcp/server" after 4 attempts in 2 seconds')


def test_connection_refused_and_tls():
    refused = urllib3.exceptions.NewConnectionError(None, 'Failed to establish a new connection: [Errno 111] '
                                                          'Connection refused')
    assert 'Cannot reach the API server at https://10.0.0.1:6443 (connection refused)' in \
        as_token_error(refused, TOKEN_ACTION).message
    tls = urllib3.exceptions.MaxRetryError(None, '/x', urllib3.exceptions.SSLError(
        '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)'))
    assert as_token_error(tls, TOKEN_ACTION).message == (
        'TLS verification of the API server at https://10.0.0.1:6443 failed (unable to get local issuer '
        'certificate); give the cluster CA with ca_cert or in the kubeconfig.')
    assert errors.failure_kind(socket.timeout('timed out')) == 'timeout'


def test_secrets_never_appear():
    errors.register_secret('s3cr3t-token-value')
    error = K8sTokenError('bad token s3cr3t-token-value here')
    assert 's3cr3t' not in error.message and errors.REDACTED in error.message
    exc = HttpError(400, 'Bad Request', {}, status_body(400, 'BadRequest', 'token s3cr3t-token-value rejected'))
    assert 's3cr3t' not in as_token_error(exc, TOKEN_ACTION).message


def test_config_exception():
    from kubernetes.config import ConfigException
    error = as_token_error(ConfigException('Invalid kube-config file. No configuration found.'),
                           Action('load', 'the Kubernetes configuration'))
    assert error.message == ('No usable Kubernetes configuration (Invalid kube-config file. No configuration '
                             'found); set kubeconfig (or K8S_AUTH_KUBECONFIG), or host with credentials, or run '
                             'inside a pod.')


def test_errors_carry_the_account_they_name():
    action = Action('create', 'serviceaccounts/token', namespace='mcp', subject='ServiceAccount "mcp/server"')
    action.account = ('mcp', 'server')
    refused = as_token_error(HttpError(400, 'Bad Request', {}, status_body(400, 'BadRequest', 'no')), action)
    assert 'for ServiceAccount "mcp/server"' in refused.message and refused.account == ('mcp', 'server')
    forbidden = as_token_error(HttpError(403, 'Forbidden', {}, status_body(403, 'Forbidden', 'User "a" cannot')), action)
    assert 'mcp/server' not in forbidden.message and forbidden.account is None
    missing = as_token_error(HttpError(404, 'Not Found', {}, status_body(404, 'NotFound', 'x', {
        'name': 'server', 'kind': 'serviceaccounts'})), TOKEN_ACTION)
    assert missing.account == ('mcp', 'server')
    timeout = as_token_error(urllib3.exceptions.ReadTimeoutError(None, '/x', 'read timed out'), action)
    assert timeout.account == ('mcp', 'server')
    refused_elsewhere = as_token_error(HttpError(400, 'Bad Request', {}, status_body(400, 'BadRequest', 'no')), TOKEN_ACTION)
    assert refused_elsewhere.account is None     # the action does not say which account it is for


# diagnostics: what a failure result carries besides its sentence (issue 25)
# a token in the JWT shape the API server echoes, made here (no literal token is committed)
ECHOED_JWT = jwt.encode({'sub': 'system:serviceaccount:mcp:app'}, 'a-test-key-of-32-bytes-or-more!!', algorithm='HS256')


def test_a_status_body_echoing_a_token_is_redacted():
    body = {'kind': 'Status', 'code': 422, 'message': 'TokenReview "" is invalid: spec.token: Invalid value: "%s"' % ECHOED_JWT,
            'details': {'causes': [{'field': 'spec.token', 'message': ECHOED_JWT}]}, 'spec': {'token': 'opaque-abc'}}
    redacted = errors.redact_body(body)
    text = json.dumps(redacted)
    assert ECHOED_JWT not in text and 'opaque-abc' not in text
    assert redacted['message'] == 'TokenReview "" is invalid: spec.token: Invalid value: "********"'
    assert redacted['spec']['token'] == errors.REDACTED and redacted['code'] == 422
    assert redacted['details']['causes'][0] == {'field': 'spec.token', 'message': errors.REDACTED}


def test_a_bearer_header_in_a_body_is_redacted():
    body = 'upstream said: Authorization: Bearer abcdefgh12345678.opaque; try again'
    assert errors.redact_body(body) == 'upstream said: Authorization: Bearer ********; try again'
    headers = {'Authorization': 'Bearer abcdefgh12345678', 'Content-Type': 'application/json'}
    assert errors.redact_body(headers) == {'Authorization': errors.REDACTED, 'Content-Type': 'application/json'}


def test_a_secret_option_value_in_a_body_is_redacted():
    errors.register_secret('sekrit-api-key-in-the-body-77')
    body = {'kind': 'Status', 'message': 'no user for key sekrit-api-key-in-the-body-77', 'reason': 'Unauthorized'}
    assert errors.redact_body(body)['message'] == 'no user for key ********'
    assert errors.redact_body(b'raw sekrit-api-key-in-the-body-77') == 'raw ********'


def test_a_long_text_answer_is_cut():
    assert len(errors.redact_body('x' * 10000)) == errors.MAX_BODY_CHARS + 3


def test_diagnostics_of_an_http_answer():
    body = status_body(403, 'Forbidden', 'serviceaccounts "server" is forbidden: User "alice" cannot create resource '
                       '"serviceaccounts/token" in API group "" in the namespace "mcp"')
    error = as_token_error(HttpError(403, 'Forbidden', {}, body), TOKEN_ACTION)
    assert error.response.status == 403 and error.status == 403
    found = errors.diagnostics(error)
    assert (found['status'], found['reason']) == (403, 'Forbidden')
    assert found['api_status']['kind'] == 'Status' and found['api_status']['code'] == 403
    assert found['api_status']['message'].startswith('serviceaccounts "server" is forbidden: User "alice"')


def test_diagnostics_of_a_sentence_raised_while_handling_an_answer():
    """Code that turns an answer into its own sentence (raise K8sTokenError(...) in an except block) keeps it."""
    with pytest.raises(K8sTokenError) as raised:
        try:
            raise HttpError(404, None, {}, status_body(404, 'NotFound', 'namespaces "nowhere" not found'))
        except HttpError:
            raise K8sTokenError('Namespace "nowhere" does not exist; create it first.')
    found = errors.diagnostics(raised.value)
    assert (found['status'], found['reason'], found['api_status']['message']) == (
        404, 'Not Found', 'namespaces "nowhere" not found')


def test_no_diagnostics_without_an_http_answer():
    assert errors.diagnostics(K8sTokenError('duration "abc" is not a duration.')) == {}
    refused = as_token_error(urllib3.exceptions.NewConnectionError(None, 'Connection refused'), TOKEN_ACTION)
    assert errors.diagnostics(refused) == {}


def test_scrub_leaves_no_token_in_a_traceback():
    errors.register_secret('sekrit-in-a-traceback-0042')
    with pytest.raises(ValueError) as raised:
        raise ValueError('bad %s and %s' % (ECHOED_JWT, 'sekrit-in-a-traceback-0042'))
    text = errors.scrub(errors.traceback_text(raised.value))
    assert 'Traceback (most recent call last)' in text and 'ValueError: bad ******** and ********' in text
