"""Resource registry, Status errors and the object store of the double."""
import base64
import collections
import copy
import datetime
import json
import random
import re
import threading
import uuid

STANDARD_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']
RBAC_GROUP = 'rbac.authorization.k8s.io'


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


def rfc3339(moment=None):
    moment = moment or now_utc()
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')


class Resource:
    """One REST resource: group/version, kind, plural, scope, verbs."""

    def __init__(self, group, version, kind, plural, namespaced, short_names=(), verbs=None, stored=True,
                 categories=()):
        self.group = group
        self.version = version
        self.kind = kind
        self.plural = plural
        self.singular = kind.lower()
        self.namespaced = namespaced
        self.short_names = list(short_names)
        self.verbs = list(verbs or STANDARD_VERBS)
        self.stored = stored
        self.categories = list(categories)

    @property
    def api_version(self):
        return '%s/%s' % (self.group, self.version) if self.group else self.version

    @property
    def group_resource(self):
        return '%s.%s' % (self.plural, self.group) if self.group else self.plural

    @property
    def group_kind(self):
        return '%s.%s' % (self.kind, self.group) if self.group else self.kind


R = Resource
CREATE_ONLY = ['create']
RESOURCES = [
    R('', 'v1', 'Namespace', 'namespaces', False, ['ns'], ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']),
    R('', 'v1', 'ServiceAccount', 'serviceaccounts', True, ['sa']),
    R('', 'v1', 'Secret', 'secrets', True),
    R('', 'v1', 'ConfigMap', 'configmaps', True, ['cm']),
    R('', 'v1', 'Pod', 'pods', True, ['po'], categories=['all']),
    R('', 'v1', 'Node', 'nodes', False, ['no']),
    R('', 'v1', 'Service', 'services', True, ['svc'], ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      categories=['all']),
    R('apps', 'v1', 'Deployment', 'deployments', True, ['deploy'], categories=['all']),
    R(RBAC_GROUP, 'v1', 'ClusterRole', 'clusterroles', False),
    R(RBAC_GROUP, 'v1', 'ClusterRoleBinding', 'clusterrolebindings', False),
    R(RBAC_GROUP, 'v1', 'Role', 'roles', True),
    R(RBAC_GROUP, 'v1', 'RoleBinding', 'rolebindings', True),
    R('authentication.k8s.io', 'v1', 'TokenReview', 'tokenreviews', False, verbs=CREATE_ONLY, stored=False),
    R('authentication.k8s.io', 'v1', 'SelfSubjectReview', 'selfsubjectreviews', False, verbs=CREATE_ONLY, stored=False),
    R('authentication.k8s.io', 'v1beta1', 'SelfSubjectReview', 'selfsubjectreviews', False, verbs=CREATE_ONLY, stored=False),
    R('authorization.k8s.io', 'v1', 'LocalSubjectAccessReview', 'localsubjectaccessreviews', True, verbs=CREATE_ONLY, stored=False),
    R('authorization.k8s.io', 'v1', 'SelfSubjectAccessReview', 'selfsubjectaccessreviews', False, verbs=CREATE_ONLY, stored=False),
    R('authorization.k8s.io', 'v1', 'SelfSubjectRulesReview', 'selfsubjectrulesreviews', False, verbs=CREATE_ONLY, stored=False),
    R('authorization.k8s.io', 'v1', 'SubjectAccessReview', 'subjectaccessreviews', False, verbs=CREATE_ONLY, stored=False),
]
# subresources listed in discovery: (parent plural, subresource, group, version, kind, verbs)
SUBRESOURCES = [
    ('serviceaccounts', 'token', 'authentication.k8s.io', 'v1', 'TokenRequest', ['create']),
    ('namespaces', 'status', '', 'v1', 'Namespace', ['get', 'patch', 'update']),
    ('pods', 'status', '', 'v1', 'Pod', ['get', 'patch', 'update']),
    ('deployments', 'status', 'apps', 'v1', 'Deployment', ['get', 'patch', 'update']),
]
BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}
BY_PLURAL = {}
BY_KIND = {}
for _r in RESOURCES:   # the first (preferred) version wins
    BY_PLURAL.setdefault(_r.plural, _r)
    BY_KIND.setdefault(_r.kind, _r)
GROUP_VERSIONS = []
for _r in RESOURCES:
    if (_r.group, _r.version) not in GROUP_VERSIONS:
        GROUP_VERSIONS.append((_r.group, _r.version))


def find_resource(name):
    """A :class:`Resource` by plural, singular, short name or Kind."""
    if isinstance(name, Resource):
        return name
    if name in BY_PLURAL:
        return BY_PLURAL[name]
    if name in BY_KIND:
        return BY_KIND[name]
    for res in RESOURCES:
        if name.lower() in (res.singular, res.kind.lower()) or name in res.short_names:
            return res
    raise KeyError('unknown resource %r' % (name,))


def grant_objects(user_or_sa, verbs, resources, api_groups=('',), namespace=None, resource_names=None, name=None):
    """The (Cluster)Role with one rule and its binding that grant ``user_or_sa`` (a user name,
    ``system:serviceaccount:NS:NAME`` or ``group:NAME``) the rule: ``(role, binding, subject)``.
    Shared by the double's and the real control plane's ``grant`` test helpers."""
    rule = {'apiGroups': list(api_groups), 'resources': list(resources), 'verbs': list(verbs)}
    if resource_names:
        rule['resourceNames'] = list(resource_names)
    if user_or_sa.startswith('system:serviceaccount:'):
        sa_ns, sa_name = user_or_sa.split(':', 3)[2:]
        subject = {'kind': 'ServiceAccount', 'name': sa_name, 'namespace': sa_ns}
    elif user_or_sa.startswith('group:'):
        subject = {'kind': 'Group', 'name': user_or_sa[6:], 'apiGroup': RBAC_GROUP}
    else:
        subject = {'kind': 'User', 'name': user_or_sa, 'apiGroup': RBAC_GROUP}
    kind = 'Role' if namespace else 'ClusterRole'
    meta = {'name': name, 'namespace': namespace} if namespace else {'name': name}
    role = {'kind': kind, 'metadata': dict(meta), 'rules': [rule]}
    binding = {'kind': kind + 'Binding', 'metadata': dict(meta), 'subjects': [subject],
               'roleRef': {'apiGroup': RBAC_GROUP, 'kind': kind, 'name': name}}
    return role, binding, subject


class ApiError(Exception):
    """An error answered as a ``Status`` object."""

    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self):
        body = {'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Failure',
                'message': self.message, 'reason': self.reason}
        if self.details is not None:
            body['details'] = self.details
        body['code'] = self.code
        return body


def _details(name, group, kind, **extra):
    details = {}
    if name:
        details['name'] = name
    if group:
        details['group'] = group
    if kind:
        details['kind'] = kind
    details.update(extra)
    return details


def not_found(res, name):
    if isinstance(res, str):
        res = find_resource(res)
    return ApiError(404, 'NotFound', '%s "%s" not found' % (res.group_resource, name),
                    _details(name, res.group, res.plural))


def already_exists(res, name):
    return ApiError(409, 'AlreadyExists', '%s "%s" already exists' % (res.group_resource, name),
                    _details(name, res.group, res.plural))


def conflict(group, resource, name, why):
    qualified = '%s.%s' % (resource, group) if group else resource
    return ApiError(409, 'Conflict', 'Operation cannot be fulfilled on %s "%s": %s' % (qualified, name, why),
                    _details(name, group, resource))


def bad_request(message):
    return ApiError(400, 'BadRequest', message)


def forbidden(group, resource, name, why, **extra):
    if not resource:
        message = 'forbidden: %s' % why
    else:
        qualified = '%s.%s' % (resource, group) if group else resource
        message = ('%s "%s" is forbidden: %s' % (qualified, name, why)) if name else ('%s is forbidden: %s' % (qualified, why))
    return ApiError(403, 'Forbidden', message, _details(name, group, resource, **extra))


def go_value(value):
    """Format a value the way field.Invalid prints it."""
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    return json.dumps(value, sort_keys=True)


class FieldError:
    """One ``field.Error``."""

    MESSAGES = {'FieldValueInvalid': 'Invalid value', 'FieldValueRequired': 'Required value',
                'FieldValueNotSupported': 'Unsupported value', 'FieldValueForbidden': 'Forbidden',
                'FieldValueDuplicate': 'Duplicate value'}

    def __init__(self, reason, field, detail, value=None, raw_value=None):
        self.reason = reason
        self.field = field
        self.detail = detail
        self.value = value
        self.raw_value = raw_value

    def body(self):
        label = self.MESSAGES[self.reason]
        if self.reason == 'FieldValueRequired' or self.reason == 'FieldValueForbidden':
            return '%s: %s' % (label, self.detail) if self.detail else label
        shown = self.raw_value if self.raw_value is not None else go_value(self.value)
        return '%s: %s: %s' % (label, shown, self.detail) if self.detail else '%s: %s' % (label, shown)

    def __str__(self):
        return '%s: %s' % (self.field, self.body())


def invalid_field(field, value, detail, raw_value=None):
    return FieldError('FieldValueInvalid', field, detail, value, raw_value)


def required_field(field, detail=''):
    return FieldError('FieldValueRequired', field, detail)


def invalid(res_or_group_kind, name, errors):
    """422 like ``errors.NewInvalid``; ``res_or_group_kind`` is a Resource or (group, kind)."""
    if isinstance(res_or_group_kind, Resource):
        group, kind = res_or_group_kind.group, res_or_group_kind.kind
    else:
        group, kind = res_or_group_kind
    group_kind = '%s.%s' % (kind, group) if group else kind
    if len(errors) == 1:
        text = str(errors[0])
    else:
        text = '[%s]' % ', '.join(str(e) for e in errors)
    causes = [{'reason': e.reason, 'message': e.body(), 'field': e.field} for e in errors]
    return ApiError(422, 'Invalid', '%s "%s" is invalid: %s' % (group_kind, name, text),
                    _details(name, group, kind, causes=causes))


# --- names ------------------------------------------------------------------------------------
DNS1123_SUBDOMAIN = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')
DNS1123_LABEL = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')
SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                 "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation "
                 "is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
             "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')")


def name_errors(res, name):
    if res.group == RBAC_GROUP:
        if name in ('.', '..'):
            return [invalid_field('metadata.name', name, 'may not be \'%s\'' % name)]
        for bad in ('/', '%'):
            if bad in name:
                return [invalid_field('metadata.name', name, "may not contain '%s'" % bad)]
        return []
    if res.kind == 'Namespace':
        if len(name) > 63 or not DNS1123_LABEL.match(name):
            return [invalid_field('metadata.name', name, LABEL_MSG)]
        return []
    if len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
        return [invalid_field('metadata.name', name, SUBDOMAIN_MSG)]
    return []


# --- selectors ---------------------------------------------------------------------------------
def _split_top(text):
    parts, depth, cur = [], 0, ''
    for char in text:
        if char == '(':
            depth += 1
        elif char == ')':
            depth -= 1
        if char == ',' and depth == 0:
            parts.append(cur)
            cur = ''
        else:
            cur += char
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(text):
    """A predicate over a labels dict for a label selector string."""
    terms = []
    for part in _split_top(text or ''):
        match = re.match(r'^([^\s!=]+)\s+(in|notin)\s+\((.*)\)$', part)
        if match:
            values = {v.strip() for v in match.group(3).split(',') if v.strip()}
            terms.append((match.group(1), match.group(2), values))
            continue
        match = re.match(r'^([^\s!=]+)\s*(==|=|!=)\s*(.*)$', part)
        if match:
            terms.append((match.group(1), {'==': '=', '=': '=', '!=': '!='}[match.group(2)], match.group(3).strip()))
            continue
        if part.startswith('!'):
            terms.append((part[1:].strip(), '!', None))
            continue
        if re.match(r'^[A-Za-z0-9._/-]+$', part):
            terms.append((part, 'exists', None))
            continue
        raise bad_request('unable to parse requirement: found \'%s\', expected: identifier' % part)

    def matches(labels):
        labels = labels or {}
        for key, op, value in terms:
            have = labels.get(key)
            if op == '=' and have != value:
                return False
            if op == '!=' and have == value:
                return False
            if op == 'in' and have not in value:
                return False
            if op == 'notin' and have in value:
                return False
            if op == 'exists' and key not in labels:
                return False
            if op == '!' and key in labels:
                return False
        return True
    return matches


# kube-apiserver registers field label conversions for these (pkg/apis/core/v1/conversion.go);
# the others fall back to runtime.DefaultMetaV1FieldSelectorConversion
OWN_FIELD_LABELS = {'pods', 'nodes', 'replicationcontrollers', 'events', 'namespaces', 'secrets', 'services'}
FIELD_SELECTORS = {
    'secrets': {'type': lambda o: o.get('type', '')},
    'pods': {'spec.nodeName': lambda o: o.get('spec', {}).get('nodeName', ''),
             'spec.serviceAccountName': lambda o: o.get('spec', {}).get('serviceAccountName', ''),
             'spec.restartPolicy': lambda o: o.get('spec', {}).get('restartPolicy', ''),
             'spec.schedulerName': lambda o: o.get('spec', {}).get('schedulerName', ''),
             'status.phase': lambda o: o.get('status', {}).get('phase', ''),
             'status.podIP': lambda o: o.get('status', {}).get('podIP', '')},
    'namespaces': {'status.phase': lambda o: o.get('status', {}).get('phase', '')},
    'nodes': {'spec.unschedulable': lambda o: str(bool(o.get('spec', {}).get('unschedulable', False))).lower()},
}


def parse_field_selector(res, text):
    getters = {'metadata.name': lambda o: o['metadata'].get('name', ''),
               'metadata.namespace': lambda o: o['metadata'].get('namespace', '')}
    getters.update(FIELD_SELECTORS.get(res.plural, {}))
    terms = []
    for part in _split_top(text or ''):
        match = re.match(r'^([^\s!=]+)\s*(==|=|!=)\s*(.*)$', part)
        if not match:
            raise bad_request('invalid selector: \'%s\'; can\'t understand \'%s\'' % (text, part))
        field = match.group(1)
        if field not in getters:
            if res.plural in OWN_FIELD_LABELS:   # kinds with their own field label conversion
                raise bad_request('field label not supported: %s' % field)
            raise bad_request('%s is not a known field selector: only "metadata.name", "metadata.namespace"'
                              % json.dumps(field))
        terms.append((getters[field], match.group(2) == '!=', match.group(3)))

    def matches(obj):
        for getter, negate, value in terms:
            if (getter(obj) == value) == negate:
                return False
        return True
    return matches


# --- defaults ---------------------------------------------------------------------------------
def _b64(text):
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


_ALNUM = 'bcdfghjklmnpqrstvwxz2456789'


def default_containers(pod_spec):
    """Container defaults of a PodSpec, for Pods and pod templates alike (as kube-apiserver's PodSpec defaulting)."""
    for container in pod_spec.get('containers') or []:
        container.setdefault('terminationMessagePath', '/dev/termination-log')
        container.setdefault('terminationMessagePolicy', 'File')
        image = str(container.get('image', ''))
        container.setdefault('imagePullPolicy', 'Always' if image.endswith(':latest') or ':' not in image else 'IfNotPresent')
        container.setdefault('resources', {})
        for port in container.get('ports') or []:
            port.setdefault('protocol', 'TCP')


def apply_defaults(res, obj, namespace_name=None):
    """Fill in what kube-apiserver's defaulting fills for the kinds the double stores."""
    meta = obj.setdefault('metadata', {})
    for key in ('labels', 'annotations'):
        if key in meta and not meta[key]:
            del meta[key]
    kind = res.kind
    if kind == 'Namespace':
        meta.setdefault('labels', {})['kubernetes.io/metadata.name'] = meta.get('name', namespace_name)
        obj.setdefault('spec', {}).setdefault('finalizers', ['kubernetes'])
        obj.setdefault('status', {}).setdefault('phase', 'Active')
    elif kind == 'Secret':
        obj.setdefault('type', 'Opaque')
        string_data = obj.pop('stringData', None)
        if string_data:
            data = obj.setdefault('data', {}) or {}
            obj['data'] = data
            for key, value in string_data.items():
                data[key] = _b64(value)
        if 'data' in obj and not obj['data']:
            del obj['data']
    elif kind == 'Pod':
        spec = obj.setdefault('spec', {})
        account = spec.get('serviceAccountName') or spec.get('serviceAccount') or 'default'
        spec['serviceAccountName'] = account
        spec['serviceAccount'] = account
        spec.setdefault('restartPolicy', 'Always')
        spec.setdefault('dnsPolicy', 'ClusterFirst')
        spec.setdefault('terminationGracePeriodSeconds', 30)
        spec.setdefault('schedulerName', 'default-scheduler')
        spec.setdefault('securityContext', {})
        spec.setdefault('enableServiceLinks', True)
        spec.setdefault('preemptionPolicy', 'PreemptLowerPriority')
        spec.setdefault('priority', 0)
        default_containers(spec)
        obj.setdefault('status', {}).setdefault('phase', 'Pending')
        obj['status'].setdefault('qosClass', 'BestEffort')
    elif kind == 'Service':
        spec = obj.setdefault('spec', {})
        spec.setdefault('type', 'ClusterIP')
        spec.setdefault('sessionAffinity', 'None')
        if spec['type'] != 'ExternalName':
            if 'clusterIP' not in spec:
                spec['clusterIP'] = '10.96.%d.%d' % (random.randint(1, 254), random.randint(1, 254))
            spec.setdefault('clusterIPs', [spec['clusterIP']])
            spec.setdefault('ipFamilies', ['IPv4'])
            spec.setdefault('ipFamilyPolicy', 'SingleStack')
            spec.setdefault('internalTrafficPolicy', 'Cluster')
        for port in spec.get('ports') or []:
            port.setdefault('protocol', 'TCP')
            if 'port' in port:
                port.setdefault('targetPort', port['port'])
        obj.setdefault('status', {}).setdefault('loadBalancer', {})
    elif kind == 'Deployment':
        spec = obj.setdefault('spec', {})
        spec.setdefault('replicas', 1)
        spec.setdefault('revisionHistoryLimit', 10)
        spec.setdefault('progressDeadlineSeconds', 600)
        strategy = spec.setdefault('strategy', {'type': 'RollingUpdate'})
        if strategy.get('type', 'RollingUpdate') == 'RollingUpdate':
            strategy.setdefault('type', 'RollingUpdate')
            strategy.setdefault('rollingUpdate', {'maxUnavailable': '25%', 'maxSurge': '25%'})
        template_spec = spec.setdefault('template', {}).setdefault('spec', {})
        template_spec.setdefault('restartPolicy', 'Always')
        template_spec.setdefault('dnsPolicy', 'ClusterFirst')
        template_spec.setdefault('terminationGracePeriodSeconds', 30)
        template_spec.setdefault('schedulerName', 'default-scheduler')
        template_spec.setdefault('securityContext', {})
        default_containers(template_spec)
    elif kind in ('RoleBinding', 'ClusterRoleBinding'):
        for subject in obj.get('subjects') or []:
            if subject.get('kind') in ('User', 'Group'):
                subject.setdefault('apiGroup', RBAC_GROUP)
    return obj


def validate(res, obj, old=None):
    """Field errors for the kinds whose validation matters to the collection's tests."""
    errors = []
    kind = res.kind
    if kind in ('Role', 'ClusterRole'):
        for index, rule in enumerate(obj.get('rules') or []):
            path = 'rules[%d]' % index
            if not rule.get('verbs'):
                errors.append(required_field(path + '.verbs', 'verbs must contain at least one value'))
            if rule.get('nonResourceURLs'):
                if kind == 'Role':
                    errors.append(invalid_field(path + '.nonResourceURLs', rule['nonResourceURLs'],
                                                'namespaced rules cannot apply to non-resource URLs'))
                if rule.get('resources') or rule.get('apiGroups'):
                    errors.append(invalid_field(path + '.nonResourceURLs', rule['nonResourceURLs'],
                                                'rules cannot apply to both regular resources and non-resource URLs'))
            elif not rule.get('resources'):
                errors.append(required_field(path + '.resources', 'resource rules must supply at least one resource'))
            elif 'apiGroups' not in rule or rule.get('apiGroups') is None:
                errors.append(required_field(path + '.apiGroups', 'resource rules must supply at least one api group'))
    elif kind in ('RoleBinding', 'ClusterRoleBinding'):
        ref = obj.get('roleRef') or {}
        if ref.get('apiGroup') != RBAC_GROUP:
            errors.append(FieldError('FieldValueNotSupported', 'roleRef.apiGroup', 'supported values: "%s"' % RBAC_GROUP,
                                     ref.get('apiGroup', '')))
        allowed = ('ClusterRole',) if kind == 'ClusterRoleBinding' else ('Role', 'ClusterRole')
        if ref.get('kind') not in allowed:
            errors.append(FieldError('FieldValueNotSupported', 'roleRef.kind',
                                     'supported values: %s' % ', '.join('"%s"' % a for a in allowed), ref.get('kind', '')))
        if not ref.get('name'):
            errors.append(required_field('roleRef.name'))
        for index, subject in enumerate(obj.get('subjects') or []):
            if subject.get('kind') not in ('ServiceAccount', 'User', 'Group'):
                errors.append(FieldError('FieldValueNotSupported', 'subjects[%d].kind' % index,
                                         'supported values: "Group", "ServiceAccount", "User"', subject.get('kind', '')))
            if not subject.get('name'):
                errors.append(required_field('subjects[%d].name' % index))
            if subject.get('kind') == 'ServiceAccount' and not subject.get('namespace') and kind == 'ClusterRoleBinding':
                errors.append(required_field('subjects[%d].namespace' % index))
        if old is not None and old.get('roleRef') != obj.get('roleRef'):
            ref = obj.get('roleRef') or {}
            raw = '{"APIGroup":%s,"Kind":%s,"Name":%s}' % (
                json.dumps(ref.get('apiGroup', '')), json.dumps(ref.get('kind', '')), json.dumps(ref.get('name', '')))
            errors.append(invalid_field('roleRef', ref, 'field is immutable', raw_value=raw))
    elif kind == 'Pod' and old is None:
        if not (obj.get('spec') or {}).get('containers'):
            errors.append(required_field('spec.containers'))
    elif kind == 'Deployment':
        spec = obj.get('spec') or {}
        if not spec.get('selector'):
            errors.append(required_field('spec.selector'))
        if not ((spec.get('template') or {}).get('spec') or {}).get('containers'):
            errors.append(required_field('spec.template.spec.containers'))
    elif kind in ('Secret', 'ConfigMap'):
        for key, value in (obj.get('data') or {}).items():
            if kind == 'Secret' and not isinstance(value, str):
                errors.append(invalid_field('data[%s]' % key, value, 'must be base64 encoded'))
        if kind == 'Secret' and obj.get('type') == 'kubernetes.io/service-account-token':
            annotations = obj['metadata'].get('annotations') or {}
            if not annotations.get('kubernetes.io/service-account.name'):
                errors.append(required_field('metadata.annotations[kubernetes.io/service-account.name]'))
        if old is not None:
            if kind == 'Secret' and obj.get('type') != old.get('type'):
                errors.append(invalid_field('type', obj.get('type'), 'field is immutable'))
            if old.get('immutable'):
                for field in ('data', 'binaryData', 'stringData'):
                    if (obj.get(field) or None) != (old.get(field) or None):
                        errors.append(FieldError('FieldValueForbidden', field, 'field is immutable when `immutable` is set'))
                if not obj.get('immutable'):
                    errors.append(FieldError('FieldValueForbidden', 'immutable', 'field is immutable when `immutable` is set'))
    return errors


def strip_for_compare(obj):
    """The object without the fields a write always rewrites, for no-op detection."""
    clean = dict(obj)
    meta = dict(clean.get('metadata') or {})
    meta.pop('resourceVersion', None)
    meta.pop('managedFields', None)
    meta.pop('generation', None)
    clean['metadata'] = meta
    return clean


class Store:
    """Objects by resource, namespace and name, with a global resourceVersion counter."""

    def __init__(self):
        self.lock = threading.RLock()
        self.revision = 100
        self.data = {r.plural: {} for r in RESOURCES if r.stored}
        self.hooks = []   # callables (event, res, obj, old) run under the lock after a write
        self.events = collections.deque(maxlen=5000)   # (revision, type, plural, object) for watches
        self.changed = threading.Condition(self.lock)

    # ---- helpers
    def _res(self, resource):
        res = find_resource(resource)
        if not res.stored:
            raise KeyError('%s is not stored' % res.plural)
        return res

    def _next(self):
        self.revision += 1
        return str(self.revision)

    def _fire(self, event, res, obj, old=None):
        kind = {'create': 'ADDED', 'update': 'MODIFIED', 'delete': 'DELETED'}[event]
        if event == 'delete':
            obj = dict(obj, metadata=dict(obj['metadata'], resourceVersion=str(self.revision)))
        self.events.append((self.revision, kind, res.plural, copy.deepcopy(obj)))
        self.changed.notify_all()
        for hook in self.hooks:
            hook(event, res, obj, old)

    def _key(self, res, namespace, name):
        return (namespace if res.namespaced else '', name)

    # ---- reads
    def get(self, resource, name, namespace=None, copy_=True):
        res = self._res(resource)
        with self.lock:
            obj = self.data[res.plural].get(self._key(res, namespace, name))
            if obj is None:
                raise not_found(res, name)
            return copy.deepcopy(obj) if copy_ else obj

    def find(self, resource, name, namespace=None):
        """The stored object (not a copy) or None."""
        res = self._res(resource)
        return self.data[res.plural].get(self._key(res, namespace, name))

    def list(self, resource, namespace=None, label_selector=None, field_selector=None):
        res = self._res(resource)
        label_match = parse_label_selector(label_selector) if label_selector else None
        field_match = parse_field_selector(res, field_selector) if field_selector else None
        with self.lock:
            items = []
            for (ns, _name), obj in sorted(self.data[res.plural].items()):
                if res.namespaced and namespace and ns != namespace:
                    continue
                if label_match and not label_match(obj['metadata'].get('labels')):
                    continue
                if field_match and not field_match(obj):
                    continue
                items.append(copy.deepcopy(obj))
            return items, str(self.revision)

    def check_namespace_open(self, namespace, resource, name):
        """NamespaceLifecycle admission of a create: 404 for a missing namespace, 403 for a terminating one."""
        res = self._res(resource)
        with self.lock:
            found = self.data['namespaces'].get(('', namespace))
        if found is None:
            raise not_found('namespaces', namespace)
        if (found.get('metadata') or {}).get('deletionTimestamp'):
            cause = {'reason': 'NamespaceTerminating', 'message': 'namespace %s is being terminated' % namespace,
                     'field': 'metadata.namespace'}
            raise forbidden(res.group, res.plural, name, 'unable to create new content in namespace %s because it is '
                            'being terminated' % namespace, causes=[cause])

    # ---- writes
    def create(self, resource, obj, namespace=None, dry_run=False):
        res = self._res(resource)
        obj = copy.deepcopy(obj)
        obj['apiVersion'] = res.api_version
        obj['kind'] = res.kind
        meta = obj.setdefault('metadata', {}) or {}
        obj['metadata'] = meta
        if res.namespaced:
            namespace = namespace or meta.get('namespace') or 'default'
            if meta.get('namespace') and meta['namespace'] != namespace:
                raise bad_request('the namespace of the provided object does not match the namespace sent on the request')
            meta['namespace'] = namespace
        else:
            meta.pop('namespace', None)
        with self.lock:
            if not meta.get('name') and meta.get('generateName'):
                for _attempt in range(20):
                    candidate = meta['generateName'] + ''.join(random.choice(_ALNUM) for _index in range(5))
                    if self._key(res, namespace, candidate) not in self.data[res.plural]:
                        meta['name'] = candidate
                        break
            name = meta.get('name')
            if not name:
                raise invalid(res, '', [required_field('metadata.name', 'name or generateName is required')])
            errors = name_errors(res, name)
            apply_defaults(res, obj)
            errors += validate(res, obj)
            if errors:
                raise invalid(res, name, errors)
            if res.namespaced:
                self.check_namespace_open(namespace, res, name)
            key = self._key(res, namespace, name)
            if key in self.data[res.plural]:
                raise already_exists(res, name)
            meta['uid'] = str(uuid.uuid4())
            meta['creationTimestamp'] = rfc3339()
            meta.pop('deletionTimestamp', None)
            if res.kind == 'Deployment':
                meta['generation'] = 1
            if dry_run:
                meta['resourceVersion'] = ''
                return copy.deepcopy(obj)
            meta['resourceVersion'] = self._next()
            self.data[res.plural][key] = obj
            self._fire('create', res, obj)
            return copy.deepcopy(obj)

    def update(self, resource, obj, name=None, namespace=None, dry_run=False, check_rv=True):
        """Replace an object; a write that changes nothing keeps its resourceVersion."""
        res = self._res(resource)
        obj = copy.deepcopy(obj)
        meta = obj.setdefault('metadata', {}) or {}
        obj['metadata'] = meta
        name = name or meta.get('name')
        if meta.get('name') and meta['name'] != name:
            raise bad_request('the name of the object (%s) does not match the name on the URL (%s)' % (meta['name'], name))
        meta['name'] = name
        if res.namespaced:
            namespace = namespace or meta.get('namespace')
            if meta.get('namespace') and meta['namespace'] != namespace:
                raise bad_request('the namespace of the provided object does not match the namespace sent on the request')
            meta['namespace'] = namespace
        with self.lock:
            key = self._key(res, namespace, name)
            old = self.data[res.plural].get(key)
            if old is None:
                raise not_found(res, name)
            rv = meta.get('resourceVersion')
            if check_rv and rv and rv != old['metadata']['resourceVersion']:
                raise conflict(res.group, res.plural, name,
                               'the object has been modified; please apply your changes to the latest version and try again')
            if meta.get('uid') and meta['uid'] != old['metadata']['uid']:
                raise conflict(res.group, res.plural, name, 'Precondition failed: UID in precondition: %s, UID in object meta: %s'
                               % (old['metadata']['uid'], meta['uid']))
            obj['apiVersion'] = res.api_version
            obj['kind'] = res.kind
            meta['uid'] = old['metadata']['uid']
            meta['creationTimestamp'] = old['metadata']['creationTimestamp']
            if 'generation' in old['metadata']:
                meta['generation'] = old['metadata']['generation']
            apply_defaults(res, obj)
            errors = validate(res, obj, old)
            if errors:
                raise invalid(res, name, errors)
            if old['metadata'].get('deletionTimestamp'):
                meta['deletionTimestamp'] = old['metadata']['deletionTimestamp']
            if strip_for_compare(obj) == strip_for_compare(old):
                return copy.deepcopy(old)
            if res.kind == 'Deployment' and obj.get('spec') != old.get('spec'):
                meta['generation'] = old['metadata'].get('generation', 1) + 1
            if dry_run:
                meta['resourceVersion'] = old['metadata']['resourceVersion']
                return copy.deepcopy(obj)
            meta['resourceVersion'] = self._next()
            self.data[res.plural][key] = obj
            self._fire('update', res, obj, old)
            return copy.deepcopy(obj)

    def delete(self, resource, name, namespace=None, uid=None, resource_version=None, dry_run=False):
        res = self._res(resource)
        with self.lock:
            key = self._key(res, namespace, name)
            old = self.data[res.plural].get(key)
            if old is None:
                raise not_found(res, name)
            # the registry's BeforeDelete: a Conflict on the Kind (not the resource), as kube-apiserver says it
            if uid and uid != old['metadata']['uid']:
                raise conflict(res.group, res.kind, name,
                               'the UID in the precondition (%s) does not match the UID in record (%s). The object might '
                               'have been deleted and then recreated' % (uid, old['metadata']['uid']))
            if resource_version and resource_version != old['metadata']['resourceVersion']:
                raise conflict(res.group, res.kind, name,
                               'the ResourceVersion in the precondition (%s) does not match the ResourceVersion in record '
                               '(%s). The object might have been modified' % (resource_version, old['metadata']['resourceVersion']))
            if dry_run:
                return copy.deepcopy(old)
            del self.data[res.plural][key]
            self._next()
            self._fire('delete', res, old)
            return copy.deepcopy(old)

    # ---- conveniences for tests
    def put(self, obj):
        """Create or replace ``obj`` (a dict with kind), returning the stored copy."""
        res = find_resource(obj['kind'])
        meta = obj.get('metadata') or {}
        namespace = meta.get('namespace') or ('default' if res.namespaced else None)
        if self.find(res, meta.get('name'), namespace) is not None:
            return self.update(res, obj, meta.get('name'), namespace, check_rv=False)
        return self.create(res, obj, namespace)

    def dump(self):
        with self.lock:
            return {plural: [copy.deepcopy(o) for _k, o in sorted(objs.items())] for plural, objs in self.data.items()}

    def load(self, dumped):
        with self.lock:
            for plural, objs in dumped.items():
                table = self.data.setdefault(plural, {})
                for obj in objs:
                    meta = obj['metadata']
                    table[(meta.get('namespace', ''), meta['name'])] = obj
                    self.revision = max(self.revision, int(meta.get('resourceVersion') or 0))
