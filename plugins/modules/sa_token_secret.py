#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sa_token_secret
short_description: Keep a long-lived ServiceAccount token in a Secret, or revoke it
version_added: 0.1.0
description:
  - With O(state=present), makes sure a Secret of type C(kubernetes.io/service-account-token) exists for
    a ServiceAccount, waits until the token controller of kube-controller-manager has filled in its
    C(token), C(ca.crt) and C(namespace), and returns them. A second run returns the same token with
    C(changed=false).
  - With O(state=absent), deletes the Secret, which revokes its token at once. The delete carries the uid the
    module read as a precondition, so a Secret replaced meanwhile is not deleted.
  - Never changes or deletes a Secret it did not create (as M(mcp.k8s.sa_access)). The Secrets it creates carry
    the annotation C(mcp.k8s/created-by) with the value C(NAMESPACE/NAME) of their ServiceAccount; any other
    Secret of O(secret_name) is refused with one sentence unless O(adopt=true), which takes it over (annotates it).
  - Such tokens B(never expire). Use them only for clusters and tools that cannot renew a token; prefer
    the short-lived tokens of M(mcp.k8s.sa_token) everywhere else. The module warns about this on every
    O(state=present) run.
  - Needs C(get) on C(serviceaccounts) and C(get), C(create), C(update) and C(delete) on C(secrets) in
    O(namespace).
author:
  - mcp.k8s contributors (@mcp-k8s)
requirements:
  - kubernetes >= 31.0.0
extends_documentation_fragment:
  - mcp.k8s.connection
  - ansible.builtin.action_common_attributes
  - mcp.k8s.attributes
attributes:
  check_mode:
    support: full
    details:
      - Nothing is written. When the Secret would be created, RV(token), RV(ca_crt) and RV(namespace) are null.
  diff_mode:
    support: full
    details:
      - The diff shows the Secret's name, type, labels and ServiceAccount annotations, never its data.
options:
  name:
    description:
      - Name of the ServiceAccount whose token the Secret holds. It must exist before the Secret is created.
      - Named O(name) as in the other modules of this collection; O(service_account) is the name it had first.
    type: str
    required: true
    aliases: [service_account]
  namespace:
    description:
      - Namespace of the ServiceAccount and the Secret.
    type: str
    default: default
  secret_name:
    description:
      - Name of the Secret. Defaults to the ServiceAccount's name followed by C(-token).
      - An existing Secret of this name that is not a C(kubernetes.io/service-account-token) Secret of
        O(name) is never changed or deleted; the module fails instead.
    type: str
  adopt:
    description:
      - Take over a C(kubernetes.io/service-account-token) Secret of O(name) that exists without the annotation
        C(mcp.k8s/created-by) (made by hand, by another tool, or by an earlier release of this collection,
        which did not annotate its Secrets). With O(state=present) it is annotated and from then on owned like
        the module's own; with O(state=absent) it is deleted.
      - Without it such a Secret is neither changed, returned nor deleted; the module fails and says to set
        O(adopt=true) once. Secrets another ServiceAccount's run of this module made are never taken over.
      - Same name and meaning as O(mcp.k8s.sa_access#module:adopt).
    type: bool
    default: false
  labels:
    description:
      - Labels to set on the Secret. Labels already on the Secret that are not listed here are kept
        (the API server adds some, such as C(kubernetes.io/legacy-token-last-used)).
    type: dict
    default: {}
  state:
    description:
      - V(present) creates the Secret and waits for its token; V(absent) deletes it, revoking the token.
    type: str
    choices: [present, absent]
    default: present
  wait_timeout:
    description:
      - How long to wait for the token controller to fill in the Secret, in seconds or C(kubectl)
        duration syntax (V(30s), V(2m)). The token controller normally takes well under a second; a
        cluster whose kube-controller-manager does not run it never fills the Secret in.
    type: raw
    default: 60
notes:
  - The returned token (and the kubeconfig holding it) is a secret that never expires; set C(no_log) to
    V(true) on tasks that register it.
  - Since Kubernetes 1.24 no such Secret is created automatically for a ServiceAccount; this module
    creates one explicitly, the documented way to get a long-lived token.
  - Deleting the ServiceAccount also deletes its token Secrets (the token controller does it).
  - After O(state=absent), kube-apiserver may accept the token for up to 10 seconds more, because it
    caches successful token authentications for that long. A check that the token is revoked should retry.
seealso:
  - module: mcp.k8s.sa_token
  - module: mcp.k8s.sa_token_info
  - name: Manually create a long-lived API token for a ServiceAccount
    description: The Kubernetes documentation of these Secrets.
    link: https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#manually-create-a-long-lived-api-token-for-a-serviceaccount
'''

EXAMPLES = r'''
- name: A long-lived token for a tool that cannot renew tokens
  mcp.k8s.sa_token_secret:
    name: legacy-exporter
    namespace: monitoring
    labels:
      app.kubernetes.io/managed-by: ansible
  register: legacy
  no_log: true

- name: Write a kubeconfig for the tool
  ansible.builtin.copy:
    content: "{{ legacy.kubeconfig | to_nice_yaml }}"
    dest: /etc/legacy-exporter/kubeconfig
    mode: "0600"
  no_log: true

- name: Revoke the token
  mcp.k8s.sa_token_secret:
    name: legacy-exporter
    namespace: monitoring
    state: absent

- name: Take over a token Secret made by hand or by an earlier release (once; then it is the module's own)
  mcp.k8s.sa_token_secret:
    name: legacy-exporter
    namespace: monitoring
    adopt: true
  register: legacy
  no_log: true

- name: Another Secret name, a shorter wait, another cluster
  mcp.k8s.sa_token_secret:
    name: ci
    namespace: build
    secret_name: ci-long-lived-token
    wait_timeout: 20s
    kubeconfig: ~/.kube/build-cluster.conf
  register: ci_token
  no_log: true
'''

RETURN = r'''
token:
  description: The token (a JWT that never expires). Null in check mode when the Secret would be created.
  returned: when O(state=present)
  type: str
  sample: "<compact JWT: header.payload.signature, legacy claims>"
ca_crt:
  description: The cluster CA certificate (PEM) the token controller put in the Secret.
  returned: when O(state=present)
  type: str
  sample: "-----BEGIN CERTIFICATE-----\nMIIC5zCCAc+gAwIBAgIBADANBgkqhkiG9w0BAQsFADAVMRMwEQYDVQQDEwprdWJl...\n-----END CERTIFICATE-----\n"
namespace:
  description: The namespace the token controller recorded in the Secret.
  returned: when O(state=present)
  type: str
  sample: monitoring
secret:
  description: The Secret (C(name), C(namespace), C(uid), C(labels)).
  returned: when O(state=present)
  type: dict
  sample: {name: legacy-exporter-token, namespace: monitoring, uid: 7f0b8a7e-9a55-4bb1-9d0c-2b1c1f8f0e3d,
           labels: {app.kubernetes.io/managed-by: ansible}}
service_account:
  description: The ServiceAccount (C(name), C(namespace), C(uid)).
  returned: when O(state=present)
  type: dict
  sample: {name: legacy-exporter, namespace: monitoring, uid: 5a8f3d5c-2d1e-4d0a-8a4c-0a4f0b3c2e11}
kubeconfig:
  description:
    - A kubeconfig with the connection's server and CA and this token as its user, for C(kubectl) once
      written to a file. Null when there is no token yet (check mode).
    - Not for the O(kubeconfig) option of C(kubernetes.core) modules, which is C(no_log) and masks every
      string of the dict in that task's result; give them C(host), C(api_key) and C(ca_cert) instead.
  returned: when O(state=present)
  type: dict
  sample:
    apiVersion: v1
    kind: Config
    clusters: [{name: "10.0.0.1:6443", cluster: {server: "https://10.0.0.1:6443", certificate-authority-data: LS0tLS1CRUdJTi...}}]
    users: [{name: "system:serviceaccount:monitoring:legacy-exporter", user: {token: eyJhbGciOi...}}]
    contexts: [{name: "system:serviceaccount:monitoring:legacy-exporter@10.0.0.1:6443",
                context: {cluster: "10.0.0.1:6443", user: "system:serviceaccount:monitoring:legacy-exporter", namespace: monitoring}}]
    current-context: "system:serviceaccount:monitoring:legacy-exporter@10.0.0.1:6443"
    preferences: {}
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

from ansible_collections.mcp.k8s.plugins.module_utils import legacy_secrets
from ansible_collections.mcp.k8s.plugins.module_utils.module import K8sModule


def argument_spec():
    return dict(
        name=dict(type='str', required=True, aliases=['service_account']),
        namespace=dict(type='str', default='default'),
        secret_name=dict(type='str', no_log=False),
        adopt=dict(type='bool', default=False),
        labels=dict(type='dict', default={}),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        wait_timeout=dict(type='raw', default=60),
    )


def ensure(module):
    spec = legacy_secrets.secret_spec(module.params)
    cluster = module.cluster()
    if module.params['state'] == 'present':
        changed, result, diff, warnings = legacy_secrets.ensure_secret_token(cluster, spec, check_mode=module.check_mode)
    else:
        changed, diff = legacy_secrets.remove_secret_token(cluster, spec, check_mode=module.check_mode)
        result, warnings = {}, []
    return dict(result, changed=changed), warnings, diff


def main():
    module = K8sModule(argument_spec())
    result, warnings, diff = module.run(ensure)
    module.exit(result, warnings=warnings, diff=diff)


if __name__ == '__main__':
    main()
