"""sa_access's verification strategy (module_utils/verification.py), one test per branch, on the double."""
import json

import pytest

from ansible_collections.mcp.k8s.plugins.module_utils import connection, verification
from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError

RULES = [{'apiGroups': [''], 'resources': ['pods'], 'verbs': ['list']}]
TOKEN_POSTS = r'/serviceaccounts/app/token$'
REVIEWS = r'/selfsubjectaccessreviews$'


def params(**options):
    """sa_access's options with their defaults (the module's argument spec)."""
    values = {'name': 'app', 'namespace': 'mcp', 'state': 'present', 'labels': {}, 'rules': RULES, 'cluster_role': None,
              'scope': 'cluster', 'namespaces': [], 'create_namespace': False, 'delete_namespace': False, 'adopt': False,
              'allow_wildcards_and_escalation': False, 'allow_aggregation': False, 'verify_token': None,
              'verify_token_file': None, 'verify_mint': False, 'verify_only': False, 'checks': [],
              'verify_retries': 0, 'verify_delay': 0}
    values.update(options)
    return values


class Connect:
    """``connect`` for verification.run: the admin's cluster (or ``cluster``), counting the calls."""

    def __init__(self, kube, cluster=None):
        self.kube, self.cluster, self.calls = kube, cluster, 0

    def __call__(self):
        self.calls += 1
        return self.cluster or connection.get_cluster({'kubeconfig': self.kube.kubeconfig_path})


def run(kube, check_mode=False, cluster=None, **options):
    return verification.run(params(**options), Connect(kube, cluster), check_mode=check_mode)


@pytest.fixture
def app(kube):
    """The account mcp/app with its grant (list pods), converged once."""
    run(kube)
    kube.clear_requests()
    return kube


def credential_file(path, token):
    path.write_text(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', 'kind': 'ExecCredential',
                                'status': {'token': token, 'expirationTimestamp': '2099-01-01T00:00:00Z'}}))
    return str(path)


def test_nothing_to_verify_is_refused_before_any_request(kube):
    connect = Connect(kube)
    with pytest.raises(K8sTokenError) as error:
        verification.run(params(rules=[], verify_only=True), connect)
    assert error.value.message == verification.NOTHING_TO_VERIFY
    assert connect.calls == 0 and kube.requests == []


def test_without_a_verify_option_nothing_is_asked(app):
    result = run(app)
    assert 'verification' not in result and 'verify_skipped' not in result
    assert [c['verb'] for c in result['checks']] == ['list']
    assert app.count(path_re=REVIEWS) == 0 and app.count(method='POST', path_re=TOKEN_POSTS) == 0


def test_absent_returns_what_was_removed_and_verifies_nothing(app):
    result = run(app, state='absent', verify_mint=True)
    assert 'rules' not in result and 'verification' not in result
    assert {r['kind'] for r in result['removed']} == {'ClusterRoleBinding', 'ClusterRole', 'ServiceAccount'}
    assert app.count(method='POST', path_re=TOKEN_POSTS) == 0


def test_verify_token_asks_as_the_account(app):
    result = run(app, verify_token=app.mint_token('app', 'mcp'))
    assert [(c['actual'], c['ok']) for c in result['verification']['checks']] == [(True, True)]
    assert 'verify_token_minted' not in result and result['beyond_grant'] == []
    assert {r['user'] for r in app.requests if r['path'].endswith('reviews')} == {'system:serviceaccount:mcp:app'}


def test_a_rejected_verify_token_is_skipped_with_the_reason(app):
    result = run(app, verify_token='not-a-token-of-this-cluster')
    assert 'verification' not in result
    assert 'rejected the token (401 Unauthorized)' in result['verify_skipped']


def test_a_rejected_verify_token_fails_verify_only(app):
    with pytest.raises(K8sTokenError) as error:
        run(app, verify_only=True, verify_token='not-a-token-of-this-cluster')
    assert error.value.status == 401 and 'rejected the token (401 Unauthorized)' in error.value.message


def test_a_rejected_verify_token_falls_back_to_a_minted_one(app):
    result = run(app, verify_token='not-a-token-of-this-cluster', verify_mint=True)
    assert result['verify_token_minted'] is True and result['verification']['mismatches'] == []
    assert app.count(method='POST', path_re=TOKEN_POSTS) == 1


def test_verify_mint_mints_one_short_token(app):
    result = run(app, verify_mint=True)
    assert result['verify_token_minted'] is True and result['verification']['mismatches'] == []
    minted = [r for r in app.requests if r['method'] == 'POST' and r['path'].endswith('/serviceaccounts/app/token')]
    assert len(minted) == 1


def test_verify_token_file_of_the_account_is_used(app, tmp_path):
    path = credential_file(tmp_path / 'credential.json', app.mint_token('app', 'mcp'))
    result = run(app, verify_token_file=path)
    assert result['verification']['mismatches'] == [] and 'verify_token_minted' not in result
    assert app.count(method='POST', path_re=TOKEN_POSTS) == 0


def test_verify_token_file_of_another_account_skips_the_verification(app, tmp_path):
    path = credential_file(tmp_path / 'credential.json', app.mint_token('server', 'mcp'))
    result = run(app, verify_token_file=path)
    assert result['verify_skipped'] == ('Nothing was verified: %s holds no token of system:serviceaccount:mcp:app (no '
                                        'file, another shape or another account\'s token).' % path)
    assert 'verification' not in result and app.count(path_re=REVIEWS) == 0


def test_verify_token_file_without_a_token_fails_verify_only(app, tmp_path):
    with pytest.raises(K8sTokenError) as error:
        run(app, verify_only=True, verify_token_file=str(tmp_path / 'missing.json'))
    assert error.value.message.startswith('verify_token_file %s holds no token of ' % (tmp_path / 'missing.json'))


def test_verify_token_file_without_a_token_and_verify_mint_mints(app, tmp_path):
    result = run(app, verify_token_file=str(tmp_path / 'missing.json'), verify_mint=True)
    assert result['verify_token_minted'] is True and 'verify_skipped' not in result


def test_check_mode_mints_nothing_and_asks_nothing(app, tmp_path):
    result = run(app, check_mode=True, verify_mint=True)
    assert 'verification' not in result and 'verify_token_minted' not in result
    skipped = run(app, check_mode=True, verify_token_file=str(tmp_path / 'missing.json'))
    assert 'verify_skipped' not in skipped
    assert app.count(method='POST', path_re=TOKEN_POSTS) == 0 and app.count(path_re=REVIEWS) == 0


def test_verify_only_runs_in_check_mode_and_changes_nothing(app):
    result = run(app, check_mode=True, verify_only=True, verify_token=app.mint_token('app', 'mcp'))
    assert result['changed'] is False and result['verification']['mismatches'] == []
    assert app.count(method='PATCH') == 0 and app.count(method='DELETE') == 0


def test_verify_only_as_another_user_is_refused(app):
    with pytest.raises(K8sTokenError) as error:
        run(app, verify_only=True)
    assert error.value.message.startswith('The connection authenticates as kubernetes-admin, not as '
                                          'system:serviceaccount:mcp:app, so verify_only would check the rights of ')


def test_verify_only_as_the_account_asks_with_the_connection(app, tmp_path):
    kubeconfig = app.write_kubeconfig(path=str(tmp_path / 'app.kubeconfig'), token=app.mint_token('app', 'mcp'))
    result = run(app, verify_only=True, cluster=connection.get_cluster({'kubeconfig': kubeconfig}))
    assert result['verification']['mismatches'] == []


def test_a_mismatch_is_the_failure_sentence(app):
    result = run(app, verify_mint=True, checks=[{'verb': 'get', 'resource': 'secrets', 'group': '', 'allowed': True}])
    assert verification.failure(params(), result) == (
        'RBAC verification failed for system:serviceaccount:mcp:app (scope cluster): 1 of 1 checks differ from the '
        'expected answer: get secrets in (all): expected allowed, got denied; the verification table lists every check.')
    assert verification.failure(params(), run(app, verify_mint=True)) is None


def test_the_rights_check_reads_the_bindings_once_with_the_converge(app):
    """Verifying while converging lists every binding once (the converge's own lists, not field-selected
    ones and then full ones); the ClusterRoleBindings are not read again to review the rights."""
    run(app, verify_mint=True)
    assert app.count(method='GET', path_re=r'/clusterrolebindings$') == 1
    assert app.count(method='GET', path_re=r'/v1/rolebindings$') == 1
    assert app.count(method='POST', path_re=r'/selfsubjectrulesreviews$') == 1


def test_scope_namespaces_reviews_only_the_namespaces_of_the_grant(app):
    app.objects.create('namespaces', {'metadata': {'name': 'team-a'}})
    app.clear_requests()
    result = run(app, verify_mint=True, scope='namespaces', namespaces=['team-a'])
    assert result['verification']['mismatches'] == [] and result['beyond_grant'] == []
    reviewed = [r['namespace'] for r in app.requests if r['path'].endswith('/selfsubjectrulesreviews')]
    assert len(reviewed) == 1
