"""Merge patch (RFC 7386), JSON patch (RFC 6902), a strategic merge patch good enough for the
kinds the double stores, and the field removal part of server-side apply."""
import copy

from .core import ApiError, bad_request

MERGE_KEYS = {
    'containers': 'name', 'initContainers': 'name', 'ephemeralContainers': 'name', 'env': 'name',
    'volumes': 'name', 'volumeMounts': 'mountPath', 'volumeDevices': 'devicePath', 'imagePullSecrets': 'name',
    'secrets': 'name', 'ownerReferences': 'uid', 'conditions': 'type', 'hostAliases': 'ip',
    'topologySpreadConstraints': 'topologyKey', 'envFrom': None, 'tolerations': None,
}
PRIMITIVE_MERGE = {'finalizers'}


def merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def merge_key(field, items):
    if field == 'ports':
        sample = next((i for i in items if isinstance(i, dict)), {})
        if 'containerPort' in sample:
            return 'containerPort'
        return 'port'
    return MERGE_KEYS.get(field)


def strategic_merge(target, patch, field=None):
    """Strategic merge of ``patch`` into ``target`` (both JSON values)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get('$patch') == 'replace':
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != '$patch'}
    if patch.get('$patch') == 'delete':
        return None
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    retain = patch.get('$retainKeys')
    for key, value in patch.items():
        if key in ('$patch', '$retainKeys') or key.startswith('$setElementOrder/'):
            continue
        if key.startswith('$deleteFromPrimitiveList/'):
            name = key.split('/', 1)[1]
            if isinstance(result.get(name), list):
                result[name] = [v for v in result[name] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = strategic_merge(result.get(key), value, key)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(result.get(key), value, key)
        else:
            result[key] = value
    if retain is not None:
        for key in list(result):
            if key not in retain:
                del result[key]
    return result


def _merge_list(current, patch, field):
    if any(isinstance(i, dict) and i.get('$patch') == 'replace' for i in patch):
        return [copy.deepcopy(i) for i in patch if not (isinstance(i, dict) and '$patch' in i)]
    if field in PRIMITIVE_MERGE and all(not isinstance(i, (dict, list)) for i in patch):
        merged = list(current or [])
        for item in patch:
            if item not in merged:
                merged.append(item)
        return merged
    key = merge_key(field, patch + list(current or []))
    if not key or not isinstance(current, list) or not all(isinstance(i, dict) for i in patch):
        return [strategic_merge(None, i) if isinstance(i, dict) else copy.deepcopy(i) for i in patch
                if not (isinstance(i, dict) and i.get('$patch') == 'delete')]
    merged = [copy.deepcopy(i) for i in current]
    for item in patch:
        position = next((n for n, have in enumerate(merged) if isinstance(have, dict) and have.get(key) == item.get(key)), None)
        if item.get('$patch') == 'delete':
            if position is not None:
                del merged[position]
            continue
        if position is None:
            merged.append(strategic_merge(None, item))
        else:
            merged[position] = strategic_merge(merged[position], item)
    return merged


def _pointer(path):
    if path == '':
        return []
    if not path.startswith('/'):
        raise bad_request('invalid JSON pointer %r' % path)
    return [p.replace('~1', '/').replace('~0', '~') for p in path[1:].split('/')]


def _walk(doc, parts):
    for part in parts:
        if isinstance(doc, list):
            doc = doc[int(part)]
        else:
            doc = doc[part]
    return doc


def _fail(message):
    return ApiError(422, 'Invalid', message)


def json_patch(doc, operations):
    """RFC 6902 over a deep copy of ``doc``."""
    if not isinstance(operations, list):
        raise bad_request('json: cannot unmarshal object into Go value of type jsonpatch.Patch')
    doc = copy.deepcopy(doc)
    for op in operations:
        kind = op.get('op')
        parts = _pointer(op.get('path', ''))
        try:
            if kind == 'test':
                if _walk(doc, parts) != op.get('value'):
                    raise _fail('the server rejected our request due to an error in our request')
                continue
            if kind in ('move', 'copy'):
                source_parts = _pointer(op.get('from', ''))
                value = copy.deepcopy(_walk(doc, source_parts))
                if kind == 'move':
                    _remove(doc, source_parts)
                doc = _add(doc, parts, value)
            elif kind == 'add':
                doc = _add(doc, parts, copy.deepcopy(op.get('value')))
            elif kind == 'remove':
                _remove(doc, parts)
            elif kind == 'replace':
                _walk(doc, parts)  # must exist
                if not parts:
                    doc = copy.deepcopy(op.get('value'))
                else:
                    parent = _walk(doc, parts[:-1])
                    if isinstance(parent, list):
                        parent[int(parts[-1])] = copy.deepcopy(op.get('value'))
                    else:
                        parent[parts[-1]] = copy.deepcopy(op.get('value'))
            else:
                raise bad_request('Unexpected kind: %s' % kind)
        except (KeyError, IndexError, ValueError, TypeError):
            raise _fail('the server rejected our request due to an error in our request') from None
    return doc


def _add(doc, parts, value):
    if not parts:
        return value
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, list):
        if last == '-':
            parent.append(value)
        else:
            index = int(last)
            if index > len(parent):
                raise IndexError(index)
            parent.insert(index, value)
    else:
        parent[last] = value
    return doc


def _remove(doc, parts):
    parent = _walk(doc, parts[:-1])
    if isinstance(parent, list):
        del parent[int(parts[-1])]
    else:
        del parent[parts[-1]]


def removed_by_apply(previous, current, live):
    """Drop from ``live`` the map keys a manager applied before and no longer applies."""
    if not isinstance(previous, dict) or not isinstance(live, dict):
        return live
    current = current if isinstance(current, dict) else {}
    for key, value in previous.items():
        if key in ('apiVersion', 'kind') or key not in live:
            continue
        if key not in current:
            if key != 'metadata':
                del live[key]
        elif isinstance(value, dict):
            live[key] = removed_by_apply(value, current.get(key), live[key])
    return live
