"""A small protobuf wire-format decoder for the request bodies kubectl sends.

kubectl's typed clients post ``application/vnd.kubernetes.protobuf``: the magic ``k8s\\0``
followed by a ``runtime.Unknown`` whose ``raw`` field holds the object. The field maps below
(from the ``generated.proto`` files of k8s.io/api) turn the kinds kubectl creates into the same
dicts the JSON form would give.
"""
import base64
import datetime

MAGIC = b'k8s\x00'


class DecodeError(Exception):
    """A body that is not a protobuf message the double understands."""


def _varint(data, pos):
    result = shift = 0
    while True:
        if pos >= len(data):
            raise DecodeError('truncated varint')
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise DecodeError('varint too long')


def fields(data):
    """Yield (number, wire type, value) for each field of a message."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise DecodeError('truncated field %d' % number)
            value = data[pos:pos + length]
            pos += length
        elif wire == 1:
            value = int.from_bytes(data[pos:pos + 8], 'little')
            pos += 8
        elif wire == 5:
            value = int.from_bytes(data[pos:pos + 4], 'little')
            pos += 4
        else:
            raise DecodeError('unsupported wire type %d' % wire)
        yield number, wire, value


def _signed(value):
    return value - (1 << 64) if value >= 1 << 63 else value


# A schema maps field number -> (json name, type, repeated?). Types: 'string', 'bytes',
# 'int', 'bool' (zero values dropped), 'ptrint', 'ptrbool' (pointer fields, kept), 'time', 'map' (string -> string), 'map_bytes' (string -> base64), 'intorstr',
# or a nested schema dict.
def S(**spec):  # pylint: disable=invalid-name
    return spec


TIME = 'time'
OWNER_REF = {1: ('kind', 'string', False), 3: ('name', 'string', False), 4: ('uid', 'string', False),
             5: ('apiVersion', 'string', False), 6: ('controller', 'bool', False), 7: ('blockOwnerDeletion', 'bool', False)}
OBJECT_META = {1: ('name', 'string', False), 2: ('generateName', 'string', False), 3: ('namespace', 'string', False),
               5: ('uid', 'string', False), 6: ('resourceVersion', 'string', False), 7: ('generation', 'int', False),
               8: ('creationTimestamp', TIME, False), 11: ('labels', 'map', False), 12: ('annotations', 'map', False),
               13: ('ownerReferences', OWNER_REF, True), 14: ('finalizers', 'string', True)}
OBJECT_REFERENCE = {1: ('kind', 'string', False), 2: ('namespace', 'string', False), 3: ('name', 'string', False),
                    4: ('uid', 'string', False), 5: ('apiVersion', 'string', False), 6: ('resourceVersion', 'string', False),
                    7: ('fieldPath', 'string', False)}
LOCAL_REF = {1: ('name', 'string', False)}
BOUND_REF = {1: ('kind', 'string', False), 2: ('apiVersion', 'string', False), 3: ('name', 'string', False),
             4: ('uid', 'string', False)}
RESOURCE_ATTRIBUTES = {1: ('namespace', 'string', False), 2: ('verb', 'string', False), 3: ('group', 'string', False),
                       4: ('version', 'string', False), 5: ('resource', 'string', False), 6: ('subresource', 'string', False),
                       7: ('name', 'string', False)}
NON_RESOURCE_ATTRIBUTES = {1: ('path', 'string', False), 2: ('verb', 'string', False)}
EXTRA_VALUE = {1: ('items', 'string', True)}
POLICY_RULE = {1: ('verbs', 'string', True), 2: ('apiGroups', 'string', True), 3: ('resources', 'string', True),
               4: ('resourceNames', 'string', True), 5: ('nonResourceURLs', 'string', True)}
LABEL_SELECTOR_REQ = {1: ('key', 'string', False), 2: ('operator', 'string', False), 3: ('values', 'string', True)}
LABEL_SELECTOR = {1: ('matchLabels', 'map', False), 2: ('matchExpressions', LABEL_SELECTOR_REQ, True)}
SUBJECT = {1: ('kind', 'string', False), 2: ('apiGroup', 'string', False), 3: ('name', 'string', False),
           4: ('namespace', 'string', False)}
ROLE_REF = {1: ('apiGroup', 'string', False), 2: ('kind', 'string', False), 3: ('name', 'string', False)}
SERVICE_PORT = {1: ('name', 'string', False), 2: ('protocol', 'string', False), 3: ('port', 'int', False),
                4: ('targetPort', 'intorstr', False), 5: ('nodePort', 'int', False), 6: ('appProtocol', 'string', False)}
CONTAINER_PORT = {1: ('name', 'string', False), 2: ('hostPort', 'int', False), 3: ('containerPort', 'int', False),
                  4: ('protocol', 'string', False), 5: ('hostIP', 'string', False)}
ENV_VAR = {1: ('name', 'string', False), 2: ('value', 'string', False)}
CONTAINER = {1: ('name', 'string', False), 2: ('image', 'string', False), 3: ('command', 'string', True),
             4: ('args', 'string', True), 5: ('workingDir', 'string', False), 6: ('ports', CONTAINER_PORT, True),
             7: ('env', ENV_VAR, True), 8: ('resources', {}, False), 14: ('imagePullPolicy', 'string', False),
             13: ('terminationMessagePath', 'string', False), 20: ('terminationMessagePolicy', 'string', False),
             16: ('stdin', 'bool', False), 17: ('stdinOnce', 'bool', False), 18: ('tty', 'bool', False)}
POD_SPEC = {2: ('containers', CONTAINER, True), 3: ('restartPolicy', 'string', False),
            4: ('terminationGracePeriodSeconds', 'int', False), 6: ('dnsPolicy', 'string', False),
            7: ('nodeSelector', 'map', False), 8: ('serviceAccountName', 'string', False),
            9: ('serviceAccount', 'string', False), 10: ('nodeName', 'string', False),
            15: ('imagePullSecrets', LOCAL_REF, True), 19: ('schedulerName', 'string', False),
            20: ('initContainers', CONTAINER, True), 21: ('automountServiceAccountToken', 'ptrbool', False)}
POD_TEMPLATE = {1: ('metadata', OBJECT_META, False), 2: ('spec', POD_SPEC, False)}

KINDS = {
    'TokenRequest': {1: ('metadata', OBJECT_META, False), 2: ('spec', {
        1: ('audiences', 'string', True), 4: ('expirationSeconds', 'ptrint', False),
        3: ('boundObjectRef', BOUND_REF, False)}, False)},
    'TokenReview': {1: ('metadata', OBJECT_META, False), 2: ('spec', {
        1: ('token', 'string', False), 2: ('audiences', 'string', True)}, False)},
    'SelfSubjectAccessReview': {1: ('metadata', OBJECT_META, False), 2: ('spec', {
        1: ('resourceAttributes', RESOURCE_ATTRIBUTES, False),
        2: ('nonResourceAttributes', NON_RESOURCE_ATTRIBUTES, False)}, False)},
    'SubjectAccessReview': {1: ('metadata', OBJECT_META, False), 2: ('spec', {
        1: ('resourceAttributes', RESOURCE_ATTRIBUTES, False), 2: ('nonResourceAttributes', NON_RESOURCE_ATTRIBUTES, False),
        3: ('user', 'string', False), 4: ('groups', 'string', True), 5: ('extra', ('extra', EXTRA_VALUE), False),
        6: ('uid', 'string', False)}, False)},
    'SelfSubjectRulesReview': {1: ('metadata', OBJECT_META, False), 2: ('spec', {1: ('namespace', 'string', False)}, False)},
    'SelfSubjectReview': {1: ('metadata', OBJECT_META, False)},
    'ServiceAccount': {1: ('metadata', OBJECT_META, False), 2: ('secrets', OBJECT_REFERENCE, True),
                       3: ('imagePullSecrets', LOCAL_REF, True), 4: ('automountServiceAccountToken', 'ptrbool', False)},
    'Namespace': {1: ('metadata', OBJECT_META, False), 2: ('spec', {1: ('finalizers', 'string', True)}, False)},
    'Secret': {1: ('metadata', OBJECT_META, False), 2: ('data', 'map_bytes', False), 3: ('type', 'string', False),
               4: ('stringData', 'map', False), 5: ('immutable', 'ptrbool', False)},
    'ConfigMap': {1: ('metadata', OBJECT_META, False), 2: ('data', 'map', False), 3: ('binaryData', 'map_bytes', False),
                  4: ('immutable', 'ptrbool', False)},
    'Role': {1: ('metadata', OBJECT_META, False), 2: ('rules', POLICY_RULE, True)},
    'ClusterRole': {1: ('metadata', OBJECT_META, False), 2: ('rules', POLICY_RULE, True),
                    3: ('aggregationRule', {1: ('clusterRoleSelectors', LABEL_SELECTOR, True)}, False)},
    'RoleBinding': {1: ('metadata', OBJECT_META, False), 2: ('subjects', SUBJECT, True), 3: ('roleRef', ROLE_REF, False)},
    'ClusterRoleBinding': {1: ('metadata', OBJECT_META, False), 2: ('subjects', SUBJECT, True),
                           3: ('roleRef', ROLE_REF, False)},
    'Service': {1: ('metadata', OBJECT_META, False), 2: ('spec', {
        1: ('ports', SERVICE_PORT, True), 2: ('selector', 'map', False), 3: ('clusterIP', 'string', False),
        4: ('type', 'string', False), 10: ('externalName', 'string', False)}, False)},
    'Pod': {1: ('metadata', OBJECT_META, False), 2: ('spec', POD_SPEC, False)},
    'Node': {1: ('metadata', OBJECT_META, False), 2: ('spec', {1: ('podCIDR', 'string', False),
                                                               4: ('unschedulable', 'bool', False)}, False)},
    'Deployment': {1: ('metadata', OBJECT_META, False), 2: ('spec', {
        1: ('replicas', 'ptrint', False), 2: ('selector', LABEL_SELECTOR, False), 3: ('template', POD_TEMPLATE, False)}, False)},
    'DeleteOptions': {1: ('gracePeriodSeconds', 'ptrint', False), 2: ('preconditions', {
        1: ('uid', 'string', False), 2: ('resourceVersion', 'string', False)}, False),
        3: ('orphanDependents', 'bool', False), 4: ('propagationPolicy', 'string', False), 5: ('dryRun', 'string', True)},
}


def _time(data):
    seconds = 0
    for number, _wire, value in fields(data):
        if number == 1:
            seconds = _signed(value)
    if not seconds:
        return None
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')


def _map_entry(data, value_kind):
    key, value = '', b''
    for number, _wire, raw in fields(data):
        if number == 1:
            key = raw.decode('utf-8')
        elif number == 2:
            value = raw
    if value_kind == 'map':
        return key, value.decode('utf-8')
    if value_kind == 'map_bytes':
        return key, base64.b64encode(value).decode()
    return key, decode_message(value, value_kind)


def _int_or_string(data):
    kind, number_value, text = 0, 0, ''
    for number, _wire, raw in fields(data):
        if number == 1:
            kind = raw
        elif number == 2:
            number_value = _signed(raw)
        elif number == 3:
            text = raw.decode('utf-8')
    return text if kind == 1 else number_value


def decode_message(data, schema):
    """Decode ``data`` with ``schema`` into a JSON-shaped dict."""
    out = {}
    for number, _wire, value in fields(data):
        spec = schema.get(number)
        if spec is None:
            continue  # fields the double does not model
        name, kind, repeated = spec
        if isinstance(kind, tuple) or kind in ('map', 'map_bytes'):
            value_kind = kind[1] if isinstance(kind, tuple) else kind
            entry_key, entry_value = _map_entry(value, value_kind)
            if isinstance(kind, tuple):
                entry_value = entry_value.get('items', [])
            out.setdefault(name, {})[entry_key] = entry_value
            continue
        if kind == 'string':
            item = value.decode('utf-8')
            if not item and not repeated:
                continue  # proto2 as gogo writes it: empty strings are always sent, JSON omits them
        elif kind == 'bytes':
            item = base64.b64encode(value).decode()
        elif kind in ('int', 'ptrint'):
            item = _signed(value)
            if kind == 'int' and not item:
                continue
        elif kind in ('bool', 'ptrbool'):
            item = bool(value)
            if kind == 'bool' and not item:
                continue
        elif kind == TIME:
            item = _time(value)
            if item is None:
                continue
        elif kind == 'intorstr':
            item = _int_or_string(value)
        else:
            item = decode_message(value, kind)
        if repeated:
            out.setdefault(name, []).append(item)
        else:
            out[name] = item
    return out


def decode(raw, kind_hint=None):
    """Decode a ``k8s\\0`` protobuf body into a dict with apiVersion and kind."""
    if not raw.startswith(MAGIC):
        raise DecodeError('missing the k8s protobuf envelope')
    api_version = kind = ''
    payload = b''
    for number, _wire, value in fields(raw[len(MAGIC):]):
        if number == 1:
            for sub_number, _sub_wire, sub_value in fields(value):
                if sub_number == 1:
                    api_version = sub_value.decode('utf-8')
                elif sub_number == 2:
                    kind = sub_value.decode('utf-8')
        elif number == 2:
            payload = value
    kind = kind or kind_hint or ''
    schema = KINDS.get(kind)
    if schema is None:
        raise DecodeError('no field map for kind %r' % kind)
    obj = decode_message(payload, schema)
    if api_version:
        obj['apiVersion'] = api_version
    obj['kind'] = kind
    return obj
