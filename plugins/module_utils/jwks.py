# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check a token's signature against the keys its cluster publishes (OIDC discovery, JWKS).

The API server serves ``/.well-known/openid-configuration`` and, at the path of its
``jwks_uri`` (``/openid/v1/jwks``), the public keys that sign ServiceAccount tokens. Both are
read through the caller's ``transport.Cluster`` (the ``jwks_uri`` host is often an issuer URL
that is not reachable from outside the cluster, so only its path is used). The signature is
checked with PyJWT; claims such as ``exp`` and ``aud`` are not (TokenReview does that).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
from urllib.parse import urlsplit

from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError

try:
    import jwt
    from jwt import PyJWK
    HAS_JWT = True
    JWT_IMPORT_ERROR = None
except ImportError as e:  # reported by the module with missing_required_lib
    HAS_JWT = False
    JWT_IMPORT_ERROR = e

DISCOVERY_PATH = '/.well-known/openid-configuration'
DEFAULT_JWKS_PATH = '/openid/v1/jwks'

# Key type of a JWK -> the algorithms a key of that type signs with (Kubernetes uses RS256 and ES*).
_FAMILIES = {
    'RSA': ('RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'),
    'EC': ('ES256', 'ES384', 'ES512'),
    'OKP': ('EdDSA',),
}


def discover(cluster):
    """``(openid_configuration, jwks_path, jwks)`` read from the cluster."""
    discovery = cluster.get(DISCOVERY_PATH, action=cluster.action(
        'get', 'the OIDC discovery document (%s)' % DISCOVERY_PATH, hints={
            404: 'the API server does not publish its ServiceAccount issuer (service account issuer '
                 'discovery needs Kubernetes 1.21 or later)',
            403: 'grant it "get" on the non-resource URLs "/.well-known/openid-configuration" and '
                 '"/openid/v1/jwks" (the ClusterRole system:service-account-issuer-discovery has them)'}))
    if not isinstance(discovery, dict):
        raise K8sTokenError('The API server answered %s with something other than a JSON object; it does not '
                            'publish an OIDC discovery document.' % DISCOVERY_PATH)
    path = jwks_path(discovery.get('jwks_uri'))
    keys = cluster.get(path, action=cluster.action('get', 'the JSON Web Key Set (%s)' % path, hints={
        403: 'grant it "get" on the non-resource URL "%s" (the ClusterRole '
             'system:service-account-issuer-discovery has it)' % path}))
    if not isinstance(keys, dict) or not isinstance(keys.get('keys'), list):
        raise K8sTokenError('The API server answered %s without a "keys" list; it does not publish a JSON Web '
                            'Key Set there.' % path)
    return discovery, path, keys


def jwks_path(jwks_uri):
    """The path (and query) of ``jwks_uri``, to be read from the API server itself."""
    if not jwks_uri:
        return DEFAULT_JWKS_PATH
    parts = urlsplit(str(jwks_uri))
    path = parts.path or DEFAULT_JWKS_PATH
    return path + ('?' + parts.query if parts.query else '')


def token_header(token):
    """The JOSE header of ``token`` (not verified)."""
    try:
        header = jwt.get_unverified_header(token)
    except Exception:  # never show the token itself
        raise K8sTokenError('The given token is not a JWT (three base64url parts with a JSON header).')
    if not isinstance(header, dict):
        raise K8sTokenError('The given token is not a JWT (its header is not a JSON object).')
    return header


def _usable_keys(jwk_set, algorithm):
    """``[(kid, alg, PyJWK)]`` of the set that can check ``algorithm``."""
    usable = []
    for data in jwk_set.get('keys') or ():
        if not isinstance(data, dict):
            continue
        if data.get('use') not in (None, 'sig'):
            continue
        family = _FAMILIES.get(data.get('kty'), ())
        if algorithm not in family or (data.get('alg') and data.get('alg') != algorithm):
            continue
        try:
            key = PyJWK(data, algorithm)
        except Exception:  # a key PyJWT cannot load (unknown curve, missing fields): skip it
            continue
        usable.append((data.get('kid'), algorithm, key))
    return usable


class NotSignedByCluster(K8sTokenError):
    """The token's signature is not one of the cluster's keys: an answer, not a failure to ask.
    ``unknown_key`` is True when the token names a key id the set does not hold (the set may be
    older than a key rotation: read it again once)."""

    unknown_key = False


def verify_signature(token, jwk_set, source=DEFAULT_JWKS_PATH, issuer=None):
    """Check the signature of ``token`` with the keys of ``jwk_set`` (a JWKS dict), and with
    ``issuer`` that its ``iss`` claim is that issuer (PyJWT checks both; no other claim is checked).

    Returns ``{verified: True, key_id, algorithm}``; raises :class:`NotSignedByCluster` with
    one sentence when the token is unsigned, no key fits it, the signature is bad or the issuer
    another, and :class:`errors.K8sTokenError` when the token is not a well-formed signed JWT.
    """
    header = token_header(token)
    algorithm = header.get('alg')
    kid = header.get('kid')
    if not algorithm or algorithm == 'none' or not any(algorithm in f for f in _FAMILIES.values()):
        raise NotSignedByCluster('The token is signed with algorithm "%s", which no Kubernetes cluster uses; it was not '
                                 'issued by this cluster.' % (algorithm or 'none'))
    candidates = _usable_keys(jwk_set, algorithm)
    published_ids = [data.get('kid') for data in jwk_set.get('keys') or () if isinstance(data, dict)]
    if kid:
        candidates = [c for c in candidates if c[0] == kid]
        if not candidates:
            unknown = NotSignedByCluster('No key the cluster publishes at %s has the token\'s key id "%s" for %s '
                                         '(published: %s); the token was not signed by this cluster, or its signing key '
                                         'was retired.' % (source, kid, algorithm,
                                                           ', '.join('"%s"' % p for p in published_ids) or 'none'))
            unknown.unknown_key = True
            raise unknown
    elif not candidates:
        raise NotSignedByCluster('No key the cluster publishes at %s can check a %s signature; the token was not signed '
                                 'by this cluster.' % (source, algorithm))
    for key_id, alg, key in candidates:
        try:
            if issuer is None:
                jwt.PyJWS().decode(token, key=key.key, algorithms=[alg])
            else:
                jwt.decode(token, key=key.key, algorithms=[alg], issuer=issuer, options=_ISSUER_ONLY)
        except jwt.InvalidSignatureError:
            continue
        except (jwt.InvalidIssuerError, jwt.MissingRequiredClaimError):
            raise NotSignedByCluster('The token\'s issuer "%s" is not the cluster\'s ("%s", from %s); it was not issued '
                                     'by this cluster.' % (_claimed_issuer(token), issuer, DISCOVERY_PATH))
        except jwt.PyJWTError:
            raise K8sTokenError('The given token is not a well-formed signed JWT, so its signature cannot be checked.')
        return {'verified': True, 'key_id': key_id, 'algorithm': alg}
    if kid:
        raise NotSignedByCluster('The token\'s signature does not match the cluster\'s key "%s"; the token was altered '
                                 'or was not signed by this cluster.' % kid)
    raise NotSignedByCluster('The token\'s signature matches none of the %d keys the cluster publishes at %s; the token '
                             'was altered or was not signed by this cluster.' % (len(candidates), source))


# With an issuer: PyJWT checks the signature and ``iss`` (required), nothing else (the API server
# judges expiry and audiences; the caller has checked those offline).
_ISSUER_ONLY = {'verify_signature': True, 'verify_exp': False, 'verify_nbf': False, 'verify_iat': False,
                'verify_aud': False, 'verify_iss': True, 'require': ['iss']}


def _claimed_issuer(token):
    try:
        claims = jwt.decode(token, options={'verify_signature': False})
    except jwt.PyJWTError:
        return None
    return claims.get('iss') if isinstance(claims, dict) else None


def verify_with_cluster(cluster, token):
    """:func:`verify_signature` against the keys ``cluster`` publishes; the result adds
    ``issuer`` (of the discovery document) and ``jwks_uri``. A token the cluster did not sign
    is reported (``verified: False`` and the ``reason``), not raised."""
    discovery, path, keys = discover(cluster)
    try:
        result = verify_signature(token, keys, source=path)
        result['reason'] = None
    except NotSignedByCluster as exc:   # reported: an audit asks this of foreign tokens too
        result = {'verified': False, 'key_id': None, 'algorithm': token_header(token).get('alg'),
                  'reason': exc.message}
    result['issuer'] = discovery.get('issuer')
    result['jwks_uri'] = discovery.get('jwks_uri')
    return result


# ---------------------------------------------------------------- reuse: the keys read once per run and cluster


class KeyStore:
    """What each cluster publishes (by ``transport.Cluster.identity``), kept between checks: a dict
    for one process (the modules: :data:`PROCESS_KEYS`), or the lookup's run cache (any object with
    ``get(identity)`` and ``put(identity, entry)``). Entries are plain JSON data."""

    def __init__(self):
        self.data = {}

    def get(self, identity):
        return self.data.get(identity)

    def put(self, identity, entry):
        self.data[identity] = entry


PROCESS_KEYS = KeyStore()
_READING = threading.Lock()   # threads of one lookup checking one token: one read


def published(cluster, store, again=False):
    """The store's entry for ``cluster``, read from it when missing (or ``again``): ``{issuer, path,
    keys, again}`` or ``{unavailable: sentence}`` when the discovery document or the key set cannot be
    read (403 for the caller, an API server that does not publish them, no connection)."""
    with _READING:
        entry = store.get(cluster.identity)
        if entry is not None and (not again or entry.get('again')):
            return entry
        return _read(cluster, store, again)


def _read(cluster, store, again):
    try:
        discovery, path, keys = discover(cluster)
        entry = {'issuer': discovery.get('issuer'), 'path': path, 'keys': keys, 'again': bool(again)}
    except K8sTokenError as exc:
        entry = {'unavailable': exc.message}
    store.put(cluster.identity, entry)
    return entry


def signed_by(cluster, token, store):
    """Whether ``cluster`` issued ``token``, judged by the keys and issuer it publishes, read at most
    once per ``store`` (and once more for a key id they lack): ``(True, None)``; ``(False, sentence)``
    for a token it did not sign (unsigned, another key, a bad signature, another issuer); ``(None,
    sentence)`` when what it publishes cannot be read."""
    entry = published(cluster, store)
    while 'unavailable' not in entry:
        try:
            verify_signature(token, entry['keys'], source=entry['path'], issuer=entry['issuer'] or None)
            return True, None
        except NotSignedByCluster as exc:
            if not exc.unknown_key or entry.get('again'):
                return False, exc.message
        except K8sTokenError as exc:
            return False, exc.message
        entry = published(cluster, store, again=True)
    return None, entry['unavailable']
