"""The double's test-only ``token_lifetime``: tokens that expire in test time."""
import base64
import json
import time

from kd_helpers import Raw


def _claims(token):
    payload = token.split('.')[1]
    return json.loads(base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4)))


def test_every_token_lives_token_lifetime_seconds_and_then_fails(kube_double_factory):
    kube = kube_double_factory(token_lifetime=2)
    kube.create_service_account('app', 'ns1')
    status, _headers, raw = Raw(kube).post('/api/v1/namespaces/ns1/serviceaccounts/app/token',
                                           {'spec': {'expirationSeconds': 3600}})
    assert status == 201 and raw['spec']['expirationSeconds'] == 2
    claims = _claims(raw['status']['token'])
    assert claims['exp'] - claims['iat'] == 2
    assert raw['status']['expirationTimestamp'] == time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(claims['exp']))
    holder = Raw(kube, token=raw['status']['token'])
    assert holder.request('GET', '/api/v1/namespaces/ns1/pods')[0] == 403      # authenticated, not allowed
    time.sleep(claims['exp'] - time.time() + 1.1)
    assert holder.request('GET', '/api/v1/namespaces/ns1/pods')[0] == 401
    # validation still comes first: below the 10-minute minimum is refused as before
    assert Raw(kube).post('/api/v1/namespaces/ns1/serviceaccounts/app/token',
                          {'spec': {'expirationSeconds': 60}})[0] == 422
