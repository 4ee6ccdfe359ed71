# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Long-lived ServiceAccount tokens kept in Secrets of type ``kubernetes.io/service-account-token``.

``ensure_secret_token`` creates such a Secret (after checking that its ServiceAccount
exists), waits, within a bound, for the token controller of kube-controller-manager to fill
in ``token``, ``ca.crt`` and ``namespace``, and returns what it found. ``remove_secret_token``
deletes it, which revokes the token. Requests are JSON on ``transport.Cluster``; failures
are :class:`errors.K8sTokenError` sentences.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy
import time

from ansible_collections.mcp.k8s.plugins.module_utils import durations, handoff, object_names
from ansible_collections.mcp.k8s.plugins.module_utils.object_names import CREATED_ANNOTATION
from ansible_collections.mcp.k8s.plugins.module_utils.errors import (
    K8sTokenError, as_token_error, is_status, register_secret,
)

SECRET_TYPE = 'kubernetes.io/service-account-token'
SA_NAME_ANNOTATION = 'kubernetes.io/service-account.name'
SA_UID_ANNOTATION = 'kubernetes.io/service-account.uid'
INVALID_SINCE_LABEL = 'kubernetes.io/legacy-token-invalid-since'
FILLED_KEYS = ('token', 'ca.crt', 'namespace')
DEFAULT_WAIT_TIMEOUT = 60

NEVER_EXPIRES_WARNING = (
    'A token kept in a Secret never expires: it stays valid until the Secret or its ServiceAccount '
    'is deleted. Prefer short-lived tokens from mcp.k8s.sa_token wherever the client can renew them.')

# Result keys, all present in every result (None when not known).
RESULT_KEYS = ('token', 'ca_crt', 'namespace', 'secret', 'service_account', 'kubeconfig')


class SecretSpec:
    """Which Secret, for which ServiceAccount, with which labels; validated."""

    def __init__(self, service_account, namespace=None, secret_name=None, labels=None, wait_timeout=None,
                 adopt=False):
        if not isinstance(service_account, str) or not service_account.strip():
            raise K8sTokenError('name must be the name of a ServiceAccount, not %r.' % (service_account,))
        self.service_account = object_names.check_name(service_account.strip(), option='name')
        self.namespace = object_names.check_namespace((namespace or 'default').strip())
        self.name = object_names.check_name((secret_name or '').strip() or '%s-token' % self.service_account,
                                            what='Secret', option='secret_name')
        self.labels = dict((str(k), str(v)) for k, v in (labels or {}).items())
        if wait_timeout is None or wait_timeout == '':
            wait_timeout = DEFAULT_WAIT_TIMEOUT
        self.wait_timeout = durations.parse_seconds(wait_timeout, option='wait_timeout')
        if self.wait_timeout < 0:
            raise K8sTokenError('wait_timeout must not be negative, not %r.' % (wait_timeout,))
        self.adopt = bool(adopt)

    @property
    def owner(self):
        """The value of the created-by annotation on Secrets this module makes (as sa_access marks its own)."""
        return '%s/%s' % (self.namespace, self.service_account)

    def describe(self):
        return 'Secret "%s/%s"' % (self.namespace, self.name)

    def describe_account(self):
        return 'ServiceAccount "%s/%s"' % (self.namespace, self.service_account)

    @property
    def secret_path(self):
        return '/api/v1/namespaces/%s/secrets/%s' % (self.namespace, self.name)

    def manifest(self):
        """The Secret this module creates."""
        return {
            'apiVersion': 'v1',
            'kind': 'Secret',
            'metadata': {'name': self.name, 'namespace': self.namespace,
                         'labels': dict(self.labels),
                         'annotations': {SA_NAME_ANNOTATION: self.service_account,
                                         CREATED_ANNOTATION: self.owner}},
            'type': SECRET_TYPE,
        }


def secret_spec(options):
    """A :class:`SecretSpec` from module params."""
    return SecretSpec(options.get('name'), options.get('namespace'), options.get('secret_name'),
                      options.get('labels'), options.get('wait_timeout'), options.get('adopt'))


# ---------------------------------------------------------------- reading


def read_secret(cluster, spec):
    """The Secret named by ``spec``, or None when it does not exist."""
    action = cluster.action('get', 'secrets', spec.namespace, spec.describe())
    try:
        return cluster.request('GET', spec.secret_path, action=None).data
    except Exception as exc:
        if is_status(exc, 404):
            return None
        raise as_token_error(exc, action)


def read_service_account(cluster, spec):
    """The ServiceAccount of ``spec``; a clear error when it (or its namespace) does not exist."""
    path = '/api/v1/namespaces/%s/serviceaccounts/%s' % (spec.namespace, spec.service_account)
    action = cluster.action('get', 'serviceaccounts', spec.namespace, spec.describe_account(), hints={
        404: 'create it first or correct name and namespace',
        403: 'grant it "get" on "serviceaccounts" (the module checks that the ServiceAccount exists '
             'before it creates the Secret)'})
    try:
        return cluster.request('GET', path, action=None).data or {}
    except Exception as exc:
        if is_status(exc, 404) and not cluster.namespace_exists(spec.namespace):
            raise K8sTokenError('Namespace "%s" does not exist; create it and the %s first or correct namespace.'
                                % (spec.namespace, spec.describe_account()), status=404)
        raise as_token_error(exc, action)


def secret_data(secret):
    """``{token, ca.crt, namespace}`` of a Secret, decoded (text), only the keys present."""
    data = (secret or {}).get('data') or {}
    decoded = {}
    for key in FILLED_KEYS:
        value = data.get(key)
        if value:
            try:
                decoded[key] = base64.b64decode(value).decode('utf-8')
            except (ValueError, TypeError):
                raise K8sTokenError('The Secret "%s" holds a %s that is not base64 text; delete the Secret and '
                                    'run again.' % (_name(secret), key))
    if decoded.get('token'):
        register_secret(decoded['token'])
    return decoded


def is_filled(secret):
    data = (secret or {}).get('data') or {}
    return all(data.get(key) for key in FILLED_KEYS)


def _name(secret):
    meta = (secret or {}).get('metadata') or {}
    return '%s/%s' % (meta.get('namespace'), meta.get('name'))


def check_ownership(secret, spec):
    """Refuse a Secret this module may not change or delete; True when it must be adopted (marked as ours).

    Always refused: another type, a token of another ServiceAccount, a Secret another account of
    this collection made. A token Secret of this account without the created-by annotation (made
    by hand, by another tool, or by an earlier release of this collection) is refused unless
    ``spec.adopt``; then it is taken over.
    """
    kind = secret.get('type') or 'Opaque'
    if kind != SECRET_TYPE:
        raise K8sTokenError('%s exists with type "%s", not "%s"; choose another secret_name or remove that Secret.'
                            % (spec.describe(), kind, SECRET_TYPE))
    annotations = (secret.get('metadata') or {}).get('annotations') or {}
    owner = annotations.get(SA_NAME_ANNOTATION)
    if owner != spec.service_account:
        raise K8sTokenError('%s holds a token of ServiceAccount "%s", not "%s"; choose another secret_name or '
                            'remove that Secret.' % (spec.describe(), owner, spec.service_account))
    created_by = annotations.get(CREATED_ANNOTATION)
    if created_by == spec.owner:
        return False
    if created_by:
        raise K8sTokenError('%s was made by mcp.k8s for the ServiceAccount %s, not %s (annotation %s), so nothing '
                            'was changed; choose another secret_name.'
                            % (spec.describe(), created_by, spec.owner, CREATED_ANNOTATION))
    if spec.adopt:
        return True
    raise K8sTokenError('%s exists but was not made by mcp.k8s for the ServiceAccount %s (no %s annotation), so '
                        'nothing was changed; if you made it, or an earlier release of mcp.k8s did, set adopt to true '
                        'once to take it over, otherwise choose another secret_name.'
                        % (spec.describe(), spec.owner, CREATED_ANNOTATION))


def diff_view(secret):
    """What the diff shows of a Secret: its identity, labels and annotations, never its data."""
    if not secret:
        return {}
    meta = secret.get('metadata') or {}
    view = {'apiVersion': 'v1', 'kind': 'Secret', 'type': secret.get('type'),
            'metadata': {'name': meta.get('name'), 'namespace': meta.get('namespace')}}
    if meta.get('labels'):
        view['metadata']['labels'] = dict(meta['labels'])
    annotations = dict((k, v) for k, v in (meta.get('annotations') or {}).items()
                       if k in (SA_NAME_ANNOTATION, SA_UID_ANNOTATION, CREATED_ANNOTATION))
    if annotations:
        view['metadata']['annotations'] = annotations
    return view


# ---------------------------------------------------------------- the flows


def ensure_secret_token(cluster, spec, check_mode=False, sleep=time.sleep, clock=time.monotonic):
    """Make sure the token Secret of ``spec`` exists and is filled in.

    Returns ``(changed, result, diff, warnings)``. In check mode nothing is written; when the
    Secret would be created the result's token is None.
    """
    warnings = [NEVER_EXPIRES_WARNING]
    before = read_secret(cluster, spec)
    adopting = before is not None and check_ownership(before, spec)
    account = read_service_account(cluster, spec)

    if before is None:
        after = spec.manifest()
        changed = True
        if check_mode:
            return changed, _result(cluster, spec, after, account), _diff(None, after), warnings
        secret = _create(cluster, spec)
    else:
        labels = dict(((before.get('metadata') or {}).get('labels') or {}))
        wanted = dict(labels, **spec.labels)
        changed = wanted != labels or adopting
        secret = before
        if changed:
            after = copy.deepcopy(before)
            after['metadata']['labels'] = wanted
            if adopting:  # from now on it is ours: marked as the Secrets this module creates
                after['metadata']['annotations'] = dict(after['metadata'].get('annotations') or {},
                                                        **{CREATED_ANNOTATION: spec.owner})
            if check_mode:
                return changed, _result(cluster, spec, before, account), _diff(before, after), warnings
            secret = _update(cluster, spec, after)
        stale = _stale_owner(secret, account)
        if stale:
            warnings.append(stale)

    if not is_filled(secret):
        if check_mode:
            return changed, _result(cluster, spec, secret, account), _diff(before, secret), warnings
        try:
            secret = wait_filled(cluster, spec, sleep=sleep, clock=clock)
        except K8sTokenError as exc:
            exc.changed = changed  # the Secret was written before the wait failed
            raise
    if INVALID_SINCE_LABEL in ((secret.get('metadata') or {}).get('labels') or {}):
        warnings.append('%s is labelled %s, so the API server rejects its token; remove the label to use the '
                        'token again.' % (spec.describe(), INVALID_SINCE_LABEL))
    return changed, _result(cluster, spec, secret, account), _diff(before, secret), warnings


def remove_secret_token(cluster, spec, check_mode=False):
    """Delete the token Secret of ``spec`` (revoking its token). Returns ``(changed, diff)``."""
    before = read_secret(cluster, spec)
    if before is None:
        return False, _diff(None, None)
    check_ownership(before, spec)  # refuses what this module did not make, unless adopt
    if not check_mode:
        action = cluster.action('delete', 'secrets', spec.namespace, spec.describe())
        uid = (before.get('metadata') or {}).get('uid')
        body = {'apiVersion': 'v1', 'kind': 'DeleteOptions'}
        if uid:
            body['preconditions'] = {'uid': uid}  # never delete a Secret made since we read it
        try:
            cluster.request('DELETE', spec.secret_path, body=body, action=None)
        except Exception as exc:
            if is_status(exc, 404):
                return False, _diff(None, None)
            raise as_token_error(exc, action)
    return True, _diff(before, None)


def _create(cluster, spec):
    action = cluster.action('create', 'secrets', spec.namespace, spec.describe())
    try:
        return cluster.request('POST', '/api/v1/namespaces/%s/secrets' % spec.namespace, body=spec.manifest(),
                               action=None).data
    except Exception as exc:
        if is_status(exc, 409):  # made by someone else since we looked: take it if it is ours
            secret = read_secret(cluster, spec)
            if secret is not None:
                if check_ownership(secret, spec):
                    raise K8sTokenError('%s was created by someone else while the module ran; run it again to '
                                        'take it over (adopt is set).' % spec.describe())
                return secret
        raise as_token_error(exc, action)


def _update(cluster, spec, secret):
    # A PUT (RBAC "update", as documented) with the resourceVersion read: 409 when the Secret changed.
    action = cluster.action('update', 'secrets', spec.namespace, spec.describe(), hints={
        409: 'the Secret changed while the module ran; run it again'})
    try:
        return cluster.request('PUT', spec.secret_path, body=secret, action=None).data
    except Exception as exc:
        raise as_token_error(exc, action)


def _stale_owner(secret, account):
    """A warning when the Secret was filled for an earlier ServiceAccount of the same name."""
    recorded = ((secret.get('metadata') or {}).get('annotations') or {}).get(SA_UID_ANNOTATION)
    current = (account.get('metadata') or {}).get('uid')
    if recorded and current and recorded != current:
        return ('Secret "%s" was filled for an earlier ServiceAccount of the same name (uid %s, now %s), so its '
                'token no longer authenticates; delete the Secret (state: absent) and create it again.'
                % (_name(secret), recorded, current))
    return None


def wait_filled(cluster, spec, sleep=time.sleep, clock=time.monotonic):
    """Poll the Secret until the token controller has filled it in, within ``spec.wait_timeout``."""
    deadline = clock() + spec.wait_timeout
    delay = 0.1
    while True:
        secret = read_secret(cluster, spec)
        if secret is None:
            raise K8sTokenError('%s was deleted while waiting for its token; the token controller deletes token '
                                'Secrets whose ServiceAccount is missing, so check that %s exists.'
                                % (spec.describe(), spec.describe_account()))
        if is_filled(secret):
            return secret
        remaining = deadline - clock()
        if remaining <= 0:
            raise K8sTokenError('The token controller did not fill in %s within %s seconds; check that '
                                'kube-controller-manager runs with its service account token controller '
                                '(--service-account-private-key-file), or raise wait_timeout.'
                                % (spec.describe(), spec.wait_timeout))
        sleep(min(delay, remaining))
        delay = min(delay * 2, 2.0)


def _result(cluster, spec, secret, account):
    result = dict((key, None) for key in RESULT_KEYS)
    meta = (secret or {}).get('metadata') or {}
    data = secret_data(secret)
    account_meta = (account or {}).get('metadata') or {}
    result.update({
        'token': data.get('token'),
        'ca_crt': data.get('ca.crt'),
        'namespace': data.get('namespace'),
        'secret': {'name': meta.get('name') or spec.name, 'namespace': meta.get('namespace') or spec.namespace,
                   'uid': meta.get('uid'), 'labels': dict(meta.get('labels') or {})},
        'service_account': {'name': spec.service_account, 'namespace': spec.namespace,
                            'uid': account_meta.get('uid')},
    })
    if result['token']:
        result['kubeconfig'] = handoff.kubeconfig_for_token(
            cluster, result['token'], spec.namespace, 'system:serviceaccount:%s:%s' % (spec.namespace, spec.service_account))
    return result


def _diff(before, after):
    return {'before': diff_view(before), 'after': diff_view(after)}
