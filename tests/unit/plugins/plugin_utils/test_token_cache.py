"""The lookup's per-run token cache: expiry, renew_before, file mode, and one mint across processes."""
import json
import multiprocessing
import os
import signal
import stat
import subprocess
import time

import pytest

from ansible_collections.mcp.k8s.plugins.plugin_utils.token_cache import FILE_NAME, TokenCache, run_owner

KEY = ('cluster-digest', ('mcp', 'server', (), 3600, None), False)


def result(token='a.b.c', expires_in=3600):
    return {'token': token, 'expires_in': expires_in, 'reused': False, 'api_warnings': ['w']}


def test_a_hit_is_a_copy_marked_reused_until_renew_before(tmp_path):
    cache = TokenCache(str(tmp_path))
    with cache.open() as entries:
        assert entries.get(KEY, 300) is None
        entries.put(KEY, result())
    with cache.open() as entries:
        hit = entries.get(KEY, 300)
        assert hit['token'] == 'a.b.c' and hit['reused'] is True and hit['api_warnings'] == []
        assert 3598 <= hit['expires_in'] <= 3600
        assert entries.get(KEY, 3600) is None          # not valid for longer than renew_before
        assert entries.get(KEY[:2] + (True,), 0) is None  # another key


def test_expired_entries_are_dropped_and_the_file_is_private(tmp_path, monkeypatch):
    cache = TokenCache(str(tmp_path))
    with cache.open() as entries:
        entries.put(KEY, result(expires_in=600))
    path = tmp_path / FILE_NAME
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert 'a.b.c' in path.read_text() and 'server' not in path.read_text()  # keys are digests
    later = time.time() + 601
    monkeypatch.setattr(time, 'time', lambda: later)
    with cache.open() as entries:
        assert entries.get(KEY, 0) is None
        assert entries.data == {}


def test_a_result_without_expiry_is_not_kept(tmp_path):
    cache = TokenCache(str(tmp_path))
    with cache.open() as entries:
        entries.put(KEY, result(expires_in=0))
    assert not (tmp_path / FILE_NAME).exists()


def test_clear_removes_the_files(tmp_path):
    cache = TokenCache(str(tmp_path))
    with cache.open() as entries:
        entries.put(KEY, result())
    cache.clear()
    cache.clear()
    assert os.listdir(str(tmp_path)) == []


def _get_or_mint(directory, counter):
    with TokenCache(directory).open() as entries:
        if entries.get(KEY, 300) is None:
            time.sleep(0.05)  # a slow mint: without the lock the others would all miss too
            with counter.get_lock():
                counter.value += 1
            entries.put(KEY, result())


def test_concurrent_processes_mint_once(tmp_path):
    context = multiprocessing.get_context('fork')
    counter = context.Value('i', 0)
    workers = [context.Process(target=_get_or_mint, args=(str(tmp_path), counter)) for dummy in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert [worker.exitcode for worker in workers] == [0] * 8
    assert counter.value == 1


def _run_dir(parent, pid):
    """A directory named as ansible-core names a run's local temporary directory."""
    path = parent / ('ansible-local-%d1a2b3c_d' % pid)     # mkdtemp's 8 random characters may start with digits
    path.mkdir()
    return path


def _wait_gone(path, seconds=10):
    deadline = time.time() + seconds
    while path.exists() and time.time() < deadline:
        time.sleep(0.05)
    return not path.exists()


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGKILL])
def test_the_file_is_deleted_when_the_run_is_killed(tmp_path, signum):
    """ansible-core dies of SIGTERM without its exit handlers, and of SIGKILL: the watcher deletes the file."""
    controller = subprocess.Popen(['sleep', '60'])
    try:
        directory = _run_dir(tmp_path, controller.pid)
        cache = TokenCache(str(directory))
        assert cache.owner['pid'] == controller.pid and cache.owner['started']
        with cache.open() as entries:
            entries.put(KEY, result())
        path = directory / FILE_NAME
        assert json.loads(path.read_text())['owner'] == cache.owner
        time.sleep(0.3)
        assert path.exists()                   # kept while the run lives
        controller.send_signal(signum)
        controller.wait()
        assert _wait_gone(path) and _wait_gone(directory / (FILE_NAME + '.lock'))
    finally:
        controller.kill()
        controller.wait()


def test_a_file_of_a_run_that_is_gone_is_never_read_and_is_swept(tmp_path):
    dead = subprocess.Popen(['true'])
    dead.wait()
    live = subprocess.Popen(['sleep', '60'])
    try:
        stale_dir = _run_dir(tmp_path, dead.pid)
        # what a killed run left (its watcher killed too): a file naming a process that is gone
        (stale_dir / FILE_NAME).write_text(json.dumps({'format': 2, 'owner': {'pid': dead.pid, 'started': '1'},
                                                       'entries': {}}))
        assert run_owner(str(stale_dir)) == {'pid': dead.pid, 'started': None}
        with TokenCache(str(stale_dir), watch=False).open() as entries:
            assert entries.data == {}          # not read ...
        assert not (stale_dir / FILE_NAME).exists()   # ... but deleted
        (stale_dir / FILE_NAME).write_text(json.dumps({'format': 2, 'owner': {'pid': dead.pid, 'started': '1'},
                                                       'entries': {'k': [time.time() + 999, result()]}}))
        other_live = _run_dir(tmp_path, os.getpid())    # a run in progress: its file is kept
        with TokenCache(str(other_live), watch=False).open() as entries:
            entries.put(KEY, result('x.y.z'))
        # a new run's first write sweeps what runs that are gone left behind
        with TokenCache(str(_run_dir(tmp_path, live.pid)), watch=False).open() as entries:
            entries.put(KEY, result())
        assert not (stale_dir / FILE_NAME).exists()
        assert (other_live / FILE_NAME).exists()
    finally:
        live.kill()
        live.wait()


def test_a_file_of_another_process_with_the_same_pid_is_not_read(tmp_path):
    directory = _run_dir(tmp_path, os.getpid())
    cache = TokenCache(str(directory), watch=False)
    with cache.open() as entries:
        entries.put(KEY, result())
    data = json.loads((directory / FILE_NAME).read_text())
    data['owner']['started'] = '1'            # the pid was reused by a later process
    (directory / FILE_NAME).write_text(json.dumps(data))
    with TokenCache(str(directory), watch=False).open() as entries:
        assert entries.get(KEY, 0) is None


# Mutants of token_cache.py that the tests above let live (make mutation, docs/testing.md).

def test_process_start_is_the_start_time_from_proc():
    # the 22nd field of /proc/PID/stat, after the command in parentheses (rsplit(')', 1)[1].split()[19]);
    # '-' (only "the process exists") would let a later process with the same pid read the file
    from ansible_collections.mcp.k8s.plugins.plugin_utils.token_cache import process_start
    with open('/proc/self/stat') as handle:
        expected = handle.read().rsplit(')', 1)[1].split()[19]
    assert process_start(os.getpid()) == expected and expected.isdigit()


def test_a_stale_file_is_dropped_but_the_held_lock_is_kept(tmp_path):
    # removing a stale file keeps the lock file this process holds (keep_lock=True): deleting it would
    # let another process lock a new file and both mint at once
    directory = _run_dir(tmp_path, os.getpid())
    (directory / FILE_NAME).write_text(json.dumps({'format': 2, 'owner': {'pid': 1, 'started': 'gone'}, 'entries': {}}))
    with TokenCache(str(directory), watch=False).open() as entries:
        assert entries.get(KEY, 0) is None
        assert not (directory / FILE_NAME).exists() and (directory / (FILE_NAME + '.lock')).exists()


def test_an_owner_without_start_time_is_gone_and_the_lock_is_private(tmp_path):
    # an owner without "started" is never alive (or, not and); the lock file is 0600
    owner = {'pid': 2 ** 22 + 1}        # above pid_max: no such process
    with TokenCache(str(tmp_path), owner=owner, watch=False).open() as entries:
        entries.put(KEY, result())
    assert stat.S_IMODE(os.stat(str(tmp_path / (FILE_NAME + '.lock'))).st_mode) == 0o600
    with TokenCache(str(tmp_path), owner=owner, watch=False).open() as entries:
        assert entries.get(KEY, 0) is None


@pytest.mark.parametrize('run', ['live', 'gone'])
@pytest.mark.parametrize('kind', ['fifo', 'symlink to a fifo'])
def test_the_sweep_never_opens_a_fifo_named_like_a_cache_file(tmp_path, run, kind):
    """A shared local_tmp: another user or tool leaves a FIFO named like a cache file. Opening it would
    block the sweep, and the cache lock it holds, forever; it is neither opened nor deleted."""
    other = subprocess.Popen(['sleep', '60'])
    dead = subprocess.Popen(['true'])
    dead.wait()
    try:
        planted_dir = _run_dir(tmp_path, other.pid if run == 'live' else dead.pid)
        planted = planted_dir / FILE_NAME
        if kind == 'fifo':
            os.mkfifo(str(planted))
        else:
            os.mkfifo(str(tmp_path / 'fifo'))
            os.symlink(str(tmp_path / 'fifo'), str(planted))
        worker = multiprocessing.get_context('fork').Process(target=_first_write, args=(str(_run_dir(tmp_path, os.getpid())),))
        worker.start()
        worker.join(20)
        if worker.exitcode is None:
            worker.kill()
        assert worker.exitcode == 0, 'the sweep blocked on the FIFO'
        assert os.path.lexists(str(planted))           # not ours: left where it is
    finally:
        other.kill()
        other.wait()


def _first_write(directory):
    with TokenCache(directory, watch=False).open() as entries:
        entries.put(KEY, result())


def test_read_regular_refuses_what_is_not_a_regular_file(tmp_path):
    from ansible_collections.mcp.k8s.plugins.plugin_utils.token_cache import read_regular
    (tmp_path / 'file').write_bytes(b'{}')
    os.symlink(str(tmp_path / 'file'), str(tmp_path / 'link'))
    os.mkfifo(str(tmp_path / 'fifo'))
    (tmp_path / 'big').write_bytes(b'x' * 11)
    assert read_regular(str(tmp_path / 'file')) == b'{}'
    assert read_regular(str(tmp_path / 'link')) is None
    assert read_regular(str(tmp_path / 'fifo')) is None
    assert read_regular(str(tmp_path / 'big'), limit=10) is None
    assert read_regular(str(tmp_path / 'missing')) is None


def test_a_file_of_a_finished_run_is_deleted_unread(tmp_path, monkeypatch):
    from ansible_collections.mcp.k8s.plugins.plugin_utils import token_cache
    dead = subprocess.Popen(['true'])
    dead.wait()
    stale = _run_dir(tmp_path, dead.pid) / FILE_NAME
    stale.write_text(json.dumps({'format': 2, 'owner': {'pid': dead.pid, 'started': '1'}, 'entries': {}}))
    read = []
    original = token_cache.read_regular
    monkeypatch.setattr(token_cache, 'read_regular', lambda path, *a: read.append(path) or original(path, *a))
    token_cache.sweep(str(tmp_path))
    assert not stale.exists() and str(stale) not in read
