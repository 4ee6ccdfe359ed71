#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sa_token
short_description: Mint a Kubernetes ServiceAccount token through the TokenRequest API
version_added: 0.1.0
description:
  - Mints a short-lived token for a ServiceAccount, as C(kubectl create token) does, and returns
    it with its claims, its expiry, connection values for other modules (RV(connection)) and a
    kubeconfig that uses it.
  - When O(audiences) are given and none of them is one the API server accepts, warns and names
    those it accepts (one more TokenRequest, of the shortest duration, asks them; its token is
    dropped at once), since the returned connection values and kubeconfig would be refused.
  - Given the token of an earlier run (O(token)), returns it unchanged while it still fits the
    request and stays valid for longer than O(renew_before), so that playbooks keeping a token in
    a fact are idempotent.
  - Needs C(create) on C(serviceaccounts/token) in O(namespace).
author:
  - mcp.k8s contributors (@mcp-k8s)
requirements:
  - kubernetes >= 31.0.0
  - PyJWT >= 2.6.0
extends_documentation_fragment:
  - mcp.k8s.connection
  - mcp.k8s.token_request
  - ansible.builtin.action_common_attributes
  - mcp.k8s.attributes
attributes:
  check_mode:
    support: full
    details:
      - Nothing is minted; C(changed) says whether a token would be minted and RV(token) is null
        unless O(token) is reused. Set C(check_mode) to V(false) on the task when later tasks need
        a real token even in check mode.
  diff_mode:
    support: none
options:
  name:
    description:
      - Name of the ServiceAccount.
    type: str
    required: true
    aliases: [service_account]
  token:
    description:
      - A token from an earlier run, for example a fact. When it is for the same ServiceAccount,
        namespace, audiences and bound object, stays valid for longer than O(renew_before) and was
        issued by this cluster for the ServiceAccount as it exists now, it is returned with
        RV(reused=true) and C(changed=false), and nothing is minted.
      - The last check costs one read of the ServiceAccount (its uid must be the one the token names;
        without C(get) on C(serviceaccounts), a C(SelfSubjectReview) made with the token asks the API
        server instead), never a TokenRequest. A token of another cluster, or of a ServiceAccount deleted
        and recreated since, is replaced.
      - Before that, the API server must be shown to accept the token, since what it claims (account, uid,
        expiry) is not secret and anyone can write an unsigned token that claims it. Its signature must be one
        of the keys the cluster publishes (C(/openid/v1/jwks), found through
        C(/.well-known/openid-configuration), read once per task and cluster, and once more for a key id they
        lack) and its C(iss) the issuer named there. Where the connection may not read those, a C(TokenReview)
        decides, else a C(SelfSubjectReview) made with the token itself. A token that fails is replaced by a new
        one with a warning that says where it came from (never the token).
      - With O(validate=true) it is also confirmed through TokenReview, and replaced when the API
        server no longer accepts it.
    type: str
  token_file:
    description:
      - A file on the managed node that M(mcp.k8s.server_files) (or the role C(mcp.k8s.mcp_k8s_server)) wrote,
        a kubeconfig (with the token inside, or with the exec plugin whose credential file holds it) or an exec
        credential file. Its token is offered for reuse as O(token) is (and checked as it is), when O(token) is
        not given. A missing file, or one of another shape, offers none.
    type: path
  renew_before:
    description:
      - Mint a new token instead of reusing O(token) when O(token) expires within this time.
        C(kubectl) duration syntax or seconds.
      - Must be shorter than O(duration), otherwise no token would ever be reused and every run would mint
        one. A value as long as O(duration) or longer is refused (also in check mode), and one that leaves
        less than 5 minutes between them gets a warning.
    type: raw
    default: 5m
notes:
  - The returned token (and the kubeconfig holding it) is a secret; set C(no_log) to V(true) on tasks
    that register it, and keep it in a fact rather than on disk.
  - With O(audiences) empty (the API server's default audiences, which a client cannot know
    without a request), O(token) is reused whatever audiences it has; give the same O(audiences) as
    when it was minted, or set O(validate=true) to have the API server confirm it.
  - API server warnings (for example a duration shortened by the server) are shown as Ansible warnings.
seealso:
  - name: kubectl create token
    description: The command this module mirrors.
    link: https://kubernetes.io/docs/reference/kubectl/generated/kubectl_create/kubectl_create_token/
  - name: TokenRequest API
    description: The API this module calls.
    link: https://kubernetes.io/docs/reference/kubernetes-api/authentication-resources/token-request-v1/
'''

EXAMPLES = r'''
- name: Mint a token for mcp-k8s-server, valid for one hour
  mcp.k8s.sa_token:
    name: mcp-k8s-server
    namespace: mcp
  register: minted
  no_log: true

- name: Mint for another service (the module warns that the API server will refuse this token), for a day
  mcp.k8s.sa_token:
    name: mcp-k8s-server
    namespace: mcp
    audiences: [mcp-k8s-server]
    duration: 24h
    kubeconfig: ~/.kube/admin.conf
    context: prod
  register: minted
  no_log: true

- name: Keep one token across runs - reused (changed=false) until 10 minutes before it expires
  mcp.k8s.sa_token:
    name: mcp-k8s-server
    namespace: mcp
    token: "{{ mcp_token | default(omit) }}"
    renew_before: 10m
  register: minted
  no_log: true

- name: Remember it for later tasks and runs
  ansible.builtin.set_fact:
    mcp_token: "{{ minted.token }}"
    cacheable: true
  no_log: true

- name: Bind a token to a Pod (it stops working when the Pod goes away) and check it through TokenReview
  mcp.k8s.sa_token:
    name: mcp-k8s-server
    namespace: mcp
    bound_object:
      kind: Pod
      name: mcp-k8s-server-0
    validate: true
  register: bound
  no_log: true

- name: Need a real token even in check mode
  mcp.k8s.sa_token:
    name: mcp-k8s-server
    namespace: mcp
  check_mode: false
  register: minted
  no_log: true

# Hand the token on to kubernetes.core with the connection values (host, api_key, validate_certs,
# ca_cert), of which kubernetes.core hides only api_key. Not with the kubeconfig dict: the
# kubeconfig option of kubernetes.core is no_log, so every string inside the dict ("v1", "Config",
# the namespace, the server) would be masked wherever it appears in the task's result.
- name: Read ConfigMaps as mcp-k8s-server with kubernetes.core
  kubernetes.core.k8s_info:
    kind: ConfigMap
    namespace: mcp
  module_defaults:
    group/kubernetes.core.k8s: "{{ minted.connection }}"
  register: configmaps

- name: Or give the values as options of one task
  kubernetes.core.k8s_info:
    kind: Pod
    namespace: mcp
    host: "{{ minted.connection.host }}"
    api_key: "{{ minted.connection.api_key }}"
    ca_cert: "{{ minted.connection.ca_cert | default(omit) }}"
    validate_certs: "{{ minted.connection.validate_certs }}"

- name: Write the kubeconfig for kubectl (mode 0600)
  ansible.builtin.copy:
    content: "{{ minted.kubeconfig | to_nice_yaml }}"
    dest: "{{ playbook_dir }}/mcp-k8s-server.kubeconfig"
    mode: "0600"
  no_log: true

- name: Or call a service with it
  ansible.builtin.uri:
    url: https://mcp.example.com/mcp
    headers:
      Authorization: "Bearer {{ minted.token }}"
  no_log: true
'''

RETURN = r'''
token:
  description: The token (a JWT). Null in check mode unless O(token) is reused.
  returned: always
  type: str
  sample: "<compact JWT: header.payload.signature>"
reused:
  description: Whether O(token) was returned instead of a new token.
  returned: always
  type: bool
  sample: false
expiration_timestamp:
  description:
    - When the token expires, as the API server reports it (RFC 3339, UTC).
    - For a reused token, the expiry its claims state (C(kubernetes.io.warnafter) when present).
  returned: unless check mode mints nothing
  type: str
  sample: "2026-11-28T18:21:11Z"
expires_in:
  description: Seconds until RV(expiration_timestamp).
  returned: unless check mode mints nothing
  type: int
  sample: 3599
duration:
  description: Seconds the API server granted (it may shorten the requested O(duration)).
  returned: always
  type: int
  sample: 3600
audiences:
  description: The token's audiences, after the API server's defaulting.
  returned: always
  type: list
  elements: str
  sample: [https://kubernetes.default.svc.cluster.local]
issued_at:
  description: When the token was issued (RFC 3339, UTC).
  returned: unless check mode mints nothing
  type: str
  sample: "2026-11-28T17:21:11Z"
claims:
  description: The token's payload, decoded with PyJWT (the signature is not verified).
  returned: unless check mode mints nothing
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
jwt_expiration_timestamp:
  description:
    - The JWT's own C(exp) when it differs from RV(expiration_timestamp), which happens when the API
      server extends Pod-bound tokens (C(--service-account-extend-token-expiration)); null otherwise.
  returned: always
  type: str
  sample: null
service_account:
  description: The ServiceAccount the token authenticates as.
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
      description: Its uid, from the token (null in check mode when nothing is minted).
      type: str
      returned: always
      sample: 5a8f3d5c-2d1e-4d0a-8a4c-0a4f0b3c2e11
bound_object:
  description: The object the token is bound to, or null.
  returned: always
  type: dict
  sample: {kind: Pod, name: mcp-k8s-server-0, uid: 0c6a3b0e-7f7e-4f59-bd0b-6f1f8b1f1a2d}
credential_id:
  description:
    - What kube-apiserver records for requests made with this token, as the user's extra
      C(authentication.kubernetes.io/credential-id) in its audit log (C(JTI=<jti>), from the C(jti) claim).
    - Search the audit log for it to find where the token was used. Null for tokens without a C(jti).
  returned: always
  type: str
  sample: JTI=4d0b1c46-5b8a-4c85-9a59-1ef4d3a4c1a8
review:
  description: What the API server said about the token in a TokenReview.
  returned: when O(validate=true)
  type: dict
  contains:
    authenticated:
      description: Whether the token authenticates.
      type: bool
      returned: always
      sample: true
    user:
      description: The user it authenticates as (username, uid, groups, extra).
      type: dict
      returned: always
      sample: {username: "system:serviceaccount:mcp:mcp-k8s-server", uid: 5a8f3d5c-2d1e-4d0a-8a4c-0a4f0b3c2e11,
               groups: ["system:serviceaccounts", "system:serviceaccounts:mcp", "system:authenticated"], extra: {}}
    audiences:
      description: Audiences the token was accepted for.
      type: list
      elements: str
      returned: always
      sample: [https://kubernetes.default.svc.cluster.local]
    error:
      description: Why the token does not authenticate, or null.
      type: str
      returned: always
      sample: null
connection:
  description:
    - Connection options that reach the same API server with this token, under the names of
      C(kubernetes.core) (and of this collection's modules), for C(module_defaults) of
      C(group/kubernetes.core.k8s) or for the options of one task. C(kubernetes.core) hides only
      RV(connection.api_key) in its results.
    - Give these to C(kubernetes.core), not RV(kubeconfig), since its O(kubeconfig) option is C(no_log), so
      every string inside a kubeconfig dict (C(v1), the namespace, the server) is masked wherever it
      appears in that task's result (a ConfigMap comes back as C(kind=********Map)).
    - Proxy credentials, client certificates and impersonation are not carried; the values
      authenticate with the token alone.
  returned: unless check mode mints nothing
  type: dict
  contains:
    host:
      description: The API server URL.
      type: str
      returned: always
      sample: https://10.0.0.1:6443
    api_key:
      description: The token, as a bearer token (a secret, as RV(token)).
      type: str
      returned: always
      sample: eyJhbGciOi...
    validate_certs:
      description:
        - Whether the API server's certificate is verified; V(false) only when the module's own
          connection did not verify it (and warned so).
      type: bool
      returned: always
      sample: true
    ca_cert:
      description:
        - Path, on the host the module ran on, of the CA that verifies the API server. The CA file
          the module's connection used when it was a file (O(ca_cert), a kubeconfig's
          C(certificate-authority), the in-cluster CA); otherwise (C(certificate-authority-data), which
          the kubernetes client keeps in a temporary file deleted when the module ends) the same PEM in
          a 0644 file named after its SHA-256 in C($XDG_CACHE_HOME/mcp.k8s/ca/) (C(~/.cache/mcp.k8s/ca/)),
          a 0700 directory of the user the module runs as.
        - Missing, with a warning, when that directory cannot be written or may be written by others; and
          when the connection trusts the system's CAs or does not verify certificates.
      type: str
      returned: when the connection verifies the API server with a CA of its own
      sample: /home/user/.cache/mcp.k8s/ca/0f3a6c1e9b2d4a7c8e5f6a1b2c3d4e5f.crt
    proxy:
      description: The proxy URL of the module's connection, without credentials.
      type: str
      returned: when the connection uses a proxy
      sample: http://proxy.example.com:3128
    no_proxy:
      description: Hosts reached without the proxy.
      type: str
      returned: when set
      sample: 10.0.0.0/8,.internal
kubeconfig:
  description:
    - A kubeconfig with the connection's server and CA and this token as its user, for C(kubectl)
      or another program once written to a file (mode 0600).
    - For C(kubernetes.core) modules use RV(connection) instead (see there).
  returned: unless check mode mints nothing
  type: dict
  sample:
    apiVersion: v1
    kind: Config
    clusters: [{name: "10.0.0.1:6443", cluster: {server: "https://10.0.0.1:6443", certificate-authority-data: LS0tLS1CRUdJTi...}}]
    users: [{name: "system:serviceaccount:mcp:mcp-k8s-server", user: {token: eyJhbGciOi...}}]
    contexts: [{name: "system:serviceaccount:mcp:mcp-k8s-server@10.0.0.1:6443",
                context: {cluster: "10.0.0.1:6443", user: "system:serviceaccount:mcp:mcp-k8s-server", namespace: mcp}}]
    current-context: "system:serviceaccount:mcp:mcp-k8s-server@10.0.0.1:6443"
    preferences: {}
api_warnings:
  description: The API server's C(Warning) headers for the TokenRequest (also shown as warnings).
  returned: always
  type: list
  elements: str
  sample: ["requested expiration of 86400 seconds shortened to 3600 seconds"]
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

from ansible_collections.mcp.k8s.plugins.module_utils import durations, handoff, serviceaccounts, tokens
from ansible_collections.mcp.k8s.plugins.module_utils.module import K8sModule


def argument_spec():
    return dict(
        name=dict(type='str', required=True, aliases=['service_account']),
        namespace=dict(type='str', default='default'),
        audiences=dict(type='list', elements='str', default=[]),
        duration=dict(type='raw', default='1h'),
        bound_object=dict(type='dict', options=dict(
            kind=dict(type='str', required=True, choices=['Pod', 'Secret', 'Node']),
            name=dict(type='str', required=True),
            uid=dict(type='str'),
        )),
        token=dict(type='str', no_log=True),
        token_file=dict(type='path'),
        renew_before=dict(type='raw', default='5m'),
        validate=dict(type='bool', default=False),
    )


def ensure(module):
    params = module.params
    spec = tokens.token_spec(params)
    module.warn([warning for warning in [durations.renewal_warning(params['duration'], params['renew_before'],
                                                                   tokens.DEFAULT_RENEW_BEFORE)] if warning])
    cluster = module.cluster()
    offered, source = params['token'], 'given in the option token'
    if not offered and params['token_file']:
        from ansible_collections.mcp.k8s.plugins.module_utils import server_files   # the file's reader, when given
        offered, source = server_files.stored_token(params['token_file']), 'read from %s' % params['token_file']
    result = serviceaccounts.ensure_token(cluster, spec, token=offered, renew_before=params['renew_before'],
                                          validate=params['validate'], check_mode=module.check_mode, source=source,
                                          warn=module.warn)
    handoff.complete(cluster, spec, result)
    return result


def main():
    module = K8sModule(argument_spec(), requires=('kubernetes', 'PyJWT'))
    result = module.run(ensure)
    module.warn(result['api_warnings'])
    if result['reused']:
        module.exit_returning_secret('token', dict(result, changed=False))
    module.exit(dict(result, changed=True))


if __name__ == '__main__':
    main()
