"""The shipped playbooks over an inventory of clusters: ``ansible-playbook -i inventory
mcp.k8s.provision`` / ``mcp.k8s.deprovision`` / ``mcp.k8s.token`` with ``mcp_k8s_hosts`` and each
host's ``mcp_k8s_*`` connection variables, as docs/playbooks.md shows them."""
import json
import os
import re

import pytest
import yaml

import harness
from harness import claims_of, cluster_named

SA = 'mcp-k8s-server'
USER = 'system:serviceaccount:default:%s' % SA
RBAC = 'ClusterRoleBinding mcp-k8s-server, ClusterRole mcp-k8s-server, ServiceAccount default/mcp-k8s-server'


def run_collection_playbook(ansible_env, tmp_path, name, *args, rc=0):
    """``ansible-playbook ... mcp.k8s.NAME`` with no K8S_AUTH_KUBECONFIG: only the inventory says
    where each cluster is. Its output; that of stdout and stderr when ``rc`` is not 0."""
    env = dict(ansible_env, K8S_AUTH_KUBECONFIG='', KUBECONFIG=str(tmp_path / 'no-such-kubeconfig'))
    proc = harness.run_collection_playbook(env, tmp_path, name, *args, timeout=900)
    assert proc.returncode == rc, proc.stdout[-6000:] + proc.stderr[-3000:]
    return proc.stdout if rc == 0 else proc.stdout + proc.stderr


def host_results(stdout, task):
    """{host: result} of ``task`` in default-callback output."""
    section = stdout.split('TASK [%s]' % task, 1)[1].split('\nTASK [', 1)[0].split('\nPLAY RECAP', 1)[0]
    results = {}
    for match in re.finditer(r'^ok: \[([^\]]+)\] => ', section, re.M):
        results[match.group(1)] = json.JSONDecoder().raw_decode(section[match.end():])[0]
    return results


def recap(stdout):
    return dict((m.group(1), int(m.group(2))) for m in re.finditer(r'^(\S+)\s+: ok=\d+\s+changed=(\d+)', stdout, re.M))


def service_account(server):
    return server.objects.find('serviceaccounts', SA, 'default')


@pytest.fixture
def fleet(cluster, kube_double_factory, tmp_path):
    """Two clusters in an inventory group ``clusters``: east (the server under test, double or
    real) and west (a second double); east keeps a kubeconfig for the server, west none."""
    west = kube_double_factory()
    east_kubeconfig = str(tmp_path / 'east.kubeconfig')
    inventory = tmp_path / 'clusters.yml'
    inventory.write_text(yaml.safe_dump({'clusters': {'hosts': {
        'east': {'mcp_k8s_kubeconfig': cluster.kubeconfig_path, 'mcp_k8s_server_kubeconfig_path': east_kubeconfig},
        'west': {'mcp_k8s_kubeconfig': west.kubeconfig_path},
    }}}))
    return {'east': cluster, 'west': west, 'inventory': str(inventory), 'east_kubeconfig': east_kubeconfig}


def test_a_fleet_is_provisioned_and_deprovisioned_with_a_summary_per_cluster(fleet, ansible_env, tmp_path):
    east, west, inventory = fleet['east'], fleet['west'], fleet['inventory']
    out = run_collection_playbook(ansible_env, tmp_path, 'provision', '-i', inventory, '-e', 'mcp_k8s_hosts=clusters')
    assert set(recap(out)) == {'east', 'west'}
    for server in (east, west):
        account = service_account(server)
        assert account is not None and account['metadata']['annotations']['mcp.k8s/service-account'] == 'default/' + SA
        assert server.objects.find('clusterrolebindings', SA) is not None
    assert os.path.exists(fleet['east_kubeconfig']) and not os.path.exists(str(tmp_path / 'west.kubeconfig'))
    summaries = host_results(out, 'Summary')
    assert set(summaries) == {'east', 'west'}
    assert '"Verified:   6 access checks passed"' in out

    out = run_collection_playbook(ansible_env, tmp_path, 'deprovision', '-i', inventory, '-e', 'mcp_k8s_hosts=clusters')
    for server in (east, west):
        assert service_account(server) is None and server.objects.find('clusterrolebindings', SA) is None
    assert not os.path.exists(fleet['east_kubeconfig'])
    summaries = host_results(out, 'Summary')
    east_kubeconfig = fleet['east_kubeconfig']
    assert summaries['east']['msg'] == [
        'Account: %s' % USER,
        'Removed: %s, file %s, file %s.credential.json' % (RBAC, east_kubeconfig, east_kubeconfig),
        'Kept:    Namespace default (mcp_k8s_server_delete_namespace is false)']
    assert summaries['west']['msg'] == [
        'Account: %s' % USER,
        'Removed: %s' % RBAC,
        'Kept:    Namespace default (mcp_k8s_server_delete_namespace is false); any kubeconfig the provision playbook '
        'wrote (not looked for: give -e mcp_k8s_server_kubeconfig_path=PATH)']
    # every change is one the summary lists: east removed objects and files, west objects
    changed = recap(out)
    assert changed['east'] >= 2 and changed['west'] >= 1

    again = run_collection_playbook(ansible_env, tmp_path, 'deprovision', '-i', inventory, '-e', 'mcp_k8s_hosts=clusters')
    assert recap(again) == {'east': 0, 'west': 0}
    summaries = host_results(again, 'Summary')
    assert summaries['east']['msg'][1] == summaries['west']['msg'][1] == 'Removed: nothing (none of it was there)'


def test_a_foreign_file_is_kept_and_said_so(fleet, ansible_env, tmp_path):
    with open(fleet['east_kubeconfig'], 'w', encoding='utf-8') as handle:
        handle.write('apiVersion: v1\nkind: Config\nusers: []\n')
    out = run_collection_playbook(ansible_env, tmp_path, 'deprovision', '-i', fleet['inventory'],
                                  '-e', 'mcp_k8s_hosts=east')
    assert set(recap(out)) == {'east'}
    assert host_results(out, 'Summary')['east']['msg'][2] == (
        'Kept:    Namespace default (mcp_k8s_server_delete_namespace is false); file %s (not written by mcp.k8s)'
        % fleet['east_kubeconfig'])
    assert os.path.exists(fleet['east_kubeconfig'])


def test_a_deprovision_against_another_cluster_keeps_its_files(fleet, ansible_env, tmp_path):
    """Issue 24 §1: east's files, and a deprovision whose connection reaches west (a switched
    context): west's account goes, east's files stay, and the summary says why."""
    east, west, inventory = fleet['east'], fleet['west'], fleet['inventory']
    run_collection_playbook(ansible_env, tmp_path, 'provision', '-i', inventory, '-e', 'mcp_k8s_hosts=east')
    kubeconfig = fleet['east_kubeconfig']
    with open(kubeconfig, encoding='utf-8') as handle:
        before = handle.read()
    out = run_collection_playbook(ansible_env, tmp_path, 'deprovision', '-i', inventory, '-e', 'mcp_k8s_hosts=east',
                                  '-e', 'mcp_k8s_kubeconfig=' + west.kubeconfig_path)
    reason = ('written for the cluster at %s, not this one at %s: run the deprovision against that cluster to remove it'
              % (cluster_named(east), cluster_named(west)))
    assert host_results(out, 'Summary')['east']['msg'][2] == (
        'Kept:    Namespace default (mcp_k8s_server_delete_namespace is false); file {k} ({r}); file {k}.credential.json '
        '({r})'.format(k=kubeconfig, r=reason))
    with open(kubeconfig, encoding='utf-8') as handle:
        assert handle.read() == before
    assert service_account(east) is not None
    out = run_collection_playbook(ansible_env, tmp_path, 'deprovision', '-i', inventory, '-e', 'mcp_k8s_hosts=east')
    assert not os.path.exists(kubeconfig) and service_account(east) is None


def test_the_token_playbook_mints_on_each_cluster_of_the_inventory(fleet, ansible_env, tmp_path):
    for server in (fleet['east'], fleet['west']):
        server.create_service_account('ci', 'build')
    out = run_collection_playbook(ansible_env, tmp_path, 'token', '-i', fleet['inventory'], '-e', 'mcp_k8s_hosts=clusters',
                                  '-e', 'token_service_account=ci', '-e', 'token_namespace=build')
    shown = host_results(out, 'Show the token\'s expiry and claims')
    assert set(shown) == {'east', 'west'}
    for host in ('east', 'west'):
        uid = fleet[host].objects.get('serviceaccounts', 'ci', 'build')['metadata']['uid']
        assert shown[host]['msg']['service_account']['uid'] == uid


def test_connection_variables_of_the_lookup_reach_the_cluster(cluster, ansible_env, tmp_path):
    """Without an inventory (localhost), -e mcp_k8s_kubeconfig is the connection."""
    out = run_collection_playbook(ansible_env, tmp_path, 'provision', '-e', 'mcp_k8s_kubeconfig=' + cluster.kubeconfig_path,
                                  '-e', 'mcp_k8s_server_verify=false')
    assert set(recap(out)) == {'localhost'}
    assert service_account(cluster) is not None


def test_delete_namespace_keeps_a_namespace_holding_what_the_run_did_not_make(cluster, ansible_env, tmp_path):
    """F2: namespace hx made for h1 also holds the accounts h2 and short (with their cluster-wide
    bindings) and a hand-made ConfigMap. Deprovisioning h1 with delete_namespace keeps hx (in
    check mode too) and names what it holds; once only h1's objects and what Kubernetes puts in
    every namespace are left (measured on the real tier: nothing else appears), hx is deleted;
    afterwards nothing is said about it."""
    inventory = tmp_path / 'one.yml'
    inventory.write_text(yaml.safe_dump({'clusters': {'hosts': {'east': {'mcp_k8s_kubeconfig': cluster.kubeconfig_path}}}}))

    def playbook(name, account, *extra):
        args = ['-i', str(inventory), '-e', 'mcp_k8s_hosts=clusters', '-e', 'mcp_k8s_server_namespace=hx',
                '-e', 'mcp_k8s_server_service_account=' + account]
        for item in extra:
            args += ['-e', item] if '=' in item else [item]
        return run_collection_playbook(ansible_env, tmp_path, name, *args)

    def kept_items(out):
        line = host_results(out, 'Summary')['east']['msg'][2]
        assert line.startswith('Kept:    '), line
        return line[len('Kept:    '):].split('; ')

    playbook('provision', 'h1', 'mcp_k8s_server_create_namespace=true')
    playbook('provision', 'h2')
    playbook('provision', 'short')
    cluster.objects.create('configmaps', {'metadata': {'name': 'precious'}, 'data': {'a': 'b'}}, 'hx')
    kept = ('Namespace hx (it holds ConfigMap precious, ServiceAccount h2, ServiceAccount short, which this run '
            'did not make)')
    for check in ([], ['--check']):
        out = playbook('deprovision', 'h1', 'mcp_k8s_server_delete_namespace=true', *check)
        assert kept_items(out)[0] == kept
    assert cluster.objects.find('serviceaccounts', 'h1', 'hx') is None
    assert cluster.objects.find('namespaces', 'hx') is not None
    assert cluster.objects.find('configmaps', 'precious', 'hx')['data'] == {'a': 'b'}
    for name in ('h2', 'short'):
        assert cluster.objects.find('serviceaccounts', name, 'hx') is not None
        assert cluster.objects.find('clusterrolebindings', name)['subjects'][0]['name'] == name

    playbook('deprovision', 'h2')
    playbook('deprovision', 'short')
    cluster.objects.delete('configmaps', 'precious', 'hx')
    out = playbook('deprovision', 'h1', 'mcp_k8s_server_delete_namespace=true')
    assert host_results(out, 'Summary')['east']['msg'][1] == 'Removed: Namespace hx'
    assert [item for item in kept_items(out) if item.startswith('Namespace')] == []
    namespace = cluster.objects.find('namespaces', 'hx')
    assert namespace is None or namespace['metadata'].get('deletionTimestamp')
    out = playbook('deprovision', 'h1', 'mcp_k8s_server_delete_namespace=true')
    assert host_results(out, 'Summary')['east']['msg'][1] == 'Removed: nothing (none of it was there)'
    assert [item for item in kept_items(out) if item.startswith('Namespace')] == []


TOKEN_PATH = r'/namespaces/build/serviceaccounts/ci/token'


def _token_playbook(cluster, ansible_env, tmp_path, *extra, rc=0):
    return run_collection_playbook(ansible_env, tmp_path, 'token', '-e', 'mcp_k8s_kubeconfig=' + cluster.kubeconfig_path,
                                   '-e', 'token_service_account=ci', '-e', 'token_namespace=build', *extra, rc=rc)


def test_the_token_playbook_never_overwrites_a_file_it_did_not_write(cluster, ansible_env, tmp_path):
    """F1/F7: an admin kubeconfig, an unrelated file, a symlink and an unwritable folder are refused
    with the module's own sentence (not a censored result), before any token is minted."""
    cluster.create_service_account('ci', 'build')
    admin = tmp_path / 'admin.conf'
    admin.write_text(yaml.safe_dump({'apiVersion': 'v1', 'kind': 'Config', 'current-context': 'admin',
                                     'users': [{'name': 'admin', 'user': {'token': 'x'}}],
                                     'contexts': [{'name': 'admin', 'context': {'cluster': 'c', 'user': 'admin'}}],
                                     'clusters': [{'name': 'c', 'cluster': {'server': 'https://c'}}]}))
    unrelated = tmp_path / 'notes.txt'
    unrelated.write_text('keep me\n')
    os.chmod(str(unrelated), 0o644)
    link = tmp_path / 'link'
    link.symlink_to(unrelated)
    blocked = str(unrelated / 'sub' / 'token')      # under a plain file: no folder can be made
    cluster.clear_requests()
    cases = [
        ('token_kubeconfig_path=%s' % admin, '%s exists and was not written by mcp.k8s; move it away' % admin),
        ('token_file=%s' % unrelated, 'token_path %s exists and is not a token file of '
                                      'system:serviceaccount:build:ci that mcp.k8s wrote, so it was not '
                                      'replaced; remove it or choose another path.' % unrelated),
        ('token_file=%s' % link, 'token_path %s is a symbolic link, which is never replaced; remove it or choose '
                                 'another path.' % link),
        ('token_file=%s' % blocked, 'token_path %s cannot be written: its folder cannot be created or written by '
                                    'this user; choose another path.' % blocked),
    ]
    for variable, sentence in cases:
        out = _token_playbook(cluster, ansible_env, tmp_path, '-e', variable, rc=2)
        assert 'Report why the token cannot be written there' in out, out[-3000:]
        assert sentence in ' '.join(out.split()), out[-3000:]
        assert 'censored' not in out and 'Traceback' not in out
    assert cluster.count('POST', TOKEN_PATH) == 0           # refused before minting
    assert yaml.safe_load(admin.read_text())['users'][0]['name'] == 'admin'
    assert unrelated.read_text() == 'keep me\n' and os.stat(str(unrelated)).st_mode & 0o777 == 0o644
    assert link.is_symlink()


def test_the_token_playbook_rewrites_the_files_it_wrote(cluster, ansible_env, tmp_path):
    cluster.create_service_account('ci', 'build')
    token_file = tmp_path / 'new' / 'ci.token'
    kubeconfig = tmp_path / 'new' / 'ci.kubeconfig'
    tokens = []
    for _run in range(2):
        out = _token_playbook(cluster, ansible_env, tmp_path, '-e', 'token_file=%s' % token_file,
                              '-e', 'token_kubeconfig_path=%s' % kubeconfig)
        token = token_file.read_text()
        assert token not in out
        tokens.append(token)
        assert claims_of(token)['sub'] == 'system:serviceaccount:build:ci'
        assert yaml.safe_load(kubeconfig.read_text())['users'][0]['user']['token'] == token
        for path in (token_file, kubeconfig):
            assert os.stat(str(path)).st_mode & 0o777 == 0o600
    assert tokens[0] != tokens[1]                           # a second run mints and replaces its own files
    assert cluster.count('POST', TOKEN_PATH) == 2
