"""``lookup('mcp.k8s.sa_token', ...)`` driven through ansible-playbook against the API server double."""
import ast
import importlib.util
import json
import os
import re
import subprocess

import pytest
import yaml

from harness import claims_of, lookup_sentence, object_uid, play, recap_changed

pytestmark = pytest.mark.both_clients

TOKEN_PATH = r'/serviceaccounts/[^/]+/token$'
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def fact(expression, name='minted', **task):
    """A set_fact task storing ``expression`` (Jinja, without braces) as ``name``."""
    return dict({'name': 'Set %s' % name, 'ansible.builtin.set_fact': {name: '{{ %s }}' % expression}}, **task)


def attempt(expression, register='attempt'):
    """A task that templates ``expression`` and may fail; the result is registered."""
    return {'name': 'Try', 'ansible.builtin.debug': {'msg': '{{ %s }}' % expression},
            'register': register, 'ignore_errors': True}


def token_users(cluster):
    """Who made each TokenRequest, in order."""
    return [entry['user'] for entry in cluster.requests
            if entry['method'] == 'POST' and entry['path'].endswith('/token')]


def failure(run, register='attempt'):
    """The lookup's own sentence in a failed, registered task."""
    result = run.results[register]
    assert result['failed'] is True, result
    return lookup_sentence(result['msg'])


# ---------------------------------------------------------------- tokens and their claims


def test_lookup_returns_a_token_with_the_requested_claims(seeded_cluster, run_playbook):
    run = run_playbook(play(fact("lookup('mcp.k8s.sa_token', 'server', namespace='mcp', audiences=['mcp-server', "
                                 "'other'], duration='2h')"), record='minted'))
    assert run.rc == 0, run
    claims = claims_of(run.results)
    assert claims['sub'] == 'system:serviceaccount:mcp:server'
    assert claims['aud'] == ['mcp-server', 'other']
    assert claims['exp'] - claims['iat'] == 7200
    assert claims['kubernetes.io']['serviceaccount']['uid'] == object_uid(seeded_cluster, 'serviceaccounts', 'server')
    assert 'pod' not in claims['kubernetes.io']
    assert seeded_cluster.count('POST', TOKEN_PATH) == 1


def test_namespace_in_the_term_and_defaults(seeded_cluster, run_playbook):
    seeded_cluster.create_service_account('builder', 'default')
    seeded_cluster.clear_requests()
    run = run_playbook(play(fact("[lookup('mcp.k8s.sa_token', 'mcp/other'), lookup('mcp.k8s.sa_token', 'builder'), "
                                 "lookup('mcp.k8s.sa_token', 'mcp/server', namespace='ignored')]"), record='minted'))
    assert run.rc == 0, run
    subs = [claims_of(token)['sub'] for token in run.results]
    assert subs == ['system:serviceaccount:mcp:other', 'system:serviceaccount:default:builder',
                    'system:serviceaccount:mcp:server']
    claims = claims_of(run.results[1])
    assert claims['exp'] - claims['iat'] == 3600          # default duration 1h
    assert claims['aud'] == [claims['iss']]              # default audiences: the API server's


def test_output_dict_has_the_module_fields_and_binds_to_a_pod(seeded_cluster, run_playbook):
    run = run_playbook(play(fact("lookup('mcp.k8s.sa_token', 'mcp/server', output='dict', validate=true, "
                                 "bound_object={'kind': 'Pod', 'name': 'web'})"), record='minted'))
    assert run.rc == 0, run
    minted = run.results
    assert set(minted) >= {'token', 'expiration_timestamp', 'expires_in', 'duration', 'audiences', 'issued_at',
                           'claims', 'jwt_expiration_timestamp', 'service_account', 'bound_object', 'reused',
                           'review', 'kubeconfig', 'api_warnings'}
    assert minted['claims'] == claims_of(minted['token'])
    pod_uid = object_uid(seeded_cluster, 'pods', 'web')
    assert minted['claims']['kubernetes.io']['pod'] == {'name': 'web', 'uid': pod_uid}
    assert minted['bound_object'] == {'kind': 'Pod', 'name': 'web', 'uid': pod_uid}
    assert minted['service_account'] == {'namespace': 'mcp', 'name': 'server',
                                         'uid': object_uid(seeded_cluster, 'serviceaccounts', 'server')}
    assert minted['review']['authenticated'] is True and minted['reused'] is False
    assert minted['kubeconfig']['users'][0]['user']['token'] == minted['token']
    assert minted['kubeconfig']['clusters'][0]['cluster']['server'] == seeded_cluster.url


def test_query_keeps_the_order_of_the_terms(seeded_cluster, run_playbook):
    names = ['server', 'other', 'mcp/server', 'other']
    run = run_playbook(play(fact("[query('mcp.k8s.sa_token', *names, namespace='mcp'), "
                                 "query('mcp.k8s.sa_token', names, namespace='mcp'), query('mcp.k8s.sa_token', [])]"),
                            record='minted'), extra_vars={'names': names})
    assert run.rc == 0, run
    spread, as_list, empty = run.results
    assert empty == []
    subs = [claims_of(token)['sub'].rsplit(':', 1)[1] for token in spread]
    assert subs == ['server', 'other', 'server', 'other']
    # identical terms are one request (and one token); a list among the terms is expanded
    assert spread[0] == spread[2] and spread[1] == spread[3]
    assert as_list == spread
    assert seeded_cluster.count('POST', TOKEN_PATH) == 2


def test_query_mints_200_service_accounts_concurrently(cluster, run_playbook):
    cluster.objects.create('namespaces', {'metadata': {'name': 'many'}})
    names = ['sa-%d' % index for index in range(200)]
    for name in names:
        cluster.objects.create('serviceaccounts', {'metadata': {'name': name}}, namespace='many')
    cluster.clear_requests()
    run = run_playbook(play(fact("query('mcp.k8s.sa_token', *names, namespace='many', workers=8)", no_log=True),
                            record='minted'), extra_vars={'names': names})
    assert run.rc == 0, run
    assert [claims_of(token)['sub'] for token in run.results] == ['system:serviceaccount:many:%s' % n for n in names]
    assert len(set(run.results)) == 200
    assert cluster.count('POST', TOKEN_PATH, status=201) == 200
    assert cluster.count() == 200                   # nothing but the TokenRequests
    overlap = max_in_flight(cluster)
    assert 1 < overlap <= 8, overlap


def max_in_flight(cluster):
    """The largest number of requests the double was serving at the same time."""
    events = []
    for entry in cluster.requests:
        events.append((entry['time'], 1))
        events.append((entry['time'] + entry['duration'], -1))
    current = highest = 0
    for dummy, change in sorted(events, key=lambda event: (event[0], event[1])):
        current += change
        highest = max(highest, current)
    return highest


def test_check_mode_still_mints(seeded_cluster, run_playbook):
    run = run_playbook(play(fact("lookup('mcp.k8s.sa_token', 'mcp/server')"), record='minted'), check=True)
    assert run.rc == 0, run
    assert claims_of(run.results)['sub'] == 'system:serviceaccount:mcp:server'
    assert seeded_cluster.count('POST', TOKEN_PATH) == 1


@pytest.mark.parametrize('cluster', [{'issuer': 'https://issuer.example/{{ 6 * 7 }}'}], indirect=True)
def test_results_are_unsafe_and_never_templated_again(seeded_cluster, run_playbook):
    tasks = [fact("lookup('mcp.k8s.sa_token', 'mcp/server', output='dict')"),
             {'name': 'Read it again', 'ansible.builtin.set_fact': {
                 'issuer': '{{ minted.claims.iss }}', 'audience': '{{ minted.audiences[0] }}'}}]
    run = run_playbook(play(*tasks, record="{'issuer': issuer, 'audience': audience}"))
    assert run.rc == 0, run
    assert run.results == {'issuer': 'https://issuer.example/{{ 6 * 7 }}',
                           'audience': 'https://issuer.example/{{ 6 * 7 }}'}


@pytest.mark.parametrize('cluster', [{'max_token_expiration': 3600}], indirect=True)
def test_a_shortened_duration_becomes_a_warning(seeded_cluster, run_playbook):
    run = run_playbook(play(fact("lookup('mcp.k8s.sa_token', 'mcp/server', duration='24h', output='dict')"),
                            record='minted'))
    assert run.rc == 0, run
    assert run.results['duration'] == 3600
    assert ('[WARNING]: ServiceAccount "mcp/server": requested expiration of 86400 seconds shortened to 3600 '
            'seconds') in ' '.join(run.output.split())


def test_returned_kubeconfig_authenticates_as_the_service_account(seeded_cluster, run_playbook):
    tasks = [fact("lookup('mcp.k8s.sa_token', 'mcp/server', output='dict')", name='server', no_log=True),
             attempt("lookup('mcp.k8s.sa_token', 'mcp/other', kubeconfig=server.kubeconfig)")]
    run = run_playbook(play(*tasks, record='{"attempt": attempt}'))
    context = 'system:serviceaccount:mcp:server@%s' % seeded_cluster.url.split('://', 1)[1]
    assert failure(run) == (
        'Cannot mint a token for ServiceAccount "mcp/other" from the API server at %s (context "%s" of the kubeconfig '
        'dict): User "system:serviceaccount:mcp:server" may not create serviceaccounts/token in namespace "mcp" (403 '
        'Forbidden); grant it "create" on "serviceaccounts/token" with a Role and RoleBinding.' % (seeded_cluster.url, context))


@pytest.mark.skipif(importlib.util.find_spec('ansible_collections.kubernetes') is None,
                    reason='kubernetes.core is not installed in this environment')
def test_returned_kubeconfig_works_with_kubernetes_core_and_module_defaults(seeded_cluster, run_playbook):
    seeded_cluster.grant('system:serviceaccount:mcp:server', ['get', 'list'], ['pods'], namespace='mcp')
    seeded_cluster.clear_requests()
    tasks = [fact("lookup('mcp.k8s.sa_token', 'mcp/server', output='dict')", name='server', no_log=True),
             {'name': 'List pods as the ServiceAccount', 'kubernetes.core.k8s_info': {
                 'kind': 'Pod', 'namespace': 'mcp', 'kubeconfig': '{{ server.kubeconfig }}'}, 'register': 'direct'},
             {'name': 'The same through module_defaults', 'module_defaults': {
                 'group/kubernetes.core.k8s': {'kubeconfig': '{{ server.kubeconfig }}'}},
              'block': [{'name': 'List pods', 'kubernetes.core.k8s_info': {'kind': 'Pod', 'namespace': 'mcp'},
                         'register': 'defaulted'}]}]
    run = run_playbook(play(*tasks, record="{'direct': direct.resources | map(attribute='metadata.name') | list, "
                                           "'defaulted': defaulted.resources | map(attribute='metadata.name') | list}"))
    assert run.rc == 0, run
    assert run.results == {'direct': ['web'], 'defaulted': ['web']}
    lists = [entry['user'] for entry in seeded_cluster.requests if entry['method'] == 'GET' and entry['path'].endswith('/pods')]
    assert lists == ['system:serviceaccount:mcp:server'] * 2
    assert seeded_cluster.count('POST', TOKEN_PATH) == 1


# ---------------------------------------------------------------- the cache


LAZY = "lookup('mcp.k8s.sa_token', 'mcp/server')"


def test_a_variable_read_50_times_across_tasks_makes_one_token_request(seeded_cluster, run_playbook):
    tasks = [{'name': 'Read the variable in 50 loop items', 'ansible.builtin.debug': {'msg': '{{ lazy }}'},
              'loop': '{{ range(50) | list }}', 'register': 'reads', 'no_log': True},
             {'name': 'Read it 50 times in one template', 'ansible.builtin.set_fact': {
                 'lengths': '{% for i in range(50) %}{{ lazy | length }} {% endfor %}'}},
             {'name': 'Read it in another task', 'ansible.builtin.set_fact': {'again': '{{ lazy }}'}, 'no_log': True}]
    run = run_playbook(play(*tasks, vars={'lazy': '{{ %s }}' % LAZY},
                            record="reads.results | map(attribute='msg') | union([again]) | unique"))
    assert run.rc == 0, run
    assert len(run.results) == 1 and claims_of(run.results[0])['sub'] == 'system:serviceaccount:mcp:server'
    # every task runs in its own worker process; the run's cache is shared by all of them
    assert seeded_cluster.count('POST', TOKEN_PATH) == 1
    # the reuse checks the ServiceAccount once per task, not per read: the first task minted it
    assert seeded_cluster.count('GET', r'/serviceaccounts/server$') == 2


def test_the_cache_ends_with_the_run_and_leaves_no_file(seeded_cluster, run_playbook, tmp_path):
    first = run_playbook(play(fact(LAZY, no_log=True), record='minted'))
    second = run_playbook(play(fact(LAZY, no_log=True), record='minted'))
    assert first.rc == 0 and second.rc == 0, (first, second)
    assert first.results != second.results
    assert seeded_cluster.count('POST', TOKEN_PATH) == 2
    leftovers = [str(path) for path in (tmp_path / 'ansible-tmp').rglob('*') if 'mcp_k8s' in path.name]
    assert leftovers == []


def test_identical_requests_share_the_cache_and_different_ones_do_not(seeded_cluster, run_playbook):
    template = ("[lookup('mcp.k8s.sa_token', 'mcp/server'), lookup('mcp.k8s.sa_token', 'server', namespace='mcp'), "
                "lookup('mcp.k8s.sa_token', 'mcp/server', duration='2h'), "
                "lookup('mcp.k8s.sa_token', 'mcp/server', audiences=['x']), "
                "lookup('mcp.k8s.sa_token', 'mcp/server', output='dict'), "
                "lookup('mcp.k8s.sa_token', 'mcp/server', kubeconfig=other_kubeconfig), "
                "lookup('mcp.k8s.sa_token', 'mcp/server', cache=false)]")
    other = seeded_cluster.write_kubeconfig(user='second-admin', groups=('system:masters',))
    run = run_playbook(play(fact(template), record='minted'), extra_vars={'other_kubeconfig': other})
    assert run.rc == 0, run
    first, same, longer, audience, as_dict, other_caller, uncached = run.results
    assert same == first == as_dict['token'] and as_dict['reused'] is True
    assert len({first, longer, audience, other_caller, uncached}) == 5
    assert seeded_cluster.count('POST', TOKEN_PATH) == 5
    assert token_users(seeded_cluster) == ['kubernetes-admin'] * 3 + ['second-admin', 'kubernetes-admin']


def test_a_new_token_once_the_cached_one_is_inside_renew_before(seeded_cluster, run_playbook):
    # A 10 minute token is reused while more than 597 s remain, so twice at once, then not after 5 s.
    lookup = "lookup('mcp.k8s.sa_token', 'mcp/server', duration='10m', renew_before='597s')"
    tasks = [{'name': 'Read twice, wait, read twice', 'ansible.builtin.set_fact': {'pair': '{{ [lazy, lazy] }}'},
              'loop': [1, 2], 'loop_control': {'pause': 5}, 'register': 'reads'}]
    run = run_playbook(play(*tasks, vars={'lazy': '{{ %s }}' % lookup},
                            record="reads.results | map(attribute='ansible_facts.pair') | list"))
    assert run.rc == 0, run
    (first, again), (renewed, renewed_again) = run.results
    assert first == again and renewed == renewed_again and first != renewed
    assert seeded_cluster.count('POST', TOKEN_PATH) == 2


def test_renew_before_as_long_as_the_duration_is_refused_and_cache_false_mints_every_time(seeded_cluster, run_playbook):
    template = ("[lookup('mcp.k8s.sa_token', 'mcp/other', cache=false), lookup('mcp.k8s.sa_token', 'mcp/other', cache=false)]")
    run = run_playbook(play(fact(template), attempt("lookup('mcp.k8s.sa_token', 'mcp/server', duration='10m', "
                                                    "renew_before=600)"),
                            record="{'minted': minted, 'attempt': attempt}"))
    assert run.rc == 0, run
    assert len(set(run.results['minted'])) == 2
    assert seeded_cluster.count('POST', TOKEN_PATH) == 2
    assert failure(run) == ('renew_before 600 (600 seconds) is not shorter than duration "10m" (600 seconds), so no '
                            'token would ever be reused and every run would mint a new one; set renew_before to "5m" or '
                            'less, or a longer duration.')


# ---------------------------------------------------------------- a template that stays unchanged


def template_example():
    """The template task of the lookup's EXAMPLES and the template it renders, word for word."""
    with open(os.path.join(ROOT, 'plugins', 'lookup', 'sa_token.py')) as handle:
        module = ast.parse(handle.read())
    examples = [node.value.value for node in module.body
                if isinstance(node, ast.Assign) and node.targets[0].id == 'EXAMPLES'][0]
    task = [task for task in yaml.safe_load(examples) if task['name'].startswith('Render the client configuration')]
    template = re.findall(r'^#   (.*)$', examples, re.M)
    assert len(task) == 1 and len(template) == 2, (task, template)
    template = '\n'.join(template) + '\n'
    with open(os.path.join(ROOT, 'README.md')) as handle:
        readme = handle.read()
    assert '```jinja\n%s```' % template in readme          # the README shows the same example
    assert [yaml.safe_load(block) for block in re.findall(r'```yaml\n(.*?)```', readme, re.S)
            if 'Render the client configuration' in block] == [[task[0]]]
    return task[0], template


def test_a_rendered_template_keeps_its_token_while_it_is_valid(seeded_cluster, run_playbook, tmp_path, kube_double_factory):
    seeded_cluster.create_service_account('mcp-k8s-server', 'mcp')
    task, template = template_example()
    (tmp_path / 'mcp-client.yml.j2').write_text(template)
    config = tmp_path / 'client.yml'
    playbook = [{'name': 'Render', 'hosts': 'localhost', 'gather_facts': False,
                 'vars': {'mcp_client_config': str(config)}, 'tasks': [task],
                 'handlers': [{'name': 'Restart the MCP client', 'ansible.builtin.debug': {'msg': 'restarted'}}]}]
    handler = 'RUNNING HANDLER [Restart the MCP client]'
    seeded_cluster.clear_requests()

    def render(expect_changed, **options):
        before = seeded_cluster.count('POST', TOKEN_PATH)
        run = run_playbook(playbook, **options)
        assert run.rc == 0, run
        assert recap_changed(run.stdout) == (1 if expect_changed else 0) and (handler in run.stdout) == expect_changed, run
        rendered = yaml.safe_load(config.read_text())
        assert claims_of(rendered['token'])['sub'] == 'system:serviceaccount:mcp:mcp-k8s-server'
        assert rendered['token'] not in run.output
        assert seeded_cluster.count('POST', TOKEN_PATH) - before == (1 if expect_changed else 0)
        return rendered['token']

    first = render(True)                                  # no file yet: a new token
    assert oct(config.stat().st_mode & 0o777) == '0o600'
    assert render(False) == first                         # the same file: no TokenRequest, no handler
    assert render(False, check=True, diff=True) == first  # and no_log: --check --diff shows no token

    # a token inside renew_before (2h) of its expiry, another cluster's, or none: replaced
    near = seeded_cluster.mint_token('mcp-k8s-server', 'mcp', expiration_seconds=3600)
    other = kube_double_factory()
    other.create_service_account('mcp-k8s-server', 'mcp')
    foreign = other.mint_token('mcp-k8s-server', 'mcp', expiration_seconds=86400)
    for planted in (near, foreign, 'not a token'):
        config.write_text('server: https://mcp.example.com/mcp\ntoken: %s\n' % planted)
        renewed = render(True)
        assert renewed not in (planted, first)
        assert claims_of(renewed)['exp'] - claims_of(renewed)['iat'] == 86400


# ---------------------------------------------------------------- option precedence


def combined_kubeconfig(cluster, path, labels):
    """One kubeconfig with a context ``ctx-LABEL`` for a user ``LABEL-user`` (cluster admin) per label."""
    config = {'apiVersion': 'v1', 'kind': 'Config', 'preferences': {}, 'clusters': [], 'users': [], 'contexts': []}
    for label in labels:
        with open(cluster.write_kubeconfig(user='%s-user' % label, groups=('system:masters',))) as handle:
            single = yaml.safe_load(handle)
        entry = dict(single['clusters'][0], name='cluster-%s' % label)
        user = dict(single['users'][0], name='%s-user' % label)
        config['clusters'].append(entry)
        config['users'].append(user)
        config['contexts'].append({'name': 'ctx-%s' % label, 'context': {'cluster': entry['name'], 'user': user['name']}})
    config['current-context'] = 'ctx-%s' % labels[-1]
    with open(path, 'w') as handle:
        yaml.safe_dump(config, handle)
    return str(path)


def test_option_precedence_kwargs_vars_env_ini(seeded_cluster, run_playbook, tmp_path):
    kubeconfig = combined_kubeconfig(seeded_cluster, tmp_path / 'contexts.yml', ['kw', 'vars', 'env', 'ini', 'current'])
    (tmp_path / 'cfg').mkdir()
    ansible_cfg = tmp_path / 'cfg' / 'ansible.cfg'     # not in the playbook's working directory
    ansible_cfg.write_text('[mcp_k8s]\ncontext = ctx-ini\n')
    lookup = "lookup('mcp.k8s.sa_token', 'mcp/server', cache=false)"
    tasks = [fact("lookup('mcp.k8s.sa_token', 'mcp/server', context='ctx-kw')", vars={'mcp_k8s_context': 'ctx-vars'}),
             fact(lookup, vars={'mcp_k8s_context': 'ctx-vars'}),
             fact(lookup)]
    env = {'K8S_AUTH_KUBECONFIG': kubeconfig, 'ANSIBLE_CONFIG': str(ansible_cfg)}
    run = run_playbook(play(*tasks), env=dict(env, K8S_AUTH_CONTEXT='ctx-env'))
    assert run.rc == 0, run
    assert token_users(seeded_cluster) == ['kw-user', 'vars-user', 'env-user']

    seeded_cluster.clear_requests()
    run = run_playbook(play(fact(lookup)), env=env)
    assert run.rc == 0, run
    assert token_users(seeded_cluster) == ['ini-user']

    seeded_cluster.clear_requests()
    run = run_playbook(play(fact(lookup)), env={'K8S_AUTH_KUBECONFIG': kubeconfig})
    assert run.rc == 0, run
    assert token_users(seeded_cluster) == ['current-user']


def test_kubeconfig_from_a_variable_and_from_keywords(seeded_cluster, run_playbook, tmp_path):
    alice = seeded_cluster.write_kubeconfig(user='alice', groups=('system:masters',))
    bob = seeded_cluster.write_kubeconfig(user='bob', groups=('system:masters',))
    tasks = [fact("lookup('mcp.k8s.sa_token', 'mcp/server', kubeconfig=bob)", vars={'mcp_k8s_kubeconfig': alice}),
             fact("lookup('mcp.k8s.sa_token', 'mcp/server')", vars={'mcp_k8s_kubeconfig': alice}),
             fact("lookup('mcp.k8s.sa_token', 'mcp/server')")]
    run = run_playbook(play(*tasks), extra_vars={'bob': bob})
    assert run.rc == 0, run
    assert token_users(seeded_cluster) == ['bob', 'alice', 'kubernetes-admin']


# ---------------------------------------------------------------- errors


def asked(cluster, kubeconfig=None):
    """How a lookup's not-found or forbidden error names the cluster it asked: the API server's URL and the
    context (the current one of ``kubeconfig``, by default the server's admin kubeconfig)."""
    kubeconfig = kubeconfig or cluster.kubeconfig_path
    with open(kubeconfig, encoding='utf-8') as handle:
        context = yaml.safe_load(handle)['current-context']
    return 'the API server at %s (context "%s" of kubeconfig %s)' % (cluster.url, context, kubeconfig)


@pytest.mark.parametrize('expression, sentence, requests', [
    ("lookup('mcp.k8s.sa_token', 'mcp/nobody')",
     '{Asked} answered: ServiceAccount "nobody" does not exist in namespace "mcp"; create it first or correct the '
     'name.', 1),
    ("lookup('mcp.k8s.sa_token', 'nowhere/server')",
     '{Asked} answered: Namespace "nowhere" does not exist; create it and the ServiceAccount "server" first or '
     'correct namespace.', 1),
    ("lookup('mcp.k8s.sa_token', 'mcp/server', duration='5m')",
     'duration "5m" (300 seconds) is below the minimum of 10 minutes (600 seconds) that the API server accepts; '
     'use "10m" or longer.', 0),
    ("lookup('mcp.k8s.sa_token', 'mcp/server', duration='1.5s')",
     'duration must be whole seconds; "1.5s" is 1.5 seconds.', 0),
    ("lookup('mcp.k8s.sa_token', 'mcp/server', bound_object={'kind': 'ConfigMap', 'name': 'x'})",
     'bound_object.kind "ConfigMap" is not supported; a token can be bound to a Pod, Secret or Node.', 0),
    ("lookup('mcp.k8s.sa_token', 'mcp/server', bound_object={'kind': 'Pod', 'name': 'ghost'})",
     'Cannot mint a token for ServiceAccount "mcp/server" from {asked}: Pod "ghost" does not exist in namespace '
     '"mcp"; create it first, or correct bound_object (set its uid to skip this read).', 0),
    ("lookup('mcp.k8s.sa_token', 'mcp/other', bound_object={'kind': 'Pod', 'name': 'web'})",
     'Pod "mcp/web" runs as ServiceAccount "server", not "other"; a token can only be bound to a Pod of its own '
     'ServiceAccount.', 0),
    ("lookup('mcp.k8s.sa_token', 'mcp/server', renew_before='-1m')",
     'renew_before must not be negative, not "-1m".', 0),
    ("lookup('mcp.k8s.sa_token', 'a/b/c')",
     'The term \'a/b/c\' is not a ServiceAccount; give "name" or "namespace/name".', 0),
    ("lookup('mcp.k8s.sa_token', 'mcp/server', namepsace='mcp')",
     'The mcp.k8s.sa_token lookup has no option "namepsace"; see ansible-doc -t lookup mcp.k8s.sa_token for its '
     'options.', 0),
])
def test_errors_are_one_sentence(seeded_cluster, run_playbook, expression, sentence, requests):
    run = run_playbook(play(attempt(expression), record='{"attempt": attempt}'))
    where = asked(seeded_cluster)
    assert failure(run) == sentence.replace('{asked}', where).replace('{Asked}', where[0].upper() + where[1:])
    assert 'Traceback' not in run.output
    assert seeded_cluster.count('POST', TOKEN_PATH) == requests


def test_bound_object_of_another_uid(seeded_cluster, run_playbook):
    run = run_playbook(play(attempt("lookup('mcp.k8s.sa_token', 'mcp/server', "
                                    "bound_object={'kind': 'Pod', 'name': 'web', 'uid': 'not-the-uid'})"),
                            record='{"attempt": attempt}'))
    message = failure(run)
    assert message.startswith('The API server refused to create serviceaccounts/token for ServiceAccount "mcp/server" '
                              '(409 Conflict): Operation cannot be fulfilled on Pod "web"'), message
    assert message.endswith('; the bound object was replaced; omit bound_object.uid to bind to its current uid.')


def test_output_must_be_token_or_dict(seeded_cluster, run_playbook):
    run = run_playbook(play(attempt("lookup('mcp.k8s.sa_token', 'mcp/server', output='yaml')"),
                            record='{"attempt": attempt}'))
    result = run.results['attempt']
    assert result['failed'] is True and 'output' in result['msg'] and 'yaml' in result['msg']
    assert seeded_cluster.count('POST', TOKEN_PATH) == 0


def test_forbidden_names_the_user_and_a_failing_term_of_a_query(seeded_cluster, run_playbook):
    seeded_cluster.objects.create('namespaces', {'metadata': {'name': 'team'}})
    seeded_cluster.create_service_account('worker', 'team')
    seeded_cluster.grant('carol', ['create'], ['serviceaccounts/token'], namespace='mcp')
    carol = seeded_cluster.write_kubeconfig(user='carol')
    run = run_playbook(play(attempt("query('mcp.k8s.sa_token', 'mcp/server', 'mcp/other', 'team/worker', "
                                    "kubeconfig=carol)"), record='{"attempt": attempt}'), extra_vars={'carol': carol})
    assert failure(run) == (
        'Cannot mint a token for ServiceAccount "team/worker" from %s: User "carol" may not create '
        'serviceaccounts/token in namespace "team" (403 Forbidden); grant it "create" on "serviceaccounts/token" with '
        'a Role and RoleBinding.' % asked(seeded_cluster, carol))


def test_unreachable_api_server(seeded_cluster, run_playbook):
    run = run_playbook(play(attempt("lookup('mcp.k8s.sa_token', 'mcp/server', host='https://127.0.0.1:9', "
                                    "api_key='not-a-real-token-1234')"), record='{"attempt": attempt}'))
    message = failure(run)
    assert message == ('Cannot mint a token for ServiceAccount "mcp/server": Cannot reach the API server at '
                       'https://127.0.0.1:9 (connection refused); check host or the kubeconfig and that the server '
                       'is running.'), message
    assert 'not-a-real-token-1234' not in run.output


def test_tls_verification_failure(seeded_cluster, run_playbook):
    token = seeded_cluster.mint_token('server', 'mcp')
    run = run_playbook(play(attempt("lookup('mcp.k8s.sa_token', 'mcp/server', host=url, api_key=token)"),
                            record='{"attempt": attempt}'), extra_vars={'url': seeded_cluster.url, 'token': token})
    message = failure(run)
    assert message.startswith('Cannot mint a token for ServiceAccount "mcp/server": TLS verification of the API '
                              'server at %s failed (' % seeded_cluster.url), message
    assert message.endswith('); give the cluster CA with ca_cert or in the kubeconfig.')
    assert token not in run.output
    assert seeded_cluster.count('POST', TOKEN_PATH) == 0


def test_no_usable_kubeconfig(seeded_cluster, run_playbook, tmp_path):
    missing = str(tmp_path / 'missing-kubeconfig')
    run = run_playbook(play(attempt("lookup('mcp.k8s.sa_token', 'mcp/server')"), record='{"attempt": attempt}'),
                       env={'K8S_AUTH_KUBECONFIG': missing})
    message = failure(run)
    assert message.startswith('No usable Kubernetes configuration ('), message
    assert message.endswith('; set kubeconfig (or K8S_AUTH_KUBECONFIG), or host with credentials, or run inside a pod.')


@pytest.mark.double_only('fault injection')
def test_retries_answers_that_a_second_try_fixes(seeded_cluster, run_playbook):
    seeded_cluster.inject_fault(TOKEN_PATH, status=429, count=1, retry_after=1)
    seeded_cluster.inject_fault(TOKEN_PATH, status=503, count=1)
    run = run_playbook(play(fact("query('mcp.k8s.sa_token', 'mcp/server', 'mcp/other')"), record='minted'))
    assert run.rc == 0, run
    assert [claims_of(token)['sub'] for token in run.results] == ['system:serviceaccount:mcp:server',
                                                                  'system:serviceaccount:mcp:other']
    assert seeded_cluster.count('POST', TOKEN_PATH) == 4


@pytest.mark.parametrize('package, sentence', [
    ('kubernetes', 'The kubernetes Python package is required by the mcp.k8s.sa_token lookup'),
    ('jwt', 'The PyJWT Python package is required by the mcp.k8s.sa_token lookup'),
])
def test_missing_python_package(seeded_cluster, run_playbook, tmp_path, package, sentence):
    shadow = tmp_path / 'shadow' / package
    shadow.mkdir(parents=True)
    (shadow / '__init__.py').write_text('raise ImportError("No module named %r")\n' % package)
    env = {'PYTHONPATH': os.pathsep.join(filter(None, [str(shadow.parent), os.environ.get('PYTHONPATH')]))}
    run = run_playbook(play(attempt("lookup('mcp.k8s.sa_token', 'mcp/server')"), record='{"attempt": attempt}'), env=env)
    message = failure(run)
    assert message.startswith(sentence), message
    assert 'install it in the Python that runs Ansible' in message
    assert seeded_cluster.count('POST', TOKEN_PATH) == 0


def test_docs_render_and_show_the_plugin_options(collections_path):
    from harness import ansible_command
    env = {k: v for k, v in os.environ.items() if not k.startswith('ANSIBLE_')}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(collections_path), ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([ansible_command('ansible-doc'), '-t', 'lookup', '--json', 'mcp.k8s.sa_token'],
                          capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)['mcp.k8s.sa_token']['doc']
    options = doc['options']
    assert options['context']['env'] == [{'name': 'K8S_AUTH_CONTEXT'}]
    assert options['context']['ini'] == [{'section': 'mcp_k8s', 'key': 'context'}]
    assert options['context']['vars'] == [{'name': 'mcp_k8s_context'}]
    assert options['output']['choices'] == ['token', 'dict']
    assert {'namespace', 'audiences', 'duration', 'bound_object', 'validate', 'cache', 'renew_before',
            'workers'} <= set(options)
    notes = ' '.join(doc['notes'])
    assert 'Lazy templating' in notes and 'Check mode' in notes
    assert 'keyword arguments, Ansible variables' in ' '.join(notes.split())
