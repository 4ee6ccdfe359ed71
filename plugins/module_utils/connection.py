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

from ansible_collections.mcp.k8s.plugins.module_utils import retries, server_files
from ansible_collections.mcp.k8s.plugins.module_utils.errors import (
    Action, HttpError, K8sTokenError, describe, display_url, failure_kind, is_status, register_secret,
    secret_forms, url_secrets,
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
        try:
            return float(value)
        except ValueError:
            return value    # check_credentials says what is wrong
    if name == 'kubeconfig' and value.lstrip().startswith('{'):
        return json.loads(value)
    return value


def secret_values(options):
    """Every secret in the connection options, in every form it may be printed (for a module's
    ``no_log_values``): api_key, password, proxy headers, passwords in host and proxy URLs, and
    the credentials of the kubeconfig (a dict, or the files it names): tokens, token files,
    passwords, key data, client key files, exec plugin env values and arguments, auth-provider
    secrets."""
    found = set()
    for name in ('api_key', 'password'):
        if options.get(name):
            found.add(str(options[name]))
    for name in ('host', 'proxy'):
        found.update(url_secrets(options.get(name)))
    headers = options.get('proxy_headers') if isinstance(options.get('proxy_headers'), dict) else {}
    for key, value in headers.items():
        if value and key != 'user_agent':
            found.add(str(value))
    if options.get('client_key'):
        found.add(_read_text(os.path.expanduser(str(options['client_key']))))
    kubeconfig = options.get('kubeconfig')
    if isinstance(kubeconfig, dict):
        _kubeconfig_secrets(kubeconfig, '', found)
    else:
        for path in _kubeconfig_paths(kubeconfig):
            data = _read_yaml(path)
            if isinstance(data, dict):
                _kubeconfig_secrets(data, os.path.dirname(os.path.abspath(path)), found)
    forms = set()
    for value in found:
        if value:
            forms.update(secret_forms(value))
    return forms


def _read_text(path):
    try:
        with open(path, 'rb') as handle:
            return handle.read(1 << 20).decode('utf-8', 'replace')
    except (IOError, OSError):
        return None


def _read_yaml(path):
    """The parsed kubeconfig file at ``path``, or None when it cannot be read (reported elsewhere)."""
    text = _read_text(path) if os.path.isfile(path) else None
    if not text or not HAS_K8S:
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def _kubeconfig_paths(kubeconfig):
    if isinstance(kubeconfig, list):
        return [os.path.expanduser(str(p)) for p in kubeconfig]
    if isinstance(kubeconfig, str):
        return [os.path.expanduser(p) for p in kubeconfig.split(os.pathsep) if p]
    return [p for p in (os.environ.get('KUBECONFIG') or '').split(os.pathsep) if p] or \
        [os.path.expanduser('~/.kube/config')]


def _kubeconfig_secrets(config, base, found):
    """Add the secrets of a parsed kubeconfig to ``found`` (files it names read from ``base``)."""
    for entry in config.get('users') or ():
        user = (entry or {}).get('user') if isinstance(entry, dict) else None
        if isinstance(user, dict):
            _collect_secrets(user, found)
            for key in ('tokenFile', 'client-key'):
                if isinstance(user.get(key), str) and user[key]:
                    found.add(_read_text(os.path.join(base, os.path.expanduser(user[key]))))
            command = user.get('exec') if isinstance(user.get('exec'), dict) else {}
            for env in command.get('env') or ():
                if isinstance(env, dict) and env.get('value') is not None:
                    _maybe_secret(str(env.get('name') or ''), str(env['value']), found)
            flag = ''
            for arg in command.get('args') or ():
                arg = str(arg)
                if arg.startswith('-'):
                    flag, _equals, value = arg.partition('=')
                    if value:
                        _maybe_secret(flag, value, found)
                else:
                    _maybe_secret(flag, arg, found)
                    flag = ''
    for entry in config.get('clusters') or ():
        cluster = (entry or {}).get('cluster') if isinstance(entry, dict) else None
        if isinstance(cluster, dict):
            for key in ('server', 'proxy-url'):
                found.update(url_secrets(cluster.get(key)))


# Names of exec plugin env variables and flags whose values are secrets.
_SECRET_NAME = re.compile(r'(token|passw|secret|key|credential|auth|cert)', re.I)


def _maybe_secret(name, value, found):
    """Add an exec plugin's env value or argument to ``found`` when its name says it is a secret or it
    is long enough to be one (a short ``eu-west-1`` or ``prod`` would be masked everywhere)."""
    if _SECRET_NAME.search(name) or len(value) >= 16:
        found.add(value)


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


def check_credentials(options):
    """One sentence for a credential with whitespace around it (a token read from a file with its
    final newline, say), or a request_timeout that is not a positive number; before any request."""
    api_key = options.get('api_key')
    if isinstance(api_key, str) and api_key != api_key.strip():
        raise K8sTokenError('api_key has whitespace (a line break or spaces) at its start or end; remove it, for '
                            'example with the trim filter.')
    password = options.get('password')   # spaces may belong to a password, a line break does not
    if isinstance(password, str) and password != password.strip('\r\n'):
        raise K8sTokenError('password has a line break at its start or end; remove it, for example with the trim '
                            'filter.')
    timeout = options.get('request_timeout')
    if timeout is not None:
        try:
            seconds = float(timeout)
        except (TypeError, ValueError):
            seconds = None
        if seconds is None or not 0 < seconds < float('inf'):
            shown = json.dumps(timeout) if isinstance(timeout, str) else timeout
            raise K8sTokenError('request_timeout must be a positive number of seconds, not %s.' % (shown,))


def _check_user_credentials(config, where, context=None):
    """One sentence for the kubeconfig user of ``context`` (or of the current context) whose token or
    password has whitespace around it."""
    wanted = context or config.get('current-context')
    users = set()
    for entry in config.get('contexts') or ():
        if isinstance(entry, dict) and isinstance(entry.get('context'), dict) and entry.get('name') == wanted:
            users.add(entry['context'].get('user'))
    for entry in config.get('users') or ():
        if not isinstance(entry, dict) or not isinstance(entry.get('user'), dict):
            continue
        if wanted and entry.get('name') not in users:
            continue
        for key in ('token', 'password'):
            value = entry['user'].get(key)
            if isinstance(value, str) and value != value.strip():
                raise K8sTokenError('The %s of user "%s" in %s has whitespace (a line break or spaces) at its start '
                                    'or end; remove it.' % (key, entry.get('name') or '', where))


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
    return display_url(options.get('host')) or 'the cluster'


def _load_configuration(options):
    """A kubernetes ``Configuration`` for ``options``, as kubernetes.core decides what to load."""
    action = Action('load', 'the Kubernetes configuration', server=_server_of(options))
    if not HAS_K8S:
        raise describe(K8S_IMPORT_ERROR, action)
    for secret in secret_values(options):
        register_secret(secret)
    check_credentials(options)
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
    except K8sTokenError:
        raise
    except Exception as exc:  # every loader failure becomes one sentence
        if failure_kind(exc) is None and not getattr(exc, 'filename', None):
            # whatever the client tripped over while reading it, the configuration is unusable
            exc = kube_config.ConfigException('the kubeconfig cannot be read: %s' % exc)
        raise describe(exc, action)

    if options.get('host'):
        configuration.host = options['host'].rstrip('/')
    _check_host(configuration.host, action)
    # urllib3 never sends a URL's userinfo: keep it out of every message and returned kubeconfig
    configuration.host = display_url(configuration.host)
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
    _proxy_credentials(configuration)
    _strip_bearer(configuration)
    configuration.retries = False          # retries.py decides, with its own bounds
    configuration.connection_pool_maxsize = MAX_CONNECTIONS
    if not configuration.verify_ssl:
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    return configuration


def _proxy_credentials(configuration):
    """A proxy URL's ``user:password`` sent as the Proxy-Authorization header (urllib3 ignores a
    URL's userinfo), and the URL kept without it."""
    proxy = getattr(configuration, 'proxy', None)
    if not proxy:
        return
    match = re.match(r'(?i)^([a-z][a-z0-9+.-]*://)([^/@\s]*)@(.*)$', proxy)
    if not match:
        return
    from urllib.parse import unquote
    headers = dict(getattr(configuration, 'proxy_headers', None) or {})
    if not any(name.lower() == 'proxy-authorization' for name in headers):
        headers.update(urllib3.util.make_headers(proxy_basic_auth=unquote(match.group(2))))
        register_secret(headers.get('proxy-authorization', '').partition(' ')[2])
    configuration.proxy_headers = headers
    configuration.proxy = match.group(1) + match.group(3)


def _strip_bearer(configuration):
    """A bearer token read from a token file loses the whitespace around it, as kubectl trims it
    (also when the client reads the file again before a request)."""
    hook = getattr(configuration, 'refresh_api_key_hook', None)
    if hook is not None and not getattr(hook, 'strips', False):
        def refresh(config):
            hook(config)
            _strip_bearer(config)
        refresh.strips = True
        configuration.refresh_api_key_hook = refresh
    api_key = getattr(configuration, 'api_key', None) or {}
    for name in ('authorization', 'BearerToken'):   # clients before 36 and after
        value = api_key.get(name)
        if isinstance(value, str):
            register_secret(value)
            scheme, _space, token = value.partition(' ')
            register_secret(token)
            if token != token.strip():
                api_key[name] = '%s %s' % (scheme, token.strip())


def _load_kubeconfig(options, configuration):
    kubeconfig = options.get('kubeconfig')
    context = options.get('context')
    if isinstance(kubeconfig, dict):
        _check_user_credentials(kubeconfig, 'the kubeconfig dict', context)
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
            _check_kubeconfig_file(path, context)
    kubeconfig = os.pathsep.join(paths)
    kube_config.load_kube_config(config_file=kubeconfig, context=context,
                                 client_configuration=configuration, persist_config=False)


def _check_kubeconfig_file(path, context=None):
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
    if data:
        _check_user_credentials(data, 'kubeconfig %s' % path, context)


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
        self.server = display_url(configuration.host)
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

    def kubeconfig_cluster(self):
        """This server as a kubeconfig cluster entry: server, CA (or insecure-skip-tls-verify),
        tls-server-name and proxy-url."""
        cluster = {'server': self.server}
        ca = self.ca_data()
        if not self.configuration.verify_ssl:
            cluster['insecure-skip-tls-verify'] = True
        elif ca:
            cluster['certificate-authority-data'] = base64.b64encode(ca).decode('ascii')
        if getattr(self.configuration, 'tls_server_name', None):
            cluster['tls-server-name'] = self.configuration.tls_server_name
        if self.configuration.proxy:
            cluster['proxy-url'] = display_url(self.configuration.proxy)
        return cluster

    def kubeconfig_for_token(self, token, namespace, user):
        """A kubeconfig dict for this server that authenticates with ``token`` as ``user``."""
        return server_files.token_kubeconfig(self.kubeconfig_cluster(), token, namespace, user)


def _json_or_text(raw):
    if isinstance(raw, bytes):
        raw = raw.decode('utf-8', 'replace')
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw
