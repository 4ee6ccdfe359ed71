"""Fidelity probes: the same requests against the real control plane and the API server double.

Each probe sets up what it needs through the test-helper interface both servers share
(``create_service_account``, ``grant``, ``objects``...) and plain HTTPS requests, and returns a
small dict of observations, normalised for what legitimately differs between two clusters
(uids, ports, timestamps, resourceVersions, token values) and nothing else: status codes,
Status ``reason``/``message``/``details``, token claims, review answers.

    from kube_real.probes import Target, PROBES, run_probes
    results = run_probes({'default': Target(plane), 'max': Target(max_plane)})

``PROBES`` is a list of :class:`Probe` (name, the plane it needs, the function). A probe
gets a :class:`Target` and uses only its own namespace (``target.namespace(probe)``), so the
probes are independent and their order does not matter.
"""
import base64
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from typing import Callable

from .rest import Rest, resource_path

TOKEN_PATH = '/api/v1/namespaces/%s/serviceaccounts/%s/token'
AUTHN = '/apis/authentication.k8s.io/v1'
AUTHZ = '/apis/authorization.k8s.io/v1'
UID_RE = re.compile(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}')
SHA256_RE = re.compile(r'\b[0-9a-f]{64}\b')
PORT_RE = re.compile(r'127\.0\.0\.1:\d+')
TIME_RE = re.compile(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z')
# Kubernetes 1.37 (the real control plane's version); the double is started with the same one.
VERSION = 'v1.37.2'


@dataclass
class Probe:
    name: str
    plane: str
    func: Callable


PROBES = []


def probe(name, plane='default'):
    def register(func):
        PROBES.append(Probe(name, plane, func))
        return func
    return register


class Target:
    """A started server (real or double) with the admin and helpers the probes use."""

    def __init__(self, plane):
        self.plane = plane
        self.uids = {}   # uid -> label, so that claims and messages compare by meaning
        self.admin = self.user('probe-admin', ('system:masters',))

    # ---- clients
    def _files(self, user, groups):
        cert, key = self.plane.pki.client_cert(user, tuple(groups))
        self._fingerprints(cert, user)
        label = re.sub(r'[^A-Za-z0-9]', '_', user)
        paths = []
        for suffix, data in (('crt', cert), ('key', key)):
            path = os.path.join(self.plane.state_dir, 'probe-%s.%s' % (label, suffix))
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'wb') as handle:
                handle.write(data)
            paths.append(path)
        return paths

    def _fingerprints(self, cert_pem, user):
        """Label the hashes a server may derive from a client certificate (credential ids)."""
        from cryptography import x509  # pylint: disable=import-outside-toplevel
        from cryptography.hazmat.primitives.serialization import Encoding  # pylint: disable=import-outside-toplevel
        cert = x509.load_pem_x509_certificate(cert_pem)
        for what, data in (('certificate', cert.public_bytes(Encoding.DER)), ('signature', cert.signature)):
            self.uids[hashlib.sha256(data).hexdigest()] = '<sha256 of the %s of %s>' % (what, user)

    def user(self, name, groups=()):
        return Rest(self.plane.url, self.plane.ca_path, *self._files(name, groups))

    def bearer(self, token):
        return Rest(self.plane.url, self.plane.ca_path, token=token)

    def anonymous(self):
        return Rest(self.plane.url, self.plane.ca_path)

    # ---- state
    def namespace(self, name):
        if self.plane.objects.find('namespaces', name) is None:
            self.plane.objects.create('namespaces', {'metadata': {'name': name}})
        return name

    def account(self, name, namespace):
        self.namespace(namespace)
        obj = self.plane.create_service_account(name, namespace)
        self.label(obj, 'sa %s' % name)
        return obj

    def create(self, resource, obj, namespace=None, label=None):
        created = self.plane.objects.create(resource, obj, namespace)
        if label:
            self.label(created, label)
        return created

    def label(self, obj, label):
        self.uids[obj['metadata']['uid']] = '<uid of %s>' % label
        return obj

    def token_request(self, name, namespace, spec=None, client=None, body=None, method='POST'):
        if body is None:
            body = {'apiVersion': 'authentication.k8s.io/v1', 'kind': 'TokenRequest', 'spec': spec or {}}
        return (client or self.admin).request(method, TOKEN_PATH % (namespace, name), body)

    def mint(self, name, namespace, **spec):
        status, body, _headers = self.token_request(name, namespace, spec)
        if status != 201:
            raise AssertionError('TokenRequest %s/%s: %s %s' % (namespace, name, status, body))
        token = body['status']['token']
        self.uids[jti(token)] = '<jti of the token>'
        return token

    def wait(self, predicate, timeout=20, what='a condition'):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError('timed out waiting for %s' % what)
            time.sleep(0.1)

    # ---- normalisation
    def norm(self, value):
        """Replace uids (by the label of the object they belong to), ports, timestamps."""
        if isinstance(value, str):
            value = UID_RE.sub(lambda m: self.uids.get(m.group(0), '<uid>'), value)
            value = SHA256_RE.sub(lambda m: self.uids.get(m.group(0), '<sha256>'), value)
            value = PORT_RE.sub('127.0.0.1:<port>', value)
            return TIME_RE.sub('<time>', value)
        if isinstance(value, dict):
            return {k: self.norm(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.norm(v) for v in value]
        return value

    def status(self, answer, fields=()):
        """A response as code, and for a Status its reason, message and details; plus
        ``fields`` (dotted paths) of a success body."""
        code, body, headers = answer
        out = {'code': code}
        if isinstance(body, dict) and body.get('kind') == 'Status':
            out['reason'] = body.get('reason', '')
            out['message'] = self.norm(body.get('message', ''))
            details = dict(body.get('details') or {})
            details.pop('uid', None)
            if details:
                out['details'] = self.norm(details)
        elif not isinstance(body, dict) and body:
            out['body'] = self.norm(str(body))[:200]
        for path in fields:
            out[path] = self.norm(dig(body, path))
        warnings = headers.get_all('Warning') if headers is not None else None
        if warnings:
            out['warning'] = [self.norm(w) for w in warnings]
        return out

    def claims(self, token):
        """Header and claims of a JWT, times as offsets from ``iat``, uids by label."""
        header, payload = (json.loads(_b64decode(part)) for part in token.split('.')[:2])
        out = {'header': {k: ('<kid of the signing key>' if k == 'kid' and v == self.plane.pki.kid else v)
                          for k, v in header.items()}}
        iat = payload.get('iat')
        for key, value in sorted(payload.items()):
            if key in ('exp', 'nbf') and iat is not None:
                out[key + '-iat'] = value - iat
            elif key == 'iat':
                out[key] = '<now>' if abs(value - time.time()) < 120 else value
            elif key == 'jti':
                out[key] = '<uuid>' if UID_RE.fullmatch(value) else value
            elif key == 'kubernetes.io':
                value = dict(value)
                if 'warnafter' in value:
                    value['warnafter-iat'] = value.pop('warnafter') - iat
                out[key] = self.norm(value)
            else:
                out[key] = self.norm(value)
        return out


def dig(body, path):
    for part in path.split('.'):
        if not isinstance(body, dict):
            return None
        body = body.get(part)
    return body


def _b64decode(part):
    return base64.urlsafe_b64decode(part + '=' * (-len(part) % 4))


def jti(token):
    return json.loads(_b64decode(token.split('.')[1])).get('jti')


def run_probes(targets):
    """{probe name: observations} for each probe on ``targets[probe.plane]``; a probe that
    raises reports ``{'error': ...}`` (so a difference, never a crash of the suite)."""
    results = {}
    for item in PROBES:
        try:
            results[item.name] = item.func(targets[item.plane])
        except Exception as exc:  # pylint: disable=broad-except
            results[item.name] = {'error': '%s: %s' % (type(exc).__name__, str(exc)[:300])}
    return results


# ================================================================== TokenRequest errors
def _tr_error(name, ns_suffix, spec=None, body=None, who=None, account='app', setup=None, fields=()):
    """A TokenRequest probe: set up namespace ``tr-<ns_suffix>`` with ServiceAccount app, post."""
    def run(t):
        namespace = t.namespace('tr-' + ns_suffix)
        t.account('app', namespace)
        context = setup(t, namespace) if setup else {}
        spec_value = spec(context) if callable(spec) else spec
        client = t.user(*who) if who else None
        answer = t.token_request(account, namespace, spec_value, client=client, body=body)
        return t.status(answer, fields)
    run.__doc__ = name
    return run


def _pod(t, namespace, name='runner', account='app', node=None):
    spec = {'serviceAccountName': account, 'containers': [{'name': 'c', 'image': 'busybox'}]}
    if node:
        spec['nodeName'] = node
    return t.create('pods', {'metadata': {'name': name, 'namespace': namespace}, 'spec': spec}, namespace, 'pod ' + name)


def _node(t, name='node-a'):
    found = t.plane.objects.find('nodes', name)
    return t.label(found or t.plane.objects.create('nodes', {'metadata': {'name': name}}), 'node ' + name)


def _secret(t, namespace, name='bound'):
    return t.create('secrets', {'metadata': {'name': name, 'namespace': namespace}, 'data': {'k': 'dg=='}},
                    namespace, 'secret ' + name)


def _ref(kind, name, uid=None, api_version='v1'):
    ref = {'apiVersion': api_version, 'kind': kind, 'name': name}
    if uid:
        ref['uid'] = uid
    return ref


TOKEN_REQUEST_ERRORS = [
    # name, namespace suffix, kwargs
    ('tokenrequest: ServiceAccount missing (404)', 'sa404', {'account': 'nobody'}),
    ('tokenrequest: forbidden without create serviceaccounts/token (403)', 'forbid', {'who': ('mallory',)}),
    ('tokenrequest: bound Pod missing (404)', 'podmiss', {'spec': {'boundObjectRef': _ref('Pod', 'ghost')}}),
    ('tokenrequest: bound Secret missing (404)', 'secmiss', {'spec': {'boundObjectRef': _ref('Secret', 'ghost')}}),
    ('tokenrequest: bound Node missing (404)', 'nodemiss', {'spec': {'boundObjectRef': _ref('Node', 'ghost-node')}}),
    ('tokenrequest: bound kind ConfigMap (400)', 'kind', {'spec': {'boundObjectRef': _ref('ConfigMap', 'cm')}}),
    ('tokenrequest: bound kind Deployment apps/v1 (400)', 'kind2',
     {'spec': {'boundObjectRef': _ref('Deployment', 'd', api_version='apps/v1')}}),
    ('tokenrequest: bound Pod uid mismatch (409)', 'poduid',
     {'setup': lambda t, ns: {'pod': _pod(t, ns)},
      'spec': lambda c: {'boundObjectRef': _ref('Pod', 'runner', '00000000-0000-0000-0000-000000000001')}}),
    ('tokenrequest: bound Secret uid mismatch (409)', 'secuid',
     {'setup': lambda t, ns: {'secret': _secret(t, ns)},
      'spec': lambda c: {'boundObjectRef': _ref('Secret', 'bound', '00000000-0000-0000-0000-000000000002')}}),
    ('tokenrequest: bound Pod of another ServiceAccount (400)', 'podsa',
     {'setup': lambda t, ns: {'other': t.account('other', ns), 'pod': _pod(t, ns, account='other')},
      'spec': {'boundObjectRef': _ref('Pod', 'runner')}}),
    ('tokenrequest: body is not JSON (400)', 'notjson', {'body': b'{not json'}),
    ('tokenrequest: expirationSeconds a string (400)', 'expstr', {'spec': {'expirationSeconds': 'soon'}}),
    ('tokenrequest: expirationSeconds a float (400)', 'expfloat', {'spec': {'expirationSeconds': 700.5}}),
    ('tokenrequest: audiences not a list (400)', 'audstr', {'spec': {'audiences': 'vault'}}),
    ('tokenrequest: metadata.name differs from the path (422)', 'namebody',
     {'body': {'apiVersion': 'authentication.k8s.io/v1', 'kind': 'TokenRequest', 'metadata': {'name': 'other'}, 'spec': {}}}),
    ('tokenrequest: metadata.namespace differs from the path (400)', 'nsbody',
     {'body': {'apiVersion': 'authentication.k8s.io/v1', 'kind': 'TokenRequest', 'metadata': {'namespace': 'elsewhere'},
               'spec': {}}}),
    ('tokenrequest: wrong kind in body', 'kindbody',
     {'body': {'apiVersion': 'v1', 'kind': 'ConfigMap', 'spec': {}}}),
]
for _seconds in (599, 600, 2 ** 32, 2 ** 32 + 1, -1, 0):
    TOKEN_REQUEST_ERRORS.append(('tokenrequest: expirationSeconds %d' % _seconds, 'dur%s' % str(_seconds).replace('-', 'm'),
                                 {'spec': {'expirationSeconds': _seconds},
                                  'fields': ('spec.expirationSeconds', 'spec.audiences')}))

for _name, _suffix, _kwargs in TOKEN_REQUEST_ERRORS:
    probe(_name)(_tr_error(_name, _suffix, **_kwargs))


@probe('tokenrequest: namespace missing (404)')
def _tr_namespace_missing(t):
    return t.status(t.token_request('app', 'tr-no-such-namespace', {}))


@probe('tokenrequest: GET on the token subresource (405)')
def _tr_get(t):
    namespace = t.namespace('tr-get')
    t.account('app', namespace)
    return t.status(t.admin.request('GET', TOKEN_PATH % (namespace, 'app')))


@probe('tokenrequest: a ServiceAccount token asks for its own token (403)')
def _tr_self(t):
    namespace = t.namespace('tr-self')
    t.account('app', namespace)
    token = t.mint('app', namespace)
    return t.status(t.token_request('app', namespace, {}, client=t.bearer(token)))


@probe('tokenrequest: granted create serviceaccounts/token on the named account')
def _tr_granted(t):
    namespace = t.namespace('tr-granted')
    t.account('app', namespace)
    t.plane.grant('minter', ['create'], ['serviceaccounts/token'], namespace=namespace, resource_names=['app'])
    ok = t.token_request('app', namespace, {}, client=t.user('minter'))
    t.account('other', namespace)
    denied = t.token_request('other', namespace, {}, client=t.user('minter'))
    return {'named': t.status(ok, ('kind', 'apiVersion', 'spec.expirationSeconds')), 'other': t.status(denied)}


# ================================================================== TokenRequest success and claims
@probe('tokenrequest: defaults (201, spec, status keys)')
def _tr_defaults(t):
    namespace = t.namespace('tr-ok')
    account = t.account('app', namespace)
    time.sleep(1.1)   # so that the ServiceAccount's creation time and the issue time differ
    code, body, headers = t.token_request('app', namespace, {})
    out = t.status((code, body, headers), ('kind', 'apiVersion', 'spec'))
    out['status keys'] = sorted((body.get('status') or {}).keys())
    meta = dict(body.get('metadata') or {})
    meta.pop('managedFields', None)   # the double writes no managedFields (see "apply: ... creates")
    created = meta.pop('creationTimestamp', None)
    out['metadata'] = t.norm(meta)
    iat = json.loads(_b64decode(body['status']['token'].split('.')[1]))['iat'] if code == 201 else None
    out['metadata.creationTimestamp'] = (
        'the ServiceAccount\'s' if created == account['metadata']['creationTimestamp'] else
        'the token\'s iat' if iat and created == time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(iat)) else created)
    return out


@probe('claims: default token')
def _claims_default(t):
    namespace = t.namespace('cl-default')
    t.account('app', namespace)
    return t.claims(t.mint('app', namespace))


@probe('claims: custom audiences and 600 s')
def _claims_audience(t):
    namespace = t.namespace('cl-aud')
    t.account('app', namespace)
    return t.claims(t.mint('app', namespace, audiences=['vault', 'mcp'], expirationSeconds=600))


@probe('claims: bound to a Pod on a Node')
def _claims_pod(t):
    namespace = t.namespace('cl-pod')
    t.account('app', namespace)
    _node(t, 'node-p')
    _pod(t, namespace, node='node-p')
    return t.claims(t.mint('app', namespace, boundObjectRef=_ref('Pod', 'runner')))


@probe('claims: bound to a Pod without a node')
def _claims_pod_no_node(t):
    namespace = t.namespace('cl-podnn')
    t.account('app', namespace)
    _pod(t, namespace)
    return t.claims(t.mint('app', namespace, boundObjectRef=_ref('Pod', 'runner')))


@probe('claims: bound to a Pod whose Node does not exist')
def _claims_pod_missing_node(t):
    namespace = t.namespace('cl-podmn')
    t.account('app', namespace)
    _pod(t, namespace, node='absent-node')
    return t.claims(t.mint('app', namespace, boundObjectRef=_ref('Pod', 'runner')))


@probe('claims: bound to a Secret')
def _claims_secret(t):
    namespace = t.namespace('cl-secret')
    t.account('app', namespace)
    _secret(t, namespace)
    return t.claims(t.mint('app', namespace, boundObjectRef=_ref('Secret', 'bound')))


@probe('claims: bound to a Node')
def _claims_node(t):
    namespace = t.namespace('cl-node')
    t.account('app', namespace)
    _node(t, 'node-n')
    return t.claims(t.mint('app', namespace, boundObjectRef=_ref('Node', 'node-n')))


@probe('claims: 3607 s bound to a Pod, API audience: extended to a year with warnafter')
def _claims_extended(t):
    namespace = t.namespace('cl-ext')
    t.account('app', namespace)
    _pod(t, namespace)
    return t.claims(t.mint('app', namespace, boundObjectRef=_ref('Pod', 'runner'), expirationSeconds=3607))


@probe('claims: 3607 s unbound: not extended')
def _claims_3607_unbound(t):
    namespace = t.namespace('cl-3607')
    t.account('app', namespace)
    return t.claims(t.mint('app', namespace, expirationSeconds=3607))


@probe('claims: 3607 s bound to a Pod, foreign audience: not extended')
def _claims_3607_foreign(t):
    namespace = t.namespace('cl-3607f')
    t.account('app', namespace)
    _pod(t, namespace)
    return t.claims(t.mint('app', namespace, boundObjectRef=_ref('Pod', 'runner'), expirationSeconds=3607,
                           audiences=['vault']))


@probe('claims: 3607 s bound to a Secret: not extended')
def _claims_3607_secret(t):
    namespace = t.namespace('cl-3607s')
    t.account('app', namespace)
    _secret(t, namespace)
    return t.claims(t.mint('app', namespace, boundObjectRef=_ref('Secret', 'bound'), expirationSeconds=3607))


@probe('tokenrequest: 3607 s bound to a Pod: spec and expirationTimestamp')
def _tr_extended_response(t):
    namespace = t.namespace('tr-ext')
    t.account('app', namespace)
    _pod(t, namespace)
    code, body, headers = t.token_request('app', namespace, {'boundObjectRef': _ref('Pod', 'runner'),
                                                             'expirationSeconds': 3607})
    out = t.status((code, body, headers), ('spec.expirationSeconds', 'spec.boundObjectRef'))
    stamp = dig(body, 'status.expirationTimestamp')
    created = time.mktime(time.strptime(stamp, '%Y-%m-%dT%H:%M:%SZ')) if stamp else None
    out['expirationTimestamp - now (h)'] = round((created - time.mktime(time.gmtime())) / 3600) if created else None
    return out


# ================================================================== max token expiration (a second plane)
def _max_probe(seconds, pod=False):
    def run(t):
        namespace = t.namespace('max-%d%s' % (seconds, '-pod' if pod else ''))
        t.account('app', namespace)
        spec = {'expirationSeconds': seconds}
        if pod:
            _pod(t, namespace)
            spec['boundObjectRef'] = _ref('Pod', 'runner')
        code, body, headers = t.token_request('app', namespace, spec)
        out = t.status((code, body, headers), ('spec.expirationSeconds',))
        if code == 201:
            claims = t.claims(body['status']['token'])
            out['exp-iat'] = claims.get('exp-iat')
            out['warnafter-iat'] = claims.get('kubernetes.io', {}).get('warnafter-iat')
        return out
    return run


for _seconds, _pod_bound in ((86400, False), (7200, False), (3600, False), (3607, True), (2 ** 32 + 1, False)):
    probe('max expiration 7200 s: asks %d s%s' % (_seconds, ' bound to a Pod' if _pod_bound else ''),
          plane='max')(_max_probe(_seconds, _pod_bound))


# ================================================================== TokenReview
def _review(t, token, audiences=None, client=None):
    spec = {'token': token}
    if audiences is not None:
        spec['audiences'] = audiences
    body = {'apiVersion': 'authentication.k8s.io/v1', 'kind': 'TokenReview', 'spec': spec}
    code, data, headers = (client or t.admin).request('POST', AUTHN + '/tokenreviews', body)
    out = t.status((code, data, headers))
    if code == 201:
        status = dict(data.get('status') or {})
        out['status'] = t.norm(status)
    return out


@probe('tokenreview: valid token')
def _trv_valid(t):
    namespace = t.namespace('rv-valid')
    t.account('app', namespace)
    return _review(t, t.mint('app', namespace))


@probe('tokenreview: valid token bound to a Pod on a Node')
def _trv_pod(t):
    namespace = t.namespace('rv-pod')
    t.account('app', namespace)
    _node(t, 'node-r')
    _pod(t, namespace, node='node-r')
    return _review(t, t.mint('app', namespace, boundObjectRef=_ref('Pod', 'runner')))


@probe('tokenreview: empty token (400)')
def _trv_empty(t):
    return _review(t, '')


@probe('tokenreview: garbage')
def _trv_garbage(t):
    return _review(t, 'not-a-jwt')


@probe('tokenreview: a JWT signed by another key')
def _trv_foreign(t):
    namespace = t.namespace('rv-foreign')
    t.account('app', namespace)
    token = t.mint('app', namespace)
    head, body, sig = token.split('.')
    return _review(t, '%s.%s.%s' % (head, body, sig[::-1]))


@probe('tokenreview: ServiceAccount deleted')
def _trv_deleted(t):
    namespace = t.namespace('rv-deleted')
    t.account('app', namespace)
    token = t.mint('app', namespace)
    t.plane.objects.delete('serviceaccounts', 'app', namespace)
    return _review(t, token)


@probe('tokenreview: ServiceAccount recreated (uid differs)')
def _trv_recreated(t):
    namespace = t.namespace('rv-recreated')
    t.account('app', namespace)
    token = t.mint('app', namespace)
    t.plane.objects.delete('serviceaccounts', 'app', namespace)
    t.account('app', namespace)
    return _review(t, token)


@probe('tokenreview: bound Pod deleted')
def _trv_pod_deleted(t):
    namespace = t.namespace('rv-poddel')
    t.account('app', namespace)
    _pod(t, namespace)
    token = t.mint('app', namespace, boundObjectRef=_ref('Pod', 'runner'))
    t.admin.request('DELETE', resource_path('pods', 'runner', namespace), query={'gracePeriodSeconds': '0'})
    t.wait(lambda: t.plane.objects.find('pods', 'runner', namespace) is None, what='the pod to go')
    return _review(t, token)


@probe('tokenreview: bound Secret deleted')
def _trv_secret_deleted(t):
    namespace = t.namespace('rv-secdel')
    t.account('app', namespace)
    _secret(t, namespace)
    token = t.mint('app', namespace, boundObjectRef=_ref('Secret', 'bound'))
    t.plane.objects.delete('secrets', 'bound', namespace)
    return _review(t, token)


@probe('tokenreview: token audience not accepted by the review')
def _trv_wrong_audience(t):
    namespace = t.namespace('rv-aud')
    t.account('app', namespace)
    return _review(t, t.mint('app', namespace), audiences=['vault'])


@probe('tokenreview: custom-audience token reviewed for the API')
def _trv_custom_audience(t):
    namespace = t.namespace('rv-aud2')
    t.account('app', namespace)
    return _review(t, t.mint('app', namespace, audiences=['vault']))


@probe('tokenreview: custom-audience token reviewed for its audience')
def _trv_custom_audience_ok(t):
    namespace = t.namespace('rv-aud3')
    t.account('app', namespace)
    return _review(t, t.mint('app', namespace, audiences=['vault', 'other']), audiences=['vault'])


@probe('tokenreview: forbidden without create tokenreviews (403)')
def _trv_forbidden(t):
    return _review(t, 'x', client=t.user('mallory'))


@probe('api: request with a custom-audience token (401)')
def _api_wrong_audience(t):
    namespace = t.namespace('api-aud')
    t.account('app', namespace)
    token = t.mint('app', namespace, audiences=['vault'])
    return t.status(t.bearer(token).request('GET', '/api/v1/namespaces/%s/pods' % namespace))


@probe('api: request with garbage bearer token (401)')
def _api_garbage(t):
    return t.status(t.bearer('garbage').request('GET', '/api/v1/namespaces'))


@probe('api: anonymous request (403)')
def _api_anonymous(t):
    return t.status(t.anonymous().request('GET', '/api/v1/namespaces'))


@probe('api: anonymous /version and /healthz')
def _api_anonymous_public(t):
    client = t.anonymous()
    code, body, _h = client.request('GET', '/version')
    return {'version': code, 'version keys': sorted(body) if isinstance(body, dict) else body,
            'healthz': client.request('GET', '/healthz')[0]}


# ================================================================== whoami and impersonation
def _whoami(t, client, headers=None):
    body = {'apiVersion': 'authentication.k8s.io/v1', 'kind': 'SelfSubjectReview'}
    if headers:
        client = _HeaderRest(client, headers)
    code, data, hdrs = client.request('POST', AUTHN + '/selfsubjectreviews', body)
    out = t.status((code, data, hdrs))
    if code == 201:
        out['body keys'] = sorted(data)
        out['userInfo'] = t.norm(dig(data, 'status.userInfo'))
    return out


class _HeaderRest:
    """A Rest that sends more headers (impersonation, Accept)."""

    def __init__(self, rest, headers):
        self.rest = rest
        self.headers = headers

    def request(self, method, path, body=None, query=None):
        return self.rest.request(method, path, body, query, headers=self.headers)


@probe('whoami: admin client certificate')
def _whoami_admin(t):
    return _whoami(t, t.admin)


@probe('whoami: ServiceAccount token (uid, groups, credential-id)')
def _whoami_sa(t):
    namespace = t.namespace('who-sa')
    t.account('app', namespace)
    token = t.mint('app', namespace)
    return _whoami(t, t.bearer(token))


@probe('whoami: Pod-bound ServiceAccount token')
def _whoami_pod(t):
    namespace = t.namespace('who-pod')
    t.account('app', namespace)
    _node(t, 'node-w')
    _pod(t, namespace, node='node-w')
    token = t.mint('app', namespace, boundObjectRef=_ref('Pod', 'runner'))
    return _whoami(t, t.bearer(token))


@probe('impersonation: admin as a ServiceAccount')
def _imp_sa(t):
    namespace = t.namespace('imp-sa')
    t.account('app', namespace)
    return _whoami(t, t.admin, {'Impersonate-User': 'system:serviceaccount:%s:app' % namespace})


@probe('impersonation: admin as a user with groups and extra')
def _imp_user(t):
    return _whoami(t, t.admin, {'Impersonate-User': 'jane', 'Impersonate-Group': 'dev',
                                'Impersonate-Extra-Scopes': 'view'})


@probe('impersonation: user without impersonate rights (403)')
def _imp_forbidden(t):
    return _whoami(t, t.user('mallory'), {'Impersonate-User': 'jane'})


@probe('impersonation: group without impersonate rights on groups (403)')
def _imp_group_forbidden(t):
    t.plane.grant('imper', ['impersonate'], ['users'])
    return _whoami(t, t.user('imper'), {'Impersonate-User': 'jane', 'Impersonate-Group': 'admins'})


@probe('impersonation: rights on users, impersonating a ServiceAccount (403)')
def _imp_sa_forbidden(t):
    t.plane.grant('imper2', ['impersonate'], ['users'])
    namespace = t.namespace('imp-sa2')
    return _whoami(t, t.user('imper2'), {'Impersonate-User': 'system:serviceaccount:%s:app' % namespace})


@probe('impersonation: then forbidden as the impersonated user (403)')
def _imp_then_forbidden(t):
    client = _HeaderRest(t.admin, {'Impersonate-User': 'jane'})
    return t.status(client.request('GET', '/api/v1/namespaces/default/secrets'))


# ================================================================== access reviews
def _ssar(t, client, attrs=None, non_resource=None):
    spec = {}
    if attrs is not None:
        spec['resourceAttributes'] = attrs
    if non_resource is not None:
        spec['nonResourceAttributes'] = non_resource
    body = {'apiVersion': 'authorization.k8s.io/v1', 'kind': 'SelfSubjectAccessReview', 'spec': spec}
    return t.status(client.request('POST', AUTHZ + '/selfsubjectaccessreviews', body), ('status',))


@probe('ssar: admin may do anything')
def _ssar_admin(t):
    return _ssar(t, t.admin, {'verb': 'delete', 'resource': 'secrets', 'namespace': 'default'})


@probe('ssar: ServiceAccount without a grant')
def _ssar_denied(t):
    namespace = t.namespace('ssar-no')
    t.account('app', namespace)
    return _ssar(t, t.bearer(t.mint('app', namespace)), {'verb': 'list', 'resource': 'secrets', 'namespace': namespace})


@probe('ssar: ServiceAccount with a Role')
def _ssar_role(t):
    namespace = t.namespace('ssar-role')
    t.account('app', namespace)
    t.plane.grant('system:serviceaccount:%s:app' % namespace, ['get', 'list'], ['secrets'], namespace=namespace,
                  name='reader')
    return _ssar(t, t.bearer(t.mint('app', namespace)), {'verb': 'list', 'resource': 'secrets', 'namespace': namespace})


@probe('ssar: user with a ClusterRole, token subresource')
def _ssar_cluster(t):
    t.plane.grant('minter-c', ['create'], ['serviceaccounts/token'], name='minter-c')
    attrs = {'verb': 'create', 'resource': 'serviceaccounts', 'subresource': 'token', 'namespace': 'default', 'name': 'x'}
    return _ssar(t, t.user('minter-c'), attrs)


@probe('ssar: resourceNames grant, other name')
def _ssar_names(t):
    namespace = t.namespace('ssar-names')
    t.plane.grant('named', ['get'], ['secrets'], namespace=namespace, resource_names=['one'], name='one-only')
    client = t.user('named')
    return {'one': _ssar(t, client, {'verb': 'get', 'resource': 'secrets', 'namespace': namespace, 'name': 'one'}),
            'two': _ssar(t, client, {'verb': 'get', 'resource': 'secrets', 'namespace': namespace, 'name': 'two'})}


@probe('ssar: non-resource URL')
def _ssar_non_resource(t):
    client = t.user('someone', ('system:authenticated',))
    # /api: only system:discovery grants it (/version is granted by two bindings, found in map order)
    return {'/api': _ssar(t, client, non_resource={'verb': 'get', 'path': '/api'}),
            '/metrics': _ssar(t, client, non_resource={'verb': 'get', 'path': '/metrics'})}


@probe('ssar: neither attribute set (422)')
def _ssar_none(t):
    return _ssar(t, t.admin)


@probe('ssar: both attributes set (422)')
def _ssar_both(t):
    return _ssar(t, t.admin, {'verb': 'get', 'resource': 'pods'}, {'verb': 'get', 'path': '/version'})


@probe('sar: neither user nor groups (422)')
def _sar_empty(t):
    body = {'apiVersion': 'authorization.k8s.io/v1', 'kind': 'SubjectAccessReview',
            'spec': {'resourceAttributes': {'verb': 'get', 'resource': 'pods'}}}
    return t.status(t.admin.request('POST', AUTHZ + '/subjectaccessreviews', body))


@probe('sar: ServiceAccount granted by a RoleBinding')
def _sar_sa(t):
    namespace = t.namespace('sar-sa')
    t.account('app', namespace)
    t.plane.grant('system:serviceaccount:%s:app' % namespace, ['create'], ['serviceaccounts/token'], namespace=namespace,
                  name='tok')
    body = {'apiVersion': 'authorization.k8s.io/v1', 'kind': 'SubjectAccessReview',
            'spec': {'user': 'system:serviceaccount:%s:app' % namespace,
                     'groups': ['system:serviceaccounts', 'system:serviceaccounts:%s' % namespace],
                     'resourceAttributes': {'verb': 'create', 'resource': 'serviceaccounts', 'subresource': 'token',
                                            'namespace': namespace}}}
    return t.status(t.admin.request('POST', AUTHZ + '/subjectaccessreviews', body), ('status',))


def _rules(t, client, namespace):
    body = {'apiVersion': 'authorization.k8s.io/v1', 'kind': 'SelfSubjectRulesReview', 'spec': {'namespace': namespace}}
    code, data, headers = client.request('POST', AUTHZ + '/selfsubjectrulesreviews', body)
    out = t.status((code, data, headers))
    if code == 201:
        status = data.get('status') or {}

        def canon(rule):
            return json.dumps({k: sorted(v) for k, v in sorted(rule.items()) if v}, sort_keys=True)
        out['resourceRules'] = sorted(canon(r) for r in status.get('resourceRules') or [])
        out['nonResourceRules'] = sorted(canon(r) for r in status.get('nonResourceRules') or [])
        out['incomplete'] = status.get('incomplete')
        out['evaluationError'] = status.get('evaluationError')
    return out


@probe('ssrr: ServiceAccount with a Role')
def _ssrr_sa(t):
    namespace = t.namespace('ssrr-sa')
    t.account('app', namespace)
    t.plane.grant('system:serviceaccount:%s:app' % namespace, ['get', 'list'], ['secrets', 'configmaps'],
                  namespace=namespace, name='reader')
    return _rules(t, t.bearer(t.mint('app', namespace)), namespace)


@probe('ssrr: user with nothing')
def _ssrr_nobody(t):
    namespace = t.namespace('ssrr-none')
    return _rules(t, t.user('nobody', ('system:authenticated',)), namespace)


@probe('ssrr: no namespace (400)')
def _ssrr_no_namespace(t):
    body = {'apiVersion': 'authorization.k8s.io/v1', 'kind': 'SelfSubjectRulesReview', 'spec': {}}
    return t.status(t.admin.request('POST', AUTHZ + '/selfsubjectrulesreviews', body))


# ================================================================== RBAC 403 wording
@probe('rbac 403: list namespaced')
def _f_list(t):
    namespace = t.namespace('f-list')
    return t.status(t.user('mallory').request('GET', '/api/v1/namespaces/%s/secrets' % namespace))


@probe('rbac 403: list cluster scope')
def _f_cluster(t):
    return t.status(t.user('mallory').request('GET', '/api/v1/namespaces'))


@probe('rbac 403: get named object')
def _f_named(t):
    namespace = t.namespace('f-named')
    return t.status(t.user('mallory').request('GET', '/api/v1/namespaces/%s/secrets/top' % namespace))


@probe('rbac 403: create in a group (rbac.authorization.k8s.io)')
def _f_group(t):
    namespace = t.namespace('f-group')
    body = {'apiVersion': 'rbac.authorization.k8s.io/v1', 'kind': 'Role', 'metadata': {'name': 'r'}, 'rules': []}
    return t.status(t.user('mallory', ('devs',)).request(
        'POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/%s/roles' % namespace, body))


@probe('rbac 403: ServiceAccount deletes a cluster-scoped object')
def _f_sa_cluster(t):
    namespace = t.namespace('f-sa')
    t.account('app', namespace)
    return t.status(t.bearer(t.mint('app', namespace)).request('DELETE', '/apis/rbac.authorization.k8s.io/v1/clusterroles/x'))


@probe('rbac 403: escalation (Role granting more than the creator has)')
def _f_escalate(t):
    namespace = t.namespace('f-esc')
    t.plane.grant('roler', ['create', 'get'], ['roles'], api_groups=('rbac.authorization.k8s.io',), namespace=namespace)
    body = {'apiVersion': 'rbac.authorization.k8s.io/v1', 'kind': 'Role', 'metadata': {'name': 'big'},
            'rules': [{'apiGroups': [''], 'resources': ['secrets'], 'verbs': ['get']}]}
    out = t.status(t.user('roler').request('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/%s/roles' % namespace,
                                           body))
    # the message lists the user's whole rule set, which differs with the bootstrap policy: keep its start
    if 'message' in out:
        out['message'] = out['message'].split(' ownerrules=')[0].split('; ')[0]
    return out


# ================================================================== legacy token Secrets
def _legacy_secret(t, namespace, name='legacy', account='app'):
    return t.create('secrets', {'metadata': {'name': name, 'namespace': namespace,
                                             'annotations': {'kubernetes.io/service-account.name': account}},
                                'type': 'kubernetes.io/service-account-token'}, namespace, 'secret ' + name)


def _filled(t, namespace, name):
    def filled():
        secret = t.plane.objects.find('secrets', name, namespace)
        return secret if secret and (secret.get('data') or {}).get('token') else None
    return t.wait(filled, what='the token controller to fill %s' % name)


@probe('legacy secret: populated by the token controller')
def _legacy_populated(t):
    namespace = t.namespace('leg-pop')
    account = t.account('app', namespace)
    _legacy_secret(t, namespace)
    secret = _filled(t, namespace, 'legacy')
    data = secret['data']
    annotations = secret['metadata'].get('annotations') or {}
    return {'type': secret.get('type'), 'data keys': sorted(data),
            'ca.crt is the cluster CA': base64.b64decode(data['ca.crt']) == t.plane.pki.ca_pem,
            'namespace': base64.b64decode(data['namespace']).decode(),
            'annotations': t.norm(annotations),
            'uid annotation is the SA uid':
                annotations.get('kubernetes.io/service-account.uid') == account['metadata']['uid'],
            'claims': t.claims(base64.b64decode(data['token']).decode())}


@probe('legacy secret: its token authenticates (whoami)')
def _legacy_whoami(t):
    namespace = t.namespace('leg-who')
    t.account('app', namespace)
    _legacy_secret(t, namespace)
    secret = _filled(t, namespace, 'legacy')
    return _whoami(t, t.bearer(base64.b64decode(secret['data']['token']).decode()))


@probe('legacy secret: token revoked when the Secret is deleted')
def _legacy_revoked(t):
    namespace = t.namespace('leg-rev')
    t.account('app', namespace)
    _legacy_secret(t, namespace)
    token = base64.b64decode(_filled(t, namespace, 'legacy')['data']['token']).decode()
    t.plane.objects.delete('secrets', 'legacy', namespace)
    return {'api': t.status(t.bearer(token).request('GET', '/api/v1/namespaces/%s/pods' % namespace)),
            'review': _review(t, token)}


@probe('legacy secret: deleted with its ServiceAccount')
def _legacy_sa_deleted(t):
    namespace = t.namespace('leg-sadel')
    t.account('app', namespace)
    _legacy_secret(t, namespace)
    token = base64.b64decode(_filled(t, namespace, 'legacy')['data']['token']).decode()
    t.plane.objects.delete('serviceaccounts', 'app', namespace)
    gone = t.wait(lambda: t.plane.objects.find('secrets', 'legacy', namespace) is None or None, timeout=20,
                  what='the token controller to delete the secret') is True
    return {'secret deleted': gone, 'review': _review(t, token)}


# ================================================================== create/get/apply/patch (kubernetes.core)
CM = '/api/v1/namespaces/%s/configmaps'


def _cm(name, data, namespace=None):
    meta = {'name': name}
    if namespace:
        meta['namespace'] = namespace
    return {'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': meta, 'data': data}


def _apply(t, namespace, name, data, manager='ansible', force=None, client=None):
    query = {'fieldManager': manager} if manager else {}
    if force is not None:
        query['force'] = 'true' if force else 'false'
    return (client or t.admin).request('PATCH', (CM % namespace) + '/' + name, _cm(name, data, namespace), query,
                                       'application/apply-patch+yaml')


@probe('apply: server-side apply creates (201)')
def _ssa_create(t):
    namespace = t.namespace('ssa-create')
    return t.status(_apply(t, namespace, 'c', {'a': '1'}), ('data', 'metadata.managedFields'))


@probe('apply: same apply again is a no-op (resourceVersion kept)')
def _ssa_noop(t):
    namespace = t.namespace('ssa-noop')
    first = _apply(t, namespace, 'c', {'a': '1'})
    second = _apply(t, namespace, 'c', {'a': '1'})
    return dict(t.status(second, ('data',)), same_resource_version=dig(first[1], 'metadata.resourceVersion')
                == dig(second[1], 'metadata.resourceVersion'), same_object=first[1] == second[1])


@probe('apply: change by the same manager (200, new resourceVersion)')
def _ssa_change(t):
    namespace = t.namespace('ssa-change')
    first = _apply(t, namespace, 'c', {'a': '1'})
    second = _apply(t, namespace, 'c', {'a': '2'})
    return dict(t.status(second, ('data',)), same_resource_version=dig(first[1], 'metadata.resourceVersion')
                == dig(second[1], 'metadata.resourceVersion'))


@probe('apply: conflict with another manager (409)')
def _ssa_conflict(t):
    namespace = t.namespace('ssa-conflict')
    _apply(t, namespace, 'c', {'a': '1'}, manager='first')
    return t.status(_apply(t, namespace, 'c', {'a': '2'}, manager='second'))


@probe('apply: conflict forced (200)')
def _ssa_force(t):
    namespace = t.namespace('ssa-force')
    _apply(t, namespace, 'c', {'a': '1'}, manager='first')
    return t.status(_apply(t, namespace, 'c', {'a': '2'}, manager='second', force=True), ('data',))


@probe('apply: without fieldManager (400)')
def _ssa_no_manager(t):
    namespace = t.namespace('ssa-nomgr')
    return t.status(_apply(t, namespace, 'c', {'a': '1'}, manager=None))


@probe('apply: in a missing namespace (404)')
def _ssa_no_namespace(t):
    return t.status(_apply(t, 'ssa-no-such-namespace', 'c', {'a': '1'}))


@probe('apply: invalid name (422)')
def _ssa_invalid(t):
    namespace = t.namespace('ssa-invalid')
    return t.status(_apply(t, namespace, 'Bad_Name', {'a': '1'}))


def _patch(t, namespace, name, body, content_type):
    return t.admin.request('PATCH', (CM % namespace) + '/' + name, body, None, content_type)


@probe('patch: merge patch no-op keeps resourceVersion')
def _merge_noop(t):
    namespace = t.namespace('mp-noop')
    created = t.admin.request('POST', CM % namespace, _cm('c', {'a': '1'}))
    patched = _patch(t, namespace, 'c', {'data': {'a': '1'}}, 'application/merge-patch+json')
    return dict(t.status(patched, ('data',)), same_resource_version=dig(created[1], 'metadata.resourceVersion')
                == dig(patched[1], 'metadata.resourceVersion'), same_object=created[1] == patched[1])


@probe('patch: strategic merge patch no-op keeps resourceVersion')
def _smp_noop(t):
    namespace = t.namespace('smp-noop')
    created = t.admin.request('POST', CM % namespace, _cm('c', {'a': '1'}))
    patched = _patch(t, namespace, 'c', {'data': {'a': '1'}}, 'application/strategic-merge-patch+json')
    return dict(t.status(patched, ('data',)), same_resource_version=dig(created[1], 'metadata.resourceVersion')
                == dig(patched[1], 'metadata.resourceVersion'), same_object=created[1] == patched[1])


@probe('patch: strategic merge patch change and key removal')
def _smp_change(t):
    namespace = t.namespace('smp-change')
    created = t.admin.request('POST', CM % namespace, _cm('c', {'a': '1', 'b': '2'}))
    patched = _patch(t, namespace, 'c', {'data': {'a': '3', 'b': None}}, 'application/strategic-merge-patch+json')
    return dict(t.status(patched, ('data',)), same_resource_version=dig(created[1], 'metadata.resourceVersion')
                == dig(patched[1], 'metadata.resourceVersion'))


@probe('patch: merge patch on a missing object (404)')
def _merge_missing(t):
    namespace = t.namespace('mp-missing')
    return t.status(_patch(t, namespace, 'ghost', {'data': {'a': '1'}}, 'application/merge-patch+json'))


@probe('patch: JSON patch test operation fails (422)')
def _json_patch_test(t):
    namespace = t.namespace('jp-test')
    t.admin.request('POST', CM % namespace, _cm('c', {'a': '1'}))
    return t.status(_patch(t, namespace, 'c', [{'op': 'test', 'path': '/data/a', 'value': '2'}],
                           'application/json-patch+json'))


@probe('patch: unsupported content type (415)')
def _patch_415(t):
    namespace = t.namespace('p-415')
    t.admin.request('POST', CM % namespace, _cm('c', {'a': '1'}))
    return t.status(_patch(t, namespace, 'c', {'data': {}}, 'text/plain'))


@probe('create: AlreadyExists (409)')
def _create_exists(t):
    namespace = t.namespace('c-exists')
    t.admin.request('POST', CM % namespace, _cm('c', {'a': '1'}))
    return t.status(t.admin.request('POST', CM % namespace, _cm('c', {'a': '1'})))


@probe('create: invalid name (422)')
def _create_invalid(t):
    namespace = t.namespace('c-invalid')
    return t.status(t.admin.request('POST', CM % namespace, _cm('Not_Valid', {'a': '1'})))


@probe('create: ServiceAccount with an invalid name (422)')
def _create_invalid_sa(t):
    namespace = t.namespace('c-invalid-sa')
    body = {'apiVersion': 'v1', 'kind': 'ServiceAccount', 'metadata': {'name': 'a.b_c'}}
    return t.status(t.admin.request('POST', '/api/v1/namespaces/%s/serviceaccounts' % namespace, body))


@probe('create: namespace in the body differs from the path (400)')
def _create_ns_mismatch(t):
    namespace = t.namespace('c-nsmis')
    return t.status(t.admin.request('POST', CM % namespace, _cm('c', {'a': '1'}, 'elsewhere')))


@probe('get: NotFound (404)')
def _get_missing(t):
    namespace = t.namespace('g-missing')
    return t.status(t.admin.request('GET', (CM % namespace) + '/ghost'))


@probe('get: NotFound in a group (404)')
def _get_missing_group(t):
    namespace = t.namespace('g-missing2')
    return t.status(t.admin.request('GET', '/apis/rbac.authorization.k8s.io/v1/namespaces/%s/roles/ghost' % namespace))


@probe('update: stale resourceVersion (409)')
def _update_conflict(t):
    namespace = t.namespace('u-conflict')
    _code, created, _h = t.admin.request('POST', CM % namespace, _cm('c', {'a': '1'}))
    t.admin.request('PUT', (CM % namespace) + '/c', dict(created, data={'a': '2'}))
    return t.status(t.admin.request('PUT', (CM % namespace) + '/c', dict(created, data={'a': '3'})))


@probe('update: roleRef is immutable (422)')
def _update_roleref(t):
    namespace = t.namespace('u-roleref')
    path = '/apis/rbac.authorization.k8s.io/v1/namespaces/%s/rolebindings' % namespace
    body = {'apiVersion': 'rbac.authorization.k8s.io/v1', 'kind': 'RoleBinding', 'metadata': {'name': 'b'},
            'subjects': [{'kind': 'User', 'name': 'x', 'apiGroup': 'rbac.authorization.k8s.io'}],
            'roleRef': {'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'Role', 'name': 'one'}}
    _code, created, _h = t.admin.request('POST', path, body)
    changed = dict(created, roleRef=dict(created['roleRef'], name='two'))
    return t.status(t.admin.request('PUT', path + '/b', changed))


@probe('delete: NotFound (404) and precondition uid mismatch (409)')
def _delete_cases(t):
    namespace = t.namespace('d-cases')
    t.admin.request('POST', CM % namespace, _cm('c', {'a': '1'}))
    return {'missing': t.status(t.admin.request('DELETE', (CM % namespace) + '/ghost')),
            'precondition': t.status(t.admin.request('DELETE', (CM % namespace) + '/c', {
                'apiVersion': 'v1', 'kind': 'DeleteOptions',
                'preconditions': {'uid': '00000000-0000-0000-0000-000000000003'}}))}


@probe('delete: configmap answers the object, not a Status')
def _delete_answer(t):
    namespace = t.namespace('d-answer')
    t.admin.request('POST', CM % namespace, _cm('c', {'a': '1'}))
    code, body, headers = t.admin.request('DELETE', (CM % namespace) + '/c')
    return dict(t.status((code, body, headers)), kind=body.get('kind'))


# ================================================================== namespaces
@probe('namespace: terminating (delete answer, create and TokenRequest in it)')
def _ns_terminating(t):
    namespace = t.namespace('ns-term')
    t.account('app', namespace)
    # a finalizer holds the namespace in Terminating on the real server
    t.admin.request('POST', CM % namespace, dict(_cm('held', {'a': '1'}), metadata={
        'name': 'held', 'finalizers': ['example.com/hold']}))
    code, body, headers = t.admin.request('DELETE', '/api/v1/namespaces/%s' % namespace)
    out = {'delete': dict(t.status((code, body, headers)), kind=body.get('kind'), phase=dig(body, 'status.phase'))}
    out['create'] = t.status(t.admin.request('POST', CM % namespace, _cm('c', {'a': '1'})))
    out['tokenrequest'] = t.status(t.token_request('app', namespace, {}), ('kind',))
    out['get phase'] = dig(t.admin.request('GET', '/api/v1/namespaces/%s' % namespace)[1], 'status.phase')
    t.admin.request('PATCH', (CM % namespace) + '/held', {'metadata': {'finalizers': None}}, None,
                    'application/merge-patch+json')
    return out


@probe('namespace: create with an invalid name (422)')
def _ns_invalid(t):
    return t.status(t.admin.request('POST', '/api/v1/namespaces', {'apiVersion': 'v1', 'kind': 'Namespace',
                                                                   'metadata': {'name': 'Bad.Name'}}))


@probe('namespace: new namespace gets a default ServiceAccount')
def _ns_default_sa(t):
    namespace = t.namespace('ns-defsa')
    found = t.wait(lambda: t.plane.objects.find('serviceaccounts', 'default', namespace), what='default SA')
    return {'default sa': found['metadata']['name']}


# ================================================================== discovery
@probe('discovery: /api')
def _disc_api(t):
    code, body, _h = t.admin.request('GET', '/api')
    return {'code': code, 'kind': body.get('kind'), 'versions': body.get('versions')}


@probe('discovery: /apis groups the collection uses')
def _disc_apis(t):
    code, body, _h = t.admin.request('GET', '/apis')
    wanted = ('apps', 'authentication.k8s.io', 'authorization.k8s.io', 'rbac.authorization.k8s.io')
    groups = {g['name']: (g['preferredVersion']['groupVersion'], [v['version'] for v in g['versions']])
              for g in body.get('groups', []) if g['name'] in wanted}
    return {'code': code, 'kind': body.get('kind'), 'groups': groups}


@probe('discovery: /api/v1 serviceaccounts and serviceaccounts/token')
def _disc_v1(t):
    code, body, _h = t.admin.request('GET', '/api/v1')
    found = {r['name']: r for r in body.get('resources', [])}
    keep = ('name', 'singularName', 'namespaced', 'kind', 'verbs', 'group', 'version', 'shortNames')
    out = {'code': code, 'kind': body.get('kind'), 'groupVersion': body.get('groupVersion')}
    for name in ('serviceaccounts', 'serviceaccounts/token', 'secrets', 'namespaces', 'configmaps', 'pods'):
        res = found.get(name) or {}
        out[name] = {k: (sorted(res[k]) if isinstance(res.get(k), list) else res.get(k)) for k in keep if k in res}
    return out


@probe('discovery: /apis/authentication.k8s.io/v1 and authorization.k8s.io/v1')
def _disc_auth(t):
    out = {}
    for path in (AUTHN, AUTHZ):
        code, body, _h = t.admin.request('GET', path)
        out[path] = {'code': code, 'resources': sorted((r['name'], r['kind'], tuple(sorted(r['verbs'])), r['namespaced'])
                                                       for r in body.get('resources', []))}
    return out


@probe('discovery: /apis/rbac.authorization.k8s.io/v1')
def _disc_rbac(t):
    code, body, _h = t.admin.request('GET', '/apis/rbac.authorization.k8s.io/v1')
    return {'code': code, 'resources': sorted((r['name'], r['kind'], tuple(sorted(r['verbs'])), r['namespaced'])
                                              for r in body.get('resources', []))}


@probe('discovery: unknown group (404)')
def _disc_unknown(t):
    return t.status(t.admin.request('GET', '/apis/no.such.group/v1'))


# ================================================================== OIDC discovery and JWKS
@probe('oidc: /.well-known/openid-configuration')
def _oidc_config(t):
    code, body, headers = t.admin.request('GET', '/.well-known/openid-configuration')
    out = t.status((code, body, headers))
    out['content-type'] = headers.get('Content-Type')
    if isinstance(body, dict):
        out['document'] = t.norm(body)
    return out


def _jwks(t, accept, client=None):
    client = _HeaderRest(client or t.admin, {'Accept': accept}) if accept else (client or t.admin)
    code, body, headers = client.request('GET', '/openid/v1/jwks')
    out = t.status((code, body, headers))
    out['content-type'] = headers.get('Content-Type')
    if code == 200 and isinstance(body, dict):
        out['keys'] = [{k: ('<kid of the signing key>' if k == 'kid' and v == t.plane.pki.kid else
                            (v if k in ('kty', 'alg', 'use', 'e') else '<%s>' % k))
                        for k, v in sorted(key.items())} for key in body.get('keys', [])]
    return out


@probe('oidc: JWKS with Accept application/jwk-set+json')
def _jwks_ok(t):
    return _jwks(t, 'application/jwk-set+json')


@probe('oidc: JWKS with Accept application/json (406)')
def _jwks_406(t):
    return _jwks(t, 'application/json')


@probe('oidc: JWKS with Accept application/json, */*')
def _jwks_any(t):
    return _jwks(t, 'application/json, */*')


@probe('oidc: JWKS with a ServiceAccount token (system:service-account-issuer-discovery)')
def _jwks_sa(t):
    namespace = t.namespace('oidc-sa')
    t.account('app', namespace)
    return _jwks(t, 'application/jwk-set+json', t.bearer(t.mint('app', namespace)))


@probe('oidc: JWKS anonymous (403)')
def _jwks_anonymous(t):
    return _jwks(t, 'application/jwk-set+json', t.anonymous())


@probe('oidc: JWKS key verifies a minted token')
def _jwks_verifies(t):
    import jwt  # pylint: disable=import-outside-toplevel
    namespace = t.namespace('oidc-verify')
    t.account('app', namespace)
    token = t.mint('app', namespace, audiences=['vault'])
    keys = _HeaderRest(t.admin, {'Accept': 'application/jwk-set+json'}).request('GET', '/openid/v1/jwks')[1]
    key = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(keys['keys'][0]))
    claims = jwt.decode(token, key, algorithms=['RS256'], audience='vault')
    return {'verified sub': claims['sub']}


@probe('oidc: discovery and JWKS as a user without grants (403)')
def _oidc_user(t):
    """What a connection that may only mint sees (system:service-account-issuer-discovery is for
    ServiceAccounts): the collection then falls back to TokenReview or a SelfSubjectReview."""
    client = _HeaderRest(t.user('oidc-nobody'), {'Accept': 'application/json, application/jwk-set+json'})
    return dict((path, t.status(client.request('GET', path))) for path in ('/.well-known/openid-configuration',
                                                                           '/openid/v1/jwks'))


def _forged(t, kind, suffix):
    from kube_double import forgery  # pylint: disable=import-outside-toplevel
    namespace = t.namespace('oidc-forged-' + suffix)
    account = t.account('app', namespace)
    return forgery.forge(t.plane, kind, 'app', namespace, account['metadata']['uid'])


@probe('tokenreview: alg none naming a real account and its uid')
def _trv_alg_none(t):
    return _review(t, _forged(t, 'alg none', 'none'))


@probe('tokenreview: signed by the cluster key with another issuer')
def _trv_other_issuer(t):
    return _review(t, _forged(t, 'another issuer', 'iss'))


@probe('selfsubjectreview: with an alg none token naming a real account (401)')
def _ssr_alg_none(t):
    body = {'apiVersion': 'authentication.k8s.io/v1', 'kind': 'SelfSubjectReview'}
    return t.status(t.bearer(_forged(t, 'alg none', 'ssr')).request('POST', AUTHN + '/selfsubjectreviews', body))


# ================================================================== more of what kubernetes.core sends
@probe('list: invalid label selector (400)')
def _list_bad_selector(t):
    namespace = t.namespace('l-badsel')
    return t.status(t.admin.request('GET', CM % namespace, query={'labelSelector': 'a in'}))


@probe('list: unsupported field selector (400)')
def _list_bad_field(t):
    namespace = t.namespace('l-badfield')
    return t.status(t.admin.request('GET', CM % namespace, query={'fieldSelector': 'spec.nothing=x'}))


@probe('list: label selector matches')
def _list_selector(t):
    namespace = t.namespace('l-sel')
    for name, labels in (('a', {'app': 'x'}), ('b', {'app': 'y'}), ('c', {})):
        t.admin.request('POST', CM % namespace, dict(_cm(name, {}), metadata={'name': name, 'labels': labels}))
    code, body, _h = t.admin.request('GET', CM % namespace, query={'labelSelector': 'app in (x),app!=y'})
    return {'code': code, 'kind': body.get('kind'), 'names': [i['metadata']['name'] for i in body.get('items', [])]}


@probe('create: dryRun=All answers the object and stores nothing')
def _create_dry_run(t):
    namespace = t.namespace('c-dry')
    code, body, _h = t.admin.request('POST', CM % namespace, _cm('dry', {'a': '1'}), query={'dryRun': 'All'})
    stored = t.admin.request('GET', (CM % namespace) + '/dry')[0]
    return {'code': code, 'name': dig(body, 'metadata.name'), 'has uid': bool(dig(body, 'metadata.uid')),
            'stored': stored}


@probe('create: generateName')
def _create_generate_name(t):
    namespace = t.namespace('c-gen')
    code, body, _h = t.admin.request('POST', CM % namespace, dict(_cm('', {}), metadata={'generateName': 'tok-'}))
    name = dig(body, 'metadata.name') or ''
    return {'code': code, 'prefix kept': name.startswith('tok-'), 'suffix length': len(name) - 4}


@probe('update: PUT of a missing RoleBinding creates it (201)')
def _put_creates_rbac(t):
    namespace = t.namespace('u-putrb')
    body = {'apiVersion': 'rbac.authorization.k8s.io/v1', 'kind': 'RoleBinding', 'metadata': {'name': 'b'},
            'subjects': [{'kind': 'User', 'name': 'x', 'apiGroup': 'rbac.authorization.k8s.io'}],
            'roleRef': {'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'ClusterRole', 'name': 'view'}}
    return t.status(t.admin.request('PUT', '/apis/rbac.authorization.k8s.io/v1/namespaces/%s/rolebindings/b' % namespace,
                                    body), ('kind',))


@probe('update: PUT of a missing ConfigMap (404)')
def _put_missing(t):
    namespace = t.namespace('u-putcm')
    return t.status(t.admin.request('PUT', (CM % namespace) + '/ghost', _cm('ghost', {'a': '1'})))


@probe('rbac 403: RoleBinding to a ClusterRole the user does not hold (escalation)')
def _f_bind_escalate(t):
    namespace = t.namespace('f-bind')
    t.plane.grant('binder', ['create'], ['rolebindings'], api_groups=('rbac.authorization.k8s.io',), namespace=namespace)
    t.plane.grant('binder', ['get'], ['configmaps'], namespace=namespace)
    t.create('clusterroles', {'metadata': {'name': 'probe-reader'}, 'rules': [
        {'apiGroups': [''], 'resources': ['configmaps', 'secrets'], 'verbs': ['get', 'list']},
        {'apiGroups': ['apps'], 'resources': ['deployments'], 'resourceNames': ['web', 'api'], 'verbs': ['get']}]})
    body = {'apiVersion': 'rbac.authorization.k8s.io/v1', 'kind': 'RoleBinding', 'metadata': {'name': 'b'},
            'subjects': [{'kind': 'User', 'name': 'x', 'apiGroup': 'rbac.authorization.k8s.io'}],
            'roleRef': {'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'ClusterRole', 'name': 'probe-reader'}}
    return t.status(t.user('binder').request(
        'POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/%s/rolebindings' % namespace, body))


@probe('rbac: a Role within the creator\'s own rights is allowed (201)')
def _role_within_rights(t):
    namespace = t.namespace('f-within')
    t.plane.grant('roler2', ['create', 'get'], ['roles'], api_groups=('rbac.authorization.k8s.io',), namespace=namespace)
    t.plane.grant('roler2', ['get', 'list'], ['configmaps'], namespace=namespace)
    body = {'apiVersion': 'rbac.authorization.k8s.io/v1', 'kind': 'Role', 'metadata': {'name': 'small'},
            'rules': [{'apiGroups': [''], 'resources': ['configmaps'], 'verbs': ['get']}]}
    return t.status(t.user('roler2').request(
        'POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/%s/roles' % namespace, body), ('kind',))


@probe('tokenreview: token of a ServiceAccount in a deleted namespace')
def _trv_namespace_deleted(t):
    namespace = t.namespace('rv-nsdel')
    t.account('app', namespace)
    token = t.mint('app', namespace)
    t.plane.objects.delete('namespaces', namespace)
    return _review(t, token)


# ================================================================== revocation timing (token authentication cache)
def _used_then_revoked(t, token, revoke):
    """Use ``token`` (a success the server may cache), revoke it, then review it at once and
    again after 11 s (kube-apiserver caches successful token authentications for 10 s)."""
    used = _whoami(t, t.bearer(token))['code']
    revoke()
    at_once = _review(t, token)
    api_at_once = t.bearer(token).request('GET', '/api')[0]
    time.sleep(11)
    later = _review(t, token)
    return {'used': used, 'review at once': at_once, 'api at once': api_at_once, 'review after 11 s': later}


@probe('revocation: legacy Secret token used, Secret deleted')
def _revoke_legacy_used(t):
    namespace = t.namespace('rev-legacy')
    t.account('app', namespace)
    _legacy_secret(t, namespace)
    token = base64.b64decode(_filled(t, namespace, 'legacy')['data']['token']).decode()
    return _used_then_revoked(t, token, lambda: t.plane.objects.delete('secrets', 'legacy', namespace))


@probe('revocation: TokenRequest token used, ServiceAccount deleted')
def _revoke_bound_used(t):
    namespace = t.namespace('rev-sa')
    t.account('app', namespace)
    token = t.mint('app', namespace)
    return _used_then_revoked(t, token, lambda: t.plane.objects.delete('serviceaccounts', 'app', namespace))


# ================================================================== what a production control plane adds
@probe('version: /version reports the release')
def _version(t):
    code, body, _headers = t.admin.request('GET', '/version')
    fields = ('major', 'minor', 'gitVersion', 'gitTreeState', 'emulationMajor', 'emulationMinor')
    return {'code': code, **{key: body.get(key) for key in fields}} if code == 200 else t.status((code, body, _headers))


def _can(t, client, verb, resource, namespace, group=''):
    body = {'apiVersion': 'authorization.k8s.io/v1', 'kind': 'SelfSubjectAccessReview',
            'spec': {'resourceAttributes': {'verb': verb, 'resource': resource, 'group': group, 'namespace': namespace}}}
    code, data, _headers = client.request('POST', AUTHZ + '/selfsubjectaccessreviews', body)
    return (data.get('status') or {}).get('allowed') if code == 201 else code


@probe('aggregation: the built-in view role is filled and widened by an aggregate-to-view label')
def _aggregated_view(t):
    """kube-controller-manager's ClusterRole aggregation controller fills `view` from the
    ClusterRoles labelled aggregate-to-view, including one added later."""
    namespace = t.namespace('agg-view')
    binding = {'metadata': {'name': 'viewer'},
               'subjects': [{'kind': 'User', 'name': 'viewer', 'apiGroup': 'rbac.authorization.k8s.io'}],
               'roleRef': {'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'ClusterRole', 'name': 'view'}}
    t.create('rolebindings', binding, namespace)
    viewer = t.user('viewer')
    out = {'get pods': t.wait(lambda: _can(t, viewer, 'get', 'pods', namespace), what='view to allow get pods'),
           'get secrets before': _can(t, viewer, 'get', 'secrets', namespace),
           'delete pods before': _can(t, viewer, 'delete', 'pods', namespace)}
    t.create('clusterroles', {'metadata': {'name': 'probe-aggregated', 'labels': {
        'rbac.authorization.k8s.io/aggregate-to-view': 'true'}}, 'rules': [
        {'apiGroups': [''], 'resources': ['secrets'], 'verbs': ['get']}]})
    out['get secrets after'] = t.wait(lambda: _can(t, viewer, 'get', 'secrets', namespace) is True, timeout=30,
                                      what='the aggregation controller to copy the rule into view')
    view = t.plane.objects.find('clusterroles', 'view')
    out['view has the copied rule'] = any(rule.get('resources') == ['secrets'] and rule.get('verbs') == ['get']
                                          for rule in view.get('rules') or [])
    t.plane.objects.delete('clusterroles', 'probe-aggregated')
    out['view narrowed again when the labelled role is deleted'] = t.wait(
        lambda: _can(t, viewer, 'get', 'secrets', namespace) is False, timeout=30,
        what='the aggregation controller to take the rule out of view')
    return out


@probe('certificates: an approved kube-apiserver-client CSR is signed by the cluster CA')
def _csr_signed(t):
    """The CSR approving and signing controllers run (production runs them): an approved CSR
    gets a certificate, with which the named user authenticates."""
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import ec  # pylint: disable=import-outside-toplevel
    from cryptography.x509.oid import NameOID  # pylint: disable=import-outside-toplevel
    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, 'csr-user'),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'csr-group')])).sign(key, hashes.SHA256())
    pem = csr.public_bytes(serialization.Encoding.PEM)
    base = '/apis/certificates.k8s.io/v1/certificatesigningrequests'
    body = {'apiVersion': 'certificates.k8s.io/v1', 'kind': 'CertificateSigningRequest',
            'metadata': {'name': 'probe-csr'},
            'spec': {'request': base64.b64encode(pem).decode(), 'signerName': 'kubernetes.io/kube-apiserver-client',
                     'usages': ['client auth'], 'expirationSeconds': 600}}
    created = t.admin.request('POST', base, body)
    out = {'create': t.status(created)}
    if created[0] != 201:
        return out
    approval = dict(created[1])
    approval['status'] = {'conditions': [{'type': 'Approved', 'status': 'True', 'reason': 'Probe',
                                          'message': 'approved by the fidelity probe'}]}
    out['approve'] = t.status(t.admin.request('PUT', base + '/probe-csr/approval', approval))

    def certificate():
        code, data, _headers = t.admin.request('GET', base + '/probe-csr')
        return code == 200 and (data.get('status') or {}).get('certificate')
    signed = base64.b64decode(t.wait(certificate, timeout=30, what='the signing controller to sign the CSR'))
    cert = x509.load_pem_x509_certificate(signed)
    out['subject'] = cert.subject.rfc4514_string()
    out['issued by the cluster CA'] = cert.issuer == x509.load_pem_x509_certificate(t.plane.pki.ca_pem).subject
    t.admin.request('DELETE', base + '/probe-csr')
    return out
