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
and only over a file this collection wrote for the same account (or no file): anything else is
left alone. Each file records the cluster (API server URL, SHA-256 of its CA) and the account it
serves; a run against another cluster does not repoint them unless told to (``move_cluster``),
and state=absent keeps those of another cluster.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy
import hashlib
import json
import os
import re
import ssl
import tempfile
from urllib.parse import urlparse

try:
    import yaml   # PyYAML: a requirement of ansible-core
    HAS_YAML = True
except ImportError:  # only where ansible-core is not installed whole (the sanity import test)
    HAS_YAML = False

from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError
from ansible_collections.mcp.k8s.plugins.module_utils import option_names
from ansible_collections.mcp.k8s.plugins.module_utils.handoff import token_kubeconfig  # noqa: F401 (also server_files.token_kubeconfig)

EXEC_API_VERSION = 'client.authentication.k8s.io/v1'
HIDDEN = '(token hidden)'
CONFIG_MARK = '# Written by mcp.k8s for the ServiceAccount %s; every run of the role rewrites it.'
KUBECONFIG_MARK = '# Written by mcp.k8s for %s: later runs reuse its token, state absent deletes it.'
# the first line of a token-mode kubeconfig the role wrote before this module existed
ROLE_KUBECONFIG_MARK = '# Written by the Ansible role mcp.k8s.mcp_k8s_server for %s'
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


def credential_text(token, expiration_timestamp, record=None):
    """The credential file: the ExecCredential, with the cluster and account it serves under the
    key ``mcp.k8s`` (clients ignore fields they do not know; without ``record``, the 0.1.0 form)."""
    data = exec_credential(token, expiration_timestamp)
    if record is not None:
        data[RECORD_KEY] = record
    return json.dumps(data, indent=2, sort_keys=True) + '\n'


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


def kubeconfig_text(kubeconfig, header=''):
    return header + yaml.safe_dump(kubeconfig, default_flow_style=False, sort_keys=False)


def kubeconfig_header(record):
    """The comment lines a kubeconfig this collection writes starts with: for whom, and the record
    of its cluster and account."""
    return KUBECONFIG_MARK % record['account'] + '\n' + _record_line(record)


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


def config_text(config, record):
    owner = record['account'].split(':', 2)[-1].replace(':', '/')
    return (CONFIG_MARK % owner + '\n' + _record_line(record)
            + yaml.safe_dump(config, default_flow_style=False, sort_keys=False))


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
# A file is ours when it is, byte for byte, what this collection writes for the account it
# names: rebuilt from its own content, it must come out the same. So a kubeconfig with several
# users (such as ~/.kube/config), another tool's ExecCredential, a config that only starts with
# a comment, or a file edited by hand are not ours. Each file also records the cluster it serves
# (its API server URL and the SHA-256 of its CA certificates: cluster_record); files written
# before that record existed (0.1.0) are still recognised, in the exact form they had.
RECORD_KEY = 'mcp.k8s'
RECORD_PREFIX = '# mcp.k8s: '
_CONFIG_MARK_RE = re.compile(r'# Written by mcp\.k8s for the ServiceAccount ([^/\s]+)/(\S+); every run of the role rewrites it\.\Z')
_PEM_CERT_RE = re.compile(r'-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----')


def _server_url(server):
    """The API server URL as the records keep it: scheme and host lower case, no default port,
    no trailing slash."""
    parsed = urlparse((server or '').strip())
    if not parsed.scheme or not parsed.netloc:
        return (server or '').strip().rstrip('/')
    netloc = parsed.netloc.lower()
    if parsed.scheme.lower() == 'https' and netloc.endswith(':443'):
        netloc = netloc[:-4]
    return '%s://%s%s' % (parsed.scheme.lower(), netloc, parsed.path.rstrip('/'))


def _ca_bytes(cluster):
    if cluster.get('certificate-authority-data'):
        try:
            return base64.b64decode(cluster['certificate-authority-data'])
        except (TypeError, ValueError):
            return str(cluster['certificate-authority-data']).encode('utf-8')
    if cluster.get('certificate-authority'):
        try:
            with open(os.path.expanduser(str(cluster['certificate-authority'])), 'rb') as handle:
                return handle.read(MAX_STORED_SIZE)
        except (IOError, OSError):
            return None
    return None


def ca_fingerprints(cluster):
    """``sha256:HEX`` of each certificate (DER) of the cluster entry's CA, sorted; empty without a
    CA (system trust, or insecure-skip-tls-verify)."""
    if not isinstance(cluster, dict) or cluster.get('insecure-skip-tls-verify'):
        return []
    data = _ca_bytes(cluster)
    if not data:
        return []
    text = data.decode('ascii', 'replace')
    found = set()
    for block in _PEM_CERT_RE.findall(text):
        try:
            found.add('sha256:' + hashlib.sha256(ssl.PEM_cert_to_DER_cert(block)).hexdigest())
        except ValueError:
            continue
    return sorted(found) or ['sha256:' + hashlib.sha256(data).hexdigest()]


def cluster_record(cluster, username):
    """What the files record of the cluster and the account they serve."""
    cluster = cluster if isinstance(cluster, dict) else {}
    return {'account': username, 'server': _server_url(cluster.get('server')), 'ca': ca_fingerprints(cluster)}


def _valid_record(record):
    return (isinstance(record, dict) and set(record) == {'account', 'server', 'ca'}
            and isinstance(record['account'], str) and isinstance(record['server'], str)
            and isinstance(record['ca'], list) and all(isinstance(item, str) for item in record['ca']))


def same_cluster(recorded, here):
    """Whether a file recorded for ``recorded`` serves the cluster of ``here`` (both records): the
    same API server URL, and a CA certificate in common when both name one."""
    if recorded['server'] != here['server']:
        return False
    return not recorded['ca'] or not here['ca'] or bool(set(recorded['ca']) & set(here['ca']))


def describe_cluster(record):
    """``https://host:port (CA sha256:0123456789abcdef…)``, for messages."""
    if record.get('ca'):
        return '%s (CA %s…)' % (record['server'], record['ca'][0][:len('sha256:') + 16])
    return '%s (no CA recorded)' % record['server']


def _record_line(record):
    return RECORD_PREFIX + json.dumps(record, sort_keys=True) + '\n'


def _token_subject(token):
    """The ``sub`` claim of a JWT, unverified (which account a 0.1.0 credential file served)."""
    try:
        payload = token.split('.')[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4)))
    except (AttributeError, IndexError, TypeError, ValueError):
        return None
    return claims.get('sub') if isinstance(claims, dict) and isinstance(claims.get('sub'), str) else None


def _kubeconfig_owner(text):
    """(account, record) of a kubeconfig this collection wrote, else None. The record is the one
    its header names, which is that of its own cluster entry; a 0.1.0 kubeconfig has no header,
    and its cluster entry gives the record."""
    try:
        data = yaml.safe_load(text)
        if not isinstance(data, dict) or data.get('kind') != 'Config':
            return None
        users, clusters, contexts = data['users'], data['clusters'], data['contexts']
        if not (len(users) == len(clusters) == len(contexts) == 1):
            return None
        account, user, cluster = users[0]['name'], users[0]['user'], clusters[0]['cluster']
        namespace = contexts[0]['context'].get('namespace')
        if not isinstance(account, str) or not isinstance(cluster, dict) or not isinstance(user, dict):
            return None
        if set(user) == {'token'}:
            rebuilt = token_kubeconfig(cluster, user['token'], namespace, account)
        elif set(user) == {'exec'}:
            plugin = user['exec']
            rebuilt = exec_kubeconfig(token_kubeconfig(cluster, '', namespace, account), plugin['args'][0], plugin['command'])
        else:
            return None
        body = kubeconfig_text(rebuilt)
    except (AttributeError, IndexError, KeyError, TypeError, yaml.YAMLError):
        return None
    record = cluster_record(cluster, account)
    forms = [kubeconfig_header(record) + body]
    if 'token' in user:     # 0.1.0, and the role before this module wrote its files
        forms.extend(mark % account + '\n' + body for mark in (KUBECONFIG_MARK, ROLE_KUBECONFIG_MARK))
    else:
        forms.append(body)  # 0.1.0
    return (account, record) if text in forms else None


def _credential_owner(text):
    """(account, record) of an ExecCredential file this collection wrote, else None; a 0.1.0 file
    has no record and names its account only in its token."""
    try:
        data = json.loads(text)
        token, expires = data['status']['token'], data['status']['expirationTimestamp']
    except (KeyError, TypeError, ValueError):
        return None
    if not isinstance(token, str) or not isinstance(expires, str):
        return None
    if RECORD_KEY in data:
        record = data[RECORD_KEY]
        if _valid_record(record) and text == credential_text(token, expires, record):
            return record['account'], record
        return None
    if text == credential_text(token, expires):
        account = _token_subject(token)
        return (account, None) if account else None
    return None


def _config_owner(text):
    """(account, record) of an mcp-k8s-server config this collection wrote, else None (the record
    is None for a 0.1.0 file)."""
    first, _newline, rest = text.partition('\n')
    match = _CONFIG_MARK_RE.match(first)
    if not match:
        return None
    account = 'system:serviceaccount:%s:%s' % match.groups()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get('server'), dict) or not isinstance(data.get('kubernetes'), dict):
        return None
    body = yaml.safe_dump(data, default_flow_style=False, sort_keys=False)
    if rest.startswith(RECORD_PREFIX):
        try:
            record = json.loads(rest.partition('\n')[0][len(RECORD_PREFIX):])
        except ValueError:
            return None
        if _valid_record(record) and record['account'] == account and text == first + '\n' + _record_line(record) + body:
            return account, record
        return None
    return (account, None) if text == first + '\n' + body else None


OWNERS = {'kubeconfig': _kubeconfig_owner, 'credential': _credential_owner, 'config': _config_owner}


class Ownership:
    """Whose a file is: ``missing``, ``foreign`` (not written by this collection), ``other-account``
    (written by it for another account) or ``ours``; with the account and the cluster record."""

    def __init__(self, status, account=None, record=None):
        self.status = status
        self.account = account
        self.record = record

    def __repr__(self):
        return 'Ownership(%r, %r, %r)' % (self.status, self.account, self.record)


def ownership(label, text, username):
    """The Ownership of the text of the ``label`` file (kubeconfig, credential, config) for the
    account ``username``."""
    if text is None:
        return Ownership('missing')
    found = OWNERS[label](text)
    if found is None:
        return Ownership('foreign')
    account, record = found
    return Ownership('ours' if account == username else 'other-account', account, record)


def is_our_credential(text, username):
    return ownership('credential', text, username).status == 'ours'


def is_our_config(text, username):
    return ownership('config', text, username).status == 'ours'


def is_our_kubeconfig(text, username):
    return ownership('kubeconfig', text, username).status == 'ours'


def _credential_token(text):
    """The token of an ExecCredential (client.authentication.k8s.io/v1) text, any writer."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get('apiVersion') != EXEC_API_VERSION or data.get('kind') != 'ExecCredential':
        return None
    status = data.get('status')
    return status.get('token') if isinstance(status, dict) else None


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
    token = _credential_token(text)
    if token is None:
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
    """One file: what it holds, what it should hold, and whether it is ours to change.

    ``force`` replaces a file this collection did not write (removing one is never allowed);
    ``move`` rewrites files recorded for another cluster. ``here`` (the record of this run's
    cluster, None when not known) and ``record`` (the cluster the file serves: its own record,
    else that of the other files of the set) are set by :func:`plan`."""

    def __init__(self, label, path, wanted, username, option, force=False, move=False, names=None):
        self.label = label      # 'kubeconfig', 'credential' or 'config'
        self.path = path
        self.wanted = wanted    # text, or None to remove the file
        self.username = username
        self.option = option    # the option naming the path, for messages
        self.names = names      # option_names: what messages call the options
        self.force = force
        self.move = move
        self.current, self.mode = read(path)
        self.owner = ownership(label, self.current, username)
        self.record = self.owner.record
        self.here = None

    @property
    def ours(self):
        return self.owner.status == 'ours'

    @property
    def foreign(self):
        return self.owner.status in ('foreign', 'other-account')

    @property
    def elsewhere(self):
        """Ours, but recorded for another cluster than this run's."""
        return bool(self.ours and self.record and self.here and not same_cluster(self.record, self.here))

    @property
    def changed(self):
        if self.wanted is None:
            return self.ours and (not self.elsewhere or self.move)
        return self.current != self.wanted or self.mode != MODE

    def reason(self):
        """Why a file that exists is left alone (state=absent), or None."""
        if self.current is None or self.changed:
            return None
        if self.owner.status == 'foreign':
            return 'not written by mcp.k8s'
        if self.owner.status == 'other-account':
            return 'written by mcp.k8s for %s' % self.owner.account
        if self.elsewhere:
            return ('written for the cluster at %s, not this one at %s: run the deprovision against that cluster to '
                    'remove it' % (describe_cluster(self.record), describe_cluster(self.here)))
        return None

    def check(self):
        if self.wanted is None:
            return
        if self.foreign and not self.force:
            whose = ('was written by mcp.k8s for %s, not for %s' % (self.owner.account, self.username)
                     if self.owner.status == 'other-account' else 'was not written by mcp.k8s')
            raise K8sTokenError('%s exists and %s; move it away, set %s to another path, or set %s to replace it.'
                                % (self.path, whose, option_names.name(self.names, self.option),
                                   option_names.setting(self.names, 'force', 'true')))
        if self.elsewhere and not self.move:
            raise K8sTokenError(
                '%s serves %s on the cluster at %s, but this run is against the cluster at %s; check the kubeconfig and '
                'context this run uses, or set %s to true to point the files at %s (the account and its '
                'rights stay on %s until a deprovision there).'
                % (self.path, self.username, describe_cluster(self.record), describe_cluster(self.here),
                   option_names.name(self.names, 'move_cluster'), self.here['server'], self.record['server']))

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
        report = {'path': self.path, 'changed': self.changed, 'state': 'absent' if self.wanted is None else 'present'}
        reason = self.reason() if self.wanted is None else None
        if reason:
            report['reason'] = reason
        return report


def _same_file(first, second):
    if os.path.realpath(first) == os.path.realpath(second):
        return True
    try:
        return os.path.samefile(first, second)     # hard links
    except OSError:
        return False


def check_paths(paths, names=None):
    """Refuse two options naming one file: ``paths`` is [(option, path)] of the files in use;
    ``names`` what messages call the options (option_names)."""
    for index, (option, path) in enumerate(paths):
        for other, other_path in paths[index + 1:]:
            if path and other_path and _same_file(path, other_path):
                other, option = option_names.name(names, other), option_names.name(names, option)
                raise K8sTokenError('%s and %s name the same file, %s, which would hold both; set %s to another path.'
                                    % (other, option, path, other))


def plan(params, cluster, username, check_mode=False):
    """The FileChanges for module params (see the server_files module) and the exec kubeconfig
    dict (or None).

    ``cluster`` is the kubeconfig cluster entry (server, CA) of this run, or a function that returns
    it (or None when it cannot be known): it is needed with state=present and a kubeconfig_path,
    and otherwise only asked for when a file of ours records a cluster to compare with. In check
    mode a token that is not minted yet is allowed: the files that hold it count as changed."""
    present = params['state'] == 'present'
    kubeconfig_path = params.get('kubeconfig_path') or ''
    config_path = params.get('config_path') or ''
    mode = params.get('kubeconfig_credential') or 'exec'
    credential_path = params.get('credential_path') or (default_credential_path(kubeconfig_path) if kubeconfig_path else '')
    force = bool(params.get('force'))
    move = present and bool(params.get('move_cluster'))
    namespace = params.get('namespace') or 'default'
    names = option_names.of(params)
    changes = []
    if present and config_path and not kubeconfig_path:
        raise K8sTokenError('config_path needs kubeconfig_path: the server config points at the account\'s kubeconfig.')
    check_paths([(option, path) for option, path in (('kubeconfig_path', kubeconfig_path),
                                                     ('credential_path', credential_path if kubeconfig_path else ''),
                                                     ('config_path', config_path)) if path], names)
    if present and kubeconfig_path and not check_mode:
        if not params.get('token') or (mode == 'exec' and not params.get('expiration_timestamp')):
            raise K8sTokenError('kubeconfig_credential=%s needs token%s (from mcp.k8s.sa_token).'
                                % (mode, ' and expiration_timestamp' if mode == 'exec' else ''))
    # In check mode the cluster is asked for (no request: the connection's kubeconfig) only when
    # there is a kubeconfig to compare with: what would be written must match what is there.
    if callable(cluster) and present and kubeconfig_path and (not check_mode or os.path.lexists(kubeconfig_path)):
        cluster = cluster()
    exec_file = None
    known = cluster if isinstance(cluster, dict) and cluster.get('server') else None
    if kubeconfig_path and present and check_mode and not known:
        known = {'server': UNKNOWN_SERVER}     # nothing is written: the kubeconfig counts as changed
    if kubeconfig_path and present and not known:
        raise K8sTokenError('cluster needs the server of the kubeconfig, such as minted.kubeconfig.clusters[0].cluster '
                            'from mcp.k8s.sa_token ({server: https://..., certificate-authority-data: ...}).')
    record = cluster_record(known, username) if known else None
    if kubeconfig_path and present:
        token = params.get('token') or HIDDEN
        account = token_kubeconfig(known, token if mode == 'token' else '', namespace, username)
        if mode == 'exec':
            exec_file = exec_kubeconfig(account, os.path.abspath(credential_path), params['exec_command'])
            changes.append(FileChange('kubeconfig', kubeconfig_path, kubeconfig_text(exec_file, kubeconfig_header(record)),
                                      username, 'kubeconfig_path', force, move, names=names))
            changes.append(FileChange('credential', credential_path,
                                      credential_text(token, params.get('expiration_timestamp') or '(not minted yet)', record),
                                      username, 'credential_path', force, move, names=names))
        else:
            # token mode: the kubeconfig holds the token itself; only a stale credential file goes
            changes.append(FileChange('kubeconfig', kubeconfig_path, kubeconfig_text(account, kubeconfig_header(record)),
                                      username, 'kubeconfig_path', force, move, names=names))
            changes.append(FileChange('credential', credential_path, None, username, 'credential_path', move=move, names=names))
    elif kubeconfig_path:
        changes.append(FileChange('kubeconfig', kubeconfig_path, None, username, 'kubeconfig_path', names=names))
        changes.append(FileChange('credential', credential_path, None, username, 'credential_path', names=names))
    if config_path:
        wanted = None
        if present:
            wanted = config_text(server_config(params['server'], os.path.abspath(kubeconfig_path)),
                                 record or cluster_record({'server': UNKNOWN_SERVER}, username))
        changes.append(FileChange('config', config_path, wanted, username, 'config_path', force, move, names=names))
    _bind_to_cluster(changes, known if known and known['server'] != UNKNOWN_SERVER else cluster, username)
    return changes, exec_file


def _bind_to_cluster(changes, cluster, username):
    """Give each file of ours the cluster it serves (a 0.1.0 credential or config file has no
    record of its own: it serves the cluster of the files beside it) and this run's cluster,
    asked for only when there is something to compare."""
    records = [change.record for change in changes if change.ours and change.record]
    for change in changes:
        if change.ours and not change.record and records:
            change.record = records[0]
    if not records:
        return
    if callable(cluster):
        cluster = cluster()
    if isinstance(cluster, dict) and cluster.get('server'):
        here = cluster_record(cluster, username)
        for change in changes:
            change.here = here


def ensure(changes, check_mode=False):
    """Check every change first (nothing is written when one file is not ours), then apply."""
    for change in changes:
        change.check()
    changed = any(change.changed for change in changes)
    if not check_mode:
        for change in changes:
            change.apply()
    return changed


# ------------------------------------------------------------------ bare token files (playbook token.yml)
_JWT = re.compile(r'^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$')


def _writable_folder(path):
    """The first existing folder above ``path`` when it is a folder this process may write in, else None."""
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent
    return folder if os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK) else None


def token_file_status(path, username, option='token_file'):
    """Whether the bare token file at ``path`` may be (re)written for the account ``username``
    (``system:serviceaccount:NS:NAME``): ``'missing'`` (nothing there, its folder can be made or
    written) or ``'ours'`` (a regular file, not a symlink, holding only a JWT whose ``sub`` is
    ``username``: what the playbook wrote before). Anything else is refused with one sentence that
    names the file and what to do, and never contains the file's text."""
    if os.path.islink(path):
        raise K8sTokenError('%s %s is a symbolic link, which is never replaced; remove it or choose another path.'
                            % (option, path))
    if not os.path.lexists(path):
        if _writable_folder(path) is None:
            raise K8sTokenError('%s %s cannot be written: its folder cannot be created or written by this user; '
                                'choose another path.' % (option, path))
        return 'missing'
    if not os.path.isfile(path):
        raise K8sTokenError('%s %s exists and is not a regular file; choose another path.' % (option, path))
    if os.path.getsize(path) > MAX_STORED_SIZE:
        text = None
    else:
        text = (read(path)[0] or '').strip()
    if not text or not _JWT.match(text) or _token_subject(text) != username:
        raise K8sTokenError('%s %s exists and is not a token file of %s that mcp.k8s wrote, so it was not '
                            'replaced; remove it or choose another path.' % (option, path, username))
    if not os.access(path, os.W_OK) or _writable_folder(path) is None:
        raise K8sTokenError('%s %s cannot be written by this user; choose another path.' % (option, path))
    return 'ours'


def check_token_file(params, username):
    """Refuse a token_path the module may not write (see :func:`token_file_status`), before any file is written."""
    path = params.get('token_path') or ''
    if not path:
        return None
    check_paths([(option, params.get(option)) for option in ('token_path', 'kubeconfig_path', 'config_path')
                 if params.get(option)])
    return token_file_status(path, username, option='token_path')


def ensure_token_file(params, username, check_mode=False):
    """Write the bare token (0600, atomic) to token_path when it is missing or holds another token of
    the account; the report of that file, or None without token_path. In check mode a token not
    minted yet counts as a change."""
    path = params.get('token_path') or ''
    if not path:
        return None
    status = check_token_file(params, username)
    token = params.get('token')
    if params.get('state') == 'absent':
        changed = status == 'ours'
        if changed and not check_mode:
            try:
                os.unlink(path)
            except OSError as exc:
                raise K8sTokenError('Cannot remove %s: %s.' % (path, exc.strerror or exc))
        return {'path': path, 'changed': changed, 'state': 'absent', 'file': 'token'}
    if not token and not check_mode:
        raise K8sTokenError('token_path needs token (from mcp.k8s.sa_token).')
    current = (read(path)[0] or '').strip() if status == 'ours' else None
    changed = not token or current != token.strip()
    if changed and not check_mode:
        write_atomic(path, token.strip())
    return {'path': path, 'changed': changed, 'state': 'present', 'file': 'token'}
