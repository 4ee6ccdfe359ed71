#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sa_access
short_description: Own a Kubernetes ServiceAccount and its RBAC, and check what it may really do
version_added: 0.1.0
description:
  - Makes the cluster hold a ServiceAccount and its rights, for any application. A ClusterRole and
    ClusterRoleBinding named after the account (O(scope=cluster)), or a Role and RoleBinding in each
    namespace of O(namespaces) (O(scope=namespaces)), with the given O(rules); or bindings to an existing
    ClusterRole (O(cluster_role)).
  - Writes with server-side apply, field manager C(mcp.k8s). Every object carries the annotation
    C(mcp.k8s/service-account=NAMESPACE/NAME) and the label C(app.kubernetes.io/managed-by=mcp.k8s).
  - Converges. RBAC objects the account owns that are no longer wanted (access or scope changed) are
    deleted; a binding whose C(roleRef) must change is deleted and created again (a roleRef cannot be
    updated); objects someone changed are applied again.
  - Never touches what it did not make. Objects of the same names without the annotation fail the task,
    before anything is changed, with one sentence naming each, unless O(adopt=true). Objects another
    account owns are always refused. Built-in roles (C(system:*), C(cluster-admin), C(admin), C(edit),
    C(view), anything labelled C(kubernetes.io/bootstrapping)) are refused outright, and so are accounts in
    the system namespaces C(kube-system), C(kube-public) and C(kube-node-lease) (their accounts belong to
    Kubernetes and hold rights through built-in bindings; O(state=absent) leaves them in place).
  - Refuses O(labels) that the C(aggregationRule) of an existing ClusterRole selects (such as
    C(rbac.authorization.k8s.io/aggregate-to-view), which would copy the account's rules into C(view), C(edit)
    and C(admin) for everyone bound to them), naming the ClusterRoles they would widen, unless
    O(allow_aggregation=true). A ClusterRole of the account's name that has an C(aggregationRule) (taken over
    with O(adopt=true), or changed by someone) loses it, so that it grants only the account's rules.
  - Refuses rules that grant C(*) verbs, resources or URLs, or the C(escalate), C(bind) or
    C(impersonate) verbs (also through O(cluster_role)) unless O(allow_wildcards_and_escalation=true).
    C(nonResourceURLs) ending in C(*) are prefixes, so C(/*) counts as C(*). Warns when the account may write in
    every namespace, and returns in RV(escalations) what the grant allows beyond its words (who may create
    pods may read any Secret of those namespaces, for example), from a catalogue of the Kubernetes RBAC good
    practices; a path limited by C(resourceNames) is reported with those names (narrowed, not closed).
  - With O(verify_token) or O(verify_token_file) (a token the API server rejects is reported in
    RV(verify_skipped), unless O(verify_only=true) or O(verify_mint=true)), with O(verify_mint=true), or with
    O(verify_only=true), asks the API server through
    SelfSubjectAccessReviews, made as the account, whether it may do what it should and may not do what
    it should not (O(checks), by default one check per verb and resource of the rules, wildcards as
    written; rules limited by C(resourceNames) are asked for each name, non-resource rules for each URL), and
    fails with a table of expected against actual answers when they differ.
  - The same check asks what the account can do in the cluster, not only through its grant, with a
    SelfSubjectRulesReview as the account in its namespace, the namespaces of its grant and those where a
    RoleBinding names it or its groups, and a SelfSubjectAccessReview cluster-wide for each right found.
    Every right beyond the grant (and beyond what Kubernetes gives every ServiceAccount) fails the check and is
    listed in RV(beyond_grant) with the bindings that give it (when the connection's user may list bindings).
  - O(state=absent) deletes the bindings, roles and ServiceAccount that carry the account's annotation
    (in every namespace), the namespace when O(delete_namespace=true), it was created for the account and holds nothing else,
    and reports in RV(left_alone) what it did not delete and why.
author:
  - mcp.k8s contributors (@mcp-k8s)
requirements:
  - kubernetes >= 31.0.0
extends_documentation_fragment:
  - mcp.k8s.connection
  - mcp.k8s.option_names
  - ansible.builtin.action_common_attributes
  - mcp.k8s.attributes
attributes:
  check_mode:
    support: full
    details:
      - Applies are sent as server-side dry runs; nothing is deleted. Objects in a namespace that would
        first be created are reported without a dry run.
  diff_mode:
    support: full
    details:
      - Shows the managed fields (labels, annotations, rules, roleRef, subjects) of each object before and after.
options:
  name:
    description:
      - Name of the ServiceAccount. The roles and bindings take the same name.
    type: str
    required: true
    aliases: [service_account]
  namespace:
    description:
      - Namespace of the ServiceAccount.
    type: str
    default: default
  state:
    description:
      - V(present) makes the account and its RBAC exist as described; V(absent) deletes what the
        account owns.
    type: str
    choices: [present, absent]
    default: present
  labels:
    description:
      - Labels of every object; C(app.kubernetes.io/managed-by=mcp.k8s) is always added.
    type: dict
    default: {}
  rules:
    description:
      - PolicyRules (C(apiGroups), C(resources), C(verbs), C(resourceNames), C(nonResourceURLs)) of the
        role named after the account.
      - Give either O(rules) or O(cluster_role) with O(state=present).
    type: list
    elements: dict
    default: []
  cluster_role:
    description:
      - Bind this existing ClusterRole instead of making a role (in each namespace with
        O(scope=namespaces), with RoleBindings). Its rules are read and judged as O(rules) would be.
    type: str
  scope:
    description:
      - V(cluster) for a ClusterRole and ClusterRoleBinding, V(namespaces) for a Role and RoleBinding in
        each namespace of O(namespaces).
    type: str
    choices: [cluster, namespaces]
    default: cluster
  namespaces:
    description:
      - Namespaces the account gets its rights in with O(scope=namespaces). They must exist.
    type: list
    elements: str
    default: []
  create_namespace:
    description:
      - Create O(namespace) when it is missing, marked with the annotation C(mcp.k8s/created-by).
    type: bool
    default: false
  delete_namespace:
    description:
      - With O(state=absent), delete O(namespace) too, only if it was created for this account and it holds
        nothing else. Every kind of namespaced object the API server serves (discovery) is listed in it; an
        object that is neither one of this account's nor what Kubernetes puts in every namespace (the
        C(default) ServiceAccount, the C(kube-root-ca.crt) ConfigMap) keeps the namespace, and RV(left_alone)
        names a few of them. The same decision in check mode; a namespace that is gone is not reported.
    type: bool
    default: false
  adopt:
    description:
      - Take over objects of the account's names that exist without the annotation C(mcp.k8s/service-account)
        (made by hand or by another tool). They are applied over, annotated, and from then on owned,
        pruned and deleted like the module's own. Objects another account owns and built-in roles are
        never taken over.
    type: bool
    default: false
  allow_aggregation:
    description:
      - Allow O(labels) that the C(aggregationRule) of an existing ClusterRole selects, so that the account's
        rules are copied into that ClusterRole (and those that aggregate it in turn) and granted to everyone
        bound to them.
    type: bool
    default: false
  allow_wildcards_and_escalation:
    description:
      - Allow rules (or a O(cluster_role)) that grant C(*) verbs, resources or non-resource URLs (C(/*) too), or
        the C(escalate), C(bind) or C(impersonate) verbs (also limited by C(resourceNames)). Each of those lets the
        account give itself any right in its scope.
    type: bool
    default: false
  verify_token:
    description:
      - A token of the account. After converging (not in check mode), ask the API server with it whether
        the account's rights are what O(checks) expect.
    type: str
  verify_token_file:
    description:
      - A file on the managed node that M(mcp.k8s.server_files) (or the role C(mcp.k8s.mcp_k8s_server)) wrote, an
        exec credential file or a kubeconfig with the token inside. When O(verify_token) is not given, its token
        is used as O(verify_token) if it is a token of this account. A missing file, one of another shape or a
        token of another account holds none; then nothing is verified and RV(verify_skipped) says why (with
        O(verify_only=true) the task fails), unless O(verify_mint=true).
    type: path
  verify_mint:
    description:
      - When no token of the account is at hand (O(verify_token) and O(verify_token_file) give none, or the API
        server rejects it), mint a token of the account for the API server's own audiences, valid 10 minutes
        (the shortest kube-apiserver grants), ask with it, and forget it. RV(verify_token_minted) says so.
      - Not in check mode, where nothing is minted.
    type: bool
    default: false
  verify_only:
    description:
      - Change nothing; only ask the API server whether the account's rights are what O(checks) expect,
        with O(verify_token) (or O(verify_token_file), which must then hold a token of the account), or
        without it as the connection's own user, which must be the account (for example with the account's
        kubeconfig; a SelfSubjectReview tells, and another user fails the task). Runs in check mode too.
    type: bool
    default: false
  checks:
    description:
      - What to ask in the verification. Each check without C(namespace) is asked cluster-wide with
        O(scope=cluster) and in each namespace of O(namespaces) with O(scope=namespaces); with
        O(scope=namespaces) the first allowed check is also asked cluster-wide, expecting a denial.
      - Empty means one check per verb, API group and resource of the rules (or of O(cluster_role)),
        expecting each allowed; wildcards are asked as written, C(resourceNames) one name at a time, and
        C(nonResourceURLs) one URL at a time.
    type: list
    elements: dict
    default: []
    suboptions:
      verb:
        description: The verb, such as V(list) or V(*).
        type: str
        required: true
      resource:
        description: The resource (plural), optionally with its subresource (V(pods/log)).
        type: str
        required: true
      group:
        description: The API group; empty for the core group.
        type: str
        default: ''
      subresource:
        description: The subresource, such as V(log).
        type: str
      namespace:
        description: Ask in this namespace; V('') asks cluster-wide.
        type: str
      allowed:
        description: The expected answer.
        type: bool
        default: true
  verify_retries:
    description:
      - How often to ask again while the answers differ (RBAC changes take moments to reach the authorizer).
    type: int
    default: 3
  verify_delay:
    description:
      - Seconds between those attempts.
    type: float
    default: 2
notes:
  - The connection's user needs to get, list, create, patch and delete ServiceAccounts, (Cluster)Roles and
    (Cluster)RoleBindings, list namespaces, and hold the rights it grants (or C(escalate) and C(bind)).
seealso:
  - module: mcp.k8s.sa_token
  - module: mcp.k8s.sa_token_info
  - name: Privilege escalation via Pod creation
    description: Why creating pods in a namespace means reading its Secrets and acting as its ServiceAccounts.
    link: https://kubernetes.io/docs/concepts/security/rbac-good-practices/#workload-creation
'''

EXAMPLES = r'''
- name: A CI deployer that may roll out Deployments in two namespaces
  mcp.k8s.sa_access:
    name: ci-deployer
    namespace: ci
    create_namespace: true
    labels:
      app: ci
    scope: namespaces
    namespaces: [team-a, team-b]
    rules:
      - apiGroups: [apps]
        resources: [deployments]
        verbs: [get, list, watch, patch, update]
  register: access

- name: A read-only dashboard bound to the built-in view ClusterRole everywhere
  mcp.k8s.sa_access:
    name: dashboard
    namespace: monitoring
    cluster_role: view

- name: Take over a hand-made account and its role of the same names
  mcp.k8s.sa_access:
    name: backup
    namespace: ops
    adopt: true
    rules:
      - apiGroups: [""]
        resources: [persistentvolumeclaims]
        verbs: [get, list]

- name: Mint a token for the deployer
  mcp.k8s.sa_token:
    name: ci-deployer
    namespace: ci
  register: minted
  no_log: true

- name: Check, with its own token, that it may patch deployments and may not read secrets
  mcp.k8s.sa_access:
    name: ci-deployer
    namespace: ci
    scope: namespaces
    namespaces: [team-a, team-b]
    verify_only: true
    verify_token: "{{ minted.token }}"
    checks:
      - {verb: patch, group: apps, resource: deployments}
      - {verb: get, resource: secrets, allowed: false}
  register: rights

- name: Show the table
  ansible.builtin.debug:
    msg: "{{ rights.verification.table }}"

- name: Remove the account and everything it owns (and nothing else)
  mcp.k8s.sa_access:
    name: ci-deployer
    namespace: ci
    state: absent
  register: removed

- name: Say what was left alone
  ansible.builtin.debug:
    msg: "{{ item.kind }} {{ item.name }} kept: {{ item.reason }}"
  loop: "{{ removed.left_alone }}"
'''

RETURN = r'''
service_account:
  description: The account (C(name), C(namespace), C(username)).
  returned: always
  type: dict
  sample: {name: ci-deployer, namespace: ci, username: "system:serviceaccount:ci:ci-deployer"}
objects:
  description: The objects as the API server returned them after the apply (a dry run in check mode), without managedFields.
  returned: always
  type: list
  elements: dict
  sample:
    - apiVersion: v1
      kind: ServiceAccount
      metadata:
        name: ci-deployer
        namespace: ci
        labels: {app: ci, app.kubernetes.io/managed-by: mcp.k8s}
        annotations: {mcp.k8s/service-account: ci/ci-deployer}
names:
  description: The objects as C(Kind namespace/name).
  returned: always
  type: list
  elements: str
  sample: [ServiceAccount ci/ci-deployer, Role team-a/ci-deployer, RoleBinding team-a/ci-deployer]
changes:
  description: One entry per object looked at, C(kind), C(namespace), C(name), C(action) (V(created), V(updated),
    V(recreated), V(deleted), V(unchanged)) and C(reason).
  returned: always
  type: list
  elements: dict
  sample: [{kind: ClusterRole, namespace: "", name: ci-deployer, action: deleted,
            reason: owned by the account and no longer wanted (access or scope changed)}]
removed:
  description: The objects deleted (C(kind), C(namespace), C(name)), bindings first.
  returned: always
  type: list
  elements: dict
  sample: [{kind: ClusterRoleBinding, namespace: "", name: ci-deployer}]
left_alone:
  description: Objects of the account's names that were not changed or deleted because the account does not
    own them, with the C(reason).
  returned: always
  type: list
  elements: dict
  sample: [{kind: ClusterRole, namespace: "", name: ci-deployer,
            reason: "it was not made by mcp.k8s for ci/ci-deployer (no mcp.k8s/service-account annotation)"}]
escalations:
  description: What the rights (those of the role as applied) allow beyond their words, one entry per path of the
    catalogue, C(id), C(grant) and what it C(means); C(names) when C(resourceNames) limit it.
  returned: always
  type: list
  elements: dict
  sample: [{id: workloads, grant: create pods, means: "can read any Secret and act as any ServiceAccount in namespaces
            team-a, team-b, through a pod that mounts them"}]
beyond_grant:
  description: The rights the API server says the account holds beyond its grant and beyond what every
    ServiceAccount holds, C(verbs), C(group), C(resource), C(names) (resourceNames), C(path) (a non-resource URL),
    C(namespaces) (V('') for every namespace or a cluster-scoped resource) and C(sources), the bindings that give
    it (absent when the connection's user may not list bindings). Any entry fails the check.
  returned: when the rights were checked with O(rules) or O(cluster_role)
  type: list
  elements: dict
  sample: [{verbs: [create, update], group: "", resource: configmaps, names: [], path: "", namespaces: [""],
            sources: ["ClusterRoleBinding app-cm-writer (ClusterRole cm-writer)"]}]
checks:
  description: The checks of the verification (C(verb), C(group), C(resource), C(subresource), C(namespace) with
    V('') for cluster-wide, C(allowed) the expected answer; C(name) for a rule limited by C(resourceNames),
    C(path) for a non-resource URL).
  returned: with O(state=present)
  type: list
  elements: dict
  sample: [{verb: list, group: "", resource: pods, subresource: "", namespace: "", allowed: true}]
verify_token_minted:
  description: True when the rights were checked with a token minted for that (O(verify_mint=true)).
  returned: when such a token was minted
  type: bool
verify_skipped:
  description: Why the rights were not checked although O(verify_token) was given (the API server rejected it).
  returned: when so
  type: str
  sample: The API server at https://10.0.0.1:6443 rejected the token (401 Unauthorized) ...
verification:
  description: The answers of the verification.
  returned: when the rights were checked (also when the check failed)
  type: dict
  contains:
    checks:
      description: RV(checks) with C(expected), C(actual) (null without an answer) and C(ok).
      type: list
      elements: dict
      returned: always
    beyond_grant:
      description: RV(beyond_grant).
      type: list
      elements: dict
      returned: always
    incomplete:
      description:
        - The namespaces whose SelfSubjectRulesReview the API server marked incomplete (another authorizer, such as
          a webhook, or a binding it could not evaluate), each with the server's C(evaluation_error); rights may be
          missing from RV(beyond_grant) there, and the module warns.
      type: list
      elements: dict
      returned: always
      sample: [{"namespace": "mcp", "evaluation_error": "clusterroles.rbac.authorization.k8s.io \"gone\" not found"}]
    summary:
      description: What differs, in words (the middle of the failure message); empty when nothing does.
      type: str
      returned: always
    mismatches:
      description: One line per check whose answer differs, and per right beyond the grant.
      type: list
      elements: str
      returned: always
      sample: ["get secrets in (all): expected denied, got allowed"]
    table:
      description: The lines of a table of every check, expected against actual, then one C(BEYOND) line per right
        beyond the grant and one C(ALLOWS) line per escalation path (RV(escalations)).
      type: list
      elements: str
      returned: always
      sample: ["RESULT  VERB  RESOURCE  NAMESPACE  EXPECTED   ACTUAL", "ok      list  pods      (all)      allowed    allowed"]
status:
  description:
    - The HTTP status code of the API server's answer that failed the task (as kubernetes.core returns it).
  returned: on failure with an HTTP answer
  type: int
  sample: 403
reason:
  description:
    - The reason phrase of that answer.
  returned: on failure with an HTTP answer
  type: str
  sample: Forbidden
api_status:
  description:
    - The API server's answer itself, its C(Status) object (or its text when it was not JSON), for bug reports.
    - Every credential in it (a token, a C(Bearer) value, a secret option's value, any C(token) or C(authorization)
      field) is replaced by C(********).
  returned: on failure with an HTTP answer
  type: raw
  sample: {kind: Status, apiVersion: v1, metadata: {}, status: Failure, reason: Forbidden, code: 403,
           message: 'serviceaccounts "app" is forbidden: User "alice" cannot create resource "serviceaccounts/token"
             in API group "" in the namespace "mcp"',
           details: {name: app, kind: serviceaccounts}}
'''

from ansible_collections.mcp.k8s.plugins.module_utils import option_names, verification
from ansible_collections.mcp.k8s.plugins.module_utils.module import K8sModule


def argument_spec():
    return dict(
        name=dict(type='str', required=True, aliases=['service_account']),
        namespace=dict(type='str', default='default'),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        labels=dict(type='dict', default={}),
        rules=dict(type='list', elements='dict', default=[]),
        cluster_role=dict(type='str'),
        scope=dict(type='str', choices=['cluster', 'namespaces'], default='cluster'),
        namespaces=dict(type='list', elements='str', default=[]),
        create_namespace=dict(type='bool', default=False),
        delete_namespace=dict(type='bool', default=False),
        adopt=dict(type='bool', default=False),
        allow_wildcards_and_escalation=dict(type='bool', default=False),
        allow_aggregation=dict(type='bool', default=False),
        verify_token=dict(type='str', no_log=True),
        verify_token_file=dict(type='path'),
        verify_mint=dict(type='bool', default=False),
        verify_only=dict(type='bool', default=False),
        checks=dict(type='list', elements='dict', default=[], options=dict(
            verb=dict(type='str', required=True),
            resource=dict(type='str', required=True),
            group=dict(type='str', default=''),
            subresource=dict(type='str'),
            namespace=dict(type='str'),
            allowed=dict(type='bool', default=True),
        )),
        verify_retries=dict(type='int', default=3),
        verify_delay=dict(type='float', default=2),
        **option_names.argument_spec()
    )


def main():
    module = K8sModule(argument_spec())
    result = module.run(lambda m: verification.run(m.params, m.cluster, m.check_mode))
    warnings, diff = result.pop('warnings', []), result.pop('diff', None) or None
    failure = verification.failure(module.params, result)
    if failure:
        module.fail(failure, result, warnings=warnings)
    module.exit(result, warnings=warnings, diff=diff)


if __name__ == '__main__':
    main()
