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
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import time

FILE_NAME = 'mcp_k8s_sa_token_cache.json'


def digest(key):
    """A stable name for a cache key (which may hold identities, never a secret in clear)."""
    return hashlib.sha256(repr(key).encode('utf-8')).hexdigest()


class TokenCache:
    """``with cache.open() as entries:`` gives the live entries; changes are saved on exit."""

    def __init__(self, directory):
        self.path = os.path.join(directory, FILE_NAME)

    @contextlib.contextmanager
    def open(self):
        lock = os.open(self.path + '.lock', os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            entries = Entries(self._load())
            yield entries
            if entries.changed:
                self._save(entries.data)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            os.close(lock)

    def clear(self):
        for path in (self.path, self.path + '.lock'):
            try:
                os.unlink(path)
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    raise

    def _load(self):
        try:
            with open(self.path) as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            return {}
        now = time.time()
        return dict((key, entry) for key, entry in data.items() if entry[0] > now)

    def _save(self, data):
        partial = '%s.%d' % (self.path, os.getpid())
        handle = os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w')
        with handle:
            json.dump(data, handle)
        os.replace(partial, self.path)


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

    def put(self, key, result):
        if result.get('expires_in'):
            self.data[digest(key)] = [time.time() + result['expires_in'], result]
            self.changed = True
