"""The role's server files (tasks/server_files.yml, module mcp.k8s.server_files): the exec-mode
kubeconfig, its credential file and the upstream server's config; 0600, idempotent, check mode
and diff without the token, removed by state=absent only when the collection wrote them, and
bound to the cluster they were written for."""
import json
import os
import stat

import pytest
import yaml

from harness import cluster_named, recap_changed

NS = 'mcp'


def role_play(variables, state='present'):
    return [{'name': 'role', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'name': 'Run the role', 'ansible.builtin.include_role': {'name': 'mcp.k8s.mcp_k8s_server'},
         'vars': dict({'mcp_k8s_server_auth_kubeconfig': '{{ kubeconfig }}'}, **variables, mcp_k8s_server_state=state)},
        {'name': 'Record', 'no_log': True, 'changed_when': False, 'ansible.builtin.copy': {
            'content': "{{ {'token': mcp_k8s_server_token | default(''),"
                       " 'summary': mcp_k8s_server_summary | default(none),"
                       " 'kubeconfig': mcp_k8s_server_kubeconfig | default(none)} | to_json }}",
            'dest': '{{ results_file }}', 'mode': '0600'}}]}]


@pytest.fixture
def files(cluster, tmp_path):
    cluster.objects.create('namespaces', {'metadata': {'name': NS}})
    return {'mcp_k8s_server_namespace': NS,
            'mcp_k8s_server_kubeconfig_path': str(tmp_path / 'server' / 'kubeconfig'),
            'mcp_k8s_server_config_path': str(tmp_path / 'server' / 'config.yaml'),
            'mcp_k8s_server_config_port': 8123}


@pytest.mark.slow
def test_files_written_once_without_secrets_in_output(files, run_playbook, tmp_path):
    os.makedirs(str(tmp_path / 'server'))
    checked = run_playbook(role_play(files), check=True, diff=True)
    assert checked.rc == 0, str(checked)
    assert os.listdir(str(tmp_path / 'server')) == []
    assert 'config_path: %s' % files['mcp_k8s_server_kubeconfig_path'] in checked.stdout   # the config's diff

    first = run_playbook(role_play(files), diff=True)
    assert first.rc == 0, str(first)
    token = first.results['token']
    assert token and token not in first.output
    assert '(token hidden)' in first.stdout
    for name in ('kubeconfig', 'kubeconfig.credential.json', 'config.yaml'):
        assert stat.S_IMODE(os.stat(str(tmp_path / 'server' / name)).st_mode) == 0o600, name
    kubeconfig = yaml.safe_load(open(files['mcp_k8s_server_kubeconfig_path'], encoding='utf-8'))
    assert kubeconfig == first.results['kubeconfig']       # the fact is the exec kubeconfig, no token
    assert token not in json.dumps(kubeconfig)
    with open(files['mcp_k8s_server_kubeconfig_path'] + '.credential.json', encoding='utf-8') as handle:
        same = json.load(handle)['status']['token'] == token
    assert same, 'the credential file holds another token than the fact'
    config = yaml.safe_load(open(files['mcp_k8s_server_config_path'], encoding='utf-8'))
    assert config['server'] == {'name': 'mcp-k8s-server', 'transport': 'sse', 'host': '127.0.0.1', 'port': 8123}
    assert config['kubernetes'] == {'config_path': files['mcp_k8s_server_kubeconfig_path'], 'namespace': 'default'}

    again = run_playbook(role_play(files), diff=True, verbosity=3)
    assert again.rc == 0 and recap_changed(again.stdout) == 0, str(again)
    assert again.results['token'] == token                 # reused from the credential file
    assert token not in again.output

    gone = run_playbook(role_play(files, state='absent'))
    assert gone.rc == 0, str(gone)
    assert os.listdir(str(tmp_path / 'server')) == []


@pytest.mark.slow
def test_a_config_file_not_ours_is_refused_and_kept(files, cluster, run_playbook, tmp_path):
    os.makedirs(str(tmp_path / 'server'))
    foreign = 'server: {port: 9}\n'
    with open(files['mcp_k8s_server_config_path'], 'w', encoding='utf-8') as handle:
        handle.write(foreign)
    run = run_playbook(role_play(files))
    assert run.rc == 2
    assert ('%s exists and was not written by mcp.k8s; move it away, set mcp_k8s_server_config_path to another path, '
            'or set mcp_k8s_server_kubeconfig_overwrite: true to replace it.' % files['mcp_k8s_server_config_path']) in run.stdout
    assert 'Traceback' not in run.output
    gone = run_playbook(role_play(files, state='absent'))
    assert gone.rc == 0, str(gone)
    with open(files['mcp_k8s_server_config_path'], encoding='utf-8') as handle:
        assert handle.read() == foreign


@pytest.mark.slow
def test_token_mode_keeps_the_token_in_the_kubeconfig(files, run_playbook, tmp_path):
    os.makedirs(str(tmp_path / 'server'))    # token mode: ansible.builtin.copy writes it, into an existing folder
    variables = dict(files, mcp_k8s_server_kubeconfig_credential='token')
    run = run_playbook(role_play(variables))
    assert run.rc == 0, str(run)
    kubeconfig = yaml.safe_load(open(files['mcp_k8s_server_kubeconfig_path'], encoding='utf-8'))
    same = kubeconfig['users'][0]['user'].get('token') == run.results['token']
    assert same, 'the kubeconfig does not hold the token'
    assert sorted(os.listdir(str(tmp_path / 'server'))) == ['config.yaml', 'kubeconfig']


@pytest.mark.slow
def test_config_without_kubeconfig_is_one_sentence(files, run_playbook):
    variables = dict(files, mcp_k8s_server_kubeconfig_path='')
    run = run_playbook(role_play(variables))
    assert run.rc == 2
    assert "config_path needs kubeconfig_path: the server config points at the account's kubeconfig." in run.stdout
    assert 'Traceback' not in run.output


def file_texts(folder):
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(str(folder)))}


@pytest.mark.slow
def test_files_stay_with_their_cluster(files, cluster, kube_double_factory, run_playbook, tmp_path):
    """Issue 24 §1: the settings run again with another cluster's kubeconfig (a context switch)
    neither creates the account there nor repoints the files; a deprovision against that other
    cluster keeps them and says why; the move is one variable away."""
    east, west = cluster, kube_double_factory()
    west.objects.create('namespaces', {'metadata': {'name': NS}})
    on_west = dict(files, mcp_k8s_server_auth_kubeconfig=west.kubeconfig_path)
    first = run_playbook(role_play(files))
    assert first.rc == 0, str(first)
    folder = tmp_path / 'server'
    written = file_texts(folder)
    assert sorted(written) == ['config.yaml', 'kubeconfig', 'kubeconfig.credential.json']
    assert json.loads(written['kubeconfig.credential.json'])['mcp.k8s']['server'] == east.url

    west.clear_requests()
    switched = run_playbook(role_play(on_west))
    assert switched.rc == 2
    sentence = ('%s serves system:serviceaccount:%s:mcp-k8s-server on the cluster at %s, but this run is against the '
                'cluster at %s; check the kubeconfig and context this run uses, or set mcp_k8s_server_move_cluster to '
                'true to point the files at %s (the account and its rights stay on %s until a deprovision there).'
                % (files['mcp_k8s_server_kubeconfig_path'], NS, cluster_named(east), cluster_named(west), west.url,
                   east.url))
    assert sentence in switched.stdout, switched.stdout[-3000:]
    assert 'Traceback' not in switched.output
    assert file_texts(folder) == written                                    # not repointed
    assert west.objects.find('serviceaccounts', 'mcp-k8s-server', NS) is None
    assert [r for r in west.requests if r['method'] != 'GET'] == []         # nothing created on west

    kept = run_playbook(role_play(on_west, state='absent'))
    assert kept.rc == 0, str(kept)
    assert file_texts(folder) == written                                    # another cluster's: kept
    reason = ('written for the cluster at %s, not this one at %s: run the deprovision against that cluster to remove it'
              % (cluster_named(east), cluster_named(west)))
    assert [(f['file'], f['changed'], f.get('reason')) for f in kept.results['summary']['files']] == [
        ('kubeconfig', False, reason), ('credential', False, reason), ('config', False, reason)]
    assert east.objects.find('serviceaccounts', 'mcp-k8s-server', NS) is not None

    moved = run_playbook(role_play(dict(on_west, mcp_k8s_server_move_cluster=True)))
    assert moved.rc == 0, str(moved)
    kubeconfig = yaml.safe_load((folder / 'kubeconfig').read_text())
    assert kubeconfig['clusters'][0]['cluster']['server'] == west.url
    assert west.objects.find('serviceaccounts', 'mcp-k8s-server', NS) is not None

    east_gone = run_playbook(role_play(files, state='absent'))               # east's account goes, west's files stay
    assert east_gone.rc == 0, str(east_gone)
    assert east.objects.find('serviceaccounts', 'mcp-k8s-server', NS) is None
    assert sorted(os.listdir(str(folder))) == ['config.yaml', 'kubeconfig', 'kubeconfig.credential.json']
    west_gone = run_playbook(role_play(on_west, state='absent'))
    assert west_gone.rc == 0, str(west_gone)
    assert os.listdir(str(folder)) == []


@pytest.mark.slow
def test_the_credential_file_may_not_be_the_kubeconfig(files, cluster, run_playbook, tmp_path):
    os.makedirs(str(tmp_path / 'server'))
    cluster.clear_requests()
    variables = dict(files, mcp_k8s_server_credential_path=files['mcp_k8s_server_kubeconfig_path'])
    run = run_playbook(role_play(variables))
    assert run.rc == 2
    assert ('mcp_k8s_server_credential_path and mcp_k8s_server_kubeconfig_path name the same file, %s, which would hold '
            'both; set mcp_k8s_server_credential_path to another path.' % files['mcp_k8s_server_kubeconfig_path']) in run.stdout
    assert os.listdir(str(tmp_path / 'server')) == []
    assert cluster.objects.find('serviceaccounts', 'mcp-k8s-server', NS) is None    # refused before anything changed
