# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The work of one call of the mcp.k8s.sa_token lookup: a token for each term.

:func:`lookup` takes the terms and the lookup's options and returns one result dict per term
(as ``serviceaccounts.ensure_token`` makes it), or raises ``AnsibleLookupError`` with one sentence. This
module only orchestrates; the decision whether a token may be reused is ``serviceaccounts.ensure_token``'s:

- identical terms are one request; each distinct one is offered the token of the option
  ``token`` and the run's cached result (``token_cache.py``), else minted, at most ``workers`` at
  a time over one client; the option's token is checked against the cluster's keys, which the
  run's cache keeps (:class:`RunKeys`: read once per run and cluster);
- the run's cache is held locked from reading to writing, so forks asking for the same token
  mint it once;
- a token minted or confirmed (its ServiceAccount read) in this process is not read again in this
  process: each task runs in its own worker process, and within one task nothing changes the
  cluster between two reads of a variable (see :func:`_confirmed`);
- the first failing term, in the order of the terms, is reported; its error carries the
  ServiceAccount it names (``K8sTokenError.account``), so the sentence is led by the account
  only when it does not name it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import concurrent.futures
import os
import sys
import threading

from ansible.errors import AnsibleLookupError
from ansible.utils.display import Display

from ansible_collections.mcp.k8s.plugins.module_utils import (
    connection, durations, errors, handoff, jwks, kubeconfig, serviceaccounts, tokens,
)
from ansible_collections.mcp.k8s.plugins.plugin_utils.token_cache import TokenCache

display = Display()

TOKEN_OPTIONS = ('namespace', 'audiences', 'duration', 'bound_object', 'validate')


def lookup(terms, options):
    """The result dict for each term, in order; ``options`` are the lookup's options (a dict)."""
    check_libraries()
    try:
        renew = durations.renew_before_seconds(options['renew_before'], tokens.DEFAULT_RENEW_BEFORE)
        specs = [spec_for(term, options) for term in flatten(terms)]
        if not specs:
            return []
        renewal = durations.renewal_warning(options.get('duration'), options['renew_before'], tokens.DEFAULT_RENEW_BEFORE)
        cluster = client(options)
    except errors.K8sTokenError as exc:
        raise AnsibleLookupError(exc.message)
    for warning in cluster.warnings + ([renewal] if renewal else []):
        display.warning(warning)
    workers = max(1, min(int(options.get('workers') or 1), connection.MAX_CONNECTIONS))
    return tokens_for(cluster, specs, validate=bool(options.get('validate')), renew=renew,
                      use_cache=options.get('cache', True), workers=workers, token=options.get('token'))


def with_connection(results, options):
    """``results`` (dicts) each with ``connection``: the kubernetes.core connection values of
    ``handoff.connection_values`` for its token (a CA kept in a file is a file on the controller)."""
    cluster = client(options)
    shown = set()
    out = []
    for result in results:
        values, problem = handoff.connection_values(cluster, result['token'])
        if problem and problem not in shown:
            shown.add(problem)
            display.warning(problem)
        out.append(dict(result, connection=values))
    return out


def client(options):
    """The API client for the connection options among ``options``."""
    return connection.get_cluster(dict((name, options.get(name)) for name in connection.AUTH_ARG_SPEC))


def check_libraries():
    k8s_import_error = connection.kubernetes_import_error()
    if k8s_import_error is not None:
        raise AnsibleLookupError(missing_library('kubernetes'), orig_exc=k8s_import_error)
    if not serviceaccounts.HAS_JWT:
        raise AnsibleLookupError(missing_library('PyJWT'), orig_exc=serviceaccounts.JWT_IMPORT_ERROR)


def missing_library(name):
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


def spec_for(term, options):
    """The :class:`tokens.TokenSpec` of one term."""
    namespace, name = parse_term(term, options.get('namespace'))
    return tokens.TokenSpec(name, namespace, options.get('audiences'), options.get('duration'),
                            options.get('bound_object'))


def flatten(terms):
    """The terms with lists in them expanded (``query('mcp.k8s.sa_token', names)`` works like ``*names``)."""
    flat = []
    for term in terms:
        if isinstance(term, (list, tuple)):
            flat.extend(flatten(term))
        else:
            flat.append(term)
    return flat


def run_cache():
    """The cache of this ansible-playbook run (see token_cache.py)."""
    from ansible import constants as C
    return TokenCache(C.DEFAULT_LOCAL_TMP)


def clear_cache():
    """Forget every cached token of this run (and what this process confirmed)."""
    run_cache().clear()
    forget_confirmed()


# ---------------------------------------------------------------- tokens confirmed in this process

_confirmed_lock = threading.Lock()
_confirmed_tokens = {'pid': None, 'tokens': set()}


def _confirmed(cluster):
    """The tokens minted or confirmed on ``cluster`` by this process (never by the process it was
    forked from: a task's worker starts with none, so the first reuse in every task reads the
    ServiceAccount again and sees one deleted and recreated since)."""
    with _confirmed_lock:
        if _confirmed_tokens['pid'] != os.getpid():
            _confirmed_tokens.update(pid=os.getpid(), tokens=set())
        return frozenset(token for identity, token in _confirmed_tokens['tokens'] if identity == cluster.identity)


def _remember(cluster, token):
    with _confirmed_lock:
        if _confirmed_tokens['pid'] == os.getpid():
            _confirmed_tokens['tokens'].add((cluster.identity, token))


def forget_confirmed():
    with _confirmed_lock:
        _confirmed_tokens.update(pid=None, tokens=set())


# ---------------------------------------------------------------- many tokens at once


def tokens_for(cluster, specs, validate=False, renew=300, use_cache=True, workers=8, token=None):
    """The result dict for each of ``specs``, in order: ``token`` or a cached token when it still
    fits, else a new one, ``workers`` at a time.

    With the cache, the whole decision (read, mint what is missing, write) holds the cache's lock, so
    concurrent task workers asking for the same token mint it once.
    """
    if not use_cache:
        return _resolve(cluster, specs, validate, renew, workers, None, token)
    with run_cache().open() as entries:
        return _resolve(cluster, specs, validate, renew, workers, entries, token)


def _resolve(cluster, specs, validate, renew, workers, entries, token):
    # keyed by cluster (API server URL, CA and the caller's configuration), never only by names
    keys = [(cluster.identity, spec.key(), validate) for spec in specs]
    wanted = {}
    for key, spec in zip(keys, specs):
        if key not in wanted:
            wanted[key] = (spec, entries.get(key, renew) if entries is not None else None)
    confirmed = _confirmed(cluster)
    key_store = RunKeys(entries) if entries is not None else jwks.PROCESS_KEYS

    def ensure(spec, previous):
        return serviceaccounts.ensure_token(cluster, spec, token=token, previous=previous, renew_before=renew,
                                            validate=validate, confirmed=confirmed, source='given in the option token',
                                            keys=key_store, warn=display.warning)

    results = _run_all(ensure, wanted, workers, keys, cluster)
    for key, result in results.items():
        _remember(cluster, result['token'])
        if entries is not None and not result['reused']:
            entries.put(key, result)
        for warning in result.get('api_warnings') or ():
            display.warning('%s: %s' % (wanted[key][0].describe(), warning))
    return [results[key] for key in keys]


class RunKeys:
    """What a cluster publishes (its keys, issuer), kept in the run's cache (``Entries``): read once
    per run and cluster, whichever task worker reads it first (a :class:`jwks.KeyStore`)."""

    def __init__(self, entries):
        self.entries = entries

    def get(self, identity):
        return self.entries.recall(('cluster', identity))

    def put(self, identity, entry):
        self.entries.keep(('cluster', identity), entry)


def _run_all(ensure, wanted, workers, order, cluster=None):
    """``ensure(spec, previous)`` for each (spec, previous) in ``wanted`` by key, ``workers`` at a time."""
    if len(wanted) == 1 or workers == 1:
        results = {}
        for key, (spec, previous) in wanted.items():
            try:
                results[key] = ensure(spec, previous)
            except Exception as exc:  # pylint: disable=broad-except
                raise lookup_error(spec, exc, cluster)
        return results

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=min(workers, len(wanted)),
                                                 thread_name_prefix='mcp-k8s-sa-token')
    futures = dict((pool.submit(ensure, *item), key) for key, item in wanted.items())
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
        raise lookup_error(wanted[key][0], exc, cluster)
    return dict((key, future.result()) for future, key in futures.items())


# Answers that look the same from a cluster the caller did not mean to ask: the lookup names the cluster.
WRONG_CLUSTER_STATUSES = (403, 404)


def lookup_error(spec, exc, cluster=None):
    """An AnsibleLookupError for ``exc``, led by the ServiceAccount unless the sentence names it; a not-found
    or forbidden answer of ``cluster`` is led by the ServiceAccount and the cluster asked (URL and context)."""
    if isinstance(exc, errors.K8sTokenError):
        if cluster is not None and exc.status in WRONG_CLUSTER_STATUSES:
            asked = kubeconfig.asked_cluster(cluster.server, cluster.options)
            if exc.account == spec.account:
                return AnsibleLookupError('%s answered: %s' % (asked[0].upper() + asked[1:], exc.message))
            return AnsibleLookupError('Cannot mint a token for %s from %s: %s' % (spec.describe(), asked, exc.message))
        if exc.account == spec.account:
            return AnsibleLookupError(exc.message)
        return AnsibleLookupError('Cannot mint a token for %s: %s' % (spec.describe(), exc.message))
    return AnsibleLookupError('Failed to mint a token for %s: %s' % (spec.describe(), errors.redact(exc)),
                              orig_exc=exc)
