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

# Workload resources whose controllers create pods from a template the writer chooses.
_WORKLOADS = (('', 'pods'), ('', 'replicationcontrollers'), ('apps', 'deployments'), ('apps', 'statefulsets'),
              ('apps', 'daemonsets'), ('apps', 'replicasets'), ('batch', 'jobs'), ('batch', 'cronjobs'))

# (verbs, group, resource, what it means). Checked in order; each path is named once.
_PATHS = (
    (('create', 'update', 'patch'), _WORKLOADS,
     'can read any Secret and act as any ServiceAccount {where}, through a pod that mounts them'),
    (('create',), (('', 'pods/exec'), ('', 'pods/attach')),
     'can run commands in any pod {where}, with its ServiceAccount token and mounted Secrets'),
    (('patch', 'update'), (('', 'pods/ephemeralcontainers'),),
     'can add a container to any pod {where}, with its ServiceAccount token and mounted Secrets'),
    (('get', 'list', 'watch'), (('', 'secrets'),),
     'can read every Secret {where}, legacy ServiceAccount tokens included, and act as those accounts'),
    (('create',), (('', 'serviceaccounts/token'),),
     'can mint tokens for any ServiceAccount {where} and act as it'),
    (('create', 'update', 'patch'), (('rbac.authorization.k8s.io', 'rolebindings'),
                                     ('rbac.authorization.k8s.io', 'clusterrolebindings')),
     'can bind roles {where} (to itself too, up to the rights it holds, or any with bind)'),
    (('escalate',), (('rbac.authorization.k8s.io', 'roles'), ('rbac.authorization.k8s.io', 'clusterroles')),
     'can write roles with rights it does not hold {where}, and so grant itself anything'),
    (('bind',), (('rbac.authorization.k8s.io', 'roles'), ('rbac.authorization.k8s.io', 'clusterroles')),
     'can bind any role {where}, cluster-admin too if it may write ClusterRoleBindings'),
    (('impersonate',), (('', 'users'), ('', 'groups'), ('', 'serviceaccounts'), ('authentication.k8s.io', 'userextras')),
     'can act as other users, groups or ServiceAccounts'),
    (('get', 'create'), (('', 'nodes/proxy'),),
     'can reach the kubelet API of every node, and run commands in any pod there'),
    (('create', 'update', 'patch'), (('', 'persistentvolumes'),),
     'can mount any host path of a node through a PersistentVolume'),
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


def risky_grants(rules):
    """What the rules grant that needs an explicit opt-in, as short phrases (empty when nothing)."""
    found = []
    for index, rule in enumerate(rules or []):
        where = 'rules[%d]' % index
        if '*' in _listed(rule, 'verbs'):
            found.append('%s grants every verb ("*")' % where)
        wild = [r for r in _listed(rule, 'resources') if r == '*' or r.startswith('*/')]
        if wild:
            found.append('%s grants every resource ("%s")' % (where, wild[0]))
        if '*' in _listed(rule, 'nonResourceURLs'):
            found.append('%s grants every non-resource URL ("*")' % where)
        for verb in ESCALATING_VERBS:
            if verb in _listed(rule, 'verbs'):
                found.append('%s grants "%s"' % (where, verb))
    return found


def rule_allows(rule, verb, group, resource):
    """Whether one rule allows ``verb`` on ``resource`` (``pods`` or ``pods/log``) of ``group``
    for every object (rules limited to resourceNames allow no such thing)."""
    if rule.get('resourceNames') or rule.get('nonResourceURLs'):
        return False
    verbs = _listed(rule, 'verbs')
    if '*' not in verbs and verb not in verbs:
        return False
    groups = _listed(rule, 'apiGroups')
    if '*' not in groups and group not in groups:
        return False
    sub = resource.partition('/')[2]
    for granted in _listed(rule, 'resources'):
        if granted in ('*', resource) or (sub and granted == '*/' + sub):
            return True
    return False


def rules_allow(rules, verb, group, resource):
    return any(rule_allows(rule, verb, group, resource) for rule in rules or [])


def describe_scope(scope, namespaces=None):
    if scope == 'cluster':
        return 'in every namespace'
    names = sorted(set(namespaces or []))
    return 'in namespace%s %s' % ('' if len(names) == 1 else 's', ', '.join(names))


def escalation_paths(rules, scope='cluster', namespaces=None):
    """What the rules allow beyond their words: ``[{grant, means}]``, one per path."""
    where = describe_scope(scope, namespaces)
    paths = []
    for verbs, targets, means in _PATHS:
        for group, resource in targets:
            verb = next((v for v in verbs if rules_allow(rules, v, group, resource)), None)
            if verb:
                shown = ('%s/%s' % (group, resource)) if group else resource
                paths.append({'grant': '%s %s' % (verb, shown), 'means': means.format(where=where)})
                break
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


def _check(verb, group, resource, subresource, namespace, allowed):
    return {'verb': verb, 'group': group or '', 'resource': resource, 'subresource': subresource or '',
            'namespace': namespace or '', 'allowed': bool(allowed)}


def checks_from_rules(rules):
    """One positive check per verb, group and resource of the rules, wildcards as written
    (``*`` is asked as ``*``); rules limited to resourceNames and non-resource rules are not
    asked (a check about one object or URL says little about the rule)."""
    base = []
    for rule in rules or []:
        if rule.get('resourceNames') or rule.get('nonResourceURLs'):
            continue
        for group in _listed(rule, 'apiGroups'):
            for resource in _listed(rule, 'resources'):
                name, sub = _split_resource(resource)
                for verb in _listed(rule, 'verbs'):
                    base.append({'verb': verb, 'group': group, 'resource': name, 'subresource': sub, 'allowed': True})
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
        first = next((c for c in base if c['allowed'] and 'namespace' not in c), None)
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
                           item['allowed'])
            if check not in out:
                out.append(check)
    return out


def shown_resource(check):
    text = ('%s/' % check['group']) if check.get('group') else ''
    text += check['resource']
    if check.get('subresource'):
        text += '/' + check['subresource']
    return text


_ROW = '%-6s  %-16s  %-40s  %-20s  %-9s  %s'


def compare(checks, answers, escalations=None):
    """The checks with the API server's answers (``allowed`` booleans, None for no answer):
    ``{checks: [check + expected, actual, ok], mismatches: [line], table: [line]}``; the
    ``escalations`` (from :func:`escalation_paths`) end the table, one ``ALLOWS`` line each."""
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
    for path in escalations or []:
        rows.append('ALLOWS  %s => %s' % (path['grant'], path['means']))
    return {'checks': out, 'mismatches': mismatches, 'table': rows}


def verify(cluster, checks, retries=3, delay=2.0, sleep=time.sleep, escalations=None):
    """Ask the API server, as the caller of ``cluster`` (the account's own token), each check;
    ask again up to ``retries`` times ``delay`` seconds apart while answers differ (RBAC
    changes take moments to reach the authorizer). Returns :func:`compare`'s result."""
    result = None
    for attempt in range(max(0, int(retries)) + 1):
        if attempt:
            sleep(delay)
        answers = [review['allowed'] for review in reviews.access_reviews(cluster, checks)]
        result = compare(checks, answers, escalations)
        if not result['mismatches']:
            break
    return result
