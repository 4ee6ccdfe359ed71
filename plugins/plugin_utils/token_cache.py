# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tokens the lookup minted during one ansible-playbook run, shared by all its task workers.

Ansible templates each task in a worker process forked from the controller, so a dict kept
by the lookup would last one task. The cache is a JSON file in the run's own local temporary
directory (``C.DEFAULT_LOCAL_TMP``: ansible-core creates it mode 0700 for every run, before the
workers fork, and deletes it when the run ends; its AnsiballZ cache lives there too). The file
is written mode 0600, and every use holds an exclusive lock from reading to writing, so
concurrent workers (forks) see each other's tokens and an identical request is minted once.

A run that is killed does not delete its temporary directory: on SIGTERM (what a cancelled CI
job sends) ansible-core re-raises the signal without running its exit handlers, and SIGKILL
runs nothing. So the file names the run's controller process (pid and start time), and:

- when the file is created, a small watcher process in a session of its own waits for that
  process to end and then deletes the file, however the run ended;
- a file whose controller is gone (or whose pid now belongs to another process) is never read:
  it is deleted instead;
- creating a file sweeps the files of runs that are gone from the sibling ``ansible-local-*``
  directories (left behind when the watcher was killed too, with the whole machine's processes).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import fcntl
import glob
import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import time

FILE_NAME = 'mcp_k8s_sa_token_cache.json'
FORMAT = 2
# How long a run keeps what it read of a cluster (its published keys): read again after that.
KEEP_SECONDS = 3600

# Deletes the cache file (argv[3:]) once the process argv[1] with start time argv[2] has ended.
WATCHER = r"""
import os, select, sys, time
pid, started, paths = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
def start_time():
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return handle.read().rsplit(')', 1)[1].split()[19]
    except (OSError, IndexError):
        return None
def alive():
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return started == '-' or start_time() == started
try:
    fd = os.pidfd_open(pid)
    if alive():
        select.select([fd], [], [])
except (AttributeError, OSError):
    while alive():
        time.sleep(1)
for path in paths:
    try:
        os.unlink(path)
    except OSError:
        pass
"""


def digest(key):
    """A stable name for a cache key (which may hold identities, never a secret in clear)."""
    return hashlib.sha256(repr(key).encode('utf-8')).hexdigest()


def process_start(pid):
    """The start time of process ``pid`` (clock ticks since boot, from /proc), '-' where /proc is
    not available but the process exists, or None when there is no such process."""
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return handle.read().rsplit(')', 1)[1].split()[19]
    except (IOError, OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except OSError as exc:
        if exc.errno != errno.EPERM:
            return None
    return '-'


def run_owner(directory):
    """The controller process of the run whose local temporary directory is ``directory``:
    ``{pid, started}`` (ansible-core names it ``ansible-local-<controller pid>...``; ``started`` is
    None when that process is gone), or None for another directory."""
    # tempfile.mkdtemp(prefix='ansible-local-<pid>') adds 8 random letters, digits or "_"
    match = re.match(r'ansible-local-(\d+)[a-z0-9_]{8}$', os.path.basename(os.path.normpath(directory)))
    if not match:
        return None
    pid = int(match.group(1))
    return {'pid': pid, 'started': process_start(pid)}   # started None: that run is gone


def _alive(owner):
    """Whether the process ``owner`` names still runs (the same process, not a later one with its pid)."""
    if not isinstance(owner, dict) or not isinstance(owner.get('pid'), int) or not owner.get('started'):
        return False
    return process_start(owner['pid']) == owner['started']


class TokenCache:
    """``with cache.open() as entries:`` gives the live entries; changes are saved on exit."""

    def __init__(self, directory, owner=None, watch=True):
        self.directory = directory
        self.path = os.path.join(directory, FILE_NAME)
        self.owner = owner if owner is not None else run_owner(directory)
        self.watch = watch

    @contextlib.contextmanager
    def open(self):
        lock = os.open(self.path + '.lock', os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            entries = Entries(self._load())
            yield entries
            if entries.changed:
                created = not os.path.exists(self.path)
                self._save(entries.data)
                if created:
                    self._created()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            os.close(lock)

    def clear(self):
        _remove(self.path)

    def _load(self):
        raw = read_regular(self.path)
        if raw is None:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict) or data.get('format') != FORMAT or \
                (self.owner is not None and (data.get('owner') != self.owner or not _alive(data.get('owner')))):
            _remove(self.path, keep_lock=True)   # stale: another run's, or its run is gone
            return {}
        now = time.time()
        return dict((key, entry) for key, entry in (data.get('entries') or {}).items() if entry[0] > now)

    def _save(self, data):
        partial = '%s.%d' % (self.path, os.getpid())
        handle = os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w')
        with handle:
            json.dump({'format': FORMAT, 'owner': self.owner, 'entries': data}, handle)
        os.replace(partial, self.path)

    def _created(self):
        """The first write of this run: start the watcher and sweep what killed runs left."""
        if self.owner is None or not self.owner.get('started'):
            return
        sweep(os.path.dirname(os.path.normpath(self.directory)), keep=self.path)
        if self.watch:
            start_watcher(self.owner, [self.path, self.path + '.lock'])


def start_watcher(owner, paths):
    """A process, in a session of its own, that deletes ``paths`` once ``owner`` has ended."""
    command = [sys.executable, '-c', WATCHER, str(owner['pid']), str(owner['started'])] + list(paths)
    try:  # the watcher outlives this process on purpose
        subprocess.Popen(command,  # pylint: disable=consider-using-with
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         close_fds=True, start_new_session=True, cwd='/')
    except OSError:
        pass    # the next run's sweep deletes the file


def sweep(parent, keep=None):
    """Delete the cache files of runs that are gone from the ``ansible-local-*`` directories in ``parent``.

    ``parent`` may be shared with other users and tools, so only regular files of this user are
    considered, opened without blocking and without following links (:func:`read_regular`): a FIFO
    named like a cache file would otherwise block the sweep, and the cache lock with it, forever.
    The file of a run whose controller is gone (its pid, from the directory name) is deleted
    unread; that of a live pid is read for its owner's start time (the pid may be another process now).
    """
    for path in glob.glob(os.path.join(glob.escape(parent), 'ansible-local-*', FILE_NAME)):
        if path == keep:
            continue
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            continue    # not a file this collection wrote: leave it
        run = run_owner(os.path.dirname(path))
        if run is None:
            continue
        if run['started'] is not None:
            try:
                owner = json.loads(read_regular(path) or b'null').get('owner')
            except (ValueError, AttributeError):
                owner = None
            if _alive(owner):
                continue
        try:
            _remove(path)
        except OSError:   # not ours to delete after all: leave it
            pass


MAX_FILE_SIZE = 16 * 1024 * 1024


def read_regular(path, limit=MAX_FILE_SIZE):
    """The bytes of ``path`` when it is a regular file (not a link, FIFO or device) of at most
    ``limit`` bytes, else None; never blocks."""
    try:
        before = os.lstat(path)
        if not stat.S_ISREG(before.st_mode):
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | getattr(os, 'O_CLOEXEC', 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or (info.st_dev, info.st_ino) != (before.st_dev, before.st_ino) \
                or info.st_size > limit:
            return None
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, 65536)
            if not chunk:
                return b''.join(chunks)
            chunks.append(chunk)
            size += len(chunk)
        return None
    except OSError:
        return None
    finally:
        os.close(fd)


def _remove(path, keep_lock=False):
    for name in (path,) if keep_lock else (path, path + '.lock'):
        try:
            os.unlink(name)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise


class Entries:
    """Cached results by key, each kept with the time its token expires."""

    def __init__(self, data):
        self.data = data
        self.changed = False

    def get(self, key, renew_before):
        """The cached result for ``key`` while it stays valid for longer than ``renew_before`` seconds."""
        entry = self.data.get(digest(key))
        if entry is None:
            return None
        remaining = entry[0] - time.time()
        if remaining <= renew_before:
            return None
        result = dict(entry[1])
        result.update(reused=True, expires_in=int(remaining), api_warnings=[])
        return result

    def recall(self, name):
        """What :meth:`keep` kept under ``name`` (not a token: public data such as a cluster's keys), or None."""
        entry = self.data.get(digest(('kept', name)))
        return entry[1] if entry is not None and entry[0] > time.time() else None

    def keep(self, name, value, seconds=KEEP_SECONDS):
        self.data[digest(('kept', name))] = [time.time() + seconds, value]
        self.changed = True

    def put(self, key, result):
        if result.get('expires_in'):
            self.data[digest(key)] = [time.time() + result['expires_in'], result]
            self.changed = True
