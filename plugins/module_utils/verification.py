# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ``sa_access`` does with its options: converge (or not), then verify the account's rights
with the right token, or say why nothing was verified.

The verification strategy, one branch per option:

- ``verify_token``: asked with it; a token the API server rejects (401) is reported in
  ``verify_skipped`` (fatal with ``verify_only``), or replaced by a minted one with ``verify_mint``;
- ``verify_token_file``: its token when the collection wrote it for this account; a file that holds
  none skips the verification with the reason (fatal with ``verify_only``), unless ``verify_mint``;
- ``verify_mint``: a 10 minute token of the account, minted for the checks and forgotten;
- ``verify_only``: nothing changed; without a token, asked as the connection's own user, which must
  be the account;
- check mode: nothing minted and nothing verified, but with ``verify_only``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mcp.k8s.plugins.module_utils import access, rbac_checks, reviews, server_files, serviceaccounts, tokens
from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError, register_secret

# the shortest token kube-apiserver grants: the one minted for the checks lives no longer
VERIFY_TOKEN_SECONDS = 600

NOTHING_TO_VERIFY = 'Nothing to verify: give checks, or rules or cluster_role to derive them from.'


def verifying(params):
    """Whether the options ask for a verification of the account's rights."""
    return bool(params.get('verify_only') or params.get('verify_token') or params.get('verify_token_file')
                or params.get('verify_mint'))


def check_verifiable(params, spec):
    """One sentence, before any request, when a verification is asked for and there is nothing to
    ask (no checks, and no rules or cluster_role to derive them from)."""
    if (verifying(params) and spec['state'] == 'present' and not spec['cluster_role']
            and not rbac_checks.expand_checks(spec['rules'], spec['scope'], spec['namespaces'], params.get('checks'))):
        raise K8sTokenError(NOTHING_TO_VERIFY)


def stored_token(path, username):
    """The token kept in ``path`` by this collection when it is one of ``username``, else None."""
    token = server_files.stored_token(path)
    if token:
        register_secret(token)
        try:
            if serviceaccounts.decode_claims(token).get('sub') == username:
                return token
        except K8sTokenError:
            pass
    return None


def failure(params, result):
    """The sentence the task fails with when the verification found answers other than expected
    (the result holds the table), else None."""
    verification = result.get('verification')
    if not verification or not verification['mismatches']:
        return None
    return ('RBAC verification failed for %s (scope %s): %s; the verification table lists every check.'
            % (result['service_account']['username'], params.get('scope') or 'cluster', verification['summary']))


def _ask(params, asking, result, beyond):
    """The verification table of ``result['checks']`` and of the rights beyond the grant, asked as the
    caller of ``asking``; the latter also as ``result['beyond_grant']``."""
    verification = rbac_checks.verify(asking, result['checks'], retries=params['verify_retries'],
                                      delay=params['verify_delay'], escalations=result['escalations'], beyond=beyond)
    if beyond is not None:
        result['beyond_grant'] = verification['beyond_grant']
    warning = rbac_checks.incomplete_warning(verification['incomplete'])
    if warning:
        result.setdefault('warnings', []).append(warning)
    return verification


def _skipped_file(params, spec, result, check_mode):
    """``verify_token_file`` holds no token of the account (and nothing is minted instead)."""
    reason = ('%s holds no token of %s (no file, another shape or another account\'s token)'
              % (params['verify_token_file'], spec['username']))
    if params['verify_only']:
        raise K8sTokenError('verify_token_file %s; give a file this collection wrote for the account, verify_token, '
                            'or verify_mint=true.' % reason)
    if not check_mode:
        result['verify_skipped'] = 'Nothing was verified: %s.' % reason
    return result


def _as_connection_user(cluster, spec):
    """The cluster to ask with when verify_only has no token: the connection, which must be the account."""
    caller = reviews.whoami(cluster)
    if caller and caller['username'] != spec['username']:
        raise K8sTokenError('The connection authenticates as %s, not as %s, so verify_only would check the '
                            'rights of %s; connect with the account\'s kubeconfig, or give verify_token, '
                            'verify_token_file or verify_mint=true.'
                            % (caller['username'], spec['username'], caller['username']))
    return cluster


def _verify(params, spec, cluster, result, beyond, token):
    """Ask with ``token``; on a 401 fall back as the options say; mint or ask as the connection."""
    if not result['checks']:
        raise K8sTokenError(NOTHING_TO_VERIFY)
    if token:
        try:
            result['verification'] = _ask(params, cluster.with_token(token), result, beyond)
            return result
        except K8sTokenError as exc:
            if exc.status != 401 or (params['verify_only'] and not params['verify_mint']):
                raise
            if not params['verify_mint']:
                # a token of an earlier run that the API server no longer accepts: nothing to verify with
                result['verify_skipped'] = exc.message
                return result
    if params['verify_mint']:
        minted = serviceaccounts.mint(cluster, tokens.TokenSpec(spec['name'], spec['namespace'],
                                                                duration=VERIFY_TOKEN_SECONDS))['token']
        result['verify_token_minted'] = True
        result['verification'] = _ask(params, cluster.with_token(minted), result, beyond)
    else:
        result['verification'] = _ask(params, _as_connection_user(cluster, spec), result, beyond)
    return result


def run(params, connect, check_mode=False):
    """sa_access's result for its ``params``; ``connect()`` gives the :class:`transport.Cluster`
    (called after the options are checked). Raises :class:`K8sTokenError` with one sentence."""
    if params.get('verify_token'):
        register_secret(params['verify_token'])
    spec = access.access_spec(params)
    check_verifiable(params, spec)    # decided before any change
    cluster = connect()
    if spec['state'] == 'absent':
        result = access.ensure_absent(cluster, spec, check_mode=check_mode)
        result.pop('rules')
        return result
    rights = None
    if params['verify_only']:
        result = {'changed': False, 'service_account': {'name': spec['name'], 'namespace': spec['namespace'],
                                                        'username': spec['username']}}
        rules = access.effective_rules(cluster, spec)
        result['escalations'] = rbac_checks.escalation_paths(rules, spec['scope'], spec['namespaces'])
    else:
        result = access.ensure_present(cluster, spec, check_mode=check_mode, bindings=verifying(params))
        rules = result.pop('rules')
        rights = result.pop('bindings', None)
    result['checks'] = rbac_checks.expand_checks(rules, spec['scope'], spec['namespaces'], params['checks'])
    # what the account holds beyond its grant (unknown without rules or cluster_role)
    beyond = access.rights_check(cluster, spec, rules, listed=rights) if (spec['rules'] or spec['cluster_role']) else None
    token = params['verify_token'] or stored_token(params['verify_token_file'], spec['username'])
    if params['verify_token_file'] and not token and not params['verify_mint']:
        return _skipped_file(params, spec, result, check_mode)
    if params['verify_only'] or ((token or params['verify_mint']) and not check_mode):
        return _verify(params, spec, cluster, result, beyond, token)
    return result
