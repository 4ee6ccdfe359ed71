"""Every fenced block of README.md and docs/*.md is either run as written by a named test or listed
here as not runnable, with the reason. A new block fails test_every_block_is_run_or_listed until it
is run (add its test to RUN) or listed (NOT_RUNNABLE). The blocks run in this file: the README's
`make demo` and installing from a tarball (also the server guide's), the README's audit-log search,
and the server guide's settings file, provision and deprovision commands."""
import os
import re
import shutil
import stat
import subprocess

import pytest
import yaml

from docs_blocks import ROOT, block, blocks, commands, pages, run_command
from harness import PYTHON, ansible_command

HERE = 'tests/integration/test_docs_examples.py'

# (page, language, the block starts with) -> (test that runs it as written, a string of that test's file
# that shows it reads this block)
RUN = {
    ('README.md', 'console', 'make demo'): (HERE + '::test_make_demo_as_written', "'make demo'"),
    ('README.md', 'yaml', '- hosts: localhost\n'): (
        'tests/integration/test_docs_connecting.py::test_the_readme_example_as_written', "'- hosts: localhost\\n"),
    ('README.md', 'console', 'ansible-galaxy collection build'): (HERE + '::test_installing_from_a_tarball_as_written', "'README.md'"),
    ('README.md', 'jinja', 'server: https://mcp.example.com/mcp'): (
        'tests/integration/test_sa_token_lookup.py::test_a_rendered_template_keeps_its_token_while_it_is_valid', "'```jinja\\n%s```'"),
    ('README.md', 'yaml', '- name: Render the client configuration'): (
        'tests/integration/test_sa_token_lookup.py::test_a_rendered_template_keeps_its_token_while_it_is_valid',
        "'Render the client configuration' in block"),
    ('README.md', 'yaml', '- name: Mint a token and remember only its credential id'): (
        HERE + '::test_finding_where_a_token_was_used_as_written', "'- name: Mint a token and remember only its credential id'"),
    ('docs/connecting.md', 'yaml', '# clusters.yml'): (
        'tests/integration/test_docs_connecting.py::test_the_connecting_and_playbooks_pages_as_written', "'# clusters.yml'"),
    ('docs/connecting.md', 'yaml', '# fleet.yml'): (
        'tests/integration/test_docs_connecting.py::test_the_connecting_and_playbooks_pages_as_written', "'# fleet.yml'"),
    ('docs/connecting.md', 'console', 'ansible-playbook -i clusters.yml mcp.k8s.provision'): (
        'tests/integration/test_docs_connecting.py::test_the_connecting_and_playbooks_pages_as_written',
        "'ansible-playbook -i clusters.yml mcp.k8s.provision'"),
    ('docs/connecting.md', 'console', 'ansible-playbook -i clusters.yml fleet.yml'): (
        'tests/integration/test_docs_connecting.py::test_the_connecting_and_playbooks_pages_as_written',
        "'ansible-playbook -i clusters.yml fleet.yml'"),
    ('docs/playbooks.md', 'console', 'ansible-playbook -i clusters.yml mcp.k8s.deprovision'): (
        'tests/integration/test_docs_connecting.py::test_the_connecting_and_playbooks_pages_as_written',
        "'ansible-playbook -i clusters.yml mcp.k8s.deprovision'"),
    ('docs/playbooks.md', 'console', 'ansible-playbook -i clusters.yml mcp.k8s.token'): (
        'tests/integration/test_docs_connecting.py::test_the_connecting_and_playbooks_pages_as_written',
        "'ansible-playbook -i clusters.yml mcp.k8s.token'"),
    ('docs/mcp-k8s-server.md', 'console', 'ansible-galaxy collection build'): (
        HERE + '::test_installing_from_a_tarball_as_written', "'docs/mcp-k8s-server.md'"),
    ('docs/mcp-k8s-server.md', 'yaml', '# the cluster:'): (HERE + '::test_the_server_guide_as_written', "'mcp_k8s_server_namespace'"),
    ('docs/mcp-k8s-server.md', 'console', 'ansible-playbook mcp.k8s.provision'): (
        HERE + '::test_the_server_guide_as_written', "'mcp.k8s.provision'"),
    ('docs/mcp-k8s-server.md', 'console', 'ansible-playbook mcp.k8s.deprovision'): (
        HERE + '::test_the_server_guide_as_written', "'mcp.k8s.deprovision'"),
}

NOT_RUNNABLE = {
    ('docs/benchmarks.md', 'json', '{'): 'the measurements make bench writes (tests/bench/run.py), not something to type',
    ('docs/development.md', '', 'galaxy.yml'): "the repository's layout, not a command",
    ('docs/development.md', '', 'modules/sa_token.py'): (
        "the path of a token, drawn; tests/bench/token_path.py counts it and test_token_path.py checks the count"),
    ('docs/development.md', 'python', 'from kube_double import KubeDouble'): (
        "the double's interface with placeholders (state_dir, path_re); tests/unit/kube_double uses every call"),
    ('docs/development.md', 'python', 'kube_double_factory('): "the double's helpers with placeholders (...); tests/unit/kube_double uses each",
    ('docs/development.md', 'python', 'from harness import play, record_task'): (
        'the harness interface with placeholders (TASK, {...}); every integration test uses run_playbook'),
    ('docs/development.md', 'yaml', '- name: Record results'): (
        "the pattern of the test playbooks' last task; it needs the harness's results_file"),
    ('docs/mcp-k8s-server.md', '', '*/5 * * * *'): 'a crontab line (cron runs it, as root); the command in it is the provision command run above',
    ('docs/mcp-k8s-server.md', 'ini', '[Unit]\nDescription=Rotate the token of mcp-k8s-server\n'): (
        'a systemd service unit: needs systemd as PID 1 and root; its ExecStart is the provision command run above'),
    ('docs/mcp-k8s-server.md', 'ini', '[Unit]\nDescription=Rotate the token of mcp-k8s-server every'): (
        'a systemd timer unit: needs systemd as PID 1 and root'),
    ('docs/playbooks.md', 'text', 'Account: '): (
        "sample output; the deprovision run of test_docs_connecting asserts its Removed: line"),
    ('docs/testing-against-a-cluster.md', 'console', 'mkdir -p ~/src/ansible_collections/mcp'): (
        'has a placeholder (git clone <this repository>) and runs against your cluster; make targets '
        '(scripts/run_targets.py) runs the same ansible-test integration --local against the real control plane'),
}


def entries_for(found):
    return [key for key in list(RUN) + list(NOT_RUNNABLE)
            if key[0] == found.page and key[1] == found.lang and found.text.startswith(key[2])]


def test_every_block_is_run_or_listed():
    unlisted, ambiguous, matched = [], [], set()
    for page in pages():
        for found in blocks(page):
            keys = entries_for(found)
            matched.update(keys)
            if not keys:
                unlisted.append(str(found))
            elif len(keys) > 1:
                ambiguous.append('%s: %s' % (found, keys))
    assert not unlisted, 'blocks neither run by a test nor listed as not runnable:\n' + '\n'.join(unlisted)
    assert not ambiguous, '\n'.join(ambiguous)
    stale = [key for key in list(RUN) + list(NOT_RUNNABLE) if key not in matched]
    assert not stale, 'entries for blocks the pages no longer hold: %s' % stale
    for key, (test, evidence) in RUN.items():
        path, name = test.split('::')
        with open(os.path.join(ROOT, path), encoding='utf-8') as handle:
            source = handle.read()
        assert 'def %s(' % name in source, (key, test)
        assert evidence in source, '%s does not read the block %s' % (path, key)
    for key, reason in NOT_RUNNABLE.items():
        assert len(reason) > 20, key


def tracked_copy(destination):
    """The repository's tracked files, where a user's checkout would be."""
    files = subprocess.run(['git', 'ls-files', '-z'], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split('\0')
    for name in filter(None, files):
        target = os.path.join(str(destination), name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, name), target)
    return destination


def user_env(home, **extra):
    env = {name: value for name, value in os.environ.items() if not name.startswith(('ANSIBLE_', 'K8S_AUTH_', 'KUBECONFIG'))}
    env.update(HOME=str(home), ANSIBLE_NOCOLOR='1', PATH=os.path.dirname(PYTHON) + os.pathsep + env.get('PATH', ''))
    env.update(extra)
    return env


@pytest.mark.parametrize('page', ['README.md', 'docs/mcp-k8s-server.md'])
def test_installing_from_a_tarball_as_written(page, tmp_path):
    """In a checkout: build, install the tarball (into the first collections path, here a
    temporary one), and for the README ansible-doc of the module from the install."""
    checkout = tracked_copy(tmp_path / 'checkout')
    collections = tmp_path / 'collections'
    env = user_env(tmp_path / 'home', ANSIBLE_COLLECTIONS_PATH=str(collections))
    with open(os.path.join(ROOT, 'galaxy.yml'), encoding='utf-8') as handle:
        version = yaml.safe_load(handle)['version']
    outputs = []
    for argv in commands(block(page, 'console', 'ansible-galaxy collection build')):
        proc = run_command(argv, env, checkout)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        outputs.append(proc.stdout)
    assert (checkout / ('mcp-k8s-%s.tar.gz' % version)).is_file()
    with open(collections / 'ansible_collections' / 'mcp' / 'k8s' / 'MANIFEST.json', encoding='utf-8') as handle:
        assert yaml.safe_load(handle)['collection_info']['version'] == version
    assert 'mcp.k8s:%s was installed successfully' % version in outputs[1]
    if page == 'README.md':
        assert outputs[2].startswith('> MODULE mcp.k8s.sa_token') and 'duration' in outputs[2], outputs[2][:500]


def test_make_demo_as_written(tmp_path):
    """`make demo` in a checkout (its virtual environment already built): the double, the provision
    playbook, the account's kubeconfig that may list pods but not read secrets. The block's second
    line, `make test`, is the command that runs this test: it is not run from here."""
    checkout = tracked_copy(tmp_path / 'checkout')
    venv = os.path.dirname(os.path.dirname(PYTHON))
    os.symlink(venv, str(checkout / '.venv'))
    # a checkout whose virtual environment was built after it was checked out: make keeps it
    built = os.stat(os.path.join(venv, '.installed')).st_mtime - 60
    for folder, _dirs, files in os.walk(str(checkout)):
        for name in files:
            if not os.path.islink(os.path.join(folder, name)):
                os.utime(os.path.join(folder, name), (built, built))
    argvs = commands(block('README.md', 'console', 'make demo'))
    assert argvs == [['make', 'demo'], ['make', 'test']], argvs
    proc = run_command(argvs[0], user_env(tmp_path / 'home'), checkout, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert re.search(r'Account:\s+system:serviceaccount:default:mcp-k8s-server', out), out[-6000:]
    assert re.search(r'Verified:\s+\d+ access checks passed', out), out[-6000:]
    # the account's own kubeconfig: pods listed, secrets refused by the API server
    assert 'Error from server (Forbidden): secrets is forbidden: User "system:serviceaccount:default:mcp-k8s-server"' in out, out[-6000:]
    kubeconfig = checkout / '.demo' / 'mcp-k8s-server.kubeconfig'
    assert oct(kubeconfig.stat().st_mode & 0o777) == '0o600'


@pytest.mark.real_only("reads kube-apiserver's audit log")
def test_finding_where_a_token_was_used_as_written(cluster, collections_path, tmp_path):
    """The README's two tasks, in a play, with one request made with the token between them; the audit
    log path of a control-plane node (/var/log/kubernetes/audit.log) is the real control plane's."""
    tasks = yaml.safe_load(block('README.md', 'yaml', '- name: Mint a token and remember only its credential id'))
    assert len(tasks) == 2 and '/var/log/kubernetes/audit.log' in tasks[1]['ansible.builtin.command']
    tasks[1]['ansible.builtin.command'] = tasks[1]['ansible.builtin.command'].replace('/var/log/kubernetes/audit.log', cluster.audit_log_path)
    tasks[1]['register'] = 'uses'
    cluster.create_service_account('deploy-bot', 'ci')
    use = {'name': 'Use the token', 'kubernetes.core.k8s_info': {'kind': 'ConfigMap', 'namespace': 'ci'},
           'module_defaults': {'group/kubernetes.core.k8s': '{{ minted.connection }}'}, 'ignore_errors': True}
    record = {'name': 'Record', 'ansible.builtin.copy': {'content': '{{ uses.stdout_lines | to_json }}', 'dest': str(tmp_path / 'uses.json')}}
    (tmp_path / 'play.yml').write_text(yaml.safe_dump([{'hosts': 'localhost', 'gather_facts': False,
                                                        'tasks': [tasks[0], use, tasks[1], record]}], sort_keys=False))
    env = user_env(tmp_path / 'home', ANSIBLE_COLLECTIONS_PATH=str(collections_path), K8S_AUTH_KUBECONFIG=cluster.kubeconfig_path)
    proc = run_command([ansible_command('ansible-playbook'), 'play.yml'], env, tmp_path)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    uses = [yaml.safe_load(line) for line in yaml.safe_load((tmp_path / 'uses.json').read_text())]
    # kubernetes.core's discovery (/version, /apis, ...) and its list, all made with the token
    assert ['list', '/api/v1/namespaces/ci/configmaps', 403] in [use[1:] for use in uses], uses
    assert all(len(use) == 4 for use in uses), uses


def test_the_server_guide_as_written(cluster, collections_path, tmp_path):
    """docs/mcp-k8s-server.md: its settings file, the provision command (the admin kubeconfig in
    ~/.kube/config), the files it writes, then the deprovision command. The server's own install
    and start (the next two commands) are checked against the pins and config the end-to-end tests
    run it with (tests/integration/test_mcp_servers.py starts it from the same config)."""
    home = tmp_path / 'home'
    (home / '.kube').mkdir(parents=True)
    env = user_env(home, ANSIBLE_COLLECTIONS_PATH=str(collections_path))
    page = 'docs/mcp-k8s-server.md'
    [settings_text] = [b.text for b in blocks(page) if b.lang == 'yaml' and 'mcp_k8s_server_namespace' in b.text]
    # The page's admin kubeconfig lives in /home/ops: the test user's home stands in for it. Its
    # context is the one the settings name, and the current context is another cluster (an
    # address nothing listens on): the run must go where the settings say, not where
    # `kubectl config use-context` last pointed.
    settings_text = settings_text.replace('/home/ops/', str(home) + '/')
    settings = yaml.safe_load(settings_text)
    with open(cluster.kubeconfig_path, encoding='utf-8') as handle:
        admin = yaml.safe_load(handle)
    context = next(c for c in admin['contexts'] if c['name'] == admin['current-context'])
    context['name'] = settings['mcp_k8s_context']
    admin['clusters'].append({'name': 'west', 'cluster': {'server': 'https://127.0.0.1:9'}})
    admin['contexts'].append({'name': 'west', 'context': {'cluster': 'west', 'user': context['context']['user']}})
    admin['current-context'] = 'west'
    with open(settings['mcp_k8s_kubeconfig'], 'w', encoding='utf-8') as handle:
        yaml.safe_dump(admin, handle)
    [provision] = [b.text for b in blocks(page) if b.lang == 'console' and 'mcp.k8s.provision' in b.text]
    [deprovision] = [b.text for b in blocks(page) if b.lang == 'console' and 'mcp.k8s.deprovision' in b.text]
    argvs = commands(provision)
    settings_file = [arg[1:] for arg in argvs[0] if arg.startswith('@')][0]
    assert not settings_file.startswith('/'), 'the settings file %s: a test cannot write there; run the page by hand' % settings_file
    settings_path = home / settings_file[2:] if settings_file.startswith('~/') else tmp_path / settings_file
    settings_path.parent.mkdir(parents=True, exist_ok=True)
    settings_path.write_text(settings_text)

    proc = run_command(argvs[0], env, tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert re.search(r'Verified:\s+\d+ access checks passed', out), out[-4000:]
    namespace = settings['mcp_k8s_server_namespace']
    assert cluster.objects.find('serviceaccounts', 'mcp-k8s-server', namespace) is not None
    written = [settings['mcp_k8s_server_kubeconfig_path'], settings['mcp_k8s_server_kubeconfig_path'] + '.credential.json',
               settings['mcp_k8s_server_config_path']]
    paths = [home / path[2:] if path.startswith('~/') else tmp_path / path for path in written]
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(paths[0].parent.stat().st_mode) == 0o700

    # the server's install pins those of the end-to-end tests' environment; it starts on the config written
    install, start = argvs[1], argvs[2]
    with open(os.path.join(ROOT, 'tests', 'requirements-mcp-k8s-server.txt'), encoding='utf-8') as handle:
        pins = set(re.findall(r'^(\S+==\S+)', handle.read(), re.M))
    assert {arg for arg in install if '==' in arg} <= pins, install
    assert start[start.index('--config') + 1] == settings['mcp_k8s_server_config_path'], start

    proc = run_command(commands(deprovision)[0], env, tmp_path)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    assert cluster.objects.find('serviceaccounts', 'mcp-k8s-server', namespace) is None
    assert [path for path in paths if path.exists()] == []
