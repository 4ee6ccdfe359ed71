"""``mcp.k8s.sa_token_info`` driven through ansible-playbook against the API server double."""
import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from harness import claims_of, play

pytestmark = pytest.mark.both_clients


@pytest.fixture
def seeded_cluster(cluster):
    """Namespace ``mcp`` with the ServiceAccount ``server``, allowed to list pods and get configmaps there."""
    cluster.create_service_account('server', 'mcp')
    cluster.grant('system:serviceaccount:mcp:server', ['get', 'list'], ['pods'], namespace='mcp')
    cluster.grant('system:serviceaccount:mcp:server', ['get'], ['deployments'], api_groups=['apps'],
                  namespace='mcp')
    cluster.clear_requests()
    return cluster


def info(register='info', ignore_errors=False, **options):
    options.setdefault('token', '{{ token }}')
    task = {'name': 'Inspect', 'mcp.k8s.sa_token_info': options, 'register': register}
    if ignore_errors:
        task['ignore_errors'] = True
    return task


def mint(**options):
    options.setdefault('name', 'server')
    options.setdefault('namespace', 'mcp')
    return {'name': 'Mint', 'mcp.k8s.sa_token': options, 'register': 'minted', 'no_log': True}


def keep(name='minted'):
    return {'name': 'Keep the token', 'ansible.builtin.set_fact': {'token': '{{ %s.token }}' % name}, 'no_log': True}


def legacy(state='present'):
    return {'name': 'Token Secret', 'mcp.k8s.sa_token_secret': {
        'service_account': 'server', 'namespace': 'mcp', 'state': state}, 'register': 'kept', 'no_log': True}


def foreign_token(cluster, kid=None):
    """A token with the claims of a real one, signed with a fresh RSA key of our own."""
    claims = claims_of(cluster.mint_token('server', 'mcp'))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, key, algorithm='RS256', headers={'kid': kid} if kid else None)


CHECKS = [
    {'verb': 'list', 'resource': 'pods', 'namespace': 'mcp'},
    {'verb': 'get', 'resource': 'pods', 'namespace': 'mcp', 'name': 'web'},
    {'verb': 'delete', 'resource': 'pods', 'namespace': 'mcp'},
    {'verb': 'list', 'resource': 'pods', 'namespace': 'kube-system'},
    {'verb': 'get', 'resource': 'deployments', 'group': 'apps', 'namespace': 'mcp'},
    {'verb': 'get', 'resource': 'pods', 'subresource': 'log', 'namespace': 'mcp'},
    {'verb': 'list', 'resource': 'nodes'},
]


def test_everything_about_a_bound_token(seeded_cluster, run_playbook):
    run = run_playbook(play(mint(audiences=[]), keep(),
                            info(review=True, verify_signature=True, can_i=CHECKS),
                            record="{'info': info, 'minted': minted}"), verbosity=3)
    assert run.rc == 0, str(run)
    result, minted = run.results['info'], run.results['minted']
    token = minted['token']
    assert result['changed'] is False
    assert result['claims'] == claims_of(token)
    assert result['header']['alg'] == 'RS256' and result['header']['kid']
    assert result['issuer'] == seeded_cluster.issuers[0]
    assert result['subject'] == 'system:serviceaccount:mcp:server'
    assert result['service_account'] == minted['service_account']
    assert result['audiences'] == minted['audiences']
    assert result['bound_object'] is None and result['secret'] is None
    assert result['expires_at'] == minted['expiration_timestamp']
    assert 3500 < result['expires_in'] <= 3600
    assert result['expired'] is False and result['legacy'] is False
    assert result['review']['authenticated'] is True
    assert result['review']['user']['username'] == 'system:serviceaccount:mcp:server'
    assert result['review']['user']['groups'] == ['system:serviceaccounts', 'system:serviceaccounts:mcp',
                                                  'system:authenticated']
    assert result['signature']['verified'] is True
    assert result['signature']['key_id'] == result['header']['kid']
    assert result['signature']['issuer'] == seeded_cluster.issuers[0]
    table = [(c['verb'], c['resource'], c['group'], c['namespace'], c['name'], c['allowed']) for c in result['can_i']]
    assert table == [
        ('list', 'pods', '', 'mcp', None, True),
        ('get', 'pods', '', 'mcp', 'web', True),
        ('delete', 'pods', '', 'mcp', None, False),
        ('list', 'pods', '', 'kube-system', None, False),
        ('get', 'deployments', 'apps', 'mcp', None, True),
        ('get', 'pods/log', '', 'mcp', None, False),
        ('list', 'nodes', '', None, None, False),
    ]
    assert all(set(c) >= {'verb', 'resource', 'namespace', 'name', 'allowed', 'reason'} for c in result['can_i'])
    assert result['all_allowed'] is False
    # the access reviews were made with the token, the TokenReview and discovery with the admin's credentials
    users = dict((e['path'], e['user']) for e in seeded_cluster.requests if e['method'] in ('POST', 'GET')
                 and not e['path'].endswith('/token'))
    assert users['/apis/authorization.k8s.io/v1/selfsubjectaccessreviews'] == 'system:serviceaccount:mcp:server'
    assert users['/apis/authentication.k8s.io/v1/tokenreviews'] != 'system:serviceaccount:mcp:server'
    assert seeded_cluster.count('POST', r'selfsubjectaccessreviews$') == len(CHECKS)
    # the token is an input (no_log) and never an output
    assert token not in run.output
    assert 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER' not in json.dumps(dict((k, v) for k, v in result.items()
                                                                        if k != 'invocation'))


def test_all_allowed(seeded_cluster, run_playbook):
    run = run_playbook(play(mint(), keep(), info(can_i=CHECKS[:2]), record='info'))
    assert run.rc == 0, str(run)
    assert run.results['all_allowed'] is True
    assert 'review' not in run.results and 'signature' not in run.results


def test_offline_needs_no_cluster(seeded_cluster, run_playbook):
    token = seeded_cluster.mint_token('server', 'mcp', audiences=['vault'])
    run = run_playbook(play(info(), record='info'), extra_vars={'token': token},
                       env={'K8S_AUTH_KUBECONFIG': '/nonexistent'})
    assert run.rc == 0, str(run)
    assert run.results['audiences'] == ['vault']
    assert seeded_cluster.requests == []


def test_legacy_token_and_revocation(seeded_cluster, run_playbook):
    run = run_playbook(play(
        legacy(), keep('kept'),
        info(register='before', review=True, verify_signature=True, can_i=CHECKS[:1]),
        legacy(state='absent'),
        # kube-apiserver caches a token's successful authentication for 10 s: wait for the revocation
        dict(info(register='after', review=True), until='not after.review.authenticated', retries=20, delay=1),
        info(register='denied', can_i=CHECKS[:1], ignore_errors=True),
        record="{'before': before, 'after': after, 'denied': denied}"))
    assert run.rc == 0, str(run)
    before, after, denied = run.results['before'], run.results['after'], run.results['denied']
    assert before['legacy'] is True
    assert before['issuer'] == 'kubernetes/serviceaccount'
    assert before['secret'] == {'namespace': 'mcp', 'name': 'server-token'}
    assert before['expires_at'] is None and before['expires_in'] is None and before['expired'] is False
    assert before['audiences'] == []
    assert before['service_account']['name'] == 'server'
    assert before['review']['authenticated'] is True
    assert before['signature']['verified'] is True
    assert before['can_i'][0]['allowed'] is True
    assert after['review']['authenticated'] is False
    assert 'Token has been invalidated' in after['review']['error']
    # the rights of a revoked token: reported as denied with the API server's refusal, not a failure
    assert denied.get('failed') is not True and denied['all_allowed'] is False
    assert denied['can_i'][0]['allowed'] is False
    assert denied['can_i'][0]['evaluation_error'] == (
        'The API server at %s rejected the token (401 Unauthorized) when asked to create selfsubjectaccessreviews '
        'for list pods; the token has expired, been revoked (its Secret, ServiceAccount or bound object deleted) '
        'or is for another cluster.' % seeded_cluster.url)


def test_review_with_audiences(seeded_cluster, run_playbook):
    token = seeded_cluster.mint_token('server', 'mcp', audiences=['vault'])
    run = run_playbook(play(info(register='default', review=True), info(register='vault', review=True,
                                                                        audiences=['vault']),
                            record="{'default': default.review, 'vault': vault.review}"), extra_vars={'token': token})
    assert run.rc == 0, str(run)
    assert run.results['default']['authenticated'] is False
    assert run.results['vault']['authenticated'] is True and run.results['vault']['audiences'] == ['vault']


def test_signature_with_a_foreign_key_and_the_cluster_kid(seeded_cluster, run_playbook):
    kid = jwt.get_unverified_header(seeded_cluster.mint_token('server', 'mcp'))['kid']
    token = foreign_token(seeded_cluster, kid=kid)
    run = run_playbook(play(info(verify_signature=True, ignore_errors=True), record='info'),
                       extra_vars={'token': token})
    assert run.rc == 0, str(run)
    assert run.results.get('failed') is not True   # an audit reports, it does not fail
    assert run.results['signature']['verified'] is False
    assert run.results['signature']['reason'] == ('The token\'s signature does not match the cluster\'s key "%s"; the '
                                                  'token was altered or was not signed by this cluster.' % kid)
    assert token not in run.output


def test_signature_with_a_foreign_key_id(seeded_cluster, run_playbook):
    kid = jwt.get_unverified_header(seeded_cluster.mint_token('server', 'mcp'))['kid']
    token = foreign_token(seeded_cluster, kid='my-own-key')
    run = run_playbook(play(info(verify_signature=True, ignore_errors=True), record='info'),
                       extra_vars={'token': token})
    assert run.rc == 0, str(run)
    assert run.results['signature']['verified'] is False
    assert run.results['signature']['reason'] == (
        'No key the cluster publishes at /openid/v1/jwks has the token\'s key id "my-own-key" for RS256 (published: '
        '"%s"); the token was not signed by this cluster, or its signing key was retired.' % kid)


def test_signature_without_key_id(seeded_cluster, run_playbook):
    run = run_playbook(play(info(verify_signature=True, ignore_errors=True), record='info'),
                       extra_vars={'token': foreign_token(seeded_cluster)})
    assert run.rc == 0, str(run)
    assert run.results['signature']['verified'] is False
    assert run.results['signature']['reason'].startswith('The token\'s signature matches none of the 1 keys the cluster '
                                                         'publishes')


def test_not_a_jwt(seeded_cluster, run_playbook):
    run = run_playbook(play(info(ignore_errors=True), record='info'), extra_vars={'token': 'sekrit-not-a-jwt'})
    assert run.rc == 0, str(run)
    assert run.results['msg'] == 'The given token is not a JWT (three base64url parts with a JSON payload).'
    assert 'sekrit-not-a-jwt' not in run.output


def test_review_forbidden(seeded_cluster, run_playbook):
    kubeconfig = seeded_cluster.write_kubeconfig(user='bob')
    run = run_playbook(play(info(review=True, kubeconfig=kubeconfig, ignore_errors=True), record='info'),
                       extra_vars={'token': seeded_cluster.mint_token('server', 'mcp')})
    assert run.rc == 0, str(run)
    assert run.results['msg'].startswith('User "bob" may not create tokenreviews (403 Forbidden); grant it "create" '
                                         'on "tokenreviews"')


def test_can_i_entry_without_resource(seeded_cluster, run_playbook):
    run = run_playbook(play(info(can_i=[{'verb': 'get'}], ignore_errors=True), record='info'),
                       extra_vars={'token': seeded_cluster.mint_token('server', 'mcp')})
    assert run.rc == 0, str(run)
    assert 'resource' in run.results['msg'] and 'can_i' in run.results['msg']


def test_check_mode(seeded_cluster, run_playbook):
    token = seeded_cluster.mint_token('server', 'mcp')
    run = run_playbook(play(info(review=True, can_i=CHECKS[:1]), record='info'), extra_vars={'token': token},
                       check=True)
    assert run.rc == 0, str(run)
    assert run.results['changed'] is False
    assert run.results['review']['authenticated'] is True
    assert run.results['can_i'][0]['allowed'] is True
