"""RBAC: bootstrap policy and an authorizer over the stored roles and bindings."""
import json

from .core import RBAC_GROUP

READ = ['get', 'list', 'watch']
WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update']


def _rule(verbs, groups=None, resources=None, urls=None, names=None):
    rule = {'verbs': list(verbs)}
    if urls is not None:
        rule['nonResourceURLs'] = list(urls)
        return rule
    rule['apiGroups'] = list(groups)
    rule['resources'] = list(resources)
    if names:
        rule['resourceNames'] = list(names)
    return rule


VIEW_CORE = ['configmaps', 'endpoints', 'persistentvolumeclaims', 'persistentvolumeclaims/status', 'pods',
             'replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/status',
             'bindings', 'events', 'limitranges', 'namespaces/status', 'pods/log', 'pods/status',
             'replicationcontrollers/status', 'resourcequotas', 'resourcequotas/status']
VIEW_APPS = ['controllerrevisions', 'daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale',
             'deployments/status', 'replicasets', 'replicasets/scale', 'replicasets/status', 'statefulsets',
             'statefulsets/scale', 'statefulsets/status']
EDIT_CORE = ['configmaps', 'endpoints', 'persistentvolumeclaims', 'replicationcontrollers', 'replicationcontrollers/scale',
             'secrets', 'serviceaccounts', 'services', 'services/proxy', 'pods', 'pods/attach', 'pods/exec',
             'pods/portforward', 'pods/proxy', 'pods/eviction']
EDIT_APPS = ['daemonsets', 'deployments', 'deployments/rollback', 'deployments/scale', 'replicasets',
             'replicasets/scale', 'statefulsets', 'statefulsets/scale']

VIEW_RULES = [
    _rule(READ, [''], VIEW_CORE),
    _rule(['get', 'list', 'watch'], [''], ['namespaces']),
    _rule(READ, ['apps'], VIEW_APPS),
    _rule(READ, ['autoscaling'], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status']),
    _rule(READ, ['batch'], ['cronjobs', 'cronjobs/status', 'jobs', 'jobs/status']),
    _rule(READ, ['networking.k8s.io'], ['ingresses', 'ingresses/status', 'networkpolicies']),
    _rule(READ, ['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status']),
    _rule(READ, ['discovery.k8s.io'], ['endpointslices']),
]
EDIT_RULES = [
    _rule(['impersonate'], [''], ['serviceaccounts']),
    _rule(WRITE, [''], EDIT_CORE),
    _rule(['create'], [''], ['serviceaccounts/token']),
    _rule(WRITE, ['apps'], EDIT_APPS),
    _rule(WRITE, ['autoscaling'], ['horizontalpodautoscalers']),
    _rule(WRITE, ['batch'], ['cronjobs', 'jobs']),
    _rule(WRITE, ['networking.k8s.io'], ['ingresses', 'networkpolicies']),
    _rule(WRITE, ['policy'], ['poddisruptionbudgets']),
    _rule(READ, [''], ['secrets']),
] + VIEW_RULES
ADMIN_RULES = [
    _rule(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews']),
    _rule(READ + WRITE, [RBAC_GROUP], ['rolebindings', 'roles']),
] + EDIT_RULES

AGGREGATE = 'rbac.authorization.k8s.io/aggregate-to-%s'
BOOTSTRAP_CLUSTER_ROLES = {
    'cluster-admin': [_rule(['*'], ['*'], ['*']), _rule(['*'], urls=['*'])],
    'admin': [],
    'edit': [],
    'view': [],
    'system:aggregate-to-admin': [r for r in ADMIN_RULES if r not in EDIT_RULES],
    'system:aggregate-to-edit': [r for r in EDIT_RULES if r not in VIEW_RULES],
    'system:aggregate-to-view': VIEW_RULES,
    'system:basic-user': [
        _rule(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']),
        _rule(['create'], ['authentication.k8s.io'], ['selfsubjectreviews']),
    ],
    'system:discovery': [_rule(['get'], urls=['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi',
                                              '/openapi/*', '/readyz', '/version', '/version/'])],
    'system:public-info-viewer': [_rule(['get'], urls=['/healthz', '/livez', '/readyz', '/version', '/version/'])],
    'system:auth-delegator': [
        _rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
        _rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
    ],
    'system:service-account-issuer-discovery': [
        _rule(['get'], urls=['/.well-known/openid-configuration', '/.well-known/openid-configuration/',
                             '/openid/v1/jwks', '/openid/v1/jwks/'])],
    'system:monitoring': [_rule(['get'], urls=['/healthz', '/healthz/*', '/livez', '/livez/*', '/metrics',
                                               '/readyz', '/readyz/*'])],
}
BOOTSTRAP_BINDINGS = {
    'cluster-admin': [('Group', 'system:masters')],
    'system:basic-user': [('Group', 'system:authenticated')],
    'system:discovery': [('Group', 'system:authenticated')],
    'system:public-info-viewer': [('Group', 'system:authenticated'), ('Group', 'system:unauthenticated')],
    'system:service-account-issuer-discovery': [('Group', 'system:serviceaccounts')],
    'system:monitoring': [('Group', 'system:monitoring')],
}


# ClusterTrustBundle is GA (on) from 1.37: service accounts may read clustertrustbundles
TRUST_BUNDLE_ROLE = 'system:cluster-trust-bundle-discovery'
TRUST_BUNDLE_RULES = [_rule(['get', 'list', 'watch'], ['certificates.k8s.io'], ['clustertrustbundles'])]


def bootstrap_objects(minor=33):
    """ClusterRoles and ClusterRoleBindings kube-apiserver (of that minor version) creates at start."""
    roles, bindings = dict(BOOTSTRAP_CLUSTER_ROLES), dict(BOOTSTRAP_BINDINGS)
    if minor >= 37:
        roles[TRUST_BUNDLE_ROLE] = TRUST_BUNDLE_RULES
        bindings[TRUST_BUNDLE_ROLE] = [('Group', 'system:serviceaccounts')]
    objects = []
    aggregates = {'admin': 'admin', 'edit': 'edit', 'view': 'view'}
    aggregated_into = {'edit': 'admin', 'view': 'edit', 'system:aggregate-to-admin': 'admin',
                       'system:aggregate-to-edit': 'edit', 'system:aggregate-to-view': 'view'}
    for name, rules in roles.items():
        labels = {'kubernetes.io/bootstrapping': 'rbac-defaults'}
        if name in aggregated_into:
            labels[AGGREGATE % aggregated_into[name]] = 'true'
        role = {'apiVersion': RBAC_GROUP + '/v1', 'kind': 'ClusterRole',
                'metadata': {'name': name, 'labels': labels,
                             'annotations': {'rbac.authorization.kubernetes.io/autoupdate': 'true'}},
                'rules': rules}
        if name in aggregates:
            role['aggregationRule'] = {'clusterRoleSelectors': [{'matchLabels': {AGGREGATE % aggregates[name]: 'true'}}]}
        objects.append(role)
    for name, subjects in bindings.items():
        objects.append({'apiVersion': RBAC_GROUP + '/v1', 'kind': 'ClusterRoleBinding',
                        'metadata': {'name': name, 'labels': {'kubernetes.io/bootstrapping': 'rbac-defaults'},
                                     'annotations': {'rbac.authorization.kubernetes.io/autoupdate': 'true'}},
                        'roleRef': {'apiGroup': RBAC_GROUP, 'kind': 'ClusterRole', 'name': name},
                        'subjects': [{'apiGroup': RBAC_GROUP, 'kind': k, 'name': n} for k, n in subjects]})
    return objects


class UserInfo:
    """An authenticated (or impersonated) user."""

    def __init__(self, name, groups=(), uid='', extra=None):
        self.name = name
        self.groups = list(groups)
        self.uid = uid
        self.extra = extra or {}

    def to_dict(self):
        data = {'username': self.name}
        if self.uid:
            data['uid'] = self.uid
        data['groups'] = list(self.groups)
        if self.extra:
            data['extra'] = {k: list(v) for k, v in self.extra.items()}
        return data

    def is_admin(self):
        return 'system:masters' in self.groups

    def __repr__(self):
        return 'UserInfo(%r, %r)' % (self.name, self.groups)


class Attributes:
    """What a request asks to do (``authorizer.Attributes``)."""

    def __init__(self, verb, resource='', group='', namespace='', name='', subresource='', path='',
                 resource_request=True):
        self.verb = verb
        self.resource = resource
        self.group = group
        self.namespace = namespace
        self.name = name
        self.subresource = subresource
        self.path = path
        self.resource_request = resource_request

    def forbidden_reason(self, user):
        """``forbiddenMessage`` of the apiserver's response writers."""
        if not self.resource_request:
            return 'User "%s" cannot %s path "%s"' % (user.name, self.verb, self.path)
        resource = self.resource + ('/' + self.subresource if self.subresource else '')
        if self.namespace:
            return 'User "%s" cannot %s resource "%s" in API group "%s" in the namespace "%s"' % (
                user.name, self.verb, resource, self.group, self.namespace)
        return 'User "%s" cannot %s resource "%s" in API group "%s" at the cluster scope' % (
            user.name, self.verb, resource, self.group)


def _subject_matches(subject, user, binding_namespace):
    kind = subject.get('kind')
    if kind == 'User':
        return subject.get('name') == user.name
    if kind == 'Group':
        return subject.get('name') in user.groups
    if kind == 'ServiceAccount':
        namespace = subject.get('namespace') or binding_namespace
        return user.name == 'system:serviceaccount:%s:%s' % (namespace, subject.get('name'))
    return False


def _verb_matches(rule, verb):
    verbs = rule.get('verbs') or []
    return '*' in verbs or verb in verbs


def rule_allows(rule, attrs):
    if not _verb_matches(rule, attrs.verb):
        return False
    if not attrs.resource_request:
        for url in rule.get('nonResourceURLs') or []:
            if url == '*' or url == attrs.path or (url.endswith('*') and attrs.path.startswith(url[:-1])):
                return True
        return False
    groups = rule.get('apiGroups') or []
    if '*' not in groups and attrs.group not in groups:
        return False
    combined = attrs.resource + ('/' + attrs.subresource if attrs.subresource else '')
    resources = rule.get('resources') or []
    ok = False
    for res in resources:
        if res == '*' or res == combined or (attrs.subresource and res == '*/' + attrs.subresource):
            ok = True
            break
    if not ok:
        return False
    names = rule.get('resourceNames') or []
    return not names or attrs.name in names


class Authorizer:
    """Evaluates RBAC over a :class:`kube_double.core.Store`."""

    def __init__(self, store):
        self.store = store

    def _role_rules(self, ref, namespace):
        kind = ref.get('kind')
        if kind == 'ClusterRole':
            role = self.store.find('clusterroles', ref.get('name'))
        elif kind == 'Role':
            role = self.store.find('roles', ref.get('name'), namespace)
        else:
            role = None
        if role is None:
            return None
        return role.get('rules') or []

    def applicable(self, user, namespace):
        """Yields (binding description, rules) that apply to ``user`` in ``namespace``."""
        with self.store.lock:
            bindings = list(self.store.data['clusterrolebindings'].values())
            if namespace:
                bindings += [b for (ns, _n), b in self.store.data['rolebindings'].items() if ns == namespace]
        for binding in bindings:
            binding_ns = binding['metadata'].get('namespace', '')
            if not any(_subject_matches(s, user, binding_ns) for s in binding.get('subjects') or []):
                continue
            rules = self._role_rules(binding.get('roleRef') or {}, binding_ns)
            if rules is None:
                continue
            yield binding, rules

    def authorize(self, user, attrs):
        """(allowed, reason) like kube-apiserver's authorizer chain: system:masters first (the
        privileged group authorizer, no reason), then RBAC."""
        if user.is_admin():
            return True, ''
        for binding, rules in self.applicable(user, attrs.namespace if attrs.resource_request else ''):
            for rule in rules:
                if rule_allows(rule, attrs):
                    ref = binding['roleRef']
                    if binding['kind'] == 'ClusterRoleBinding':
                        where = 'ClusterRoleBinding "%s"' % binding['metadata']['name']
                    else:
                        where = 'RoleBinding "%s/%s"' % (binding['metadata']['name'], binding['metadata']['namespace'])
                    return True, 'RBAC: allowed by %s of %s "%s" to %s' % (where, ref['kind'], ref['name'], _describe(user, binding))
        return False, ''

    def rules_for(self, user, namespace):
        resource_rules, non_resource_rules = [], []
        for _binding, rules in self.applicable(user, namespace):
            for rule in rules:
                if rule.get('nonResourceURLs'):
                    non_resource_rules.append({'verbs': rule['verbs'], 'nonResourceURLs': rule['nonResourceURLs']})
                else:
                    entry = {'verbs': rule.get('verbs') or [], 'apiGroups': rule.get('apiGroups') or [],
                             'resources': rule.get('resources') or []}
                    if rule.get('resourceNames'):
                        entry['resourceNames'] = rule['resourceNames']
                    resource_rules.append(entry)
        return resource_rules, non_resource_rules


def _describe(user, binding):
    for subject in binding.get('subjects') or []:
        if _subject_matches(subject, user, binding['metadata'].get('namespace', '')):
            if subject['kind'] == 'ServiceAccount':
                return 'ServiceAccount "%s/%s"' % (subject['name'],
                                                   subject.get('namespace') or binding['metadata'].get('namespace', ''))
            return '%s "%s"' % (subject['kind'], subject['name'])
    return 'User "%s"' % user.name


def selector_matches(selector, labels):
    """A metav1.LabelSelector (matchLabels, matchExpressions) against a labels dict."""
    labels = labels or {}
    for key, value in (selector.get('matchLabels') or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get('matchExpressions') or []:
        key, op, values = expr.get('key'), expr.get('operator'), expr.get('values') or []
        if op == 'In' and labels.get(key) not in values:
            return False
        if op == 'NotIn' and key in labels and labels[key] in values:
            return False
        if op == 'Exists' and key not in labels:
            return False
        if op == 'DoesNotExist' and key in labels:
            return False
    return True


def aggregate_cluster_roles(store):
    """The clusterrole aggregation controller: fill the rules of roles with an aggregationRule."""
    for _round in range(5):
        changed = False
        roles = {o['metadata']['name']: o for o in store.data['clusterroles'].values()}
        for name, role in roles.items():
            rule = role.get('aggregationRule')
            if not rule:
                continue
            rules = []
            for other_name, other in sorted(roles.items()):
                if other_name == name:
                    continue
                labels = other['metadata'].get('labels')
                if any(selector_matches(sel, labels) for sel in rule.get('clusterRoleSelectors') or []):
                    for item in other.get('rules') or []:
                        if item not in rules:
                            rules.append(item)
            if rules != (role.get('rules') or []):
                updated = dict(role, rules=rules)
                store.update('clusterroles', updated, name, check_rv=False)
                changed = True
        if not changed:
            return


# ---- escalation prevention (pkg/registry/rbac/validation: Covers, BreakdownRule, CompactRules)
def go_quote_list(items):
    """A []string as Go's %q prints it: ["a" "b"]."""
    return '[%s]' % ' '.join(json.dumps(item) for item in items)


def _breakdown(rule):
    atoms = []
    for group in rule.get('apiGroups') or []:
        for resource in rule.get('resources') or []:
            for verb in rule.get('verbs') or []:
                for name in rule.get('resourceNames') or [None]:
                    atoms.append(('resource', group, resource, name, verb))
    for url in rule.get('nonResourceURLs') or []:
        for verb in rule.get('verbs') or []:
            atoms.append(('url', url, verb))
    return atoms


def _covers(owner, atom):
    verbs = owner.get('verbs') or []
    if atom[0] == 'url':
        _kind, url, verb = atom
        if '*' not in verbs and verb not in verbs:
            return False
        return any(u == url or u == '*' or (u.endswith('*') and url.startswith(u[:-1]))
                   for u in owner.get('nonResourceURLs') or [])
    _kind, group, resource, name, verb = atom
    if '*' not in verbs and verb not in verbs:
        return False
    groups = owner.get('apiGroups') or []
    if '*' not in groups and group not in groups:
        return False
    resources = owner.get('resources') or []
    sub = resource.partition('/')[2]
    if '*' not in resources and resource not in resources and not (sub and '*/' + sub in resources):
        return False
    names = owner.get('resourceNames') or []
    return not names or name in names


def rbac_missing_rules(owner_rules, rules):
    """The rules of ``rules`` that ``owner_rules`` (resource rules, non-resource rules) do not
    cover, compacted and formatted as kube-apiserver's escalation message lists them (sorted)."""
    owners = list(owner_rules[0]) + list(owner_rules[1])
    compacted, simple = [], {}
    for rule in rules:
        for atom in _breakdown(rule):
            if any(_covers(owner, atom) for owner in owners):
                continue
            if atom[0] == 'url':
                compacted.append({'nonResourceURLs': [atom[1]], 'verbs': [atom[2]]})
                continue
            key = atom[1:4]
            if key in simple:
                simple[key]['verbs'].append(atom[4])
            else:
                simple[key] = {'apiGroups': [atom[1]], 'resources': [atom[2]],
                               'resourceNames': [atom[3]] if atom[3] is not None else [], 'verbs': [atom[4]]}
    compacted += list(simple.values())
    described = set()
    for rule in compacted:
        parts = []
        for label, key in (('APIGroups', 'apiGroups'), ('Resources', 'resources'), ('NonResourceURLs', 'nonResourceURLs'),
                           ('ResourceNames', 'resourceNames'), ('Verbs', 'verbs')):
            if rule.get(key):
                parts.append('%s:%s' % (label, go_quote_list(rule[key])))
        described.add('{%s}' % ', '.join(parts))
    return sorted(described)
