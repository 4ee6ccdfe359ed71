"""Day two with a fleet (issue 24 items 2 and 4): settings read as Ansible reads them, and settings
that contradict each other refused or warned about, through ansible-playbook as a user runs it.

- the lookup templates the mcp_k8s_* variables it reads (``mcp_k8s_kubeconfig: "{{ kc_dir }}/kubeconfig"``
  as a host variable) and names the cluster (URL and context) a not-found answer came from;
- renew_before not shorter than the duration is refused (module, lookup, role) before any request,
  and a warning says when they are less than 5 minutes apart;
- a context the kubeconfig lacks is named with the contexts it has;
- a mistyped role variable is warned about, naming the one meant;
- check mode's summary says no token was minted; namespaced objects are shown with their namespace.
"""
import json
import os

import yaml

from harness import flat, lookup_sentence

SA = 'mcp-k8s-server'
TOKEN_PATH = r'/serviceaccounts/[^/]+/token$'


def two_context_kubeconfig(path, clusters):
    """One kubeconfig file with a context per (name, server) of ``clusters``, each the server's admin
    kubeconfig renamed; the current context is the first."""
    merged = {'apiVersion': 'v1', 'kind': 'Config', 'clusters': [], 'users': [], 'contexts': [],
              'current-context': clusters[0][0]}
    for name, server in clusters:
        with open(server.kubeconfig_path, encoding='utf-8') as handle:
            config = yaml.safe_load(handle)
        context = next(c for c in config['contexts'] if c['name'] == config['current-context'])['context']
        cluster = next(c for c in config['clusters'] if c['name'] == context['cluster'])['cluster']
        user = next(u for u in config['users'] if u['name'] == context['user'])['user']
        merged['clusters'].append({'name': name, 'cluster': cluster})
        merged['users'].append({'name': name, 'user': user})
        merged['contexts'].append({'name': name, 'context': {'cluster': name, 'user': name}})
    path.write_text(yaml.safe_dump(merged))
    os.chmod(str(path), 0o600)
    return str(path)


def role_play(role_vars):
    """A play on localhost that includes the role with ``role_vars``."""
    return {'name': 'Run the role', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'name': 'Include the role', 'ansible.builtin.include_role': {'name': 'mcp.k8s.mcp_k8s_server'},
         'vars': role_vars}]}


def record_per_host(expression):
    return {'name': 'Record results', 'ansible.builtin.copy': {
        'content': '{{ %s | to_json }}' % expression, 'dest': '{{ results_file }}.{{ inventory_hostname }}',
        'mode': '0600'}, 'check_mode': False}


def _results_file(run):
    with open(run.command[run.command.index('-e') + 1][1:], encoding='utf-8') as handle:
        return json.load(handle)['results_file']


def _read(path):
    with open(path, encoding='utf-8') as handle:
        return json.load(handle)


# ---------------------------------------------------------------- the lookup in a fleet


def test_the_lookup_templates_its_host_variables_and_names_the_cluster_it_asked(
        cluster, kube_double_factory, run_playbook, tmp_path):
    """Two hosts, one kubeconfig reached through a templated host variable, a context each: east (the
    server under test) has the account, west (a double) does not, and its error says it asked west."""
    west = kube_double_factory()
    cluster.create_service_account('server', 'mcp')
    west.objects.create('namespaces', {'metadata': {'name': 'mcp'}})
    kc_dir = tmp_path / 'kc'
    kc_dir.mkdir()
    kubeconfig = two_context_kubeconfig(kc_dir / 'kubeconfig', [('east', cluster), ('west', west)])
    inventory = tmp_path / 'fleet.yml'
    inventory.write_text(yaml.safe_dump({'fleet': {
        'vars': {'ansible_connection': 'local', 'kc_dir': str(kc_dir),
                 'mcp_k8s_kubeconfig': '{{ kc_dir }}/kubeconfig'},
        'hosts': {'east': {'mcp_k8s_context': 'east'}, 'west': {'mcp_k8s_context': '{{ inventory_hostname }}'}}}}))
    playbook = [{'name': 'Fleet lookup', 'hosts': 'fleet', 'gather_facts': False, 'tasks': [
        {'name': 'Mint', 'block': [
            {'name': 'Mint with the host variables', 'ansible.builtin.set_fact': {
                'outcome': {'sub': "{{ (lookup('mcp.k8s.sa_token', 'mcp/server') | mcp.k8s.token_claims).sub }}"}},
             'no_log': True}],
         'rescue': [{'name': 'Keep the failure', 'ansible.builtin.set_fact': {
             'outcome': {'failure': '{{ ansible_failed_result.msg }}'}}}]},
        record_per_host('outcome')]}]
    run = run_playbook(playbook, inventory=inventory, env={'K8S_AUTH_KUBECONFIG': ''})
    assert run.rc == 0, run
    results = dict((host, _read('%s.%s' % (_results_file(run), host))) for host in ('east', 'west'))
    assert results['east'] == {'sub': 'system:serviceaccount:mcp:server'}
    assert lookup_sentence(results['west']['failure']) == (
        'The API server at %s (context "west" of kubeconfig %s) answered: ServiceAccount "server" does not exist in '
        'namespace "mcp"; create it first or correct the name.' % (west.url, kubeconfig))
    assert '{{' not in json.dumps(results)
    # each host asked its own cluster: one TokenRequest each
    assert cluster.count(method='POST', path_re=TOKEN_PATH) == 1
    assert west.count(method='POST', path_re=TOKEN_PATH) == 1


# ---------------------------------------------------------------- renew_before against the duration

REFUSED_10M = ('renew_before "10m" (600 seconds) is not shorter than duration "10m" (600 seconds), so no token would '
               'ever be reused and every run would mint a new one; set renew_before to "5m" or less, or a longer '
               'duration.')


def test_renew_before_not_shorter_than_the_duration_is_refused_and_a_narrow_gap_warned(seeded_cluster, run_playbook):
    def attempt(name, task):
        return dict(task, name=name, register=name, ignore_errors=True)

    tasks = [
        attempt('module_equal', {'mcp.k8s.sa_token': {'name': 'server', 'namespace': 'mcp', 'duration': '10m',
                                                      'renew_before': '10m'}}),
        attempt('module_longer', {'mcp.k8s.sa_token': {'name': 'server', 'namespace': 'mcp', 'duration': '10m',
                                                       'renew_before': '20m'}}),
        attempt('lookup_longer', {'ansible.builtin.debug': {
            'msg': "{{ lookup('mcp.k8s.sa_token', 'mcp/server', duration='10m', renew_before='20m') | length }}"}}),
        # no no_log: ansible-core 2.16 drops the warnings of a no_log task (the default callback shows no result)
        attempt('module_narrow', {'mcp.k8s.sa_token': {'name': 'server', 'namespace': 'mcp', 'duration': '10m',
                                                       'renew_before': '8m'}}),
        attempt('lookup_narrow', {'ansible.builtin.debug': {
            'msg': "{{ lookup('mcp.k8s.sa_token', 'mcp/other', duration='10m', renew_before='9m') | length }}"}}),
    ]
    record = "{%s}" % ', '.join("'%s': %s.msg | default('')" % (t['name'], t['name']) for t in tasks[:3])
    run = run_playbook([{'name': 'renew_before', 'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks + [
        {'name': 'Record results', 'ansible.builtin.copy': {'content': '{{ %s | to_json }}' % record,
                                                            'dest': '{{ results_file }}', 'mode': '0600'}}]}])
    assert run.rc == 0, run
    assert run.results['module_equal'] == REFUSED_10M
    refused_20m = REFUSED_10M.replace('renew_before "10m" (600 seconds)', 'renew_before "20m" (1200 seconds)')
    assert run.results['module_longer'] == refused_20m
    assert lookup_sentence(run.results['lookup_longer']) == refused_20m
    output = flat(run.output)
    assert ('renew_before "8m" leaves a token of duration "10m" reusable for only "2m" after it is minted, so a run '
            'more than that after the last mints a new token; keep at least "5m" between them (renew_before "5m" or '
            'less).') in output
    assert 'renew_before "9m" leaves a token of duration "10m" reusable for only "1m" after it is minted' in output
    # the refusals came before any request; the two narrow ones minted
    assert seeded_cluster.count(method='POST', path_re=TOKEN_PATH) == 2


def test_the_role_refuses_a_10_minute_token_with_its_default_renew_before(cluster, run_playbook):
    run = run_playbook([role_play({'mcp_k8s_server_token_duration': '10m', 'mcp_k8s_server_verify': False})])
    assert run.rc != 0, run
    assert REFUSED_10M in flat(run.output).replace('\\"', '"'), run
    # refused before anything is applied
    assert cluster.objects.find('serviceaccounts', SA, 'default') is None
    assert cluster.count(method='POST', path_re=TOKEN_PATH) == 0


# ---------------------------------------------------------------- a context the kubeconfig lacks


def test_a_mistyped_context_lists_the_contexts_of_the_kubeconfig(seeded_cluster, run_playbook, tmp_path):
    kubeconfig = two_context_kubeconfig(tmp_path / 'fleet.kubeconfig', [('east', seeded_cluster), ('west', seeded_cluster)])
    tasks = [
        {'name': 'module', 'mcp.k8s.sa_token': {'name': 'server', 'namespace': 'mcp', 'kubeconfig': kubeconfig,
                                                'context': 'wets'}, 'register': 'module', 'ignore_errors': True},
        {'name': 'lookup', 'ansible.builtin.debug': {
            'msg': "{{ lookup('mcp.k8s.sa_token', 'mcp/server', kubeconfig='%s', context='wets') | length }}" % kubeconfig},
         'register': 'lookup', 'ignore_errors': True},
    ]
    run = run_playbook([{'name': 'context', 'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks + [
        {'name': 'Record results', 'ansible.builtin.copy': {
            'content': "{{ {'module': module.msg, 'lookup': lookup.msg} | to_json }}", 'dest': '{{ results_file }}',
            'mode': '0600'}}]}])
    assert run.rc == 0, run
    sentence = ('Context "wets" is not in kubeconfig %s, which has the contexts "east", "west"; give one of those as '
                'the context option (K8S_AUTH_CONTEXT), or none for its current context "east".' % kubeconfig)
    assert run.results['module'] == sentence
    assert lookup_sentence(run.results['lookup']) == sentence
    assert seeded_cluster.requests == []


# ---------------------------------------------------------------- a mistyped role variable


def test_a_mistyped_role_variable_is_warned_about_with_the_one_meant(cluster, run_playbook):
    run = run_playbook([role_play({'mcp_k8s_server_acess': 'operator', 'mcp_k8s_server_verify': False})])
    assert run.rc == 0, run
    output = flat(run.output)
    assert ('mcp_k8s_server_acess is not a variable of the role mcp.k8s.mcp_k8s_server and is ignored; rename it to '
            'mcp_k8s_server_access if that is what was meant (ansible-doc -t role mcp.k8s.mcp_k8s_server lists the '
            'variables).') in output
    assert output.count('is not a variable of the role') == 1   # the role's own variables and facts are known
    # and it was ignored: the default access (read-only) was applied
    role = cluster.objects.get('clusterroles', SA)
    assert not any('delete' in rule.get('verbs', ()) for rule in role['rules'])


# ---------------------------------------------------------------- the playbooks' summaries


def _collection_playbook(collections_path, name):
    return str(collections_path / 'ansible_collections' / 'mcp' / 'k8s' / 'playbooks' / ('%s.yml' % name))


def summary(run):
    """The Summary task's lines, from default-callback output."""
    section = run.stdout.split('TASK [Summary]', 1)[1]
    start = section.index('{')
    return json.JSONDecoder().raw_decode(section[start:])[0]['msg']


def test_check_mode_summary_says_no_token_was_minted(cluster, run_playbook, collections_path):
    run = run_playbook(_collection_playbook(collections_path, 'provision'), check=True)
    assert run.rc == 0, run
    lines = summary(run)
    assert 'Token:      none minted in check mode; a run without --check mints one' in lines, lines
    assert 'Claims:     none (no token in check mode)' in lines, lines
    assert 'Verified:   skipped in check mode' in lines, lines
    assert cluster.count(method='POST', path_re=TOKEN_PATH) == 0
    assert cluster.objects.find('serviceaccounts', SA, 'default') is None


def test_namespace_scope_summaries_name_the_namespaces(cluster, run_playbook, collections_path):
    for namespace in ('team-a', 'team-b'):
        cluster.objects.create('namespaces', {'metadata': {'name': namespace}})
    scope = {'mcp_k8s_server_scope': 'namespaces', 'mcp_k8s_server_namespaces': ['team-a', 'team-b'],
             'mcp_k8s_server_verify': False}
    run = run_playbook(_collection_playbook(collections_path, 'provision'), extra_vars=scope)
    assert run.rc == 0, run
    assert 'Access:     read-only (namespaces scope: team-a, team-b)' in summary(run)
    run = run_playbook(_collection_playbook(collections_path, 'deprovision'), extra_vars=scope)
    assert run.rc == 0, run
    removed = summary(run)[1]
    assert removed.startswith('Removed: '), removed
    assert sorted(removed[len('Removed: '):].split(', ')) == sorted(
        ['RoleBinding team-a/%s' % SA, 'RoleBinding team-b/%s' % SA, 'Role team-a/%s' % SA, 'Role team-b/%s' % SA,
         'ServiceAccount default/%s' % SA])
    for namespace in ('team-a', 'team-b'):
        assert cluster.objects.find('rolebindings', SA, namespace) is None
