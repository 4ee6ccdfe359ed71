#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: server_files
short_description: Write the kubeconfig, rotating credential file and config an MCP server runs on
version_added: 0.1.0
description:
  - Writes, for a ServiceAccount token minted by M(mcp.k8s.sa_token), the files a Kubernetes MCP server
    runs on, each with mode C(0600), atomically (a temporary file in the same folder, then a rename). They are the following.
  - The account's kubeconfig (O(kubeconfig_path)). With O(kubeconfig_credential=exec) its user is a
    C(client.authentication.k8s.io/v1) C(exec) credential plugin, O(exec_command) with the credential
    file as its argument, and the token goes into that credential file (O(credential_path)) as an
    C(ExecCredential) with C(status.token) and C(status.expirationTimestamp). The kubernetes Python client
    and client-go run the plugin again once that timestamp has passed, so rewriting the credential file
    with a new token (run this module again before the token expires) rotates the credential of a
    running server without a restart.
  - The config file of the upstream C(mcp-k8s-server) (O(config_path)), pointing at that kubeconfig.
  - With O(kubeconfig_credential=token) the kubeconfig holds the token itself (a client reads it once,
    restart the server after a new token) and a credential file written earlier is removed.
  - With O(state=absent) the files are removed.
  - A file is this collection's only when it is exactly what it writes for this account (O(name), O(namespace)); so
    a kubeconfig with other users or contexts (such as C(~/.kube/config)), another tool's C(ExecCredential), a file
    written for another account or edited by hand is not. Such a file is never changed or removed; the module
    fails instead, unless O(force=true) (with O(state=absent), it leaves the file alone and RV(files) says why).
  - Each file records the cluster it serves (the API server URL and the SHA-256 of its CA certificates) and the
    account. A run against another cluster (another URL, or a CA with no certificate in common) fails with a sentence
    naming both, unless O(move_cluster=true); with O(state=absent) such files are kept, and RV(files) says why.
    Files written by version 0.1.0 (no record) are recognised in the form it wrote; their cluster is the one of the
    kubeconfig beside them, and the next write to that cluster adds the record.
  - Two of O(kubeconfig_path), O(credential_path) and O(config_path) naming the same file (also through a symbolic
    or hard link) are refused before anything is written.
  - No request is sent to the API server. The kubeconfig's cluster entry (server, CA) is O(cluster); without
    it, it comes from the connection options, which then need the kubernetes client (with O(state=absent) and in
    check mode, only when a file records a cluster to compare with; in check mode without the client, nothing is
    compared and the kubeconfig counts as changed, and such a run only tells whether a file is in the way).
  - M(mcp.k8s.sa_token) and M(mcp.k8s.sa_access) read the token back from these files (their O(mcp.k8s.sa_token#module:token_file)
    and O(mcp.k8s.sa_access#module:verify_token_file)), so a later run reuses it while it stays valid.
author:
  - mcp.k8s contributors (@mcp-k8s)
requirements:
  - kubernetes >= 31.0.0 (only without O(cluster))
extends_documentation_fragment:
  - mcp.k8s.connection
  - mcp.k8s.option_names
  - ansible.builtin.action_common_attributes
  - mcp.k8s.attributes
attributes:
  check_mode:
    support: full
    details:
      - Nothing is written; C(changed) says whether a file would change.
  diff_mode:
    support: full
    details:
      - One diff per file, with every token replaced by C((token hidden)).
options:
  state:
    description:
      - V(present) writes the files, V(absent) removes those this collection wrote.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - The ServiceAccount the token belongs to; names the kubeconfig's user (C(system:serviceaccount:NS:NAME)).
      - Named O(name) as in the other modules of this collection; O(service_account) is the name it had first.
    type: str
    required: true
    aliases: [service_account]
  namespace:
    description:
      - Namespace of the ServiceAccount, also the namespace of the kubeconfig's context.
    type: str
    default: default
  token:
    description:
      - The token (RV(mcp.k8s.sa_token#module:token)). Needed with O(state=present) and O(kubeconfig_credential=exec).
    type: str
  expiration_timestamp:
    description:
      - When the token expires, RFC 3339 (RV(mcp.k8s.sa_token#module:expiration_timestamp)). The clients run
        the plugin again after it.
    type: str
  kubeconfig_path:
    description:
      - Where the account's kubeconfig goes. Empty means no kubeconfig (and no credential file).
    type: path
  kubeconfig_credential:
    description:
      - V(exec) (rotation without restart, see above) or V(token) (the token inside the kubeconfig, read
        once when a client loads it).
    type: str
    choices: [exec, token]
    default: exec
  credential_path:
    description:
      - The credential file the C(exec) plugin prints. Defaults to O(kubeconfig_path) followed by C(.credential.json).
    type: path
  exec_command:
    description:
      - The plugin's command; it gets the credential file's path as its only argument and must print the
        file. An absolute path keeps C(PATH) out of it.
    type: str
    default: /bin/cat
  cluster:
    description:
      - The kubeconfig cluster entry the kubeconfig points at, as in RV(mcp.k8s.sa_token#module:kubeconfig)
        (C(minted.kubeconfig.clusters[0].cluster)), with C(server) and C(certificate-authority-data) (or
        C(insecure-skip-tls-verify)). Without it the connection options give it.
    type: dict
  force:
    description:
      - Replace a file at one of the paths although this collection did not write it (the module refuses
        otherwise). Files are never removed unless this collection wrote them.
    type: bool
    default: false
  move_cluster:
    description:
      - Rewrite files of this collection that record another cluster than this run's, so that they point at this
        one (the account, its rights and its tokens on the other cluster are left as they are; deprovision them there).
        Without it such a run fails, naming both clusters. It never makes O(state=absent) remove them.
    type: bool
    default: false
  config_path:
    description:
      - Where the upstream C(mcp-k8s-server) config file goes (give it with C(--config) or C(MCP_K8S_SERVER_CONFIG)).
        Needs O(kubeconfig_path). Empty means none.
    type: path
  token_path:
    description:
      - A file that holds only the bare token (mode 0600), for tools that read a token file. It is written only
        when it is missing or is a regular file (not a symbolic link) holding only a JWT whose C(sub) is this
        ServiceAccount (what this option, or the playbook C(mcp.k8s.token), wrote before); any other file is
        refused with one sentence, before any file is written, and O(force) does not change that.
        With O(state=absent) such a file is removed. Empty means none.
    type: path
  server:
    description:
      - The settings of that config file.
    type: dict
    default: {}
    suboptions:
      host:
        description:
          - Address the server listens on. The server has no authentication of its own, so keep it on loopback
            unless something in front of it authenticates callers.
        type: str
        default: 127.0.0.1
      port:
        description: Port of the SSE transport.
        type: int
        default: 8000
      transport:
        description: V(sse) (HTTP) or V(stdio).
        type: str
        choices: [sse, stdio]
        default: sse
      namespace:
        description: The namespace the server's tools use when a call names none.
        type: str
        default: default
      monitoring:
        description:
          - The C(monitoring) section (C(enabled), C(interval), C(resources), C(metrics)) as upstream reads it;
            empty leaves upstream's defaults.
        type: dict
        default: {}
'''

EXAMPLES = r'''
- name: Mint a token for the server
  mcp.k8s.sa_token:
    name: mcp-k8s-server
    namespace: mcp
    duration: 1h
    renew_before: 20m
  register: minted
  no_log: true

- name: Write its kubeconfig, the rotating credential file and the server config
  mcp.k8s.server_files:
    name: mcp-k8s-server
    namespace: mcp
    token: "{{ minted.token }}"
    expiration_timestamp: "{{ minted.expiration_timestamp }}"
    cluster: "{{ minted.kubeconfig.clusters[0].cluster }}"
    kubeconfig_path: /etc/mcp-k8s-server/kubeconfig
    config_path: /etc/mcp-k8s-server/config.yaml
    server:
      port: 8000
'''

RETURN = r'''
files:
  description:
    - Each file handled, with its path, whether it changed, and V(present) or V(absent).
    - With O(state=absent), a file that exists and is kept has a C(reason) (not written by mcp.k8s, written for
      another account, or for another cluster).
  returned: always
  type: list
  elements: dict
  sample: [{path: /etc/mcp-k8s-server/kubeconfig, changed: false, state: present, file: kubeconfig}]
kubeconfig:
  description: The kubeconfig written with O(kubeconfig_credential=exec) (it holds no token); null otherwise.
  returned: always
  type: dict
credential_path:
  description: The credential file with O(kubeconfig_credential=exec); null otherwise.
  returned: always
  type: str
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

from ansible_collections.mcp.k8s.plugins.module_utils import connection, handoff, option_names, server_files
from ansible_collections.mcp.k8s.plugins.module_utils.module import K8sModule

SERVER_SPEC = dict(
    host=dict(type='str', default='127.0.0.1'),
    port=dict(type='int', default=8000),
    transport=dict(type='str', choices=['sse', 'stdio'], default='sse'),
    namespace=dict(type='str', default='default'),
    monitoring=dict(type='dict', default={}),
)


def argument_spec():
    return dict(
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        name=dict(type='str', required=True, aliases=['service_account']),
        namespace=dict(type='str', default='default'),
        token=dict(type='str', no_log=True),
        expiration_timestamp=dict(type='str'),
        kubeconfig_path=dict(type='path'),
        kubeconfig_credential=dict(type='str', choices=list(server_files.CREDENTIAL_MODES), default='exec'),
        credential_path=dict(type='path'),
        exec_command=dict(type='str', default='/bin/cat'),
        config_path=dict(type='path'),
        token_path=dict(type='path', no_log=False),
        cluster=dict(type='dict'),
        force=dict(type='bool', default=False),
        move_cluster=dict(type='bool', default=False),
        server=dict(type='dict', default={}, options=SERVER_SPEC),
        **option_names.argument_spec()
    )


def this_cluster(module):
    """The kubeconfig cluster entry of this run: the cluster option, else the connection's (no
    request is sent); None in check mode without the kubernetes client."""
    if module.params['cluster']:
        return module.params['cluster']
    if module.check_mode and connection.kubernetes_import_error() is not None:
        return None
    module.require('kubernetes')
    return handoff.kubeconfig_cluster(module.cluster())


def write(module):
    params = module.params
    username = 'system:serviceaccount:%s:%s' % (params['namespace'], params['name'])
    server_files.check_token_file(params, username)   # refused before any file is written
    changes, written = server_files.plan(params, lambda: this_cluster(module), username, check_mode=module.check_mode)
    changed = server_files.ensure(changes, check_mode=module.check_mode)
    token_file = server_files.ensure_token_file(params, username, check_mode=module.check_mode)
    result = {
        'changed': changed or bool(token_file and token_file['changed']),
        'files': [dict(change.report(), file=change.label) for change in changes] + ([token_file] if token_file else []),
        'kubeconfig': written,
        'credential_path': next((c.path for c in changes if c.label == 'credential' and c.wanted), None),
    }
    return result, [change.diff() for change in changes if change.changed]


def main():
    module = K8sModule(argument_spec(), requires=('PyYAML',))
    result, diff = module.run(write)
    module.exit(result, diff=diff)


if __name__ == '__main__':
    main()
