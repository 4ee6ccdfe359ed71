"""Credentials and files that are wrong in one way each, for the bad-input and TLS tests.

Certificates are made with ``cryptography``: an expired client certificate signed by the
double's own CA (``kube_double.pki``), one signed by a CA the double does not trust, and a
CA bundle that does not verify the double's serving certificate.
"""
import base64
import datetime
import json
import os
import socket
import time

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _name(common_name, organizations=()):
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_ca(common_name='foreign-ca'):
    """A self-signed CA: (key, certificate)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name)
    now = _now()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def client_certificate(ca_key, ca_cert, user, groups=(), expired=False):
    """(certificate PEM, key PEM) for ``user``, signed by ``ca_key``; ``expired`` ended yesterday."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    if expired:
        start, end = now - datetime.timedelta(days=30), now - datetime.timedelta(days=1)
    else:
        start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)
    cert = (x509.CertificateBuilder().subject_name(_name(user, groups)).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return _pem(cert), _key_pem(key)


def _b64(data):
    return base64.b64encode(data).decode('ascii')


class BadFiles:
    """Paths of broken kubeconfigs and CA bundles next to a working double, and their secrets."""

    def __init__(self, cluster, directory):
        self.kube = cluster
        self.dir = str(directory)
        os.makedirs(self.dir, exist_ok=True)
        with open(cluster.kubeconfig_path, encoding='utf-8') as handle:
            self.admin = yaml.safe_load(handle)
        self.secrets = {self.admin['users'][0]['user']['client-key-data'],
                        _b64(cluster.pki.admin_key_pem), cluster.pki.admin_key_pem.decode().split('\n')[1]}
        foreign_key, foreign_cert = make_ca()
        self.foreign_ca = self._write('foreign-ca.pem', _pem(foreign_cert))

        wrong_ca = self._admin_copy()
        wrong_ca['clusters'][0]['cluster']['certificate-authority-data'] = _b64(_pem(foreign_cert))
        self.wrong_ca = self._dump('wrong-ca.kubeconfig', wrong_ca)

        cert, key = client_certificate(cluster.pki.ca_key, cluster.pki.ca_cert, 'kubernetes-admin', ('system:masters',),
                                       expired=True)
        self.expired = self._dump('expired-cert.kubeconfig', self._with_client(cert, key))
        cert, key = client_certificate(foreign_key, foreign_cert, 'kubernetes-admin', ('system:masters',))
        self.untrusted_client = self._dump('untrusted-client.kubeconfig', self._with_client(cert, key))

        self.malformed = self._write('malformed.kubeconfig', b'apiVersion: v1\nclusters: [ {name: x\n  users: :::\n')
        self.not_a_mapping = self._write('list.kubeconfig', b'- apiVersion\n- v1\n')
        self.binary = self._write('binary.kubeconfig', bytes(range(256)) * 4)
        self.empty = self._write('empty.kubeconfig', b'')
        self.directory = os.path.join(self.dir, 'a-directory')
        os.makedirs(self.directory, exist_ok=True)
        no_server = self._admin_copy()
        del no_server['clusters'][0]['cluster']['server']
        self.no_server = self._dump('no-server.kubeconfig', no_server)

        # a real token with the final newline a file or a YAML block scalar leaves
        self.newline_token = cluster.mint_token('server', 'mcp')
        self.secrets.update((self.newline_token, self.newline_token.rsplit('.', 1)[1]))
        token_newline = self._admin_copy()
        token_newline['users'][0]['user'] = {'token': self.newline_token + '\n'}
        self.token_newline = self._dump('token-newline.kubeconfig', token_newline)
        self.api_key_newline = self.newline_token + '\n'
        # passwords in URLs: never shown
        self.url_with_password = cluster.url.replace('https://', 'https://admin:sekrit-host-password@')
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            self.dead_proxy_port = sock.getsockname()[1]     # nothing listens there once closed
        self.dead_proxy = 'http://proxyuser:sekrit-proxy-password@127.0.0.1:%d' % self.dead_proxy_port
        self.dead_proxy_shown = 'http://127.0.0.1:%d' % self.dead_proxy_port
        self.exp_text_token = unsigned_token(sub='system:serviceaccount:mcp:server', exp='soon')
        self._server_files()

    def _server_files(self):
        """A folder per mcp.k8s.server_files case, with the files in its way (``sf_*``)."""
        from ansible_collections.mcp.k8s.plugins.module_utils import server_files

        def folder(name):
            path = os.path.join(self.dir, 'server-files', name)
            os.makedirs(path)
            return path

        def written_for(path, username, server):
            params = {'state': 'present', 'token': 'sekrit-written-token', 'expiration_timestamp': '2030-01-01T00:00:00Z',
                      'kubeconfig_path': os.path.join(path, 'kubeconfig'), 'config_path': os.path.join(path, 'config.yaml'),
                      'exec_command': '/bin/cat', 'server': {'host': '127.0.0.1', 'port': 8000, 'transport': 'sse',
                                                             'namespace': 'default', 'monitoring': {}}}
            server_files.ensure(server_files.plan(params, {'server': server}, username)[0])

        self.sf_same = folder('same')
        self.sf_role_same = folder('role-same')
        self.sf_link = folder('link')
        os.symlink(os.path.join(self.sf_link, 'kubeconfig'), os.path.join(self.sf_link, 'config.yaml'))
        self.sf_tool = folder('tool')   # another tool's ExecCredential where the credential file goes
        self._write(os.path.join('server-files', 'tool', 'kubeconfig.credential.json'), json.dumps(
            {'apiVersion': 'client.authentication.k8s.io/v1', 'kind': 'ExecCredential',
             'status': {'token': 'sekrit-tool-token', 'expirationTimestamp': '2030-01-01T00:00:00Z'}}).encode())
        self.sf_other_account = folder('other-account')
        written_for(self.sf_other_account, 'system:serviceaccount:mcp:other', self.kube.url)
        self.sf_other_cluster = folder('other-cluster')
        written_for(self.sf_other_cluster, 'system:serviceaccount:mcp:server', 'https://west.example:6443')

    def _admin_copy(self):
        return yaml.safe_load(yaml.safe_dump(self.admin))

    def _with_client(self, cert, key):
        config = self._admin_copy()
        config['users'][0]['user'] = {'client-certificate-data': _b64(cert), 'client-key-data': _b64(key)}
        self.secrets.add(_b64(key))
        return config

    def _write(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, 'wb') as handle:
            handle.write(data)
        return path

    def _dump(self, name, config):
        return self._write(name, yaml.safe_dump(config).encode('utf-8'))


def unsigned_token(**claims):
    """A JWT that is not the API server's (HS256 with a made-up key), for malformed answers."""
    import jwt
    now = int(time.time())
    payload = {'iss': 'https://kubernetes.default.svc.cluster.local', 'aud': ['https://kubernetes.default.svc.cluster.local'],
               'iat': now, 'exp': now + 3600}
    payload.update(claims)
    return jwt.encode(payload, 'k' * 32, algorithm='HS256')


def answer_rewrites(cluster, other_token):
    """TokenRequest answers kube-apiserver never sends, by ServiceAccount name (one case each)."""
    def status(**fields):
        def rewrite(body):
            body['status'].update(fields)
            return body
        return rewrite
    return {
        'answer-past': status(expirationTimestamp='2001-01-01T00:00:00Z'),
        'answer-not-rfc3339': status(expirationTimestamp='next tuesday'),
        'answer-other-account': status(token=other_token),
        'answer-exp-text': status(token=unsigned_token(sub='system:serviceaccount:mcp:answer-exp-text', exp='soon')),
        'answer-opaque': status(token='sekrit-opaque-answer'),
        'answer-opaque-lookup': status(token='sekrit-opaque-answer'),
    }
