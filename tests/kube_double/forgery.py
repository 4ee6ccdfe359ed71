"""Tokens a cluster did not issue, made as an attacker or a careless operator would (tests only).

Each names a real ServiceAccount (its namespace, name and uid, which are not secret) and expires
in 2100: unsigned (``alg: none``), signed by a key of someone else (its own key id, or the
cluster's key id), and signed by the cluster's key with another issuer. Works on both tiers:
``kube`` is the double or the real control plane (both have ``pki``, ``issuers``, ``api_audiences``).
"""
import time
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

EXP_2100 = 4102444800
KINDS = ('alg none', 'another key', 'another key, the cluster key id', 'another issuer')

_OTHER_KEY = []


def other_key():
    """An RSA key no cluster of the tests uses (made once per process)."""
    if not _OTHER_KEY:
        _OTHER_KEY.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _OTHER_KEY[0]


def claims(kube, name, namespace, uid, issuer=None):
    now = int(time.time())
    return {'aud': list(kube.api_audiences), 'exp': EXP_2100, 'iat': now, 'nbf': now,
            'iss': issuer or kube.issuers[0], 'jti': str(uuid.uuid4()),
            'kubernetes.io': {'namespace': namespace, 'serviceaccount': {'name': name, 'uid': uid}},
            'sub': 'system:serviceaccount:%s:%s' % (namespace, name)}


def forge(kube, kind, name, namespace, uid):
    """A token of ``kind`` (one of :data:`KINDS`) for the ServiceAccount ``namespace/name`` with ``uid``."""
    if kind == 'alg none':
        return jwt.encode(claims(kube, name, namespace, uid), None, algorithm='none')
    if kind == 'another key':
        return jwt.encode(claims(kube, name, namespace, uid), other_key(), algorithm='RS256', headers={'kid': 'mine'})
    if kind == 'another key, the cluster key id':
        return jwt.encode(claims(kube, name, namespace, uid), other_key(), algorithm='RS256',
                          headers={'kid': kube.pki.kid})
    if kind == 'another issuer':
        return jwt.encode(claims(kube, name, namespace, uid, issuer='https://issuer.elsewhere.example'),
                          kube.pki.sa_key, algorithm='RS256', headers={'kid': kube.pki.kid})
    raise ValueError(kind)
