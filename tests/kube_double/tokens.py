"""Service-account JWTs: minting (TokenRequest, legacy Secrets) and authentication."""
import base64
import json
import threading
import time
import uuid

import jwt

from .rbac import UserInfo

LEGACY_ISSUER = 'kubernetes/serviceaccount'
LAST_USED_LABEL = 'kubernetes.io/legacy-token-last-used'
EXPIRATION_EXTENSION_SECONDS = 24 * 365 * 60 * 60
WARN_ONLY_SECONDS = 3607
# kube-apiserver caches successful token authentications for 10 s (and failures not at all)
SUCCESS_CACHE_SECONDS = 10
# what go-jose reports for a signature that does not verify
BAD_SIGNATURE = 'go-jose/go-jose: error in cryptographic primitive'


class AuthError(Exception):
    """A token that does not authenticate; the message is what TokenReview reports."""


def _unverified_claims(token):
    try:
        payload = token.split('.')[1]
        payload += '=' * (-len(payload) % 4)
        return json.loads(base64.urlsafe_b64decode(payload.encode()))
    except (IndexError, ValueError, TypeError):
        return None


class TokenAuthority:
    """Signs and checks tokens with the process-wide RSA key."""

    def __init__(self, pki, store, issuers, api_audiences, minor=33):
        self.minor = minor   # jti and the node of Pod-bound tokens from 1.30 (beta)
        self.pki = pki
        self.store = store
        self.issuers = list(issuers)
        self.api_audiences = list(api_audiences)
        self.headers = {'kid': pki.kid, 'typ': None}
        self.success_cache_seconds = SUCCESS_CACHE_SECONDS
        # kube-apiserver keeps a success for 10 s even past the token's exp; the double's
        # test-only token_lifetime turns this off so that short-lived tokens fail when they expire
        self.cache_until_exp = False
        self._success_cache = {}
        self._cache_lock = threading.Lock()

    def _encode(self, claims):
        return jwt.encode(claims, self.pki.sa_key, algorithm='RS256', headers=self.headers)

    def mint(self, account, audiences, seconds, bound=None, node=None, warn_after=None, extended_seconds=None):
        """A bound token for ``account`` (stored ServiceAccount dict); returns (token, iat)."""
        now = int(time.time())
        info = {'namespace': account['metadata']['namespace'],
                'serviceaccount': {'name': account['metadata']['name'], 'uid': account['metadata']['uid']}}
        if bound is not None:
            kind, obj = bound
            info[kind.lower()] = {'name': obj['metadata']['name'], 'uid': obj['metadata']['uid']}
        if node is not None and (self.minor >= 30 or bound is None or bound[0] == 'Node'):
            info['node'] = {k: v for k, v in (('name', node['metadata']['name']), ('uid', node['metadata'].get('uid'))) if v}
        if warn_after is not None:
            info['warnafter'] = now + warn_after
        claims = {'aud': list(audiences), 'exp': now + (extended_seconds or seconds), 'iat': now,
                  'iss': self.issuers[0], 'jti': str(uuid.uuid4()), 'kubernetes.io': info, 'nbf': now,
                  'sub': 'system:serviceaccount:%s:%s' % (info['namespace'], info['serviceaccount']['name'])}
        if self.minor < 30:
            del claims['jti']
        return self._encode(claims), now

    def mint_legacy(self, account, secret_name):
        namespace = account['metadata']['namespace']
        claims = {'iss': LEGACY_ISSUER,
                  'kubernetes.io/serviceaccount/namespace': namespace,
                  'kubernetes.io/serviceaccount/secret.name': secret_name,
                  'kubernetes.io/serviceaccount/service-account.name': account['metadata']['name'],
                  'kubernetes.io/serviceaccount/service-account.uid': account['metadata']['uid'],
                  'sub': 'system:serviceaccount:%s:%s' % (namespace, account['metadata']['name'])}
        return self._encode(claims)

    def jwks(self):
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.pki.sa_public))
        jwk.pop('key_ops', None)   # kube-apiserver's key set has kty, e, n, use, kid, alg only
        jwk.update({'use': 'sig', 'kid': self.pki.kid, 'alg': 'RS256'})
        return {'keys': [jwk]}

    # ------------------------------------------------------------------ authentication
    def authenticate(self, token, audiences=None):
        """(UserInfo, token audiences) or AuthError. ``audiences``: what the caller accepts.

        As kube-apiserver (its token authenticator cache): a success is remembered for
        ``SUCCESS_CACHE_SECONDS``, so a token revoked (Secret, ServiceAccount or bound object
        deleted) right after it was used keeps authenticating until then; failures are not cached."""
        accepted = list(audiences or self.api_audiences)
        key = (token, tuple(accepted))
        now = time.monotonic()
        with self._cache_lock:
            cached = self._success_cache.get(key)
            if cached is not None and cached[0] > now:
                return cached[1]
        answer = self._authenticate(token, accepted)
        until = now + self.success_cache_seconds
        if self.cache_until_exp:   # token_lifetime mode: an expired token fails at once
            exp = (_unverified_claims(token) or {}).get('exp')
            if isinstance(exp, (int, float)):
                until = min(until, now + exp - time.time())
        with self._cache_lock:
            if len(self._success_cache) > 4096:
                self._success_cache = {k: v for k, v in self._success_cache.items() if v[0] > now}
            self._success_cache[key] = (until, answer)
        return answer

    def forget(self):
        """Drop the authentication cache (tests that need revocation to show at once)."""
        with self._cache_lock:
            self._success_cache.clear()

    def _authenticate(self, token, accepted):
        claims = _unverified_claims(token)
        if not isinstance(claims, dict):
            raise AuthError('invalid bearer token')
        if claims.get('iss') == LEGACY_ISSUER:
            # legacy tokens carry no audience: they are good for the API audiences only
            granted = [a for a in accepted if a in self.api_audiences]
            if not granted:
                raise AuthError('[invalid bearer token, token audiences %s is invalid for the target audiences %s]'
                                % (json.dumps(self.api_audiences), json.dumps(accepted)))
            return self._legacy(token), granted
        if claims.get('iss') not in self.issuers:
            raise AuthError('invalid bearer token')
        try:
            claims = jwt.decode(token, self.pki.sa_public, algorithms=['RS256'], audience=accepted,
                                options={'require': ['exp', 'iat', 'nbf']})
        except jwt.ExpiredSignatureError:
            raise AuthError('[invalid bearer token, service account token has expired]') from None
        except jwt.InvalidAudienceError:
            raise AuthError('[invalid bearer token, token audiences %s is invalid for the target audiences %s]'
                            % (json.dumps(claims.get('aud')), json.dumps(accepted))) from None
        except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError, jwt.DecodeError):
            # kube-apiserver reports an unsigned (alg none) token as a bad signature too
            raise AuthError('[invalid bearer token, %s]' % BAD_SIGNATURE) from None
        except jwt.InvalidTokenError as exc:
            raise AuthError('[invalid bearer token, %s]' % exc) from None
        info = claims.get('kubernetes.io') or {}
        namespace = info.get('namespace')
        account_ref = info.get('serviceaccount') or {}
        account = self.store.find('serviceaccounts', account_ref.get('name'), namespace)
        if account is None:
            raise AuthError('[invalid bearer token, serviceaccounts "%s" not found]' % account_ref.get('name'))
        if account['metadata']['uid'] != account_ref.get('uid'):
            raise AuthError('[invalid bearer token, service account UID (%s) does not match claim (%s)]'
                            % (account['metadata']['uid'], account_ref.get('uid')))
        extra = {'authentication.kubernetes.io/credential-id': ['JTI=%s' % claims['jti']]} if claims.get('jti') else {}
        for kind, plural, namespaced in (('pod', 'pods', True), ('secret', 'secrets', True), ('node', 'nodes', False)):
            ref = info.get(kind)
            if not ref:
                continue
            obj = self.store.find(plural, ref.get('name'), namespace if namespaced else None)
            if kind == 'node' and info.get('pod'):
                # a Pod-bound token names its node for information; only the pod is checked
                obj = obj or {'metadata': {'uid': ref.get('uid')}}
            if obj is None:
                raise AuthError('[invalid bearer token, service account token has been invalidated]')
            if obj['metadata']['uid'] != ref.get('uid'):
                raise AuthError('[invalid bearer token, %s UID (%s) does not match claim (%s)]'
                                % (kind, obj['metadata']['uid'], ref.get('uid')))
            if kind in ('pod', 'node'):
                extra['authentication.kubernetes.io/%s-name' % kind] = [ref.get('name')]
                extra['authentication.kubernetes.io/%s-uid' % kind] = [ref.get('uid')]
        user = UserInfo('system:serviceaccount:%s:%s' % (namespace, account_ref.get('name')),
                        ['system:serviceaccounts', 'system:serviceaccounts:%s' % namespace, 'system:authenticated'],
                        account['metadata']['uid'], extra)
        token_aud = claims.get('aud')
        token_aud = [token_aud] if isinstance(token_aud, str) else list(token_aud or [])
        return user, [a for a in accepted if a in token_aud]

    def _legacy(self, token):
        try:
            claims = jwt.decode(token, self.pki.sa_public, algorithms=['RS256'],
                                options={'verify_aud': False, 'verify_exp': False})
        except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError, jwt.DecodeError):
            # kube-apiserver reports an unsigned (alg none) token as a bad signature too
            raise AuthError('[invalid bearer token, %s]' % BAD_SIGNATURE) from None
        except jwt.InvalidTokenError as exc:
            raise AuthError('[invalid bearer token, %s]' % exc) from None
        namespace = claims.get('kubernetes.io/serviceaccount/namespace')
        secret_name = claims.get('kubernetes.io/serviceaccount/secret.name')
        name = claims.get('kubernetes.io/serviceaccount/service-account.name')
        uid = claims.get('kubernetes.io/serviceaccount/service-account.uid')
        secret = self.store.find('secrets', secret_name, namespace)
        # kube-apiserver's legacy validator wording (pkg/serviceaccount/legacy.go)
        if secret is None or secret['metadata'].get('deletionTimestamp'):
            raise AuthError('[invalid bearer token, Token has been invalidated]')
        expected = (secret.get('data') or {}).get('token', '')
        if base64.b64decode(expected).decode() != token:
            raise AuthError("[invalid bearer token, Token does not match server's copy]")
        labels = secret['metadata'].get('labels') or {}
        if 'kubernetes.io/legacy-token-invalid-since' in labels:
            raise AuthError('the token in secret %s/%s for service account %s/%s has been marked invalid'
                            % (namespace, secret_name, namespace, name))
        account = self.store.find('serviceaccounts', name, namespace)
        if account is None:
            raise AuthError('[invalid bearer token, serviceaccounts "%s" not found]' % name)
        if account['metadata']['uid'] != uid:
            raise AuthError('[invalid bearer token, ServiceAccount UID (%s) does not match claim (%s)]'
                            % (account['metadata']['uid'], uid))
        self._mark_used(secret)
        # no credential-id for legacy tokens (kube-apiserver 1.37 sets none; measured by the fidelity probes)
        return UserInfo('system:serviceaccount:%s:%s' % (namespace, name),
                        ['system:serviceaccounts', 'system:serviceaccounts:%s' % namespace, 'system:authenticated'],
                        uid)

    def _mark_used(self, secret):
        """The legacy token tracking of 1.28+: label the Secret with the day it was last used."""
        today = time.strftime('%Y-%m-%d', time.gmtime())
        labels = secret['metadata'].get('labels') or {}
        if labels.get(LAST_USED_LABEL) == today:
            return
        updated = dict(secret, metadata=dict(secret['metadata'], labels=dict(labels, **{LAST_USED_LABEL: today})))
        try:
            self.store.update('secrets', updated, secret['metadata']['name'], secret['metadata']['namespace'], check_rv=False)
        except Exception:  # pylint: disable=broad-except
            pass  # deleted meanwhile: the next use fails anyway
