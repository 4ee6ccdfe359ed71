#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sa_token_info
short_description: Inspect a Kubernetes ServiceAccount token - its claims, validity, signature and permissions
version_added: 0.1.0
description:
  - Decodes a ServiceAccount token (a JWT) and returns its claims, issuer, subject, ServiceAccount,
    audiences, bound object, expiry, and whether it is a legacy token kept in a Secret (which never
    expires). This part makes no request, so it works without access to the cluster.
  - With O(review=true), asks the API server through a TokenReview whether the token authenticates,
    and as whom. A revoked token (its Secret, bound object or ServiceAccount deleted) or an expired one
    is reported with RV(review.authenticated=false) and the reason; the module does not fail.
  - With O(verify_signature=true), checks the token's signature against the keys the cluster
    publishes for its ServiceAccount issuer (C(/.well-known/openid-configuration) and its C(jwks_uri),
    normally C(/openid/v1/jwks)), using PyJWT. A token the cluster did not sign (no published key
    fits it, or the signature does not match) is reported with RV(signature.verified=false) and the
    reason; the module does not fail.
  - With O(can_i), asks through SelfSubjectAccessReviews, made B(with the token itself), whether the
    token may do each of the listed actions, as C(kubectl auth can-i --token) does.
  - So one call audits any token, a foreign or revoked one included. The module fails only when a
    question could not be asked (the cluster unreachable, the caller not allowed, bad input).
  - Never changes anything.
author:
  - mcp.k8s contributors (@mcp-k8s)
requirements:
  - kubernetes >= 31.0.0 (only for O(review), O(verify_signature) and O(can_i))
  - PyJWT >= 2.6.0
extends_documentation_fragment:
  - mcp.k8s.connection
  - ansible.builtin.action_common_attributes
  - mcp.k8s.attributes
attributes:
  check_mode:
    support: full
    details:
      - The module never changes anything; TokenReviews and SelfSubjectAccessReviews are made in check mode too.
  diff_mode:
    support: none
options:
  token:
    description:
      - The token to inspect, a compact JWT. Leading and trailing white space is ignored.
      - The connection options say which cluster to ask for O(review), O(verify_signature) and
        O(can_i); the token itself is used only for O(can_i).
    type: str
    required: true
  review:
    description:
      - Ask the API server through a TokenReview whether the token authenticates.
      - The connection's user needs C(create) on C(tokenreviews) in API group
        C(authentication.k8s.io) (the ClusterRole C(system:auth-delegator) has it).
    type: bool
    default: false
  audiences:
    description:
      - Audiences the TokenReview accepts. Empty means the API server's own audiences.
      - Only used with O(review=true).
    type: list
    elements: str
    default: []
  verify_signature:
    description:
      - Check the token's signature against the cluster's published ServiceAccount issuer keys.
      - The discovery document and the key set are read with the connection's credentials, from
        the API server itself (only the path of C(jwks_uri) is used). Anyone in the group
        C(system:serviceaccounts) may read them (ClusterRole C(system:service-account-issuer-discovery)).
      - Only the signature is checked, not the expiry or the audiences; use O(review) for those.
    type: bool
    default: false
  can_i:
    description:
      - Actions to check with SelfSubjectAccessReviews made with the token. The results come back in
        RV(can_i) in the same order.
      - When the API server does not accept the token at all (for example an expired, revoked or foreign
        token), every check is reported as not allowed, with the API server's refusal in its
        RV(can_i[].evaluation_error); use O(review) to learn why.
    type: list
    elements: dict
    suboptions:
      verb:
        description: The verb, such as V(get), V(list), V(create), V(delete) or V(*).
        type: str
        required: true
      resource:
        description:
          - The resource (plural), such as V(pods). May carry its subresource (V(pods/log)) and its
            API group (V(deployments.apps)) as C(kubectl auth can-i) accepts them.
        type: str
        required: true
      group:
        description: The API group of O(can_i[].resource); empty for the core group.
        type: str
      subresource:
        description: The subresource, such as V(log) or V(token).
        type: str
      namespace:
        description: The namespace; omit it for cluster-scoped resources or to ask about all namespaces.
        type: str
      name:
        description: The name of one object.
        type: str
notes:
  - The token is never returned. The claims are returned as decoded; they hold no secret.
seealso:
  - module: mcp.k8s.sa_token
  - module: mcp.k8s.sa_token_secret
  - plugin: mcp.k8s.token_claims
    plugin_type: filter
  - name: TokenReview API
    description: The API behind O(review).
    link: https://kubernetes.io/docs/reference/kubernetes-api/authentication-resources/token-review-v1/
  - name: Service account issuer discovery
    description: The keys O(verify_signature) checks against.
    link: https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#service-account-issuer-discovery
'''

EXAMPLES = r'''
- name: What does this token say about itself (no request to the cluster)
  mcp.k8s.sa_token_info:
    token: "{{ mcp_token }}"
  register: info

- name: Renew when it expires within the hour
  ansible.builtin.debug:
    msg: "{{ info.service_account.name }}'s token expires at {{ info.expires_at }}"
  when: info.legacy or info.expires_in < 3600

- name: Is it still valid, did it come from this cluster, and what may it do
  mcp.k8s.sa_token_info:
    token: "{{ mcp_token }}"
    review: true
    verify_signature: true
    can_i:
      - {verb: list, resource: pods, namespace: mcp}
      - {verb: get, resource: pods/log, namespace: mcp}
      - {verb: create, resource: deployments, group: apps, namespace: mcp}
      - {verb: delete, resource: nodes}
  register: info

- name: Fail unless it authenticates and may do everything asked
  ansible.builtin.assert:
    that:
      - info.review.authenticated
      - info.all_allowed
    fail_msg: "{{ info.review.error or (info.can_i | rejectattr('allowed') | list) }}"

- name: Show the access checks as a table
  ansible.builtin.debug:
    msg: "{{ item.verb }} {{ item.resource }} {{ item.namespace | default('*', true) }}: {{ 'yes' if item.allowed else 'no' }}"
  loop: "{{ info.can_i }}"
  loop_control:
    label: "{{ item.verb }} {{ item.resource }}"
'''

RETURN = r'''
claims:
  description: The token's payload, decoded with PyJWT (the signature is not verified here).
  returned: always
  type: dict
  sample:
    aud: [https://kubernetes.default.svc.cluster.local]
    exp: 1795886471
    iat: 1795882871
    iss: https://kubernetes.default.svc.cluster.local
    jti: 4d0b1c46-5b8a-4c85-9a59-1ef4d3a4c1a8
    kubernetes.io:
      namespace: mcp
      serviceaccount: {name: mcp-k8s-server, uid: 5a8f3d5c-2d1e-4d0a-8a4c-0a4f0b3c2e11}
    nbf: 1795882871
    sub: system:serviceaccount:mcp:mcp-k8s-server
header:
  description: The token's JOSE header (C(alg), C(kid), C(typ) when present).
  returned: always
  type: dict
  sample: {alg: RS256, kid: 3q1Y0b8n2l8tG1c0xv5b0rM7YQy0bJbXw0e8m5fFv3s}
issuer:
  description: The C(iss) claim; V(kubernetes/serviceaccount) for a legacy token.
  returned: always
  type: str
  sample: https://kubernetes.default.svc.cluster.local
subject:
  description: The C(sub) claim, V(system:serviceaccount:NAMESPACE:NAME) for a ServiceAccount token.
  returned: always
  type: str
  sample: system:serviceaccount:mcp:mcp-k8s-server
service_account:
  description: The ServiceAccount the token names.
  returned: always
  type: dict
  contains:
    namespace:
      description: Its namespace.
      type: str
      returned: always
      sample: mcp
    name:
      description: Its name.
      type: str
      returned: always
      sample: mcp-k8s-server
    uid:
      description: Its uid as the token records it.
      type: str
      returned: always
      sample: 5a8f3d5c-2d1e-4d0a-8a4c-0a4f0b3c2e11
audiences:
  description: The C(aud) claim as a list; empty for a legacy token.
  returned: always
  type: list
  elements: str
  sample: [https://kubernetes.default.svc.cluster.local]
bound_object:
  description: The object the token is bound to (C(kind) Pod, Secret or Node, C(name), C(uid)), or null.
  returned: always
  type: dict
  sample: {kind: Pod, name: mcp-k8s-server-0, uid: 0c6a3b0e-7f7e-4f59-bd0b-6f1f8b1f1a2d}
secret:
  description: For a legacy token, the Secret that holds it (C(namespace), C(name)); deleting it revokes the token. Null otherwise.
  returned: always
  type: dict
  sample: {namespace: mcp, name: mcp-k8s-server-token}
credential_id:
  description:
    - What kube-apiserver records for requests made with the token, as the user's extra
      C(authentication.kubernetes.io/credential-id) in its audit log (C(JTI=<jti>)); null without a C(jti) claim
      (legacy Secret tokens).
  returned: always
  type: str
  sample: JTI=4d0b1c46-5b8a-4c85-9a59-1ef4d3a4c1a8
issued_at:
  description: When the token was issued (RFC 3339, UTC); null for a legacy token.
  returned: always
  type: str
  sample: "2026-11-28T17:21:11Z"
expires_at:
  description:
    - When the token expires (RFC 3339, UTC); null for a legacy token, which never expires.
    - For a Pod-bound token the API server extended, the time clients are told to renew by
      (C(kubernetes.io.warnafter)); the C(exp) claim is in RV(claims).
  returned: always
  type: str
  sample: "2026-11-28T18:21:11Z"
expires_in:
  description: Seconds until RV(expires_at), negative once past; null for a legacy token.
  returned: always
  type: int
  sample: 3599
expired:
  description: Whether RV(expires_at) has passed.
  returned: always
  type: bool
  sample: false
legacy:
  description: Whether this is a legacy token (issuer V(kubernetes/serviceaccount), from a Secret), which never expires.
  returned: always
  type: bool
  sample: false
review:
  description: What the API server said in a TokenReview.
  returned: when O(review=true)
  type: dict
  contains:
    authenticated:
      description: Whether the token authenticates.
      type: bool
      returned: always
      sample: true
    user:
      description: The user it authenticates as (C(username), C(uid), C(groups), C(extra)).
      type: dict
      returned: always
      sample: {username: "system:serviceaccount:mcp:mcp-k8s-server", uid: 5a8f3d5c-2d1e-4d0a-8a4c-0a4f0b3c2e11,
               groups: ["system:serviceaccounts", "system:serviceaccounts:mcp", "system:authenticated"], extra: {}}
    audiences:
      description: The audiences the token was accepted for.
      type: list
      elements: str
      returned: always
      sample: [https://kubernetes.default.svc.cluster.local]
    error:
      description: Why the token does not authenticate, or null.
      type: str
      returned: always
      sample: null
signature:
  description: The result of the signature check.
  returned: when O(verify_signature=true)
  type: dict
  contains:
    verified:
      description: Whether one of the cluster's published keys verifies the signature.
      type: bool
      returned: always
      sample: true
    reason:
      description: Why the signature does not verify (null when it does).
      type: str
      returned: always
      sample: null
    key_id:
      description: The C(kid) of the published key that verified the signature (null when none did).
      type: str
      returned: always
      sample: 3q1Y0b8n2l8tG1c0xv5b0rM7YQy0bJbXw0e8m5fFv3s
    algorithm:
      description: The signing algorithm.
      type: str
      returned: always
      sample: RS256
    issuer:
      description: The issuer named by the cluster's discovery document.
      type: str
      returned: always
      sample: https://kubernetes.default.svc.cluster.local
    jwks_uri:
      description: The C(jwks_uri) of the discovery document.
      type: str
      returned: always
      sample: https://10.0.0.1:6443/openid/v1/jwks
can_i:
  description: One entry per O(can_i) check, in the same order, made with the token.
  returned: when O(can_i) is given
  type: list
  elements: dict
  contains:
    verb:
      description: The verb checked.
      type: str
      returned: always
      sample: list
    resource:
      description: The resource checked, with its subresource (V(pods/log)).
      type: str
      returned: always
      sample: pods
    group:
      description: The API group; empty for the core group.
      type: str
      returned: always
      sample: ""
    namespace:
      description: The namespace, or null.
      type: str
      returned: always
      sample: mcp
    name:
      description: The object name, or null.
      type: str
      returned: always
      sample: null
    allowed:
      description: Whether the action is allowed.
      type: bool
      returned: always
      sample: true
    denied:
      description: Whether an authorizer explicitly denied it (false with no opinion).
      type: bool
      returned: always
      sample: false
    reason:
      description: The authorizer's reason, often the RoleBinding that allows it.
      type: str
      returned: always
      sample: 'RBAC: allowed by RoleBinding "mcp-k8s-server/mcp" of Role "mcp-k8s-server" to ServiceAccount "mcp-k8s-server/mcp"'
    evaluation_error:
      description: An error the authorizer met while evaluating, or empty; when the API server rejects
        the token itself, its sentence.
      type: str
      returned: always
      sample: ""
all_allowed:
  description: Whether every O(can_i) check is allowed.
  returned: when O(can_i) is given
  type: bool
  sample: true
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

from ansible_collections.mcp.k8s.plugins.module_utils import token_info
from ansible_collections.mcp.k8s.plugins.module_utils.module import K8sModule


def argument_spec():
    return dict(
        token=dict(type='str', required=True, no_log=True),
        review=dict(type='bool', default=False),
        audiences=dict(type='list', elements='str', default=[]),
        verify_signature=dict(type='bool', default=False),
        can_i=dict(type='list', elements='dict', options=dict(
            verb=dict(type='str', required=True),
            resource=dict(type='str', required=True),
            group=dict(type='str'),
            subresource=dict(type='str'),
            namespace=dict(type='str'),
            name=dict(type='str'),
        )),
    )


def inspect(module):
    params = module.params
    if params['review'] or params['verify_signature'] or params['can_i']:
        module.require('kubernetes')
    result = token_info.token_info(
        params['token'], cluster_for=module.cluster, review=params['review'], audiences=params['audiences'],
        verify_signature=params['verify_signature'], can_i=params['can_i'])
    return dict((key, value) for key, value in result.items()
                if value is not None or key not in ('review', 'signature', 'can_i', 'all_allowed'))


def main():
    module = K8sModule(argument_spec(), requires=('PyJWT',))
    module.exit(dict(module.run(inspect), changed=False))


if __name__ == '__main__':
    main()
