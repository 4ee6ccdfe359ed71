# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: sa_token
author:
  - mcp.k8s contributors (@mcp-k8s)
version_added: 0.1.0
short_description: Mint Kubernetes ServiceAccount tokens through the TokenRequest API inside templates
description:
  - Mints a short-lived token for each ServiceAccount named in the terms, as C(kubectl create token)
    and M(mcp.k8s.sa_token) do, and returns the tokens (or, with O(output=dict), everything the module
    returns about each token, including a ready kubeconfig).
  - C(lookup) returns the token of one term; C(query) returns a list in the order of the terms.
  - Many terms are minted concurrently over one client and connection pool, at most O(workers) at a
    time. When one fails, the lookup fails with a message that names the ServiceAccount.
  - Tokens are cached for the rest of the C(ansible-playbook) run, across tasks, hosts and forks. An
    identical request (same cluster, same caller, ServiceAccount, namespace, audiences, duration, bound
    object and O(validate)) returns the cached token while it stays valid for longer than
    O(renew_before) and its ServiceAccount is still the one it was minted for (one read of the
    ServiceAccount compares its uid, no TokenRequest; with O(validate=true) the API server reviews it
    again); a cached token bound to an object named without a uid is returned only while that object
    keeps its uid (one more read). Those reads are made once per task and token (each task runs in a
    worker process of its own), not on every read of a variable or loop item, so a task whose own loop
    deletes and recreates the ServiceAccount gets the earlier token back; the next task notices. See the
    notes for where the cache lives.
  - O(token) carries a token across runs, for example from a file rendered by an earlier run, so that
    the file stays unchanged while its token is still valid.
  - Results are marked unsafe, so a token is never templated again.
  - Needs C(create) on C(serviceaccounts/token) in the ServiceAccount's namespace.
requirements:
  - kubernetes >= 31.0.0 (on the controller)
  - PyJWT >= 2.6.0 (on the controller)
options:
  _terms:
    description:
      - ServiceAccounts to mint tokens for, each V(name) (in O(namespace)) or V(namespace/name).
      - Lists among the terms are expanded, so C(query('mcp.k8s.sa_token', names)) and
        C(query('mcp.k8s.sa_token', *names)) are the same.
    type: list
    elements: str
    required: true
  output:
    description:
      - V(token) returns each token as a string.
      - V(dict) returns for each token the dict M(mcp.k8s.sa_token) returns (without C(changed)), with the
        token, its expiry, the granted duration, audiences, claims, ServiceAccount, bound object,
        review (with O(validate=true)), API warnings, RV(mcp.k8s.sa_token#module:kubeconfig) (for kubectl and
        files) and RV(mcp.k8s.sa_token#module:connection) with C(host), C(api_key), C(validate_certs) and
        C(ca_cert) (a file on the controller) for C(module_defaults) of C(kubernetes.core) modules, which
        mask only the token of these (a kubeconfig dict given to them has every string in the task's
        result masked).
    type: str
    choices: [token, dict]
    default: token
  cache:
    description:
      - Reuse a token minted earlier in the same C(ansible-playbook) run for an identical request while
        it stays valid for longer than O(renew_before). V(false) mints a new token on every call and keeps
        nothing.
    type: bool
    default: true
  token:
    description:
      - A token from an earlier run, as the O(mcp.k8s.sa_token#module:token) option of the module takes it.
        When it is for the term's ServiceAccount, namespace, audiences and bound object, stays valid for
        longer than O(renew_before) and was issued by this cluster for the ServiceAccount as it exists now
        (one read of the ServiceAccount, never a TokenRequest), it is returned as it is; otherwise a new
        token is minted (or taken from the run's cache).
      - Before that, it must be signed by one of the keys the cluster publishes, with its issuer (read once per
        run and cluster, kept in the run's cache; where they cannot be read, a TokenReview or a SelfSubjectReview
        made with the token decides, as for the module). A token that fails is replaced with a warning.
      - With several terms, it is returned for the term it fits; the other terms get other tokens.
      - An empty string or a string that is not a JWT counts as no token, so a value read from a file
        that does not exist yet can be passed as it is.
      - The lookup keeps no token anywhere for this; the token comes from where the playbook put it,
        for example the file that a C(template) task rendered in the last run (see the examples).
    type: str
  renew_before:
    description:
      - A cached token, or O(token), is not returned once it expires within this time; a new one is minted.
        C(kubectl) duration syntax (V(5m), V(1h)) or seconds.
      - Must be shorter than O(duration). A value as long as O(duration) or longer is refused (no token would
        ever be reused), and one that leaves less than 5 minutes between them gets a warning. To mint a new
        token on every call, set O(cache=false).
    type: raw
    default: 5m
  workers:
    description:
      - How many tokens are minted at the same time when the terms name several ServiceAccounts.
        At most 16 (the size of the connection pool).
    type: int
    default: 8
notes:
  - B(Lazy templating.) Ansible templates a variable each time it is read, so a lookup in C(vars),
    C(module_defaults) or a role default runs again on every read, in every task and for every host. The
    run's cache turns all those reads into one TokenRequest for as long as the token stays valid for
    longer than O(renew_before). With O(cache=false) every read mints a new token; then mint once with
    C(ansible.builtin.set_fact) (or M(mcp.k8s.sa_token) and C(register)) and read the fact.
  - B(Where the cache lives.) Ansible runs each task in a worker process forked from the controller, so
    the cache is a file, mode 0600, in the run's private temporary directory (C(ansible-local-*) under
    C(ANSIBLE_LOCAL_TEMP), mode 0700, which Ansible also uses for its module cache and deletes when the
    run ends). Every use holds a lock, so hosts templated at the same time (C(forks)) mint an identical
    token once. Use O(cache=false) where no token may touch the controller's disk.
  - B(A killed run.) C(ansible-playbook) killed by SIGTERM (a cancelled CI job) or SIGKILL leaves its
    temporary directory behind. The cache file names the run's controller process; a small watcher
    process, started with the file in a session of its own, deletes it as soon as that process has
    ended, a file whose run is gone is never read, and the next run's lookup deletes what a killed
    watcher left in the other C(ansible-local-*) directories.
  - B(Check mode.) Lookups run on the controller while the task is templated, so the lookup mints tokens
    in check mode too (tokens are stateless; nothing in the cluster changes). M(mcp.k8s.sa_token) mints
    nothing in check mode.
  - The tokens (and the kubeconfig holding them) are secrets; set C(no_log) on tasks that handle them.
    A C(template) or C(copy) task that writes a token prints it in its diff with C(--diff) (also with
    C(--check --diff)) unless the task has C(no_log).
  - API server warnings (for example a duration shortened by the server) are shown as Ansible warnings.
  - Errors are the same sentences as those of M(mcp.k8s.sa_token). Requests answered with 429, 500, 502,
    503, 504 or a dropped connection are retried with backoff.
extends_documentation_fragment:
  - mcp.k8s.connection
  - mcp.k8s.connection.plugins
  - mcp.k8s.token_request
seealso:
  - module: mcp.k8s.sa_token
  - name: TokenRequest API
    description: The API this lookup calls.
    link: https://kubernetes.io/docs/reference/kubernetes-api/authentication-resources/token-request-v1/
'''

EXAMPLES = r'''
# Mint once and keep the token in a fact: every later task reads the same token.
- name: Mint a token for mcp-k8s-server, valid for one hour
  ansible.builtin.set_fact:
    mcp_token: "{{ lookup('mcp.k8s.sa_token', 'mcp-k8s-server', namespace='mcp', duration='1h') }}"
  no_log: true

- name: Call a service with it
  ansible.builtin.uri:
    url: https://mcp.example.com/mcp
    headers:
      Authorization: "Bearer {{ mcp_token }}"
  no_log: true

# Pitfall: in vars the lookup runs on every read of the variable. Reads within one task share one
# token through the lookup's cache, but each task mints again. Prefer set_fact as above.
- name: One token for all loop items of this task (one TokenRequest)
  ansible.builtin.uri:
    url: "https://mcp.example.com/items/{{ item }}"
    headers:
      Authorization: "Bearer {{ lazy_token }}"
  loop: "{{ range(50) | list }}"
  vars:
    lazy_token: "{{ lookup('mcp.k8s.sa_token', 'mcp/mcp-k8s-server') }}"
  no_log: true

# Many ServiceAccounts at once: minted concurrently, returned in the order of the terms.
- name: Tokens for three ServiceAccounts in different namespaces
  ansible.builtin.set_fact:
    tokens: "{{ query('mcp.k8s.sa_token', 'mcp/mcp-k8s-server', 'ci/deployer', 'reader',
                      namespace='tools', audiences=['https://mcp.example.com'], duration='30m') }}"
  no_log: true

# output=dict returns the module's fields, among them the connection values of the token.
- name: Mint a token for the deployer and keep its connection values
  ansible.builtin.set_fact:
    deployer: "{{ lookup('mcp.k8s.sa_token', 'ci/deployer', output='dict') }}"
  no_log: true

- name: Act as the deployer with kubernetes.core
  kubernetes.core.k8s_info:
    kind: Pod
    namespace: ci
    host: "{{ deployer.connection.host }}"
    api_key: "{{ deployer.connection.api_key }}"
    ca_cert: "{{ deployer.connection.ca_cert | default(omit) }}"
    validate_certs: "{{ deployer.connection.validate_certs }}"
  register: pods

- name: Or give them to every kubernetes.core task of a block
  module_defaults:
    group/kubernetes.core.k8s: "{{ deployer.connection }}"
  block:
    - name: Create a ConfigMap as the deployer
      kubernetes.core.k8s:
        state: present
        definition:
          apiVersion: v1
          kind: ConfigMap
          metadata: {name: settings, namespace: ci}
          data: {level: info}

    - name: Show when the deployer's token expires
      ansible.builtin.debug:
        msg: "{{ deployer.service_account.name }} until {{ deployer.expiration_timestamp }}"

- name: Connection options as keyword arguments (or mcp_k8s_* variables, K8S_AUTH_* environment variables, ansible.cfg)
  ansible.builtin.set_fact:
    prod_token: "{{ lookup('mcp.k8s.sa_token', 'mcp/mcp-k8s-server', kubeconfig='~/.kube/prod', context='admin@prod',
                           bound_object={'kind': 'Secret', 'name': 'mcp-k8s-server-anchor'}) }}"
  no_log: true

- name: A fresh token on every read (no cache); lookups mint in check mode too
  ansible.builtin.set_fact:
    fresh_token: "{{ lookup('mcp.k8s.sa_token', 'mcp-k8s-server', namespace='mcp', cache=false) }}"
  no_log: true

# A rendered file that stays unchanged while its token is valid: the token in the file that the last
# run rendered is given back as token=..., so the template renders the same text (changed=false, no
# handler) until the token is within renew_before of its expiry or no longer valid. On the first run
# there is no file: errors='ignore' returns nothing, and an empty token mints one.
# mcp-client.yml.j2 (mcp_client_config is its path, here on the controller; for a file on a managed
# node, read it with ansible.builtin.slurp instead of the file lookup):
#   server: https://mcp.example.com/mcp
#   token: {{ lookup('mcp.k8s.sa_token', 'mcp/mcp-k8s-server', duration='24h', renew_before='2h', token=previous_token) }}
# no_log keeps the token out of the output; without it, --diff (also --check --diff) prints it.
- name: Render the client configuration with a token that is kept while it is valid
  ansible.builtin.template:
    src: mcp-client.yml.j2
    dest: "{{ mcp_client_config }}"
    mode: "0600"
  vars:
    previous_token: "{{ (lookup('ansible.builtin.file', mcp_client_config, errors='ignore') | from_yaml or {}).token | default('') }}"
  no_log: true
  notify: Restart the MCP client

- name: Reuse a cached token only while it has more than 30 minutes left
  ansible.builtin.debug:
    msg: "{{ lookup('mcp.k8s.sa_token', 'mcp/mcp-k8s-server', duration='2h', renew_before='30m') | length }}"
'''

RETURN = r'''
_raw:
  description:
    - With O(output=token), the tokens (JWTs), one per term in the order of the terms.
    - With O(output=dict), one dict per term with the fields M(mcp.k8s.sa_token) returns; RV(mcp.k8s.sa_token#module:reused) is
      V(true) when the token came from the lookup's cache.
  type: list
  elements: raw
'''

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.unsafe_proxy import wrap_var


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self._reject_unknown(kwargs)
        self.set_options(var_options=self._option_variables(variables), direct=kwargs)
        # imported here, when the lookup runs: it imports the kubernetes client and PyJWT
        from ansible_collections.mcp.k8s.plugins.plugin_utils import token_batch

        results = token_batch.lookup(terms, self.get_options())
        if self.get_option('output') == 'token':
            return wrap_var([result['token'] for result in results])
        return wrap_var(token_batch.with_connection(results, self.get_options()))

    def _option_variables(self, variables):
        """The variables this lookup reads its options from (mcp_k8s_*), templated as ansible-core templates
        the variables of its own plugins' options: a host variable such as ``mcp_k8s_kubeconfig: "{{ kc_dir
        }}/kubeconfig"`` reaches the lookup as the template's text otherwise. Other variables are left alone."""
        if not variables:
            return variables
        names = set()
        for definition in self._definitions().values():
            names.update(entry['name'] for entry in definition.get('vars') or () if entry.get('name'))
        return dict((name, self._templar.template(value)) for name, value in variables.items() if name in names)

    def _definitions(self):
        from ansible import constants as C
        return C.config.get_configuration_definitions(self.plugin_type, self._load_name) or {}

    def _reject_unknown(self, kwargs):
        """Fail on a keyword argument that is no option (a typo would otherwise be ignored)."""
        definitions = self._definitions()
        if not definitions:
            return
        known = set(definitions)
        for definition in definitions.values():
            known.update(definition.get('aliases') or ())
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise AnsibleLookupError('The mcp.k8s.sa_token lookup has no option %s; see ansible-doc -t lookup '
                                     'mcp.k8s.sa_token for its options.' % ', '.join('"%s"' % name for name in unknown))
