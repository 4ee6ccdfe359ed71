"""OpenAPI v3: the root index and one document per group/version.

kubectl reads these to decide whether the server validates fields itself (the PATCH
operation of a kind lists a ``fieldValidation`` parameter) and whether a kind takes
strategic merge patches. The documents carry paths and operations but no component
schemas, so kubectl computes strategic merge patches from its built-in types, exactly as it
does for built-in kinds when a schema is missing.
"""
import hashlib
import json

from .core import GROUP_VERSIONS, RESOURCES

PATCH_TYPES = ['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json',
               'application/strategic-merge-patch+json']


def _gv_path(group, version):
    return 'apis/%s/%s' % (group, version) if group else 'api/%s' % version


def _query(name, kind='string', description=''):
    return {'name': name, 'in': 'query', 'description': description or name, 'schema': {'type': kind, 'uniqueItems': True}}


def _path_param(name):
    return {'name': name, 'in': 'path', 'required': True, 'description': name, 'schema': {'type': 'string', 'uniqueItems': True}}


def _json_content():
    return {'application/json': {'schema': {'type': 'object'}}, 'application/yaml': {'schema': {'type': 'object'}},
            'application/vnd.kubernetes.protobuf': {'schema': {'type': 'object'}}}


def _operation(res, action, op_id):
    operation = {'tags': ['%s_%s' % (res.group or 'core', res.version)], 'description': '%s %s' % (action, res.kind),
                 'operationId': op_id, 'responses': {'200': {'description': 'OK', 'content': _json_content()}},
                 'x-kubernetes-action': action,
                 'x-kubernetes-group-version-kind': {'group': res.group, 'version': res.version, 'kind': res.kind}}
    if action == 'patch':
        operation['parameters'] = [_query('dryRun'), _query('fieldManager'), _query('fieldValidation'),
                                   _query('force', 'boolean')]
        operation['requestBody'] = {'content': {t: {'schema': {'type': 'object'}} for t in PATCH_TYPES}, 'required': True}
    elif action in ('post', 'put'):
        operation['parameters'] = [_query('dryRun'), _query('fieldManager'), _query('fieldValidation')]
        operation['requestBody'] = {'content': _json_content(), 'required': True}
        if action == 'post':
            operation['responses']['201'] = {'description': 'Created', 'content': _json_content()}
    elif action == 'list':
        operation['parameters'] = [_query('labelSelector'), _query('fieldSelector'), _query('limit', 'integer'),
                                   _query('continue'), _query('resourceVersion'), _query('watch', 'boolean')]
    return operation


def gv_document(group, version, git_version):
    paths = {}
    prefix = '/' + _gv_path(group, version)
    for res in RESOURCES:
        if (res.group, res.version) != (group, version):
            continue
        scope = prefix + ('/namespaces/{namespace}/' if res.namespaced else '/') + res.plural
        params = [_path_param('namespace')] if res.namespaced else []
        name = (res.group.split('.')[0].capitalize() if res.group else 'Core') + res.version.capitalize()
        if not res.stored:
            paths[scope] = {'post': _operation(res, 'post', 'create%s%s' % (name, res.kind)), 'parameters': params}
            continue
        paths[scope] = {'get': _operation(res, 'list', 'list%s%s' % (name, res.kind)),
                        'post': _operation(res, 'post', 'create%s%s' % (name, res.kind)), 'parameters': params}
        paths[scope + '/{name}'] = {
            'get': _operation(res, 'get', 'read%s%s' % (name, res.kind)),
            'put': _operation(res, 'put', 'replace%s%s' % (name, res.kind)),
            'patch': _operation(res, 'patch', 'patch%s%s' % (name, res.kind)),
            'delete': _operation(res, 'delete', 'delete%s%s' % (name, res.kind)),
            'parameters': params + [_path_param('name')]}
    return {'openapi': '3.0.0', 'info': {'title': 'Kubernetes', 'version': git_version}, 'paths': paths,
            'components': {'schemas': {}}}


def _hash(doc):
    return hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:128].upper()


def _pb_string(number, text):
    data = text.encode()
    return bytes([number << 3 | 2, len(data)]) + data


def v2_document(request_accept, git_version):
    """An OpenAPI v2 document without paths or definitions: older kubectl (before 1.28)
    fetches it, as gnostic protobuf, for apply and validation, and falls back to its
    built-in types for kinds it does not find."""
    from .server import Response  # pylint: disable=import-outside-toplevel
    if 'protobuf' in (request_accept or ''):
        info = _pb_string(1, 'Kubernetes') + _pb_string(2, git_version)
        raw = _pb_string(1, '2.0') + bytes([2 << 3 | 2, len(info)]) + info
        return Response(200, None, content_type='application/com.github.proto-openapi.spec.v2.v1.0+protobuf', raw=raw)
    return Response(200, {'swagger': '2.0', 'info': {'title': 'Kubernetes', 'version': git_version}, 'paths': {},
                          'definitions': {}})


def document(parts, double, accept=''):
    from .server import Response  # pylint: disable=import-outside-toplevel
    if parts == ['v2']:
        return v2_document(accept, double.version)
    if parts == ['v3']:
        index = {}
        for group, version in GROUP_VERSIONS:
            doc = gv_document(group, version, double.version)
            index[_gv_path(group, version)] = {'serverRelativeURL': '/openapi/v3/%s?hash=%s'
                                               % (_gv_path(group, version), _hash(doc))}
        return Response(200, {'paths': index})
    if parts[:1] == ['v3'] and len(parts) >= 3:
        rest = parts[1:]
        if rest[0] == 'api' and len(rest) == 2:
            key = ('', rest[1])
        elif rest[0] == 'apis' and len(rest) == 3:
            key = (rest[1], rest[2])
        else:
            return None
        if key not in GROUP_VERSIONS:
            return None
        return Response(200, gv_document(key[0], key[1], double.version))
    return None
