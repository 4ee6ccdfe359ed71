"""The ``mcp.k8s.token_claims`` filter in templates, through ansible-playbook."""
import pytest

from harness import play

pytestmark = pytest.mark.both_clients


@pytest.fixture
def seeded_cluster(cluster):
    cluster.create_service_account('server', 'mcp')
    return cluster


def test_claims_of_minted_and_legacy_tokens(seeded_cluster, run_playbook):
    run = run_playbook(play(
        {'name': 'Mint', 'mcp.k8s.sa_token': {'name': 'server', 'namespace': 'mcp', 'duration': '2h'},
         'register': 'minted', 'no_log': True},
        {'name': 'Long-lived', 'mcp.k8s.sa_token_secret': {'service_account': 'server', 'namespace': 'mcp'},
         'register': 'kept', 'no_log': True},
        {'name': 'Use the claims', 'ansible.builtin.set_fact': {
            'bound': '{{ minted.token | mcp.k8s.token_claims }}',
            'legacy': '{{ kept.token | mcp.k8s.token_claims }}',
            'sub': '{{ (minted.token | mcp.k8s.token_claims).sub }}',
            'lifetime': '{{ (minted.token | mcp.k8s.token_claims).exp - (minted.token | mcp.k8s.token_claims).iat }}',
            'padded': "{{ (' ' ~ minted.token ~ '\n') | mcp.k8s.token_claims }}",   # a real newline
            'account': "{{ (minted.token | mcp.k8s.token_claims)['kubernetes.io'].serviceaccount.name }}",
        }},
        record="{'bound': bound, 'legacy': legacy, 'sub': sub, 'lifetime': lifetime | int, 'padded': padded, "
               "'account': account, 'claims': minted.claims}"))
    assert run.rc == 0, str(run)
    results = run.results
    assert results['bound'] == results['claims'] == results['padded']
    assert results['sub'] == 'system:serviceaccount:mcp:server'
    assert results['lifetime'] == 7200
    assert results['account'] == 'server'
    assert results['legacy']['iss'] == 'kubernetes/serviceaccount'
    assert results['legacy']['kubernetes.io/serviceaccount/secret.name'] == 'server-token'
    assert 'exp' not in results['legacy']


@pytest.mark.parametrize('value, message', [
    ('sekrit-value-not-a-jwt', 'token_claims: The given token is not a JWT'),
    ('', 'token_claims was given an empty string instead of a token'),
])
def test_not_a_jwt_fails_with_one_sentence(run_playbook, value, message):
    run = run_playbook(play({'name': 'Decode', 'ansible.builtin.debug': {'msg': '{{ value | mcp.k8s.token_claims }}'}}),
                       extra_vars={'value': value})
    assert run.rc != 0
    assert message in ' '.join(run.output.split())
    if value:
        assert value not in run.output


def test_not_a_string(run_playbook):
    run = run_playbook(play({'name': 'Decode', 'ansible.builtin.debug': {'msg': '{{ 42 | mcp.k8s.token_claims }}'}}))
    assert run.rc != 0
    assert 'token_claims expects a token (a JWT string) but was given a value of type int' in ' '.join(run.output.split())
