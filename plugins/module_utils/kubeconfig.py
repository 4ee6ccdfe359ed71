# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Loading the client configuration: from the connection options, a kubeconfig (files or a
dict) or the pod's in-cluster configuration, as kubernetes.core decides, with one sentence for
what is wrong in a kubeconfig; and the secrets a kubeconfig holds, to keep them out of output.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
from urllib.parse import unquote, urlparse

from ansible_collections.mcp.k8s.plugins.module_utils.errors import (
    Action, K8sTokenError, as_token_error, display_url, failure_kind, register_secret, url_secrets,
)

try:
    import urllib3
    import yaml
except ImportError as e:  # connection tells the plugins the client is missing
    IMPORT_ERROR = e
else:
    IMPORT_ERROR = None


def client():
    """kubernetes' config loader module and its ``Configuration`` class, imported on first use: the
    client's package imports every API model (about half a second), which a module that sends no
    request (mcp.k8s.server_files) should not pay."""
    from kubernetes import config as kube_config
    from kubernetes.client.configuration import Configuration
    return kube_config, Configuration


# Keys of a kubeconfig's user entry (and auth-provider config) that hold secrets.
_KUBECONFIG_SECRET_KEYS = re.compile(r'(token|password|secret|key-data|refresh)', re.I)


def paths(kubeconfig):
    """The kubeconfig files to read for the ``kubeconfig`` option: its paths (a list, or a string
    separated as E(KUBECONFIG) is), else those of E(KUBECONFIG), else ``~/.kube/config``; none for
    a kubeconfig given as a dict."""
    if isinstance(kubeconfig, dict):
        return []
    if isinstance(kubeconfig, list):
        return [os.path.expanduser(str(p)) for p in kubeconfig if p]
    if isinstance(kubeconfig, str):
        return [os.path.expanduser(p) for p in kubeconfig.split(os.pathsep) if p]
    return [p for p in (os.environ.get('KUBECONFIG') or '').split(os.pathsep) if p] or \
        [os.path.expanduser('~/.kube/config')]


def secrets(kubeconfig):
    """The credentials of the kubeconfig option (a dict, or the files it names): tokens, token
    files, passwords, key data, client key files, exec plugin env values and arguments,
    auth-provider secrets, passwords in server and proxy URLs."""
    found = set()
    if isinstance(kubeconfig, dict):
        _kubeconfig_secrets(kubeconfig, '', found)
    for path in paths(kubeconfig):
        data = _read_yaml(path)
        if isinstance(data, dict):
            _kubeconfig_secrets(data, os.path.dirname(os.path.abspath(path)), found)
    return found


def read_text(path):
    try:
        with open(path, 'rb') as handle:
            return handle.read(1 << 20).decode('utf-8', 'replace')
    except (IOError, OSError):
        return None


def _read_yaml(path):
    """The parsed kubeconfig file at ``path``, or None when it cannot be read (reported elsewhere)."""
    text = read_text(path) if os.path.isfile(path) else None
    if not text or IMPORT_ERROR is not None:
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def _kubeconfig_secrets(config, base, found):
    """Add the secrets of a parsed kubeconfig to ``found`` (files it names read from ``base``)."""
    for entry in config.get('users') or ():
        user = (entry or {}).get('user') if isinstance(entry, dict) else None
        if isinstance(user, dict):
            _collect_secrets(user, found)
            for key in ('tokenFile', 'client-key'):
                if isinstance(user.get(key), str) and user[key]:
                    found.add(read_text(os.path.join(base, os.path.expanduser(user[key]))))
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


def contexts(kubeconfig):
    """``(names, current)``: the context names of the ``kubeconfig`` option (a dict, or the files it
    names, merged as kubectl merges them: the first file that sets ``current-context`` wins), in order."""
    configs = [kubeconfig] if isinstance(kubeconfig, dict) else [_read_yaml(path) for path in paths(kubeconfig)]
    names, current = [], None
    for config in configs:
        if not isinstance(config, dict):
            continue
        for entry in config.get('contexts') or ():
            if isinstance(entry, dict) and entry.get('name') is not None and str(entry['name']) not in names:
                names.append(str(entry['name']))
        if current is None and config.get('current-context'):
            current = str(config['current-context'])
    return names, current


def describe_kubeconfig(kubeconfig):
    """The kubeconfig of the option as a message names it: "kubeconfig PATH" or "the kubeconfig dict"."""
    if isinstance(kubeconfig, dict):
        return 'the kubeconfig dict'
    return 'kubeconfig %s' % ' and '.join(paths(kubeconfig))


def missing_context_problem(kubeconfig, context):
    """The sentence for a ``context`` the kubeconfig of the option does not have (None when it has it, or
    when no context is asked for): it names the kubeconfig and lists the contexts it has."""
    if not context:
        return None
    names, current = contexts(kubeconfig)
    if str(context) in names:
        return None
    where = describe_kubeconfig(kubeconfig)
    if not names:
        return ('Context "%s" is not in %s, which has no contexts; correct the kubeconfig or the context option '
                '(K8S_AUTH_CONTEXT).' % (context, where))
    listed = ', '.join('"%s"' % name for name in names)
    if current in names:
        fix = 'give one of those as the context option (K8S_AUTH_CONTEXT), or none for its current context "%s"' % current
    else:
        fix = 'give one of those as the context option (K8S_AUTH_CONTEXT)'
    return 'Context "%s" is not in %s, which has %s %s; %s.' % (
        context, where, 'the context' if len(names) == 1 else 'the contexts', listed, fix)


def source_of(options):
    """Which configuration the connection ``options`` choose, for messages about what the API server said:
    'context "east" of kubeconfig /path', or None when no kubeconfig is read (host with credentials, or
    in-cluster)."""
    def given(*names):
        return all(options.get(name) for name in names)

    if given('host') and (given('api_key') or given('username', 'password') or given('client_cert', 'client_key')):
        return None
    kubeconfig, context = options.get('kubeconfig'), options.get('context')
    if not (kubeconfig or context) and os.environ.get('KUBERNETES_SERVICE_HOST'):
        return None
    names, current = contexts(kubeconfig)
    context = context or current
    if not context:
        return describe_kubeconfig(kubeconfig)
    return 'context "%s" of %s' % (context, describe_kubeconfig(kubeconfig))


def asked_cluster(server, options):
    """The cluster a request went to, for a message: 'the API server at URL (context "east" of kubeconfig
    /path)', so that a request sent to the wrong context does not look like a missing object or right."""
    source = source_of(options)
    return 'the API server at %s%s' % (server, ' (%s)' % source if source else '')


def _server_of(options):
    return display_url(options.get('host')) or 'the cluster'


def load_configuration(options):
    """A kubernetes ``Configuration`` for ``options`` (connection options, their credentials checked
    and registered as secrets), as kubernetes.core decides what to load."""
    action = Action('load', 'the Kubernetes configuration', server=_server_of(options))
    if IMPORT_ERROR is not None:
        raise as_token_error(IMPORT_ERROR, action)
    kube_config, configuration_class = client()
    configuration = configuration_class()

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
        raise as_token_error(exc, action)

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
                raise as_token_error(IOError(2, 'no such file', path), action)
            setattr(configuration, attribute, path)
    if options.get('proxy'):
        configuration.proxy = options['proxy']
    if options.get('no_proxy'):
        configuration.no_proxy = options['no_proxy']
    if options.get('proxy_headers'):
        configuration.proxy_headers = urllib3.util.make_headers(**options['proxy_headers'])
    _proxy_credentials(configuration)
    _strip_bearer(configuration)
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
    kube_config = client()[0]
    kubeconfig = options.get('kubeconfig')
    context = options.get('context')
    if isinstance(kubeconfig, dict):
        _check_user_credentials(kubeconfig, 'the kubeconfig dict', context)
        _check_context(kubeconfig, context)
        kube_config.load_kube_config_from_dict(config_dict=kubeconfig, context=context,
                                               client_configuration=configuration, persist_config=False)
        return
    files = paths(kubeconfig)
    if not any(os.path.isfile(p) for p in files):
        where = ' and '.join(files)
        if kubeconfig is None:
            raise kube_config.ConfigException('no kubeconfig at %s and not running inside a pod' % where)
        raise kube_config.ConfigException('kubeconfig %s does not exist' % where)
    for path in files:
        if os.path.isfile(path):
            _check_kubeconfig_file(path, context)
    _check_context([p for p in files if os.path.isfile(p)], context)
    kubeconfig = os.pathsep.join(files)
    kube_config.load_kube_config(config_file=kubeconfig, context=context,
                                 client_configuration=configuration, persist_config=False)


def _check_context(kubeconfig, context):
    problem = missing_context_problem(kubeconfig, context)
    if problem:
        raise K8sTokenError(problem)


def _check_kubeconfig_file(path, context=None):
    """A ConfigException naming what is wrong with a kubeconfig file that is not a kubeconfig."""
    kube_config = client()[0]
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
    kube_config = client()[0]
    if not host:
        problem = 'the cluster of the kubeconfig has no server'
    else:
        parsed = urlparse(host)
        if parsed.scheme in ('http', 'https') and parsed.hostname and not re.search(r'\s', host):
            return
        problem = 'host "%s" is not a URL such as https://203.0.113.10:6443' % host
    raise as_token_error(kube_config.ConfigException(problem), action)
