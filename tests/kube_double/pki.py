"""Keys and certificates for the double, generated with ``cryptography`` once per process.

Every double started in the same process shares one CA, one server certificate (for
``127.0.0.1`` and ``localhost``, whatever the port), one admin client certificate and one
RSA service-account signing key, so a fresh double per test costs no key generation.
"""
import base64
import datetime
import hashlib
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
import ipaddress

_LOCK = threading.Lock()
_CACHE = {}

ADMIN_USER = 'kubernetes-admin'
ADMIN_GROUPS = ('system:masters',)


def _pem_cert(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(common_name, organizations=()):
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


class Pki:
    """The CA, serving certificate, admin client certificate and signing key (all PEM bytes)."""

    def __init__(self):
        self._clients = {}
        now = _now()
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = _name('kube-double-ca')
        self.ca_cert = (
            x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
            .public_key(self.ca_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.ca_key.public_key()), critical=False)
            .sign(self.ca_key, hashes.SHA256()))
        self.ca_pem = _pem_cert(self.ca_cert)
        self.server_cert_pem, self.server_key_pem = self._issue(
            'kube-apiserver', (), server=True)
        self.admin_cert_pem, self.admin_key_pem = self._issue(ADMIN_USER, ADMIN_GROUPS)
        self.sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.sa_public = self.sa_key.public_key()
        der = self.sa_public.public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
        self.kid = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b'=').decode()
        self.sa_key_pem = _pem_key(self.sa_key)

    def _issue(self, common_name, organizations, server=False):
        now = _now()
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder().subject_name(_name(common_name, organizations))
            .issuer_name(self.ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()), critical=False))
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName([
                x509.DNSName('localhost'), x509.DNSName('kubernetes'), x509.DNSName('kubernetes.default'),
                x509.DNSName('kubernetes.default.svc'),
                x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]), critical=False)
            builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        else:
            builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        cert = builder.sign(self.ca_key, hashes.SHA256())
        return _pem_cert(cert), _pem_key(key)

    def client_cert(self, user, groups=()):
        """A client certificate (PEM cert, PEM key) for ``user`` in ``groups``; cached."""
        cache_key = (user, tuple(groups))
        found = self._clients.get(cache_key)
        if found is None:
            found = self._issue(user, tuple(groups))
            self._clients[cache_key] = found
        return found


def get_pki():
    """The process-wide :class:`Pki`, created on first use."""
    with _LOCK:
        if 'pki' not in _CACHE:
            _CACHE['pki'] = Pki()
        return _CACHE['pki']
