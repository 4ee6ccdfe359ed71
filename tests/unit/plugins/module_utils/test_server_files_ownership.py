"""Which files server_files takes as its own, and which cluster they serve (issue 21 §5, issue 24 §1).

A file is ours only when it is what this collection writes for the account, byte for byte; each
records the cluster (API server URL, SHA-256 of its CA) it serves. 0.1.0 files (no record) are
the literal texts below, as that version wrote them."""
import base64
import datetime
import hashlib
import json
import os

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.mcp.k8s.plugins.module_utils import server_files
from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError

USER = 'system:serviceaccount:mcp:server'
OTHER = 'system:serviceaccount:mcp:other'
SERVER = {'host': '127.0.0.1', 'port': 8000, 'transport': 'sse', 'namespace': 'default', 'monitoring': {}}


def ca_pem(name):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


CA_EAST, CA_WEST = ca_pem('east'), ca_pem('west')


def entry(server, *pems):
    return {'server': server, 'certificate-authority-data': base64.b64encode(b''.join(pems)).decode('ascii')}


EAST = entry('https://127.0.0.1:6443', CA_EAST)
WEST = entry('https://127.0.0.1:7443', CA_WEST)
EAST_NEW_CA = entry('https://127.0.0.1:6443', CA_WEST)            # same address, another cluster
EAST_ROTATING = entry('https://127.0.0.1:6443/', CA_WEST, CA_EAST)   # CA rotation: old and new in the bundle


def jwt(sub):
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip('=')
    return '%s.%s.c2ln' % (part({'alg': 'RS256'}), part({'sub': sub, 'exp': 4102444800}))


def params(tmp_path, **overrides):
    values = {'state': 'present', 'token': jwt(USER), 'expiration_timestamp': '2030-01-01T00:00:00Z',
              'kubeconfig_path': str(tmp_path / 'kubeconfig'), 'kubeconfig_credential': 'exec',
              'credential_path': None, 'exec_command': '/bin/cat', 'config_path': str(tmp_path / 'config.yaml'),
              'server': dict(SERVER), 'namespace': 'mcp', 'force': False, 'move_cluster': False}
    values.update(overrides)
    return values


def run(tmp_path, cluster=None, username=USER, check_mode=False, **overrides):
    cluster = EAST if cluster is None else cluster
    changes, _written = server_files.plan(params(tmp_path, **overrides), cluster, username, check_mode=check_mode)
    return server_files.ensure(changes, check_mode=check_mode), changes


def texts(tmp_path):
    return {name: (tmp_path / name).read_text() for name in sorted(os.listdir(str(tmp_path)))
            if (tmp_path / name).is_file() and not (tmp_path / name).is_symlink()}


def refusal(tmp_path, **kwargs):
    before = texts(tmp_path)
    with pytest.raises(K8sTokenError) as info:
        run(tmp_path, **kwargs)
    assert texts(tmp_path) == before, 'a file changed although the run was refused'
    return info.value.message


# ------------------------------------------------------------------ 0.1.0 files, as that version wrote them
LEGACY_EXEC_KUBECONFIG = '''apiVersion: v1
kind: Config
clusters:
- name: 127.0.0.1:6443
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: {ca}
users:
- name: system:serviceaccount:mcp:server
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: /bin/cat
      args:
      - {dir}/kubeconfig.credential.json
      interactiveMode: Never
      provideClusterInfo: false
contexts:
- name: system:serviceaccount:mcp:server@127.0.0.1:6443
  context:
    cluster: 127.0.0.1:6443
    user: system:serviceaccount:mcp:server
    namespace: mcp
current-context: system:serviceaccount:mcp:server@127.0.0.1:6443
preferences: {{}}
'''
LEGACY_TOKEN_KUBECONFIG = '''# Written by mcp.k8s for system:serviceaccount:mcp:server: later runs reuse its token, state absent deletes it.
apiVersion: v1
kind: Config
clusters:
- name: 127.0.0.1:6443
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: {ca}
users:
- name: system:serviceaccount:mcp:server
  user:
    token: {token}
contexts:
- name: system:serviceaccount:mcp:server@127.0.0.1:6443
  context:
    cluster: 127.0.0.1:6443
    user: system:serviceaccount:mcp:server
    namespace: mcp
current-context: system:serviceaccount:mcp:server@127.0.0.1:6443
preferences: {{}}
'''
LEGACY_CREDENTIAL = '''{{
  "apiVersion": "client.authentication.k8s.io/v1",
  "kind": "ExecCredential",
  "spec": {{
    "interactive": false
  }},
  "status": {{
    "expirationTimestamp": "2030-01-01T00:00:00Z",
    "token": "{token}"
  }}
}}
'''
LEGACY_CONFIG = '''# Written by mcp.k8s for the ServiceAccount mcp/server; every run of the role rewrites it.
server:
  name: mcp-k8s-server
  transport: sse
  host: 127.0.0.1
  port: 8000
kubernetes:
  config_path: {dir}/kubeconfig
  namespace: default
'''


def write_legacy(tmp_path, token_mode=False, token=None):
    values = {'dir': str(tmp_path), 'ca': EAST['certificate-authority-data'], 'token': token or jwt(USER)}
    (tmp_path / 'kubeconfig').write_text((LEGACY_TOKEN_KUBECONFIG if token_mode else LEGACY_EXEC_KUBECONFIG).format(**values))
    if not token_mode:
        (tmp_path / 'kubeconfig.credential.json').write_text(LEGACY_CREDENTIAL.format(**values))
    (tmp_path / 'config.yaml').write_text(LEGACY_CONFIG.format(**values))


# ------------------------------------------------------------------ ownership, one row per decision
def written(tmp_path, username=USER, **overrides):
    """The three files as this version writes them for ``username``."""
    run(tmp_path, username=username, token=jwt(username), **overrides)
    return texts(tmp_path)


def ours_rows():
    rows = []

    def row(label, name, make, expected, account=None):
        rows.append(pytest.param(label, make, expected, account, id='%s-%s' % (label, name)))

    row('kubeconfig', 'exec-mode-ours', lambda t: written(t)['kubeconfig'], 'ours', USER)
    row('kubeconfig', 'token-mode-ours', lambda t: written(t, kubeconfig_credential='token')['kubeconfig'], 'ours', USER)
    row('kubeconfig', 'other-account', lambda t: written(t, OTHER)['kubeconfig'], 'other-account', OTHER)
    row('kubeconfig', 'legacy-exec', lambda t: (write_legacy(t), texts(t)['kubeconfig'])[1], 'ours', USER)
    row('kubeconfig', 'legacy-token', lambda t: (write_legacy(t, True), texts(t)['kubeconfig'])[1], 'ours', USER)
    row('kubeconfig', 'legacy-token-of-the-role', lambda t: (write_legacy(t, True), '# Written by the Ansible role '
        'mcp.k8s.mcp_k8s_server for %s\n' % USER + texts(t)['kubeconfig'].split('\n', 1)[1])[1], 'ours', USER)
    row('kubeconfig', 'legacy-token-other-first-line', lambda t: (write_legacy(t, True), '# Written by me\n'
        + texts(t)['kubeconfig'].split('\n', 1)[1])[1], 'foreign')

    def several_users(t):
        # ~/.kube/config with the admin and, beside it, a user of ours: not ours
        data = yaml.safe_load(written(t)['kubeconfig'])
        data['users'].append({'name': 'kubernetes-admin', 'user': {'client-key-data': 'a2V5'}})
        data['contexts'].append({'name': 'admin', 'context': {'cluster': data['clusters'][0]['name'],
                                                              'user': 'kubernetes-admin'}})
        data['clusters'].append(data['clusters'][0])
        return yaml.safe_dump(data)
    row('kubeconfig', 'several-users-one-ours', several_users, 'foreign')

    def ours_plus_a_line(t):
        return written(t)['kubeconfig'] + 'extensions: []\n'
    row('kubeconfig', 'edited-by-hand', ours_plus_a_line, 'foreign')

    def header_only(t):
        # our two comment lines over someone else's kubeconfig
        lines = written(t)['kubeconfig'].splitlines(True)
        return ''.join(lines[:2]) + 'apiVersion: v1\nkind: Config\nusers: [{name: %s, user: {token: x}}]\n' % USER
    row('kubeconfig', 'our-header-over-another', header_only, 'foreign')

    def record_of_another_cluster(t):
        lines = written(t)['kubeconfig'].splitlines(True)
        lines[1] = lines[1].replace('127.0.0.1:6443', '127.0.0.1:7443')
        return ''.join(lines)
    row('kubeconfig', 'record-disagrees-with-its-cluster', record_of_another_cluster, 'foreign')
    row('kubeconfig', 'comment-first', lambda t: '# Written by mcp.k8s\napiVersion: v1\nkind: Config\n', 'foreign')

    row('credential', 'ours', lambda t: written(t)['kubeconfig.credential.json'], 'ours', USER)
    row('credential', 'other-account', lambda t: written(t, OTHER)['kubeconfig.credential.json'], 'other-account', OTHER)
    row('credential', 'legacy', lambda t: LEGACY_CREDENTIAL.format(token=jwt(USER)), 'ours', USER)
    row('credential', 'legacy-other-account', lambda t: LEGACY_CREDENTIAL.format(token=jwt(OTHER)), 'other-account', OTHER)
    row('credential', 'legacy-opaque-token', lambda t: LEGACY_CREDENTIAL.format(token='not-a-jwt'), 'foreign')
    for version in ('client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1', 'other/v9'):
        row('credential', 'another-tool-' + version.rsplit('/', 1)[1], lambda t, v=version: json.dumps(
            {'apiVersion': v, 'kind': 'ExecCredential', 'status': {'token': jwt(USER)}}), 'foreign')
    row('credential', 'legacy-form-v1beta1', lambda t: LEGACY_CREDENTIAL.format(token=jwt(USER)).replace(
        'k8s.io/v1"', 'k8s.io/v1beta1"'), 'foreign')
    row('credential', 'ours-with-a-field-more', lambda t: json.dumps(dict(
        json.loads(written(t)['kubeconfig.credential.json']), extra=1), indent=2, sort_keys=True) + '\n', 'foreign')

    row('config', 'ours', lambda t: written(t)['config.yaml'], 'ours', USER)
    row('config', 'other-account', lambda t: written(t, OTHER)['config.yaml'], 'other-account', OTHER)
    row('config', 'legacy', lambda t: LEGACY_CONFIG.format(dir=t), 'ours', USER)
    row('config', 'our-first-line-over-another', lambda t: LEGACY_CONFIG.splitlines()[0] + '\nserver: {port: 1}\n',
        'foreign')
    row('config', 'any-comment-first', lambda t: '# my settings\n' + LEGACY_CONFIG.format(dir=t).split('\n', 1)[1],
        'foreign')
    row('config', 'no-comment', lambda t: LEGACY_CONFIG.format(dir=t).split('\n', 1)[1], 'foreign')
    return rows


@pytest.mark.parametrize('label, make, expected, account', ours_rows())
def test_ownership(tmp_path, label, make, expected, account):
    folder = tmp_path / 'files'
    folder.mkdir()
    text = make(folder)
    owner = server_files.ownership(label, text, USER)
    assert (owner.status, owner.account) == (expected, account), text


def test_records_name_the_cluster_and_account(tmp_path):
    files = written(tmp_path)
    fingerprint = 'sha256:' + hashlib.sha256(base64.b64decode(
        ''.join(CA_EAST.decode().splitlines()[1:-1]))).hexdigest()
    record = {'account': USER, 'ca': [fingerprint], 'server': 'https://127.0.0.1:6443'}
    assert files['kubeconfig'].splitlines()[:2] == [
        '# Written by mcp.k8s for %s: later runs reuse its token, state absent deletes it.' % USER,
        '# mcp.k8s: ' + json.dumps(record, sort_keys=True)]
    assert json.loads(files['kubeconfig.credential.json'])['mcp.k8s'] == record
    assert files['config.yaml'].splitlines()[1] == '# mcp.k8s: ' + json.dumps(record, sort_keys=True)
    for name in files:
        assert server_files.ownership({'kubeconfig': 'kubeconfig', 'config.yaml': 'config'}.get(
            name, 'credential'), files[name], USER).record == record
    # the stored token is read back through the new forms
    assert server_files.stored_token(str(tmp_path / 'kubeconfig')) == jwt(USER)


@pytest.mark.parametrize('here, same', [(EAST, True), (EAST_ROTATING, True), (dict(EAST, server='https://127.0.0.1:6443/'), True),
                                        (WEST, False), (EAST_NEW_CA, False),
                                        ({'server': 'https://127.0.0.1:6443', 'insecure-skip-tls-verify': True}, True),
                                        ({'server': 'https://127.0.0.1:7443', 'insecure-skip-tls-verify': True}, False)])
def test_same_cluster(here, same):
    assert server_files.same_cluster(server_files.cluster_record(EAST, USER), server_files.cluster_record(here, USER)) is same


# ------------------------------------------------------------------ what state=present and absent do with them
def test_absent_keeps_another_tools_credential_and_another_accounts_config(tmp_path):
    (tmp_path / 'x').mkdir()
    other = written(tmp_path / 'x', OTHER)
    tmp_path = tmp_path / 'files'
    tmp_path.mkdir()
    tool = json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', 'kind': 'ExecCredential',
                       'status': {'token': 'aws-token', 'expirationTimestamp': '2030-01-01T00:00:00Z'}})
    (tmp_path / 'kubeconfig.credential.json').write_text(tool)
    (tmp_path / 'config.yaml').write_text(other['config.yaml'])
    changed, changes = run(tmp_path, state='absent')
    assert changed is False
    assert [change.report().get('reason') for change in changes] == [
        None, 'not written by mcp.k8s', 'written by mcp.k8s for %s' % OTHER]
    assert (tmp_path / 'kubeconfig.credential.json').read_text() == tool
    assert refusal(tmp_path) == ('%s exists and was not written by mcp.k8s; move it away, set credential_path to another '
                                 'path, or set force=true to replace it.' % (tmp_path / 'kubeconfig.credential.json'))
    (tmp_path / 'kubeconfig.credential.json').unlink()
    assert refusal(tmp_path) == ('%s exists and was written by mcp.k8s for %s, not for %s; move it away, set config_path '
                                 'to another path, or set force=true to replace it.' % (tmp_path / 'config.yaml', OTHER, USER))


def test_absent_keeps_a_kubeconfig_with_several_users(tmp_path):
    run(tmp_path)
    data = yaml.safe_load((tmp_path / 'kubeconfig').read_text())
    data['users'].append({'name': 'kubernetes-admin', 'user': {'token': 'admin'}})
    (tmp_path / 'kubeconfig').write_text(yaml.safe_dump(data))
    changed, changes = run(tmp_path, state='absent')
    assert changed and (tmp_path / 'kubeconfig').exists()
    assert [c.report() for c in changes][0]['reason'] == 'not written by mcp.k8s'
    assert not (tmp_path / 'config.yaml').exists() and not (tmp_path / 'kubeconfig.credential.json').exists()


@pytest.mark.parametrize('option, value, message', [
    ('credential_path', '{dir}/kubeconfig', 'credential_path and kubeconfig_path name the same file, {dir}/kubeconfig'),
    ('config_path', '{dir}/kubeconfig', 'config_path and kubeconfig_path name the same file, {dir}/kubeconfig'),
    ('config_path', '{dir}/kubeconfig.credential.json',
     'config_path and credential_path name the same file, {dir}/kubeconfig.credential.json'),
    ('credential_path', '{dir}/link', 'credential_path and kubeconfig_path name the same file, {dir}/kubeconfig'),
    ('credential_path', '{dir}/sub/../kubeconfig', 'credential_path and kubeconfig_path name the same file, {dir}/kubeconfig'),
    ('config_path', '{dir}/hardlink', 'config_path and kubeconfig_path name the same file, {dir}/kubeconfig'),
])
@pytest.mark.parametrize('state', ['present', 'absent'])
def test_two_options_naming_one_file_are_refused(tmp_path, option, value, message, state):
    (tmp_path / 'sub').mkdir()
    (tmp_path / 'kubeconfig').write_text('apiVersion: v1\nkind: Config\n')
    os.symlink(str(tmp_path / 'kubeconfig'), str(tmp_path / 'link'))
    os.link(str(tmp_path / 'kubeconfig'), str(tmp_path / 'hardlink'))
    assert refusal(tmp_path, state=state, **{option: value.format(dir=tmp_path)}) == (
        message.format(dir=tmp_path) + ', which would hold both; set %s to another path.' % option)


def test_a_run_against_another_cluster_is_refused_until_moved_on_purpose(tmp_path):
    run(tmp_path)
    east = texts(tmp_path)
    message = refusal(tmp_path, cluster=WEST)
    east_id = 'https://127.0.0.1:6443 (CA %s…)' % server_files.ca_fingerprints(EAST)[0][:23]
    west_id = 'https://127.0.0.1:7443 (CA %s…)' % server_files.ca_fingerprints(WEST)[0][:23]
    assert message == (
        '%s serves %s on the cluster at %s, but this run is against the cluster at %s; check the kubeconfig and context '
        'this run uses, or set move_cluster to true to point the files at https://127.0.0.1:7443 (the account and its '
        'rights stay on https://127.0.0.1:6443 until a deprovision there).' % (tmp_path / 'kubeconfig', USER, east_id, west_id))
    assert 'the cluster at https://127.0.0.1:6443 (CA' in refusal(tmp_path, cluster=EAST_NEW_CA)
    assert refusal(tmp_path, cluster=WEST, check_mode=True) == message          # the role's check before any change
    assert run(tmp_path, cluster=EAST_ROTATING)[0] is True                      # the same cluster, its CA rotating
    changed, _changes = run(tmp_path, cluster=WEST, move_cluster=True)
    assert changed and texts(tmp_path) != east
    assert yaml.safe_load((tmp_path / 'kubeconfig').read_text())['clusters'][0]['cluster'] == WEST
    assert json.loads((tmp_path / 'kubeconfig.credential.json').read_text())['mcp.k8s']['server'] == 'https://127.0.0.1:7443'
    assert run(tmp_path, cluster=WEST)[0] is False


def test_absent_against_another_cluster_keeps_the_files_and_says_why(tmp_path):
    run(tmp_path)
    before = texts(tmp_path)
    changed, changes = run(tmp_path, state='absent', cluster=WEST)
    assert changed is False and texts(tmp_path) == before
    reasons = {change.label: change.report()['reason'] for change in changes}
    assert reasons['kubeconfig'] == (
        'written for the cluster at %s, not this one at %s: run the deprovision against that cluster to remove it'
        % (server_files.describe_cluster(server_files.cluster_record(EAST, USER)),
           server_files.describe_cluster(server_files.cluster_record(WEST, USER))))
    assert set(reasons.values()) == {reasons['kubeconfig']}
    assert run(tmp_path, state='absent', cluster=WEST, move_cluster=True)[0] is False   # move only repoints, never deletes
    assert run(tmp_path, state='absent', cluster=EAST)[0] is True and texts(tmp_path) == {}


def test_legacy_files_are_read_and_upgraded_on_the_same_cluster_only(tmp_path):
    write_legacy(tmp_path)
    assert server_files.stored_token(str(tmp_path / 'kubeconfig')) == jwt(USER)
    # their cluster is the legacy kubeconfig's: another one is refused, for every file of the set
    assert refusal(tmp_path, cluster=WEST).startswith('%s serves %s on the cluster at https://127.0.0.1:6443'
                                                      % (tmp_path / 'kubeconfig', USER))
    changed, _changes = run(tmp_path)
    assert changed
    files = texts(tmp_path)
    assert files['kubeconfig'].splitlines()[1].startswith('# mcp.k8s: ')
    assert 'mcp.k8s' in json.loads(files['kubeconfig.credential.json'])
    assert files['config.yaml'].splitlines()[1].startswith('# mcp.k8s: ')
    assert run(tmp_path)[0] is False


def test_legacy_token_kubeconfig_is_upgraded_and_removed(tmp_path):
    write_legacy(tmp_path, token_mode=True)
    assert run(tmp_path, kubeconfig_credential='token')[0] is True
    assert (tmp_path / 'kubeconfig').read_text().splitlines()[1].startswith('# mcp.k8s: ')
    write_legacy(tmp_path, token_mode=True)
    changed, changes = run(tmp_path, state='absent', cluster=WEST)
    assert not changed and 'written for the cluster at https://127.0.0.1:6443' in changes[0].report()['reason']
    assert run(tmp_path, state='absent', cluster=EAST)[0] is True and texts(tmp_path) == {}


def test_legacy_files_without_any_cluster_record_are_removed(tmp_path):
    """A 0.1.0 credential and config alone record no cluster: nothing to compare, and the cluster
    is not even asked for."""
    write_legacy(tmp_path)
    (tmp_path / 'kubeconfig').unlink()
    asked = []
    changes, _written = server_files.plan(params(tmp_path, state='absent'), lambda: asked.append(1) or WEST, USER)
    assert server_files.ensure(changes) is True and texts(tmp_path) == {} and asked == []


def test_the_cluster_is_asked_for_only_when_a_file_records_one(tmp_path):
    asked = []

    def cluster():
        asked.append(1)
        return EAST
    changes, _written = server_files.plan(params(tmp_path), cluster, USER, check_mode=True)
    assert server_files.ensure(changes, check_mode=True) and asked == []       # no file yet: nothing to compare
    run(tmp_path)
    changes, _written = server_files.plan(params(tmp_path, state='absent'), cluster, USER)
    assert server_files.ensure(changes) and asked == [1]


def test_check_mode_over_files_of_this_cluster_changes_nothing(tmp_path):
    # a check run after a real one: the cluster is asked for (the kubeconfig is there to compare
    # with), so the planned files are those already written and nothing counts as changed
    run(tmp_path)
    asked = []

    def cluster():
        asked.append(1)
        return EAST
    changes, _written = server_files.plan(params(tmp_path), cluster, USER, check_mode=True)
    assert asked and not server_files.ensure(changes, check_mode=True)
