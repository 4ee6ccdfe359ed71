# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A ServiceAccount and its RBAC, owned by the collection: wanted objects, plan, apply.

Every object made here carries the annotation ``mcp.k8s/service-account: NAMESPACE/NAME``
(its owner) and the label ``app.kubernetes.io/managed-by: mcp.k8s``; a namespace made here
carries ``mcp.k8s/created-by: NAMESPACE/NAME``. Only objects with the owner's annotation are
ever changed or deleted: others of the same names are refused (one sentence naming each)
unless ``adopt`` is set, and built-in roles (``system:*``, ``cluster-admin``, ``admin``,
``edit``, ``view``, anything labelled ``kubernetes.io/bootstrapping``) are refused outright.

:func:`plan` is pure (unit-tested); :func:`ensure_present` and :func:`ensure_absent` make the
requests through ``transport.Cluster`` (retries and error sentences come from the core).
Writes are server-side applies with the field manager ``mcp.k8s`` (``dryRun=All`` in check
mode); a binding whose ``roleRef`` must change is deleted and applied again (roleRef is
immutable); owned RBAC that is no longer wanted is deleted with a uid precondition.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.mcp.k8s.plugins.module_utils import object_names, option_names, rbac_checks, reviews
from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError, as_token_error, is_status

FIELD_MANAGER = 'mcp.k8s'
MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by'
OWNER_ANNOTATION = 'mcp.k8s/service-account'
CREATED_ANNOTATION = object_names.CREATED_ANNOTATION
BOOTSTRAP_LABEL = 'kubernetes.io/bootstrapping'
RBAC_GROUP = 'rbac.authorization.k8s.io'
RBAC_API = RBAC_GROUP + '/v1'
RESERVED_NAMES = ('cluster-admin', 'admin', 'edit', 'view')
RESERVED_PREFIXES = ('system:', 'kubeadm:')
# Namespaces whose ServiceAccounts belong to Kubernetes and its controllers (and hold rights
# through the built-in bindings): never created, adopted or changed there.
SYSTEM_NAMESPACES = ('kube-system', 'kube-public', 'kube-node-lease')

# kind -> (API path prefix, plural, namespaced)
KINDS = {
    'Namespace': ('/api/v1', 'namespaces', False),
    'ServiceAccount': ('/api/v1', 'serviceaccounts', True),
    'ClusterRole': ('/apis/' + RBAC_API, 'clusterroles', False),
    'ClusterRoleBinding': ('/apis/' + RBAC_API, 'clusterrolebindings', False),
    'Role': ('/apis/' + RBAC_API, 'roles', True),
    'RoleBinding': ('/apis/' + RBAC_API, 'rolebindings', True),
}
RBAC_KINDS = ('ClusterRoleBinding', 'RoleBinding', 'ClusterRole', 'Role')   # deletion order: bindings first
BINDING_KINDS = ('ClusterRoleBinding', 'RoleBinding')
_ORDER = ('ClusterRoleBinding', 'RoleBinding', 'ClusterRole', 'Role', 'ServiceAccount', 'Namespace')
# What Kubernetes itself puts in every namespace (measured on kube-apiserver and
# kube-controller-manager 1.33-1.37: the ServiceAccount controller makes ``default``, the root CA
# publisher ``kube-root-ca.crt``; nothing else appears in a new namespace).
NAMESPACE_DEFAULTS = (('ServiceAccount', 'default'), ('ConfigMap', 'kube-root-ca.crt'))


def owner_of(name, namespace):
    return '%s/%s' % (namespace, name)


def username(name, namespace):
    return 'system:serviceaccount:%s:%s' % (namespace, name)


def path(kind, name=None, namespace=None):
    prefix, plural, namespaced = KINDS[kind]
    text = prefix
    if namespaced and namespace:
        text += '/namespaces/%s' % namespace
    text += '/' + plural
    if name:
        text += '/' + name
    return text


def key_of(obj):
    meta = obj.get('metadata') or {}
    return (obj['kind'], meta.get('namespace') or '', meta.get('name'))


def shown(key):
    """``Kind namespace/name`` (``Kind name`` for cluster-scoped objects)."""
    kind, namespace, name = key
    return '%s %s%s' % (kind, namespace + '/' if namespace else '', name)


def ref(key):
    return {'kind': key[0], 'namespace': key[1], 'name': key[2]}


def is_reserved(name):
    return name in RESERVED_NAMES or any(str(name).startswith(prefix) for prefix in RESERVED_PREFIXES)


def access_spec(params):
    """The checked description of an account's access, from module params (or the same keys)."""
    name = object_names.check_name(params.get('name'), option='name')
    namespace = object_names.check_namespace(params.get('namespace') or 'default')
    state = params.get('state') or 'present'
    scope = params.get('scope') or 'cluster'
    rbac_namespaces = []
    for value in params.get('namespaces') or []:
        object_names.check_namespace(value, option='namespaces entry')
        if value not in rbac_namespaces:
            rbac_namespaces.append(value)
    rules = rbac_checks.check_rules(params.get('rules'))
    cluster_role = params.get('cluster_role') or None
    if state == 'present' and not params.get('verify_only'):
        if rules and cluster_role:
            raise K8sTokenError('Give either rules or cluster_role, not both: rules make a role named after the '
                                'account, cluster_role binds an existing ClusterRole.')
        if not rules and not cluster_role:
            raise K8sTokenError('Give the account its rights: rules (PolicyRules) or cluster_role (an existing '
                                'ClusterRole to bind).')
        if scope == 'namespaces' and not rbac_namespaces:
            raise K8sTokenError('scope namespaces needs namespaces: the namespaces the account gets its rights in.')
    if is_reserved(name):
        raise K8sTokenError('"%s" is a built-in Kubernetes name and the roles and bindings take the account\'s '
                            'name, so they would replace a built-in role; built-in and system names are never '
                            'changed: choose another name.' % name)
    if state == 'present' and not params.get('verify_only') and namespace in SYSTEM_NAMESPACES:
        raise K8sTokenError('"%s" is a system namespace: its ServiceAccounts belong to Kubernetes and its controllers '
                            'and hold rights through built-in bindings, so mcp.k8s never creates, adopts or changes '
                            'an account there; choose another namespace.' % namespace)
    labels = dict(params.get('labels') or {})
    labels[MANAGED_BY_LABEL] = FIELD_MANAGER
    return {
        'name': name, 'namespace': namespace, 'state': state, 'labels': labels,
        'rules': rules, 'cluster_role': cluster_role, 'scope': scope,
        'namespaces': rbac_namespaces if scope == 'namespaces' else [],
        'create_namespace': bool(params.get('create_namespace')),
        'delete_namespace': bool(params.get('delete_namespace')),
        'adopt': bool(params.get('adopt')),
        'allow_risky': bool(params.get('allow_wildcards_and_escalation')),
        'allow_aggregation': bool(params.get('allow_aggregation')),
        'owner': owner_of(name, namespace),
        'username': username(name, namespace),
        'names': option_names.of(params),
    }


def _metadata(spec, name, namespace=None):
    meta = {'name': name, 'labels': dict(spec['labels']), 'annotations': {OWNER_ANNOTATION: spec['owner']}}
    if namespace:
        meta['namespace'] = namespace
    return meta


def wanted_objects(spec):
    """The objects of the account, in the order they are applied."""
    name, namespace = spec['name'], spec['namespace']
    subjects = [{'kind': 'ServiceAccount', 'name': name, 'namespace': namespace}]
    objects = [{'apiVersion': 'v1', 'kind': 'ServiceAccount', 'metadata': _metadata(spec, name, namespace)}]
    if spec['scope'] == 'cluster':
        if spec['rules']:
            objects.append({'apiVersion': RBAC_API, 'kind': 'ClusterRole', 'metadata': _metadata(spec, name),
                            'rules': spec['rules']})
        objects.append({'apiVersion': RBAC_API, 'kind': 'ClusterRoleBinding', 'metadata': _metadata(spec, name),
                        'subjects': subjects,
                        'roleRef': {'apiGroup': RBAC_GROUP, 'kind': 'ClusterRole', 'name': spec['cluster_role'] or name}})
        return objects
    for rbac_namespace in spec['namespaces']:
        if spec['rules']:
            objects.append({'apiVersion': RBAC_API, 'kind': 'Role', 'metadata': _metadata(spec, name, rbac_namespace),
                            'rules': spec['rules']})
        role_ref = ({'apiGroup': RBAC_GROUP, 'kind': 'ClusterRole', 'name': spec['cluster_role']} if spec['cluster_role']
                    else {'apiGroup': RBAC_GROUP, 'kind': 'Role', 'name': name})
        objects.append({'apiVersion': RBAC_API, 'kind': 'RoleBinding',
                        'metadata': _metadata(spec, name, rbac_namespace), 'subjects': subjects, 'roleRef': role_ref})
    return objects


def owner_annotation(obj):
    return ((obj.get('metadata') or {}).get('annotations') or {}).get(OWNER_ANNOTATION) or ''


def _is_builtin(obj):
    meta = obj.get('metadata') or {}
    return BOOTSTRAP_LABEL in (meta.get('labels') or {}) or is_reserved(meta.get('name') or '')


def selector_matches(selector, labels):
    """Whether a LabelSelector (``matchLabels``, ``matchExpressions`` with In, NotIn, Exists,
    DoesNotExist) selects an object with ``labels``; an empty selector selects everything."""
    labels = labels or {}
    for key, value in ((selector or {}).get('matchLabels') or {}).items():
        if labels.get(key) != value:
            return False
    for expression in (selector or {}).get('matchExpressions') or []:
        key, operator = expression.get('key'), expression.get('operator')
        values = expression.get('values') or []
        if operator == 'In' and labels.get(key) not in values:
            return False
        if operator == 'NotIn' and key in labels and labels[key] in values:
            return False
        if operator == 'Exists' and key not in labels:
            return False
        if operator == 'DoesNotExist' and key in labels:
            return False
        if operator not in ('In', 'NotIn', 'Exists', 'DoesNotExist'):
            return False
    return True


def aggregated_into(labels, cluster_roles, name=None):
    """The ClusterRoles (names, sorted) whose ``aggregationRule`` would copy in the rules of a
    ClusterRole with ``labels``, also through roles they aggregate into in turn (``view`` is
    aggregated into ``edit``, ``edit`` into ``admin``). ``cluster_roles``: live ClusterRoles;
    ``name``: the role itself, never counted."""
    widened = []
    queue = [labels or {}]
    while queue:
        current = queue.pop(0)
        for role in cluster_roles or []:
            meta = role.get('metadata') or {}
            selectors = (role.get('aggregationRule') or {}).get('clusterRoleSelectors')
            if not selectors or meta.get('name') in widened or meta.get('name') == name:
                continue
            if any(selector_matches(selector, current) for selector in selectors):
                widened.append(meta.get('name'))
                queue.append(meta.get('labels') or {})
    return sorted(widened)


def aggregation_refusal(spec, cluster_roles):
    """One sentence when the account's ClusterRole would be aggregated into other ClusterRoles
    (its labels are selected by their aggregationRule) and ``allow_aggregation`` is not set."""
    if spec['allow_aggregation'] or spec['scope'] != 'cluster' or not spec['rules']:
        return None
    widened = aggregated_into(spec['labels'], cluster_roles, spec['name'])
    if not widened:
        return None
    roles = ['ClusterRole %s' % name for name in widened]
    selected = sorted(set(key for role in cluster_roles or [] if (role.get('metadata') or {}).get('name') in widened
                          for selector in (role.get('aggregationRule') or {}).get('clusterRoleSelectors') or []
                          for key in (selector.get('matchLabels') or {}) if key in spec['labels']))
    return ('The labels of the ClusterRole %s (%s) are selected by the aggregationRule of %s, so its rules would be '
            'copied into %s and granted to everyone bound to %s; remove those labels, or set %s to '
            'true if that is really meant.'
            % (spec['name'], ', '.join(selected) or 'all of them', _join(roles), 'it' if len(roles) == 1 else 'them',
               'it' if len(roles) == 1 else 'them', option_names.name(spec.get('names'), 'allow_aggregation')))


def plan(wanted, existing, owner, adopt=False, absent=False):
    """What to do so that the cluster holds ``wanted`` (a list of objects) given ``existing``
    (a dict key -> live object of every object named after the account):

    ``apply``: wanted objects to apply; ``recreate``: keys of bindings to delete first (their
    roleRef must change); ``prune``: live objects we own that are not wanted; ``conflicts``:
    ``(key, owner)`` of wanted objects another account owns; ``foreign``: keys of wanted
    objects nobody of ours made (refused unless ``adopt``); ``builtin``: keys of built-in
    objects (always refused); ``left_alone``: ``(key, reason)`` of live objects not ours that
    are left as they are; ``drop_aggregation``: keys of wanted ClusterRoles whose live object has an
    ``aggregationRule`` (the aggregation controller would replace their rules): it is removed.
    With ``absent``, nothing is wanted and owned objects are pruned.
    """
    result = {'apply': [], 'recreate': [], 'prune': [], 'conflicts': [], 'foreign': [], 'builtin': [],
              'left_alone': [], 'drop_aggregation': []}
    wanted_keys = {}
    for obj in wanted:
        wanted_keys[key_of(obj)] = obj
    for obj in wanted:
        key = key_of(obj)
        live = existing.get(key)
        if live is not None:
            live_owner = owner_annotation(live)
            if _is_builtin(live):
                result['builtin'].append(key)
                continue
            if live_owner and live_owner != owner:
                result['conflicts'].append((key, live_owner))
                continue
            if not live_owner and not adopt:
                result['foreign'].append(key)
                continue
            if obj['kind'] == 'ClusterRole' and live.get('aggregationRule'):
                result['drop_aggregation'].append(key)
            if 'roleRef' in obj and live.get('roleRef') and (
                    live['roleRef'].get('kind'), live['roleRef'].get('name')) != (obj['roleRef']['kind'], obj['roleRef']['name']):
                result['recreate'].append(key)
        result['apply'].append(obj)
    for key in sorted(existing, key=lambda k: (_ORDER.index(k[0]), k[1], k[2])):
        if key in wanted_keys:
            continue
        live = existing[key]
        live_owner = owner_annotation(live)
        if live_owner == owner and not _is_builtin(live):
            result['prune'].append(live)
        elif absent or live_owner:
            reason = ('it belongs to the ServiceAccount %s' % live_owner if live_owner and live_owner != owner
                      else 'it is a built-in object' if _is_builtin(live)
                      else 'it was not made by mcp.k8s for %s (no %s annotation)' % (owner, OWNER_ANNOTATION))
            result['left_alone'].append((key, reason))
    return result


def refusal(steps, spec):
    """One sentence per kind of refusal in the plan ``steps``, or None when nothing is refused."""
    sentences = []
    if steps['builtin']:
        sentences.append('%s %s built into Kubernetes and never changed; choose another name for the account.'
                         % (_join([shown(k) for k in steps['builtin']]), 'is' if len(steps['builtin']) == 1 else 'are'))
    if steps['conflicts']:
        sentences.append('%s. Remove that account first (state absent with its namespace) or choose another name: '
                         'the roles and bindings take the account\'s name.'
                         % '; '.join('%s belongs to the ServiceAccount %s' % (shown(k), o) for k, o in steps['conflicts']))
    if steps['foreign']:
        many = len(steps['foreign']) > 1
        sentences.append('%s already exist%s and %s not made by mcp.k8s for the ServiceAccount %s (no %s annotation), '
                         'so nothing was changed; choose another name, remove %s, or set %s to true to take %s over.'
                         % (_join([shown(k) for k in steps['foreign']]), '' if many else 's', 'were' if many else 'was',
                            spec['owner'], OWNER_ANNOTATION, 'them' if many else 'it', option_names.name(spec.get('names'), 'adopt'),
                            'them' if many else 'it'))
    return ' '.join(sentences) or None


def _join(items):
    if len(items) <= 1:
        return ''.join(items)
    return ', '.join(items[:-1]) + ' and ' + items[-1]


def managed_view(obj):
    """The fields the collection manages, for comparing and for diffs."""
    meta = obj.get('metadata') or {}
    view = {'kind': obj.get('kind'), 'metadata': {'name': meta.get('name')}}
    if meta.get('namespace'):
        view['metadata']['namespace'] = meta['namespace']
    for key in ('labels', 'annotations'):
        view['metadata'][key] = dict(meta.get(key) or {})
    for key in ('rules', 'aggregationRule', 'roleRef', 'subjects'):
        if key in obj:
            view[key] = obj[key]
    return view


def _clean(obj):
    """A live object without managedFields (noise in results)."""
    obj = dict(obj)
    meta = dict(obj.get('metadata') or {})
    meta.pop('managedFields', None)
    obj['metadata'] = meta
    return obj


def _text(view):
    return json.dumps(view, indent=2, sort_keys=True) + '\n' if view else ''


class _Run:
    """One convergence: requests, changes, diffs."""

    def __init__(self, cluster, spec, check_mode, read_bindings=False):
        self.cluster = cluster
        self.spec = spec
        self.check_mode = check_mode
        self.read_bindings = read_bindings   # list every binding (for the rights check), not only the account's
        self.bindings = {}
        self.changes = []
        self.diffs = []
        self.cluster_roles = []
        self.aggregated_reference = False

    def change(self, key, action, reason, before=None, after=None):
        entry = ref(key)
        entry.update(action=action, reason=reason)
        self.changes.append(entry)
        if action != 'unchanged':
            self.diffs.append({'before_header': shown(key), 'after_header': shown(key),
                               'before': _text(before and managed_view(before)),
                               'after': _text(after and managed_view(after))})

    def get(self, kind, name, namespace=None):
        action = self.cluster.action('get', KINDS[kind][1], namespace=namespace, subject='%s "%s"' % (kind, name))
        try:
            return self.cluster.request('GET', path(kind, name, namespace), action=None).data
        except Exception as exc:  # 404: missing; anything else: one sentence
            if is_status(exc, 404):
                return None
            raise as_token_error(exc, action)

    def list(self, kind, name=None):
        """The objects of ``kind`` named ``name`` in every namespace (all of them without a name)."""
        action = self.cluster.action('list', KINDS[kind][1])
        query = {'fieldSelector': 'metadata.name=%s' % name} if name else None
        data = self.cluster.request('GET', path(kind), query=query, action=action).data or {}
        items = []
        for item in data.get('items') or []:
            item = dict(item, kind=kind)
            if name is None or (item.get('metadata') or {}).get('name') == name:
                items.append(item)
        return items

    def existing(self):
        """Every object named after the account: its ServiceAccount and RBAC in any namespace. When the
        account gets a ClusterRole of its own, every ClusterRole is read (kept in ``cluster_roles``) to
        see which aggregate it."""
        spec = self.spec
        found = {}
        for kind in RBAC_KINDS:
            if kind == 'ClusterRole' and spec['state'] == 'present' and spec['scope'] == 'cluster' and spec['rules']:
                self.cluster_roles = self.list(kind)
                items = [item for item in self.cluster_roles if item['metadata'].get('name') == spec['name']]
            elif kind in BINDING_KINDS and self.read_bindings:
                self.bindings[kind] = self.list(kind)
                items = [item for item in self.bindings[kind] if item['metadata'].get('name') == spec['name']]
            else:
                items = self.list(kind, spec['name'])
            for item in items:
                found[key_of(item)] = item
        account = self.get('ServiceAccount', spec['name'], spec['namespace'])
        if account is not None:
            account = dict(account, kind='ServiceAccount')
            found[key_of(account)] = account
        return found

    def apply(self, obj, dry_run):
        kind, namespace, name = key_of(obj)
        query = {'fieldManager': FIELD_MANAGER, 'force': 'true'}
        if dry_run:
            query['dryRun'] = 'All'
        action = self.cluster.action('patch', KINDS[kind][1], namespace=namespace or None,
                                     subject='%s "%s"' % (kind, name))
        data = self.cluster.request('PATCH', path(kind, name, namespace), body=obj, query=query, action=action,
                                    content_type='application/apply-patch+yaml').data
        return dict(data or {}, kind=kind)

    def drop_aggregation(self, live):
        """Remove the aggregationRule of a ClusterRole (a JSON merge patch; a dry run in check mode), so
        that the aggregation controller stops replacing its rules with those of the roles it selects."""
        name = live['metadata']['name']
        query = {'dryRun': 'All'} if self.check_mode else None
        body = {'metadata': {'uid': live['metadata'].get('uid')}, 'aggregationRule': None}
        action = self.cluster.action('patch', 'clusterroles', subject='ClusterRole "%s"' % name)
        self.cluster.request('PATCH', path('ClusterRole', name), body=body, query=query, action=action,
                             content_type='application/merge-patch+json')

    def delete(self, live):
        kind, namespace, name = key_of(live)
        if self.check_mode:
            return
        body = {'apiVersion': 'v1', 'kind': 'DeleteOptions'}
        uid = (live.get('metadata') or {}).get('uid')
        if uid:
            body['preconditions'] = {'uid': uid}
        action = self.cluster.action('delete', KINDS[kind][1], namespace=namespace or None,
                                     subject='%s "%s"' % (kind, name))
        try:
            self.cluster.request('DELETE', path(kind, name, namespace), body=body, action=None)
        except Exception as exc:
            if not is_status(exc, 404, 409):   # already gone, or replaced by someone else meanwhile
                raise as_token_error(exc, action)


def _referenced_rules(run, spec):
    """The rules of the ClusterRole that ``cluster_role`` names (one sentence when it is missing)."""
    live = run.get('ClusterRole', spec['cluster_role'])
    if live is None:
        raise K8sTokenError('ClusterRole "%s" does not exist; create it first or correct cluster_role.'
                            % spec['cluster_role'])
    if live.get('aggregationRule'):
        run.aggregated_reference = True
    return rbac_checks.check_rules(live.get('rules'), option='ClusterRole %s rules' % spec['cluster_role'])


def effective_rules(cluster, spec):
    """The rules the account gets: its own, or those of the referenced ClusterRole."""
    if spec['cluster_role']:
        return _referenced_rules(_Run(cluster, spec, True), spec)
    return spec['rules']


def _readable(cluster, kind, name=None, namespace=None):
    """GET (or list, without ``name``) as the connection's user: the data, None when it may not
    read it (403) or it is missing (404); anything else is one sentence."""
    action = cluster.action('get' if name else 'list', KINDS[kind][1], namespace=namespace)
    try:
        return cluster.request('GET', path(kind, name, namespace), action=None).data or {}
    except Exception as exc:
        if is_status(exc, 403, 404):
            return None
        raise as_token_error(exc, action)


def account_bindings(cluster, spec, kinds=BINDING_KINDS, listed=None):
    """The bindings of ``kinds`` (ClusterRoleBindings, RoleBindings in every namespace) that name the
    account or a group it is in, but those it owns (its grant): ``[{kind, name, namespace, role_ref}]``,
    or None when the connection's user may not list them. ``listed`` holds the items of a kind already
    read (by the converge: :func:`ensure_present` with ``bindings=True``)."""
    found = []
    for kind in kinds:
        if kind in (listed or {}):
            items = listed[kind]
        else:
            data = _readable(cluster, kind)
            if data is None:
                return None
            items = data.get('items') or []
        for item in items:
            meta = item.get('metadata') or {}
            if owner_annotation(item) == spec['owner']:
                continue
            if rbac_checks.subject_matches(item.get('subjects'), spec['name'], spec['namespace']):
                found.append({'kind': kind, 'name': meta.get('name'), 'namespace': meta.get('namespace') or '',
                              'role_ref': item.get('roleRef') or {}})
    return found


def review_namespaces(spec, role_bindings):
    """The namespaces to ask a SelfSubjectRulesReview in: those of the grant and those where a
    RoleBinding (``role_bindings``, None when they could not be listed) names the account or its
    groups, and the account's own namespace when it is the scope (``scope: cluster``) or the
    RoleBindings are unknown. A ClusterRoleBinding's rights show in every namespace, so a namespace
    without a RoleBinding of the account would only repeat what another review answers."""
    namespaces = []
    if spec['scope'] == 'cluster' or not spec['namespaces'] or role_bindings is None:
        namespaces.append(spec['namespace'])
    for namespace in spec['namespaces'] + [b['namespace'] for b in role_bindings or [] if b['namespace']]:
        if namespace not in namespaces:
            namespaces.append(namespace)
    return namespaces


def rights_check(cluster, spec, rules, listed=None):
    """The function :func:`rbac_checks.verify` calls (with the account's own client) for the rights
    the account holds beyond ``rules`` (its grant): a SelfSubjectRulesReview in each namespace of
    :func:`review_namespaces`; a SelfSubjectAccessReview cluster-wide for each right found, to tell
    rights in every namespace (and on cluster-scoped resources) from those in one; the bindings (read
    as the connection's user, when it may) that give each. The RoleBindings are listed on the first
    call (nothing is read when nothing is verified), the ClusterRoleBindings only when a right beyond
    the grant needs its sources; ``listed`` holds the bindings the converge read already."""
    known = {}
    role_rules = {}

    def scene():
        """The RoleBindings naming the account and the namespaces to review, read once."""
        if not known:
            role_bindings = account_bindings(cluster, spec, ('RoleBinding',), listed)
            known.update(role_bindings=role_bindings, namespaces=review_namespaces(spec, role_bindings))
        return known['role_bindings'], known['namespaces']

    def all_bindings(role_bindings):
        """Every binding naming the account or its groups (None when they cannot be listed)."""
        if 'cluster_bindings' not in known:
            known['cluster_bindings'] = account_bindings(cluster, spec, ('ClusterRoleBinding',), listed)
        if role_bindings is None or known['cluster_bindings'] is None:
            return None
        return known['cluster_bindings'] + role_bindings

    def rules_of(binding):
        ref = binding['role_ref']
        key = (ref.get('kind'), binding['namespace'] if ref.get('kind') == 'Role' else '', ref.get('name'))
        if key not in role_rules:
            data = _readable(cluster, key[0], key[2], key[1] or None) if key[0] in KINDS else None
            role_rules[key] = (data or {}).get('rules') or []
        return role_rules[key]

    def granted(namespace):
        return rules if spec['scope'] == 'cluster' or namespace in spec['namespaces'] else []

    def beyond(asking):
        role_bindings, namespaces = scene()
        answers = [reviews.rules_review(asking, namespace) for namespace in namespaces]
        extras = rbac_checks.beyond_grant(answers, granted)
        bindings = all_bindings(role_bindings) if extras else None
        for extra in extras:
            if not extra['path'] and rbac_checks.EVERYWHERE not in extra['namespaces']:
                review = reviews.access_review(asking, extra['verbs'][0], extra['resource'], group=extra['group'],
                                               name=(extra['names'] or [None])[0])
                if review['allowed']:
                    extra['namespaces'] = [rbac_checks.EVERYWHERE]
            if bindings is not None:
                extra['sources'] = rbac_checks.sources(extra, [dict(b, role='%s %s' % (b['role_ref'].get('kind'),
                                                                                       b['role_ref'].get('name')),
                                                                    rules=rules_of(b)) for b in bindings])
        return extras

    return beyond


def check_risky(spec, rules):
    """One sentence when the rules need the opt-in and it was not given."""
    risky = rbac_checks.risky_grants(rules)
    if risky and not spec['allow_risky']:
        source = 'the ClusterRole %s' % spec['cluster_role'] if spec['cluster_role'] else 'the rules'
        raise K8sTokenError('Refusing to grant %s what %s allow: %s, which lets it take over the %s; narrow the rules, '
                            'or set %s to true if that is really meant.'
                            % (spec['username'], source, '; '.join(risky),
                               'cluster' if spec['scope'] == 'cluster' else 'namespaces',
                               option_names.name(spec.get('names'), 'allow_wildcards_and_escalation')))


def warnings_for(spec, rules):
    """Warnings about what the grant means (cluster-wide writes)."""
    found = rbac_checks.writes(rules)
    if spec['scope'] == 'cluster' and found:
        more = ', ...' if len(found) > 6 else ''
        return ['%s may write in every namespace (%s%s); grant writes in the namespaces it needs instead '
                '(scope namespaces with namespaces).' % (spec['username'], ', '.join(found[:6]), more)]
    return []


def ensure_present(cluster, spec, check_mode=False, bindings=False):
    """Make the cluster hold the account and its RBAC; returns the result (see the module's RETURN).
    With ``bindings`` every binding is listed (not only the account's), and the result has them, as
    they are after the converge, in ``bindings`` (``{kind: [items]}``) for :func:`rights_check`."""
    run = _Run(cluster, spec, check_mode, read_bindings=bindings and not check_mode)
    rules = _referenced_rules(run, spec) if spec['cluster_role'] else spec['rules']
    check_risky(spec, rules)
    existing = run.existing()
    wanted = wanted_objects(spec)
    steps = plan(wanted, existing, spec['owner'], adopt=spec['adopt'])
    refused = refusal(steps, spec) or aggregation_refusal(spec, run.cluster_roles)
    if refused:
        raise K8sTokenError(refused)

    namespaces = run.cluster.request('GET', path('Namespace'), action=cluster.action('list', 'namespaces')).data or {}
    known = set((item.get('metadata') or {}).get('name') for item in namespaces.get('items') or [])
    needed = [spec['namespace']] + [n for n in spec['namespaces'] if n != spec['namespace']]
    missing = [n for n in needed if n not in known and not (n == spec['namespace'] and spec['create_namespace'])]
    if missing:
        hint = ' (or set %s)' % option_names.setting(spec.get('names'), 'create_namespace', 'true', ': ') if spec['namespace'] in missing else ''
        raise K8sTokenError('Namespace(s) %s not found: create them first%s.' % (', '.join(missing), hint))
    new_namespace = spec['namespace'] not in known
    if new_namespace:
        namespace = {'apiVersion': 'v1', 'kind': 'Namespace',
                     'metadata': {'name': spec['namespace'], 'labels': dict(spec['labels']),
                                  'annotations': {CREATED_ANNOTATION: spec['owner']}}}
        after = run.apply(namespace, check_mode)
        run.change(('Namespace', '', spec['namespace']), 'created', 'create_namespace is set and it was missing',
                   None, after)

    wanted_by_key = dict((key_of(o), o) for o in steps['apply'])
    for key in steps['recreate']:
        run.delete(existing[key])
        run.change(key, 'recreated', 'its roleRef must point to %s %s and a roleRef cannot be changed'
                   % (wanted_by_key[key]['roleRef']['kind'], wanted_by_key[key]['roleRef']['name']),
                   existing[key], wanted_by_key[key])

    for key in steps['drop_aggregation']:
        run.drop_aggregation(existing[key])

    applied = []
    for obj in steps['apply']:
        key = key_of(obj)
        live = existing.get(key)
        if key in steps['recreate']:
            after = obj if check_mode else run.apply(obj, False)
        elif check_mode and new_namespace and key[1] == spec['namespace']:
            # the API server cannot dry-run into a namespace that does not exist yet
            after = obj
            run.change(key, 'created', 'missing (not dry-run: its namespace is created first)', None, obj)
        else:
            after = run.apply(obj, check_mode)
            if live is None:
                run.change(key, 'created', 'missing', None, after)
            elif managed_view(live) != managed_view(after) or key in steps['drop_aggregation']:
                if check_mode and key in steps['drop_aggregation']:
                    after = dict(after)
                    after.pop('aggregationRule', None)
                reason = 'adopted' if not owner_annotation(live) else 'it differed from what is wanted'
                if key in steps['drop_aggregation']:
                    reason += '; its aggregationRule was removed, so it grants only its own rules'
                run.change(key, 'updated', reason, live, after)
            else:
                run.change(key, 'unchanged', 'as wanted')
        applied.append(_clean(after))

    for live in steps['prune']:
        run.delete(live)
        run.change(key_of(live), 'deleted', 'owned by the account and no longer wanted (access or scope changed)',
                   live, None)

    # what the live roles grant, as the API server answered the apply (the rules of the account's role)
    live_rules = next((o.get('rules') or [] for o in applied if o.get('kind') in ('ClusterRole', 'Role')), None)
    result = _result(run, spec, applied, steps, rules if live_rules is None else live_rules,
                     [ref(key_of(o)) for o in steps['prune']])
    if run.bindings:
        touched = set(key_of(o) for o in applied) | set(key_of(o) for o in steps['prune'])
        result['bindings'] = dict((kind, [o for o in items if key_of(o) not in touched]
                                   + [o for o in applied if o['kind'] == kind]) for kind, items in run.bindings.items())
    if run.aggregated_reference:
        result['warnings'].append('ClusterRole %s has an aggregationRule: its rules grow with every ClusterRole that '
                                  'carries the labels it selects, and %s gets them too.'
                                  % (spec['cluster_role'], spec['username']))
    return result


def ensure_absent(cluster, spec, check_mode=False):
    """Delete what the account owns (bindings, roles, the ServiceAccount, a namespace made for it
    when asked); leave everything else and say so."""
    run = _Run(cluster, spec, check_mode)
    existing = run.existing()
    steps = plan([], existing, spec['owner'], absent=True)
    for live in list(steps['prune']):
        if live['kind'] == 'ServiceAccount' and key_of(live)[1] in SYSTEM_NAMESPACES:
            steps['prune'].remove(live)
            steps['left_alone'].append((key_of(live), 'it is in the system namespace %s, whose accounts belong to '
                                                      'Kubernetes' % key_of(live)[1]))
    removed = []
    for live in steps['prune']:
        run.delete(live)
        run.change(key_of(live), 'deleted', 'owned by the account', live, None)
        removed.append(ref(key_of(live)))
    if spec['delete_namespace']:
        _absent_namespace(run, spec, steps, removed)
    return _result(run, spec, [], steps, spec['rules'], removed)


def namespace_verdict(owner, namespace, held, made):
    """Whether the namespace ``namespace`` (its live object, or None) may be deleted for ``owner``:
    ``(True, None)`` when it was created for ``owner`` (annotation ``mcp.k8s/created-by``) and
    ``held`` (``(kind, name)`` of every object listed in it, or None when it could not all be
    listed) holds nothing but ``made`` (keys of what this run made and deletes) and
    :data:`NAMESPACE_DEFAULTS`; else ``(False, reason)``, reason None when there is nothing to say
    (the namespace is gone or already being deleted)."""
    if namespace is None:
        return False, None
    meta = namespace.get('metadata') or {}
    if meta.get('deletionTimestamp'):
        return False, None
    if (meta.get('annotations') or {}).get(CREATED_ANNOTATION) != owner:
        return False, 'it was not created for %s (no %s annotation naming it)' % (owner, CREATED_ANNOTATION)
    if held is None:
        return False, 'not every kind of object in it could be listed, so it may hold objects this run did not make'
    ours = set((kind, name) for kind, _namespace, name in made)
    others = sorted(set(k for k in held if k not in ours and k not in NAMESPACE_DEFAULTS))
    if not others:
        return True, None
    named = ', '.join('%s %s' % k for k in others[:3])
    more = ' (and %d more)' % (len(others) - 3) if len(others) > 3 else ''
    return False, 'it holds %s%s, which this run did not make' % (named, more)


def _namespace_holdings(run, namespace):
    """``(kind, name)`` of every object in ``namespace``, from discovery (every namespaced resource
    that can be listed, in the preferred version of each group) and a list of each; None when a
    list is refused or fails."""
    cluster = run.cluster

    def get(api_path):
        return cluster.request('GET', api_path, action=cluster.action('get', 'the API discovery document %s' % api_path)).data or {}

    versions = ['/api/v1']
    for group in get('/apis').get('groups') or []:
        preferred = (group.get('preferredVersion') or {}).get('groupVersion')
        if preferred:
            versions.append('/apis/' + preferred)
    held, seen = [], set()
    for prefix in versions:
        for res in get(prefix).get('resources') or []:
            if '/' in res.get('name', '') or not res.get('namespaced') or 'list' not in (res.get('verbs') or []):
                continue
            try:
                data = cluster.request('GET', '%s/namespaces/%s/%s' % (prefix, namespace, res['name']), action=None).data or {}
            except Exception:  # refused or failed: cannot tell what it holds
                return None
            for item in data.get('items') or []:
                meta = item.get('metadata') or {}
                if meta.get('uid') not in seen:   # Events are served by two groups
                    seen.add(meta.get('uid'))
                    held.append((res.get('kind'), meta.get('name')))
    return held


def _absent_namespace(run, spec, steps, removed):
    key = ('Namespace', '', spec['namespace'])
    live = run.get('Namespace', spec['namespace'])
    held = None
    if live is not None and ((live.get('metadata') or {}).get('annotations') or {}).get(CREATED_ANNOTATION) == spec['owner']:
        held = _namespace_holdings(run, spec['namespace'])
    made = [key_of(o) for o in steps['prune'] if key_of(o)[1] == spec['namespace']]
    delete, reason = namespace_verdict(spec['owner'], live, held, made)
    if delete:
        run.delete(dict(live, kind='Namespace'))
        run.change(key, 'deleted', 'made for the account, holding nothing else, and delete_namespace is set', live, None)
        removed.append(ref(key))
    elif reason:
        steps['left_alone'].append((key, reason))


def _result(run, spec, applied, steps, rules, removed):
    changed = any(c['action'] != 'unchanged' for c in run.changes)
    return {
        'changed': changed,
        'service_account': {'name': spec['name'], 'namespace': spec['namespace'], 'username': spec['username']},
        'objects': applied,
        'names': [shown(key_of(o)) for o in applied],
        'changes': run.changes,
        'removed': removed,
        'left_alone': [dict(ref(k), reason=r) for k, r in steps['left_alone']],
        'escalations': rbac_checks.escalation_paths(rules, spec['scope'], spec['namespaces']),
        'warnings': warnings_for(spec, rules) if spec['state'] == 'present' else [],
        'diff': run.diffs,
        'rules': rules,
    }
