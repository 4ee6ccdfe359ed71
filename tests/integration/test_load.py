"""Load: one play over 50 inventory hosts (all ``ansible_connection=local`` on the controller)
with ``forks: 10``, each host using the lookup (delegated to the controller) and the module.

What the lookup's cache promises (its docs): a token is cached for the rest of the
``ansible-playbook`` run, across tasks, hosts and forks, so identical requests are minted once
per run however many hosts, forks, loop items and reads ask for them. So: the shared lookup,
read six times on each of 50 hosts, makes one TokenRequest; a per-host lookup read six times
makes one per host; the module mints once per host and reuses the registered token with no
request at all. The double's request log must show exactly 1 + 50 + 50 TokenRequests.
"""
import re

import pytest


from harness import PYTHON


TOKEN_PATH = r'/serviceaccounts/[^/]+/token$'
HOSTS = 50
FORKS = 10


@pytest.fixture
def seeded_cluster(cluster):
    for index in range(HOSTS):
        cluster.create_service_account('app-%02d' % index, 'load')
    cluster.create_service_account('shared', 'load')
    cluster.clear_requests()
    return cluster


def test_50_hosts_10_forks_lookup_and_module(seeded_cluster, run_playbook, tmp_path):
    inventory = tmp_path / 'fifty.ini'
    inventory.write_text('[fleet]\n' + ''.join(
        'host-%02d ansible_connection=local ansible_python_interpreter=%s account=app-%02d\n' % (i, PYTHON, i)
        for i in range(HOSTS)))
    shared = "lookup('mcp.k8s.sa_token', 'load/shared', duration='1h')"
    own = "lookup('mcp.k8s.sa_token', 'load/' ~ account, audiences=['per-host'])"
    tasks = [
        {'name': 'Read the shared lookup twice in each of three loop items, on the controller',
         'ansible.builtin.set_fact': {'reads': "{{ (reads | default([])) + [%s | mcp.k8s.token_claims, %s | mcp.k8s.token_claims] }}"
                                      % (shared, shared)},
         'loop': [1, 2, 3], 'delegate_to': 'localhost', 'no_log': True},
        {'name': "Read the host's own lookup twice in each of three loop items, on the controller",
         'ansible.builtin.set_fact': {'own_reads': "{{ (own_reads | default([])) + [%s | mcp.k8s.token_claims, %s | mcp.k8s.token_claims] }}"
                                      % (own, own)},
         'loop': [1, 2, 3], 'delegate_to': 'localhost', 'no_log': True},
        {'name': 'Mint with the module', 'mcp.k8s.sa_token': {'name': '{{ account }}', 'namespace': 'load'},
         'register': 'minted', 'no_log': True},
        {'name': 'Mint again with the token kept', 'mcp.k8s.sa_token': {
            'name': '{{ account }}', 'namespace': 'load', 'token': '{{ minted.token }}'},
         'register': 'again', 'no_log': True},
        {'name': 'Summarize', 'ansible.builtin.set_fact': {'summary': {
            'jtis': "{{ reads | map(attribute='jti') | unique | list }}",
            'subs': "{{ reads | map(attribute='sub') | unique | list }}",
            'own_jtis': "{{ own_reads | map(attribute='jti') | unique | list }}",
            'own_subs': "{{ own_reads | map(attribute='sub') | unique | list }}",
            'minted_sub': '{{ minted.claims.sub }}', 'minted_changed': '{{ minted.changed }}',
            'reused': '{{ again.reused }}', 'same': '{{ again.token == minted.token }}'}}},
        {'name': 'Record results', 'run_once': True, 'delegate_to': 'localhost', 'ansible.builtin.copy': {
            'content': "{{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars, 'summary'))) | to_json }}",
            'dest': '{{ results_file }}', 'mode': '0600'}},
    ]
    run = run_playbook([{'name': 'fleet', 'hosts': 'fleet', 'gather_facts': False, 'tasks': tasks}],
                       inventory=inventory, args=('--forks', str(FORKS)))
    assert run.rc == 0, str(run)
    recap = re.findall(r'^(host-\d\d)\s+: ok=(\d+)\s+changed=\d+\s+unreachable=0\s+failed=0', run.stdout, re.M)
    assert len(recap) == HOSTS, run.stdout[-3000:]

    results = run.results
    assert sorted(results) == ['host-%02d' % i for i in range(HOSTS)]
    for host, summary in results.items():
        index = host.split('-')[1]
        assert summary['subs'] == ['system:serviceaccount:load:shared'], host
        assert len(summary['jtis']) == 1, (host, summary['jtis'])   # six reads, one token
        assert summary['own_subs'] == ['system:serviceaccount:load:app-%s' % index], host
        assert len(summary['own_jtis']) == 1, (host, summary['own_jtis'])
        assert summary['minted_sub'] == 'system:serviceaccount:load:app-%s' % index
        assert summary['minted_changed'] in (True, 'True') and summary['reused'] in (True, 'True')
        assert summary['same'] in (True, 'True')
    # the shared token: one for the whole run, across 50 hosts and 10 forks
    assert len({summary['jtis'][0] for summary in results.values()}) == 1
    assert seeded_cluster.count(method='POST', path_re=r'/serviceaccounts/shared/token$') == 1
    # one per host from the lookup, one per host from the module, none for the reuse
    assert len({summary['own_jtis'][0] for summary in results.values()}) == HOSTS
    assert seeded_cluster.count(method='POST', path_re=r'/serviceaccounts/app-\d\d/token$') == 2 * HOSTS
    assert seeded_cluster.count(method='POST', path_re=TOKEN_PATH) == 1 + 2 * HOSTS
    assert seeded_cluster.count(method='POST', path_re=TOKEN_PATH, status=201) == 1 + 2 * HOSTS
