# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options -> one cached :class:`transport.Cluster` per configuration.

The only place that builds a client. Options carry the names and aliases of ``kubernetes.core``
(``AUTH_ARG_SPEC``) and fall back to the same ``K8S_AUTH_*`` environment variables, read here
only (``auth_options``). The configuration is loaded by ``kubeconfig.load_configuration``
(kubeconfig files and dicts, exec plugins, in-cluster); requests go through ``transport``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import threading

from ansible_collections.mcp.k8s.plugins.module_utils import kubeconfig
from ansible_collections.mcp.k8s.plugins.module_utils.errors import (
    K8sTokenError, register_secret, secret_forms, url_secrets,
)

try:  # a module's warnings (AnsibleModule returns them); the lookup shows Cluster.warnings itself
    from ansible.module_utils.common.warnings import warn as module_warn
except ImportError:  # pragma: no cover
    module_warn = None


def kubernetes_import_error():
    """None when the kubernetes client (with urllib3 and PyYAML, which it brings) can be imported,
    else the ImportError. The client is imported here, when a plugin needs it, not when this file
    is: its package imports every API model, which a module that sends no request should not pay."""
    try:
        transport = _transport()
    except ImportError as exc:  # pragma: no cover (transport catches the client's own ImportError)
        return exc
    return transport.K8S_IMPORT_ERROR or kubeconfig.IMPORT_ERROR


def _transport():
    from ansible_collections.mcp.k8s.plugins.module_utils import transport
    return transport


MAX_CONNECTIONS = 16

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
        found.add(kubeconfig.read_text(os.path.expanduser(str(options['client_key']))))
    found.update(kubeconfig.secrets(options.get('kubeconfig')))
    forms = set()
    for value in found:
        if value:
            forms.update(secret_forms(value))
    return forms


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


def get_cluster(options):
    """The :class:`transport.Cluster` for these connection options, built once per process and configuration.

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
                cluster = _transport().Cluster(_load_configuration(options), options, key)
                _clients[key] = cluster
                for text in cluster.warnings:
                    if module_warn is not None:
                        module_warn(text)
    return cluster


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
    paths = [os.path.expanduser(str(options[name])) for name in ('ca_cert', 'client_cert', 'client_key')
             if options.get(name)]
    return paths + kubeconfig.paths(options.get('kubeconfig'))


def _load_configuration(options):
    """The client configuration for ``options``, its secrets registered and credentials checked
    first; retries left to retries.py, the pool sized for the lookup's workers."""
    for secret in secret_values(options):
        register_secret(secret)
    check_credentials(options)
    configuration = kubeconfig.load_configuration(options)
    configuration.retries = False          # retries.py decides, with its own bounds
    configuration.connection_pool_maxsize = MAX_CONNECTIONS
    return configuration
