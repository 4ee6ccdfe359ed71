import base64
import os

import pytest
import yaml

from ansible_collections.mcp.k8s.plugins.module_utils import connection, errors, handoff, transport
from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError, REDACTED

SELF = '/apis/authentication.k8s.io/v1/selfsubjectreviews'


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith('K8S_AUTH_') or name == 'KUBECONFIG':
            monkeypatch.delenv(name)


@pytest.fixture
def admin_token(kube):
    """A token of a ServiceAccount that may do anything (cluster-admin)."""
    kube.create_service_account('admin', 'mcp')
    kube.grant('system:serviceaccount:mcp:admin', ['*'], ['*'], api_groups=['*'])
    return kube.mint_token('admin', 'mcp')


def kubeconfig_dict(kube, token):
    """The double's admin kubeconfig with ``token`` as the user."""
    with open(kube.write_kubeconfig(token=token), encoding='utf-8') as handle:
        return yaml.safe_load(handle)


def user_of(cluster):
    """Who the API server takes the caller of ``cluster`` for (SelfSubjectReview)."""
    answer = cluster.post(SELF, {'apiVersion': 'authentication.k8s.io/v1', 'kind': 'SelfSubjectReview'})
    return answer.data['status']['userInfo']


def test_auth_options_aliases_and_environment(monkeypatch):
    monkeypatch.setenv('K8S_AUTH_HOST', 'https://env:6443')
    monkeypatch.setenv('K8S_AUTH_VERIFY_SSL', 'no')
    monkeypatch.setenv('K8S_AUTH_IMPERSONATE_GROUPS', 'a,b')
    monkeypatch.setenv('K8S_AUTH_PROXY_HEADERS_USER_AGENT', 'me')
    options = connection.auth_options({'ssl_ca_cert': '/ca', 'name': 'not-a-connection-option', 'context': None})
    assert options == {'ca_cert': '/ca', 'host': 'https://env:6443', 'validate_certs': False,
                       'impersonate_groups': ['a', 'b'], 'proxy_headers': {'user_agent': 'me'}}
    assert connection.auth_options({'host': 'https://given'})['host'] == 'https://given'


def test_client_cached_per_configuration(kube, admin_token):
    first = connection.get_cluster({'host': kube.url, 'api_key': admin_token, 'ca_cert': kube.ca_path})
    assert connection.get_cluster({'host': kube.url + '/', 'api_key': admin_token,
                                  'ca_cert': kube.ca_path}) is not first
    assert connection.get_cluster({'host': kube.url, 'api_key': admin_token, 'ca_cert': kube.ca_path}) is first
    assert connection.get_cluster({'host': kube.url, 'api_key': 'other-token', 'ca_cert': kube.ca_path}) is not first
    assert first.get('/api/v1/namespaces/mcp')['metadata']['name'] == 'mcp'
    assert kube.requests[-1]['user'] == 'system:serviceaccount:mcp:admin'


def test_kubeconfig_dict_file_and_list(kube, admin_token, tmp_path):
    config = kubeconfig_dict(kube, admin_token)
    assert connection.get_cluster({'kubeconfig': config}).get('/api/v1/namespaces/mcp')
    path = tmp_path / 'config'
    path.write_text(yaml.safe_dump(config))
    other = tmp_path / 'other'
    other.write_text(yaml.safe_dump({'apiVersion': 'v1', 'kind': 'Config', 'clusters': [
        {'name': 'unused', 'cluster': {'server': 'https://unused:6443'}}]}))
    for value in (str(path), [str(other), str(path)]):
        cluster = connection.get_cluster({'kubeconfig': value})
        assert cluster.server == kube.url and cluster.get('/api/v1/namespaces/mcp')
    # every request authenticated with the kubeconfig's token
    assert [r['user'] for r in kube.requests] == ['system:serviceaccount:mcp:admin'] * 3


def test_kubeconfig_secrets_are_listed_and_redacted(kube):
    config = kubeconfig_dict(kube, 'kubeconfig-secret-token')
    options = connection.auth_options({'kubeconfig': config, 'api_key': 'api-key-secret'})
    assert connection.secret_values(options) == {'kubeconfig-secret-token', 'api-key-secret'}
    config['contexts'][0]['context']['cluster'] = 'missing kubeconfig-secret-token'
    with pytest.raises(K8sTokenError) as info:
        connection.get_cluster({'kubeconfig': config, 'context': config['contexts'][0]['name']})
    assert 'kubeconfig-secret-token' not in info.value.message
    assert info.value.message.startswith('No usable Kubernetes configuration')


def _contexts_config(names, current=None):
    return {'apiVersion': 'v1', 'kind': 'Config', 'current-context': current,
            'clusters': [{'name': 'c', 'cluster': {'server': 'https://127.0.0.1:6443'}}],
            'users': [{'name': 'u', 'user': {'token': 'kubeconfig-secret-token'}}],
            'contexts': [{'name': name, 'context': {'cluster': 'c', 'user': 'u'}} for name in names]}


def test_a_context_the_kubeconfig_lacks_is_named_with_those_it_has(tmp_path):
    east = tmp_path / 'east'
    east.write_text(yaml.safe_dump(_contexts_config(['east', 'east-admin'], current='east')))
    west = tmp_path / 'west'
    west.write_text(yaml.safe_dump(_contexts_config(['west'])))
    with pytest.raises(K8sTokenError) as info:
        connection.get_cluster({'kubeconfig': str(east), 'context': 'wets'})
    assert info.value.message == (
        'Context "wets" is not in kubeconfig %s, which has the contexts "east", "east-admin"; give one of those as '
        'the context option (K8S_AUTH_CONTEXT), or none for its current context "east".' % east)
    with pytest.raises(K8sTokenError) as info:
        connection.get_cluster({'kubeconfig': [str(west), str(east)], 'context': 'wets'})
    assert info.value.message == (
        'Context "wets" is not in kubeconfig %s and %s, which has the contexts "west", "east", "east-admin"; give '
        'one of those as the context option (K8S_AUTH_CONTEXT), or none for its current context "east".' % (west, east))
    with pytest.raises(K8sTokenError) as info:
        connection.get_cluster({'kubeconfig': _contexts_config(['only']), 'context': 'nope'})
    assert info.value.message == ('Context "nope" is not in the kubeconfig dict, which has the context "only"; give '
                                  'one of those as the context option (K8S_AUTH_CONTEXT).')
    with pytest.raises(K8sTokenError) as info:
        connection.get_cluster({'kubeconfig': _contexts_config([]), 'context': 'nope'})
    assert info.value.message == ('Context "nope" is not in the kubeconfig dict, which has no contexts; correct the '
                                  'kubeconfig or the context option (K8S_AUTH_CONTEXT).')
    # a context it has is loaded (from the second file)
    assert connection.get_cluster({'kubeconfig': [str(west), str(east)], 'context': 'east-admin'}).server == \
        'https://127.0.0.1:6443'


@pytest.mark.parametrize('options, source', [
    ({'kubeconfig': {'current-context': 'a', 'contexts': [{'name': 'a'}]}}, 'context "a" of the kubeconfig dict'),
    ({'kubeconfig': {'current-context': 'a'}, 'context': 'b'}, 'context "b" of the kubeconfig dict'),
    ({'kubeconfig': {}}, 'the kubeconfig dict'),
    ({'host': 'https://h:6443', 'api_key': 'k'}, None),
])
def test_the_cluster_asked_is_named(options, source):
    from ansible_collections.mcp.k8s.plugins.module_utils import kubeconfig
    assert kubeconfig.source_of(options) == source
    assert kubeconfig.asked_cluster('https://h:6443', options) == (
        'the API server at https://h:6443' + (' (%s)' % source if source else ''))


def test_the_cluster_asked_names_the_file_and_its_current_context(tmp_path, monkeypatch):
    from ansible_collections.mcp.k8s.plugins.module_utils import kubeconfig
    path = tmp_path / 'config'
    path.write_text(yaml.safe_dump(_contexts_config(['east'], current='east')))
    monkeypatch.setenv('KUBECONFIG', str(path))
    assert kubeconfig.source_of({}) == 'context "east" of kubeconfig %s' % path
    assert kubeconfig.source_of({'kubeconfig': str(path), 'context': 'west'}) == 'context "west" of kubeconfig %s' % path


def test_no_configuration(tmp_path, monkeypatch):
    monkeypatch.setenv('KUBECONFIG', str(tmp_path / 'missing'))
    monkeypatch.delenv('KUBERNETES_SERVICE_HOST', raising=False)
    with pytest.raises(K8sTokenError) as info:
        connection.get_cluster({})
    assert info.value.message.startswith('No usable Kubernetes configuration (')


def test_missing_ca_file(kube, tmp_path):
    with pytest.raises(K8sTokenError) as info:
        connection.get_cluster({'host': kube.url, 'api_key': 'x' * 8, 'ca_cert': str(tmp_path / 'ca.pem')})
    assert info.value.message == 'Cannot read %s (no such file); check the path.' % (tmp_path / 'ca.pem')


def test_impersonation_headers(kube):
    cluster = connection.get_cluster({'kubeconfig': kube.kubeconfig_path, 'impersonate_user': 'bob',
                                     'impersonate_groups': ['g1', 'g2']})
    user = user_of(cluster)
    assert user['username'] == 'bob'
    assert user['groups'][:2] == ['g1', 'g2']


def test_warning_headers_are_parsed():
    headers = {'Warning': '299 - "requested expiration of 86400 seconds shortened to 3600 seconds", '
                          '299 - "a \\"quoted\\" one"'}
    assert transport.parse_warnings(headers) == [
        'requested expiration of 86400 seconds shortened to 3600 seconds', 'a "quoted" one']


def test_kubeconfig_for_token_embeds_ca(kube, admin_token):
    with open(kube.ca_path, 'rb') as handle:
        ca = handle.read()
    cluster = connection.get_cluster({'host': kube.url, 'api_key': admin_token, 'ca_cert': kube.ca_path})
    config = handoff.kubeconfig_for_token(cluster, admin_token, 'mcp', 'system:serviceaccount:mcp:admin')
    assert base64.b64decode(config['clusters'][0]['cluster']['certificate-authority-data']) == ca
    assert config['users'][0]['user'] == {'token': admin_token}
    assert config['contexts'][0]['context']['namespace'] == 'mcp'
    assert config['current-context'] == config['contexts'][0]['name']
    # the kubeconfig works as it is
    assert user_of(connection.get_cluster({'kubeconfig': config}))['username'] == 'system:serviceaccount:mcp:admin'
    insecure = connection.get_cluster({'host': kube.url, 'api_key': admin_token, 'validate_certs': False})
    assert handoff.kubeconfig_for_token(insecure, 't', 'mcp', 'u')['clusters'][0]['cluster']['insecure-skip-tls-verify'] is True


def test_with_token_authenticates_with_the_token_only(cluster, kube):
    token = kube.mint_token('server', 'mcp')
    other = cluster.with_token(token)
    assert user_of(other)['username'] == 'system:serviceaccount:mcp:server'    # not the admin certificate
    assert REDACTED in errors.redact('x %s' % token)


def test_in_cluster_configuration_when_nothing_is_given(kube, tmp_path, monkeypatch):
    # kubernetes' in-cluster loader reads fixed paths under /var/run/secrets: point them at files
    from kubernetes.config import incluster_config
    token_file = tmp_path / 'token'
    token_file.write_text(kube.mint_token('server', 'mcp'))
    monkeypatch.setattr(incluster_config, 'SERVICE_TOKEN_FILENAME', str(token_file))
    monkeypatch.setattr(incluster_config, 'SERVICE_CERT_FILENAME', kube.ca_path)
    monkeypatch.setenv('KUBERNETES_SERVICE_HOST', '127.0.0.1')
    monkeypatch.setenv('KUBERNETES_SERVICE_PORT', str(kube.port))
    monkeypatch.setenv('KUBECONFIG', str(tmp_path / 'missing'))
    cluster = connection.get_cluster({})
    assert cluster.server == 'https://127.0.0.1:%d' % kube.port
    assert user_of(cluster)['username'] == 'system:serviceaccount:mcp:server'
    assert cluster.ca_data().startswith(b'-----BEGIN CERTIFICATE-----')


def test_merge_patch_and_namespace_exists(cluster, kube):
    path = '/api/v1/namespaces/mcp/serviceaccounts/server'
    answer = cluster.request('PATCH', path, body={'metadata': {'labels': {'a': 'b'}}},
                             content_type='application/merge-patch+json')
    assert answer.data['metadata']['labels'] == {'a': 'b'}
    assert kube.requests[-1]['content_type'] == 'application/merge-patch+json'
    assert cluster.namespace_exists('mcp') is True and cluster.namespace_exists('nowhere') is False
    bob = connection.get_cluster({'kubeconfig': kube.write_kubeconfig(user='bob')})
    assert bob.namespace_exists('nowhere') is True    # 403: cannot tell, so not called missing


def test_a_rejected_token_is_named_as_such(cluster, kube):
    token = kube.mint_token('server', 'mcp')
    kube.objects.delete('serviceaccounts', 'server', 'mcp')    # revokes the token
    with pytest.raises(K8sTokenError) as info:
        as_token = cluster.with_token(token)
        as_token.get('/api/v1/namespaces/mcp', action=as_token.action('get', 'namespaces', subject='"mcp"'))
    assert info.value.status == 401
    assert info.value.message == (
        'The API server at %s rejected the token (401 Unauthorized) when asked to get namespaces for "mcp"; '
        'the token has expired, been revoked (its Secret, ServiceAccount or bound object deleted) or is for '
        'another cluster.' % kube.url)
    bad = connection.get_cluster({'kubeconfig': kube.write_kubeconfig(token=token)})
    with pytest.raises(K8sTokenError, match='rejected the credentials .*; check the kubeconfig'):
        bad.get('/api/v1/namespaces/mcp', action=bad.action('get', 'namespaces'))


def test_every_printed_form_of_a_secret_is_redacted():
    secret = 'sekrit-with-newline-0123\n'
    errors.register_secret(secret)
    for text in ('Invalid header value %r' % ('Bearer ' + secret).encode(), 'value %r' % secret,
                 'json "%s"' % secret.replace('\n', '\\n'), 'raw %s' % secret, 'stripped %s.' % secret.strip()):
        assert 'sekrit-with-newline' not in errors.redact(text), text
        assert REDACTED in errors.redact(text)
    pem = '-----BEGIN PRIVATE KEY-----\n%s\n%s\n-----END PRIVATE KEY-----\n' % ('A' * 64, 'B' * 20)
    errors.register_secret(pem)
    assert errors.redact('line %s of the key' % ('A' * 64)) == 'line %s of the key' % REDACTED


def test_urls_are_shown_without_userinfo():
    assert errors.display_url('https://user:p%40ss@example.com:6443/x') == 'https://example.com:6443/x'
    assert errors.url_secrets('http://user:p%40ss@proxy:3128') == {'user:p%40ss', 'user:p@ss', 'p%40ss', 'p@ss'}
    assert errors.redact('Cannot reach http://u:pw-secret@proxy:3128 now') == 'Cannot reach http://proxy:3128 now'


@pytest.mark.parametrize('options, message', [
    ({'api_key': 'token-with-newline-1\n'}, 'api_key has whitespace (a line break or spaces) at its start or end; '
                                            'remove it, for example with the trim filter.'),
    ({'api_key': ' token-with-space-2'}, 'api_key has whitespace (a line break or spaces) at its start or end; '
                                         'remove it, for example with the trim filter.'),
    ({'username': 'me', 'password': 'pass word\n'}, 'password has a line break at its start or end; remove it, for '
                                                    'example with the trim filter.'),
    ({'request_timeout': -1}, 'request_timeout must be a positive number of seconds, not -1.'),
    ({'request_timeout': 0}, 'request_timeout must be a positive number of seconds, not 0.'),
])
def test_bad_credentials_and_timeouts_are_refused_before_any_request(kube, options, message):
    options = dict({'host': kube.url, 'api_key': 'good-token', 'ca_cert': kube.ca_path}, **options)
    with pytest.raises(K8sTokenError) as info:
        connection.get_cluster(options)
    assert info.value.message == message
    assert kube.requests == []


def test_request_timeout_from_the_environment_that_is_not_a_number(kube, monkeypatch):
    monkeypatch.setenv('K8S_AUTH_REQUEST_TIMEOUT', 'soon')
    with pytest.raises(K8sTokenError) as info:
        connection.get_cluster({'kubeconfig': kube.kubeconfig_path})
    assert info.value.message == 'request_timeout must be a positive number of seconds, not "soon".'


def test_a_kubeconfig_token_with_a_final_newline_is_refused_and_never_shown(kube, admin_token, tmp_path):
    config = kubeconfig_dict(kube, admin_token + '\n')
    path = tmp_path / 'config'
    path.write_text(yaml.safe_dump(config))
    assert admin_token in connection.secret_values({'kubeconfig': str(path)})   # file tokens too
    for value, where in ((str(path), 'kubeconfig %s' % path), (config, 'the kubeconfig dict')):
        with pytest.raises(K8sTokenError) as info:
            connection.get_cluster({'kubeconfig': value})
        assert info.value.message == ('The token of user "token" in %s has whitespace (a line break or spaces) at '
                                      'its start or end; remove it.' % where)
    assert kube.requests == []


def test_a_token_file_is_trimmed_as_kubectl_does(kube, admin_token, tmp_path):
    token_file = tmp_path / 'token'
    token_file.write_text(admin_token + '\n')
    config = kubeconfig_dict(kube, admin_token)
    config['users'][0]['user'] = {'tokenFile': str(token_file)}
    path = tmp_path / 'config'
    path.write_text(yaml.safe_dump(config))
    assert admin_token in connection.secret_values({'kubeconfig': str(path)})
    cluster = connection.get_cluster({'kubeconfig': str(path)})
    assert user_of(cluster)['username'] == 'system:serviceaccount:mcp:admin'


def test_exec_plugin_env_and_args_are_secrets(kube):
    config = kubeconfig_dict(kube, 'x')
    config['users'][0]['user'] = {'exec': {
        'apiVersion': 'client.authentication.k8s.io/v1', 'command': 'get-token',
        'args': ['--region', 'eu-west-1', '--secret=arg-secret-value', '--token', 'next-arg-secret',
                 'a-long-argument-that-may-be-a-secret'],
        'env': [{'name': 'VAULT_TOKEN', 'value': 'env-secret'}, {'name': 'AWS_PROFILE', 'value': 'prod'}]}}
    found = connection.secret_values({'kubeconfig': config})
    assert {'env-secret', 'arg-secret-value', 'next-arg-secret', 'a-long-argument-that-may-be-a-secret'} <= found
    assert not {'eu-west-1', '--region', 'prod', '--token'} & found     # masked everywhere otherwise


def test_host_with_userinfo_is_never_shown(kube, admin_token):
    cluster = connection.get_cluster({'host': kube.url.replace('https://', 'https://me:host-password@'),
                                     'api_key': admin_token, 'ca_cert': kube.ca_path})
    assert cluster.server == kube.url and cluster.configuration.host == kube.url
    assert handoff.kubeconfig_for_token(cluster, 't', 'mcp', 'u')['clusters'][0]['cluster']['server'] == kube.url
    with pytest.raises(K8sTokenError) as info:
        connection.get_cluster({'host': 'ftp://me:host-password-2@nowhere', 'api_key': admin_token})
    assert 'host-password-2' not in info.value.message and 'ftp://nowhere' in info.value.message


def test_an_unreachable_proxy_is_named_as_the_proxy(kube, admin_token):
    import socket
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]      # nothing listens there once closed
    proxy = 'http://proxyuser:proxy-password@127.0.0.1:%d' % port
    cluster = connection.get_cluster({'host': kube.url, 'api_key': admin_token, 'ca_cert': kube.ca_path,
                                     'proxy': proxy, 'request_timeout': 2})
    assert cluster.configuration.proxy == 'http://127.0.0.1:%d' % port
    assert cluster.configuration.proxy_headers['proxy-authorization'] == \
        'Basic ' + base64.b64encode(b'proxyuser:proxy-password').decode()
    with pytest.raises(K8sTokenError) as info:
        cluster.get('/api/v1/namespaces')
    assert info.value.message == (
        'Cannot reach the API server at %s through the proxy http://127.0.0.1:%d (connection refused); check proxy '
        '(or proxy-url in the kubeconfig) and that the proxy is running and lets the connection through.'
        % (kube.url, port))
    assert kube.requests == []
