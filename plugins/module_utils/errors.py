# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors with one user-facing sentence, built from API answers and client failures.

Every error the core raises is a :class:`K8sTokenError` whose message is a single
sentence with the fix. Modules turn it into ``fail_json(msg=...)``, lookups into
``AnsibleLookupError``. Secrets registered with :func:`register_secret` never appear in
a message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import threading
import traceback

try:
    from urllib.parse import unquote
except ImportError:  # pragma: no cover  (Python 2 is not supported; keeps the import check quiet)
    from urllib import unquote

REDACTED = '********'

_secrets = set()
_secrets_lock = threading.Lock()

# HTTP status -> short reason phrase, for messages.
_REASONS = {
    400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
    409: 'Conflict', 422: 'Unprocessable Entity', 429: 'Too Many Requests',
    500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable',
    504: 'Gateway Timeout',
}

# Plural resource (Status details.kind on 404) -> Kind, for messages.
_KINDS = {
    'serviceaccounts': 'ServiceAccount', 'pods': 'Pod', 'secrets': 'Secret',
    'nodes': 'Node', 'namespaces': 'Namespace',
}


class K8sTokenError(Exception):
    """A failure explained in one sentence; ``status`` is the HTTP status when there was one, and
    ``account`` the ServiceAccount ``(namespace, name)`` the sentence names, when it names one (a
    caller that was working for an account and finds it None says which account it was).
    ``response`` is the :class:`HttpError` (the API server's answer) it was built from, if any; see
    :func:`diagnostics`."""

    def __init__(self, message, status=None, account=None, response=None):
        message = redact(message)
        super(K8sTokenError, self).__init__(message)
        self.message = message
        self.status = status if status is not None or response is None else response.status
        self.account = account
        self.response = response


class HttpError(Exception):
    """A non-2xx answer of the API server (raised by ``transport.Cluster.request``)."""

    def __init__(self, status, reason=None, headers=None, body=None):
        self.status = int(status)
        self.reason = reason or _REASONS.get(self.status, '')
        self.headers = headers or {}
        self.body = _parse_body(body)
        self.attempts = 1
        self.elapsed = 0.0
        super(HttpError, self).__init__('%s %s' % (self.status, self.reason))

    @property
    def message(self):
        """The Status message of the answer, or its text."""
        if isinstance(self.body, dict):
            return self.body.get('message') or ''
        return (self.body or '').strip()

    @property
    def details(self):
        if isinstance(self.body, dict):
            return self.body.get('details') or {}
        return {}


class Action:
    """What the core was doing when something failed, for the message.

    ``verb`` and ``resource`` are RBAC terms (``create``, ``serviceaccounts/token``);
    ``subject`` names the object (``ServiceAccount "ns/name"``); ``hints`` maps an HTTP
    status to the fix to suggest for it. ``account`` is ``(namespace, name)`` when the subject is a
    ServiceAccount (set by whoever knows it), so that errors naming the subject carry it.
    """

    def __init__(self, verb, resource, namespace=None, subject=None, server=None, hints=None, token_only=False,
                 proxy=None):
        self.verb = verb
        self.resource = resource
        self.namespace = namespace
        self.subject = subject
        self.server = display_url(server) if server else server
        self.hints = hints or {}
        self.token_only = token_only    # the caller authenticates with a token it was given
        self.proxy = display_url(proxy) if proxy else None
        self.account = None

    def describe(self):
        """The action as words for a message (``create serviceaccounts/token for ServiceAccount "ns/name"``).
        Everywhere in the collection, ``describe()`` means this: the short phrase that names a thing."""
        text = '%s %s' % (self.verb, self.resource)
        if self.subject:
            text += ' for %s' % self.subject
        return text


def secret_forms(value):
    """Every form in which ``value`` may be printed: raw, stripped, escaped as Python ``repr`` of
    text and of bytes and as JSON, and each long line of a multi-line secret (a PEM key)."""
    if isinstance(value, bytes):
        value = value.decode('utf-8', 'replace')
    if not isinstance(value, str):
        return set()
    forms = set()
    for text in (value, value.strip()):
        forms.add(text)
        forms.add(repr(text)[1:-1])
        forms.add(repr(text.encode('utf-8', 'replace'))[2:-1])
        forms.add(json.dumps(text)[1:-1])
    for line in value.splitlines():
        if len(line.strip()) >= 16:
            forms.add(line.strip())
    return set(form for form in forms if len(form) >= 4)


def register_secret(value):
    """Remember a secret, in every form :func:`secret_forms` knows, so that no message ever shows it."""
    forms = secret_forms(value)
    if forms:
        with _secrets_lock:
            _secrets.update(forms)


# userinfo of a URL (scheme://user:password@host): never shown
_USERINFO = re.compile(r'(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s"\']*@')


def display_url(url):
    """``url`` without its userinfo (``https://user:pass@host`` -> ``https://host``), for messages."""
    if not url:
        return url
    return _USERINFO.sub(r'\1', str(url))


def url_secrets(url):
    """The password (and ``user:password``) of a URL's userinfo, raw and percent-decoded."""
    found = set()
    match = re.match(r'(?i)^[a-z][a-z0-9+.-]*://([^/@\s]*)@', str(url or '').strip())
    if match:
        userinfo = match.group(1)
        found.add(userinfo)
        found.add(unquote(userinfo))
        if ':' in userinfo:
            password = userinfo.split(':', 1)[1]
            found.update((password, unquote(password)))
    return set(value for value in found if len(value) >= 4)


def redact(text):
    """``text`` with every registered secret replaced and URLs without their userinfo."""
    text = display_url(str(text))
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def is_status(exc, *statuses):
    """Whether ``exc`` is an API answer with one of ``statuses``."""
    return isinstance(exc, HttpError) and exc.status in statuses


def _parse_body(body):
    if isinstance(body, bytes):
        body = body.decode('utf-8', 'replace')
    if isinstance(body, str):
        try:
            return json.loads(body)
        except ValueError:
            return body
    return body


def _clause(text):
    """Server text as a clause inside our sentence: one line, no final period."""
    text = ' '.join(str(text).split())
    return text.rstrip('.')


class _NamesSubject(str):
    """A sentence that names the action's subject (it includes ``Action.describe()``)."""


def as_token_error(exc, action):
    """Any failure during ``action`` as a :class:`K8sTokenError` with one sentence (``exc`` itself
    when it is one already); ``account`` is set when the sentence names the action's account."""
    if isinstance(exc, K8sTokenError):
        return exc
    if isinstance(exc, HttpError):
        text = _http_sentence(exc, action)
        details = exc.details
        if exc.status == 404 and details.get('kind') == 'serviceaccounts' and action.namespace:
            return K8sTokenError(text, status=exc.status, account=(action.namespace, details.get('name')),
                                 response=exc)
        return K8sTokenError(text, status=exc.status, account=_named_account(text, action), response=exc)
    text = _other_sentence(exc, action)
    return K8sTokenError(text, account=_named_account(text, action))


def _named_account(text, action):
    return action.account if isinstance(text, _NamesSubject) else None


def _http_sentence(exc, action):
    status = exc.status
    server_text = _clause(exc.message) or '%s %s' % (status, exc.reason)
    hint = action.hints.get(status)
    if status == 401 and action.token_only:
        return _NamesSubject(
            'The API server at %s rejected the token (401 Unauthorized) when asked to %s; the token has expired, '
            'been revoked (its Secret, ServiceAccount or bound object deleted) or is for another cluster.'
            % (action.server or 'the cluster', action.describe()))
    if status == 401:
        return ('The API server at %s rejected the credentials (401 Unauthorized); check the '
                'kubeconfig, api_key or client certificate.' % (action.server or 'the cluster'))
    if status == 403:
        user = re.search(r'User "([^"]*)"', exc.message or '')
        where = ' in namespace "%s"' % action.namespace if action.namespace else ''
        who = 'User "%s"' % user.group(1) if user else 'The caller'
        return ('%s may not %s %s%s (403 Forbidden); %s.'
                % (who, action.verb, action.resource, where,
                   hint or 'grant it "%s" on "%s" with a Role and RoleBinding' % (action.verb, action.resource)))
    if status == 404:
        details = exc.details
        kind = _KINDS.get(details.get('kind'), details.get('kind'))
        if kind and details.get('name'):
            where = ' in namespace "%s"' % action.namespace if action.namespace and kind not in ('Node', 'Namespace') else ''
            return ('%s "%s" does not exist%s; %s.'
                    % (kind, details['name'], where, hint or 'create it first or correct the name'))
    if status in (429, 500, 502, 503, 504):
        return _NamesSubject(
            'The API server at %s kept answering %s %s to %s after %d attempt%s in %.0f seconds; try again later.'
            % (action.server or 'the cluster', status, exc.reason, action.describe(), exc.attempts,
               '' if exc.attempts == 1 else 's', exc.elapsed))
    return _NamesSubject('The API server refused to %s (%s %s): %s%s.'
                         % (action.describe(), status, exc.reason, server_text, '; ' + hint if hint else ''))


def _other_sentence(exc, action):
    server = action.server or 'the cluster'
    text = _clause(_root_text(exc))
    kind = _failure_kind(exc)
    if kind == 'tls':
        refused = _CLIENT_CERT_ALERT.search(text)
        if refused:
            return ('The API server at %s refused the client certificate in the TLS handshake (%s); renew or '
                    'replace the client certificate in the kubeconfig or client_cert.'
                    % (server, refused.group(1).lower().replace('_', ' ')))
        detail = re.search(r'certificate verify failed: ([^(\]\)]*)', text)
        if detail or 'CERTIFICATE_VERIFY_FAILED' in text:
            return ('TLS verification of the API server at %s failed (%s); give the cluster CA with '
                    'ca_cert or in the kubeconfig.' % (server, _clause(detail.group(1)) if detail else text))
        return ('The TLS handshake with the API server at %s failed (%s); check the client certificate and CA '
                'in the kubeconfig, and that the address serves the Kubernetes API over HTTPS.'
                % (server, _ssl_clause(text)))
    if kind == 'proxy':
        return ('Cannot reach the API server at %s through the proxy %s (%s); check proxy (or proxy-url in the '
                'kubeconfig) and that the proxy is running and lets the connection through.'
                % (server, action.proxy or 'of the configuration', _connection_reason(text)))
    if kind == 'timeout':
        return _NamesSubject('The API server at %s did not answer in time while trying to %s; check the address '
                             'or raise request_timeout.' % (server, action.describe()))
    if kind == 'connection':
        return ('Cannot reach the API server at %s (%s); check host or the kubeconfig and that the '
                'server is running.' % (server, _connection_reason(text)))
    if kind == 'config':
        return ('No usable Kubernetes configuration (%s); set kubeconfig (or K8S_AUTH_KUBECONFIG), '
                'or host with credentials, or run inside a pod.' % text)
    if isinstance(exc, (IOError, OSError)) and getattr(exc, 'filename', None):
        return 'Cannot read %s (%s); check the path.' % (exc.filename, exc.strerror or text)
    return _NamesSubject('Failed to %s: %s.' % (action.describe(), text or type(exc).__name__))


# TLS alerts by which a server refuses the client's certificate.
_CLIENT_CERT_ALERT = re.compile(r'ALERT_(CERTIFICATE_EXPIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_REVOKED|'
                                r'CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|CERTIFICATE_REQUIRED)')


def _ssl_clause(text):
    """An ssl error without the class name and the C source position."""
    text = re.sub(r'^(SSLError|SSLEOFError|SSLZeroReturnError)[(: ]*', '', text)
    text = re.sub(r'\s*\(_ssl\.c:\d+\)', '', text)
    return _clause(text.strip(' ()\'"')) or 'no reason given'


def _root_text(exc):
    """The most specific text of an exception chain (urllib3 wraps the real cause)."""
    reason = getattr(exc, 'reason', None)
    if isinstance(reason, BaseException):
        return _root_text(reason)
    if exc.__class__.__name__ == 'ApiException' and getattr(exc, 'status', None) == 0:
        return str(reason or '')
    return str(exc)


def _failure_kind(exc):
    """Classify a non-HTTP failure: tls, timeout, connection, config or None."""
    names = set()
    current = exc
    for _depth in range(5):
        if current is None:
            break
        names.add(type(current).__name__)
        text = str(getattr(current, 'reason', '') or '')
        if text.startswith('SSLError'):
            names.add('SSLError')
        reason = getattr(current, 'reason', None)
        current = reason if isinstance(reason, BaseException) else current.__cause__ or current.__context__
    if 'ProxyError' in names:
        return 'proxy'
    if names & {'SSLError', 'SSLCertVerificationError', 'CertificateError'}:
        return 'tls'
    if names & {'ReadTimeoutError', 'ConnectTimeoutError', 'TimeoutError', 'timeout'}:
        return 'timeout'
    if names & {'NewConnectionError', 'ProtocolError', 'ConnectionError', 'ConnectionRefusedError',
                'ConnectionResetError', 'RemoteDisconnected', 'MaxRetryError', 'NameResolutionError',
                'BrokenPipeError', 'IncompleteRead'}:
        return 'connection'
    if 'ConfigException' in names:
        return 'config'
    return None


def failure_kind(exc):
    """``'http'`` for an API answer, else tls, timeout, connection, config or None."""
    if isinstance(exc, HttpError):
        return 'http'
    return _failure_kind(exc)


def _connection_reason(text):
    for pattern, reason in (('refused', 'connection refused'),
                            ('Name or service not known', 'unknown host name'),
                            ('Failed to resolve', 'unknown host name'),
                            ('reset', 'connection reset'),
                            ('closed', 'connection closed by the server'),
                            ('RemoteDisconnected', 'connection closed by the server'),
                            ('aborted', 'connection aborted')):
        if pattern in text:
            return reason
    return text


# a bearer credential in a header or text (``Authorization: Bearer ...``), and anything shaped like a
# JWT (three base64url parts, the first a JSON object: ``eyJ...``), registered or not
_BEARER = re.compile(r'(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{8,}')
_JWT = re.compile(r'\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*')
# keys whose values are credentials wherever they appear in an answer
_SECRET_KEYS = re.compile(r'(?i)^(token|authorization|password|api_?key|client-key-data|client_key|.*secret.*)$')
# the longest API answer text kept in a failure result
MAX_BODY_CHARS = 4000


def scrub(text):
    """:func:`redact`, and every bearer credential and JWT-shaped string replaced too: for text
    that did not pass through the collection's own sentences (an API answer, a traceback)."""
    text = _BEARER.sub(lambda match: match.group(1) + match.group(2) + REDACTED, redact(text))
    return _JWT.sub(REDACTED, text)


def redact_body(body):
    """An API answer (a ``Status`` dict, other JSON or text) with no credential left in it: every
    string scrubbed (:func:`scrub`), the values of credential keys (``token``, ``authorization``,
    ...) replaced, text cut to :data:`MAX_BODY_CHARS`."""
    if isinstance(body, dict):
        return dict((key, REDACTED if _SECRET_KEYS.match(str(key)) and value not in (None, '') else redact_body(value))
                    for key, value in body.items())
    if isinstance(body, (list, tuple)):
        return [redact_body(value) for value in body]
    if isinstance(body, bytes):
        body = body.decode('utf-8', 'replace')
    if isinstance(body, str):
        text = scrub(body)
        return text if len(text) <= MAX_BODY_CHARS else text[:MAX_BODY_CHARS] + '...'
    return body


def http_answer(exc):
    """The :class:`HttpError` behind ``exc``: its own ``response``, or one in its cause or context
    chain (a sentence raised while handling an API answer), else None."""
    seen = set()
    current = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, HttpError):
            return current
        response = getattr(current, 'response', None)
        if isinstance(response, HttpError):
            return response
        current = current.__cause__ or current.__context__
    return None


def diagnostics(exc):
    """What a failure result carries besides its sentence, as kubernetes.core names it: the HTTP
    ``status`` and ``reason`` and the API server's answer (``api_status``, its ``Status`` object,
    redacted) when there was an HTTP answer; ``{}`` when there was none."""
    answer = http_answer(exc)
    if answer is None:
        return {}
    return {'status': answer.status, 'reason': answer.reason, 'api_status': redact_body(answer.body)}


def traceback_text(exc):
    """The traceback of ``exc`` as text, for ``fail_json(exception=...)``: ansible-core 2.16 to 2.18
    take only text there (an exception object fails the module with a TypeError); 2.19 takes both."""
    return ''.join(traceback.format_exception(type(exc), exc, exc.__traceback__))
