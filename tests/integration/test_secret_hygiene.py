"""Secret hygiene at -vvvv with ANSIBLE_LOG_PATH set: the role, the module and the lookup.

Every token the double issues is recorded (its TokenAuthority is wrapped in-process). After the
run, no token (nor its signature alone) may appear in stdout, stderr, the log file, or any file
under the run's temporary directory (playbooks, variables, results, Ansible's local temp), except
the kubeconfig the user asked for, which is mode 0600. A kubeconfig passed as a dict keeps its
secrets (client-key-data, a bearer token) out of the output and the log even on a task that
does not set no_log.
"""
import os
import stat

import pytest
import yaml

from harness import assert_nowhere, hygiene_env

pytestmark = [pytest.mark.both_clients, pytest.mark.double_only('records every token the double issues, to look for each in the output')]


@pytest.fixture
def issued(cluster):
    """The tokens the double mints, in order."""
    tokens = []
    original = cluster.authority.mint

    def recording(*args, **kwargs):
        token, issued_at = original(*args, **kwargs)
        tokens.append(token)
        return token, issued_at

    cluster.authority.mint = recording
    return tokens


@pytest.fixture
def seeded_cluster(cluster, issued):
    cluster.create_service_account('server', 'mcp')
    # a ServiceAccount that may mint for the others, to act through a token kubeconfig
    cluster.create_service_account('minter', 'mcp')
    cluster.grant('system:serviceaccount:mcp:minter', ['create'], ['serviceaccounts/token'], namespace='mcp')
    del issued[:]
    cluster.clear_requests()
    return cluster


def test_role_at_vvvv(seeded_cluster, issued, run_playbook, tmp_path):
    kubeconfig = str(tmp_path / 'mcp.kubeconfig')
    role = {'name': 'Include the role', 'ansible.builtin.include_role': {'name': 'mcp.k8s.mcp_k8s_server'},
            'vars': {'mcp_k8s_server_kubeconfig_path': kubeconfig}}
    summary = {'name': 'Show what is safe to show', 'ansible.builtin.debug': {
        'msg': "{{ mcp_k8s_server_summary }} {{ mcp_k8s_server_token_expiration }}"}}
    run = run_playbook([{'name': 'role', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [role, summary]}],
                       verbosity=4, env=hygiene_env(tmp_path))
    assert run.rc == 0, run
    # the 10-minute token sa_access mints to check the rights (before the account's token exists),
    # then the account's token; neither may show anywhere
    assert len(issued) == 2
    assert stat.S_IMODE(os.stat(kubeconfig).st_mode) == 0o600
    # exec mode (the default): the token is only in the credential file, not in the kubeconfig
    credential = kubeconfig + '.credential.json'
    assert stat.S_IMODE(os.stat(credential).st_mode) == 0o600
    with open(credential, encoding='utf-8') as handle:
        assert yaml.safe_load(handle)['status']['token'] == issued[1]
    assert_nowhere(issued, run, tmp_path / 'ansible.log', tmp_path, allowed=(credential,))


def test_module_at_vvvv(seeded_cluster, issued, run_playbook, tmp_path):
    kubeconfig = str(tmp_path / 'module.kubeconfig')
    tasks = [
        {'name': 'Mint', 'mcp.k8s.sa_token': {'name': 'server', 'namespace': 'mcp', 'validate': True},
         'register': 'minted', 'no_log': True},
        {'name': 'Reuse', 'mcp.k8s.sa_token': {'name': 'server', 'namespace': 'mcp', 'token': '{{ minted.token }}'},
         'register': 'reused', 'no_log': True},
        {'name': 'Write the kubeconfig the user asked for', 'ansible.builtin.copy': {
            'content': '{{ minted.kubeconfig | to_nice_yaml }}', 'dest': kubeconfig, 'mode': '0600'}, 'no_log': True},
        {'name': 'Show what is safe to show', 'ansible.builtin.debug': {
            'msg': '{{ minted.expiration_timestamp }} {{ minted.claims.sub }} {{ reused.reused }} {{ minted.review.authenticated }}'}},
    ]
    run = run_playbook([{'name': 'module', 'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}],
                       verbosity=4, env=hygiene_env(tmp_path))
    assert run.rc == 0, run
    assert 'system:serviceaccount:mcp:server True True' in run.stdout
    assert len(issued) == 1
    assert stat.S_IMODE(os.stat(kubeconfig).st_mode) == 0o600
    assert_nowhere(issued, run, tmp_path / 'ansible.log', tmp_path, allowed=(kubeconfig,))


def test_lookup_at_vvvv(seeded_cluster, issued, run_playbook, tmp_path):
    kubeconfig = str(tmp_path / 'lookup.kubeconfig')
    lookup = "lookup('mcp.k8s.sa_token', 'mcp/server', output='dict')"
    tasks = [
        {'name': 'Write the kubeconfig the user asked for', 'ansible.builtin.copy': {
            'content': '{{ %s.kubeconfig | to_nice_yaml }}' % lookup, 'dest': kubeconfig, 'mode': '0600'},
         'no_log': True},
        {'name': 'Template the token without showing it', 'ansible.builtin.debug': {
            'msg': "{{ lookup('mcp.k8s.sa_token', 'mcp/server') | length }} {{ (%s).expires_in > 0 }}" % lookup}},
        {'name': 'Keep it in a fact', 'ansible.builtin.set_fact': {
            'kept': "{{ lookup('mcp.k8s.sa_token', 'mcp/server', duration='2h') }}"}, 'no_log': True},
    ]
    run = run_playbook([{'name': 'lookup', 'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}],
                       verbosity=4, env=hygiene_env(tmp_path))
    assert run.rc == 0, run
    assert 'True' in run.stdout
    assert issued, 'nothing minted'
    assert stat.S_IMODE(os.stat(kubeconfig).st_mode) == 0o600
    with open(kubeconfig, encoding='utf-8') as handle:
        assert yaml.safe_load(handle)['users'][0]['user']['token'] in issued
    assert_nowhere(issued, run, tmp_path / 'ansible.log', tmp_path, allowed=(kubeconfig,))


def test_kubeconfig_dict_secrets_stay_out_of_output_and_log(seeded_cluster, issued, run_playbook, tmp_path):
    """A bearer-token kubeconfig and a client-certificate kubeconfig, passed as dicts to the
    module and the lookup on tasks without no_log, at -vvvv: neither the token nor the client key
    shows anywhere."""
    minter_token = seeded_cluster.mint_token('minter', 'mcp')
    with open(seeded_cluster.write_kubeconfig(token=minter_token), encoding='utf-8') as handle:
        token_config = yaml.safe_load(handle)
    with open(seeded_cluster.kubeconfig_path, encoding='utf-8') as handle:
        cert_config = yaml.safe_load(handle)
    key_data = cert_config['users'][0]['user']['client-key-data']
    del issued[:]
    tasks = [
        {'name': 'Module with a token kubeconfig dict', 'mcp.k8s.sa_token': {
            'name': 'server', 'namespace': 'mcp', 'kubeconfig': '{{ token_config }}'}, 'register': 'by_token'},
        {'name': 'Module with a client certificate kubeconfig dict, failing', 'mcp.k8s.sa_token': {
            'name': 'ghost', 'namespace': 'mcp', 'kubeconfig': '{{ cert_config }}'}, 'ignore_errors': True},
        {'name': 'Lookup with both', 'ansible.builtin.debug': {
            'msg': "{{ lookup('mcp.k8s.sa_token', 'mcp/server', kubeconfig=token_config, cache=false) | length }} "
                   "{{ lookup('mcp.k8s.sa_token', 'mcp/server', kubeconfig=cert_config, cache=false) | length }}"}},
    ]
    run = run_playbook([{'name': 'dicts', 'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}],
                       extra_vars={'token_config': token_config, 'cert_config': cert_config},
                       verbosity=4, env=hygiene_env(tmp_path))
    assert run.rc == 0, run
    assert len(issued) == 3
    with open(tmp_path / 'ansible.log', encoding='utf-8', errors='replace') as handle:
        log = handle.read()
    for secret in (minter_token, minter_token.rsplit('.', 1)[1], key_data):
        assert secret not in run.output and secret not in log
    # the module's result (no no_log on the task) shows the token it minted, as documented,
    # but its invocation masks the input kubeconfig's secrets
    assert '********' in run.stdout or 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER' in run.stdout
