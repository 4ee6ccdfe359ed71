"""kubectl against the double: create token, apply, auth can-i, whoami, protobuf bodies."""
import json
import shutil

import jwt
import pytest

from kd_helpers import kubectl

pytestmark = pytest.mark.skipif(shutil.which('kubectl') is None, reason='kubectl is not installed')

RBAC_YAML = """\
apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: minter
  namespace: demo
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: app
  namespace: demo
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: token-minter
  namespace: demo
rules:
- apiGroups: [""]
  resources: ["serviceaccounts/token"]
  verbs: ["create"]
  resourceNames: ["app"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: token-minter
  namespace: demo
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: token-minter
subjects:
- kind: ServiceAccount
  name: minter
  namespace: demo
"""


def _claims(token):
    return jwt.decode(token.strip(), options={'verify_signature': False})


def test_create_token_duration_audience(kube_double):
    kube_double.create_service_account('app', 'demo')
    proc = kubectl(kube_double, 'create', 'token', 'app', '-n', 'demo', '--duration=2h', '--audience=vault',
                   '--audience=https://x', check=True)
    claims = _claims(proc.stdout)
    assert claims['aud'] == ['vault', 'https://x'] and claims['exp'] - claims['iat'] == 7200
    assert claims['sub'] == 'system:serviceaccount:demo:app'
    proc = kubectl(kube_double, 'create', 'token', 'app', '-n', 'demo', '-o', 'json', check=True)
    made = json.loads(proc.stdout)
    assert made['kind'] == 'TokenRequest' and made['spec']['expirationSeconds'] == 3600
    assert made['spec']['audiences'] == kube_double.api_audiences
    assert kube_double.count(method='POST', path_re='/serviceaccounts/app/token$', status=201) == 2
    posted = [e for e in kube_double.requests if e['path'].endswith('/token')]
    assert posted[0]['content_type'] == 'application/vnd.kubernetes.protobuf'


def test_create_token_bound_objects(kube_double):
    kube_double.create_service_account('app', 'demo')
    pod = kube_double.objects.create('pods', {'metadata': {'name': 'p'}, 'spec': {
        'serviceAccountName': 'app', 'containers': [{'name': 'c', 'image': 'x'}]}}, 'demo')
    secret = kube_double.objects.create('secrets', {'metadata': {'name': 's'}}, 'demo')
    node = kube_double.objects.create('nodes', {'metadata': {'name': 'n1'}})
    for kind, obj in (('Pod', pod), ('Secret', secret), ('Node', node)):
        proc = kubectl(kube_double, 'create', 'token', 'app', '-n', 'demo', '--bound-object-kind=%s' % kind,
                       '--bound-object-name=%s' % obj['metadata']['name'], check=True)
        assert _claims(proc.stdout)['kubernetes.io'][kind.lower()] == {'name': obj['metadata']['name'], 'uid': obj['metadata']['uid']}
    proc = kubectl(kube_double, 'create', 'token', 'app', '-n', 'demo', '--bound-object-kind=Pod', '--bound-object-name=p',
                   '--bound-object-uid=wrong')
    assert proc.returncode == 1
    assert 'error: failed to create token: Operation cannot be fulfilled on Pod "p": the UID in the bound object reference (wrong)' in proc.stderr
    proc = kubectl(kube_double, 'create', 'token', 'app', '-n', 'demo', '--bound-object-kind=Pod', '--bound-object-name=gone')
    assert proc.stderr.strip() == 'error: failed to create token: pods "gone" not found'


def test_create_token_short_duration_fails_with_server_422(kube_double):
    kube_double.create_service_account('x', 'default')
    proc = kubectl(kube_double, 'create', 'token', 'x', '--duration=5m')
    assert proc.returncode == 1
    assert proc.stderr.strip() == ('error: failed to create token: TokenRequest.authentication.k8s.io "" is invalid: '
                                   'spec.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes')
    proc = kubectl(kube_double, 'create', 'token', 'missing')
    assert proc.stderr.strip() == 'error: failed to create token: serviceaccounts "missing" not found'


def test_create_token_shortened_prints_warning(kube_double_factory):
    kube = kube_double_factory(max_token_expiration=3600)
    proc = kubectl(kube, 'create', 'token', 'default', '--duration=24h', check=True)
    claims = _claims(proc.stdout)
    assert claims['exp'] - claims['iat'] == 3600
    assert 'requested expiration of 86400 seconds shortened to 3600 seconds' in proc.stderr


def test_apply_rbac_twice_second_is_unchanged(kube_double, tmp_path):
    manifest = tmp_path / 'rbac.yaml'
    manifest.write_text(RBAC_YAML)
    first = kubectl(kube_double, 'apply', '-f', str(manifest), check=True)
    assert 'role.rbac.authorization.k8s.io/token-minter created' in first.stdout
    role = kube_double.objects.get('roles', 'token-minter', 'demo')
    second = kubectl(kube_double, 'apply', '-f', str(manifest), check=True)
    assert second.stdout.split('\n')[:5] == ['namespace/demo unchanged', 'serviceaccount/minter unchanged',
                                             'serviceaccount/app unchanged', 'role.rbac.authorization.k8s.io/token-minter unchanged',
                                             'rolebinding.rbac.authorization.k8s.io/token-minter unchanged']
    assert kube_double.objects.get('roles', 'token-minter', 'demo')['metadata']['resourceVersion'] == role['metadata']['resourceVersion']
    manifest.write_text(RBAC_YAML.replace('resourceNames: ["app"]', 'resourceNames: ["app", "other"]'))
    third = kubectl(kube_double, 'apply', '-f', str(manifest), check=True)
    assert 'role.rbac.authorization.k8s.io/token-minter configured' in third.stdout
    assert kube_double.objects.get('roles', 'token-minter', 'demo')['rules'][0]['resourceNames'] == ['app', 'other']
    ssa = kubectl(kube_double, 'apply', '--server-side', '-f', str(manifest), check=True)
    assert 'serverside-applied' in ssa.stdout
    # roleRef cannot change: kubectl reports the server's 422
    manifest.write_text(RBAC_YAML.replace('  kind: Role\n  name: token-minter\nsubjects', '  kind: ClusterRole\n  name: view\nsubjects'))
    bad = kubectl(kube_double, 'apply', '-f', str(manifest))
    assert bad.returncode == 1 and 'roleRef' in bad.stderr and 'field is immutable' in bad.stderr


def test_auth_can_i_as_service_account_and_with_token(kube_double, tmp_path):
    manifest = tmp_path / 'rbac.yaml'
    manifest.write_text(RBAC_YAML)
    kubectl(kube_double, 'apply', '-f', str(manifest), check=True)
    minter = 'system:serviceaccount:demo:minter'
    yes = kubectl(kube_double, 'auth', 'can-i', 'create', 'serviceaccounts/app', '--subresource=token', '-n', 'demo', '--as', minter)
    assert (yes.returncode, yes.stdout.strip()) == (0, 'yes')
    no = kubectl(kube_double, 'auth', 'can-i', 'create', 'serviceaccounts/other', '--subresource=token', '-n', 'demo', '--as', minter)
    assert (no.returncode, no.stdout.strip()) == (1, 'no')
    token = kubectl(kube_double, 'create', 'token', 'minter', '-n', 'demo', check=True).stdout.strip()
    config = kube_double.write_kubeconfig(token=token)
    yes = kubectl(kube_double, 'auth', 'can-i', 'create', 'serviceaccounts/app', '--subresource=token', '-n', 'demo', kubeconfig=config)
    assert yes.stdout.strip() == 'yes'
    no = kubectl(kube_double, 'auth', 'can-i', 'get', 'secrets', '-n', 'demo', kubeconfig=config)
    assert no.stdout.strip() == 'no'
    whoami = kubectl(kube_double, 'auth', 'whoami', '-o', 'json', kubeconfig=config, check=True)
    assert json.loads(whoami.stdout)['status']['userInfo']['username'] == minter
    minted = kubectl(kube_double, 'create', 'token', 'app', '-n', 'demo', '--duration=10m', kubeconfig=config, check=True)
    assert _claims(minted.stdout)['sub'] == 'system:serviceaccount:demo:app'
    denied = kubectl(kube_double, 'create', 'token', 'minter', '-n', 'demo', kubeconfig=config)
    assert denied.stderr.strip() == ('error: failed to create token: serviceaccounts "minter" is forbidden: User '
                                     '"system:serviceaccount:demo:minter" cannot create resource "serviceaccounts/token" in '
                                     'API group "" in the namespace "demo"')
    listing = kubectl(kube_double, 'auth', 'can-i', '--list', '-n', 'demo', kubeconfig=config, check=True)
    assert 'serviceaccounts/token' in listing.stdout


def test_kubectl_create_get_delete_typed_objects(kube_double):
    for args in (['create', 'namespace', 'k1'], ['create', 'serviceaccount', 'sa1', '-n', 'k1'],
                 ['create', 'secret', 'generic', 's1', '-n', 'k1', '--from-literal=a=b'],
                 ['create', 'configmap', 'c1', '-n', 'k1', '--from-literal=x=y'],
                 ['create', 'role', 'r1', '-n', 'k1', '--verb=get', '--resource=pods'],
                 ['create', 'rolebinding', 'rb1', '-n', 'k1', '--role=r1', '--serviceaccount=k1:sa1'],
                 ['create', 'clusterrole', 'cr1', '--verb=get', '--non-resource-url=/healthz'],
                 ['create', 'clusterrolebinding', 'crb1', '--clusterrole=cr1', '--user=bob']):
        kubectl(kube_double, *args, check=True)
    assert kube_double.objects.get('secrets', 's1', 'k1')['data'] == {'a': 'Yg=='}
    assert kube_double.objects.get('rolebindings', 'rb1', 'k1')['subjects'] == [{'kind': 'ServiceAccount', 'name': 'sa1', 'namespace': 'k1'}]
    account = kube_double.objects.get('serviceaccounts', 'sa1', 'k1')
    assert set(account['metadata']) == {'name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp'}
    listing = kubectl(kube_double, 'get', 'sa', '-n', 'k1', check=True)
    assert listing.stdout.split('\n')[0].split() == ['NAME', 'AGE'] and 'sa1' in listing.stdout
    assert kubectl(kube_double, 'auth', 'can-i', 'get', '/healthz', '--as=bob', check=True).stdout.strip() == 'yes'
    kubectl(kube_double, 'delete', 'namespace', 'k1', '--timeout=10s', check=True)
    assert kube_double.objects.find('namespaces', 'k1') is None
    version = kubectl(kube_double, 'version', '-o', 'json', check=True)
    assert json.loads(version.stdout)['serverVersion']['gitVersion'] == 'v1.33.0'


def test_older_kubectl_picked_by_server_version(kube_double_factory, tmp_path):
    kube = kube_double_factory(version='v1.27.0')   # the dispatcher runs kubectl 1.27 (OpenAPI v2, whoami v1beta1)
    manifest = tmp_path / 'rbac.yaml'
    manifest.write_text(RBAC_YAML)
    kubectl(kube, 'apply', '-f', str(manifest), check=True)
    second = kubectl(kube, 'apply', '-f', str(manifest), check=True)
    assert 'role.rbac.authorization.k8s.io/token-minter unchanged' in second.stdout
    assert 'kubernetes-admin' in kubectl(kube, 'auth', 'whoami', check=True).stdout
    proc = kubectl(kube, 'create', 'token', 'app', '-n', 'demo', '--duration=5m')
    assert 'may not specify a duration less than 10 minutes' in proc.stderr
