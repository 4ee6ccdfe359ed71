# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTTP transport: :class:`Cluster` sends JSON requests to one API server (with retries)
and returns a :class:`Response` with the API server's warnings.

Requests go through the kubernetes client's REST transport but send and parse plain JSON: no
generated API class or model is imported, which keeps the import cheap and works the same with
every client generation. ``connection.get_cluster`` builds the Cluster for connection options.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import re
import threading
from urllib.parse import urlencode

from ansible_collections.mcp.k8s.plugins.module_utils import retries
from ansible_collections.mcp.k8s.plugins.module_utils.errors import (
    Action, HttpError, K8sTokenError, as_token_error, display_url, is_status, register_secret,
)

try:
    from kubernetes.client.configuration import Configuration
    from kubernetes.client import rest as kube_rest
    from kubernetes.client.exceptions import ApiException
    from urllib3._collections import HTTPHeaderDict
except ImportError as e:  # reported by the plugins with missing_required_lib / AnsibleLookupError
    K8S_IMPORT_ERROR = e
else:
    K8S_IMPORT_ERROR = None

DEFAULT_REQUEST_TIMEOUT = 30
USER_AGENT = 'mcp.k8s'


def insecure_warning(server):
    """The warning for a connection that does not verify the API server's certificate."""
    return ('TLS verification of the API server at %s is off (validate_certs is false or the kubeconfig sets '
            'insecure-skip-tls-verify), so the connection and the token can be intercepted; give the cluster CA '
            'with ca_cert or in the kubeconfig instead.' % server)


class Response:
    """A 2xx answer: ``status``, ``headers`` and ``data`` (parsed JSON, or text)."""

    def __init__(self, status, headers, data):
        self.status = status
        self.headers = headers
        self.data = data

    @property
    def warnings(self):
        """The texts of the answer's ``Warning`` headers (RFC 7234; the API server uses code 299)."""
        return parse_warnings(self.headers)


_WARNING = re.compile(r'\d{3}\s+\S+\s+"((?:[^"\\]|\\.)*)"')


def parse_warnings(headers):
    values = []
    if headers is None:
        return values
    getlist = getattr(headers, 'getlist', None)
    raw = getlist('Warning') if getlist else [headers.get('Warning')] if headers.get('Warning') else []
    for value in raw:
        for match in _WARNING.finditer(value or ''):
            values.append(re.sub(r'\\(.)', r'\1', match.group(1)))
    return values


class Cluster:
    """One API server connection: a configuration, a thread-safe connection pool, JSON requests.

    ``server`` is the API URL; ``key`` identifies the configuration (cluster and caller).
    Safe to share between threads.
    """

    def __init__(self, configuration, options, key, token_only=False):
        self.configuration = configuration
        self.token_only = token_only    # authenticates with a token given to with_token
        self.options = options
        self.key = key
        self.server = display_url(configuration.host)
        # warnings about this configuration, for the plugins to show
        self.warnings = [] if configuration.verify_ssl else [insecure_warning(self.server)]
        self.timeout = float(options.get('request_timeout') or DEFAULT_REQUEST_TIMEOUT)
        self._rest = kube_rest.RESTClientObject(configuration)
        self._auth_lock = threading.Lock()
        self._ca_data = None
        self._extra_headers = []
        if options.get('impersonate_user'):
            self._extra_headers.append(('Impersonate-User', options['impersonate_user']))
        for group in options.get('impersonate_groups') or ():
            self._extra_headers.append(('Impersonate-Group', group))

    def action(self, verb, resource, namespace=None, subject=None, hints=None):
        """An :class:`errors.Action` on this cluster, for error messages."""
        return Action(verb, resource, namespace=namespace, subject=subject, server=self.server, hints=hints,
                      token_only=self.token_only, proxy=getattr(self.configuration, 'proxy', None))

    @property
    def identity(self):
        """Who talks to which cluster: the API server URL, its CA and the configuration's key (caller,
        kubeconfig and its modification time), for caches that must never mix clusters."""
        digest = hashlib.sha256(('%s\n%s\n' % (self.server, self.key)).encode('utf-8'))
        try:
            digest.update(self.ca_data() or b'')
        except (IOError, OSError):
            pass
        return '%s#%s' % (self.server, digest.hexdigest()[:32])

    def request(self, method, path, body=None, query=None, action=None, retry=True, content_type=None):
        """Send one JSON request (retried on 429, 5xx and dropped connections when ``retry``).

        ``content_type`` defaults to ``application/json``; a PATCH gives its patch type, such as
        ``application/merge-patch+json``. Returns a :class:`Response`. Failures raise
        :class:`errors.K8sTokenError` phrased for ``action``, or :class:`errors.HttpError`
        when ``action`` is None.
        """
        url = self.server + path
        if query:
            url += '?' + urlencode(query, doseq=True)
        content_type = content_type or 'application/json'
        attempts = retries.Attempts() if retry else None
        while True:
            try:
                return self._send(method, url, body, content_type)
            except Exception as exc:
                if attempts is not None and attempts.again(exc):
                    continue
                if action is None and isinstance(exc, HttpError):
                    raise
                raise as_token_error(exc, action or self.action(method.lower(), path))

    def _headers(self, content_type='application/json'):
        headers = HTTPHeaderDict()
        headers['Accept'] = 'application/json, */*'  # */*: the JWKS is application/jwk-set+json only
        headers['Content-Type'] = content_type
        headers['User-Agent'] = USER_AGENT
        with self._auth_lock:  # may run an exec plugin or refresh a token file
            settings = self.configuration.auth_settings()
        for setting in settings.values():
            if setting.get('in') == 'header' and setting.get('value'):
                headers[setting['key']] = setting['value']
        if 'authorization' not in headers and self.configuration.username and self.configuration.password:
            headers['authorization'] = self.configuration.get_basic_auth_token()
        credential = headers.get('authorization')
        if credential:
            # whatever gave it (kubeconfig, token file, exec plugin, auth provider): never printed
            register_secret(credential)
            register_secret(credential.partition(' ')[2])
            if credential != credential.strip() or re.search(r'[\r\n]', credential):
                raise K8sTokenError('The credential for the API server at %s has whitespace (a line break or spaces) '
                                    'in it; remove it from api_key or the kubeconfig user.' % self.server)
        for name, value in self._extra_headers:
            headers.add(name, value)
        return headers

    def _send(self, method, url, body, content_type='application/json'):
        try:
            response = self._rest.request(method, url, headers=self._headers(content_type), body=body,
                                          # (connect, read): clients before 36 ignore a float
                                          _request_timeout=(self.timeout, self.timeout))
        except ApiException as exc:
            if not exc.status:       # the client's wrapping of a TLS failure
                raise
            raise HttpError(exc.status, exc.reason, exc.headers, exc.body)
        raw = response.read() if hasattr(response, 'read') else response.data
        headers = getattr(response, 'headers', None)
        if headers is None:
            headers = response.getheaders()
        if not 200 <= response.status <= 299:
            raise HttpError(response.status, response.reason, headers, raw)
        return Response(response.status, headers, _json_or_text(raw))

    def get(self, path, action=None):
        return self.request('GET', path, action=action).data

    def post(self, path, body, action=None, retry=True):
        return self.request('POST', path, body=body, action=action, retry=retry)

    def namespace_exists(self, namespace):
        """Whether ``namespace`` exists; True when that cannot be told (no permission to read it)."""
        try:
            self.request('GET', '/api/v1/namespaces/%s' % namespace, action=None)
        except Exception as exc:  # any other failure: do not claim the namespace is missing
            return not is_status(exc, 404)
        return True

    def with_token(self, token):
        """A new, uncached :class:`Cluster` for the same server that authenticates with ``token``
        (no client certificate, no impersonation)."""
        register_secret(token)
        configuration = Configuration()
        for attribute in ('host', 'ssl_ca_cert', 'verify_ssl', 'proxy', 'no_proxy', 'proxy_headers',
                          'tls_server_name', 'retries', 'connection_pool_maxsize'):
            if hasattr(self.configuration, attribute):
                setattr(configuration, attribute, getattr(self.configuration, attribute))
        configuration.api_key = {'authorization': 'Bearer %s' % token}
        options = dict((k, v) for k, v in self.options.items()
                       if k in ('validate_certs', 'ca_cert', 'proxy', 'no_proxy', 'request_timeout'))
        return Cluster(configuration, options, self.key + ':token', token_only=True)

    def ca_data(self):
        """The PEM bytes of the CA that verifies the server, or None (read once)."""
        if self._ca_data is None and self.configuration.ssl_ca_cert:
            with open(self.configuration.ssl_ca_cert, 'rb') as handle:
                self._ca_data = handle.read()
        return self._ca_data


def _json_or_text(raw):
    if isinstance(raw, bytes):
        raw = raw.decode('utf-8', 'replace')
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw
