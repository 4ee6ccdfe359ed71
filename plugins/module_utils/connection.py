# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options -> one cached client per configuration; JSON requests with retries.

The only place that builds a client. Options carry the names and aliases of
``kubernetes.core`` (``AUTH_ARG_SPEC``) and fall back to the same ``K8S_AUTH_*``
environment variables. Requests go through the kubernetes client's configuration loading
(kubeconfig files and dicts, exec plugins, in-cluster) and its REST transport, but send and
parse plain JSON: no generated API class or model is imported, which keeps the import cheap
and works the same with every client generation.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json
import os
import re
import threading
from urllib.parse import urlencode, urlparse

from ansible_collections.mcp.k8s.plugins.module_utils import retries
from ansible_collections.mcp.k8s.plugins.module_utils.errors import (
    Action, HttpError, describe, failure_kind, is_status, register_secret,
)

try:  # a module's warnings (AnsibleModule returns them); the lookup shows Cluster.warnings itself
    from ansible.module_utils.common.warnings import warn as module_warn
except ImportError:  # pragma: no cover
    module_warn = None

try:
    from kubernetes import config as kube_config
    from kubernetes.client.configuration import Configuration
    from kubernetes.client import rest as kube_rest
    from kubernetes.client.exceptions import ApiException
    import urllib3
    import yaml
    from urllib3._collections import HTTPHeaderDict
    HAS_K8S = True
    K8S_IMPORT_ERROR = None
except ImportError as e:  # reported by the plugins with missing_required_lib / AnsibleLookupError
    HAS_K8S = False
    K8S_IMPORT_ERROR = e

DEFAULT_REQUEST_TIMEOUT = 30
MAX_CONNECTIONS = 16
USER_AGENT = 'mcp.k8s'

# Module argument spec of the connection options: kubernetes.core's names and aliases.
AUTH_ARG_SPEC = {
    'kubeconfig': {'type': 'raw', 'no_log': False},
    'context': {'type': 'str'},
    'host': {'type': 'str'},
    'api_key': {'type': 'str', 'no_log': True},
    'username': {'type': 'str'},
    'password': {'type': 'str', 'no_log': True},
    'validate_certs': {'type': 'bool', 'aliases': ['verify_ssl']},
    'ca_cert': {'type': 'path', 'aliases': ['ssl_ca_cert']},
    'client_cert': {'type': 'path', 'aliases': ['cert_file']},
    'client_key': {'type': 'path', 'aliases': ['key_file'], 'no_log': False},
    'proxy': {'type': 'str'},
    'no_proxy': {'type': 'str'},
    'proxy_headers': {'type': 'dict', 'options': {
        'proxy_basic_auth': {'type': 'str', 'no_log': True},
        'basic_auth': {'type': 'str', 'no_log': True},
        'user_agent': {'type': 'str'},
    }},
    'impersonate_user': {'type': 'str'},
    'impersonate_groups': {'type': 'list', 'elements': 'str'},
    'request_timeout': {'type': 'float'},
}

# Environment variables read when an option is not set, in order (kubernetes.core's names first).
AUTH_ENV = {
    'kubeconfig': ('K8S_AUTH_KUBECONFIG',),
    'context': ('K8S_AUTH_CONTEXT',),
    'host': ('K8S_AUTH_HOST',),
    'api_key': ('K8S_AUTH_API_KEY',),
    'username': ('K8S_AUTH_USERNAME',),
    'password': ('K8S_AUTH_PASSWORD',),
    'validate_certs': ('K8S_AUTH_VERIFY_SSL', 'K8S_AUTH_VALIDATE_CERTS'),
    'ca_cert': ('K8S_AUTH_SSL_CA_CERT', 'K8S_AUTH_CA_CERT'),
    'client_cert': ('K8S_AUTH_CERT_FILE', 'K8S_AUTH_CLIENT_CERT'),
    'client_key': ('K8S_AUTH_KEY_FILE', 'K8S_AUTH_CLIENT_KEY'),
    'proxy': ('K8S_AUTH_PROXY',),
    'no_proxy': ('K8S_AUTH_NO_PROXY',),
    'impersonate_user': ('K8S_AUTH_IMPERSONATE_USER',),
    'impersonate_groups': ('K8S_AUTH_IMPERSONATE_GROUPS',),
    'request_timeout': ('K8S_AUTH_REQUEST_TIMEOUT',),
}
PROXY_HEADERS_ENV = {
    'proxy_basic_auth': 'K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH',
    'basic_auth': 'K8S_AUTH_PROXY_HEADERS_BASIC_AUTH',
    'user_agent': 'K8S_AUTH_PROXY_HEADERS_USER_AGENT',
}
_ALIASES = dict((alias, name) for name, spec in AUTH_ARG_SPEC.items() for alias in spec.get('aliases', ()))

# Keys of a kubeconfig's user entry (and auth-provider config) that hold secrets.
_KUBECONFIG_SECRET_KEYS = re.compile(r'(token|password|secret|key-data|refresh)', re.I)

_clients = {}
_clients_lock = threading.Lock()


def auth_options(params):
    """The connection options out of ``params`` (module params or lookup options), aliases
    resolved, unset ones taken from ``K8S_AUTH_*`` environment variables."""
    options = {}
    for key, value in (params or {}).items():
        name = _ALIASES.get(key, key)
        if name in AUTH_ARG_SPEC and value is not None and options.get(name) is None:
            options[name] = value
    for name, env_names in AUTH_ENV.items():
        if options.get(name) is None:
            for env_name in env_names:
                if os.environ.get(env_name):
                    options[name] = _from_env(name, os.environ[env_name])
                    break
    if not options.get('proxy_headers'):
        headers = dict((key, os.environ[env]) for key, env in PROXY_HEADERS_ENV.items() if os.environ.get(env))
        if headers:
            options['proxy_headers'] = headers
    if isinstance(options.get('proxy_headers'), dict):
        options['proxy_headers'] = dict((k, v) for k, v in options['proxy_headers'].items() if v is not None) or None
    return dict((k, v) for k, v in options.items() if v is not None)


def _from_env(name, value):
    kind = AUTH_ARG_SPEC[name].get('type')
    if kind == 'bool':
        return value.strip().lower() not in ('0', 'false', 'no', 'off', 'n', 'f')
    if kind == 'list':
        return [item.strip() for item in value.split(',') if item.strip()]
    if kind == 'float':
        return float(value)
    if name == 'kubeconfig' and value.lstrip().startswith('{'):
        return json.loads(value)
    return value


def secret_values(options):
    """Every secret in the connection options (for a module's ``no_log_values``)."""
    found = set()
    for name in ('api_key', 'password'):
        if options.get(name):
            found.add(str(options[name]))
    for value in (options.get('proxy_headers') or {}).values():
        if value and value != (options.get('proxy_headers') or {}).get('user_agent'):
            found.add(str(value))
    kubeconfig = options.get('kubeconfig')
    if isinstance(kubeconfig, dict):
        for user in kubeconfig.get('users') or ():
            _collect_secrets((user or {}).get('user') or {}, found)
    return set(value for value in found if len(value) >= 4)


def _collect_secrets(node, found):
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str) and _KUBECONFIG_SECRET_KEYS.search(str(key)):
                found.add(value)
            else:
                _collect_secrets(value, found)
    elif isinstance(node, list):
        for item in node:
            _collect_secrets(item, found)


def get_api_client(options):
    """The :class:`Cluster` for these connection options, built once per process and configuration.

    ``options`` may be module params or lookup options; only connection options are read.
    Raises :class:`errors.K8sTokenError` when no configuration can be loaded.
    """
    options = auth_options(options)
    key = _cache_key(options)
    cluster = _clients.get(key)
    if cluster is None:
        with _clients_lock:
            cluster = _clients.get(key)
            if cluster is None:
                cluster = Cluster(_load_configuration(options), options, key)
                _clients[key] = cluster
                for text in cluster.warnings:
                    if module_warn is not None:
                        module_warn(text)
    return cluster


def insecure_warning(server):
    """The warning for a connection that does not verify the API server's certificate."""
    return ('TLS verification of the API server at %s is off (validate_certs is false or the kubeconfig sets '
            'insecure-skip-tls-verify), so the connection and the token can be intercepted; give the cluster CA '
            'with ca_cert or in the kubeconfig instead.' % server)


def clear_clients():
    """Forget every cached client (tests; a changed kubeconfig is noticed through its mtime)."""
    with _clients_lock:
        _clients.clear()


def _cache_key(options):
    digest = hashlib.sha256(json.dumps(options, sort_keys=True, default=str).encode('utf-8'))
    for path in _config_files(options):
        try:
            digest.update(('%s:%s' % (path, os.stat(path).st_mtime_ns)).encode('utf-8'))
        except OSError:
            digest.update(path.encode('utf-8'))
    for name in ('KUBECONFIG', 'KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT'):
        digest.update(('%s=%s;' % (name, os.environ.get(name, ''))).encode('utf-8'))
    return digest.hexdigest()


def _config_files(options):
    paths = [options.get(name) for name in ('ca_cert', 'client_cert', 'client_key') if options.get(name)]
    kubeconfig = options.get('kubeconfig')
    if isinstance(kubeconfig, str):
        paths.extend(kubeconfig.split(os.pathsep))
    elif isinstance(kubeconfig, list):
        paths.extend(kubeconfig)
    elif kubeconfig is None:
        paths.extend((os.environ.get('KUBECONFIG') or os.path.expanduser('~/.kube/config')).split(os.pathsep))
    return [os.path.expanduser(str(p)) for p in paths if p]


def _server_of(options):
    return options.get('host') or 'the cluster'


def _load_configuration(options):
    """A kubernetes ``Configuration`` for ``options``, as kubernetes.core decides what to load."""
    action = Action('load', 'the Kubernetes configuration', server=_server_of(options))
    if not HAS_K8S:
        raise describe(K8S_IMPORT_ERROR, action)
    for secret in secret_values(options):
        register_secret(secret)
    configuration = Configuration()

    def given(*names):
        return all(options.get(name) for name in names)

    try:
        if given('host') and (given('api_key') or given('username', 'password') or given('client_cert', 'client_key')):
            pass
        elif given('kubeconfig') or given('context'):
            _load_kubeconfig(options, configuration)
        else:
            try:
                kube_config.load_incluster_config(client_configuration=configuration)
            except kube_config.ConfigException:
                _load_kubeconfig(options, configuration)
    except Exception as exc:  # every loader failure becomes one sentence
        if failure_kind(exc) is None and not getattr(exc, 'filename', None):
            # whatever the client tripped over while reading it, the configuration is unusable
            exc = kube_config.ConfigException('the kubeconfig cannot be read: %s' % exc)
        raise describe(exc, action)

    if options.get('host'):
        configuration.host = options['host'].rstrip('/')
    _check_host(configuration.host, action)
    if options.get('api_key'):
        configuration.api_key = {'authorization': 'Bearer %s' % options['api_key']}
        configuration.api_key_prefix = {}
    if options.get('username'):
        configuration.username = options['username']
    if options.get('password'):
        configuration.password = options['password']
    if options.get('validate_certs') is not None:
        configuration.verify_ssl = bool(options['validate_certs'])
    for name, attribute in (('ca_cert', 'ssl_ca_cert'), ('client_cert', 'cert_file'), ('client_key', 'key_file')):
        if options.get(name):
            path = os.path.expanduser(options[name])
            if not os.path.isfile(path):
                raise describe(IOError(2, 'no such file', path), action)
            setattr(configuration, attribute, path)
    if options.get('proxy'):
        configuration.proxy = options['proxy']
    if options.get('no_proxy'):
        configuration.no_proxy = options['no_proxy']
    if options.get('proxy_headers'):
        configuration.proxy_headers = urllib3.util.make_headers(**options['proxy_headers'])
    configuration.retries = False          # retries.py decides, with its own bounds
    configuration.connection_pool_maxsize = MAX_CONNECTIONS
    if not configuration.verify_ssl:
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    return configuration


def _load_kubeconfig(options, configuration):
    kubeconfig = options.get('kubeconfig')
    context = options.get('context')
    if isinstance(kubeconfig, dict):
        kube_config.load_kube_config_from_dict(config_dict=kubeconfig, context=context,
                                               client_configuration=configuration, persist_config=False)
        return
    if isinstance(kubeconfig, list):
        paths = [os.path.expanduser(str(p)) for p in kubeconfig]
    elif isinstance(kubeconfig, str):
        paths = [os.path.expanduser(p) for p in kubeconfig.split(os.pathsep) if p]
    else:
        paths = [p for p in (os.environ.get('KUBECONFIG') or '').split(os.pathsep) if p] or \
            [os.path.expanduser('~/.kube/config')]
    if not any(os.path.isfile(p) for p in paths):
        where = ' and '.join(paths)
        if kubeconfig is None:
            raise kube_config.ConfigException('no kubeconfig at %s and not running inside a pod' % where)
        raise kube_config.ConfigException('kubeconfig %s does not exist' % where)
    for path in paths:
        if os.path.isfile(path):
            _check_kubeconfig_file(path)
    kubeconfig = os.pathsep.join(paths)
    kube_config.load_kube_config(config_file=kubeconfig, context=context,
                                 client_configuration=configuration, persist_config=False)


def _check_kubeconfig_file(path):
    """A ConfigException naming what is wrong with a kubeconfig file that is not a kubeconfig."""
    try:
        with open(path, 'rb') as handle:
            raw = handle.read()
    except (IOError, OSError) as exc:
        raise kube_config.ConfigException('cannot read kubeconfig %s: %s' % (path, exc.strerror or exc))
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError:
        raise kube_config.ConfigException('kubeconfig %s is not UTF-8 text' % path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        where = ' (line %d)' % (mark.line + 1) if mark is not None else ''
        raise kube_config.ConfigException('kubeconfig %s is not valid YAML%s' % (path, where))
    if data is not None and not isinstance(data, dict):
        raise kube_config.ConfigException('kubeconfig %s is not a mapping of clusters, users and contexts' % path)


def _check_host(host, action):
    """One sentence for a configuration without a usable API server URL."""
    if not host:
        problem = 'the cluster of the kubeconfig has no server'
    else:
        parsed = urlparse(host)
        if parsed.scheme in ('http', 'https') and parsed.hostname and not re.search(r'\s', host):
            return
        problem = 'host "%s" is not a URL such as https://203.0.113.10:6443' % host
    raise describe(kube_config.ConfigException(problem), action)


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
        self.server = configuration.host
        # warnings about this configuration, for the plugins to show
        self.warnings = [] if configuration.verify_ssl else [insecure_warning(self.server)]
        self.timeout = float(options.get('request_timeout') or DEFAULT_REQUEST_TIMEOUT)
        self._rest = kube_rest.RESTClientObject(configuration)
        self._auth_lock = threading.Lock()
        self._api_client = None
        self._ca_data = None
        self._extra_headers = []
        if options.get('impersonate_user'):
            self._extra_headers.append(('Impersonate-User', options['impersonate_user']))
        for group in options.get('impersonate_groups') or ():
            self._extra_headers.append(('Impersonate-Group', group))

    def action(self, verb, resource, namespace=None, subject=None, hints=None):
        """An :class:`errors.Action` on this cluster, for error messages."""
        return Action(verb, resource, namespace=namespace, subject=subject, server=self.server, hints=hints,
                      token_only=self.token_only)

    def request(self, method, path, body=None, query=None, action=None, retry=True, content_type=None):
        """Send one JSON request (retried on 429, 5xx and dropped connections when ``retry``).

        ``content_type`` defaults to ``application/json``; a PATCH gives its patch type, such as
        ``application/merge-patch+json``. Returns a :class:`Response`. Failures raise
        :class:`errors.K8sTokenError` described with ``action``, or :class:`errors.HttpError`
        when ``action`` is None.
        """
        url = self.server + path
        if query:
            url += '?' + urlencode(query, doseq=True)
        content_type = content_type or 'application/json'
        try:
            if retry:
                return retries.call(lambda: self._send(method, url, body, content_type))
            return self._send(method, url, body, content_type)
        except Exception as exc:
            if action is None and isinstance(exc, HttpError):
                raise
            raise describe(exc, action or self.action(method.lower(), path))

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

    @property
    def api_client(self):
        """A ``kubernetes.client.ApiClient`` on this configuration, for typed API classes
        (costly to import with clients 36+; prefer :meth:`request`)."""
        if self._api_client is None:
            from kubernetes.client.api_client import ApiClient
            self._api_client = ApiClient(self.configuration)
            for name, value in self._extra_headers:
                self._api_client.set_default_header(name, value)
        return self._api_client

    def ca_data(self):
        """The PEM bytes of the CA that verifies the server, or None (read once)."""
        if self._ca_data is None and self.configuration.ssl_ca_cert:
            with open(self.configuration.ssl_ca_cert, 'rb') as handle:
                self._ca_data = handle.read()
        return self._ca_data

    def kubeconfig_for_token(self, token, namespace, user):
        """A kubeconfig dict for this server that authenticates with ``token`` as ``user``."""
        server = self.server
        cluster_name = re.sub(r'^https?://', '', server).rstrip('/') or 'cluster'
        cluster = {'server': server}
        ca = self.ca_data()
        if not self.configuration.verify_ssl:
            cluster['insecure-skip-tls-verify'] = True
        elif ca:
            cluster['certificate-authority-data'] = base64.b64encode(ca).decode('ascii')
        if getattr(self.configuration, 'tls_server_name', None):
            cluster['tls-server-name'] = self.configuration.tls_server_name
        if self.configuration.proxy:
            cluster['proxy-url'] = self.configuration.proxy
        context_name = '%s@%s' % (user, cluster_name)
        return {
            'apiVersion': 'v1',
            'kind': 'Config',
            'clusters': [{'name': cluster_name, 'cluster': cluster}],
            'users': [{'name': user, 'user': {'token': token}}],
            'contexts': [{'name': context_name,
                          'context': {'cluster': cluster_name, 'user': user, 'namespace': namespace}}],
            'current-context': context_name,
            'preferences': {},
        }


def _json_or_text(raw):
    if isinstance(raw, bytes):
        raw = raw.decode('utf-8', 'replace')
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw
