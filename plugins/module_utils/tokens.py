# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TokenRequest for a ServiceAccount, the reuse decision, claims and the result dict.

``ensure_token(cluster, spec, ...)`` is the whole flow the module and the lookup share:
reuse an earlier token when it still fits, otherwise mint one (binding it to an object when
asked), optionally confirm it through TokenReview, and return it in one result dict.
Requests are JSON on ``transport.Cluster``, so every kubernetes client generation works.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible_collections.mcp.k8s.plugins.module_utils import durations, handoff, jwks, object_names, reviews
from ansible_collections.mcp.k8s.plugins.module_utils.errors import (
    HttpError, K8sTokenError, as_token_error, register_secret,
)

try:
    import jwt
    HAS_JWT = True
    JWT_IMPORT_ERROR = None
except ImportError as e:  # reported by the plugins with missing_required_lib / AnsibleLookupError
    HAS_JWT = False
    JWT_IMPORT_ERROR = e

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


# ---------------------------------------------------------------- the flow


def ensure_token(cluster, spec, token=None, renew_before=None, validate=False, check_mode=False, now=None,
                 previous=None, confirmed=(), source=None, keys=None, warn=None):
    """The result dict for ``spec``: ``token``, else the token of ``previous`` (an earlier result
    such as a cache keeps), reused when it still fits, else a new token.

    A token is reused only when it is for ``spec`` (account, audiences, bound object), valid for
    longer than ``renew_before`` and issued by this cluster for the ServiceAccount as it exists now
    (:func:`current_problem`, one read, never a TokenRequest). That read is skipped for a token in
    ``confirmed``: tokens the caller saw pass it (or minted) so recently that nothing can have
    replaced the account since. With ``validate`` the API server confirms the token through
    TokenReview; a token it rejects is replaced, never returned.

    ``token`` comes from outside (``source`` says where: an option, a file), so before anything else
    the API server must be shown to accept it (:func:`trust_problem`: the cluster's signature and
    issuer, with the keys kept in ``keys``, a :class:`jwks.KeyStore`; else a TokenReview). A token that
    fails is replaced, and ``warn`` (a callable) is given one sentence naming ``source`` (such as
    ``read from /path``), never the token.
    In check mode nothing is minted: the result's token is None and ``reused`` False when a
    token would be minted.
    """
    renew = durations.renew_before_seconds(renew_before, DEFAULT_RENEW_BEFORE)
    candidates = [(token, None)] if token else []
    if previous and previous.get('token'):
        candidates.append((previous['token'], previous))
    for candidate, earlier in candidates:
        outside = None if earlier is not None or candidate in confirmed else {
            'source': source or 'given', 'keys': keys if keys is not None else jwks.PROCESS_KEYS,
            'warn': warn or (lambda text: None)}
        result = _reuse(cluster, spec, candidate, earlier, renew, validate, now, candidate in confirmed, outside)
        if result is not None:
            return result
    if check_mode:
        return _empty_result(spec)
    result = mint(cluster, spec, now=now)
    if validate:
        result['review'] = reviews.review_token(cluster, result['token'], spec.audiences)
        if not result['review']['authenticated']:
            raise K8sTokenError('The API server does not authenticate the token just minted for %s (%s); '
                                'check the token authenticator and the audiences.'
                                % (spec.describe(), result['review'].get('error') or 'no reason given'),
                                account=spec.account)
    return result


def _reuse(cluster, spec, token, previous, renew, validate, now, confirmed, outside=None):
    """The result dict reusing ``token`` (whose earlier result ``previous`` may be), or None when it does
    not fit. ``outside`` (``{source, keys, warn}``) for a token from outside: checked first by
    :func:`trust_problem`."""
    register_secret(token)
    fits, _reason = reusable(token, spec, renew, now=now)
    if not fits:
        return None
    review = None
    if outside is not None:
        problem, review = trust_problem(cluster, spec, token, outside['keys'], validate)
        if problem:
            outside['warn']('The token %s was not reused because %s; a new token replaces it.'
                            % (outside['source'], problem))
            return None
    if not confirmed and current_problem(cluster, spec, token, (review or {}).get('self') and review['user']['uid']) \
            is not None:
        return None
    if previous:
        result = dict(previous)
        result.update(reused=True, api_warnings=[], review=None)
    else:
        result = token_result(cluster, token, spec.namespace, reused=True, now=now)
    if validate:
        if not review or review.get('self'):
            review = reviews.review_token(cluster, token, spec.audiences)
        result['review'] = review
        if not result['review']['authenticated']:
            return None
    return result


def trust_problem(cluster, spec, token, keys, validate=False):
    """Why the API server would not accept ``token``, a token from outside (a phrase), or None; and the
    TokenReview made to find out, if any: ``(problem, review)``.

    With ``validate`` the API server says so through TokenReview (for ``spec``'s audiences). Else the
    token must be signed by one of the keys the cluster publishes, with its issuer
    (:func:`jwks.signed_by`: read once per ``keys`` store and cluster). Where those cannot be read, a
    TokenReview (for the token's own audiences) decides; where that is refused too, the token is not
    trusted: a new one costs less than a wrong answer.
    """
    if validate:    # asked for: a TokenReview that is refused fails the task, as for a new token
        review = reviews.review_token(cluster, token, spec.audiences)
    else:
        signed, reason = jwks.signed_by(cluster, token, keys)
        if signed:
            return None, None
        if signed is False:
            return _phrase(reason), None
        review = _review_unless_refused(cluster, token, keys)
        if review is None:   # the token itself asks who it is: only one the API server accepts can
            whoami = _uid_by_token(cluster, token, spec)
            if whoami is None:
                return ('the cluster\'s signing keys could not be read (%s), a TokenReview is not allowed and the '
                        'API server does not authenticate the token as %s' % (_phrase(reason), spec.username)), None
            return None, {'authenticated': True, 'user': {'username': spec.username, 'uid': whoami}, 'audiences': [],
                          'error': None, 'self': True}
    if not review['authenticated']:
        return ('the API server does not authenticate it (TokenReview: %s)'
                % _phrase(review.get('error') or 'no reason given'), review)
    return None, review


def _review_unless_refused(cluster, token, keys):
    """A TokenReview of ``token`` for its own audiences, or None when the caller may not create one
    (remembered in ``keys``, so it is asked once per store and cluster)."""
    refused = keys.get(cluster.identity + '#review')
    if refused:
        return None
    try:
        return reviews.review_token(cluster, token, inspect_token(token)['audiences'])
    except K8sTokenError as exc:
        if exc.status not in (401, 403, 404):
            raise
        keys.put(cluster.identity + '#review', {'refused': exc.status})
        return None


def _phrase(sentence):
    """A sentence as a phrase inside another: no capital first letter, no final full stop."""
    text = (sentence or '').strip().rstrip('.')
    first = text.split(' ', 1)[0]
    return text[:1].lower() + text[1:] if first in ('The', 'No', 'A', 'An', 'It', 'This') else text


def current_problem(cluster, spec, token, token_uid=None):
    """Why ``token`` (which already fits ``spec`` offline) is not one this cluster issued for the
    ServiceAccount as it exists now, or None when it is.

    One read of the ServiceAccount: its uid (a random UUID per object) must be the uid the token
    names, which a token of another cluster, or of an account deleted and recreated since, never
    does. When the caller may not read ServiceAccounts, the token itself asks the API server who it
    is (a SelfSubjectReview, which every authenticated user may create). A token bound to an object
    named without a uid also needs that object's current uid (one more read).
    """
    info = inspect_token(token)
    claimed = info['service_account'].get('uid')
    if not claimed:
        return 'the token names no ServiceAccount uid'
    path = '/api/v1/namespaces/%s/serviceaccounts/%s' % (spec.namespace, spec.name)
    try:
        account = cluster.request('GET', path, action=None).data or {}
        uid = (account.get('metadata') or {}).get('uid')
    except HttpError as exc:
        if exc.status == 404:
            return 'the ServiceAccount does not exist'
        if exc.status not in (401, 403):
            raise as_token_error(exc, _account_action(cluster, spec, 'get', 'serviceaccounts'))
        uid = token_uid or _uid_by_token(cluster, token, spec)
    if uid != claimed:
        return 'the token is for another cluster or an earlier ServiceAccount of that name'
    if spec.bound_object and not spec.bound_object['uid']:
        if _bound_uid(cluster, spec) != (info.get('bound_object') or {}).get('uid'):
            return 'the bound object was replaced'
    return None


def _account_action(cluster, spec, verb, resource, hints=None):
    """An :class:`errors.Action` on ``spec``'s ServiceAccount: errors that name it carry it as ``account``."""
    action = cluster.action(verb, resource, spec.namespace, spec.describe(), hints=hints)
    action.account = spec.account
    return action


def _uid_by_token(cluster, token, spec):
    """The ServiceAccount uid the API server finds for ``token`` (a SelfSubjectReview made with it),
    or None when it does not authenticate it (or cannot say)."""
    body = {'apiVersion': 'authentication.k8s.io/v1', 'kind': 'SelfSubjectReview'}
    try:
        data = cluster.with_token(token).request('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews',
                                                 body=body, action=None).data or {}
    except HttpError:
        return None
    user = (data.get('status') or {}).get('userInfo') or {}
    return user.get('uid') if user.get('username') == spec.username else None


def mint(cluster, spec, now=None):
    """POST a TokenRequest for ``spec``; the result dict of the new token."""
    bound = dict(spec.bound_object) if spec.bound_object else None
    if bound and not bound['uid']:
        bound['uid'] = _bound_uid(cluster, spec)
    body = {
        'apiVersion': 'authentication.k8s.io/v1',
        'kind': 'TokenRequest',
        'spec': {'audiences': list(spec.audiences), 'expirationSeconds': spec.seconds},
    }
    if bound:
        body['spec']['boundObjectRef'] = {'apiVersion': 'v1', 'kind': bound['kind'], 'name': bound['name'],
                                          'uid': bound['uid']}
    path = '/api/v1/namespaces/%s/serviceaccounts/%s/token' % (spec.namespace, spec.name)
    action = _account_action(cluster, spec, 'create', 'serviceaccounts/token', hints={
        409: 'the bound object was replaced; omit bound_object.uid to bind to its current uid',
        400: BAD_BINDING_HINTS.get((bound or {}).get('kind'), BAD_BINDING_HINTS[None]),
    })
    try:
        response = cluster.post(path, body, action=action)
    except K8sTokenError as exc:
        if exc.status == 404 and not cluster.namespace_exists(spec.namespace):
            raise K8sTokenError('Namespace "%s" does not exist; create it and the ServiceAccount "%s" first '
                                'or correct namespace.' % (spec.namespace, spec.name), status=404,
                                account=spec.account)
        raise
    data = response.data if isinstance(response.data, dict) else {}
    status = data.get('status') or {}
    token = status.get('token')
    if not token:
        raise K8sTokenError('The API server answered the TokenRequest for %s without a token; check that '
                            'the cluster issues ServiceAccount tokens.' % spec.describe(), account=spec.account)
    register_secret(token)
    problem = answer_problem(spec, token, status.get('expirationTimestamp'), now=now)
    if problem:
        raise K8sTokenError('The API server answered the TokenRequest for %s with %s, which kube-apiserver never '
                            'sends; check that %s is the Kubernetes API server and that no proxy or webhook in '
                            'between changes its answers.' % (spec.describe(), problem, cluster.server),
                            account=spec.account)
    result = token_result(cluster, token, spec.namespace, reused=False, now=now,
                          status_expiration=status.get('expirationTimestamp'))
    granted = (data.get('spec') or {})
    if granted.get('expirationSeconds'):
        result['duration'] = int(granted['expirationSeconds'])
    if granted.get('audiences') is not None:
        result['audiences'] = list(granted['audiences'])
    issued = (data.get('metadata') or {}).get('creationTimestamp')
    if issued:
        result['issued_at'] = issued
    if bound and not result['bound_object']:
        result['bound_object'] = bound
    result['api_warnings'] = response.warnings
    return result


def answer_problem(spec, token, status_expiration, now=None):
    """What is wrong with a TokenRequest answer for ``spec`` (a phrase), or None."""
    now = time.time() if now is None else now
    try:
        claims = decode_claims(token)
    except K8sTokenError:
        claims = None
    if not isinstance(claims, dict):
        return 'a token that is not a JWT (three base64url parts with a JSON payload)'
    if claims_problem(claims):
        return 'a token with ' + claims_problem(claims)
    info = inspect_token(token, now=now)
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


def _bound_uid(cluster, spec):
    """The current uid of the bound object (read from the API); checks a Pod's ServiceAccount."""
    bound = spec.bound_object
    resource, namespaced = BOUND_KINDS[bound['kind']]
    path = ('/api/v1/namespaces/%s/%s/%s' % (spec.namespace, resource, bound['name']) if namespaced
            else '/api/v1/%s/%s' % (resource, bound['name']))
    action = cluster.action('get', resource, spec.namespace if namespaced else None,
                            '%s "%s" (the bound object)' % (bound['kind'], bound['name']),
                            hints={404: 'create it first, or correct bound_object (set its uid to skip this read)',
                                   403: 'grant it "get" on "%s", or give bound_object.uid' % resource})
    obj = cluster.get(path, action=action) or {}
    if bound['kind'] == 'Pod':
        runs_as = (obj.get('spec') or {}).get('serviceAccountName') or 'default'
        if runs_as != spec.name:
            raise K8sTokenError('Pod "%s/%s" runs as ServiceAccount "%s", not "%s"; a token can only be bound '
                                'to a Pod of its own ServiceAccount.' % (spec.namespace, bound['name'], runs_as, spec.name),
                                account=spec.account)
    return (obj.get('metadata') or {}).get('uid')


def _empty_result(spec):
    result = dict((key, None) for key in RESULT_KEYS)
    result.update(reused=False, audiences=list(spec.audiences), duration=spec.seconds, api_warnings=[],
                  service_account={'namespace': spec.namespace, 'name': spec.name, 'uid': None},
                  bound_object=spec.bound_object)
    return result


# ---------------------------------------------------------------- inspecting a token


def decode_claims(token):
    """The JWT payload, not verified."""
    if not HAS_JWT:
        raise K8sTokenError('The PyJWT Python package is required to read tokens; install it (pip install PyJWT).')
    try:
        return jwt.decode(token, options={'verify_signature': False, 'verify_exp': False, 'verify_aud': False})
    except Exception:  # never show the token itself
        raise K8sTokenError('The given token is not a JWT (three base64url parts with a JSON payload).')


def claims_problem(claims):
    """What makes ``claims`` unlike those of a Kubernetes token (a phrase), or None: a time claim
    that is not a number of seconds."""
    k8s = claims.get('kubernetes.io') if isinstance(claims.get('kubernetes.io'), dict) else {}
    for name, value in (('exp', claims.get('exp')), ('iat', claims.get('iat')), ('nbf', claims.get('nbf')),
                        ('kubernetes.io.warnafter', k8s.get('warnafter'))):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            return 'a "%s" claim of %s instead of a number of seconds' % (name, json.dumps(value)[:40])
    return None


def inspect_token(token, now=None):
    """What a Kubernetes ServiceAccount JWT says: claims, expiry, account, audiences, bound object.

    Legacy Secret tokens (issuer ``kubernetes/serviceaccount``) name their account and Secret
    in ``kubernetes.io/serviceaccount/...`` claims and have no expiry: ``legacy`` is True and
    ``secret`` names the Secret.
    """
    claims = decode_claims(token)
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


def reusable(token, spec, renew_before, now=None):
    """Whether ``token`` is for ``spec`` and valid for longer than ``renew_before`` seconds,
    with the reason when not. Makes no request (:func:`current_problem` makes the one that follows)."""
    if not isinstance(token, str) or token != token.strip():
        return False, 'not a JWT'
    try:
        info = inspect_token(token, now=now)
    except K8sTokenError:
        return False, 'not a JWT'
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


def token_result(cluster, token, namespace, reused, now=None, status_expiration=None):
    """The result dict for ``token`` (a new or a reused one)."""
    now = time.time() if now is None else now
    info = inspect_token(token, now=now)
    expires_at = durations.epoch(status_expiration) if status_expiration else info['expires_at']
    jwt_expiry = info['jwt_expires_at']
    account = info['service_account']
    result = dict((key, None) for key in RESULT_KEYS)
    result.update({
        'token': token,
        'expiration_timestamp': status_expiration or durations.rfc3339(expires_at),
        'expires_in': int(expires_at - now) if expires_at else None,
        'duration': int(expires_at - info['issued_at']) if expires_at and info['issued_at'] else None,
        'audiences': info['audiences'],
        'issued_at': durations.rfc3339(info['issued_at']),
        'claims': info['claims'],
        'jwt_expiration_timestamp': durations.rfc3339(jwt_expiry) if jwt_expiry and jwt_expiry != expires_at else None,
        'service_account': account,
        'bound_object': info['bound_object'],
        'credential_id': info['credential_id'],
        'reused': reused,
        'kubeconfig': handoff.kubeconfig_for_token(
            cluster, token, account['namespace'] or namespace,
            'system:serviceaccount:%s:%s' % (account['namespace'] or namespace, account['name'])),
        'api_warnings': [],
    })
    return result
