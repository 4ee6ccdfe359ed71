"""The lookup's run cache (full tokens, mode 0600) does not outlive a killed run (issue 16, item 5).

ansible-core dies of SIGTERM (what a cancelled CI job sends) without deleting its local temporary
directory, and SIGKILL runs nothing at all. The cache file names the run's controller; a watcher
process deletes it once the controller is gone, and when the watcher was killed too, the next
run's lookup sweeps it.
"""
import glob
import os
import signal
import subprocess
import time

import pytest
import yaml

from harness import local_inventory, start_playbook

pytestmark = pytest.mark.both_clients

CACHE = 'mcp_k8s_sa_token_cache.json'


@pytest.fixture
def seeded_cluster(cluster):
    cluster.create_service_account('server', 'mcp')
    return cluster


def write_playbook(tmp_path, name, seconds):
    plays = [{'name': 'cache', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'name': 'Mint through the lookup', 'ansible.builtin.set_fact': {
            'kept': "{{ lookup('mcp.k8s.sa_token', 'mcp/server') }}"}, 'no_log': True},
        {'name': 'A long task', 'ansible.builtin.command': 'sleep %d' % seconds, 'changed_when': False}]}]
    path = tmp_path / name
    path.write_text(yaml.safe_dump(plays, sort_keys=False))
    return str(path)


def start(tmp_path, ansible_env, playbook):
    return start_playbook(['-i', local_inventory(tmp_path / 'inventory.ini'), playbook], ansible_env, tmp_path)


def cache_files(tmp_path):
    return glob.glob(str(tmp_path / 'ansible-tmp' / 'ansible-local-*' / CACHE))


def wait_for(condition, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    return condition()


def watchers_of(path):
    """Pids of processes whose command line names ``path`` (the cache's watcher)."""
    found = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open('/proc/%s/cmdline' % entry, 'rb') as handle:
                    if path.encode() in handle.read():
                        found.append(int(entry))
            except OSError:
                pass
    return found


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGKILL])
def test_the_cache_file_goes_with_a_killed_run(seeded_cluster, ansible_env, tmp_path, signum):
    proc = start(tmp_path, ansible_env, write_playbook(tmp_path, 'long.yml', 120))
    try:
        files = wait_for(lambda: cache_files(tmp_path))
        assert files, 'the lookup wrote no cache file'
        with open(files[0], encoding='utf-8') as handle:
            assert '"token"' in handle.read()      # what must not stay on disk
        time.sleep(1)
        assert os.path.exists(files[0])            # kept while the run lives
        proc.send_signal(signum)
        proc.wait(30)
        assert os.path.isdir(os.path.dirname(files[0])), 'ansible-core removed its directory after all'
        assert wait_for(lambda: not os.path.exists(files[0]), 15), 'the cache file survived the run'
        # the watcher removes the lock file just after the cache file (the lock holds no token)
        assert wait_for(lambda: not os.path.exists(files[0] + '.lock'), 5), 'the lock file survived the run'
    finally:
        proc.kill()
        proc.communicate()


@pytest.mark.skipif(not os.path.isdir('/proc'), reason='finds the watcher through /proc')
def test_a_file_left_when_the_watcher_was_killed_too_is_swept_by_the_next_run(seeded_cluster, ansible_env, tmp_path):
    proc = start(tmp_path, ansible_env, write_playbook(tmp_path, 'long.yml', 120))
    try:
        files = wait_for(lambda: cache_files(tmp_path))
        assert files
        watchers = wait_for(lambda: watchers_of(files[0]), 10)
        assert watchers, 'no watcher'
        for pid in watchers:                       # the whole machine's processes killed at once
            os.kill(pid, signal.SIGKILL)
        proc.kill()
        proc.wait(30)
        time.sleep(1)
        assert os.path.exists(files[0])            # left behind
    finally:
        proc.kill()
        proc.communicate()
    after = start(tmp_path, ansible_env, write_playbook(tmp_path, 'short.yml', 0))
    output = after.communicate(timeout=300)[0]
    assert after.returncode == 0, output
    assert not os.path.exists(files[0]), 'the next run did not sweep the stale file'


def test_a_fifo_named_like_a_cache_file_in_a_shared_local_tmp_blocks_nothing(seeded_cluster, ansible_env, tmp_path):
    """Another user's or tool's FIFO beside the runs' directories: the first write's sweep neither opens
    nor deletes it, and the run finishes (opening it for reading would block with the cache lock held)."""
    sleeper = subprocess.Popen(['sleep', '120'])       # a live pid: its directory's file would be read
    try:
        planted = tmp_path / 'ansible-tmp' / ('ansible-local-%dabcd_123' % sleeper.pid) / CACHE
        planted.parent.mkdir(parents=True)
        os.mkfifo(str(planted))
        run = start(tmp_path, ansible_env, write_playbook(tmp_path, 'short.yml', 0))
        try:
            output = run.communicate(timeout=120)[0]
        except subprocess.TimeoutExpired:
            run.kill()
            pytest.fail('the run blocked on the FIFO: %s' % run.communicate()[0])
        assert run.returncode == 0, output
        assert os.path.exists(str(planted)) and os.path.isdir(str(planted.parent))
    finally:
        sleeper.kill()
        sleeper.wait()
