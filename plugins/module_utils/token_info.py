# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a token is and what it can do: claims, TokenReview, signature, access checks.

``read_claims`` reads a token offline (bound TokenRequest tokens and legacy Secret
tokens alike). ``token_info`` adds, on request, what the API server says through
TokenReview, a signature check against the cluster's published keys, and
SelfSubjectAccessReviews made with the token itself. Nothing is ever changed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.mcp.k8s.plugins.module_utils import durations, jwks, reviews, serviceaccounts
from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError, register_secret

# Result keys, all present in every result (None when not known or not asked for).
RESULT_KEYS = ('claims', 'header', 'issuer', 'subject', 'service_account', 'audiences', 'bound_object',
               'secret', 'credential_id', 'issued_at', 'expires_at', 'expires_in', 'expired', 'legacy', 'review',
               'signature', 'can_i', 'all_allowed')


def read_claims(token, now=None):
    """The offline part of the result: claims and what they say. No request is made."""
    register_secret(token)
    now = time.time() if now is None else now
    info = serviceaccounts.inspect_token(token, now=now)
    expires_at = info['expires_at']
    return {
        'claims': info['claims'],
        'header': dict((k, v) for k, v in jwks.token_header(token).items() if k in ('alg', 'kid', 'typ')),
        'issuer': info['issuer'],
        'subject': info['subject'] or None,
        'service_account': info['service_account'],
        'audiences': info['audiences'],
        'bound_object': info['bound_object'],
        'secret': info['secret'],
        'credential_id': info['credential_id'],
        'issued_at': durations.rfc3339(info['issued_at']),
        'expires_at': durations.rfc3339(expires_at),
        'expires_in': info['expires_in'],
        'expired': bool(expires_at) and expires_at <= now,
        'legacy': info['legacy'],
    }


def normalize_checks(checks):
    """The ``can_i`` list, each entry checked for a verb and a resource."""
    normalized = []
    for index, check in enumerate(checks or ()):
        if not isinstance(check, dict) or not check.get('verb') or not check.get('resource'):
            raise K8sTokenError('can_i[%d] needs a verb and a resource, for example {verb: list, resource: pods, '
                                'namespace: default}.' % index)
        normalized.append(dict((key, check.get(key)) for key in
                               ('verb', 'resource', 'group', 'subresource', 'namespace', 'name')))
    return normalized


def access_checks(cluster, token, checks):
    """SelfSubjectAccessReviews for ``checks``, made with ``token`` itself.

    Returns the list of ``{verb, resource, group, namespace, name, allowed, denied, reason,
    evaluation_error}``, in the order of ``checks``.
    """
    return reviews.access_reviews(cluster.with_token(token), checks)


def access_checks_or_rejection(cluster, token, checks):
    """:func:`access_checks`; when the API server does not accept the token at all (401), every
    check is reported as not allowed with that sentence as its ``evaluation_error``: the
    question was asked and the token is the answer. Anything else (unreachable, 403) raises."""
    try:
        return access_checks(cluster, token, checks)
    except K8sTokenError as exc:
        if exc.status != 401:
            raise
        return [dict(check, allowed=False, denied=False, reason=None, evaluation_error=exc.message)
                for check in checks]


def token_info(token, cluster_for=None, review=False, audiences=None, verify_signature=False, can_i=None,
               now=None):
    """The full result for ``token``.

    ``cluster_for`` is a function returning the caller's ``transport.Cluster``; it is called
    only when a request is needed (``review``, ``verify_signature`` or ``can_i``).
    """
    if not isinstance(token, str) or not token.strip():
        raise K8sTokenError('token must be a ServiceAccount token (a JWT), not an empty value.')
    token = token.strip()
    checks = normalize_checks(can_i)
    result = dict((key, None) for key in RESULT_KEYS)
    result.update(read_claims(token, now=now))
    if review or verify_signature or checks:
        cluster = cluster_for()
        if review:
            result['review'] = serviceaccounts.review_token(cluster, token, audiences)
        if verify_signature:
            result['signature'] = jwks.verify_with_cluster(cluster, token)
        if checks:
            result['can_i'] = access_checks_or_rejection(cluster, token, checks)
            result['all_allowed'] = all(check['allowed'] for check in result['can_i'])
    return result
