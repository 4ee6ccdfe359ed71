# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a minted token is handed on with: connection values other modules take, and a warning
when the token's audiences leave out every audience the API server accepts.

``complete(cluster, spec, result)`` adds ``connection`` to a result of ``tokens.ensure_token``:
``host``, ``api_key`` (the token), ``validate_certs`` and ``ca_cert`` (a file path), the option
names of ``kubernetes.core``, which hides ``api_key`` only. A kubeconfig dict given to
``kubernetes.core``'s ``kubeconfig`` option (declared ``no_log``) would mask every string it
holds (``v1``, ``Config``, the namespace, the server) wherever it appears in that task's result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import os
import re
import stat
import tempfile

from ansible_collections.mcp.k8s.plugins.module_utils.errors import HttpError, K8sTokenError, display_url, register_secret

try:  # a module's warnings (AnsibleModule returns them)
    from ansible.module_utils.common.warnings import warn as module_warn
except ImportError:  # pragma: no cover
    module_warn = None

CA_FILE_MODE = 0o644
CA_DIR_MODE = 0o700
# The shortest token TokenRequest issues, for the one request that asks the API server's audiences.
PROBE_SECONDS = 600


def complete(cluster, spec, result, warn=None):
    """Add ``connection`` to ``result`` (None when no token was minted) and warn, through ``warn``
    (default: the module's warnings), about CA files that cannot be kept and about audiences the
    API server does not accept."""
    warn = warn or module_warn or (lambda text: None)
    if not result.get('token'):
        result['connection'] = None
        return result
    values, problem = connection_values(cluster, result['token'])
    result['connection'] = values
    if problem:
        warn(problem)
    if not result.get('reused'):
        text = audience_warning(cluster, spec, result.get('audiences') or [])
        if text:
            warn(text)
    return result


# ---------------------------------------------------------------- kubeconfig


def kubeconfig_cluster(cluster):
    """``cluster``'s API server as a kubeconfig cluster entry: server, CA (or insecure-skip-tls-verify),
    tls-server-name and proxy-url."""
    configuration = cluster.configuration
    entry = {'server': cluster.server}
    ca = cluster.ca_data()
    if not configuration.verify_ssl:
        entry['insecure-skip-tls-verify'] = True
    elif ca:
        entry['certificate-authority-data'] = base64.b64encode(ca).decode('ascii')
    if getattr(configuration, 'tls_server_name', None):
        entry['tls-server-name'] = configuration.tls_server_name
    if configuration.proxy:
        entry['proxy-url'] = display_url(configuration.proxy)
    return entry


def result_kubeconfig(cluster, result, namespace):
    """The kubeconfig of a token result (``serviceaccounts.ensure_token``): its ServiceAccount as the user,
    in the account's namespace (``namespace`` when the token does not name it)."""
    account = result['service_account']
    namespace = account['namespace'] or namespace
    return kubeconfig_for_token(cluster, result['token'], namespace,
                                'system:serviceaccount:%s:%s' % (namespace, account['name']))


def kubeconfig_for_token(cluster, token, namespace, user):
    """A kubeconfig dict for ``cluster``'s API server that authenticates with ``token`` as ``user``."""
    return token_kubeconfig(kubeconfig_cluster(cluster), token, namespace, user)


def token_kubeconfig(cluster, token, namespace, user):
    """A kubeconfig dict that authenticates with ``token`` as ``user`` on ``cluster`` (a kubeconfig
    cluster entry: ``server``, ``certificate-authority-data``, ``insecure-skip-tls-verify``...)."""
    cluster_name = re.sub(r'^https?://', '', cluster.get('server') or '').rstrip('/') or 'cluster'
    context_name = '%s@%s' % (user, cluster_name)
    return {
        'apiVersion': 'v1',
        'kind': 'Config',
        'clusters': [{'name': cluster_name, 'cluster': dict(cluster)}],
        'users': [{'name': user, 'user': {'token': token}}],
        'contexts': [{'name': context_name, 'context': {'cluster': cluster_name, 'user': user, 'namespace': namespace}}],
        'current-context': context_name,
        'preferences': {},
    }


# ---------------------------------------------------------------- connection values


def connection_values(cluster, token):
    """``(values, problem)``: the connection options of kubernetes.core (and of this collection's
    modules) that reach ``cluster``'s API server with ``token``, and a sentence when the CA could
    not be kept in a file (``ca_cert`` is then missing)."""
    configuration = cluster.configuration
    verify = bool(configuration.verify_ssl)
    values = {'host': cluster.server, 'api_key': token, 'validate_certs': verify}
    problem = None
    if verify and configuration.ssl_ca_cert:
        try:
            values['ca_cert'] = lasting_ca_file(configuration.ssl_ca_cert, cluster.ca_data)
        except K8sTokenError as exc:
            problem = exc.message
    for name in ('proxy', 'no_proxy'):
        if getattr(configuration, name, None):
            values[name] = getattr(configuration, name)
    return values, problem


def lasting_ca_file(path, read_data):
    """A CA file that outlives this process: ``path`` itself unless the kubernetes client wrote it
    (from a kubeconfig's ``certificate-authority-data``, deleted when the process exits); then the
    same PEM in :func:`ca_directory` (``read_data()`` gives it)."""
    if os.path.isfile(path) and not is_client_temp_file(path):
        return os.path.abspath(path)
    return write_ca(read_data())


def is_client_temp_file(path):
    """Whether the kubernetes client created ``path`` for this process (and deletes it at exit)."""
    try:
        from kubernetes.config import kube_config
        if path in set(getattr(kube_config, '_temp_files', {}).values()):
            return True
    except ImportError:  # pragma: no cover
        pass
    # clients keep them directly in the temporary directory (tempfile.mkstemp)
    return os.path.dirname(os.path.abspath(path)) == os.path.abspath(tempfile.gettempdir())


def ca_directory():
    """Where CA files are kept: ``$XDG_CACHE_HOME/mcp.k8s/ca`` (``~/.cache/mcp.k8s/ca``)."""
    return os.path.join(_cache_home(), *CA_FOLDERS)


def _cache_home():
    return os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')


# The folders this collection creates under the cache home, outermost first.
CA_FOLDERS = ('mcp.k8s', 'ca')


def untrusted_folder(path, uid=None):
    """Why the folder ``path`` cannot hold files to be trusted (a phrase), or None: it must be a real
    directory (not a symbolic link) owned by ``uid`` (this user) that neither group nor others may write to."""
    uid = os.geteuid() if uid is None else uid
    try:
        info = os.lstat(path)
    except OSError as exc:
        return 'cannot be read (%s)' % (exc.strerror or exc)
    if stat.S_ISLNK(info.st_mode):
        return 'is a symbolic link'
    if not stat.S_ISDIR(info.st_mode):
        return 'is not a directory'
    if info.st_uid != uid:
        return 'belongs to another user (uid %d)' % info.st_uid
    if info.st_mode & 0o022:
        return 'may be written to by %s' % ('others' if info.st_mode & 0o002 else 'its group')
    return None


def ca_folder(advice):
    """:func:`ca_directory`, each folder the collection creates (``mcp.k8s``, then ``ca``) made 0700
    when missing and checked with :func:`untrusted_folder`: whoever may replace one of them could swap
    the CA. Raises one sentence naming the first folder that fails."""
    directory = _cache_home()
    try:
        os.makedirs(directory, mode=CA_DIR_MODE, exist_ok=True)
    except OSError as exc:
        raise K8sTokenError('connection.ca_cert is missing: cannot create %s (%s); %s.'
                            % (directory, exc.strerror or exc, advice))
    for name in CA_FOLDERS:
        directory = os.path.join(directory, name)
        try:
            os.mkdir(directory, CA_DIR_MODE)
        except FileExistsError:
            pass
        except OSError as exc:
            raise K8sTokenError('connection.ca_cert is missing: cannot create %s (%s); %s.'
                                % (directory, exc.strerror or exc, advice))
        problem = untrusted_folder(directory)
        if problem:
            raise K8sTokenError('connection.ca_cert is missing: %s %s, so a CA kept under it cannot be trusted; %s.'
                                % (directory, problem, advice))
    return directory


def write_ca(data):
    """The path of a 0644 file holding the PEM ``data``, named after its SHA-256, in a 0700
    directory of this user (created when missing; refused when it or its ``mcp.k8s`` parent belongs
    to another user, may be written by group or others, or is a symbolic link, since a CA planted
    there would be trusted)."""
    if not data:
        raise K8sTokenError('The connection has no CA certificate to write; give ca_cert.')
    advice = 'set XDG_CACHE_HOME to a directory of your own, or give ca_cert as a file'
    directory = ca_folder(advice)
    path = os.path.join(directory, hashlib.sha256(data).hexdigest()[:32] + '.crt')
    try:
        if not os.path.islink(path) and os.path.isfile(path):
            with open(path, 'rb') as handle:
                if handle.read() == data:
                    if stat.S_IMODE(os.stat(path).st_mode) != CA_FILE_MODE:
                        os.chmod(path, CA_FILE_MODE)
                    return path
        handle, temporary = tempfile.mkstemp(dir=directory, prefix='.ca-')
        try:
            with os.fdopen(handle, 'wb') as stream:
                stream.write(data)
            os.chmod(temporary, CA_FILE_MODE)
            os.replace(temporary, path)
        except OSError:
            os.unlink(temporary)
            raise
    except OSError as exc:
        raise K8sTokenError('connection.ca_cert is missing: cannot write %s (%s); %s.'
                            % (path, exc.strerror or exc, advice))
    return path


# ---------------------------------------------------------------- audiences


def api_audiences(cluster, spec):
    """The audiences the API server gives a token when none are asked for (its own, the
    ``--api-audiences``), from one TokenRequest of the shortest duration for the same
    ServiceAccount; its token is dropped at once. None when the API server does not say."""
    body = {'apiVersion': 'authentication.k8s.io/v1', 'kind': 'TokenRequest',
            'spec': {'audiences': [], 'expirationSeconds': PROBE_SECONDS}}
    path = '/api/v1/namespaces/%s/serviceaccounts/%s/token' % (spec.namespace, spec.name)
    try:
        data = cluster.request('POST', path, body=body, action=None).data
    except (HttpError, K8sTokenError):
        return None
    if not isinstance(data, dict):
        return None
    token = (data.get('status') or {}).get('token')
    if token:
        register_secret(token)
    audiences = (data.get('spec') or {}).get('audiences')
    if isinstance(audiences, list) and audiences:
        return [str(a) for a in audiences]
    return None


def audience_warning(cluster, spec, audiences):
    """A warning when the token was asked for ``spec.audiences`` and none of ``audiences`` (the
    token's) is one the API server accepts, naming those it accepts; else None. One request, and
    only when audiences were asked for."""
    if not spec.audiences:
        return None
    accepted = api_audiences(cluster, spec)
    if not accepted or set(audiences) & set(accepted):
        return None
    return ('The token for %s is for %s, none of which the API server at %s accepts (it accepts %s), so the '
            'returned kubeconfig and connection values will be refused with 401 Unauthorized; to use them, add %s '
            'to audiences or leave audiences empty (ignore this for a token meant only for another service).'
            % (spec.describe(), ', '.join(audiences), cluster.server, ', '.join(accepted), accepted[0]))
