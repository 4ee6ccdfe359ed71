"""Field ownership for server-side apply conflicts (a small model of managedFields).

Each API write records which manager set which leaf field: Update operations (POST, PUT and
non-apply PATCH, manager from ``fieldManager`` or the User-Agent prefix) own the fields they
changed; Apply operations own the fields in their configuration. An apply without ``force``
that sets a field owned by another manager to a different value fails with 409 like
kube-apiserver. Lists with a merge key (containers by name, ...) are keyed per element;
other lists are one field. Ownership is not written into ``metadata.managedFields``.
"""
import json
import threading

from .core import ApiError, rfc3339
from .patches import merge_key


def leaf_paths(value, prefix=(), field=None):
    """(path, value) pairs for the leaves an apply or update can own."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not prefix and key in ('apiVersion', 'kind', 'status'):
                continue
            if prefix == ('metadata',) and key not in ('labels', 'annotations'):
                continue
            yield from leaf_paths(item, prefix + (key,), key)
        return
    if isinstance(value, list) and value and all(isinstance(i, dict) for i in value):
        key = merge_key(field, value)
        if key and all(key in i for i in value):
            for item in value:
                yield from leaf_paths(item, prefix + ((key, item[key]),), None)
            return
    yield prefix, value


def value_at(obj, path):
    for part in path:
        if isinstance(part, tuple):
            key, wanted = part
            obj = next((i for i in obj or [] if isinstance(i, dict) and i.get(key) == wanted), None) if isinstance(obj, list) else None
        else:
            obj = obj.get(part) if isinstance(obj, dict) else None
        if obj is None:
            return None
    return obj


def format_path(path):
    text = ''
    for part in path:
        if isinstance(part, tuple):
            text += '[%s=%s]' % (part[0], json.dumps(part[1]))
        else:
            text += '.' + part
    return text


def manager_of(request):
    manager = request.param('fieldManager')
    if manager:
        return manager
    agent = request.headers.get('User-Agent') or 'unknown'
    return agent.split('/')[0][:128]


class Ownership:
    """Owners per object (keyed by uid) and leaf path."""

    def __init__(self):
        self.lock = threading.Lock()
        self.owners = {}

    @staticmethod
    def _key(obj):
        return obj['metadata']['uid']

    def record_update(self, before, requested, stored, manager, api_version):
        """An Update operation by ``manager``: it owns what ``requested`` changed."""
        entry = (manager, 'Update', api_version, rfc3339())
        old = dict(leaf_paths(before)) if before else {}
        new = dict(leaf_paths(requested))
        with self.lock:
            owners = self.owners.setdefault(self._key(stored), {})
            for path, value in new.items():
                if path not in old or old[path] != value:
                    owners[path] = {manager: entry}   # a changing update takes the field from everyone else
            for path in old:
                if path not in new and before is not None and value_at(stored, path) is None:
                    owners.pop(path, None)

    def check_apply(self, live, applied, manager, force):
        """Raise the 409 of an apply that would change fields other managers own."""
        if force or not live:
            return
        with self.lock:
            owners = self.owners.get(self._key(live), {})
            conflicts = []
            for path, value in leaf_paths(applied):
                if value_at(live, path) == value:
                    continue   # same value: the field becomes shared
                for other, owner in sorted((owners.get(path) or {}).items()):
                    if other != manager:
                        conflicts.append((path, owner))
            if conflicts:
                raise conflict_error(conflicts)

    def record_apply(self, stored, applied, previous, manager, api_version, force):
        entry = (manager, 'Apply', api_version, None)
        with self.lock:
            owners = self.owners.setdefault(self._key(stored), {})
            for path, _value in leaf_paths(previous or {}):
                (owners.get(path) or {}).pop(manager, None)
            for path, _value in leaf_paths(applied):
                if force:
                    owners[path] = {manager: entry}
                else:
                    owners.setdefault(path, {})[manager] = entry


def _describe(owner):
    manager, operation, api_version, moment = owner
    text = json.dumps(manager)
    if operation == 'Update':
        text += ' using %s at %s' % (api_version, moment) if moment else ' using %s' % api_version
    return text


def conflict_error(conflicts):
    causes = [{'reason': 'FieldManagerConflict', 'message': 'conflict with %s' % _describe(owner), 'field': format_path(path)}
              for path, owner in conflicts]
    if len(conflicts) == 1:
        path, owner = conflicts[0]
        detail = 'conflict with %s: %s' % (_describe(owner), format_path(path))
        count = '1 conflict'
    else:
        by_owner = {}
        for path, owner in conflicts:
            by_owner.setdefault(_describe(owner), []).append(format_path(path))
        lines = []
        for owner in sorted(by_owner):
            lines.append('conflicts with %s:' % owner)
            lines += ['- %s' % p for p in by_owner[owner]]
        detail = '\n'.join(lines)
        count = '%d conflicts' % len(conflicts)
    return ApiError(409, 'Conflict', 'Apply failed with %s: %s' % (count, detail), {'causes': causes})
