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
    keeps its uid (one more read). See the notes for where the cache lives.
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
        review (with O(validate=true)), API warnings and RV(mcp.k8s.sa_token#module:kubeconfig), a kubeconfig
        that uses the token and that the C(kubeconfig) option of C(kubernetes.core) modules accepts.
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
  renew_before:
    description:
      - A cached token is not returned once it expires within this time; a new one is minted.
        C(kubectl) duration syntax (V(5m), V(1h)) or seconds.
      - A value as long as O(duration) or longer disables reuse.
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
  - API server warnings (for example a duration shortened by the server) are shown as Ansible warnings.
  - Errors are the same sentences as those of M(mcp.k8s.sa_token). Requests answered with 429, 500, 502,
    503, 504 or a dropped connection are retried with backoff.
extends_documentation_fragment:
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

# output=dict returns the module's fields, among them a kubeconfig that uses the token.
- name: Mint a token for the deployer and keep its kubeconfig
  ansible.builtin.set_fact:
    deployer: "{{ lookup('mcp.k8s.sa_token', 'ci/deployer', output='dict') }}"
  no_log: true

- name: Act as the deployer with kubernetes.core
  kubernetes.core.k8s_info:
    kind: Pod
    namespace: ci
    kubeconfig: "{{ deployer.kubeconfig }}"
  register: pods

- name: Or give the kubeconfig to every kubernetes.core task of a block
  module_defaults:
    group/kubernetes.core.k8s:
      kubeconfig: "{{ deployer.kubeconfig }}"
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

import concurrent.futures

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display
from ansible.utils.unsafe_proxy import wrap_var
from ansible_collections.mcp.k8s.plugins.plugin_utils.token_cache import TokenCache

display = Display()


TOKEN_OPTIONS = ('namespace', 'audiences', 'duration', 'bound_object', 'validate')


class _Core:
    """The shared core, imported when the lookup runs (it imports kubernetes and PyJWT)."""

    def __init__(self):
        from ansible_collections.mcp.k8s.plugins.module_utils import connection, durations, errors, tokens
        if not connection.HAS_K8S:
            raise AnsibleLookupError(_missing_library('kubernetes'), orig_exc=connection.K8S_IMPORT_ERROR)
        if not tokens.HAS_JWT:
            raise AnsibleLookupError(_missing_library('PyJWT'), orig_exc=tokens.JWT_IMPORT_ERROR)
        self.connection = connection
        self.durations = durations
        self.tokens = tokens
        self.errors = errors
        self.error = errors.K8sTokenError


def _missing_library(name):
    import sys
    return ('The %s Python package is required by the mcp.k8s.sa_token lookup, which runs on the '
            'controller; install it in the Python that runs Ansible (%s), for example with pip install %s.'
            % (name, sys.executable, name))


def parse_term(term, namespace):
    """``name`` or ``namespace/name`` -> (namespace, name)."""
    text = str(term).strip() if term is not None else ''
    parts = text.split('/')
    if not text or len(parts) > 2 or not all(part.strip() for part in parts):
        raise AnsibleLookupError('The term %r is not a ServiceAccount; give "name" or "namespace/name".' % (term,))
    if len(parts) == 2:
        return parts[0].strip(), parts[1].strip()
    return namespace, text


def flatten(terms):
    """The terms with lists in them expanded (``query('mcp.k8s.sa_token', names)`` works like ``*names``)."""
    flat = []
    for term in terms:
        if isinstance(term, (list, tuple)):
            flat.extend(flatten(term))
        else:
            flat.append(term)
    return flat


def _run_cache():
    """The cache of this ansible-playbook run (see plugin_utils/token_cache.py)."""
    from ansible import constants as C
    return TokenCache(C.DEFAULT_LOCAL_TMP)


def clear_cache():
    """Forget every cached token of this run."""
    _run_cache().clear()


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self._reject_unknown(kwargs)
        self.set_options(var_options=variables, direct=kwargs)
        core = _Core()

        output = self.get_option('output')
        use_cache = self.get_option('cache')
        workers = max(1, min(int(self.get_option('workers') or 1), core.connection.MAX_CONNECTIONS))
        options = dict((name, self.get_option(name)) for name in TOKEN_OPTIONS)
        auth = dict((name, self.get_option(name)) for name in core.connection.AUTH_ARG_SPEC)

        try:
            renew = core.durations.renew_before_seconds(self.get_option('renew_before'), core.tokens.DEFAULT_RENEW_BEFORE)
            specs = []
            for term in flatten(terms):
                namespace, name = parse_term(term, options['namespace'])
                specs.append(core.tokens.TokenSpec(name, namespace, options['audiences'], options['duration'],
                                                   options['bound_object']))
            cluster = core.connection.get_api_client(auth) if specs else None
        except core.error as exc:
            raise AnsibleLookupError(exc.message)
        if not specs:
            return []
        for warning in cluster.warnings:
            display.warning(warning)

        results = tokens_for(core, cluster, specs, validate=bool(options['validate']), renew=renew,
                             use_cache=use_cache, workers=workers)
        return wrap_var([result['token'] if output == 'token' else dict(result) for result in results])

    def _reject_unknown(self, kwargs):
        """Fail on a keyword argument that is no option (a typo would otherwise be ignored)."""
        from ansible import constants as C
        definitions = C.config.get_configuration_definitions(self.plugin_type, self._load_name) or {}
        if not definitions:
            return
        known = set(definitions)
        for definition in definitions.values():
            known.update(definition.get('aliases') or ())
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise AnsibleLookupError('The mcp.k8s.sa_token lookup has no option %s; see ansible-doc -t lookup '
                                     'mcp.k8s.sa_token for its options.' % ', '.join('"%s"' % name for name in unknown))


def tokens_for(core, cluster, specs, validate=False, renew=300, use_cache=True, workers=8):
    """The result dict for each of ``specs``, in order: from the run's cache, or minted ``workers`` at a time.

    With the cache, the whole decision (read, mint what is missing, write) holds the cache's lock, so
    concurrent task workers asking for the same token mint it once.
    """
    if not use_cache:
        return _resolve(core, cluster, specs, validate, renew, workers, None)
    with _run_cache().open() as entries:
        return _resolve(core, cluster, specs, validate, renew, workers, entries)


def _resolve(core, cluster, specs, validate, renew, workers, entries):
    # keyed by cluster (API server URL, CA and the caller's configuration), never only by names
    keys = [(cluster.identity, spec.key(), validate) for spec in specs]
    wanted = {}
    for key, spec in zip(keys, specs):
        if key not in wanted:
            # a cached result goes back through ensure_token, which returns it only while the
            # ServiceAccount (and a bound object named without uid) is still the one it was minted
            # for: one read, no TokenRequest
            wanted[key] = (spec, entries.get(key, renew) if entries is not None else None)

    results = {}
    minted = _mint_all(core, cluster, wanted, validate, renew, workers, keys)
    for key, result in minted.items():
        results[key] = result
        if entries is not None and not result['reused']:
            entries.put(key, result)
        for warning in result.get('api_warnings') or ():
            display.warning('%s: %s' % (wanted[key][0].describe(), warning))
    return [results[key] for key in keys]


def _mint_all(core, cluster, wanted, validate, renew, workers, order):
    """Mint a token for each (spec, cached result or None) in ``wanted`` by key, ``workers`` at a time."""
    if not wanted:
        return {}

    def mint(item):
        spec, previous = item
        return core.tokens.ensure_token(cluster, spec, previous=previous, renew_before=renew, validate=validate)

    minted = {}
    if len(wanted) == 1 or workers == 1:
        for key, item in wanted.items():
            try:
                minted[key] = mint(item)
            except Exception as exc:  # pylint: disable=broad-except
                raise _lookup_error(core, item[0], exc)
        return minted

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=min(workers, len(wanted)),
                                                 thread_name_prefix='mcp-k8s-sa-token')
    futures = dict((pool.submit(mint, item), key) for key, item in wanted.items())
    try:
        dummy, pending = concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_EXCEPTION)
        for future in pending:
            future.cancel()     # the ones not started yet; those running finish
    finally:
        pool.shutdown(wait=True)
    # Terms start in order, so every term before a failed one has finished: report the first in order.
    failed = [(order.index(key), key, future.exception()) for future, key in futures.items()
              if not future.cancelled() and future.exception() is not None]
    if failed:
        failed.sort(key=lambda item: item[0])
        dummy, key, exc = failed[0]
        raise _lookup_error(core, wanted[key][0], exc)
    for future, key in futures.items():
        minted[key] = future.result()
    return minted


def _lookup_error(core, spec, exc):
    """An AnsibleLookupError for ``exc``, led by the ServiceAccount unless the sentence names it."""
    if isinstance(exc, core.error):
        message = exc.message
        if any(pattern % spec.name in message for pattern in _NAMES_ACCOUNT) or spec.describe() in message:
            return AnsibleLookupError(message)
        return AnsibleLookupError('Cannot mint a token for %s: %s' % (spec.describe(), message))
    return AnsibleLookupError('Failed to mint a token for %s: %s' % (spec.describe(), core.errors.redact(exc)),
                              orig_exc=exc)


# How the core's sentences name the ServiceAccount they are about.
_NAMES_ACCOUNT = ('ServiceAccount "%s"', ', not "%s";')
