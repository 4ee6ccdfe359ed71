# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The files an MCP server runs on: its kubeconfig, the credential file that kubeconfig's
``exec`` plugin reads, and the upstream ``mcp-k8s-server`` config file.

A token that lives in a kubeconfig as ``token`` is read once, when a client loads the
kubeconfig; a long-running server keeps it until it expires and then fails every call. A
kubeconfig whose user is an ``exec`` credential plugin is different: the kubernetes Python
client and client-go run the plugin again when the ExecCredential it returned has expired
(client-go also on a 401). The plugin here is ``cat`` of a 0600 file that holds an
ExecCredential (``status.token``, ``status.expirationTimestamp``); rewriting that file
atomically with a fresh token rotates the credential of a running server without a restart.

Every file is written 0600, atomically (a temporary file in the same folder, then a rename),
and only over a file this collection wrote (or no file): anything else is left alone.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os
import re
import tempfile

try:
    import yaml   # PyYAML: a requirement of ansible-core
    HAS_YAML = True
except ImportError:  # only where ansible-core is not installed whole (the sanity import test)
    HAS_YAML = False

from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError

EXEC_API_VERSION = 'client.authentication.k8s.io/v1'
HIDDEN = '(token hidden)'
CONFIG_MARK = '# Written by mcp.k8s for the ServiceAccount %s; every run of the role rewrites it.'
KUBECONFIG_MARK = '# Written by mcp.k8s for %s: later runs reuse its token, state absent deletes it.'
CONFIG_MARK_PREFIX = '# Written by mcp.k8s '
MODE = 0o600
MAX_STORED_SIZE = 1024 * 1024   # the files this collection writes are a few KiB
UNKNOWN_SERVER = '(the API server, not known in check mode without cluster)'
CREDENTIAL_MODES = ('exec', 'token')


def default_credential_path(kubeconfig_path):
    """Where the exec plugin's credential file goes when no path is given."""
    return kubeconfig_path + '.credential.json'


# ---------------------------------------------------------------------------------- contents
def exec_credential(token, expiration_timestamp):
    """The ExecCredential the ``exec`` plugin prints (client.authentication.k8s.io/v1)."""
    return {'apiVersion': EXEC_API_VERSION, 'kind': 'ExecCredential',
            'spec': {'interactive': False},
            'status': {'token': token, 'expirationTimestamp': expiration_timestamp}}


def credential_text(token, expiration_timestamp):
    return json.dumps(exec_credential(token, expiration_timestamp), indent=2, sort_keys=True) + '\n'


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


def exec_kubeconfig(kubeconfig, credential_path, command):
    """``kubeconfig`` (a token kubeconfig dict) with each user's token replaced by an exec plugin
    that prints the credential file. ``interactiveMode: Never``: client-go wants it, and the
    plugin never asks anything."""
    result = copy.deepcopy(kubeconfig)
    for user in result.get('users') or []:
        user['user'] = {'exec': {
            'apiVersion': EXEC_API_VERSION,
            'command': command,
            'args': [credential_path],
            'interactiveMode': 'Never',
            'provideClusterInfo': False,
        }}
    return result


def kubeconfig_text(kubeconfig, mark=None):
    text = yaml.safe_dump(kubeconfig, default_flow_style=False, sort_keys=False)
    return mark + '\n' + text if mark else text


def server_config(settings, kubeconfig_path):
    """The upstream mcp-k8s-server config (YAML sections server, kubernetes, monitoring).

    ``settings``: host, port, transport, namespace, monitoring (a dict; empty means upstream's
    defaults). The server reads the account's kubeconfig; it ignores ``context``, so none is set."""
    config = {
        'server': {'name': 'mcp-k8s-server', 'transport': settings['transport'],
                   'host': settings['host'], 'port': int(settings['port'])},
        'kubernetes': {'config_path': kubeconfig_path, 'namespace': settings['namespace']},
    }
    if settings.get('monitoring'):
        config['monitoring'] = dict(settings['monitoring'])
    return config


def config_text(config, owner):
    return CONFIG_MARK % owner + '\n' + yaml.safe_dump(config, default_flow_style=False, sort_keys=False)


def redact(text):
    """``text`` with every token replaced: what diffs and results may show of a file."""
    if not text:
        return text
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get('kind') == 'ExecCredential':
        if isinstance(data.get('status'), dict) and 'token' in data['status']:
            data['status']['token'] = HIDDEN
        return json.dumps(data, indent=2, sort_keys=True) + '\n'
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return '(content hidden: not YAML)\n'
    if isinstance(data, dict) and data.get('kind') == 'Config':
        for user in data.get('users') or []:
            if isinstance(user, dict) and isinstance(user.get('user'), dict):
                for key in ('token', 'client-key-data', 'password'):
                    if key in user['user']:
                        user['user'][key] = HIDDEN
        return kubeconfig_text(data)
    return text


# ---------------------------------------------------------------------------------- ownership
def is_our_credential(text):
    try:
        data = json.loads(text)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get('apiVersion') == EXEC_API_VERSION and data.get('kind') == 'ExecCredential'


def is_our_config(text):
    return text.startswith(CONFIG_MARK_PREFIX)


def kubeconfig_owner(username):
    """A test for a kubeconfig written for ``username`` (by this collection, in either mode)."""
    def test(text):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            return False
        if not isinstance(data, dict) or data.get('kind') != 'Config':
            return False
        return [u.get('name') for u in data.get('users') or [] if isinstance(u, dict)] == [username]
    return test


def stored_token(path, follow=True):
    """The token kept in the file at ``path`` when this collection wrote it: an ExecCredential's
    ``status.token``, the token of a kubeconfig's only user, or (``follow``) the token of the
    credential file that such a kubeconfig's exec plugin reads. None for no file, an unreadable
    one, another shape or no token: the caller then mints one."""
    try:
        # a regular file of sane size only: a FIFO or a device would block or never end
        if not path or not os.path.isfile(path) or os.path.getsize(path) > MAX_STORED_SIZE:
            return None
        text = read(path)[0]
    except (K8sTokenError, OSError):
        return None
    if not text:
        return None
    if is_our_credential(text):
        status = json.loads(text).get('status')
        token = status.get('token') if isinstance(status, dict) else None
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            return None
        users = data.get('users') if isinstance(data, dict) and data.get('kind') == 'Config' else None
        user = users[0].get('user') if isinstance(users, list) and len(users) == 1 and isinstance(users[0], dict) else None
        if not isinstance(user, dict):
            return None
        plugin = user.get('exec')
        if follow and isinstance(plugin, dict) and plugin.get('apiVersion') == EXEC_API_VERSION:
            args = plugin.get('args')
            return stored_token(args[0], follow=False) if isinstance(args, list) and len(args) == 1 else None
        token = user.get('token')
    if not isinstance(token, str) or not token.strip() or token == HIDDEN:
        return None
    return token


# ---------------------------------------------------------------------------------- files
def read(path):
    """The file's text and mode, or (None, None) when it does not exist."""
    try:
        with open(path, 'rb') as handle:
            raw = handle.read()
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        raise K8sTokenError('Cannot read %s: %s.' % (path, exc.strerror or exc))
    return raw.decode('utf-8', 'replace'), mode


def write_atomic(path, text):
    """Replace ``path`` by ``text`` (mode 0600) so that a reader sees the old or the new file.
    A missing folder is created (0700)."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        if not os.path.isdir(folder):
            os.makedirs(folder, mode=0o700)
        descriptor, temporary = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=folder)
    except OSError as exc:
        raise K8sTokenError('Cannot write %s: %s; create the folder %s or choose another path.'
                            % (path, exc.strerror or exc, folder))
    try:
        os.fchmod(descriptor, MODE)
        with os.fdopen(descriptor, 'wb') as handle:
            handle.write(text.encode('utf-8'))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise K8sTokenError('Cannot write %s: %s.' % (path, exc.strerror or exc))


class FileChange:
    """One file: what it holds, what it should hold, and whether it is ours to change (``force``:
    replace a file this collection did not write; removing one is never allowed)."""

    def __init__(self, label, path, wanted, is_ours, option, force=False):
        self.label = label      # 'kubeconfig', 'credential' or 'config'
        self.path = path
        self.wanted = wanted    # text, or None to remove the file
        self.is_ours = is_ours
        self.option = option    # the option naming the path, for messages
        self.force = force
        self.current, self.mode = read(path)

    @property
    def foreign(self):
        return self.current is not None and not self.is_ours(self.current)

    @property
    def changed(self):
        if self.wanted is None:
            return self.current is not None and not self.foreign
        return self.current != self.wanted or self.mode != MODE

    def check(self):
        if self.wanted is not None and self.foreign and not self.force:
            raise K8sTokenError('%s exists and was not written by mcp.k8s; move it away, set %s to another path, '
                                'or set force=true to replace it.' % (self.path, self.option))

    def apply(self):
        if not self.changed:
            return
        if self.wanted is None:
            os.unlink(self.path)
        else:
            write_atomic(self.path, self.wanted)

    def diff(self):
        return {'before_header': self.path, 'after_header': self.path,
                'before': redact(self.current) if self.current is not None and not self.foreign else '',
                'after': redact(self.wanted) if self.wanted is not None else ''}

    def report(self):
        return {'path': self.path, 'changed': self.changed,
                'state': 'absent' if self.wanted is None else 'present'}


def plan(params, cluster, username, check_mode=False):
    """The FileChanges for module params (see the server_files module) and the exec kubeconfig
    dict (or None). ``cluster`` is the kubeconfig cluster entry (server, CA) of the files, needed
    only with state=present and a kubeconfig_path. In check mode a token that is not minted yet is
    allowed: the files that hold it count as changed."""
    present = params['state'] == 'present'
    kubeconfig_path = params.get('kubeconfig_path') or ''
    config_path = params.get('config_path') or ''
    mode = params.get('kubeconfig_credential') or 'exec'
    credential_path = params.get('credential_path') or (default_credential_path(kubeconfig_path) if kubeconfig_path else '')
    owner = username.split(':', 2)[-1].replace(':', '/')
    force = bool(params.get('force'))
    namespace = params.get('namespace') or 'default'
    changes = []
    if present and config_path and not kubeconfig_path:
        raise K8sTokenError('config_path needs kubeconfig_path: the server config points at the account\'s kubeconfig.')
    if present and kubeconfig_path and not check_mode:
        if not params.get('token') or (mode == 'exec' and not params.get('expiration_timestamp')):
            raise K8sTokenError('kubeconfig_credential=%s needs token%s (from mcp.k8s.sa_token).'
                                % (mode, ' and expiration_timestamp' if mode == 'exec' else ''))
    exec_file = None
    if kubeconfig_path and present and check_mode and not cluster:
        cluster = {'server': UNKNOWN_SERVER}     # nothing is written: the kubeconfig counts as changed
    if kubeconfig_path and present and not (isinstance(cluster, dict) and cluster.get('server')):
        raise K8sTokenError('cluster needs the server of the kubeconfig, such as minted.kubeconfig.clusters[0].cluster '
                            'from mcp.k8s.sa_token ({server: https://..., certificate-authority-data: ...}).')
    if kubeconfig_path and present:
        token = params.get('token') or HIDDEN
        account = token_kubeconfig(cluster, token if mode == 'token' else '', namespace, username)
        if mode == 'exec':
            exec_file = exec_kubeconfig(account, os.path.abspath(credential_path), params['exec_command'])
            changes.append(FileChange('kubeconfig', kubeconfig_path, kubeconfig_text(exec_file),
                                      kubeconfig_owner(username), 'kubeconfig_path', force))
            changes.append(FileChange('credential', credential_path,
                                      credential_text(token, params.get('expiration_timestamp') or '(not minted yet)'),
                                      is_our_credential, 'credential_path', force))
        else:
            # token mode: the kubeconfig holds the token itself; only a stale credential file goes
            changes.append(FileChange('kubeconfig', kubeconfig_path, kubeconfig_text(account, KUBECONFIG_MARK % username),
                                      kubeconfig_owner(username), 'kubeconfig_path', force))
            changes.append(FileChange('credential', credential_path, None, is_our_credential, 'credential_path'))
    elif kubeconfig_path:
        changes.append(FileChange('kubeconfig', kubeconfig_path, None, kubeconfig_owner(username), 'kubeconfig_path'))
        changes.append(FileChange('credential', credential_path, None, is_our_credential, 'credential_path'))
    if config_path:
        wanted = None
        if present:
            wanted = config_text(server_config(params['server'], os.path.abspath(kubeconfig_path)), owner)
        changes.append(FileChange('config', config_path, wanted, is_our_config, 'config_path', force))
    return changes, exec_file


def ensure(changes, check_mode=False):
    """Check every change first (nothing is written when one file is not ours), then apply."""
    for change in changes:
        change.check()
    changed = any(change.changed for change in changes)
    if not check_mode:
        for change in changes:
            change.apply()
    return changed
