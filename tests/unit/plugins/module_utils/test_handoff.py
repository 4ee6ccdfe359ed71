import os
import stat

import pytest

from ansible_collections.mcp.k8s.plugins.module_utils import connection, handoff, serviceaccounts, tokens

TOKEN_PATH = r'/serviceaccounts/[^/]+/token$'


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch):
    home = tmp_path / 'cache-home'
    monkeypatch.setenv('XDG_CACHE_HOME', str(home))
    return home


def spec(**kwargs):
    options = {'name': 'server', 'namespace': 'mcp'}
    options.update(kwargs)
    return tokens.token_spec(options)


def minted(cluster, **kwargs):
    """A minted result completed with the connection values; the warnings given."""
    warnings = []
    the_spec = spec(**kwargs)
    result = serviceaccounts.ensure_token(cluster, the_spec)
    handoff.complete(cluster, the_spec, result, warn=warnings.append)
    return result, warnings


def test_connection_values_from_kubeconfig_data_keep_the_ca_in_a_0644_file(cluster, kube, cache_home):
    result, warnings = minted(cluster)
    values = result['connection']
    assert warnings == []
    assert set(values) == {'host', 'api_key', 'validate_certs', 'ca_cert'}
    assert values['host'] == kube.url and values['api_key'] == result['token'] and values['validate_certs'] is True
    # the kubeconfig holds certificate-authority-data: the client's temporary file goes at exit
    path = values['ca_cert']
    assert os.path.dirname(path) == str(cache_home / 'mcp.k8s' / 'ca')
    with open(path, 'rb') as handle, open(kube.ca_path, 'rb') as expected:
        assert handle.read() == expected.read()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    # the same CA, the same file, not rewritten
    before = os.stat(path).st_mtime_ns
    again, _warnings = minted(cluster)
    assert again['connection']['ca_cert'] == path and os.stat(path).st_mtime_ns == before


def test_a_ca_file_given_is_handed_on_as_it_is(kube, cache_home):
    cluster = connection.get_cluster({'kubeconfig': kube.kubeconfig_path, 'ca_cert': kube.ca_path})
    result, _warnings = minted(cluster)
    assert result['connection']['ca_cert'] == os.path.abspath(kube.ca_path)
    assert not cache_home.exists()


def test_no_verification_is_handed_on_as_such_and_without_a_ca(kube):
    cluster = connection.get_cluster({'kubeconfig': kube.kubeconfig_path, 'validate_certs': False})
    result, _warnings = minted(cluster)
    assert result['connection']['validate_certs'] is False and 'ca_cert' not in result['connection']


def test_a_ca_directory_others_may_write_to_is_refused_with_a_warning(cluster, cache_home):
    directory = cache_home / 'mcp.k8s' / 'ca'
    directory.mkdir(parents=True)
    directory.chmod(0o777)
    result, warnings = minted(cluster)
    assert 'ca_cert' not in result['connection'] and result['connection']['validate_certs'] is True
    assert len(warnings) == 1 and 'connection.ca_cert is missing' in warnings[0] and 'XDG_CACHE_HOME' in warnings[0]
    assert os.listdir(str(directory)) == []


def test_a_ca_directory_that_is_a_symbolic_link_is_refused(cluster, cache_home, tmp_path):
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir(mode=0o700)
    (cache_home / 'mcp.k8s').mkdir(parents=True)
    os.symlink(str(elsewhere), str(cache_home / 'mcp.k8s' / 'ca'))
    result, warnings = minted(cluster)
    assert 'ca_cert' not in result['connection'] and 'cannot be trusted' in warnings[0]
    assert os.listdir(str(elsewhere)) == []


@pytest.mark.parametrize('folder', ['mcp.k8s', 'mcp.k8s/ca'])
@pytest.mark.parametrize('fault', ['another user', 'others write', 'group writes', 'symbolic link'])
def test_every_folder_the_collection_creates_is_checked(cluster, cache_home, tmp_path, folder, fault):
    """Whoever may replace mcp.k8s (not only ca) could swap the CA behind connection.ca_cert."""
    bad = cache_home / folder
    if fault == 'symbolic link':
        elsewhere = tmp_path / 'elsewhere'
        elsewhere.mkdir(mode=0o700)
        bad.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(str(elsewhere), str(bad))
    else:
        bad.mkdir(parents=True, mode=0o700)
        if fault == 'another user':
            os.chown(str(bad), os.geteuid() + 4242, -1)
        else:
            bad.chmod(0o702 if fault == 'others write' else 0o720)
    result, warnings = minted(cluster)
    assert 'ca_cert' not in result['connection']
    reason = {'another user': 'belongs to another user (uid %d)' % (os.geteuid() + 4242), 'others write':
              'may be written to by others', 'group writes': 'may be written to by its group',
              'symbolic link': 'is a symbolic link'}[fault]
    assert warnings == ['connection.ca_cert is missing: %s %s, so a CA kept under it cannot be trusted; set '
                        'XDG_CACHE_HOME to a directory of your own, or give ca_cert as a file.' % (bad, reason)]
    assert not list(cache_home.glob('**/*.crt')) and not list(tmp_path.glob('elsewhere/*'))


def test_the_folders_are_created_0700(cluster, cache_home):
    result, _warnings = minted(cluster)
    assert result['connection']['ca_cert']
    for folder in ('mcp.k8s', 'mcp.k8s/ca'):
        assert stat.S_IMODE(os.stat(str(cache_home / folder)).st_mode) == 0o700


def test_no_token_no_connection_and_no_request(cluster, kube):
    the_spec = spec(audiences=['vault'])
    result = serviceaccounts.ensure_token(cluster, the_spec, check_mode=True)
    kube.clear_requests()
    handoff.complete(cluster, the_spec, result, warn=pytest.fail)
    assert result['connection'] is None and kube.requests == []


@pytest.fixture
def audiences_cluster(kube_double_factory, monkeypatch):
    """A double whose API server accepts audiences api and api2 only."""
    for name in ('K8S_AUTH_KUBECONFIG', 'K8S_AUTH_HOST', 'K8S_AUTH_API_KEY', 'KUBECONFIG'):
        monkeypatch.delenv(name, raising=False)
    kube = kube_double_factory(api_audiences=['api', 'api2'])
    kube.create_service_account('server', 'mcp')
    kube.clear_requests()
    return kube, connection.get_cluster({'kubeconfig': kube.kubeconfig_path})


def test_audiences_the_api_server_does_not_accept_are_warned_about_once(audiences_cluster):
    kube, cluster = audiences_cluster
    result, warnings = minted(cluster, audiences=['vault'])
    assert result['audiences'] == ['vault']
    assert len(warnings) == 1
    assert 'ServiceAccount "mcp/server" is for vault' in warnings[0]
    assert '(it accepts api, api2)' in warnings[0] and 'add api to audiences' in warnings[0]
    assert result['token'] not in warnings[0]
    # the mint and one request that asks the API server's audiences
    assert kube.count('POST', TOKEN_PATH) == 2 == len(kube.requests)


@pytest.mark.parametrize('audiences', [[], ['api2'], ['vault', 'api']])
def test_audiences_the_api_server_accepts_are_not_warned_about(audiences_cluster, audiences):
    kube, cluster = audiences_cluster
    _result, warnings = minted(cluster, audiences=audiences)
    assert warnings == []
    # without audiences asked for, no request beyond the mint
    assert kube.count('POST', TOKEN_PATH) == (1 if not audiences else 2)


def test_a_reused_token_is_not_checked_again(audiences_cluster):
    kube, cluster = audiences_cluster
    first, _warnings = minted(cluster, audiences=['vault'])
    kube.clear_requests()
    the_spec = spec(audiences=['vault'])
    result = serviceaccounts.ensure_token(cluster, the_spec, token=first['token'])
    warnings = []
    handoff.complete(cluster, the_spec, result, warn=warnings.append)
    assert result['reused'] is True and warnings == [] and kube.count('POST', TOKEN_PATH) == 0


def test_an_api_server_that_does_not_say_gives_no_warning(audiences_cluster):
    kube, cluster = audiences_cluster
    kube.inject_fault(TOKEN_PATH, status=403, count=1)
    assert handoff.audience_warning(cluster, spec(audiences=['vault']), ['vault']) is None
