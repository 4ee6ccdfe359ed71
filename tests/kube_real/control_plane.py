"""A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager.

    with ControlPlane(state_dir) as kube:        # builds the binaries once per machine
        kube.url, kube.kubeconfig_path, kube.ca_path
        kube.objects.create('namespaces', {'metadata': {'name': 'mcp'}})

The test helpers have the names and meanings of the API server double's (``write_kubeconfig``,
``create_service_account``, ``mint_token``, ``grant``, ``requests``/``count``/``clear_requests``),
so one test runs against either. Request counts come from kube-apiserver's audit log.
Everything started is stopped on ``stop()``, at interpreter exit, and on SIGTERM of the parent
(processes run in their own session and are killed by group).
"""
import atexit
import base64
import copy
import ctypes
import datetime
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid

import yaml

from kube_double.core import grant_objects
from kube_double.pki import Pki

from . import versions
from .build import BuildError, ensure_binaries, selected_version
from .rest import Rest, RestStore, resource_path

DEFAULT_ISSUER = 'https://kubernetes.default.svc.cluster.local'
SYSTEM_NAMESPACES = ('default', 'kube-system', 'kube-public', 'kube-node-lease')
# The tests' own set-up and inspection (``objects``) act as this user, left out of the audit
# log, so that request counts see only what the code under test sent (as with the double).
HARNESS_USER = 'kube-real-harness'
# Audit: every request of people and tests, none of the control plane's own chatter.
AUDIT_POLICY = {
    'apiVersion': 'audit.k8s.io/v1', 'kind': 'Policy', 'omitStages': ['RequestReceived'],
    'rules': [
        {'level': 'None', 'users': ['system:kube-controller-manager', 'system:apiserver',
                                    'system:kube-scheduler', HARNESS_USER]},
        {'level': 'None', 'userGroups': ['system:serviceaccounts:kube-system']},
        {'level': 'None', 'nonResourceURLs': ['/readyz*', '/healthz*', '/livez*']},
        {'level': 'Metadata'},
    ]}
PR_SET_PDEATHSIG = 1
METHODS = {'create': 'POST', 'update': 'PUT', 'patch': 'PATCH', 'delete': 'DELETE', 'deletecollection': 'DELETE',
           'get': 'GET', 'list': 'GET', 'watch': 'GET'}
_RUNNING = []


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def port_in_use(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(('127.0.0.1', port)) == 0


def _write(path, data, mode=0o600):
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), 'wb') as handle:
        handle.write(data if isinstance(data, bytes) else data.encode())
    return path


def _die_with_parent():
    """In the child, before exec: SIGKILL when the process that started it dies, however it
    dies (a SIGTERM or SIGKILL of pytest runs no atexit handler; the components would be
    orphaned, holding their ports)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: stop() and atexit still apply
        pass


def _stop_all():
    for plane in list(_RUNNING):
        plane.stop()


atexit.register(_stop_all)


class ControlPlane:
    """etcd + kube-apiserver + kube-controller-manager, started and stopped together."""

    kind = 'real'   # what tests/integration's ``cluster`` fixture is: 'double' or 'real'

    def __init__(self, state_dir, api_audiences=None, issuer=None, max_token_expiration=None,
                 extend_token_expiration=True, port=0, bin_dir=None, version=None):
        """``version``: the Kubernetes release (default ``$MCP_K8S_KUBE_VERSION``, else the pinned
        one), built once into its cache folder unless ``bin_dir`` holds its binaries already."""
        try:
            self.version = versions.release(version) if version else selected_version()
        except ValueError as exc:
            raise BuildError(str(exc)) from None
        self.state_dir = os.path.abspath(str(state_dir))
        os.makedirs(self.state_dir, exist_ok=True)
        self.issuers = [issuer] if isinstance(issuer, str) else list(issuer or [DEFAULT_ISSUER])
        if isinstance(api_audiences, str):
            api_audiences = [api_audiences]
        self.api_audiences = list(api_audiences or self.issuers)
        self.max_token_expiration = max_token_expiration
        self.extend_token_expiration = extend_token_expiration
        self._port = port
        self._bin_dir = bin_dir
        self.pki = Pki()   # its own CA and signing key: tokens of a double never work here
        self.port = None
        self.url = None
        self.ca_path = os.path.join(self.state_dir, 'ca.crt')
        self.kubeconfig_path = os.path.join(self.state_dir, 'kubeconfig')
        self.audit_log_path = os.path.join(self.state_dir, 'audit.log')
        self._processes = []
        self._audit_offset = 0
        self.rest = None
        self.objects = None
        self.started_in = None

    # ------------------------------------------------------------------ lifecycle
    def _binary(self, name):
        return os.path.join(self._bin_dir, name)

    def _spawn(self, name, args):
        log = open(os.path.join(self.state_dir, name + '.log'), 'ab')  # pylint: disable=consider-using-with
        proc = subprocess.Popen([self._binary(name)] + args, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=self.state_dir, start_new_session=True,
                                preexec_fn=_die_with_parent)  # pylint: disable=subprocess-popen-preexec-fn
        log.close()
        self._processes.append((name, proc))
        return proc

    def _log_tail(self, name, lines=6):
        try:
            with open(os.path.join(self.state_dir, name + '.log'), encoding='utf-8', errors='replace') as handle:
                text = handle.read().splitlines()
        except OSError:
            return ''
        wanted = [line for line in text if re.search(r'^[EF]\d{4}|error|Error|fatal', line)] or text
        return ' | '.join(wanted[-lines:])

    def _check_alive(self):
        for name, proc in self._processes:
            if proc.poll() is not None:
                tail = self._log_tail(name)
                if 'address already in use' in tail:
                    raise BuildError('%s could not start: its port is already in use; stop what listens there '
                                     'or choose another port.' % name)
                raise BuildError('%s exited with code %s while starting: %s (full log: %s)'
                                 % (name, proc.returncode, tail[-600:], os.path.join(self.state_dir, name + '.log')))

    def _write_pki(self):
        files = {
            'ca.crt': self.pki.ca_pem, 'ca.key': _key_pem(self.pki.ca_key),
            'apiserver.crt': self.pki.server_cert_pem, 'apiserver.key': self.pki.server_key_pem,
            'sa.key': self.pki.sa_key_pem, 'sa.pub': _public_pem(self.pki.sa_public),
        }
        for name, data in files.items():
            _write(os.path.join(self.state_dir, name), data)

    def start(self, timeout=120):
        started = time.monotonic()
        if self._bin_dir is None:
            self._bin_dir = ensure_binaries(version=self.version)
        if self._port and port_in_use(self._port):
            raise BuildError('Port %d is already in use on 127.0.0.1: stop what listens there or choose another '
                             'port.' % self._port)
        self._write_pki()
        _write(os.path.join(self.state_dir, 'audit-policy.yaml'), yaml.safe_dump(AUDIT_POLICY))
        self.port = self._port or free_port()
        self.url = 'https://127.0.0.1:%d' % self.port
        _RUNNING.append(self)
        try:
            self._start_etcd()
            self._start_apiserver()
            self.write_kubeconfig(self.kubeconfig_path)
            self.rest = Rest(self.url, self.ca_path, *self._admin_files())
            self.objects = RestStore(self.rest)
            self._wait_ready(started + timeout)
            self._start_controller_manager()
            self._wait_for(lambda: self.objects.find('serviceaccounts', 'default', 'default') is not None,
                           started + timeout, 'the serviceaccount controller to create default/default')
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - started
        return self

    def _start_etcd(self):
        client, peer = free_port(), free_port()
        self.etcd_url = 'http://127.0.0.1:%d' % client
        data = os.path.join(self.state_dir, 'etcd')
        self._spawn('etcd', [
            '--name', 'default', '--data-dir', data, '--log-level', 'warn',
            '--listen-client-urls', self.etcd_url, '--advertise-client-urls', self.etcd_url,
            '--listen-peer-urls', 'http://127.0.0.1:%d' % peer,
            '--initial-advertise-peer-urls', 'http://127.0.0.1:%d' % peer,
            '--initial-cluster', 'default=http://127.0.0.1:%d' % peer,
            '--unsafe-no-fsync', '--quota-backend-bytes', str(2 * 1024 ** 3)])

    def _start_apiserver(self):
        def path(name):
            return os.path.join(self.state_dir, name)
        args = [
            '--etcd-servers', self.etcd_url, '--bind-address', '127.0.0.1', '--secure-port', str(self.port),
            '--advertise-address', '127.0.0.1', '--endpoint-reconciler-type', 'none',
            '--tls-cert-file', path('apiserver.crt'), '--tls-private-key-file', path('apiserver.key'),
            '--client-ca-file', path('ca.crt'), '--authorization-mode', 'Node,RBAC',
            '--service-account-issuer', ','.join(self.issuers) if len(self.issuers) == 1 else self.issuers[0],
            '--service-account-key-file', path('sa.pub'),
            '--service-account-signing-key-file', path('sa.key'),
            '--api-audiences', ','.join(self.api_audiences),
            '--service-cluster-ip-range', '10.96.0.0/16',
            '--service-account-extend-token-expiration=%s' % ('true' if self.extend_token_expiration else 'false'),
            '--audit-policy-file', path('audit-policy.yaml'), '--audit-log-path', self.audit_log_path,
            '--audit-log-mode', 'blocking', '--audit-log-format', 'json',
            '--enable-bootstrap-token-auth=true',
            '--enable-priority-and-fairness=false', '--profiling=false', '--v', '1',
        ]
        args = _versioned(args, self.version, 'kube-apiserver')
        for extra in self.issuers[1:]:
            args += ['--service-account-issuer', extra]
        if self.max_token_expiration:
            args += ['--service-account-max-token-expiration', '%ds' % int(self.max_token_expiration)]
        self._spawn('kube-apiserver', args)

    def _start_controller_manager(self):
        cert, key = self.pki.client_cert('system:kube-controller-manager')
        kubeconfig = self._kubeconfig_dict({'client-certificate-data': _b64(cert), 'client-key-data': _b64(key)},
                                           'system:kube-controller-manager')
        kcm_config = _write(os.path.join(self.state_dir, 'controller-manager.kubeconfig'), yaml.safe_dump(kubeconfig))
        self._spawn('kube-controller-manager', _versioned([
            '--kubeconfig', kcm_config, '--leader-elect=false', '--secure-port', '0',
            # Every controller production runs (the default set), and the two that kubeadm
            # clusters add (bootstrap tokens). Those that need nodes or a cloud provider (node
            # IPAM, node lifecycle, routes, service load balancers, cloud node lifecycle) start
            # and stay idle: there is no node, no pod CIDR and no cloud here.
            '--controllers', '*,bootstrap-signer-controller,token-cleaner-controller',
            '--root-ca-file', self.ca_path,
            # CSRs are signed with the cluster CA, as kubeadm sets it up.
            '--cluster-signing-cert-file', self.ca_path,
            '--cluster-signing-key-file', os.path.join(self.state_dir, 'ca.key'),
            '--service-account-private-key-file', os.path.join(self.state_dir, 'sa.key'),
            '--use-service-account-credentials=true', '--concurrent-namespace-syncs', '5', '--v', '1'],
            self.version, 'kube-controller-manager'))

    def _wait_for(self, predicate, deadline, what):
        while True:
            self._check_alive()
            try:
                if predicate():
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise BuildError('Timed out waiting for %s; logs are in %s.' % (what, self.state_dir))
            time.sleep(0.1)

    def _wait_ready(self, deadline):
        self._wait_for(lambda: self.rest.request('GET', '/readyz', timeout=5)[0] == 200, deadline,
                       'kube-apiserver /readyz')

    def stop(self, grace=5):
        """SIGTERM to every process group started, SIGKILL after ``grace`` seconds."""
        for _name, proc in reversed(self._processes):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for _name, proc in reversed(self._processes):
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=10)
        self._processes = []
        if self in _RUNNING:
            _RUNNING.remove(self)

    def remove_state(self):
        shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------------ kubeconfigs
    def _admin_files(self):
        cert_pem, key_pem = self.pki.client_cert(HARNESS_USER, ('system:masters',))
        cert = _write(os.path.join(self.state_dir, 'harness.crt'), cert_pem)
        key = _write(os.path.join(self.state_dir, 'harness.key'), key_pem)
        return cert, key

    def _kubeconfig_dict(self, credentials, user_name, namespace='default'):
        return {'apiVersion': 'v1', 'kind': 'Config', 'preferences': {},
                'clusters': [{'name': 'kube-real', 'cluster': {
                    'server': self.url, 'certificate-authority-data': _b64(self.pki.ca_pem)}}],
                'users': [{'name': user_name, 'user': credentials}],
                'contexts': [{'name': 'kube-real',
                              'context': {'cluster': 'kube-real', 'user': user_name, 'namespace': namespace}}],
                'current-context': 'kube-real'}

    def write_kubeconfig(self, path=None, user=None, groups=(), token=None, namespace='default'):
        """Admin (default), a client certificate for ``user``/``groups``, or a bearer ``token``."""
        if path is None:
            label = 'token-%s' % uuid.uuid4().hex[:8] if token else 'user-%s' % re.sub(r'[^A-Za-z0-9_.-]', '_', user or 'admin')
            path = os.path.join(self.state_dir, 'kubeconfig-%s' % label)
        if token is not None:
            credentials, user_name = {'token': token}, 'token'
        else:
            if user is None:
                cert, key, user_name = self.pki.admin_cert_pem, self.pki.admin_key_pem, 'kubernetes-admin'
            else:
                (cert, key), user_name = self.pki.client_cert(user, tuple(groups)), user
            credentials = {'client-certificate-data': _b64(cert), 'client-key-data': _b64(key)}
        return _write(path, yaml.safe_dump(self._kubeconfig_dict(credentials, user_name, namespace),
                                           default_flow_style=False))

    # ------------------------------------------------------------------ test helpers (as the double's)
    def create_service_account(self, name, namespace='default'):
        if self.objects.find('namespaces', namespace) is None:
            self.objects.create('namespaces', {'metadata': {'name': namespace}})
        found = self.objects.find('serviceaccounts', name, namespace)
        if found is not None:
            return found
        return self.objects.create('serviceaccounts', {'metadata': {'name': name, 'namespace': namespace}})

    def mint_token(self, name, namespace='default', audiences=None, expiration_seconds=3600):
        body = {'apiVersion': 'authentication.k8s.io/v1', 'kind': 'TokenRequest',
                'spec': {'audiences': list(audiences or []), 'expirationSeconds': expiration_seconds}}
        status, data, _headers = self.rest.request(
            'POST', resource_path('serviceaccounts', name, namespace, 'token'), body)
        if status != 201:
            raise AssertionError('TokenRequest for %s/%s answered %s: %s' % (namespace, name, status, data))
        return data['status']['token']

    def grant(self, user_or_sa, verbs, resources, api_groups=('',), namespace=None, resource_names=None, name=None):
        name = name or 'grant-%s' % uuid.uuid4().hex[:8]
        role, binding, subject = grant_objects(user_or_sa, verbs, resources, api_groups, namespace,
                                               resource_names, name)
        if namespace and self.objects.find('namespaces', namespace) is None:
            self.objects.create('namespaces', {'metadata': {'name': namespace}})
        self.objects.create(role['kind'], role, namespace)
        self.objects.create(binding['kind'], binding, namespace)
        self._wait_for(lambda: self._allowed(subject, verbs[0], resources[0], api_groups[0], namespace,
                                             (resource_names or [''])[0]),
                       time.monotonic() + 10, 'the RBAC grant %s to take effect' % name)
        return name

    def _allowed(self, subject, verb, resource, group, namespace, name=''):
        """A SubjectAccessReview: the RBAC authorizer's cache has caught up with a grant."""
        if subject['kind'] == 'ServiceAccount':
            spec = {'user': 'system:serviceaccount:%s:%s' % (subject['namespace'], subject['name'])}
        elif subject['kind'] == 'Group':
            spec = {'groups': [subject['name']], 'user': 'probe'}
        else:
            spec = {'user': subject['name']}
        sub, subresource = (resource.split('/', 1) + [''])[:2]
        spec['resourceAttributes'] = {'verb': verb, 'resource': sub, 'subresource': subresource,
                                      'group': '' if group == '*' else group, 'namespace': namespace or '',
                                      'name': name}
        body = {'apiVersion': 'authorization.k8s.io/v1', 'kind': 'SubjectAccessReview', 'spec': spec}
        status, data, _h = self.rest.request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', body)
        return status == 201 and data['status'].get('allowed')

    # ------------------------------------------------------------------ requests, from the audit log
    @property
    def requests(self):
        """Requests since ``clear_requests()``, as the double logs them: method, path, query,
        status, user, verb (and ``extra``, the user's extra attributes)."""
        entries = []
        for event in self._audit_events(self._audit_offset):
            path, query = (event.get('requestURI', '').split('?', 1) + [''])[:2]
            received = _epoch(event.get('requestReceivedTimestamp'))
            entries.append({'time': received, 'duration': _epoch(event.get('stageTimestamp')) - received,
                            'method': METHODS.get(event.get('verb'), event.get('verb', '').upper()),
                            'path': path, 'query': query, 'verb': event.get('verb'),
                            'status': (event.get('responseStatus') or {}).get('code'),
                            'user': (event.get('user') or {}).get('username'),
                            'extra': (event.get('user') or {}).get('extra', {})})
        return entries

    def _audit_events(self, offset):
        self._settle_audit_log()
        try:
            with open(self.audit_log_path, 'rb') as handle:
                handle.seek(offset)
                lines = handle.read().splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines if line.strip()]

    def _settle_audit_log(self, quiet=0.15, limit=3.0):
        """The log is written as each request completes; wait until it stops growing."""
        deadline = time.monotonic() + limit
        size = -1
        while time.monotonic() < deadline:
            current = os.path.getsize(self.audit_log_path) if os.path.exists(self.audit_log_path) else 0
            if current == size:
                return
            size = current
            time.sleep(quiet)

    def clear_requests(self):
        self._settle_audit_log()
        self._audit_offset = os.path.getsize(self.audit_log_path) if os.path.exists(self.audit_log_path) else 0

    def count(self, method=None, path_re=None, status=None, verb=None):
        pattern = re.compile(path_re) if path_re else None
        return sum(1 for e in self.requests
                   if (method is None or e['method'] == method.upper())
                   and (pattern is None or pattern.search(e['path']))
                   and (status is None or e['status'] == status)
                   and (verb is None or e['verb'] == verb))

    # ------------------------------------------------------------------ between tests
    def reset(self, timeout=90):
        """Back to a fresh cluster: remove every namespace and cluster-scoped RBAC object that
        tests made, and wait until the namespaces are gone."""
        deadline = time.monotonic() + timeout
        doomed = []
        for ns in self.objects.list('namespaces')[0]:
            name = ns['metadata']['name']
            if name not in SYSTEM_NAMESPACES:
                if ns.get('status', {}).get('phase') != 'Terminating':
                    self.rest.request('DELETE', resource_path('namespaces', name))
                doomed.append(name)
        for plural in ('clusterrolebindings', 'clusterroles'):
            for obj in self.objects.list(plural)[0]:
                meta = obj['metadata']
                if meta.get('labels', {}).get('kubernetes.io/bootstrapping') != 'rbac-defaults' \
                        and not meta['name'].startswith('system:'):
                    self.rest.request('DELETE', resource_path(plural, meta['name']))
        for plural in ('serviceaccounts', 'secrets', 'roles', 'rolebindings', 'configmaps', 'pods'):
            for obj in self.objects.list(plural, 'default')[0]:
                meta = obj['metadata']
                if (plural, meta['name']) in (('serviceaccounts', 'default'), ('configmaps', 'kube-root-ca.crt')):
                    continue
                self.rest.request('DELETE', resource_path(plural, meta['name'], 'default'),
                                  query={'gracePeriodSeconds': '0'})
        for name in doomed:
            self._wait_for(lambda n=name: self.objects.find('namespaces', n) is None, deadline,
                           'namespace %s to be deleted' % name)
        self.clear_requests()

    def reset_in_background(self):
        """Start :meth:`reset` in a thread; :meth:`wait_reset` joins it (namespace deletion
        takes about five seconds in kube-controller-manager, hidden behind the next test)."""
        def run():
            try:
                self.reset()
            except Exception as exc:  # pylint: disable=broad-except
                self._reset_error = exc
        self._reset_error = None
        self._reset_thread = threading.Thread(target=run, name='kube-real-reset', daemon=True)
        self._reset_thread.start()

    def wait_reset(self):
        thread, self._reset_thread = getattr(self, '_reset_thread', None), None
        if thread is not None:
            thread.join()
        if getattr(self, '_reset_error', None) is not None:
            error, self._reset_error = self._reset_error, None
            raise error

    def settings(self):
        """What a test may want to know about the server's options."""
        return copy.deepcopy({'issuers': self.issuers, 'api_audiences': self.api_audiences,
                              'max_token_expiration': self.max_token_expiration})


def _versioned(args, version, component):
    """``args`` with the flags that differ by release (versions.FLAGS) set for ``version``:
    replaced where present (a value of None removes the flag), appended where not."""
    changes = versions.flags(version, component)
    result = []
    index = 0
    while index < len(args):
        arg = args[index]
        name = arg.split('=', 1)[0]
        takes_value = '=' not in arg and index + 1 < len(args) and not args[index + 1].startswith('--')
        step = 2 if takes_value else 1
        if name in changes:
            value = changes.pop(name)
            if value is not None:
                result += [name, value]
        else:
            result += args[index:index + step]
        index += step
    for name, value in changes.items():
        if value is not None:
            result += [name, value]
    return result


def _epoch(stamp):
    """Seconds since the epoch of an audit timestamp (RFC 3339 with microseconds)."""
    if not stamp:
        return 0.0
    return datetime.datetime.strptime(stamp.replace('Z', '+0000'), '%Y-%m-%dT%H:%M:%S.%f%z').timestamp()


def _b64(data):
    return base64.b64encode(data).decode()


def _key_pem(key):
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _public_pem(key):
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
