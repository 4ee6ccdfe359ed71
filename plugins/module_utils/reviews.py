# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SelfSubjectReview (who am I), SelfSubjectAccessReview (can I) and SelfSubjectRulesReview
(what may I do in a namespace); TokenReview is ``serviceaccounts.review_token``.

All are POSTs of plain JSON on a ``transport.Cluster``. To ask what a token may do, pass
``cluster.with_token(token)``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mcp.k8s.plugins.module_utils.errors import HttpError, K8sTokenError


def whoami(cluster):
    """``{username, uid}`` of the caller of ``cluster`` (a SelfSubjectReview), or None when the API
    server cannot say (no such API, or it refuses the review)."""
    body = {'apiVersion': 'authentication.k8s.io/v1', 'kind': 'SelfSubjectReview'}
    try:
        data = cluster.request('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', body=body,
                               action=None).data or {}
    except HttpError:
        return None
    user = (data.get('status') or {}).get('userInfo') or {}
    return {'username': user.get('username'), 'uid': user.get('uid')} if user.get('username') else None


def access_review(cluster, verb, resource, namespace=None, name=None, group=None, subresource=None, path=None):
    """Whether the caller of ``cluster`` may ``verb`` ``resource`` (or the non-resource URL ``path``):
    ``{verb, resource, group, namespace, name, path, allowed, denied, reason, evaluation_error}``.

    ``resource`` may carry its subresource (``pods/log``) and its group (``deployments.apps``).
    """
    if not verb or not (resource or path):
        raise K8sTokenError('An access check needs a verb and a resource (got %r, %r).' % (verb, resource))
    if path:
        spec = {'nonResourceAttributes': {'verb': verb, 'path': path}}
        resource = subresource = group = None
        subject = '%s %s' % (verb, path)
    else:
        resource, _slash, sub = str(resource).partition('/')
        subresource = subresource or sub or None
        if group is None and '.' in resource:
            resource, _dot, group = resource.partition('.')
        attributes = {'verb': verb, 'resource': resource, 'group': group or ''}
        for key, value in (('namespace', namespace), ('name', name), ('subresource', subresource)):
            if value:
                attributes[key] = value
        spec = {'resourceAttributes': attributes}
        subject = '%s %s' % (verb, resource)
    body = {'apiVersion': 'authorization.k8s.io/v1', 'kind': 'SelfSubjectAccessReview', 'spec': spec}
    action = cluster.action('create', 'selfsubjectaccessreviews', subject=subject)
    data = cluster.post('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', body, action=action).data or {}
    status = data.get('status') or {}
    return {
        'verb': verb,
        'resource': (resource or '') + ('/' + subresource if subresource else ''),
        'group': group or '',
        'namespace': namespace,
        'name': name,
        'path': path,
        'allowed': bool(status.get('allowed')),
        'denied': bool(status.get('denied')),
        'reason': status.get('reason') or '',
        'evaluation_error': status.get('evaluationError') or '',
    }


def access_reviews(cluster, checks):
    """:func:`access_review` for each dict of ``checks`` (keys: verb, resource, namespace, name,
    group, subresource, path), in order."""
    return [access_review(cluster, check.get('verb'), check.get('resource'), check.get('namespace'),
                          check.get('name'), check.get('group'), check.get('subresource'), check.get('path'))
            for check in checks]


def rules_review(cluster, namespace):
    """What the caller of ``cluster`` may do in ``namespace`` (a SelfSubjectRulesReview: the rules of
    every binding that applies there, cluster-wide ones included):
    ``{namespace, resource_rules, non_resource_rules, incomplete, evaluation_error}``, rules as PolicyRules."""
    body = {'apiVersion': 'authorization.k8s.io/v1', 'kind': 'SelfSubjectRulesReview', 'spec': {'namespace': namespace}}
    action = cluster.action('create', 'selfsubjectrulesreviews', subject='the rules in namespace %s' % namespace)
    data = cluster.post('/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', body, action=action).data or {}
    status = data.get('status') or {}
    return {
        'namespace': namespace,
        'resource_rules': list(status.get('resourceRules') or []),
        'non_resource_rules': list(status.get('nonResourceRules') or []),
        'incomplete': bool(status.get('incomplete')),
        'evaluation_error': status.get('evaluationError') or '',
    }
