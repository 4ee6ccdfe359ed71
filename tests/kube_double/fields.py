"""Server-side field validation (``fieldValidation=Strict|Warn|Ignore``) for the fields the
double knows: the top level of every stored kind, ObjectMeta, RBAC rules, subjects and
roleRef. Deeper fields of pods, services and deployments are not checked."""

META = {'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
        'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers',
        'managedFields'}
RULE = {'verbs', 'apiGroups', 'resources', 'resourceNames', 'nonResourceURLs'}
SUBJECT = {'kind', 'apiGroup', 'name', 'namespace'}
ROLE_REF = {'apiGroup', 'kind', 'name'}
COMMON = {'apiVersion', 'kind', 'metadata'}
TOP = {
    'Namespace': {'spec', 'status'},
    'ServiceAccount': {'secrets', 'imagePullSecrets', 'automountServiceAccountToken'},
    'Secret': {'data', 'stringData', 'type', 'immutable'},
    'ConfigMap': {'data', 'binaryData', 'immutable'},
    'Pod': {'spec', 'status'},
    'Node': {'spec', 'status'},
    'Service': {'spec', 'status'},
    'Deployment': {'spec', 'status'},
    'ClusterRole': {'rules', 'aggregationRule'},
    'Role': {'rules'},
    'ClusterRoleBinding': {'subjects', 'roleRef'},
    'RoleBinding': {'subjects', 'roleRef'},
}


def _keys(obj, allowed, prefix, found):
    if not isinstance(obj, dict):
        return
    for key in obj:
        if key.startswith('$'):
            continue   # strategic merge patch directives
        if key not in allowed:
            found.append(prefix + key)


def unknown_fields(kind, obj):
    """Paths of unknown fields in ``obj`` (a full object or a patch) of ``kind``."""
    if kind not in TOP or not isinstance(obj, dict):
        return []
    found = []
    _keys(obj, COMMON | TOP[kind], '', found)
    _keys(obj.get('metadata'), META, 'metadata.', found)
    if kind in ('Role', 'ClusterRole'):
        for index, rule in enumerate(obj.get('rules') or []):
            _keys(rule, RULE, 'rules[%d].' % index, found)
    if kind in ('RoleBinding', 'ClusterRoleBinding'):
        for index, subject in enumerate(obj.get('subjects') or []):
            _keys(subject, SUBJECT, 'subjects[%d].' % index, found)
        _keys(obj.get('roleRef'), ROLE_REF, 'roleRef.', found)
    return found
