import pytest

from ansible_collections.mcp.k8s.plugins.module_utils import connection


@pytest.fixture
def kube(kube_double, monkeypatch):
    """The API server double with ServiceAccounts mcp/server and default/default; no
    connection settings from the environment."""
    for name in ('K8S_AUTH_KUBECONFIG', 'K8S_AUTH_HOST', 'K8S_AUTH_API_KEY', 'KUBECONFIG'):
        monkeypatch.delenv(name, raising=False)
    kube_double.create_service_account('server', 'mcp')
    kube_double.create_service_account('default', 'default')
    kube_double.clear_requests()
    return kube_double


@pytest.fixture
def cluster(kube):
    """The core's client on the double, as its admin (client certificate)."""
    return connection.get_cluster({'kubeconfig': kube.kubeconfig_path})
