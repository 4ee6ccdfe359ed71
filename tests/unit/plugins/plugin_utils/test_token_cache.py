"""The lookup's per-run token cache: expiry, renew_before, file mode, and one mint across processes."""
import multiprocessing
import os
import stat
import time

from ansible_collections.mcp.k8s.plugins.plugin_utils.token_cache import FILE_NAME, TokenCache

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
