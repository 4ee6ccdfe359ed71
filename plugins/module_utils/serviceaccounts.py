# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ServiceAccount API over ``transport.Cluster``, and the token flow the module and the lookup share.

Requests: the ServiceAccount read (:func:`account_uid`), TokenRequest (:func:`mint`), TokenReview
(:func:`review_token`), the bound object read (:func:`bound_uid`) and the SelfSubjectReview a token
makes about itself. Each token is decoded here once (:func:`inspect_token`) and what it says is
passed on; every decision over it is a pure function of ``tokens.py``.

``ensure_token(cluster, spec, ...)``: reuse an earlier token when it still fits, otherwise mint
one (binding it to an object when asked), optionally confirm it through TokenReview, and return
it in one result dict (``handoff.complete`` adds the kubeconfig and connection values).
Requests are JSON on ``transport.Cluster``, so every kubernetes client generation works.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mcp.k8s.plugins.module_utils import durations, handoff, jwks, tokens
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

TOKEN_REQUEST_PATH = '/api/v1/namespaces/%s/serviceaccounts/%s/token'


# ---------------------------------------------------------------- reading a token


def decode_claims(token):
    """The JWT payload, not verified."""
    if not HAS_JWT:
        raise K8sTokenError('The PyJWT Python package is required to read tokens; install it (pip install PyJWT).')
    try:
        return jwt.decode(token, options={'verify_signature': False, 'verify_exp': False, 'verify_aud': False})
    except Exception:  # never show the token itself
        raise K8sTokenError('The given token is not a JWT (three base64url parts with a JSON payload).')


def inspect_token(token, now=None):
    """What a Kubernetes ServiceAccount JWT says (``tokens.read_claims`` of its decoded claims)."""
    return tokens.read_claims(decode_claims(token), now=now)


def reusable(token, spec, renew_before, now=None):
    """Whether ``token`` is for ``spec`` and valid for longer than ``renew_before`` seconds,
    with the reason when not (``tokens.fits``). Makes no request."""
    info = _offline_info(token, now)
    return (False, 'not a JWT') if info is None else tokens.fits(info, spec, renew_before)


def _offline_info(token, now):
    """``inspect_token(token)``, or None when ``token`` is no JWT (or has whitespace around it)."""
    if not isinstance(token, str) or token != token.strip():
        return None
    try:
        return inspect_token(token, now=now)
    except K8sTokenError:
        return None


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
    issuer, with the keys kept in ``keys``, a :class:`jwks.KeyStore`, read only for a token that
    fits; else a TokenReview). A token that fails is replaced, and ``warn`` (a callable) is given one
    sentence naming ``source`` (such as ``read from /path``), never the token.
    In check mode nothing is minted: the result's token is None and ``reused`` False when a
    token would be minted.
    """
    renew = durations.renew_before_seconds(renew_before, tokens.DEFAULT_RENEW_BEFORE)
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
        return tokens.empty_result(spec)
    result = mint(cluster, spec, now=now)
    if validate:
        result['review'] = review_token(cluster, result['token'], spec.audiences)
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
    info = _offline_info(token, now)
    if info is None or not tokens.fits(info, spec, renew)[0]:
        return None
    review = None
    if outside is not None:
        problem, review = trust_problem(cluster, spec, token, outside['keys'], validate, info)
        if problem:
            outside['warn']('The token %s was not reused because %s; a new token replaces it.'
                            % (outside['source'], problem))
            return None
    if not confirmed and current_problem(cluster, spec, token, (review or {}).get('self') and review['user']['uid'],
                                         info=info) is not None:
        return None
    if previous:
        result = dict(previous)
        result.update(reused=True, api_warnings=[], review=None)
    else:
        result = _with_token(cluster, spec, tokens.result_for(info, reused=True, now=now), token)
    if validate:
        if not review or review.get('self'):
            review = review_token(cluster, token, spec.audiences)
        result['review'] = review
        if not result['review']['authenticated']:
            return None
    return result


def trust_problem(cluster, spec, token, keys, validate=False, info=None):
    """Why the API server would not accept ``token``, a token from outside (a phrase), or None; and the
    TokenReview made to find out, if any: ``(problem, review)``.

    With ``validate`` the API server says so through TokenReview (for ``spec``'s audiences). Else the
    token must be signed by one of the keys the cluster publishes, with its issuer
    (:func:`jwks.signed_by`: read once per ``keys`` store and cluster). Where those cannot be read, a
    TokenReview (for the token's own audiences) decides; where that is refused too, the token is not
    trusted: a new one costs less than a wrong answer.
    """
    if validate:    # asked for: a TokenReview that is refused fails the task, as for a new token
        review = review_token(cluster, token, spec.audiences)
    else:
        signed, reason = jwks.signed_by(cluster, token, keys)
        if signed:
            return None, None
        if signed is False:
            return tokens.phrase(reason), None
        review = _review_unless_refused(cluster, token, keys, info or inspect_token(token))
        if review is None:   # the token itself asks who it is: only one the API server accepts can
            whoami = _uid_by_token(cluster, token, spec)
            if whoami is None:
                return ('the cluster\'s signing keys could not be read (%s), a TokenReview is not allowed and the '
                        'API server does not authenticate the token as %s' % (tokens.phrase(reason), spec.username)), None
            return None, {'authenticated': True, 'user': {'username': spec.username, 'uid': whoami}, 'audiences': [],
                          'error': None, 'self': True}
    if not review['authenticated']:
        return ('the API server does not authenticate it (TokenReview: %s)'
                % tokens.phrase(review.get('error') or 'no reason given'), review)
    return None, review


def _review_unless_refused(cluster, token, keys, info):
    """A TokenReview of ``token`` for its own audiences, or None when the caller may not create one
    (remembered in ``keys``, so it is asked once per store and cluster)."""
    refused = keys.get(cluster.identity + '#review')
    if refused:
        return None
    try:
        return review_token(cluster, token, info['audiences'])
    except K8sTokenError as exc:
        if exc.status not in (401, 403, 404):
            raise
        keys.put(cluster.identity + '#review', {'refused': exc.status})
        return None


def current_problem(cluster, spec, token, token_uid=None, info=None):
    """Why ``token`` (which already fits ``spec`` offline) is not one this cluster issued for the
    ServiceAccount as it exists now, or None when it is (``tokens.account_problem``).

    One read of the ServiceAccount: its uid (a random UUID per object) must be the uid the token
    names, which a token of another cluster, or of an account deleted and recreated since, never
    does. When the caller may not read ServiceAccounts, the token itself asks the API server who it
    is (a SelfSubjectReview, which every authenticated user may create). A token bound to an object
    named without a uid also needs that object's current uid (one more read).
    """
    info = info or inspect_token(token)
    if not info['service_account'].get('uid'):
        return tokens.account_problem(info, spec, None)
    try:
        uid = account_uid(cluster, spec)
    except HttpError as exc:
        if exc.status == 404:
            return 'the ServiceAccount does not exist'
        if exc.status not in (401, 403):
            raise as_token_error(exc, _account_action(cluster, spec, 'get', 'serviceaccounts'))
        uid = token_uid or _uid_by_token(cluster, token, spec)
    problem = tokens.account_problem(info, spec, uid)
    if problem is None and tokens.needs_bound_uid(spec):
        problem = tokens.account_problem(info, spec, uid, bound_uid(cluster, spec))
    return problem


# ---------------------------------------------------------------- requests


def account_uid(cluster, spec):
    """The uid of ``spec``'s ServiceAccount (one read); raises :class:`errors.HttpError`."""
    path = '/api/v1/namespaces/%s/serviceaccounts/%s' % (spec.namespace, spec.name)
    account = cluster.request('GET', path, action=None).data or {}
    return (account.get('metadata') or {}).get('uid')


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
    """POST a TokenRequest for ``spec``; the result dict of the new token (its JWT decoded once)."""
    bound = dict(spec.bound_object) if spec.bound_object else None
    if bound and not bound['uid']:
        bound['uid'] = bound_uid(cluster, spec)
    body = {
        'apiVersion': 'authentication.k8s.io/v1',
        'kind': 'TokenRequest',
        'spec': {'audiences': list(spec.audiences), 'expirationSeconds': spec.seconds},
    }
    if bound:
        body['spec']['boundObjectRef'] = {'apiVersion': 'v1', 'kind': bound['kind'], 'name': bound['name'],
                                          'uid': bound['uid']}
    action = _account_action(cluster, spec, 'create', 'serviceaccounts/token', hints={
        409: 'the bound object was replaced; omit bound_object.uid to bind to its current uid',
        400: tokens.BAD_BINDING_HINTS.get((bound or {}).get('kind'), tokens.BAD_BINDING_HINTS[None]),
    })
    try:
        response = cluster.post(TOKEN_REQUEST_PATH % (spec.namespace, spec.name), body, action=action)
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
    try:
        claims = decode_claims(token)
    except K8sTokenError:
        claims = None
    problem = tokens.answer_problem(spec, claims, status.get('expirationTimestamp'), now=now)
    if problem:
        raise K8sTokenError('The API server answered the TokenRequest for %s with %s, which kube-apiserver never '
                            'sends; check that %s is the Kubernetes API server and that no proxy or webhook in '
                            'between changes its answers.' % (spec.describe(), problem, cluster.server),
                            account=spec.account)
    result = _with_token(cluster, spec, tokens.result_for(tokens.read_claims(claims, now=now), reused=False, now=now,
                                                          status_expiration=status.get('expirationTimestamp')), token)
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


def _with_token(cluster, spec, result, token):
    """``result`` (``tokens.result_for``) with ``token`` and its kubeconfig (``handoff``)."""
    result['token'] = token
    result['kubeconfig'] = handoff.result_kubeconfig(cluster, result, spec.namespace)
    return result


def bound_uid(cluster, spec):
    """The current uid of the bound object (read from the API); checks a Pod's ServiceAccount."""
    bound = spec.bound_object
    resource, namespaced = tokens.BOUND_KINDS[bound['kind']]
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


def review_token(cluster, token, audiences=None):
    """What the API server says about ``token`` (a TokenReview):
    ``{authenticated, user: {username, uid, groups, extra}, audiences, error}``."""
    body = {'apiVersion': 'authentication.k8s.io/v1', 'kind': 'TokenReview',
            'spec': {'token': token}}
    if audiences:
        body['spec']['audiences'] = list(audiences)
    action = cluster.action('create', 'tokenreviews', subject='the token', hints={
        403: 'grant it "create" on "tokenreviews" in API group "authentication.k8s.io" '
             '(the ClusterRole system:auth-delegator has it), or set validate to false'})
    data = cluster.post('/apis/authentication.k8s.io/v1/tokenreviews', body, action=action).data or {}
    status = data.get('status') or {}
    user = status.get('user') or {}
    return {
        'authenticated': bool(status.get('authenticated')),
        'user': {'username': user.get('username'), 'uid': user.get('uid'),
                 'groups': user.get('groups') or [], 'extra': user.get('extra') or {}},
        'audiences': status.get('audiences') or [],
        'error': status.get('error') or None,
    }
