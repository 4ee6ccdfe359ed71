"""A dead, foreign or forged token is never reused (issue 16, item 2; issue 21, section 4), end to end
through ansible-playbook.

A token is reused only when this cluster issued it for the ServiceAccount as it exists now: a
token of another cluster (two doubles, same names, same issuer) and the token of a ServiceAccount
deleted and recreated through the API are replaced, by the module and by the lookup's run-wide
cache, and each replacement authenticates on its own cluster (TokenReview). A token that names the
account and its uid (which are not secret) but that the cluster did not sign (unsigned, another key,
another issuer) is replaced with a warning naming where it came from, by the module, the lookup's
``token=`` and the role's credential file; the cluster's keys cost two small GETs per run and cluster.
"""
import json
import time

import pytest
import yaml

from harness import ansible_core_version, flat, play, record_task
from kube_double import forgery

pytestmark = pytest.mark.both_clients

TOKEN_PATH = r'/serviceaccounts/[^/]+/token$'
KEYS_PATHS = (r'^/\.well-known/openid-configuration$', r'^/openid/v1/jwks$')
# what each forgery is told apart by in the warning
REASONS = {'alg none': 'the token is signed with algorithm "none", which no Kubernetes cluster uses',
           'another key': 'no key the cluster publishes at /openid/v1/jwks has the token\'s key id "mine"',
           'another key, the cluster key id': 'the token\'s signature does not match the cluster\'s key',
           'another issuer': 'the token\'s issuer "https://issuer.elsewhere.example" is not the cluster\'s'}


@pytest.fixture
def seeded_cluster(cluster):
    cluster.create_service_account('server', 'mcp')
    cluster.clear_requests()
    return cluster


@pytest.fixture
def other_cluster(kube_double_factory):
    """A second cluster with the same namespace and ServiceAccount names (and the same issuer)."""
    other = kube_double_factory()
    other.create_service_account('server', 'mcp')
    other.clear_requests()
    return other


def authenticated(cluster, token):
    """Whether ``cluster`` accepts ``token`` (a TokenReview as its admin)."""
    from ansible_collections.mcp.k8s.plugins.module_utils import connection, serviceaccounts
    with open(cluster.kubeconfig_path, encoding='utf-8') as handle:
        config = yaml.safe_load(handle)
    return serviceaccounts.review_token(connection.get_cluster({'kubeconfig': config}), token)['authenticated']


def rejected_soon(cluster, token, within=15):
    """Whether ``kube`` stops accepting ``token`` within ``within`` seconds: kube-apiserver (and the
    double, as it) keeps a token's successful authentication for 10 s, so a token used just before
    its ServiceAccount was replaced still works until then."""
    deadline = time.monotonic() + within
    while authenticated(cluster, token):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def recreate_tasks(cluster, directory):
    """Delete and recreate mcp/server through the API (ansible.builtin.uri as the cluster's admin), as
    a user would."""
    cert, key = directory / 'admin.crt', directory / 'admin.key'
    cert.write_bytes(cluster.pki.admin_cert_pem)
    key.write_bytes(cluster.pki.admin_key_pem)
    key.chmod(0o600)
    common = {'client_cert': str(cert), 'client_key': str(key), 'ca_path': cluster.ca_path}
    path = cluster.url + '/api/v1/namespaces/mcp/serviceaccounts'
    return [
        {'name': 'Delete the ServiceAccount', 'ansible.builtin.uri': dict(
            common, url=path + '/server', method='DELETE', status_code=[200, 202])},
        {'name': 'Recreate it', 'ansible.builtin.uri': dict(
            common, url=path, method='POST', body_format='json', status_code=201,
            body={'apiVersion': 'v1', 'kind': 'ServiceAccount', 'metadata': {'name': 'server'}})},
    ]


def test_module_given_a_token_of_another_cluster_mints_one_for_this_cluster(seeded_cluster, other_cluster, run_playbook):
    foreign = other_cluster.mint_token('server', 'mcp')
    assert authenticated(other_cluster, foreign) and not authenticated(seeded_cluster, foreign)
    seeded_cluster.clear_requests()
    other_cluster.clear_requests()
    run = run_playbook(play(
        {'name': 'Mint', 'mcp.k8s.sa_token': {'name': 'server', 'namespace': 'mcp', 'token': foreign},
         'register': 'minted', 'no_log': True},
        record_task('{"token": minted.token, "reused": minted.reused, "changed": minted.changed}'), record=None))
    assert run.rc == 0, run
    assert run.results['reused'] is False and run.results['changed'] is True
    assert run.results['token'] != foreign and authenticated(seeded_cluster, run.results['token'])
    assert seeded_cluster.count('POST', TOKEN_PATH) == 1 and other_cluster.requests == []


def test_module_replaces_the_token_of_a_recreated_service_account(seeded_cluster, run_playbook):
    old = seeded_cluster.mint_token('server', 'mcp')
    seeded_cluster.objects.delete('serviceaccounts', 'server', namespace='mcp')
    seeded_cluster.create_service_account('server', 'mcp')
    assert not authenticated(seeded_cluster, old)
    seeded_cluster.clear_requests()
    run = run_playbook(play(
        {'name': 'Mint', 'mcp.k8s.sa_token': {'name': 'server', 'namespace': 'mcp', 'token': old},
         'register': 'minted', 'no_log': True},
        {'name': 'Again with the new one', 'mcp.k8s.sa_token': {
            'name': 'server', 'namespace': 'mcp', 'token': '{{ minted.token }}'}, 'register': 'again', 'no_log': True},
        record_task('{"token": minted.token, "reused": minted.reused, "again": again.reused, '
                    '"same": again.token == minted.token}'), record=None))
    assert run.rc == 0, run
    assert run.results['reused'] is False and run.results['token'] != old
    assert authenticated(seeded_cluster, run.results['token'])
    # the fresh token is reused on the next task: one TokenRequest in all, one read of the account per reuse
    assert run.results['again'] is True and run.results['same'] is True
    assert seeded_cluster.count('POST', TOKEN_PATH) == 1
    assert seeded_cluster.count('GET', r'/serviceaccounts/server$') == 2


def test_lookup_cache_never_returns_the_token_of_a_recreated_account(seeded_cluster, run_playbook, tmp_path):
    lookup = "lookup('mcp.k8s.sa_token', 'mcp/server', output='dict', validate=true)"
    run = run_playbook(play(
        {'name': 'First', 'ansible.builtin.set_fact': {'first': '{{ %s }}' % lookup}, 'no_log': True},
        {'name': 'Cached', 'ansible.builtin.set_fact': {'cached': '{{ %s }}' % lookup}, 'no_log': True},
        *recreate_tasks(seeded_cluster, tmp_path),
        {'name': 'After recreation', 'ansible.builtin.set_fact': {'after': '{{ %s }}' % lookup}, 'no_log': True},
        record_task('{"first": first, "cached": cached, "after": after}'), record=None))
    assert run.rc == 0, run
    first, cached, after = run.results['first'], run.results['cached'], run.results['after']
    assert cached['token'] == first['token'] and cached['reused'] is True
    assert after['token'] != first['token'] and after['reused'] is False
    assert after['service_account']['uid'] != first['service_account']['uid']
    assert after['review']['authenticated'] is True and after['review']['user']['uid'] == after['service_account']['uid']
    assert authenticated(seeded_cluster, after['token']) and rejected_soon(seeded_cluster, first['token'])
    assert seeded_cluster.count('POST', TOKEN_PATH) == 2


def test_lookup_cache_is_keyed_by_cluster(seeded_cluster, other_cluster, run_playbook):
    """One run, two clusters with the same names: each token is its own cluster's."""
    tasks = play(
        {'name': 'Cluster A', 'ansible.builtin.set_fact': {
            'a': "{{ lookup('mcp.k8s.sa_token', 'mcp/server', kubeconfig=kubeconfig) }}"}, 'no_log': True},
        {'name': 'Cluster B', 'ansible.builtin.set_fact': {
            'b': "{{ lookup('mcp.k8s.sa_token', 'mcp/server', kubeconfig=other_kubeconfig) }}"}, 'no_log': True},
        {'name': 'Cluster A again', 'ansible.builtin.set_fact': {
            'a2': "{{ lookup('mcp.k8s.sa_token', 'mcp/server', kubeconfig=kubeconfig) }}"}, 'no_log': True},
        record_task('{"a": a, "b": b, "a2": a2}'), record=None)
    run = run_playbook(tasks, extra_vars={'other_kubeconfig': other_cluster.kubeconfig_path})
    assert run.rc == 0, run
    a, b = run.results['a'], run.results['b']
    assert a != b and run.results['a2'] == a
    assert authenticated(seeded_cluster, a) and not authenticated(seeded_cluster, b)
    assert authenticated(other_cluster, b) and not authenticated(other_cluster, a)
    assert seeded_cluster.count('POST', TOKEN_PATH) == 1 and other_cluster.count('POST', TOKEN_PATH) == 1


def test_one_fact_for_two_clusters_never_crosses_over(seeded_cluster, other_cluster, run_playbook, tmp_path):
    """The token kept in one fact and given to the module for two clusters in turn (as two
    include_role calls would): the second cluster gets a token of its own, never the first's."""
    task = {'name': 'Mint', 'mcp.k8s.sa_token': {
        'name': 'server', 'namespace': 'mcp', 'kubeconfig': '{{ item }}',
        'token': '{{ shared_token | default(omit) }}'}, 'register': 'minted', 'no_log': True}
    keep = {'name': 'Keep it in the fact', 'ansible.builtin.set_fact': {
        'shared_token': '{{ minted.token }}', 'tokens': '{{ tokens | default([]) + [minted.token] }}'}, 'no_log': True}
    path = tmp_path / 'per-cluster.yml'
    path.write_text(yaml.safe_dump([task, keep]))
    run = run_playbook(play(
        {'name': 'Both clusters', 'ansible.builtin.include_tasks': str(path),
         'loop': [seeded_cluster.kubeconfig_path, other_cluster.kubeconfig_path]},
        record_task('tokens'), record=None))
    assert run.rc == 0, run
    a, b = run.results
    assert a != b and authenticated(seeded_cluster, a) and authenticated(other_cluster, b)
    assert not authenticated(other_cluster, a)
    assert seeded_cluster.count('POST', TOKEN_PATH) == 1 and other_cluster.count('POST', TOKEN_PATH) == 1


# ---------------------------------------------------------------- forged tokens (issue 21, section 4)


# ansible-core before 2.19 drops the warnings of a no_log task from its output (the role's sa_token task
# is no_log, as a task returning a token must be); they stay in the registered result
WARNINGS_SHOWN_WITH_NO_LOG = ansible_core_version() >= (2, 19)


def warnings_of(run, registered=()):
    """The warnings a reader sees: the output, or before 2.19 the registered results' warnings."""
    if WARNINGS_SHOWN_WITH_NO_LOG:
        return flat(run.output)
    return flat(' '.join('[WARNING]: %s' % warning for warnings in registered for warning in warnings or ()))


def forged_tokens(cluster, name='server', namespace='mcp'):
    uid = cluster.objects.get('serviceaccounts', name, namespace)['metadata']['uid']
    return dict((kind, forgery.forge(cluster, kind, name, namespace, uid)) for kind in forgery.KINDS)


def assert_replaced_with_warnings(run, cluster, forged, source, tokens_returned, reads=1, output=None):
    """Each forged token replaced by one the cluster accepts, a warning per forgery naming ``source``,
    no forged token in the output, the keys read ``reads`` times (once per run for the lookup, once per
    module process), and once more for the key id the set lacks (as after a key rotation)."""
    output = flat(run.output) if output is None else output
    for kind, token in forged.items():
        expected = '[WARNING]: The token %s was not reused because %s' % (source, REASONS[kind])
        assert expected in output, (kind, run)
        assert token not in run.output
    assert not set(forged.values()) & set(tokens_returned)
    for token in set(tokens_returned):
        assert authenticated(cluster, token)
    for path in KEYS_PATHS:
        assert cluster.count('GET', path) == reads + ('another key' in forged), path


def test_module_replaces_forged_tokens_and_reads_the_keys_once_per_process(seeded_cluster, run_playbook):
    forged = forged_tokens(seeded_cluster)
    seeded_cluster.clear_requests()
    offers = [{'name': 'Offer the %s token' % kind, 'mcp.k8s.sa_token': {
        'name': 'server', 'namespace': 'mcp', 'token': '{{ offered[%d] }}' % index},
        'register': 'minted_%d' % index, 'no_log': True} for index, kind in enumerate(forged)]
    results = ', '.join('minted_%d' % index for index in range(len(forged)))
    run = run_playbook(play(*offers, record_task(
        '{"tokens": [%s] | map(attribute="token") | list, '
        '"warnings": [%s] | map(attribute="warnings", default=[]) | list}' % (results, results)), record=None),
        extra_vars={'offered': list(forged.values())})
    assert run.rc == 0, run
    warnings, run.results = warnings_of(run, run.results['warnings']), run.results['tokens']
    assert len(run.results) == 4 and len(set(run.results)) == 4
    assert seeded_cluster.count('POST', TOKEN_PATH) == 4
    # each task is a module process of its own: the keys once per process, and once more for
    # the token whose key id the set lacks (as after a key rotation)
    for path in KEYS_PATHS:
        assert seeded_cluster.count('GET', path) == 5, path
    for kind, token in forged.items():
        assert '[WARNING]: The token given in the option token was not reused because %s' % REASONS[kind] in warnings
        assert token not in run.output
    assert all(authenticated(seeded_cluster, token) for token in run.results)


def test_lookup_token_option_replaces_forged_tokens_and_reads_the_keys_once_per_run(seeded_cluster, run_playbook):
    forged = forged_tokens(seeded_cluster)
    good = seeded_cluster.mint_token('server', 'mcp')
    seeded_cluster.clear_requests()
    tasks = [{'name': 'Offer the %s token' % kind, 'ansible.builtin.set_fact': {
        'got_%d' % index: "{{ lookup('mcp.k8s.sa_token', 'mcp/server', token=offered[%d], cache=true) }}" % index},
        'no_log': True} for index, kind in enumerate(forged)]
    tasks.append({'name': 'Offer a good token', 'ansible.builtin.set_fact': {
        'kept': "{{ lookup('mcp.k8s.sa_token', 'mcp/server', token=good) }}"}, 'no_log': True})
    tasks.append(record_task('[%s, kept]' % ', '.join('got_%d' % index for index in range(len(forged)))))
    run = run_playbook(play(*tasks, record=None), extra_vars={'offered': list(forged.values()), 'good': good})
    assert run.rc == 0, run
    *replaced, kept = run.results
    assert kept == good                  # a token the cluster signed is still reused
    # the first forgery mints; the run's cache serves the others (their replacement is the same)
    assert seeded_cluster.count('POST', TOKEN_PATH) == 1 and len(set(replaced)) == 1
    assert_replaced_with_warnings(run, seeded_cluster, forged, 'given in the option token', replaced)


@pytest.mark.slow
def test_role_replaces_a_forged_token_in_its_credential_file(seeded_cluster, run_playbook, tmp_path):
    kubeconfig = str(tmp_path / 'mcp.kubeconfig')
    credential = kubeconfig + '.credential.json'
    include = {'name': 'The role', 'ansible.builtin.include_role': {'name': 'mcp.k8s.mcp_k8s_server'}, 'vars': {
        'mcp_k8s_server_service_account': 'role-server', 'mcp_k8s_server_namespace': 'mcp',
        'mcp_k8s_server_kubeconfig_path': kubeconfig}}
    first = run_playbook(play(include, record=None))
    assert first.rc == 0, first.stdout[-3000:]
    with open(credential, encoding='utf-8') as handle:
        written = json.load(handle)
    forged = forged_tokens(seeded_cluster, name='role-server')
    del forged['another key, the cluster key id']      # the module test has it; a role run costs seconds
    seeded_cluster.clear_requests()
    tasks = []
    for index, kind in enumerate(forged):
        tasks += [
            {'name': 'Write the %s token into the credential file' % kind, 'ansible.builtin.copy': {
                'src': str(tmp_path / ('forged-%d.json' % index)), 'dest': credential, 'mode': '0600'},
             'no_log': True},
            {'name': 'As a new run: no token fact', 'ansible.builtin.set_fact': {'mcp_k8s_server_token': ''}},
            include,
            {'name': 'Keep what the role wrote', 'ansible.builtin.set_fact': {
                'written': "{{ written | default([]) + [lookup('file', '%s') | from_json] }}" % credential,
                'minted': '{{ minted | default([]) + [mcp_k8s_server_summary.token_minted] }}',
                # the role's own registered result (before ansible-core 2.19 its warnings are not shown)
                'warned': '{{ warned | default([]) + [__mcp_k8s_server_minted.warnings | default([])] }}'},
             'no_log': True}]
    tasks.append(record_task('{"tokens": written | map(attribute="status.token") | list, "minted": minted, '
                             '"warnings": warned}'))
    # the credential file as the collection writes it (the exact form: anything else is not ours and
    # is refused, never read for a token), with the forged token in place of the real one
    for index, token in enumerate(forged.values()):
        (tmp_path / ('forged-%d.json' % index)).write_text(
            json.dumps(dict(written, status=dict(written['status'], token=token)), indent=2, sort_keys=True) + '\n')
    run = run_playbook(play(*tasks, record=None))
    assert run.rc == 0, run
    assert run.results['minted'] == [True] * 3
    # the role's sa_token task: one module process per role run
    assert_replaced_with_warnings(run, seeded_cluster, forged, 'read from %s' % kubeconfig, run.results['tokens'], reads=3,
                                  output=warnings_of(run, run.results['warnings']))
