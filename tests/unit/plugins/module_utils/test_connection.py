import base64
import os

import pytest
import yaml

from ansible_collections.mcp.k8s.plugins.module_utils import connection
from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError, REDACTED

from fake_api import ADMIN_TOKEN


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith('K8S_AUTH_') or name == 'KUBECONFIG':
            monkeypatch.delenv(name)


def kubeconfig_dict(url, token=ADMIN_TOKEN, ca_data=None):
    cluster = {'server': url}
    if ca_data:
        cluster['certificate-authority-data'] = base64.b64encode(ca_data).decode()
    return {'apiVersion': 'v1', 'kind': 'Config', 'current-context': 'fake',
            'clusters': [{'name': 'fake', 'cluster': cluster}],
            'users': [{'name': 'admin', 'user': {'token': token}}],
            'contexts': [{'name': 'fake', 'context': {'cluster': 'fake', 'user': 'admin'}}]}


def test_auth_options_aliases_and_environment(monkeypatch):
    monkeypatch.setenv('K8S_AUTH_HOST', 'https://env:6443')
    monkeypatch.setenv('K8S_AUTH_VERIFY_SSL', 'no')
    monkeypatch.setenv('K8S_AUTH_IMPERSONATE_GROUPS', 'a,b')
    monkeypatch.setenv('K8S_AUTH_PROXY_HEADERS_USER_AGENT', 'me')
    options = connection.auth_options({'ssl_ca_cert': '/ca', 'name': 'not-a-connection-option', 'context': None})
    assert options == {'ca_cert': '/ca', 'host': 'https://env:6443', 'validate_certs': False,
                       'impersonate_groups': ['a', 'b'], 'proxy_headers': {'user_agent': 'me'}}
    assert connection.auth_options({'host': 'https://given'})['host'] == 'https://given'


def test_client_cached_per_configuration(fake_api):
    first = connection.get_api_client({'host': fake_api.url, 'api_key': ADMIN_TOKEN})
    assert connection.get_api_client({'host': fake_api.url + '/', 'api_key': ADMIN_TOKEN}) is not first
    assert connection.get_api_client({'host': fake_api.url, 'api_key': ADMIN_TOKEN}) is first
    assert connection.get_api_client({'host': fake_api.url, 'api_key': 'other-token'}) is not first
    assert first.get('/api/v1/namespaces/mcp')['metadata']['name'] == 'mcp'


def test_kubeconfig_dict_file_and_list(fake_api, tmp_path):
    config = kubeconfig_dict(fake_api.url)
    assert connection.get_api_client({'kubeconfig': config}).get('/api/v1/namespaces/mcp')
    path = tmp_path / 'config'
    path.write_text(yaml.safe_dump(config))
    other = tmp_path / 'other'
    other.write_text(yaml.safe_dump({'apiVersion': 'v1', 'kind': 'Config', 'clusters': [
        {'name': 'unused', 'cluster': {'server': 'https://unused:6443'}}]}))
    for value in (str(path), [str(other), str(path)]):
        cluster = connection.get_api_client({'kubeconfig': value})
        assert cluster.server == fake_api.url and cluster.get('/api/v1/namespaces/mcp')
    assert fake_api.requests[-1]['headers']['authorization'] == 'Bearer ' + ADMIN_TOKEN


def test_kubeconfig_secrets_are_listed_and_redacted(fake_api):
    config = kubeconfig_dict(fake_api.url, token='kubeconfig-secret-token')
    options = connection.auth_options({'kubeconfig': config, 'api_key': 'api-key-secret'})
    assert connection.secret_values(options) == {'kubeconfig-secret-token', 'api-key-secret'}
    config['contexts'][0]['context']['cluster'] = 'missing kubeconfig-secret-token'
    with pytest.raises(K8sTokenError) as info:
        connection.get_api_client({'kubeconfig': config, 'context': 'nope'})
    assert 'kubeconfig-secret-token' not in info.value.message
    assert info.value.message.startswith('No usable Kubernetes configuration')


def test_no_configuration(tmp_path, monkeypatch):
    monkeypatch.setenv('KUBECONFIG', str(tmp_path / 'missing'))
    monkeypatch.delenv('KUBERNETES_SERVICE_HOST', raising=False)
    with pytest.raises(K8sTokenError) as info:
        connection.get_api_client({})
    assert info.value.message.startswith('No usable Kubernetes configuration (')


def test_missing_ca_file(fake_api, tmp_path):
    with pytest.raises(K8sTokenError) as info:
        connection.get_api_client({'host': fake_api.url, 'api_key': 'x' * 8, 'ca_cert': str(tmp_path / 'ca.pem')})
    assert info.value.message == 'Cannot read %s (no such file); check the path.' % (tmp_path / 'ca.pem')


def test_impersonation_headers(fake_api):
    cluster = connection.get_api_client({'host': fake_api.url, 'api_key': ADMIN_TOKEN, 'impersonate_user': 'bob',
                                         'impersonate_groups': ['g1', 'g2']})
    cluster.get('/api/v1/namespaces/mcp')
    headers = fake_api.requests[-1]['headers']
    assert headers['impersonate-user'] == 'bob'
    assert fake_api.requests[-1]['groups'] == ['g1', 'g2']


def test_warning_headers_are_parsed():
    headers = {'Warning': '299 - "requested expiration of 86400 seconds shortened to 3600 seconds", '
                          '299 - "a \\"quoted\\" one"'}
    assert connection.parse_warnings(headers) == [
        'requested expiration of 86400 seconds shortened to 3600 seconds', 'a "quoted" one']


def test_kubeconfig_for_token_embeds_ca(fake_api, tmp_path):
    ca = b'-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'
    ca_path = tmp_path / 'ca.pem'
    ca_path.write_bytes(ca)
    cluster = connection.get_api_client({'host': fake_api.url, 'api_key': ADMIN_TOKEN, 'ca_cert': str(ca_path)})
    config = cluster.kubeconfig_for_token('tok', 'mcp', 'system:serviceaccount:mcp:server')
    assert base64.b64decode(config['clusters'][0]['cluster']['certificate-authority-data']) == ca
    assert config['users'][0]['user'] == {'token': 'tok'}
    assert config['contexts'][0]['context']['namespace'] == 'mcp'
    assert config['current-context'] == config['contexts'][0]['name']
    insecure = connection.get_api_client({'host': fake_api.url, 'api_key': ADMIN_TOKEN, 'validate_certs': False})
    assert insecure.kubeconfig_for_token('t', 'mcp', 'u')['clusters'][0]['cluster']['insecure-skip-tls-verify'] is True


def test_with_token_authenticates_with_the_token_only(cluster, fake_api):
    other = cluster.with_token('eyJ-some-token-value')
    other.get('/api/v1/namespaces/mcp')
    assert fake_api.requests[-1]['headers']['authorization'] == 'Bearer eyJ-some-token-value'
    assert REDACTED in str(__import__('ansible_collections.mcp.k8s.plugins.module_utils.errors',
                                      fromlist=['redact']).redact('x eyJ-some-token-value'))


def test_in_cluster_configuration_when_nothing_is_given(tmp_path, monkeypatch):
    from kubernetes.config import incluster_config
    token_file, ca_file = tmp_path / 'token', tmp_path / 'ca.crt'
    token_file.write_text('in-cluster-token-value')
    ca_file.write_text('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')
    monkeypatch.setattr(incluster_config, 'SERVICE_TOKEN_FILENAME', str(token_file))
    monkeypatch.setattr(incluster_config, 'SERVICE_CERT_FILENAME', str(ca_file))
    monkeypatch.setenv('KUBERNETES_SERVICE_HOST', '10.96.0.1')
    monkeypatch.setenv('KUBERNETES_SERVICE_PORT', '443')
    monkeypatch.setenv('KUBECONFIG', str(tmp_path / 'missing'))
    cluster = connection.get_api_client({})
    assert cluster.server == 'https://10.96.0.1:443'
    header = cluster._headers()['authorization']  # pylint: disable=protected-access
    assert header.lower() == 'bearer in-cluster-token-value'  # the client writes 'bearer'
    assert cluster.ca_data().startswith(b'-----BEGIN CERTIFICATE-----')
