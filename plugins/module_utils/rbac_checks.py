# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What PolicyRules really allow, and the access checks that prove it.

* :func:`check_rules` validates PolicyRules (one sentence per mistake).
* :func:`risky_grants` names what needs an explicit opt-in: ``*`` verbs, resources or
  non-resource URLs, and the ``escalate``, ``bind`` and ``impersonate`` verbs.
* :func:`escalation_paths` says what a grant means beyond its words (create pods => read any
  Secret and act as any ServiceAccount of those namespaces, and so on).
* :func:`expand_checks` turns rules (or given checks) into SelfSubjectAccessReview checks, per
  scope; wildcard rules are asked as written (``*`` verb or resource), as
  ``kubectl auth can-i '*' '*'`` does, so they are covered too.
* :func:`compare` puts the API server's answers next to the expected ones (the table).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.mcp.k8s.plugins.module_utils import reviews
from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError

RULE_KEYS = ('apiGroups', 'resources', 'verbs', 'resourceNames', 'nonResourceURLs')
ESCALATING_VERBS = ('escalate', 'bind', 'impersonate')
WRITE_VERBS = frozenset(('create', 'update', 'patch', 'delete', 'deletecollection', '*') + ESCALATING_VERBS)

RBAC = 'rbac.authorization.k8s.io'
ADMISSION = 'admissionregistration.k8s.io'
CERTIFICATES = 'certificates.k8s.io'
WRITE = ('create', 'update', 'patch')

# Workload resources whose controllers create pods from a template the writer chooses.
WORKLOADS = (('', 'pods'), ('', 'replicationcontrollers'), ('apps', 'deployments'), ('apps', 'statefulsets'),
             ('apps', 'daemonsets'), ('apps', 'replicasets'), ('batch', 'jobs'), ('batch', 'cronjobs'))

# The paths to more rights of the Kubernetes "RBAC good practices" list, as data: one row per path,
# {id, verbs, targets ((group, resource), ...), cluster (True: only a cluster-wide grant gives it,
# the resource is cluster-scoped), means}. Checked in order; each path is named once, with the first
# verb and target the rules allow. ``{where}`` is the scope of the grant.
CATALOGUE = (
    {'id': 'workloads', 'verbs': WRITE, 'targets': WORKLOADS, 'cluster': False,
     'means': 'can read any Secret and act as any ServiceAccount {where}, through a pod that mounts them'},
    {'id': 'exec', 'verbs': ('create', 'get'), 'targets': (('', 'pods/exec'), ('', 'pods/attach')), 'cluster': False,
     'means': 'can run commands in any pod {where}, with its ServiceAccount token and mounted Secrets'},
    {'id': 'ephemeral-containers', 'verbs': ('patch', 'update'), 'targets': (('', 'pods/ephemeralcontainers'),),
     'cluster': False,
     'means': 'can add a container to any pod {where}, with its ServiceAccount token and mounted Secrets'},
    {'id': 'secrets', 'verbs': ('get', 'list', 'watch'), 'targets': (('', 'secrets'),), 'cluster': False,
     'means': 'can read every Secret {where}, legacy ServiceAccount tokens included, and act as those accounts'},
    {'id': 'tokens', 'verbs': ('create',), 'targets': (('', 'serviceaccounts/token'),), 'cluster': False,
     'means': 'can mint tokens for any ServiceAccount {where} and act as it'},
    {'id': 'bindings', 'verbs': WRITE, 'targets': ((RBAC, 'rolebindings'), (RBAC, 'clusterrolebindings')),
     'cluster': False, 'means': 'can bind roles {where} (to itself too, up to the rights it holds, or any with bind)'},
    {'id': 'escalate', 'verbs': ('escalate',), 'targets': ((RBAC, 'roles'), (RBAC, 'clusterroles')), 'cluster': False,
     'means': 'can write roles with rights it does not hold {where}, and so grant itself anything'},
    {'id': 'bind', 'verbs': ('bind',), 'targets': ((RBAC, 'roles'), (RBAC, 'clusterroles')), 'cluster': False,
     'means': 'can bind any role {where}, cluster-admin too if it may write ClusterRoleBindings'},
    {'id': 'impersonate', 'verbs': ('impersonate',),
     'targets': (('', 'serviceaccounts'), ('', 'users'), ('', 'groups'), ('authentication.k8s.io', 'userextras'),
                 ('authentication.k8s.io', 'uids')), 'cluster': False,
     'means': 'can act as other users, groups or ServiceAccounts'},
    {'id': 'nodes-proxy', 'verbs': ('get', 'create', 'update', 'patch', 'delete'), 'targets': (('', 'nodes/proxy'),),
     'cluster': True, 'means': 'can reach the kubelet API of every node, and run commands in any pod there'},
    {'id': 'persistent-volumes', 'verbs': ('create',), 'targets': (('', 'persistentvolumes'),), 'cluster': True,
     'means': 'can mount any host path of a node through a PersistentVolume (hostPath), and so take over the node'},
    {'id': 'csr-create', 'verbs': ('create',), 'targets': ((CERTIFICATES, 'certificatesigningrequests'),),
     'cluster': True,
     'means': 'can request client certificates for any user or group but system:masters; with an approval '
              '(its own, or a controller\'s) it authenticates as them'},
    {'id': 'csr-approve', 'verbs': ('update', 'patch'),
     'targets': ((CERTIFICATES, 'certificatesigningrequests/approval'),), 'cluster': True,
     'means': 'can approve certificate requests, and with approve on a signer get a client certificate for '
              'system:kube-controller-manager or any node, and from there cluster-admin'},
    {'id': 'signers', 'verbs': ('approve', 'sign'), 'targets': ((CERTIFICATES, 'signers'),), 'cluster': True,
     'means': 'can approve or sign certificates of that signer, for any user or group it allows, and act as them'},
    {'id': 'mutating-webhooks', 'verbs': WRITE,
     'targets': ((ADMISSION, 'mutatingwebhookconfigurations'), (ADMISSION, 'mutatingadmissionpolicies'),
                 (ADMISSION, 'mutatingadmissionpolicybindings')), 'cluster': True,
     'means': 'can send every object written to the cluster (Secrets too) to a server it names and change it on '
              'the way, pods and their ServiceAccounts included'},
    {'id': 'validating-webhooks', 'verbs': WRITE + ('delete',),
     'targets': ((ADMISSION, 'validatingwebhookconfigurations'), (ADMISSION, 'validatingadmissionpolicies'),
                 (ADMISSION, 'validatingadmissionpolicybindings')), 'cluster': True,
     'means': 'can read every object written to the cluster (Secrets too) through a webhook, and switch off the '
              'policies that guard it'},
    {'id': 'namespaces', 'verbs': ('patch', 'update'), 'targets': (('', 'namespaces'),), 'cluster': False,
     'means': 'can change the pod security labels of the namespaces {where}, so that privileged pods (and with '
              'them the nodes) are allowed there'},
    {'id': 'apiservices', 'verbs': WRITE, 'targets': (('apiregistration.k8s.io', 'apiservices'),), 'cluster': True,
     'means': 'can hand an API group to a server it chooses, which then receives the requests for it (and the '
              'identities of their callers) and answers them'},
    {'id': 'endpoints', 'verbs': WRITE, 'targets': (('', 'endpoints'), ('discovery.k8s.io', 'endpointslices')),
     'cluster': False,
     'means': 'can send the traffic of Services {where} to addresses it chooses, and read what their clients send'},
)


def _listed(rule, key):
    value = rule.get(key)
    return list(value) if value else []


def check_rules(rules, option='rules'):
    """``rules`` as a list of PolicyRule dicts with list values, or one :class:`K8sTokenError`."""
    checked = []
    for index, rule in enumerate(rules or []):
        where = '%s[%d]' % (option, index)
        if not isinstance(rule, dict):
            raise K8sTokenError('%s is not a PolicyRule; give a mapping with apiGroups, resources and verbs.' % where)
        unknown = sorted(set(rule) - set(RULE_KEYS))
        if unknown:
            raise K8sTokenError('%s has the unknown key(s) %s; a PolicyRule has %s.'
                                % (where, ', '.join(unknown), ', '.join(RULE_KEYS)))
        clean = {}
        for key in RULE_KEYS:
            value = rule.get(key)
            if value is None:
                continue
            if isinstance(value, str) or not isinstance(value, (list, tuple)) or \
                    not all(isinstance(item, str) for item in value):
                raise K8sTokenError('%s.%s must be a list of strings, such as [%s].'
                                    % (where, key, {'verbs': 'get, list', 'apiGroups': '""'}.get(key, 'pods')))
            if value:
                clean[key] = list(value)
        if not clean.get('verbs'):
            raise K8sTokenError('%s has no verbs; give each PolicyRule its verbs, such as [get, list, watch].' % where)
        if clean.get('nonResourceURLs') and (clean.get('resources') or clean.get('apiGroups')):
            raise K8sTokenError('%s mixes nonResourceURLs with apiGroups or resources; split it into two rules.' % where)
        if not clean.get('nonResourceURLs'):
            if not clean.get('resources'):
                raise K8sTokenError('%s has no resources; give resources (and apiGroups) or nonResourceURLs.' % where)
            if 'apiGroups' not in clean:
                raise K8sTokenError('%s has no apiGroups; use [""] for the core group (pods, secrets, ...).' % where)
        checked.append(clean)
    return checked


def is_every_url(url):
    """Whether a nonResourceURLs entry matches every URL: ``*``, or a prefix match (trailing ``*``) of
    ``/`` (RBAC treats a trailing ``*`` as a prefix, so ``/*`` is as wide as ``*``)."""
    return url in ('*', '/*') or (url.endswith('*') and url.rstrip('*') in ('', '/'))


def risky_grants(rules):
    """What the rules grant that needs an explicit opt-in, as short phrases (empty when nothing).
    ``escalate``, ``bind`` and ``impersonate`` count also when limited by resourceNames (one named
    cluster-admin role or account is enough)."""
    found = []
    for index, rule in enumerate(rules or []):
        where = 'rules[%d]' % index
        if '*' in _listed(rule, 'verbs'):
            found.append('%s grants every verb ("*")' % where)
        wild = [r for r in _listed(rule, 'resources') if r == '*' or r.startswith('*/')]
        if wild:
            found.append('%s grants every resource ("%s")' % (where, wild[0]))
        urls = [u for u in _listed(rule, 'nonResourceURLs') if is_every_url(u)]
        if urls:
            found.append('%s grants every non-resource URL ("%s")' % (where, urls[0]))
        for verb in ESCALATING_VERBS:
            if verb in _listed(rule, 'verbs'):
                found.append('%s grants "%s"' % (where, verb))
    return found


EVERY = 'every'   # a grant on every object of a resource (not limited by resourceNames)


def rule_grant(rule, verb, group, resource):
    """What one rule allows of ``verb`` on ``resource`` (``pods`` or ``pods/log``) of ``group``:
    None (nothing), :data:`EVERY` (every object) or the tuple of resourceNames it is limited to."""
    if rule.get('nonResourceURLs'):
        return None
    verbs = _listed(rule, 'verbs')
    if '*' not in verbs and verb not in verbs:
        return None
    groups = _listed(rule, 'apiGroups')
    if '*' not in groups and group not in groups:
        return None
    sub = resource.partition('/')[2]
    if not any(granted in ('*', resource) or (sub and granted == '*/' + sub) for granted in _listed(rule, 'resources')):
        return None
    names = _listed(rule, 'resourceNames')
    return tuple(names) if names else EVERY


def rules_grant(rules, verb, group, resource):
    """:func:`rule_grant` over several rules: EVERY when one rule allows every object, else the
    resourceNames of all that allow some (a tuple, in order), else None."""
    names = []
    for rule in rules or []:
        grant = rule_grant(rule, verb, group, resource)
        if grant == EVERY:
            return EVERY
        for name in grant or ():
            if name not in names:
                names.append(name)
    return tuple(names) or None


def rule_allows(rule, verb, group, resource):
    """Whether one rule allows ``verb`` on ``resource`` of ``group`` for every object (rules limited
    to resourceNames allow it only for those, see :func:`rule_grant`)."""
    return rule_grant(rule, verb, group, resource) == EVERY


def rules_allow(rules, verb, group, resource):
    return any(rule_allows(rule, verb, group, resource) for rule in rules or [])


def describe_scope(scope, namespaces=None):
    if scope == 'cluster':
        return 'in every namespace'
    names = sorted(set(namespaces or []))
    return 'in namespace%s %s' % ('' if len(names) == 1 else 's', ', '.join(names))


def _shown(group, resource):
    return ('%s/%s' % (group, resource)) if group else resource


def escalation_paths(rules, scope='cluster', namespaces=None):
    """What the rules allow beyond their words: ``[{id, grant, means}]``, one per :data:`CATALOGUE`
    path they open (``names`` too when resourceNames limit it: the path is narrowed, not closed).
    With scope ``namespaces`` the cluster-scoped paths are left out (a RoleBinding does not give them)."""
    where = describe_scope(scope, namespaces)
    paths = []
    for entry in CATALOGUE:
        if entry['cluster'] and scope != 'cluster':
            continue
        found, names = None, []
        for group, resource in entry['targets']:
            for verb in entry['verbs']:
                grant = rules_grant(rules, verb, group, resource)
                if grant == EVERY:
                    found, names = (verb, _shown(group, resource)), None
                    break
                if grant:
                    found = found or (verb, _shown(group, resource))
                    names.extend(n for n in grant if n not in names)
            if names is None:
                break
        if found is None:
            continue
        verb, shown = found
        grant = EVERY if names is None else tuple(names)
        path = {'id': entry['id'], 'grant': '%s %s' % (verb, shown), 'means': entry['means'].format(where=where)}
        if grant != EVERY:
            path['names'] = list(grant)
            path['grant'] += ' (resourceNames %s)' % ', '.join(grant)
            path['means'] += ('; limited to %s by resourceNames, which narrows the path but does not close it '
                              '(one privileged object is enough)' % ', '.join(grant))
        paths.append(path)
    return paths


def writes(rules):
    """The (verb, resource) phrases of the rules that write, for the cluster-wide warning."""
    found = []
    for rule in rules or []:
        verbs = [v for v in _listed(rule, 'verbs') if v in WRITE_VERBS]
        for resource in _listed(rule, 'resources') if verbs else []:
            for verb in verbs:
                phrase = '%s %s' % (verb, resource)
                if phrase not in found:
                    found.append(phrase)
    return found


def _split_resource(resource):
    resource, _slash, sub = str(resource).partition('/')
    return resource, sub


def _check(verb, group, resource, subresource, namespace, allowed, name=None, path=None):
    check = {'verb': verb, 'group': group or '', 'resource': resource, 'subresource': subresource or '',
             'namespace': namespace or '', 'allowed': bool(allowed)}
    if name:
        check['name'] = name
    if path:
        check['path'] = path
    return check


def checks_from_rules(rules):
    """One positive check per verb, group and resource of the rules, wildcards as written
    (``*`` is asked as ``*``); a rule limited to resourceNames is asked for each of its names, a
    non-resource rule for each of its URLs (as written: ``/*`` too)."""
    base = []
    for rule in rules or []:
        for url in _listed(rule, 'nonResourceURLs'):
            for verb in _listed(rule, 'verbs'):
                base.append({'verb': verb, 'group': '', 'resource': '', 'subresource': '', 'path': url,
                             'namespace': '', 'allowed': True})
        for group in _listed(rule, 'apiGroups'):
            for resource in _listed(rule, 'resources'):
                name, sub = _split_resource(resource)
                for verb in _listed(rule, 'verbs'):
                    item = {'verb': verb, 'group': group, 'resource': name, 'subresource': sub, 'allowed': True}
                    for object_name in _listed(rule, 'resourceNames') or [None]:
                        base.append(dict(item, name=object_name) if object_name else item)
    return base


def expand_checks(rules, scope='cluster', namespaces=None, checks=None):
    """The checks to ask, in order, without duplicates: ``[{verb, group, resource, subresource,
    namespace, allowed}]`` with namespace ``''`` meaning cluster-wide.

    ``checks`` (dicts with verb, resource, optional group, subresource, namespace, allowed)
    replace those derived from ``rules``. A check without a namespace is asked cluster-wide
    with scope ``cluster`` and in each namespace with scope ``namespaces``; with scope
    ``namespaces``, the first allowed check is also asked cluster-wide, expecting a denial.
    """
    base = []
    for index, check in enumerate(checks or []):
        if not isinstance(check, dict) or not check.get('verb') or not check.get('resource'):
            raise K8sTokenError('checks[%d] needs a verb and a resource, such as {verb: list, resource: pods}.' % index)
        name, sub = _split_resource(check['resource'])
        item = {'verb': check['verb'], 'group': check.get('group') or '', 'resource': name,
                'subresource': check.get('subresource') or sub, 'allowed': check.get('allowed', True)}
        if check.get('allowed') is not None and not isinstance(check.get('allowed'), bool):
            item['allowed'] = str(check['allowed']).lower() in ('true', 'yes', '1', 'on')
        if 'namespace' in check and check['namespace'] is not None:
            item['namespace'] = check['namespace']
        base.append(item)
    if not checks:
        base = checks_from_rules(rules)
    if scope == 'namespaces':
        first = next((c for c in base if c['allowed'] and 'namespace' not in c and not c.get('path')), None)
        if first is not None:
            base.append(dict(first, namespace='', allowed=False))
    out = []
    for item in base:
        if 'namespace' in item or scope == 'cluster':
            targets = [item.get('namespace') or '']
        else:
            targets = sorted(set(namespaces or []), key=list(namespaces).index)
        for namespace in targets:
            check = _check(item['verb'], item['group'], item['resource'], item['subresource'], namespace,
                           item['allowed'], item.get('name'), item.get('path'))
            if check not in out:
                out.append(check)
    return out


def shown_resource(check):
    if check.get('path'):
        return check['path']
    text = ('%s/' % check['group']) if check.get('group') else ''
    text += check['resource']
    if check.get('subresource'):
        text += '/' + check['subresource']
    if check.get('name'):
        text += ' "%s"' % check['name']
    return text


# What every ServiceAccount holds through Kubernetes' default bindings (system:basic-user,
# system:discovery, system:public-info-viewer and, since 1.33, system:cluster-trust-bundle-discovery
# to system:authenticated; system:service-account-issuer-discovery to system:serviceaccounts):
# never reported as beyond a grant.
BASELINE = (
    {'apiGroups': ['certificates.k8s.io'], 'resources': ['clustertrustbundles'], 'verbs': ['get', 'list', 'watch']},
    {'apiGroups': ['authorization.k8s.io'], 'resources': ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
     'verbs': ['create']},
    {'apiGroups': ['authentication.k8s.io'], 'resources': ['selfsubjectreviews'], 'verbs': ['create']},
    {'nonResourceURLs': ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*',
                         '/readyz', '/version', '/version/', '/.well-known/openid-configuration',
                         '/.well-known/openid-configuration/', '/openid/v1/jwks', '/openid/v1/jwks/'],
     'verbs': ['get']},
)
EVERYWHERE = ''   # the namespace of a right held in every namespace (or of a cluster-scoped resource)


def url_matches(granted, url):
    """Whether the nonResourceURLs entry ``granted`` covers ``url`` (RBAC: ``*``, equal, or a prefix
    when ``granted`` ends with ``*``; a requested ``url`` ending in ``*`` is covered only by a prefix
    at least as wide)."""
    if granted == '*' or granted == url:
        return True
    if granted.endswith('*'):
        return url.startswith(granted.rstrip('*'))
    return False


def _url_covered(rules, verb, url):
    return any(('*' in _listed(rule, 'verbs') or verb in _listed(rule, 'verbs'))
               and any(url_matches(granted, url) for granted in _listed(rule, 'nonResourceURLs'))
               for rule in rules)


def _covered(rules, verb, group, resource, names):
    grant = rules_grant(rules, verb, group, resource)
    if grant == EVERY:
        return True
    return bool(grant and names and set(names) <= set(grant))


class Rights(list):
    """:func:`beyond_grant`'s list, with ``incomplete``: the reviews the API server marked incomplete
    (``[{namespace, evaluation_error}]``): rights may be missing from the list where they are."""

    def __init__(self, items=(), incomplete=()):
        super(Rights, self).__init__(items)
        self.incomplete = list(incomplete)


def incomplete_warning(incomplete):
    """The warning for SelfSubjectRulesReviews the API server marked incomplete, else None."""
    if not incomplete:
        return None
    parts = ['%s (%s)' % (item['namespace'], item['evaluation_error']) if item['evaluation_error'] else item['namespace']
             for item in incomplete]
    return ('The API server could not list every rule of the account in namespace %s (its rules review is '
            'incomplete: another authorizer, such as a webhook, or a binding it could not evaluate), so rights '
            'beyond the grant may be missing from beyond_grant; check that authorizer and those bindings.'
            % ', '.join(parts))


def beyond_grant(reviews, granted):
    """The rights the API server says the account holds (``reviews``: SelfSubjectRulesReview answers,
    ``{namespace, resource_rules, non_resource_rules}``) that neither its grant nor :data:`BASELINE`
    gives: ``[{verbs, group, resource, names, path, namespaces}]``, one per resource (or URL) and
    resourceNames, verbs and namespaces merged. ``granted(namespace)`` gives the PolicyRules the grant
    holds in that namespace. Wildcards count as written: ``*`` is covered only by ``*``."""
    found = []

    def add(key, verb, namespace, **fields):
        for item in found:
            if item['key'] == key:
                break
        else:
            item = dict(fields, key=key, verbs=[], namespaces=[])
            found.append(item)
        if verb not in item['verbs']:
            item['verbs'].append(verb)
        if namespace not in item['namespaces']:
            item['namespaces'].append(namespace)

    for review in reviews:
        namespace = review['namespace']
        rules = list(granted(namespace) or []) + list(BASELINE)
        for rule in review.get('resource_rules') or []:
            names = _listed(rule, 'resourceNames')
            for group in _listed(rule, 'apiGroups') or ['']:
                for resource in _listed(rule, 'resources'):
                    for verb in _listed(rule, 'verbs'):
                        if not _covered(rules, verb, group, resource, names):
                            add(('r', group, resource, tuple(names)), verb, namespace, group=group, resource=resource,
                                names=names, path='')
        for rule in review.get('non_resource_rules') or []:
            for url in _listed(rule, 'nonResourceURLs'):
                for verb in _listed(rule, 'verbs'):
                    if not _url_covered(rules, verb, url):
                        add(('u', url), verb, EVERYWHERE, group='', resource='', names=[], path=url)
    for item in found:
        item.pop('key')
    return Rights(found, [{'namespace': review['namespace'], 'evaluation_error': review.get('evaluation_error') or ''}
                          for review in reviews if review.get('incomplete') or review.get('evaluation_error')])


def subject_matches(subjects, name, namespace):
    """Whether a binding's ``subjects`` name the ServiceAccount, its user name, or a group every
    ServiceAccount of the namespace is in (system:serviceaccounts[:NAMESPACE], system:authenticated)."""
    groups = ('system:serviceaccounts', 'system:serviceaccounts:%s' % namespace, 'system:authenticated')
    for subject in subjects or []:
        kind = subject.get('kind')
        if kind == 'ServiceAccount' and subject.get('name') == name and subject.get('namespace') == namespace:
            return True
        if kind == 'User' and subject.get('name') == 'system:serviceaccount:%s:%s' % (namespace, name):
            return True
        if kind == 'Group' and subject.get('name') in groups:
            return True
    return False


def sources(extra, bindings):
    """The bindings (``[{kind, name, namespace, role, rules}]``, already those naming the account or
    its groups) whose role gives the right ``extra`` (from :func:`beyond_grant`), as ``Kind
    [namespace/]name (role)`` phrases."""
    found = []
    for binding in bindings:
        namespaced = binding['kind'] == 'RoleBinding'
        if namespaced and binding['namespace'] not in extra['namespaces']:
            continue
        verb = extra['verbs'][0]
        if extra['path']:
            gives = not namespaced and _url_covered(binding['rules'], verb, extra['path'])
        else:
            gives = _covered(binding['rules'], verb, extra['group'], extra['resource'], extra['names'])
        if gives:
            found.append('%s %s%s (%s)' % (binding['kind'], binding['namespace'] + '/' if namespaced else '',
                                           binding['name'], binding['role']))
    return found


def describe_right(extra):
    """``create, update configmaps in every namespace`` and the like, with the bindings when known."""
    if extra['path']:
        text = '%s %s' % (', '.join(extra['verbs']), extra['path'])
    else:
        text = '%s %s' % (', '.join(extra['verbs']), _shown(extra['group'], extra['resource']))
        if extra['names']:
            text += ' (resourceNames %s)' % ', '.join(extra['names'])
        if EVERYWHERE in extra['namespaces']:
            text += ' in every namespace'
        else:
            text += ' ' + describe_scope('namespaces', extra['namespaces'])
    if extra.get('sources'):
        text += ', through ' + _join_and(extra['sources'])
    elif extra.get('sources') is not None:
        text += ', through no binding found naming it or its groups'
    return text


def _join_and(items):
    return items[0] if len(items) == 1 else ', '.join(items[:-1]) + ' and ' + items[-1]


_ROW = '%-6s  %-16s  %-40s  %-20s  %-9s  %s'


def compare(checks, answers, escalations=None, beyond=None):
    """The checks with the API server's answers (``allowed`` booleans, None for no answer):
    ``{checks: [check + expected, actual, ok], mismatches: [line], table: [line], beyond_grant: [...],
    summary: sentence part naming what differs (empty when nothing)}``;
    the ``escalations`` (from :func:`escalation_paths`) end the table, one ``ALLOWS`` line each;
    the rights ``beyond`` the grant (from :func:`beyond_grant`) are mismatches, one ``BEYOND`` line each."""
    rows = [(_ROW % ('RESULT', 'VERB', 'RESOURCE', 'NAMESPACE', 'EXPECTED', 'ACTUAL')).strip()]
    out = []
    mismatches = []
    for index, check in enumerate(checks):
        actual = answers[index] if index < len(answers) else None
        ok = actual is not None and actual == check['allowed']
        expected_word = 'allowed' if check['allowed'] else 'denied'
        actual_word = 'no answer' if actual is None else ('allowed' if actual else 'denied')
        namespace = check['namespace'] or '(all)'
        if not ok:
            mismatches.append('%s %s in %s: expected %s, got %s'
                              % (check['verb'], shown_resource(check), namespace, expected_word, actual_word))
        rows.append((_ROW % ('ok' if ok else 'DIFFER', check['verb'], shown_resource(check), namespace,
                             expected_word, actual_word)).strip())
        out.append(dict(check, expected=check['allowed'], actual=actual, ok=ok))
    parts = []
    if mismatches:
        parts.append('%d of %d checks differ from the expected answer: %s' % (len(mismatches), len(out),
                                                                              '; '.join(mismatches)))
    rights = [describe_right(extra) for extra in beyond or []]
    if rights:
        parts.append('the account holds rights beyond its grant (remove the bindings, or the account\'s groups\' '
                     'bindings, that give them): it may %s' % '; it may '.join(rights))
    for right in rights:
        mismatches.append('beyond the grant it may %s' % right)
        rows.append('BEYOND  %s' % right)
    for path in escalations or []:
        rows.append('ALLOWS  %s => %s' % (path['grant'], path['means']))
    return {'checks': out, 'mismatches': mismatches, 'table': rows, 'beyond_grant': list(beyond or []),
            'incomplete': list(getattr(beyond, 'incomplete', None) or []), 'summary': '; '.join(parts)}


def verify(cluster, checks, retries=3, delay=2.0, sleep=time.sleep, escalations=None, beyond=None):
    """Ask the API server, as the caller of ``cluster`` (the account's own token), each check, and
    with ``beyond`` (a function of ``cluster`` giving :func:`beyond_grant`'s list) what it holds
    beyond its grant; ask again up to ``retries`` times ``delay`` seconds apart while answers differ
    (RBAC changes take moments to reach the authorizer). Returns :func:`compare`'s result."""
    result = None
    for attempt in range(max(0, int(retries)) + 1):
        if attempt:
            sleep(delay)
        answers = [review['allowed'] for review in reviews.access_reviews(cluster, checks)]
        result = compare(checks, answers, escalations, beyond(cluster) if beyond else None)
        if not result['mismatches']:
            break
    return result
