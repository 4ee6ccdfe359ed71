# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What to mint and the decisions over tokens, as pure functions of data (no request, no JWT decoding).

:class:`TokenSpec` is what is asked for; :func:`read_claims` says what a token's decoded claims say;
:func:`fits` (reuse or not, with the reason), :func:`account_problem`, :func:`answer_problem` and
:func:`result_for` decide over what ``serviceaccounts.py`` (the ServiceAccount API: reads,
TokenRequest, TokenReview, and the flow ``ensure_token``) reads and decodes, once per token.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible_collections.mcp.k8s.plugins.module_utils import durations, object_names
from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError

DEFAULT_RENEW_BEFORE = '5m'

# Legacy tokens (from Secrets of type kubernetes.io/service-account-token): issuer and claim prefix.
LEGACY_ISSUER = 'kubernetes/serviceaccount'
LEGACY_CLAIM = 'kubernetes.io/serviceaccount/'

# Kinds a token can be bound to: Kind -> (resource, namespaced).
BOUND_KINDS = {'Pod': ('pods', True), 'Secret': ('secrets', True), 'Node': ('nodes', False)}
# What a 400 answer to a TokenRequest means, by bound object kind: Node binding is off on servers
# older than 1.31 (feature ServiceAccountTokenNodeBinding: alpha 1.29, beta and on 1.31, GA 1.33).
BAD_BINDING_HINTS = {
    'Node': 'tokens bound to a Node need Kubernetes 1.31 or newer (GA in 1.33); bind to a Pod or Secret instead',
    'Pod': 'check bound_object (a Pod must run as this ServiceAccount)',
    None: 'check bound_object',
}

# Result keys, all present in every result (None when not known).
RESULT_KEYS = ('token', 'expiration_timestamp', 'expires_in', 'duration', 'audiences', 'issued_at',
               'claims', 'jwt_expiration_timestamp', 'service_account', 'bound_object', 'credential_id', 'reused',
               'review', 'kubeconfig', 'api_warnings')


class TokenSpec:
    """What to mint: ServiceAccount, namespace, audiences, seconds and bound object, validated."""

    def __init__(self, name, namespace=None, audiences=None, duration=None, bound_object=None):
        if not isinstance(name, str) or not name.strip():
            raise K8sTokenError('name must be the name of a ServiceAccount, not %r.' % (name,))
        self.name = object_names.check_name(name.strip())
        self.namespace = object_names.check_namespace((namespace or 'default').strip())
        self.audiences = _audiences(audiences)
        self.seconds = durations.token_duration(duration)
        self.bound_object = _bound_object(bound_object)

    @property
    def username(self):
        return 'system:serviceaccount:%s:%s' % (self.namespace, self.name)

    @property
    def account(self):
        """``(namespace, name)``, as :class:`errors.K8sTokenError` carries it."""
        return (self.namespace, self.name)

    def describe(self):
        return 'ServiceAccount "%s/%s"' % (self.namespace, self.name)

    def key(self):
        """A hashable identity of the request (for a cache)."""
        bound = self.bound_object
        return (self.namespace, self.name, tuple(self.audiences), self.seconds,
                (bound['kind'], bound['name'], bound.get('uid')) if bound else None)


def _audiences(value):
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    audiences = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise K8sTokenError('audiences must be non-empty strings; leave the list empty for the API '
                                'server\'s default audiences (got %r).' % (item,))
        if item not in audiences:
            audiences.append(item)
    return audiences


def _bound_object(value):
    if not value:
        return None
    if not isinstance(value, dict):
        raise K8sTokenError('bound_object must be a dict with kind, name and optionally uid.')
    kind = str(value.get('kind') or '')
    canonical = dict((k.lower(), k) for k in BOUND_KINDS).get(kind.lower())
    if not canonical:
        raise K8sTokenError('bound_object.kind "%s" is not supported; a token can be bound to a Pod, '
                            'Secret or Node.' % kind)
    if not value.get('name'):
        raise K8sTokenError('bound_object.name is required with bound_object.kind %s.' % canonical)
    object_names.check_name(str(value['name']), what=canonical, option='bound_object.name')
    return {'kind': canonical, 'name': str(value['name']), 'uid': str(value['uid']) if value.get('uid') else None}


def token_spec(options):
    """A :class:`TokenSpec` from module params or lookup options."""
    return TokenSpec(options.get('name'), options.get('namespace'), options.get('audiences'),
                     options.get('duration'), options.get('bound_object'))


# ---------------------------------------------------------------- what a token says


def claims_problem(claims):
    """What makes ``claims`` unlike those of a Kubernetes token (a phrase), or None: a time claim
    that is not a number of seconds."""
    k8s = claims.get('kubernetes.io') if isinstance(claims.get('kubernetes.io'), dict) else {}
    for name, value in (('exp', claims.get('exp')), ('iat', claims.get('iat')), ('nbf', claims.get('nbf')),
                        ('kubernetes.io.warnafter', k8s.get('warnafter'))):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            return 'a "%s" claim of %s instead of a number of seconds' % (name, json.dumps(value)[:40])
    return None


def read_claims(claims, now=None):
    """What a Kubernetes ServiceAccount JWT says, from its decoded ``claims``: claims, expiry,
    account, audiences, bound object.

    Legacy Secret tokens (issuer ``kubernetes/serviceaccount``) name their account and Secret
    in ``kubernetes.io/serviceaccount/...`` claims and have no expiry: ``legacy`` is True and
    ``secret`` names the Secret.
    """
    if not isinstance(claims, dict):
        raise K8sTokenError('The given token is not a JWT (three base64url parts with a JSON payload).')
    now = time.time() if now is None else now
    k8s = claims.get('kubernetes.io') if isinstance(claims.get('kubernetes.io'), dict) else {}
    account = k8s.get('serviceaccount') or {}
    namespace = k8s.get('namespace')
    name = account.get('name')
    uid = account.get('uid')
    sub = claims.get('sub') or ''
    if (not namespace or not name) and sub.startswith('system:serviceaccount:'):
        parts = sub.split(':')
        namespace, name = (parts[2], parts[3]) if len(parts) == 4 else (namespace, name)
    legacy = claims.get('iss') == LEGACY_ISSUER or any(str(key).startswith(LEGACY_CLAIM) for key in claims)
    secret = None
    if legacy:
        namespace = namespace or claims.get(LEGACY_CLAIM + 'namespace')
        name = name or claims.get(LEGACY_CLAIM + 'service-account.name')
        uid = uid or claims.get(LEGACY_CLAIM + 'service-account.uid')
        if claims.get(LEGACY_CLAIM + 'secret.name'):
            secret = {'namespace': namespace, 'name': claims.get(LEGACY_CLAIM + 'secret.name')}
    bound = None
    for kind in ('Pod', 'Secret', 'Node'):  # a Pod-bound token also names the Pod's node
        entry = k8s.get(kind.lower())
        if entry:
            bound = {'kind': kind, 'name': entry.get('name'), 'uid': entry.get('uid')}
            break
    problem = claims_problem(claims)
    if problem:
        raise K8sTokenError('The given token has %s; it is not a token a Kubernetes API server issues.' % problem)
    exp = claims.get('exp')
    effective = k8s.get('warnafter') or exp
    audiences = claims.get('aud')
    if isinstance(audiences, str):
        audiences = [audiences]
    return {
        'claims': claims,
        'credential_id': credential_id(claims),
        'issuer': claims.get('iss'),
        'subject': sub,
        'audiences': audiences or [],
        'service_account': {'namespace': namespace, 'name': name, 'uid': uid},
        'bound_object': bound,
        'secret': secret,
        'issued_at': claims.get('iat'),
        'expires_at': effective,
        'jwt_expires_at': exp,
        'expires_in': int(effective - now) if effective else None,
        'legacy': legacy or exp is None,
    }


def credential_id(claims):
    """What kube-apiserver records as the user's extra ``authentication.kubernetes.io/credential-id``
    in audit events for requests made with this token (``JTI=<jti>``), or None without a ``jti``."""
    jti = claims.get('jti')
    return 'JTI=%s' % jti if jti else None


# ---------------------------------------------------------------- decisions


def fits(info, spec, renew_before):
    """Whether the token ``info`` (:func:`read_claims`) describes is for ``spec`` and valid for longer
    than ``renew_before`` seconds: ``(True, None)`` or ``(False, reason)``. Decided offline: a token that
    fits is then checked against the cluster (:func:`account_problem`) before it is reused."""
    if info['subject'] != spec.username:
        return False, 'another ServiceAccount'
    # Empty audiences mean the API server's defaults, which a client cannot know without a
    # request (often the issuer, but not on EKS, for one): any audiences are taken as those.
    if spec.audiences and set(info['audiences']) != set(spec.audiences):
        return False, 'other audiences'
    bound = spec.bound_object
    have = info['bound_object']
    if bool(bound) != bool(have):
        return False, 'another bound object'
    if bound and (bound['kind'] != have['kind'] or bound['name'] != have['name']
                  or (bound['uid'] and bound['uid'] != have['uid'])):
        return False, 'another bound object'
    if info['expires_in'] is None or info['expires_in'] <= renew_before:
        return False, 'expires within renew_before'
    return True, None


UNREAD = object()   # a uid not read (yet)


def account_problem(info, spec, account_uid, bound_uid=UNREAD):
    """Why the token ``info`` describes was not issued by this cluster for ``spec``'s ServiceAccount as
    it exists now (a phrase), or None when it was (as far as known): ``account_uid`` is the
    ServiceAccount's current uid, ``bound_uid`` the bound object's current uid, read (after the account
    passed) when ``spec`` binds to an object named without a uid (:func:`needs_bound_uid`)."""
    claimed = info['service_account'].get('uid')
    if not claimed:
        return 'the token names no ServiceAccount uid'
    if account_uid != claimed:
        return 'the token is for another cluster or an earlier ServiceAccount of that name'
    if bound_uid is not UNREAD and needs_bound_uid(spec) and bound_uid != (info.get('bound_object') or {}).get('uid'):
        return 'the bound object was replaced'
    return None


def needs_bound_uid(spec):
    """Whether deciding for ``spec`` needs its bound object's current uid (one read): bound to an object
    named without a uid."""
    return bool(spec.bound_object and not spec.bound_object['uid'])


def answer_problem(spec, claims, status_expiration, now=None):
    """What is wrong with a TokenRequest answer for ``spec`` (a phrase), or None: ``claims`` are its
    token's decoded claims (None when it is no JWT), ``status_expiration`` its ``expirationTimestamp``."""
    now = time.time() if now is None else now
    if not isinstance(claims, dict):
        return 'a token that is not a JWT (three base64url parts with a JSON payload)'
    if claims_problem(claims):
        return 'a token with ' + claims_problem(claims)
    info = read_claims(claims, now=now)
    if info['subject'] != spec.username:
        return 'a token for "%s"' % (info['subject'] or 'no subject')
    if status_expiration is not None:
        try:
            expires = durations.epoch(status_expiration)
        except (TypeError, ValueError):
            return 'an expirationTimestamp "%s" that is not an RFC 3339 time' % (status_expiration,)
        if expires <= now:
            return 'an expirationTimestamp "%s" in the past' % (status_expiration,)
    if info['expires_at'] is not None and info['expires_at'] <= now:
        return 'a token that has already expired'
    return None


def result_for(info, reused, now=None, status_expiration=None):
    """The result dict for the token ``info`` describes (a new or a reused one), without the token itself
    and its ``kubeconfig``: the caller adds them."""
    now = time.time() if now is None else now
    expires_at = durations.epoch(status_expiration) if status_expiration else info['expires_at']
    jwt_expiry = info['jwt_expires_at']
    result = dict((key, None) for key in RESULT_KEYS)
    result.update({
        'expiration_timestamp': status_expiration or durations.rfc3339(expires_at),
        'expires_in': int(expires_at - now) if expires_at else None,
        'duration': int(expires_at - info['issued_at']) if expires_at and info['issued_at'] else None,
        'audiences': info['audiences'],
        'issued_at': durations.rfc3339(info['issued_at']),
        'claims': info['claims'],
        'jwt_expiration_timestamp': durations.rfc3339(jwt_expiry) if jwt_expiry and jwt_expiry != expires_at else None,
        'service_account': info['service_account'],
        'bound_object': info['bound_object'],
        'credential_id': info['credential_id'],
        'reused': reused,
        'api_warnings': [],
    })
    return result


def empty_result(spec):
    """The result when nothing is minted (check mode)."""
    result = dict((key, None) for key in RESULT_KEYS)
    result.update(reused=False, audiences=list(spec.audiences), duration=spec.seconds, api_warnings=[],
                  service_account={'namespace': spec.namespace, 'name': spec.name, 'uid': None},
                  bound_object=spec.bound_object)
    return result


def phrase(sentence):
    """A sentence as a phrase inside another: no capital first letter, no final full stop."""
    text = (sentence or '').strip().rstrip('.')
    first = text.split(' ', 1)[0]
    return text[:1].lower() + text[1:] if first in ('The', 'No', 'A', 'An', 'It', 'This') else text
