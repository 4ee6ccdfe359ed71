"""Token Secrets against the API server double: create, wait, reuse, labels, errors, delete."""
import base64

import pytest

from ansible_collections.mcp.k8s.plugins.module_utils import connection, legacy_secrets
from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError
from ansible_collections.mcp.k8s.plugins.module_utils.legacy_secrets import SecretSpec, ensure_secret_token, remove_secret_token


def _cluster(kube, path=None):
    return connection.get_cluster({'kubeconfig': path or kube.kubeconfig_path})


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def kube(kube_double):
    kube_double.create_service_account('app', 'ns')
    return kube_double


# ---------------------------------------------------------------- the spec

def test_spec_defaults():
    spec = SecretSpec('app')
    assert (spec.service_account, spec.namespace, spec.name, spec.labels, spec.wait_timeout) == \
        ('app', 'default', 'app-token', {}, 60)
    assert spec.manifest() == {
        'apiVersion': 'v1', 'kind': 'Secret', 'type': 'kubernetes.io/service-account-token',
        'metadata': {'name': 'app-token', 'namespace': 'default', 'labels': {},
                     'annotations': {'kubernetes.io/service-account.name': 'app',
                                     'mcp.k8s/created-by': 'default/app'}}}


def test_spec_options():
    spec = legacy_secrets.secret_spec({'name': 'app', 'namespace': 'ns', 'secret_name': 'long',
                                       'labels': {'a': 1}, 'wait_timeout': '2m'})
    assert (spec.name, spec.labels, spec.wait_timeout) == ('long', {'a': '1'}, 120)


@pytest.mark.parametrize('kwargs, match', [
    ({'service_account': ''}, 'name must be the name'),
    ({'service_account': None}, 'name must be the name'),
    ({'service_account': 'app', 'wait_timeout': -1}, 'wait_timeout must not be negative'),
    ({'service_account': 'app', 'wait_timeout': 'soon'}, 'wait_timeout'),
    ({'service_account': 'App/x'}, 'name "App/x" is not a valid ServiceAccount name'),
    ({'service_account': 'app', 'namespace': 'a.b'}, 'namespace "a.b" is not a valid namespace name'),
    ({'service_account': 'app', 'secret_name': '../x'}, 'secret_name "../x" is not a valid Secret name'),
    ({'service_account': 'a' * 250}, 'secret_name .* has 256 characters'),
])
def test_spec_errors(kwargs, match):
    with pytest.raises(K8sTokenError, match=match):
        SecretSpec(**kwargs)


# ---------------------------------------------------------------- present

def test_creates_waits_and_returns_the_token(kube):
    changed, result, diff, warnings = ensure_secret_token(_cluster(kube), SecretSpec('app', 'ns', labels={'team': 'a'}))
    assert changed
    stored = kube.objects.get('secrets', 'app-token', 'ns')
    assert result['token'] == base64.b64decode(stored['data']['token']).decode()
    assert result['ca_crt'] == kube.pki.ca_pem.decode()
    assert result['namespace'] == 'ns'
    assert result['secret'] == {'name': 'app-token', 'namespace': 'ns', 'uid': stored['metadata']['uid'],
                                'labels': {'team': 'a'}}
    account = kube.objects.get('serviceaccounts', 'app', 'ns')
    assert result['service_account'] == {'name': 'app', 'namespace': 'ns', 'uid': account['metadata']['uid']}
    assert result['kubeconfig']['users'][0]['user']['token'] == result['token']
    assert diff['before'] == {}
    assert diff['after']['metadata']['labels'] == {'team': 'a'}
    assert 'data' not in diff['after'] and result['token'] not in str(diff)
    assert warnings == [legacy_secrets.NEVER_EXPIRES_WARNING]


def test_second_run_is_unchanged_with_the_same_token(kube):
    cluster = _cluster(kube)
    spec = SecretSpec('app', 'ns', labels={'team': 'a'})
    first = ensure_secret_token(cluster, spec)[1]
    kube.clear_requests()
    changed, second, diff, _warnings = ensure_secret_token(cluster, spec)
    assert not changed
    assert second['token'] == first['token']
    assert diff['before'] == diff['after']
    assert kube.count(method='GET') == 2      # the Secret and the ServiceAccount
    assert kube.count(method='POST') == kube.count(method='PUT') == 0


def test_labels_are_merged_and_foreign_labels_kept(kube):
    cluster = _cluster(kube)
    token = ensure_secret_token(cluster, SecretSpec('app', 'ns', labels={'team': 'a'}))[1]['token']
    secret = kube.objects.get('secrets', 'app-token', 'ns')
    secret['metadata']['labels']['kubernetes.io/legacy-token-last-used'] = '2026-11-28'
    kube.objects.update('secrets', secret, 'app-token', 'ns')
    changed, result, diff, _warnings = ensure_secret_token(cluster, SecretSpec('app', 'ns', labels={'team': 'b', 'x': 'y'}))
    assert changed
    assert result['token'] == token
    assert result['secret']['labels'] == {'team': 'b', 'x': 'y', 'kubernetes.io/legacy-token-last-used': '2026-11-28'}
    assert diff['before']['metadata']['labels']['team'] == 'a'
    assert diff['after']['metadata']['labels']['team'] == 'b'


def test_check_mode_writes_nothing(kube):
    cluster = _cluster(kube)
    changed, result, diff, _warnings = ensure_secret_token(cluster, SecretSpec('app', 'ns', labels={'a': 'b'}),
                                                           check_mode=True)
    assert changed and result['token'] is None and result['kubeconfig'] is None
    assert diff['after']['metadata']['labels'] == {'a': 'b'}
    assert kube.objects.find('secrets', 'app-token', 'ns') is None
    token = ensure_secret_token(cluster, SecretSpec('app', 'ns'))[1]['token']
    kube.clear_requests()
    changed, result, diff, _warnings = ensure_secret_token(cluster, SecretSpec('app', 'ns', labels={'c': 'd'}),
                                                           check_mode=True)
    assert changed and result['token'] == token
    assert diff['after']['metadata']['labels'] == {'c': 'd'}
    assert kube.count(method='PUT') == 0
    assert kube.objects.get('secrets', 'app-token', 'ns')['metadata'].get('labels', {}) == {}


def test_waits_for_a_slow_token_controller(kube):
    kube.stop_token_controller()
    clock = FakeClock()
    fill_after = [3]

    def sleep(seconds):
        clock.sleep(seconds)
        fill_after[0] -= 1
        if fill_after[0] == 0:
            secret = kube.objects.get('secrets', 'app-token', 'ns')
            secret['data'] = {'token': base64.b64encode(b'a.b.c').decode(),
                              'ca.crt': base64.b64encode(kube.pki.ca_pem).decode(),
                              'namespace': base64.b64encode(b'ns').decode()}
            kube.objects.update('secrets', secret, 'app-token', 'ns')

    result = ensure_secret_token(_cluster(kube), SecretSpec('app', 'ns'), sleep=sleep, clock=clock)[1]
    assert result['token'] == 'a.b.c'
    assert clock.sleeps == [0.1, 0.2, 0.4]


def test_timeout_without_token_controller(kube):
    kube.stop_token_controller()
    clock = FakeClock()
    with pytest.raises(K8sTokenError) as raised:
        ensure_secret_token(_cluster(kube), SecretSpec('app', 'ns', wait_timeout=10), sleep=clock.sleep, clock=clock)
    assert raised.value.message == (
        'The token controller did not fill in Secret "ns/app-token" within 10 seconds; check that '
        'kube-controller-manager runs with its service account token controller '
        '(--service-account-private-key-file), or raise wait_timeout.')
    assert raised.value.changed is True
    assert 9.9 < clock.now <= 10.0 + 1e-9
    assert max(clock.sleeps) <= 2.0


def test_zero_wait_timeout_checks_once(kube):
    kube.stop_token_controller()
    clock = FakeClock()
    with pytest.raises(K8sTokenError, match='within 0 seconds'):
        ensure_secret_token(_cluster(kube), SecretSpec('app', 'ns', wait_timeout=0), sleep=clock.sleep, clock=clock)
    assert clock.sleeps == []


def test_secret_deleted_while_waiting(kube):
    kube.stop_token_controller()
    clock = FakeClock()

    def sleep(seconds):
        clock.sleep(seconds)
        kube.objects.delete('secrets', 'app-token', 'ns')

    with pytest.raises(K8sTokenError, match='was deleted while waiting for its token; .* check that '
                                            'ServiceAccount "ns/app" exists'):
        ensure_secret_token(_cluster(kube), SecretSpec('app', 'ns'), sleep=sleep, clock=clock)


def test_missing_service_account(kube):
    with pytest.raises(K8sTokenError) as raised:
        ensure_secret_token(_cluster(kube), SecretSpec('ghost', 'ns'))
    assert raised.value.message == ('ServiceAccount "ghost" does not exist in namespace "ns"; create it first or '
                                    'correct name and namespace.')
    assert kube.objects.find('secrets', 'ghost-token', 'ns') is None


def test_missing_namespace(kube):
    with pytest.raises(K8sTokenError, match='^Namespace "nowhere" does not exist; create it and the '
                                            'ServiceAccount "nowhere/app" first'):
        ensure_secret_token(_cluster(kube), SecretSpec('app', 'nowhere'))


def test_rbac_denials(kube):
    path = kube.write_kubeconfig(user='alice')
    with pytest.raises(K8sTokenError) as raised:
        ensure_secret_token(_cluster(kube, path), SecretSpec('app', 'ns'))
    assert raised.value.message.startswith('User "alice" may not get secrets in namespace "ns" (403 Forbidden)')
    kube.grant('alice', ['get'], ['secrets'], namespace='ns')
    with pytest.raises(K8sTokenError, match='User "alice" may not get serviceaccounts in namespace "ns"'):
        ensure_secret_token(_cluster(kube, path), SecretSpec('app', 'ns'))
    kube.grant('alice', ['get'], ['serviceaccounts'], namespace='ns')
    with pytest.raises(K8sTokenError, match='User "alice" may not create secrets in namespace "ns" '
                                            r'\(403 Forbidden\); grant it "create" on "secrets"'):
        ensure_secret_token(_cluster(kube, path), SecretSpec('app', 'ns'))
    kube.grant('alice', ['create'], ['secrets'], namespace='ns')
    assert ensure_secret_token(_cluster(kube, path), SecretSpec('app', 'ns'))[1]['token']
    with pytest.raises(K8sTokenError, match='may not update secrets'):
        ensure_secret_token(_cluster(kube, path), SecretSpec('app', 'ns', labels={'a': 'b'}))
    with pytest.raises(K8sTokenError, match='may not delete secrets'):
        remove_secret_token(_cluster(kube, path), SecretSpec('app', 'ns'))


def test_refuses_a_secret_of_another_type(kube):
    kube.objects.create('secrets', {'metadata': {'name': 'app-token', 'namespace': 'ns'}, 'type': 'Opaque',
                                    'data': {'password': 'c2VjcmV0'}}, 'ns')
    for call in (ensure_secret_token, remove_secret_token):
        with pytest.raises(K8sTokenError, match='Secret "ns/app-token" exists with type "Opaque", not '
                                                '"kubernetes.io/service-account-token"; choose another secret_name'):
            call(_cluster(kube), SecretSpec('app', 'ns'))
    assert kube.objects.find('secrets', 'app-token', 'ns') is not None


def test_refuses_the_secret_of_another_service_account(kube):
    kube.create_service_account('other', 'ns')
    ensure_secret_token(_cluster(kube), SecretSpec('other', 'ns', secret_name='shared'))
    with pytest.raises(K8sTokenError, match='Secret "ns/shared" holds a token of ServiceAccount "other", not "app"'):
        ensure_secret_token(_cluster(kube), SecretSpec('app', 'ns', secret_name='shared'))
    with pytest.raises(K8sTokenError, match='holds a token of ServiceAccount "other"'):
        remove_secret_token(_cluster(kube), SecretSpec('app', 'ns', secret_name='shared'))


def test_invalid_since_label_warns(kube):
    cluster = _cluster(kube)
    ensure_secret_token(cluster, SecretSpec('app', 'ns'))
    secret = kube.objects.get('secrets', 'app-token', 'ns')
    secret['metadata']['labels'] = {'kubernetes.io/legacy-token-invalid-since': '2026-11-01'}
    kube.objects.update('secrets', secret, 'app-token', 'ns')
    warnings = ensure_secret_token(cluster, SecretSpec('app', 'ns'))[3]
    assert any('labelled kubernetes.io/legacy-token-invalid-since' in w for w in warnings)


def test_token_is_never_in_messages(kube):
    cluster = _cluster(kube)
    token = ensure_secret_token(cluster, SecretSpec('app', 'ns'))[1]['token']
    from ansible_collections.mcp.k8s.plugins.module_utils.errors import redact
    assert token not in redact('leaked %s' % token)


# ---------------------------------------------------------------- absent

def test_delete_revokes(kube):
    cluster = _cluster(kube)
    spec = SecretSpec('app', 'ns')
    ensure_secret_token(cluster, spec)
    changed, diff = remove_secret_token(cluster, spec, check_mode=True)
    assert changed and diff['after'] == {} and diff['before']['metadata']['name'] == 'app-token'
    assert kube.objects.find('secrets', 'app-token', 'ns') is not None
    changed, diff = remove_secret_token(cluster, spec)
    assert changed
    assert kube.objects.find('secrets', 'app-token', 'ns') is None
    assert remove_secret_token(cluster, spec) == (False, {'before': {}, 'after': {}})


def test_delete_in_a_missing_namespace_is_a_no_op(kube):
    assert remove_secret_token(_cluster(kube), SecretSpec('app', 'nowhere'))[0] is False


def test_secret_filled_for_an_earlier_service_account_warns(kube):
    kube.stop_token_controller()   # a real controller would delete it; show what the module says meanwhile
    kube.objects.create('secrets', {
        'metadata': {'name': 'app-token', 'namespace': 'ns', 'annotations': {
            'kubernetes.io/service-account.name': 'app', 'kubernetes.io/service-account.uid': 'old-uid',
            'mcp.k8s/created-by': 'ns/app'}},
        'type': 'kubernetes.io/service-account-token',
        'data': {'token': base64.b64encode(b'a.b.c').decode(), 'ca.crt': base64.b64encode(b'ca').decode(),
                 'namespace': base64.b64encode(b'ns').decode()}}, 'ns')
    changed, _result, _diff, warnings = ensure_secret_token(_cluster(kube), SecretSpec('app', 'ns'))
    assert not changed
    assert any('was filled for an earlier ServiceAccount of the same name (uid old-uid' in w for w in warnings)


# ---------------------------------------------------------------- ownership (created-by annotation, adopt)

def _token_secret(annotations, name='app-token'):
    return {'metadata': {'name': name, 'namespace': 'ns', 'annotations': annotations},
            'type': 'kubernetes.io/service-account-token'}


NOT_OURS = ('Secret "ns/app-token" exists but was not made by mcp.k8s for the ServiceAccount ns/app (no '
            'mcp.k8s/created-by annotation), so nothing was changed; if you made it, or an earlier release of '
            'mcp.k8s did, set adopt to true once to take it over, otherwise choose another secret_name.')


@pytest.mark.parametrize('annotations, adopt, expected', [
    ({'kubernetes.io/service-account.name': 'app', 'mcp.k8s/created-by': 'ns/app'}, False, False),
    ({'kubernetes.io/service-account.name': 'app', 'mcp.k8s/created-by': 'ns/app'}, True, False),
    ({'kubernetes.io/service-account.name': 'app'}, True, True),
    ({'kubernetes.io/service-account.name': 'app', 'owner': 'someone-else'}, True, True),
])
def test_check_ownership_accepts_ours_and_adopts_only_when_asked(annotations, adopt, expected):
    assert legacy_secrets.check_ownership(_token_secret(annotations), SecretSpec('app', 'ns', adopt=adopt)) is expected


@pytest.mark.parametrize('annotations, adopt, message', [
    ({'kubernetes.io/service-account.name': 'app'}, False, NOT_OURS),
    ({'kubernetes.io/service-account.name': 'app', 'owner': 'someone-else'}, False, NOT_OURS),
    ({'kubernetes.io/service-account.name': 'app', 'mcp.k8s/created-by': 'other/app'}, True,
     'Secret "ns/app-token" was made by mcp.k8s for the ServiceAccount other/app, not ns/app (annotation '
     'mcp.k8s/created-by), so nothing was changed; choose another secret_name.'),
])
def test_check_ownership_refuses_what_it_did_not_make(annotations, adopt, message):
    with pytest.raises(K8sTokenError) as err:
        legacy_secrets.check_ownership(_token_secret(annotations), SecretSpec('app', 'ns', adopt=adopt))
    assert str(err.value) == message


def test_the_created_by_annotation_is_sa_access_s():
    from ansible_collections.mcp.k8s.plugins.module_utils import access
    assert legacy_secrets.CREATED_ANNOTATION is access.CREATED_ANNOTATION
    assert SecretSpec('app', 'ns').manifest()['metadata']['annotations'][access.CREATED_ANNOTATION] == 'ns/app'


def _hand_made(kube):
    kube.objects.create('secrets', _token_secret({'kubernetes.io/service-account.name': 'app',
                                                  'owner': 'someone-else'}), 'ns')
    return kube.objects.get('secrets', 'app-token', 'ns')


def test_a_hand_made_token_secret_is_neither_returned_nor_deleted(kube):
    before = _hand_made(kube)
    for call in (ensure_secret_token, remove_secret_token):
        with pytest.raises(K8sTokenError) as err:
            call(_cluster(kube), SecretSpec('app', 'ns'))
        assert str(err.value) == NOT_OURS
    after = kube.objects.get('secrets', 'app-token', 'ns')
    assert after['metadata']['uid'] == before['metadata']['uid']
    assert 'mcp.k8s/created-by' not in after['metadata']['annotations']


def test_adopt_takes_a_hand_made_secret_over_once(kube):
    _hand_made(kube)
    cluster = _cluster(kube)
    changed, result, diff, _warnings = ensure_secret_token(cluster, SecretSpec('app', 'ns', adopt=True))
    assert changed and result['token']
    assert diff['after']['metadata']['annotations']['mcp.k8s/created-by'] == 'ns/app'
    assert kube.objects.get('secrets', 'app-token', 'ns')['metadata']['annotations']['mcp.k8s/created-by'] == 'ns/app'
    assert ensure_secret_token(cluster, SecretSpec('app', 'ns'))[0] is False   # ours from now on, adopt or not
    assert remove_secret_token(cluster, SecretSpec('app', 'ns'))[0] is True


def test_adopt_deletes_a_hand_made_secret_with_its_uid_as_precondition(kube):
    before = _hand_made(kube)
    cluster = _cluster(kube)
    deletes, request = [], cluster.request

    def recording(method, path, body=None, **kwargs):
        if method == 'DELETE':
            deletes.append(body)
        return request(method, path, body=body, **kwargs)
    cluster.request = recording
    assert remove_secret_token(cluster, SecretSpec('app', 'ns', adopt=True))[0] is True
    assert kube.objects.find('secrets', 'app-token', 'ns') is None
    assert [body['preconditions'] for body in deletes] == [{'uid': before['metadata']['uid']}]
