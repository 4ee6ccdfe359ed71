import pytest

from ansible_collections.mcp.k8s.plugins.module_utils import connection

from fake_api import ADMIN_TOKEN, FakeApi


@pytest.fixture
def fake_api():
    api = FakeApi()
    yield api
    api.close()


@pytest.fixture
def cluster(fake_api, monkeypatch):
    for name in ('K8S_AUTH_KUBECONFIG', 'K8S_AUTH_HOST', 'K8S_AUTH_API_KEY', 'KUBECONFIG'):
        monkeypatch.delenv(name, raising=False)
    return connection.get_api_client({'host': fake_api.url, 'api_key': ADMIN_TOKEN})
