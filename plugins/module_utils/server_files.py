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
CONFIG_MARK_PREFIX = '# Written by mcp.k8s '
MODE = 0o600
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


def kubeconfig_text(kubeconfig):
    return yaml.safe_dump(kubeconfig, default_flow_style=False, sort_keys=False)


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
    """One file: what it holds, what it should hold, and whether it is ours to change."""

    def __init__(self, label, path, wanted, is_ours, option):
        self.label = label      # 'kubeconfig', 'credential' or 'config'
        self.path = path
        self.wanted = wanted    # text, or None to remove the file
        self.is_ours = is_ours
        self.option = option    # the option naming the path, for messages
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
        if self.wanted is not None and self.foreign:
            raise K8sTokenError('%s exists and was not written by mcp.k8s; move it away or set %s to another path.'
                                % (self.path, self.option))

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


def plan(params, token_kubeconfig, username, check_mode=False):
    """The FileChanges for module params (see the server_files module); ``token_kubeconfig``
    (a kubeconfig dict with an empty token) is needed only with state=present. In check mode a
    token that is not minted yet is allowed: its credential file counts as changed."""
    present = params['state'] == 'present'
    kubeconfig_path = params.get('kubeconfig_path') or ''
    config_path = params.get('config_path') or ''
    mode = params.get('kubeconfig_credential') or 'exec'
    credential_path = params.get('credential_path') or (default_credential_path(kubeconfig_path) if kubeconfig_path else '')
    owner = username.split(':', 2)[-1].replace(':', '/')
    changes = []
    if present and config_path and not kubeconfig_path:
        raise K8sTokenError('config_path needs kubeconfig_path: the server config points at the account\'s kubeconfig.')
    if present and mode == 'exec' and kubeconfig_path:
        if (not params.get('token') or not params.get('expiration_timestamp')) and not check_mode:
            raise K8sTokenError('kubeconfig_credential=exec needs token and expiration_timestamp (from mcp.k8s.sa_token).')
    exec_file = None
    if kubeconfig_path:
        if present and mode == 'exec':
            exec_file = exec_kubeconfig(token_kubeconfig, os.path.abspath(credential_path), params['exec_command'])
            changes.append(FileChange('kubeconfig', kubeconfig_path, kubeconfig_text(exec_file),
                                      kubeconfig_owner(username), 'kubeconfig_path'))
            changes.append(FileChange('credential', credential_path,
                                      credential_text(params.get('token') or HIDDEN,
                                                      params.get('expiration_timestamp') or '(not minted yet)'),
                                      is_our_credential, 'credential_path'))
        elif present:
            # token mode: the kubeconfig holds the token itself; only a stale credential file goes
            changes.append(FileChange('credential', credential_path, None, is_our_credential, 'credential_path'))
        else:
            changes.append(FileChange('kubeconfig', kubeconfig_path, None, kubeconfig_owner(username), 'kubeconfig_path'))
            changes.append(FileChange('credential', credential_path, None, is_our_credential, 'credential_path'))
    if config_path:
        wanted = None
        if present:
            wanted = config_text(server_config(params['server'], os.path.abspath(kubeconfig_path)), owner)
        changes.append(FileChange('config', config_path, wanted, is_our_config, 'config_path'))
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
