"""Discovery documents, /version, OpenAPI v3 and server-side table columns."""
import datetime
import hashlib

from .core import GROUP_VERSIONS, RESOURCES, SUBRESOURCES, now_utc


def version_info(git_version):
    major, minor = git_version.lstrip('v').split('.')[:2]
    return {'major': major, 'minor': minor, 'emulationMajor': major, 'emulationMinor': minor,
            'minCompatibilityMajor': major, 'minCompatibilityMinor': str(int(minor) - 1),
            'gitVersion': git_version, 'gitCommit': '0' * 40, 'gitTreeState': 'clean',
            'buildDate': '2025-01-01T00:00:00Z', 'goVersion': 'go1.24.0', 'compiler': 'gc', 'platform': 'linux/amd64'}


def _hash(text):
    return hashlib.sha256(text.encode()).hexdigest()[:16].upper()


def resource_list(group, version):
    resources = []
    for res in RESOURCES:
        if (res.group, res.version) != (group, version):
            continue
        entry = {'name': res.plural, 'singularName': res.singular, 'namespaced': res.namespaced, 'kind': res.kind,
                 'verbs': res.verbs}
        if res.short_names:
            entry['shortNames'] = res.short_names
        if res.categories:
            entry['categories'] = res.categories
        if res.stored:
            entry['storageVersionHash'] = base64_hash(res.group_resource)
        resources.append(entry)
        for parent, sub, sub_group, sub_version, kind, verbs in SUBRESOURCES:
            if parent == res.plural:
                sub_entry = {'name': '%s/%s' % (parent, sub), 'singularName': '', 'namespaced': res.namespaced,
                             'kind': kind, 'verbs': verbs}
                if (sub_group, sub_version) != (group, version):
                    sub_entry['group'] = sub_group
                    sub_entry['version'] = sub_version
                resources.append(sub_entry)
    if not resources:
        return None
    return {'kind': 'APIResourceList', 'apiVersion': 'v1', 'groupVersion': '%s/%s' % (group, version) if group else version,
            'resources': resources}


def base64_hash(text):
    import base64
    return base64.b64encode(hashlib.sha256(text.encode()).digest()[:8]).decode()


# (group, version) -> the first minor that no longer serves it. authentication.k8s.io/v1beta1
# (SelfSubjectReview, beta in 1.27) is absent from 1.37 (measured by the fidelity probes); the
# double serves it up to 1.33, the release it defaults to.
REMOVED_IN = {('authentication.k8s.io', 'v1beta1'): 34}


def served(group, version, minor):
    return minor < REMOVED_IN.get((group, version), 1000)


def _group(name, minor=33):
    versions = [{'groupVersion': '%s/%s' % (g, v), 'version': v} for g, v in GROUP_VERSIONS
                if g == name and served(g, v, minor)]
    return {'name': name, 'versions': versions, 'preferredVersion': versions[0]}


def groups():
    names = []
    for group, _version in GROUP_VERSIONS:
        if group and group not in names:
            names.append(group)
    return names


def document(path, double, accept=''):
    """A discovery or OpenAPI body for ``path`` (a Response), or None."""
    from .server import Response  # pylint: disable=import-outside-toplevel
    if path == '/api':
        return Response(200, {'kind': 'APIVersions', 'versions': ['v1'], 'serverAddressByClientCIDRs': [
            {'clientCIDR': '0.0.0.0/0', 'serverAddress': '127.0.0.1:%d' % double.port}]})
    if path == '/apis':
        return Response(200, {'kind': 'APIGroupList', 'apiVersion': 'v1',
                              'groups': [_group(g, double.minor) for g in groups()]})
    parts = [p for p in path.split('/') if p]
    if parts[:1] == ['api'] and len(parts) == 2:
        body = resource_list('', parts[1])
        return Response(200, body) if body else None
    if parts[:1] == ['apis'] and len(parts) == 2 and parts[1] in groups():
        return Response(200, dict(_group(parts[1], double.minor), kind='APIGroup', apiVersion='v1'))
    if parts[:1] == ['apis'] and len(parts) == 3:
        body = resource_list(parts[1], parts[2]) if served(parts[1], parts[2], double.minor) else None
        return Response(200, body) if body else None
    if parts[:1] == ['openapi']:
        from . import openapi  # pylint: disable=import-outside-toplevel
        return openapi.document(parts[1:], double, accept)
    return None


def _age(timestamp):
    try:
        created = datetime.datetime.strptime(timestamp, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return '<unknown>'
    seconds = int((now_utc() - created).total_seconds())
    if seconds < 120:
        return '%ds' % max(seconds, 0)
    if seconds < 600:
        return '%dm%ds' % (seconds // 60, seconds % 60) if seconds % 60 else '%dm' % (seconds // 60)
    if seconds < 3 * 3600:
        return '%dm' % (seconds // 60)
    if seconds < 48 * 3600:
        return '%dh' % (seconds // 3600)
    return '%dd' % (seconds // 86400)


def _column(name, kind='string', fmt='', description=''):
    return {'name': name, 'type': kind, 'format': fmt, 'description': description or name, 'priority': 0}


def table_columns(res):
    columns = [_column('Name', fmt='name', description='Name must be unique within a namespace.')]
    extra = {'secrets': [_column('Type'), _column('Data', 'integer')],
             'namespaces': [_column('Status')],
             'configmaps': [_column('Data', 'integer')],
             'pods': [_column('Ready'), _column('Status'), _column('Restarts', 'string')],
             'deployments': [_column('Ready'), _column('Up-to-date', 'integer'), _column('Available', 'integer')],
             'clusterrolebindings': [_column('Role')], 'rolebindings': [_column('Role')]}
    columns += extra.get(res.plural, [])
    if res.plural in ('clusterroles', 'roles'):
        columns.append(_column('Created At', fmt='date'))
    else:
        columns.append(_column('Age'))
    return columns


def table_cells(res, obj):
    meta = obj['metadata']
    cells = [meta.get('name')]
    if res.plural == 'secrets':
        cells += [obj.get('type', ''), len(obj.get('data') or {})]
    elif res.plural == 'namespaces':
        cells.append((obj.get('status') or {}).get('phase', ''))
    elif res.plural == 'configmaps':
        cells.append(len(obj.get('data') or {}) + len(obj.get('binaryData') or {}))
    elif res.plural == 'pods':
        total = len((obj.get('spec') or {}).get('containers') or [])
        cells += ['0/%d' % total, (obj.get('status') or {}).get('phase', ''), '0']
    elif res.plural == 'deployments':
        status = obj.get('status') or {}
        cells += ['%d/%d' % (status.get('readyReplicas', 0), (obj.get('spec') or {}).get('replicas', 0)),
                  status.get('updatedReplicas', 0), status.get('availableReplicas', 0)]
    elif res.plural in ('clusterrolebindings', 'rolebindings'):
        ref = obj.get('roleRef') or {}
        cells.append('%s/%s' % (ref.get('kind'), ref.get('name')))
    if res.plural in ('clusterroles', 'roles'):
        cells.append(meta.get('creationTimestamp'))
    else:
        cells.append(_age(meta.get('creationTimestamp')))
    return cells
