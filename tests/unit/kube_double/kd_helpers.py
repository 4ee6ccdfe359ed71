"""Helpers for the double's own tests: raw HTTPS requests, kubectl, Python clients."""
import http.client
import json
import os
import ssl
import subprocess

import kubernetes
from kubernetes import client, config

CLIENT_MAJOR = int(kubernetes.__version__.split('.')[0])
TokenRequest = getattr(client, 'AuthenticationV1TokenRequest', None) or client.V1TokenRequest


class Raw:
    """Minimal HTTPS client: admin certificate, another user's certificate, a token or nothing."""

    def __init__(self, kube, user=None, groups=(), token=None, anonymous=False):
        self.kube = kube
        context = ssl.create_default_context(cafile=kube.ca_path)
        if not token and not anonymous:
            if user is None:
                cert, key = kube.pki.admin_cert_pem, kube.pki.admin_key_pem
            else:
                cert, key = kube.pki.client_cert(user, tuple(groups))
            name = 'raw-%s' % (user or 'admin').replace(':', '_')
            cert_path = os.path.join(kube.state_dir, name + '.crt')
            key_path = os.path.join(kube.state_dir, name + '.key')
            with open(cert_path, 'wb') as handle:
                handle.write(cert)
            with open(key_path, 'wb') as handle:
                handle.write(key)
            context.load_cert_chain(cert_path, key_path)
        self.context = context
        self.token = token

    def request(self, method, path, body=None, content_type='application/json', headers=None):
        conn = http.client.HTTPSConnection('127.0.0.1', self.kube.port, context=self.context, timeout=10)
        all_headers = {'Accept': 'application/json'}
        if self.token:
            all_headers['Authorization'] = 'Bearer %s' % self.token
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if body is not None:
            all_headers['Content-Type'] = content_type
        all_headers.update(headers or {})
        conn.request(method, path, body=body, headers=all_headers)
        response = conn.getresponse()
        data = response.read()
        conn.close()
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = data.decode()
        return response.status, response.headers, parsed

    def get(self, path, **kw):
        return self.request('GET', path, **kw)

    def post(self, path, body, **kw):
        return self.request('POST', path, body, **kw)


def api_client(kubeconfig):
    return config.new_client_from_config(config_file=kubeconfig)


def token_request(seconds=None, audiences=None, bound=None):
    spec = client.V1TokenRequestSpec(audiences=audiences or [], expiration_seconds=seconds)
    if bound:
        spec.bound_object_ref = client.V1BoundObjectReference(**bound)
    return TokenRequest(spec=spec)


def kubectl(kube, *args, kubeconfig=None, check=False, timeout=60):
    env = dict(os.environ, KUBECONFIG=kubeconfig or kube.kubeconfig_path, HOME=kube.state_dir)
    proc = subprocess.run(['kubectl', '--cache-dir', os.path.join(kube.state_dir, 'kubectl-cache')] + list(args),
                          capture_output=True, text=True, env=env, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError('kubectl %s failed (%d): %s' % (' '.join(args), proc.returncode, proc.stderr))
    return proc
