"""The security contract, one row per rule (issue 21, section 6).

Each row states one rule the collection promises (ownership, token reuse, redaction, the files it
writes, the lookup's cache) and checks it through the public functions of module_utils (and the
verification.run for verify_only, sa_access's strategy), so the rows survive refactors
of the code behind them. The comment of each row names the one-line bug (mutant) it kills; every
such mutant was applied by hand once and seen to fail the row. The rows marked "(fixed)" failed on
the code before the server_files ownership fix (issue 21 section 5) and pass after it.

The second table is docs/bad-input.md where the decision is made in module_utils: the exact
sentence for each input, before any request.

`make mutation` (tests/mutation/run.py, docs/testing.md) runs these with the unit tests of each file.
"""
import json
import os
import stat

import pytest
import yaml

from ansible_collections.mcp.k8s.plugins.module_utils import (
    access, connection, durations, errors, rbac_checks, reviews, server_files, serviceaccounts, tokens, verification,
)
from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError
from ansible_collections.mcp.k8s.plugins.modules import sa_access
from ansible_collections.mcp.k8s.plugins.plugin_utils import token_batch
from ansible_collections.mcp.k8s.plugins.plugin_utils.token_cache import TokenCache

TOKEN_PATH = r'/serviceaccounts/[^/]+/token$'
USER = 'system:serviceaccount:mcp:server'
OTHER_USER = 'system:serviceaccount:mcp:other'
CLUSTER = {'server': 'https://127.0.0.1:1', 'certificate-authority-data': 'Q0E='}
RULES = [{'apiGroups': [''], 'resources': ['pods'], 'verbs': ['get', 'list']}]


def token_spec(**options):
    values = {'name': 'server', 'namespace': 'mcp'}
    values.update(options)
    return tokens.token_spec(values)


def account_spec(**params):
    values = {'name': 'app', 'namespace': 'mcp', 'rules': RULES}
    values.update(params)
    return access.access_spec(values)


def files_params(tmp_path, **overrides):
    values = {'state': 'present', 'token': 'secret-token-1', 'expiration_timestamp': '2030-01-01T00:00:00Z',
              'kubeconfig_path': str(tmp_path / 'kubeconfig'), 'kubeconfig_credential': 'exec',
              'credential_path': None, 'exec_command': '/bin/cat', 'config_path': None,
              'server': {'host': '127.0.0.1', 'port': 8000, 'transport': 'sse', 'namespace': 'default',
                         'monitoring': {}},
              'namespace': 'mcp', 'force': False}
    values.update(overrides)
    return values


def apply_files(tmp_path, check_mode=False, **overrides):
    changes, _written = server_files.plan(files_params(tmp_path, **overrides), CLUSTER, USER, check_mode=check_mode)
    server_files.ensure(changes, check_mode=check_mode)
    return changes


class Env:
    """What a row may use: the API server double (``kube``) with ServiceAccounts mcp/server,
    mcp/other and default/default, the core's client on it as admin (``cluster``), a factory of
    more doubles and a temporary folder. Fixtures are fetched only when a row asks for them."""

    def __init__(self, request):
        self._request = request

    def __getattr__(self, name):
        value = self._request.getfixturevalue({'kube': 'kube', 'cluster': 'cluster', 'tmp_path': 'tmp_path',
                                               'factory': 'kube_double_factory'}[name])
        setattr(self, name, value)
        return value


@pytest.fixture
def kube(kube_double, monkeypatch):
    for name in ('K8S_AUTH_KUBECONFIG', 'K8S_AUTH_CONTEXT', 'K8S_AUTH_HOST', 'K8S_AUTH_API_KEY', 'KUBECONFIG'):
        monkeypatch.delenv(name, raising=False)
    for name, namespace in (('server', 'mcp'), ('other', 'mcp'), ('default', 'default')):
        kube_double.create_service_account(name, namespace)
    kube_double.clear_requests()
    token_batch.forget_confirmed()
    return kube_double


@pytest.fixture
def cluster(kube):
    return connection.get_cluster({'kubeconfig': kube.kubeconfig_path})


# ------------------------------------------------------------------------------ token reuse

def reuse_needs_the_same_audiences(env):
    # kills: reusable() taking a token whose audiences are a superset of those asked
    # (set(info['audiences']) != set(spec.audiences) -> not set(info['audiences']) >= set(spec.audiences))
    wide = serviceaccounts.ensure_token(env.cluster, token_spec(audiences=['mcp', 'other-service']))
    assert serviceaccounts.reusable(wide['token'], token_spec(audiences=['mcp']), 0) == (False, 'other audiences')
    again = serviceaccounts.ensure_token(env.cluster, token_spec(audiences=['mcp']), token=wide['token'])
    assert again['reused'] is False and again['audiences'] == ['mcp']


def reuse_needs_the_same_bound_uid(env):
    # kills: reusable() ignoring bound_object.uid (dropping "or (bound['uid'] and bound['uid'] != have['uid'])")
    pod = env.kube.objects.create('pods', {'metadata': {'name': 'p'}, 'spec': {
        'serviceAccountName': 'server', 'containers': [{'name': 'c', 'image': 'busybox'}]}}, namespace='mcp')
    bound = serviceaccounts.ensure_token(env.cluster, token_spec(bound_object={'kind': 'Pod', 'name': 'p'}))
    assert bound['bound_object']['uid'] == pod['metadata']['uid']
    other_uid = token_spec(bound_object={'kind': 'Pod', 'name': 'p', 'uid': 'another-pod-uid'})
    assert serviceaccounts.reusable(bound['token'], other_uid, 0) == (False, 'another bound object')
    same_uid = token_spec(bound_object={'kind': 'Pod', 'name': 'p', 'uid': pod['metadata']['uid']})
    assert serviceaccounts.reusable(bound['token'], same_uid, 0) == (True, None)


def confirmed_tokens_are_per_cluster(env):
    # kills: token_batch._confirmed() handing over tokens confirmed on another cluster in the same task
    # (dropping "if identity == cluster.identity"): the token of cluster A is then reused on cluster B
    # without reading B's ServiceAccount.
    here_cluster = env.cluster     # first: the kube fixture starts a new task (forgets what was confirmed)
    other = env.factory()
    other.create_service_account('server', 'mcp')
    other_cluster = connection.get_cluster({'kubeconfig': other.kubeconfig_path})
    first = token_batch.tokens_for(other_cluster, [token_spec()], use_cache=False)[0]
    env.kube.clear_requests()
    here = token_batch.tokens_for(here_cluster, [token_spec()], use_cache=False, token=first['token'])[0]
    assert here['reused'] is False and here['token'] != first['token']
    assert env.kube.count('GET', r'/serviceaccounts/server$') == 1 and env.kube.count('POST', TOKEN_PATH) == 1


def self_subject_review_must_name_the_account(env):
    # kills: serviceaccounts._uid_by_token() taking the uid of a SelfSubjectReview that names another user
    # (dropping "if user.get('username') == spec.username")
    env.kube.grant('minter', ['create'], ['serviceaccounts/token'], namespace='mcp')
    minter = connection.get_cluster({'kubeconfig': env.kube.write_kubeconfig(user='minter')})
    first = serviceaccounts.ensure_token(minter, token_spec())

    def another_user(body):   # the server says the token is someone else's (with the claimed uid)
        body['status']['userInfo']['username'] = OTHER_USER
        return body
    env.kube.inject_fault(r'/selfsubjectreviews$', rewrite=another_user)
    again = serviceaccounts.ensure_token(minter, token_spec(), token=first['token'])
    assert again['reused'] is False and again['token'] != first['token']


def verify_only_refuses_another_account_connection(env):
    # kills: verification.run() checking the rights of whoever the connection is (dropping or inverting
    # "caller['username'] != spec['username']" before verify_only asks as the connection's user)
    other_token = env.kube.mint_token('other', 'mcp')
    params = dict((name, option.get('default')) for name, option in sa_access.argument_spec().items())
    params.update(name='server', namespace='mcp', rules=RULES, verify_only=True, verify_retries=0, verify_delay=0)

    def connect():
        return connection.get_cluster({'kubeconfig': env.kube.write_kubeconfig(token=other_token)})
    with pytest.raises(K8sTokenError) as info:
        verification.run(params, connect)
    assert info.value.message.startswith('The connection authenticates as %s, not as %s, so verify_only would check'
                                         % (OTHER_USER, USER))


# ------------------------------------------------------------------------------ redaction

def exec_plugin_token_is_redacted(env):
    # kills: the bare token of an exec plugin not registered as a secret: transport dropping
    # register_secret(credential.partition(' ')[2]) together with kubeconfig._strip_bearer dropping
    # register_secret(token) (either alone is covered by the other: two registrations, on purpose)
    token = env.kube.mint_token('server', 'mcp')       # minted by the double: nothing registered it yet
    credential = env.tmp_path / 'exec-credential.json'
    credential.write_text(server_files.credential_text(token, '2100-01-01T00:00:00Z'))
    config = yaml.safe_load(open(env.kube.kubeconfig_path).read())
    config['users'][0]['user'] = {'exec': {'apiVersion': 'client.authentication.k8s.io/v1', 'command': 'cat',
                                           'args': [str(credential)], 'interactiveMode': 'Never'}}
    assert token in errors.redact('the token %s' % token)   # not registered before the connection is used
    cluster = connection.get_cluster({'kubeconfig': config})
    assert reviews.whoami(cluster)['username'] == USER      # the exec plugin's token was sent
    assert errors.redact('the token %s' % token) == 'the token ' + errors.REDACTED
    assert token not in K8sTokenError('failed with %s' % token).message


def json_escaped_secret_is_redacted(env):
    # kills: errors.secret_forms() without the JSON-escaped form (dropping json.dumps(text)[1:-1])
    secret = 'pa"ss\\word-%s' % id(env)
    errors.register_secret(secret)
    shown = errors.redact(json.dumps({'password': secret}))
    assert json.dumps(secret)[1:-1] not in shown and errors.REDACTED in shown


def proxy_basic_auth_is_a_secret(env):
    # kills: connection.secret_values() skipping proxy headers (proxy_basic_auth), e.g. "key != 'user_agent'"
    # inverted or the proxy_headers loop dropped
    found = connection.secret_values({'proxy_headers': {'proxy_basic_auth': 'proxyuser:sekrit-proxy-pw',
                                                        'user_agent': 'mcp-k8s-agent'}})
    assert 'proxyuser:sekrit-proxy-pw' in found and 'mcp-k8s-agent' not in found


# ------------------------------------------------------------------------------ the files of a server

def kubeconfig_with_several_users_is_not_ours(env):
    # kills: _kubeconfig_owner() taking a kubeconfig whose users include ours among others (the
    # one-user test and the exact-form comparison dropped): state absent would delete ~/.kube/config
    path = env.tmp_path / 'kubeconfig'
    mine = server_files.token_kubeconfig(CLUSTER, 't', 'mcp', USER)
    mine['users'].append({'name': 'kubernetes-admin', 'user': {'token': 'admin-token'}})
    path.write_text(yaml.safe_dump(mine))
    apply_files(env.tmp_path, state='absent')
    assert path.exists()
    with pytest.raises(K8sTokenError, match='was not written by mcp.k8s'):
        apply_files(env.tmp_path)


def config_starting_with_a_comment_is_not_ours(env):
    # kills: _config_owner() taking a file whose first comment only starts like the collection's
    # mark (the mark's pattern not anchored to its end), the exact form of the rest being ours
    path = env.tmp_path / 'config.yaml'
    path.write_text('# my own mcp-k8s-server settings\nserver: {port: 9000}\n')
    record = server_files.cluster_record(CLUSTER, USER)
    lookalike = server_files.config_text({'server': {'port': 9000}, 'kubernetes': {'kubeconfig': '/tmp/k'}}, record)
    lookalike = lookalike.replace('every run of the role rewrites it.', 'my own edits follow, keep them.', 1)
    for text in ('# my own mcp-k8s-server settings\nserver: {port: 9000}\n', lookalike):
        path.write_text(text)
        apply_files(env.tmp_path, state='absent', config_path=str(path))
        assert path.read_text() == text
        with pytest.raises(K8sTokenError, match='was not written by mcp.k8s'):
            apply_files(env.tmp_path, config_path=str(path))


def exec_credential_of_another_api_version_is_not_ours(env):
    # kills: _credential_owner() taking an ExecCredential that is the collection's exact form but for
    # its apiVersion (the exact-form comparison dropped)
    path = env.tmp_path / 'kubeconfig.credential.json'
    record = server_files.cluster_record(CLUSTER, USER)
    ours = server_files.credential_text('another-tools-token', '2030-01-01T00:00:00Z', record)
    for text in (json.dumps({'apiVersion': 'client.authentication.k8s.io/v1beta1', 'kind': 'ExecCredential',
                             'status': {'token': 'another-tools-token'}}),
                 ours.replace(server_files.EXEC_API_VERSION, 'client.authentication.k8s.io/v1beta1')):
        path.write_text(text)
        apply_files(env.tmp_path, state='absent')
        assert path.read_text() == text
        with pytest.raises(K8sTokenError, match='was not written by mcp.k8s'):
            apply_files(env.tmp_path)


def token_mode_diff_shows_no_token(env):
    # kills: the previous, still-valid token shown by --diff of a token-mode rotation (redact() not
    # hiding a kubeconfig user's token, or FileChange.diff() not redacting "before")
    apply_files(env.tmp_path, kubeconfig_credential='token', token='old-still-valid-token')
    changes, _written = server_files.plan(files_params(env.tmp_path, kubeconfig_credential='token',
                                                       token='new-token-value'), CLUSTER, USER)
    diffs = [change.diff() for change in changes]
    text = json.dumps(diffs)
    assert 'old-still-valid-token' not in text and 'new-token-value' not in text
    assert server_files.HIDDEN in diffs[0]['before'] and server_files.HIDDEN in diffs[0]['after']


def missing_folder_is_created_private(env):
    # kills: write_atomic() creating a missing folder 0755 (os.makedirs(folder, mode=0o700) -> 0o755)
    folder = env.tmp_path / 'new' / 'servers'
    old = os.umask(0o022)
    try:
        apply_files(env.tmp_path, kubeconfig_path=str(folder / 'kubeconfig'))
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(str(folder)).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(str(folder / 'kubeconfig')).st_mode) == 0o600


def absent_leaves_another_tools_exec_credential(env):
    # section 5 (fixed): state absent deleted an ExecCredential file that another tool wrote (nothing of ours points at it)
    path = env.tmp_path / 'kubeconfig.credential.json'
    path.write_text(json.dumps(server_files.exec_credential('another-tools-token', '2100-01-01T00:00:00Z')))
    apply_files(env.tmp_path, state='absent')
    assert path.exists()


def absent_leaves_a_config_written_for_another_account(env):
    # section 5 (fixed): state absent deleted the server config written for another ServiceAccount
    path = env.tmp_path / 'config.yaml'
    path.write_text(server_files.config_text({'server': {'port': 1}}, server_files.cluster_record(
        CLUSTER, 'system:serviceaccount:team:other')))
    apply_files(env.tmp_path, state='absent', config_path=str(path))
    assert path.exists()


def present_refuses_a_config_written_for_another_account(env):
    # section 5 (fixed): state present overwrote, without force, the config written for another ServiceAccount
    path = env.tmp_path / 'config.yaml'
    path.write_text(server_files.config_text({'server': {'port': 1}}, server_files.cluster_record(
        CLUSTER, 'system:serviceaccount:team:other')))
    with pytest.raises(K8sTokenError):
        apply_files(env.tmp_path, config_path=str(path))
    assert 'team/other' in path.read_text()


def credential_path_equal_to_kubeconfig_path_is_refused(env):
    # section 5 (fixed): credential_path equal to kubeconfig_path was accepted and overwrites the kubeconfig
    path = str(env.tmp_path / 'kubeconfig')
    with pytest.raises(K8sTokenError):
        server_files.plan(files_params(env.tmp_path, credential_path=path), CLUSTER, USER)


def config_path_equal_to_kubeconfig_path_is_refused(env):
    # section 5 (fixed): config_path equal to kubeconfig_path was accepted and overwrites the kubeconfig
    path = str(env.tmp_path / 'kubeconfig')
    with pytest.raises(K8sTokenError):
        server_files.plan(files_params(env.tmp_path, config_path=path), CLUSTER, USER)


# ------------------------------------------------------------------------------ ownership of cluster objects

def delete_namespace_only_for_its_own_account(env):
    # kills: ensure_absent() deleting a namespace created for another account
    # (created_by == spec['owner'] -> created_by, or the test dropped)
    env.kube.objects.create('namespaces', {'metadata': {'name': 'shared', 'annotations': {
        access.CREATED_ANNOTATION: 'team/other'}}})
    result = access.ensure_absent(env.cluster, account_spec(namespace='shared', state='absent', delete_namespace=True))
    assert env.kube.objects.find('namespaces', 'shared') is not None
    assert result['removed'] == [] and env.kube.count('DELETE') == 0
    assert [(a['kind'], a['name']) for a in result['left_alone']] == [('Namespace', 'shared')]


def delete_namespace_only_when_it_holds_nothing_else(env):
    # kills: ensure_absent() deleting its own namespace while it holds an object this run did not make
    access.ensure_present(env.cluster, account_spec(namespace='own', create_namespace=True))
    env.kube.objects.create('configmaps', {'metadata': {'name': 'precious'}, 'data': {}}, 'own')
    result = access.ensure_absent(env.cluster, account_spec(namespace='own', state='absent', delete_namespace=True))
    assert env.kube.objects.find('configmaps', 'precious', 'own') is not None
    assert env.kube.count('DELETE', r'/namespaces/own$') == 0
    assert [(a['kind'], a['name'], a['reason']) for a in result['left_alone']] == [
        ('Namespace', 'own', 'it holds ConfigMap precious, which this run did not make')]


def delete_namespace_only_when_everything_in_it_was_listed(env):
    # kills: ensure_absent() deleting its own namespace when a list of one kind in it was refused
    access.ensure_present(env.cluster, account_spec(namespace='own', create_namespace=True))
    env.kube.inject_fault(r'/namespaces/own/secrets$', status=403, method='GET')
    result = access.ensure_absent(env.cluster, account_spec(namespace='own', state='absent', delete_namespace=True))
    assert env.kube.count('DELETE', r'/namespaces/own$') == 0
    assert [(a['kind'], a['name'], a['reason']) for a in result['left_alone']] == [
        ('Namespace', 'own', 'not every kind of object in it could be listed, so it may hold objects this run did not make')]


def prunes_carry_the_uid_precondition(env):
    # kills: deletes without the uid precondition (dropping body['preconditions'] = {'uid': uid}): an
    # object replaced by someone else between the read and the delete would be deleted
    access.ensure_present(env.cluster, account_spec())

    def replaced_after_the_read(body):   # the list answer shows the old object; the store holds a new one
        env.kube.objects.delete('clusterrolebindings', 'app')
        env.kube.objects.create('clusterrolebindings', {'metadata': {'name': 'app'}, 'subjects': [],
                                                        'roleRef': {'apiGroup': access.RBAC_GROUP, 'kind': 'ClusterRole',
                                                                    'name': 'view'}})
        return body
    env.kube.inject_fault(r'/clusterrolebindings$', rewrite=replaced_after_the_read, method='GET')
    access.ensure_absent(env.cluster, account_spec(state='absent'))
    assert env.kube.objects.find('clusterrolebindings', 'app') is not None    # the replacement stays
    assert env.kube.count('DELETE', r'/clusterrolebindings/app$', status=409) == 1
    assert env.kube.objects.find('clusterroles', 'app') is None             # ours went


def adopt_still_refuses_another_accounts_objects(env):
    # kills: plan() letting adopt take (or skip) objects another account owns
    # (live_owner != owner -> live_owner != owner and not adopt, or conflicts not reported)
    env.kube.objects.create('clusterroles', {'metadata': {'name': 'app', 'annotations': {
        access.OWNER_ANNOTATION: 'team/app'}}, 'rules': []})
    with pytest.raises(K8sTokenError) as info:
        access.ensure_present(env.cluster, account_spec(adopt=True))
    assert 'ClusterRole app belongs to the ServiceAccount team/app' in info.value.message
    live = env.kube.objects.find('clusterroles', 'app')
    assert live['rules'] == [] and live['metadata']['annotations'][access.OWNER_ANNOTATION] == 'team/app'
    assert env.kube.count('PATCH') == 0


# ------------------------------------------------------------------------------ the lookup's cache

def cache_of_a_finished_run_is_not_read(env):
    # kills: TokenCache._load() reading a file whose run has ended (dropping "or not _alive(data.get('owner'))")
    finished = {'pid': 2 ** 22 + 1, 'started': '12345'}     # above pid_max: never a live process
    cache = TokenCache(str(env.tmp_path), owner=finished, watch=False)
    with cache.open() as entries:
        entries.put(('k',), {'token': 'a.b.c', 'expires_in': 3600})
    assert (env.tmp_path / 'mcp_k8s_sa_token_cache.json').exists()
    with TokenCache(str(env.tmp_path), owner=finished, watch=False).open() as entries:
        assert entries.get(('k',), 0) is None


RULES_TABLE = [
    reuse_needs_the_same_audiences,
    reuse_needs_the_same_bound_uid,
    confirmed_tokens_are_per_cluster,
    self_subject_review_must_name_the_account,
    verify_only_refuses_another_account_connection,
    exec_plugin_token_is_redacted,
    json_escaped_secret_is_redacted,
    proxy_basic_auth_is_a_secret,
    kubeconfig_with_several_users_is_not_ours,
    config_starting_with_a_comment_is_not_ours,
    exec_credential_of_another_api_version_is_not_ours,
    token_mode_diff_shows_no_token,
    missing_folder_is_created_private,
    absent_leaves_another_tools_exec_credential,
    absent_leaves_a_config_written_for_another_account,
    present_refuses_a_config_written_for_another_account,
    credential_path_equal_to_kubeconfig_path_is_refused,
    config_path_equal_to_kubeconfig_path_is_refused,
    delete_namespace_only_for_its_own_account,
    delete_namespace_only_when_it_holds_nothing_else,
    delete_namespace_only_when_everything_in_it_was_listed,
    prunes_carry_the_uid_precondition,
    adopt_still_refuses_another_accounts_objects,
    cache_of_a_finished_run_is_not_read,
]


@pytest.mark.parametrize('rule', RULES_TABLE, ids=lambda rule: rule.__name__)
def test_security_invariant(rule, request):
    rule(Env(request))


# ------------------------------------------------------------------------------ docs/bad-input.md, decided in module_utils

LONG_NAME = 'a' * 254
BAD_INPUT = [
    # (case in docs/bad-input.md, the call, the sentence)
    ('module-duration-5m', lambda: token_spec(duration='5m'),
     'duration "5m" (300 seconds) is below the minimum of 10 minutes (600 seconds) that the API server accepts; '
     'use "10m" or longer.'),
    ('module-duration-negative', lambda: token_spec(duration='-1h'),
     'duration "-1h" (-3600 seconds) is below the minimum of 10 minutes (600 seconds) that the API server accepts; '
     'use "10m" or longer.'),
    ('module-duration-fraction', lambda: token_spec(duration='1.5s'), 'duration must be whole seconds; "1.5s" is 1.5 seconds.'),
    ('module-duration-abc', lambda: token_spec(duration='abc'),
     'duration "abc" is not a duration; use kubectl\'s form such as "10m", "1h30m", "3600s" or a number of seconds.'),
    ('module-duration-zero', lambda: token_spec(duration='0'),
     'duration "0" (0 seconds) is below the minimum of 10 minutes (600 seconds) that the API server accepts; '
     'use "10m" or longer.'),
    ('module-duration-2^33', lambda: token_spec(duration=8589934592),
     'duration 8589934592 (8589934592 seconds) is above the maximum of 2^32 seconds (4294967296) that the API server '
     'accepts; use a shorter duration.'),
    ('module-duration-unit', lambda: token_spec(duration='2d'),
     'duration "2d" is not a duration; use kubectl\'s form such as "10m", "1h30m", "3600s" or a number of seconds.'),
    ('lookup-duration-zero', lambda: token_spec(duration=0),
     'duration 0 (0 seconds) is below the minimum of 10 minutes (600 seconds) that the API server accepts; '
     'use "10m" or longer.'),
    ('module-renew-before-bad', lambda: durations.renew_before_seconds('later', '5m'),
     'renew_before "later" is not a duration; use kubectl\'s form such as "10m", "1h30m", "3600s" or a number of seconds.'),
    ('module-name-capitals', lambda: token_spec(name='MyServer'),
     'name "MyServer" is not a valid ServiceAccount name; use lowercase letters, digits, "-" and ".", starting and '
     'ending with a letter or digit.'),
    ('module-name-underscore', lambda: token_spec(name='my_server'),
     'name "my_server" is not a valid ServiceAccount name; use lowercase letters, digits, "-" and ".", starting and '
     'ending with a letter or digit.'),
    ('module-name-254', lambda: token_spec(name=LONG_NAME),
     'name "aaaaaaaaaaaaaaaaaaaa...aaaaaaaa" has 254 characters, more than the 253 a ServiceAccount name may have; '
     'use a shorter name.'),
    ('module-namespace-dots', lambda: token_spec(namespace='team.a'),
     'namespace "team.a" is not a valid namespace name; use lowercase letters, digits and "-", starting and ending '
     'with a letter or digit.'),
    ('module-bound-name', lambda: token_spec(bound_object={'kind': 'Pod', 'name': 'Web_1'}),
     'bound_object.name "Web_1" is not a valid Pod name; use lowercase letters, digits, "-" and ".", starting and '
     'ending with a letter or digit.'),
    ('module-bound-name-newline', lambda: token_spec(bound_object={'kind': 'Secret', 'name': 'anchor\n'}),
     'bound_object.name "anchor\\n" is not a valid Secret name; use lowercase letters, digits, "-" and ".", starting '
     'and ending with a letter or digit.'),
    ('module-empty-audience', lambda: token_spec(audiences=['']),
     'audiences must be non-empty strings; leave the list empty for the API server\'s default audiences (got \'\').'),
    ('lookup-unknown-kind', lambda: token_spec(bound_object={'kind': 'Node2', 'name': 'n'}),
     'bound_object.kind "Node2" is not supported; a token can be bound to a Pod, Secret or Node.'),
    ('module-request-timeout-negative', lambda: connection.check_credentials({'request_timeout': -1.0}),
     'request_timeout must be a positive number of seconds, not -1.0.'),
    ('module-api-key-newline', lambda: connection.check_credentials({'api_key': 'sekrit-api-key\n'}),
     'api_key has whitespace (a line break or spaces) at its start or end; remove it, for example with the trim filter.'),
    ('info-not-a-jwt', lambda: serviceaccounts.inspect_token('sekrit-not-a-jwt'),
     'The given token is not a JWT (three base64url parts with a JSON payload).'),
    ('info-three-parts-not-json', lambda: serviceaccounts.inspect_token('c2Vrcml0.c2Vrcml0.c2Vrcml0'),
     'The given token is not a JWT (three base64url parts with a JSON payload).'),
    ('role-builtin-name', lambda: account_spec(name='cluster-admin'),
     '"cluster-admin" is a built-in Kubernetes name and the roles and bindings take the account\'s name, so they '
     'would replace a built-in role; built-in and system names are never changed: choose another name.'),
    ('role-custom-rule-without-api-groups', lambda: rbac_checks.check_rules([{'resources': ['pods'], 'verbs': ['get']}]),
     'rules[0] has no apiGroups; use [""] for the core group (pods, secrets, ...).'),
]


@pytest.mark.parametrize('call, sentence', [case[1:] for case in BAD_INPUT], ids=[case[0] for case in BAD_INPUT])
def test_bad_input_decided_in_module_utils(call, sentence):
    with pytest.raises(K8sTokenError) as info:
        call()
    assert info.value.message == sentence
