"""The HTTPS server, request routing and the :class:`KubeDouble` handle tests use."""
import base64
import copy
import hashlib
import json
import os
import re
import socket
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

from . import core, discovery, fields, ownership, patches, protobuf
from .core import ApiError, Store, bad_request, invalid, invalid_field, not_found, rfc3339
from .pki import get_pki
from .rbac import Attributes, Authorizer, UserInfo, aggregate_cluster_roles, bootstrap_objects, go_quote_list, rbac_missing_rules
from .tokens import EXPIRATION_EXTENSION_SECONDS, WARN_ONLY_SECONDS, AuthError, TokenAuthority

DEFAULT_ISSUER = 'https://kubernetes.default.svc.cluster.local'
DEFAULT_VERSION = 'v1.33.0'
MIN_TOKEN_SECONDS = 600
MAX_TOKEN_SECONDS = 1 << 32
SA_TOKEN_TYPE = 'kubernetes.io/service-account-token'
SA_NAME_ANNOTATION = 'kubernetes.io/service-account.name'
SA_UID_ANNOTATION = 'kubernetes.io/service-account.uid'
UNAUTHORIZED = ApiError(401, 'Unauthorized', 'Unauthorized')
ANONYMOUS = UserInfo('system:anonymous', ['system:unauthenticated'])
RETURNS_OBJECT_ON_DELETE = {'pods', 'namespaces', 'services'}
PATCH_TYPES = ('application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json',
               'application/apply-patch+yaml')
KEEPS_STATUS = {'pods', 'deployments', 'namespaces', 'services', 'nodes'}


def _json_bytes(body):
    return json.dumps(body, separators=(',', ':')).encode()


class Response:
    """Status code, JSON-able body and extra headers."""

    def __init__(self, code, body, headers=None, content_type='application/json', raw=None, stream=None):
        self.stream = stream
        self.code = code
        self.body = body
        self.headers = headers or {}
        self.content_type = content_type
        self.raw = raw


NOT_FOUND_TEXT = Response(404, None, content_type='text/plain; charset=utf-8', raw=b'404 page not found\n')


def _status_success(res, obj):
    details = {'name': obj['metadata']['name']}
    if res.group:
        details['group'] = res.group
    details['kind'] = res.plural
    details['uid'] = obj['metadata']['uid']
    return {'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Success', 'details': details}


def _require_acceptable(request, media_type):
    """kube-apiserver answers the issuer documents in one media type only: an ``Accept`` header
    that excludes it gets 406 (``Accept: application/json`` for the JWKS, as real servers do)."""
    accept = request.headers.get('Accept')
    if not accept:
        return
    kind = media_type.split('/')[0]
    ranges = [part.split(';')[0].strip().lower() for part in accept.split(',')]
    if not any(r in ('*/*', kind + '/*', media_type) for r in ranges):
        raise ApiError(406, 'NotAcceptable', '406: Not Acceptable\n\nAvailable representations: %s' % media_type, {})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, handler, double):
        self.double = double
        self.connections = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler)

    def finish_request(self, request, client_address):
        try:
            request.settimeout(30)
            tls = self.double.ssl_context.wrap_socket(request, server_side=True)
            tls.settimeout(None)
        except (OSError, ssl.SSLError):
            return
        with self.connections_lock:
            self.connections.add(tls)
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except (OSError, ssl.SSLError):
            pass
        finally:
            with self.connections_lock:
                self.connections.discard(tls)
            try:
                tls.close()
            except OSError:
                pass

    def shutdown_request(self, request):
        try:
            request.close()
        except OSError:
            pass

    def close_connections(self):
        with self.connections_lock:
            conns = list(self.connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Handler(BaseHTTPRequestHandler):
    """One connection; requests are dispatched to the server's :class:`KubeDouble`."""

    protocol_version = 'HTTP/1.1'
    disable_nagle_algorithm = True
    server_version = 'kube-double'
    sys_version = ''
    timeout = 300
    _cert_user = False

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass

    def do_GET(self):
        self.server.double.handle(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def cert_user(self):
        if self._cert_user is False:
            user = None
            try:
                cert = self.connection.getpeercert()
            except (ValueError, AttributeError):
                cert = None
            if cert and cert.get('subject'):
                name, groups = '', []
                for rdn in cert['subject']:
                    for key, value in rdn:
                        if key == 'commonName':
                            name = value
                        elif key == 'organizationName':
                            groups.append(value)
                extra = {}
                if self.server.double.minor >= 31:   # credential id of client certificates (1.31+)
                    der = self.connection.getpeercert(binary_form=True)
                    extra = {'authentication.kubernetes.io/credential-id': ['X509SHA256=' + hashlib.sha256(der).hexdigest()]}
                user = UserInfo(name, groups + ['system:authenticated'], extra=extra)
            self._cert_user = user
        return self._cert_user

    def send(self, response):
        if response.stream is not None:
            self.send_response(response.code)
            self.send_header('Content-Type', response.content_type)
            self.send_header('Transfer-Encoding', 'chunked')
            self.send_header('Cache-Control', 'no-cache, private')
            self.end_headers()
            self.wfile.flush()
            try:
                for chunk in response.stream:
                    self.wfile.write(b'%x\r\n%s\r\n' % (len(chunk), chunk))
                    self.wfile.flush()
                self.wfile.write(b'0\r\n\r\n')
                self.wfile.flush()
            except OSError:
                self.close_connection = True
            return
        if response.raw is not None:
            payload = response.raw
        elif response.body is None:
            payload = b''
        else:
            payload = _json_bytes(response.body)
        self.send_response(response.code)
        self.send_header('Audit-Id', str(uuid.uuid4()))
        self.send_header('Cache-Control', 'no-cache, private')
        self.send_header('Content-Type', response.content_type)
        for key, value in response.headers.items():
            if isinstance(value, list):
                for item in value:
                    self.send_header(key, item)
            else:
                self.send_header(key, value)
        self.send_header('Content-Length', str(len(payload)))
        # headers and body leave in one write (one TLS record, no delayed-ACK wait)
        self._headers_buffer.append(b'\r\n')
        if self.command != 'HEAD':
            self._headers_buffer.append(payload)
        self.flush_headers()


class Request:
    """What a handler method needs about one request."""

    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.user = None
        self.warnings = []

    def param(self, name, default=None):
        values = self.query.get(name)
        return values[0] if values else default

    @property
    def content_type(self):
        return (self.headers.get('Content-Type') or 'application/json').split(';')[0].strip().lower()

    @property
    def dry_run(self):
        return 'All' in self.query.get('dryRun', [])


def _json_type_error(value, go_type):
    """What Go's encoding/json names ``value`` when it cannot go into ``go_type`` (None: it fits)."""
    if value is None:
        return None
    if go_type == 'int64' and isinstance(value, int) and not isinstance(value, bool):
        return None
    if go_type == '[]string':
        if isinstance(value, list):
            bad = [item for item in value if not isinstance(item, str)]
            return _json_type_error(bad[0], 'string') if bad else None
    if go_type == 'string' and isinstance(value, str):
        return None
    if isinstance(value, bool):
        return 'bool'
    if isinstance(value, (int, float)):
        return 'number %s' % json.dumps(value)
    return {str: 'string', list: 'array', dict: 'object'}.get(type(value), 'value')


class KubeDouble:
    """A kube-apiserver stand-in on 127.0.0.1 (see the package README)."""

    kind = 'double'   # what tests/integration's ``cluster`` fixture is: 'double' or 'real'

    def __init__(self, state_dir, api_audiences=None, issuer=None, max_token_expiration=None,
                 extend_token_expiration=True, anonymous_auth=True, version=DEFAULT_VERSION, port=0,
                 namespaces=('default', 'kube-system', 'kube-public', 'kube-node-lease'), namespace_deletion_delay=0.5,
                 token_lifetime=None):
        self.state_dir = os.path.abspath(str(state_dir))
        os.makedirs(self.state_dir, exist_ok=True)
        issuers = [issuer] if isinstance(issuer, str) else list(issuer or [DEFAULT_ISSUER])
        self.issuers = issuers
        if isinstance(api_audiences, str):
            api_audiences = [api_audiences]
        self.api_audiences = list(api_audiences or issuers)
        self.max_token_expiration = int(max_token_expiration or 0)
        self.extend_token_expiration = extend_token_expiration
        # test-only, no kube-apiserver equivalent: every TokenRequest token lives this many seconds
        self.token_lifetime = int(token_lifetime or 0)
        self.anonymous_auth = anonymous_auth
        self.version = version
        self.namespace_deletion_delay = namespace_deletion_delay
        self.pki = get_pki()
        self.objects = Store()
        self.store = self.objects
        self.authorizer = Authorizer(self.objects)
        self.minor = int(version.lstrip('v').split('.')[1])
        self.authority = TokenAuthority(self.pki, self.objects, self.issuers, self.api_audiences, self.minor)
        self.authority.cache_until_exp = bool(self.token_lifetime)
        self.requests = []
        self._log_lock = threading.Lock()
        self._faults = []
        self._applied = {}
        self._aggregating = False
        self.ownership = ownership.Ownership()
        self._port = port
        self._server = None
        self._thread = None
        self._stopping = False
        self.port = None
        self.url = None
        self.ca_path = os.path.join(self.state_dir, 'ca.crt')
        self.kubeconfig_path = os.path.join(self.state_dir, 'kubeconfig')
        self.objects.hooks.append(self._controllers)
        for obj in bootstrap_objects(self.minor):
            self.objects.create(obj['kind'], obj)
        for name in namespaces:
            self.objects.create('namespaces', {'metadata': {'name': name}})
        self.ssl_context = self._ssl_context()

    # ------------------------------------------------------------------ lifecycle
    def _ssl_context(self):
        for name, data in (('ca.crt', self.pki.ca_pem), ('server.crt', self.pki.server_cert_pem),
                           ('server.key', self.pki.server_key_pem), ('sa.key', self.pki.sa_key_pem)):
            path = os.path.join(self.state_dir, name)
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'wb') as handle:
                handle.write(data)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(os.path.join(self.state_dir, 'server.crt'), os.path.join(self.state_dir, 'server.key'))
        context.load_verify_locations(cadata=self.pki.ca_pem.decode())
        context.verify_mode = ssl.CERT_OPTIONAL
        context.set_alpn_protocols(['http/1.1'])
        return context

    def start(self):
        self._server = _Server(('127.0.0.1', self._port), Handler, self)
        self.port = self._server.server_address[1]
        self.url = 'https://127.0.0.1:%d' % self.port
        self.write_kubeconfig(self.kubeconfig_path)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={'poll_interval': 0.05},
                                        name='kube-double-%d' % self.port, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stopping = True
        with self.objects.lock:
            self.objects.changed.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_connections()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------------ test helpers
    def write_kubeconfig(self, path=None, user=None, groups=(), token=None, namespace='default'):
        """Write a kubeconfig: admin (default), a client certificate for ``user``/``groups``,
        or a bearer ``token`` (no client certificate). Returns the path."""
        if path is None:
            label = 'token-%s' % uuid.uuid4().hex[:8] if token else 'user-%s' % re.sub(r'[^A-Za-z0-9_.-]', '_', user or 'admin')
            path = os.path.join(self.state_dir, 'kubeconfig-%s' % label)
        if token is not None:
            credentials = {'token': token}
            user_name = 'token'
        else:
            if user is None:
                cert, key = self.pki.admin_cert_pem, self.pki.admin_key_pem
                user_name = 'kubernetes-admin'
            else:
                cert, key = self.pki.client_cert(user, tuple(groups))
                user_name = user
            credentials = {'client-certificate-data': base64.b64encode(cert).decode(),
                           'client-key-data': base64.b64encode(key).decode()}
        config = {'apiVersion': 'v1', 'kind': 'Config', 'preferences': {},
                  'clusters': [{'name': 'kube-double', 'cluster': {
                      'server': self.url, 'certificate-authority-data': base64.b64encode(self.pki.ca_pem).decode()}}],
                  'users': [{'name': user_name, 'user': credentials}],
                  'contexts': [{'name': 'kube-double', 'context': {'cluster': 'kube-double', 'user': user_name,
                                                                   'namespace': namespace}}],
                  'current-context': 'kube-double'}
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w', encoding='utf-8') as handle:
            yaml.safe_dump(config, handle, default_flow_style=False)
        return path

    def clear_requests(self):
        with self._log_lock:
            del self.requests[:]

    def count(self, method=None, path_re=None, status=None, verb=None):
        """How many logged requests match all the given filters."""
        pattern = re.compile(path_re) if path_re else None
        with self._log_lock:
            entries = list(self.requests)
        return sum(1 for e in entries
                   if (method is None or e['method'] == method.upper())
                   and (pattern is None or pattern.search(e['path']))
                   and (status is None or e['status'] == status)
                   and (verb is None or e['verb'] == verb))

    def inject_fault(self, path_re, status=429, count=1, retry_after=1, delay=None, drop=False, method=None,
                     rewrite=None):
        """The next ``count`` requests whose path matches answer ``status`` (429 carries
        Retry-After), after ``delay`` seconds; ``drop`` closes the connection instead;
        ``status=None`` with ``delay`` only slows them down. ``rewrite`` (in process only) is a
        function of the real answer's JSON body that returns the body to send instead, for
        malformed answers; ``status`` is then ignored."""
        fault = {'path_re': path_re, 're': re.compile(path_re), 'status': status, 'count': count,
                 'retry_after': retry_after, 'delay': delay, 'drop': drop, 'method': method.upper() if method else None,
                 'rewrite': rewrite}
        with self._log_lock:
            self._faults.append(fault)
        return fault

    def expire_auth_cache(self):
        """As if the 10 s token authentication cache had expired: revocations show at once."""
        self.authority.forget()

    def clear_faults(self):
        with self._log_lock:
            del self._faults[:]

    def create_service_account(self, name, namespace='default'):
        """Create (or return) a ServiceAccount, creating its namespace if needed."""
        if self.objects.find('namespaces', namespace) is None:
            self.objects.create('namespaces', {'metadata': {'name': namespace}})
        found = self.objects.find('serviceaccounts', name, namespace)
        if found is not None:
            return copy.deepcopy(found)
        return self.objects.create('serviceaccounts', {'metadata': {'name': name, 'namespace': namespace}})

    def mint_token(self, name, namespace='default', audiences=None, expiration_seconds=3600):
        """A bound token for an existing ServiceAccount, as TokenRequest would make it."""
        account = self.objects.get('serviceaccounts', name, namespace)
        token, _issued = self.authority.mint(account, audiences or self.api_audiences, expiration_seconds)
        return token

    def grant(self, user_or_sa, verbs, resources, api_groups=('',), namespace=None, resource_names=None, name=None):
        """Bind a new (Cluster)Role with one rule; ``user_or_sa`` is a user name, or
        ``system:serviceaccount:NS:NAME``, or ``group:NAME``."""
        name = name or 'grant-%s' % uuid.uuid4().hex[:8]
        role, binding, _subject = core.grant_objects(user_or_sa, verbs, resources, api_groups, namespace,
                                                     resource_names, name)
        if namespace and self.objects.find('namespaces', namespace) is None:
            self.objects.create('namespaces', {'metadata': {'name': namespace}})
        self.objects.create(role['kind'], role, namespace)
        self.objects.create(binding['kind'], binding, namespace)
        return name

    # ------------------------------------------------------------------ controllers
    def stop_token_controller(self):
        """Stop filling in token Secrets (the other controllers keep running), as on a cluster
        whose kube-controller-manager runs without its token controller."""
        controllers = self._controllers
        self.objects.hooks.remove(controllers)

        def hook(event, res, obj, old):
            if res.plural != 'secrets':
                controllers(event, res, obj, old)
        self.objects.hooks.append(hook)

    def _controllers(self, event, res, obj, old):
        store = self.objects
        meta = obj['metadata']
        if res.plural == 'clusterroles':
            if not self._aggregating:
                self._aggregating = True
                try:
                    aggregate_cluster_roles(store)
                finally:
                    self._aggregating = False
            return
        if res.plural == 'namespaces' and event == 'create':
            store.create('serviceaccounts', {'metadata': {'name': 'default', 'namespace': meta['name']}}, meta['name'])
        elif res.plural == 'namespaces' and event == 'delete':
            self._purge_namespace(meta['name'])
        elif res.plural == 'serviceaccounts' and event == 'delete':
            for (ns, name), secret in list(store.data['secrets'].items()):
                annotations = secret['metadata'].get('annotations') or {}
                if (ns == meta['namespace'] and secret.get('type') == SA_TOKEN_TYPE
                        and annotations.get(SA_NAME_ANNOTATION) == meta['name']
                        and annotations.get(SA_UID_ANNOTATION, meta['uid']) == meta['uid']):
                    store.delete('secrets', name, ns)
        elif res.plural == 'secrets' and event in ('create', 'update') and obj.get('type') == SA_TOKEN_TYPE:
            annotations = meta.get('annotations') or {}
            account = store.find('serviceaccounts', annotations.get(SA_NAME_ANNOTATION), meta['namespace'])
            wanted_uid = annotations.get(SA_UID_ANNOTATION)
            if account is None or (wanted_uid and wanted_uid != account['metadata']['uid']):
                store.delete('secrets', meta['name'], meta['namespace'])
                return
            data = obj.get('data') or {}
            if data.get('token') and data.get('ca.crt') and data.get('namespace') and wanted_uid:
                return
            filled = copy.deepcopy(obj)
            filled['metadata'].setdefault('annotations', {})[SA_UID_ANNOTATION] = account['metadata']['uid']
            filled_data = filled.setdefault('data', {})
            if not data.get('token'):
                filled_data['token'] = base64.b64encode(
                    self.authority.mint_legacy(account, meta['name']).encode()).decode()
            filled_data['ca.crt'] = base64.b64encode(self.pki.ca_pem).decode()
            filled_data['namespace'] = base64.b64encode(meta['namespace'].encode()).decode()
            store.update('secrets', filled, meta['name'], meta['namespace'], check_rv=False)
        elif res.plural == 'deployments' and event in ('create', 'update'):
            replicas = (obj.get('spec') or {}).get('replicas', 1)
            status = {'observedGeneration': meta.get('generation', 1), 'replicas': replicas, 'updatedReplicas': replicas,
                      'readyReplicas': replicas, 'availableReplicas': replicas,
                      'conditions': [{'type': 'Available', 'status': 'True', 'reason': 'MinimumReplicasAvailable',
                                      'message': 'Deployment has minimum availability.'},
                                     {'type': 'Progressing', 'status': 'True', 'reason': 'NewReplicaSetAvailable',
                                      'message': 'ReplicaSet has successfully progressed.'}]}
            if replicas == 0:
                for key in ('readyReplicas', 'availableReplicas', 'updatedReplicas', 'replicas'):
                    status.pop(key)
            if obj.get('status') != status:
                obj['status'] = status

    def _purge_namespace(self, namespace):
        store = self.objects
        with store.lock:
            for plural, table in store.data.items():
                if core.BY_PLURAL[plural].namespaced:
                    for key in [k for k in table if k[0] == namespace]:
                        store.delete(plural, key[1], key[0])

    def _terminate_namespace(self, name, request):
        """DELETE of a namespace: it turns Terminating, its content and then itself go away
        after ``namespace_deletion_delay`` seconds (the namespace controller's work)."""
        store = self.objects
        with store.lock:
            old = store.get('namespaces', name)
            if request.dry_run:
                return old
            if not old['metadata'].get('deletionTimestamp'):
                old['metadata']['deletionTimestamp'] = rfc3339()
                old['status'] = {'phase': 'Terminating'}
                old = store.update('namespaces', old, name, check_rv=False)
        if self.namespace_deletion_delay <= 0:
            self._finish_namespace(name, old['metadata']['uid'])
        else:
            timer = threading.Timer(self.namespace_deletion_delay, self._finish_namespace, (name, old['metadata']['uid']))
            timer.daemon = True
            timer.start()
        return old

    def _finish_namespace(self, name, uid):
        with self.objects.lock:
            found = self.objects.find('namespaces', name)
            if found is not None and found['metadata']['uid'] == uid:
                self._purge_namespace(name)
                self.objects.delete('namespaces', name)

    # ------------------------------------------------------------------ request handling
    def _log(self, entry):
        with self._log_lock:
            self.requests.append(entry)
            if len(self.requests) > 200000:
                del self.requests[:100000]

    def _take_fault(self, method, path):
        with self._log_lock:
            for fault in self._faults:
                if fault['count'] > 0 and fault['re'].search(path) and (fault['method'] in (None, method)):
                    fault['count'] -= 1
                    return dict(fault)
        return None

    def handle(self, handler):
        started = time.time()
        split = urlsplit(handler.path)
        path = split.path
        length = int(handler.headers.get('Content-Length') or 0)
        body = handler.rfile.read(length) if length else b''
        request = Request(handler.command, path, parse_qs(split.query, keep_blank_values=True), handler.headers, body)
        entry = {'method': handler.command, 'path': path, 'query': split.query, 'status': None, 'user': None,
                 'verb': None, 'resource': None, 'namespace': None, 'name': None, 'subresource': None,
                 'content_type': handler.headers.get('Content-Type'), 'user_agent': handler.headers.get('User-Agent'),
                 'time': started}
        fault = self._take_fault(handler.command, path)
        if fault:
            entry['fault'] = True
            if fault['delay']:
                time.sleep(fault['delay'])
            if fault['drop']:
                entry['status'] = 0
                self._log(entry)
                handler.close_connection = True
                try:
                    handler.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if fault['status'] and not fault.get('rewrite'):
                response = self._fault_response(fault)
                entry['status'] = response.code
                entry['duration'] = time.time() - started
                self._log(entry)
                handler.send(response)
                return
        try:
            response = self._serve(handler, request, entry)
        except ApiError as error:
            response = Response(error.code, error.status(), error.headers)
        except Exception as error:  # pylint: disable=broad-except
            response = Response(500, ApiError(500, 'InternalError', 'Internal error occurred: %s: %s'
                                              % (type(error).__name__, error), {'causes': []}).status())
        if fault and fault.get('rewrite') and isinstance(response.body, dict):
            response.body = fault['rewrite'](copy.deepcopy(response.body))
        if request.warnings:
            response.headers['Warning'] = ['299 - %s' % json.dumps(w) for w in request.warnings]
        entry['status'] = response.code
        entry['duration'] = time.time() - started
        if not path.startswith('/_double/'):
            self._log(entry)
        handler.send(response)

    @staticmethod
    def _fault_response(fault):
        status = fault['status']
        headers = {}
        if status == 429:
            error = ApiError(429, 'TooManyRequests', 'Too many requests, please try again later.',
                             {'retryAfterSeconds': fault['retry_after']} if fault.get('retry_after') is not None else {})
            if fault.get('retry_after') is not None:
                headers['Retry-After'] = str(fault['retry_after'])
        elif status == 503:
            error = ApiError(503, 'ServiceUnavailable', 'the server is currently unable to handle the request')
            if fault.get('retry_after'):
                headers['Retry-After'] = str(fault['retry_after'])
        elif status == 500:
            error = ApiError(500, 'InternalError', 'Internal error occurred: injected fault', {'causes': []})
        elif status == 504:
            error = ApiError(504, 'Timeout', 'The request timed out')
        elif status == 502:
            error = ApiError(502, 'InternalError', 'an error on the server ("Bad Gateway") has prevented the request from succeeding')
        else:
            error = ApiError(status, 'InternalError' if status >= 500 else 'BadRequest', 'injected fault')
        return Response(status, error.status(), headers)

    # authentication ---------------------------------------------------------------------------
    def _authenticate(self, handler, request):
        user = handler.cert_user()
        if user is not None:
            return user
        auth = handler.headers.get('Authorization') or ''
        if auth[:7].lower() == 'bearer ':
            token = auth[7:].strip()
            try:
                user = self.authority.authenticate(token)[0]
            except AuthError:
                raise UNAUTHORIZED from None
            return user
        if auth:
            raise UNAUTHORIZED
        if not self.anonymous_auth:
            raise UNAUTHORIZED
        return ANONYMOUS

    def _impersonate(self, user, headers, request=None):
        name = headers.get('Impersonate-User')
        groups = headers.get_all('Impersonate-Group') or []
        uid = headers.get('Impersonate-Uid')
        extra = {}
        for key, value in headers.items():
            if key.lower().startswith('impersonate-extra-'):
                extra.setdefault(unquote(key[len('impersonate-extra-'):]).lower(), []).append(value)
        if not name and not groups and not uid and not extra:
            return user
        if not name:
            raise bad_request('requested %s without impersonating a user' % (groups or uid or extra,))
        checks = [Attributes('impersonate', 'groups', '', '', g) for g in groups]
        if name.startswith('system:serviceaccount:') and name.count(':') == 3:
            sa_ns, sa_name = name.split(':')[2:]
            checks.insert(0, Attributes('impersonate', 'serviceaccounts', '', sa_ns, sa_name))
            if not groups:
                groups = ['system:serviceaccounts', 'system:serviceaccounts:%s' % sa_ns]
        else:
            checks.insert(0, Attributes('impersonate', 'users', '', '', name))
        if uid:
            checks.append(Attributes('impersonate', 'uids', 'authentication.k8s.io', '', uid))
        for key, values in extra.items():
            for value in values:
                checks.append(Attributes('impersonate', 'userextras', 'authentication.k8s.io', '', value, key))
        for attrs in checks:
            allowed = self.authorizer.authorize(user, attrs)[0]
            if not allowed:
                mode = self._constrained_mode(name, groups if headers.get_all('Impersonate-Group') else [], uid, extra)
                if mode and request is not None:
                    # ConstrainedImpersonation (beta, on from 1.36): the first mode that applies reports its
                    # impersonate-on:<mode>:<verb> check on the request itself
                    on = self._request_info(request)
                    on.verb = 'impersonate-on:%s:%s' % (mode, on.verb)
                    if on.resource_request:
                        raise core.forbidden(on.group, on.resource, on.name, on.forbidden_reason(user))
                    raise core.forbidden('', '', '', on.forbidden_reason(user))
                raise core.forbidden(attrs.group, attrs.resource, attrs.name, attrs.forbidden_reason(user))
        groups = list(groups)
        if name != 'system:anonymous' and 'system:unauthenticated' not in groups and 'system:authenticated' not in groups:
            groups.append('system:authenticated')
        return UserInfo(name, groups, uid or '', extra)

    def _constrained_mode(self, name, groups, uid, extra):
        """The constrained impersonation mode that applies to the wanted user (kube-apiserver 1.36+)."""
        if self.minor < 36:
            return None
        only_name = not groups and not uid and not extra
        if name.startswith('system:node:'):
            return 'arbitrary-node' if only_name else None
        if name.startswith('system:serviceaccount:') and name.count(':') == 3:
            return 'serviceaccount' if only_name else None
        return 'user-info'

    # routing ----------------------------------------------------------------------------------
    def _serve(self, handler, request, entry):
        user = self._authenticate(handler, request)
        user = self._impersonate(user, handler.headers, request)
        request.user = user
        entry['user'] = user.name
        path = request.path
        if path.startswith('/_double/'):
            entry['verb'] = request.method.lower()
            if not user.is_admin():
                raise core.forbidden('', '', '', 'User "%s" cannot %s path "%s"' % (user.name, request.method.lower(), path))
            return self._control(request)
        info = self._request_info(request)
        entry['verb'] = info.verb
        if info.resource_request:
            entry.update(resource=info.resource, namespace=info.namespace or None, name=info.name or None,
                         subresource=info.subresource or None)
        allowed = self.authorizer.authorize(user, info)[0]
        if not allowed:
            if info.resource_request:
                raise core.forbidden(info.group, info.resource, info.name, info.forbidden_reason(user))
            raise core.forbidden('', '', '', info.forbidden_reason(user))
        if not info.resource_request:
            return self._non_resource(request)
        return self._resource(request, info)

    def _request_info(self, request):
        parts = [p for p in request.path.split('/') if p]
        method = request.method
        if parts[:1] == ['api'] and len(parts) >= 3:
            group, version, rest = '', parts[1], parts[2:]
        elif parts[:1] == ['apis'] and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return Attributes(method.lower(), path=request.path, resource_request=False)
        namespace = ''
        if rest[0] == 'namespaces' and len(rest) > 1:
            namespace = rest[1]
            # /namespaces/NS/status and /finalize are subresources of the namespace itself
            if len(rest) > 2 and rest[2] not in ('status', 'finalize'):
                rest = rest[2:]
        resource = rest[0]
        name = rest[1] if len(rest) > 1 else ''
        subresource = '/'.join(rest[2:]) if len(rest) > 2 else ''
        if method in ('GET', 'HEAD'):
            verb = 'get' if name else ('watch' if str(request.param('watch')).lower() in ('true', '1') else 'list')
        elif method == 'POST':
            verb = 'create'
        elif method == 'PUT':
            verb = 'update'
        elif method == 'PATCH':
            verb = 'patch'
        elif method == 'DELETE':
            verb = 'delete' if name else 'deletecollection'
        else:
            verb = method.lower()
        attrs = Attributes(verb, resource, group, namespace, name, subresource, request.path)
        attrs.version = version
        return attrs

    def _non_resource(self, request):
        path = request.path.rstrip('/') or '/'
        if request.method not in ('GET', 'HEAD'):
            raise ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource')
        if path in ('/healthz', '/livez', '/readyz'):
            return Response(200, None, content_type='text/plain; charset=utf-8', raw=b'ok')
        if path == '/version':
            return Response(200, discovery.version_info(self.version))
        if path == '/.well-known/openid-configuration':
            _require_acceptable(request, 'application/json')
            return Response(200, {'issuer': self.issuers[0], 'jwks_uri': '%s/openid/v1/jwks' % self.url,
                                  'response_types_supported': ['id_token'], 'subject_types_supported': ['public'],
                                  'id_token_signing_alg_values_supported': ['RS256']})
        if path == '/openid/v1/jwks':
            _require_acceptable(request, 'application/jwk-set+json')
            return Response(200, self.authority.jwks(), content_type='application/jwk-set+json')
        found = discovery.document(path, self, request.headers.get('Accept') or '')
        if found is None:   # no handler for the path: Go's mux answers in plain text
            return NOT_FOUND_TEXT
        return found

    def _control(self, request):
        path = request.path.rstrip('/')
        if path == '/_double/requests':
            if request.method == 'DELETE':
                self.clear_requests()
                return Response(200, {'cleared': True})
            with self._log_lock:
                return Response(200, {'items': list(self.requests)})
        if path == '/_double/faults':
            if request.method == 'DELETE':
                self.clear_faults()
                return Response(200, {'cleared': True})
            if request.method == 'POST':
                spec = json.loads(request.body or b'{}')
                fault = self.inject_fault(**{k: v for k, v in spec.items()
                                             if k in ('path_re', 'status', 'count', 'retry_after', 'delay', 'drop', 'method')})
                return Response(201, {k: v for k, v in fault.items() if k not in ('re', 'rewrite')})
            with self._log_lock:
                return Response(200, {'items': [{k: v for k, v in f.items() if k not in ('re', 'rewrite')}
                                                for f in self._faults]})
        raise ApiError(404, 'NotFound', 'the server could not find the requested resource', {})

    # resources ----------------------------------------------------------------------------------
    def _decode(self, request, kind_hint=None):
        content_type = request.content_type
        raw = request.body
        if content_type == 'application/vnd.kubernetes.protobuf':
            try:
                return protobuf.decode(raw, kind_hint)
            except protobuf.DecodeError as exc:
                raise bad_request('the body of the request could not be decoded as protobuf: %s' % exc) from None
        if content_type in ('application/yaml', 'application/apply-patch+yaml'):
            try:
                return yaml.safe_load(raw.decode('utf-8') or '{}')
            except yaml.YAMLError as exc:
                raise bad_request('error decoding YAML: %s' % exc) from None
        if content_type in ('application/json', 'application/merge-patch+json', 'application/strategic-merge-patch+json',
                            'application/json-patch+json', '*/*', ''):
            try:
                return json.loads(raw.decode('utf-8') or 'null')
            except ValueError as exc:
                raise bad_request("couldn't get version/kind; json parse error: %s" % exc) from None
        raise ApiError(415, 'UnsupportedMediaType', 'the body of the request was in an unknown format - accepted media '
                       'types include: application/json, application/yaml, application/vnd.kubernetes.protobuf')

    def _resource(self, request, info):
        res = core.BY_PATH.get((info.group, info.version, info.resource))
        if not discovery.served(info.group, info.version, self.minor) or (
                res is None and (info.group, info.version) not in core.GROUP_VERSIONS):
            return NOT_FOUND_TEXT   # a group/version the server does not serve: no handler at all
        if res is None:
            raise ApiError(404, 'NotFound', 'the server could not find the requested resource', {})
        if not res.stored:
            if request.method != 'POST' or info.name:
                raise ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource',
                               {'kind': res.plural, 'group': res.group} if res.group else {'kind': res.plural})
            return self._review(request, res, info)
        namespace = info.namespace if res.namespaced else None
        if info.subresource:
            return self._subresource(request, res, info, namespace)
        method = request.method
        if method == 'GET' and info.verb == 'watch' or (method == 'GET' and str(request.param('watch')).lower() in ('true', '1')):
            return self._watch(request, res, namespace, info.name)
        if method in ('GET', 'HEAD'):
            if info.name:
                obj = self.objects.get(res, info.name, namespace)
                return self._maybe_table(request, res, obj=obj)
            return self._list(request, res, namespace)
        if method == 'POST':
            if info.name:
                raise ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource')
            obj = self._decode(request, res.kind)
            self._check_body(res, obj)
            self._check_fields(request, res, obj)
            if res.namespaced and not namespace:
                raise ApiError(404, 'NotFound', 'the server could not find the requested resource', {})
            self._check_escalation(request, res, obj, namespace)
            created = self.objects.create(res, obj, namespace, dry_run=request.dry_run)
            if not request.dry_run:
                self.ownership.record_update(None, obj, created, ownership.manager_of(request), res.api_version)
            return Response(201, created)
        if method == 'PUT':
            obj = self._decode(request, res.kind)
            self._check_body(res, obj)
            self._check_fields(request, res, obj)
            current = self.objects.find(res, info.name, namespace)
            if current is None and res.group == core.RBAC_GROUP:
                # the RBAC strategies allow create on update
                obj.setdefault('metadata', {}).setdefault('name', info.name)
                if obj['metadata']['name'] != info.name:
                    raise bad_request('the name of the object (%s) does not match the name on the URL (%s)'
                                      % (obj['metadata']['name'], info.name))
                obj['metadata'].pop('resourceVersion', None)
                self._check_escalation(request, res, obj, namespace)
                return Response(201, self.objects.create(res, obj, namespace, dry_run=request.dry_run))
            if current is None:
                raise not_found(res, info.name)
            obj = self._keep_status(res, obj, current)
            before = copy.deepcopy(current)
            self._check_escalation(request, res, obj, namespace)
            updated = self.objects.update(res, obj, info.name, namespace, dry_run=request.dry_run)
            if not request.dry_run:
                self.ownership.record_update(before, obj, updated, ownership.manager_of(request), res.api_version)
            return Response(200, updated)
        if method == 'PATCH':
            return self._patch(request, res, info, namespace)
        if method == 'DELETE':
            if not info.name:
                return self._delete_collection(request, res, namespace)
            if res.plural == 'namespaces':
                return Response(200, self._terminate_namespace(info.name, request))
            options = self._decode(request, 'DeleteOptions') if request.body else {}
            preconditions = (options or {}).get('preconditions') or {}
            deleted = self.objects.delete(res, info.name, namespace, uid=preconditions.get('uid'),
                                          resource_version=preconditions.get('resourceVersion'), dry_run=request.dry_run)
            if res.plural in RETURNS_OBJECT_ON_DELETE:
                deleted['metadata']['deletionTimestamp'] = rfc3339()
                if res.plural == 'namespaces':
                    deleted.setdefault('status', {})['phase'] = 'Terminating'
                return Response(200, deleted)
            return Response(200, _status_success(res, deleted))
        raise ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource')

    @staticmethod
    def _check_fields(request, res, obj, patch=False, name='', namespace=None):
        """``fieldValidation``: Strict answers 400, Warn (the default) adds Warning headers."""
        mode = request.param('fieldValidation') or 'Warn'
        if mode == 'Ignore' or request.content_type == 'application/vnd.kubernetes.protobuf':
            return
        unknown = fields.unknown_fields(res.kind, obj)
        if not unknown:
            return
        if mode == 'Strict':
            if request.content_type == 'application/apply-patch+yaml':
                where = '%s/%s' % (namespace, name) if namespace else name
                raise bad_request('failed to create typed patch object (%s; %s, Kind=%s): .%s: field not declared in schema'
                                  % (where, res.api_version, res.kind, unknown[0]))
            detail = ', '.join('unknown field "%s"' % u for u in unknown)
            if patch:
                raise bad_request('strict decoding error: %s' % detail)
            raise bad_request('%s in version "%s" cannot be handled as a %s: strict decoding error: %s'
                              % (res.kind, res.version, res.kind, detail))
        request.warnings.extend('unknown field "%s"' % u for u in unknown)

    @staticmethod
    def _check_body(res, obj):
        if not isinstance(obj, dict):
            raise bad_request('the body of the request must be an object')
        kind = obj.get('kind')
        if kind and kind != res.kind:
            raise bad_request('%s in version "%s" cannot be handled as a %s: the kind of the object (%s) does not match '
                              '%s' % (res.kind, res.version, res.kind, kind, res.kind))

    @staticmethod
    def _keep_status(res, obj, old):
        if res.plural in KEEPS_STATUS and res.plural != 'nodes':
            obj = dict(obj)
            if 'status' in old:
                obj['status'] = copy.deepcopy(old['status'])
            else:
                obj.pop('status', None)
        return obj

    def _list(self, request, res, namespace):
        items, revision = self.objects.list(res, namespace, request.param('labelSelector'), request.param('fieldSelector'))
        limit = int(request.param('limit') or 0)
        start = 0
        token = request.param('continue')
        if token:
            try:
                start = int(base64.urlsafe_b64decode(token.encode()).decode())
            except ValueError:
                raise ApiError(410, 'Expired', 'The provided continue parameter is too old to display a consistent list '
                               'result. You can start a new list without the continue parameter.') from None
        items = items[start:]
        meta = {'resourceVersion': revision}
        if limit and len(items) > limit:
            meta['continue'] = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
            meta['remainingItemCount'] = len(items) - limit
            items = items[:limit]
        table = self._maybe_table(request, res, items=items, meta=meta)
        if table.body.get('kind') == 'Table':
            return table
        for item in items:
            item.pop('kind', None)
            item.pop('apiVersion', None)
        return Response(200, {'kind': res.kind + 'List', 'apiVersion': res.api_version, 'metadata': meta, 'items': items})

    def _watch(self, request, res, namespace, name=''):
        """A watch stream: synthetic ADDED events for a missing or zero resourceVersion,
        then every change, until ``timeoutSeconds`` or the server stops."""
        label_match = core.parse_label_selector(request.param('labelSelector')) if request.param('labelSelector') else None
        field_match = core.parse_field_selector(res, request.param('fieldSelector')) if request.param('fieldSelector') else None
        timeout = min(float(request.param('timeoutSeconds') or 300), 1800)
        since = request.param('resourceVersion') or ''
        if since and not since.isdigit():
            raise bad_request('resourceVersion: Invalid value: "%s": must be a number' % since)
        store = self.objects

        def wanted(obj):
            meta = obj['metadata']
            if res.namespaced and namespace and meta.get('namespace') != namespace:
                return False
            if name and meta.get('name') != name:
                return False
            if label_match and not label_match(meta.get('labels')):
                return False
            return not field_match or field_match(obj)

        as_table = 'as=Table' in (request.headers.get('Accept') or '')

        def event(kind, obj):
            obj = dict(obj, kind=res.kind, apiVersion=res.api_version)
            if as_table:
                obj = {'kind': 'Table', 'apiVersion': 'meta.k8s.io/v1', 'metadata': {'resourceVersion': obj['metadata'].get('resourceVersion')},
                       'columnDefinitions': discovery.table_columns(res),
                       'rows': [{'cells': discovery.table_cells(res, obj), 'object': {
                           'kind': 'PartialObjectMetadata', 'apiVersion': 'meta.k8s.io/v1', 'metadata': obj['metadata']}}]}
            return _json_bytes({'type': kind, 'object': obj}) + b'\n'

        def stream():
            deadline = time.time() + timeout
            gone = None
            with store.lock:
                if since in ('', '0'):
                    position = store.revision
                    initial = [copy.deepcopy(o) for o in store.data[res.plural].values() if wanted(o)]
                else:
                    position = int(since)
                    oldest = store.events[0][0] if store.events else store.revision
                    initial = None
                    if position < oldest - 1 and position < store.revision:
                        gone = ApiError(410, 'Expired', 'too old resource version: %s (%d)' % (since, oldest)).status()
            if gone is not None:
                yield _json_bytes({'type': 'ERROR', 'object': gone}) + b'\n'
                return
            for obj in initial or []:
                yield event('ADDED', obj)
            while not self._stopping and time.time() < deadline:
                with store.lock:
                    pending = [e for e in store.events if e[0] > position and e[2] == res.plural]
                    if not pending:
                        store.changed.wait(min(0.5, max(deadline - time.time(), 0.01)))
                        continue
                    position = pending[-1][0]
                for _rev, kind, _plural, obj in pending:
                    if wanted(obj):
                        yield event(kind, obj)

        return Response(200, None, stream=stream())

    def _maybe_table(self, request, res, obj=None, items=None, meta=None):
        accept = request.headers.get('Accept') or ''
        if 'as=Table' not in accept:
            return Response(200, obj if obj is not None else {'items': items})
        rows = []
        include = request.param('includeObject', 'Metadata')
        for item in ([obj] if obj is not None else items):
            item = dict(item, kind=res.kind, apiVersion=res.api_version)
            if include == 'Object':
                embedded = item
            elif include == 'None':
                embedded = None
            else:
                embedded = {'kind': 'PartialObjectMetadata', 'apiVersion': 'meta.k8s.io/v1', 'metadata': item['metadata']}
            rows.append({'cells': discovery.table_cells(res, item), 'object': embedded})
        table = {'kind': 'Table', 'apiVersion': 'meta.k8s.io/v1', 'metadata': meta or {'resourceVersion': str(self.objects.revision)},
                 'columnDefinitions': discovery.table_columns(res), 'rows': rows}
        return Response(200, table)

    def _delete_collection(self, request, res, namespace):
        items, revision = self.objects.list(res, namespace, request.param('labelSelector'), request.param('fieldSelector'))
        for item in items:
            if not request.dry_run:
                try:
                    self.objects.delete(res, item['metadata']['name'], item['metadata'].get('namespace'))
                except ApiError:
                    pass
            item.pop('kind', None)
            item.pop('apiVersion', None)
        return Response(200, {'kind': res.kind + 'List', 'apiVersion': res.api_version,
                              'metadata': {'resourceVersion': revision}, 'items': items})

    def _patch(self, request, res, info, namespace, status_only=False):
        content_type = request.content_type
        if content_type not in PATCH_TYPES:
            raise ApiError(415, 'UnsupportedMediaType', '415: Unsupported Media Type', {})
        patch = self._decode(request, res.kind)
        old = self.objects.find(res, info.name, namespace)
        if content_type == 'application/apply-patch+yaml':
            manager = request.param('fieldManager')
            if not manager:
                raise invalid(('meta.k8s.io', 'PatchOptions'), '', [core.required_field(
                    'fieldManager', 'is required for apply patch')])
            if not isinstance(patch, dict):
                raise bad_request('error decoding YAML: the applied configuration must be an object')
            self._check_body(res, patch)
            self._check_fields(request, res, patch, patch=True, name=info.name, namespace=namespace)
            key = (res.plural, namespace, info.name, manager)
            force = str(request.param('force', 'false')).lower() == 'true'
            if old is None:
                obj = copy.deepcopy(patch)
                obj.setdefault('metadata', {})['name'] = info.name
                self._check_escalation(request, res, obj, namespace)
                created = self.objects.create(res, obj, namespace, dry_run=request.dry_run)
                if not request.dry_run:
                    self._applied[key] = copy.deepcopy(patch)
                    self.ownership.record_apply(created, patch, None, manager, res.api_version, force)
                return Response(201, created)
            self.ownership.check_apply(old, patch, manager, force)
            live = copy.deepcopy(old)
            live = patches.removed_by_apply(self._applied.get(key), patch, live)
            merged = patches.strategic_merge(live, patch)
            if not status_only:
                merged = self._keep_status(res, merged, old)
            self._check_escalation(request, res, merged, namespace)
            updated = self.objects.update(res, merged, info.name, namespace, dry_run=request.dry_run)
            if not request.dry_run:
                self.ownership.record_apply(updated, patch, self._applied.get(key), manager, res.api_version, force)
                self._applied[key] = copy.deepcopy(patch)
            return Response(200, updated)
        if old is None:
            raise not_found(res, info.name)
        current = copy.deepcopy(old)
        if content_type == 'application/json-patch+json':
            merged = patches.json_patch(current, patch)
        elif content_type == 'application/merge-patch+json':
            if not isinstance(patch, dict):
                raise bad_request('the body of the request must be an object')
            self._check_fields(request, res, patch, patch=True)
            merged = patches.merge_patch(current, patch)
        elif content_type == 'application/strategic-merge-patch+json':
            if not isinstance(patch, dict):
                raise bad_request('the body of the request must be an object')
            self._check_fields(request, res, patch, patch=True)
            merged = patches.strategic_merge(current, patch)
        else:
            raise ApiError(415, 'UnsupportedMediaType', '415: Unsupported Media Type', {})
        if not isinstance(merged, dict):
            raise bad_request('the patch produced an invalid object')
        patched_rv = (merged.get('metadata') or {}).get('resourceVersion')
        if status_only:
            obj = copy.deepcopy(old)
            obj['status'] = merged.get('status')
            merged = obj
        else:
            merged = self._keep_status(res, merged, old)
        if patched_rv == old['metadata']['resourceVersion']:
            merged['metadata'].pop('resourceVersion', None)
        before = copy.deepcopy(old)
        self._check_escalation(request, res, merged, namespace)
        updated = self.objects.update(res, merged, info.name, namespace, dry_run=request.dry_run)
        if not request.dry_run and not status_only:
            self.ownership.record_update(before, merged, updated, ownership.manager_of(request), res.api_version)
        return Response(200, updated)

    def _subresource(self, request, res, info, namespace):
        if res.plural == 'serviceaccounts' and info.subresource == 'token':
            if request.method != 'POST':
                raise ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource')
            return self._token_request(request, info.name, namespace)
        if info.subresource == 'status' and res.plural in ('namespaces', 'pods', 'deployments'):
            if request.method in ('GET', 'HEAD'):
                return Response(200, self.objects.get(res, info.name, namespace))
            old = self.objects.get(res, info.name, namespace)
            if request.method == 'PUT':
                obj = self._decode(request, res.kind)
                self._check_body(res, obj)
                old['status'] = obj.get('status')
                if (obj.get('metadata') or {}).get('resourceVersion'):
                    old['metadata']['resourceVersion'] = obj['metadata']['resourceVersion']
                return Response(200, self.objects.update(res, old, info.name, namespace, dry_run=request.dry_run))
            if request.method == 'PATCH':
                return self._patch(request, res, info, namespace, status_only=True)
        raise ApiError(404, 'NotFound', 'the server could not find the requested resource', {})

    # RBAC escalation prevention -------------------------------------------------------------------
    def _check_escalation(self, request, res, obj, namespace):
        """Creating or changing a (Cluster)Role or (Cluster)RoleBinding grants no more than the user
        holds, unless the user may ``escalate`` (roles) or ``bind`` (the referenced role), as the RBAC
        registry's policy-based storage checks; system:masters is exempt."""
        if res.group != core.RBAC_GROUP or request.user.is_admin() or not isinstance(obj, dict):
            return
        name = (obj.get('metadata') or {}).get('name', '')
        user = request.user
        if res.kind in ('Role', 'ClusterRole'):
            if self.authorizer.authorize(user, Attributes('escalate', res.plural, core.RBAC_GROUP, namespace or '', name))[0]:
                return
            rules = obj.get('rules') or []
        else:
            ref = obj.get('roleRef') or {}
            ref_plural = 'clusterroles' if ref.get('kind') == 'ClusterRole' else 'roles'
            if self.authorizer.authorize(user, Attributes('bind', ref_plural, core.RBAC_GROUP, namespace or '',
                                                          ref.get('name', '')))[0]:
                return
            role = self.objects.find(ref_plural, ref.get('name'), None if ref_plural == 'clusterroles' else namespace)
            if role is None:
                found = core.not_found(ref_plural, ref.get('name', ''))
                raise core.forbidden(res.group, res.plural, name, found.message)
            rules = role.get('rules') or []
        missing = rbac_missing_rules(self.authorizer.rules_for(user, namespace or ''), rules)
        if missing:
            why = 'user %s (groups=%s) is attempting to grant RBAC permissions not currently held:\n%s' % (
                json.dumps(user.name), go_quote_list(user.groups), '\n'.join(missing))
            raise core.forbidden(res.group, res.plural, name, why)

    # TokenRequest ----------------------------------------------------------------------------------
    def _token_request(self, request, name, namespace):
        body = self._decode(request, 'TokenRequest')
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise bad_request('TokenRequest in version "v1" cannot be handled as a TokenRequest')
        kind, api_version = body.get('kind') or 'TokenRequest', body.get('apiVersion') or 'authentication.k8s.io/v1'
        if kind != 'TokenRequest':
            version = api_version.rpartition('/')[2]
            raise bad_request('%s in version "%s" cannot be handled as a TokenRequest: converting (%s.%s) to '
                              '(authentication.TokenRequest): unknown conversion' % (kind, version, version, kind))
        gk = ('authentication.k8s.io', 'TokenRequest')
        meta = body.get('metadata') or {}
        spec = dict(body.get('spec') or {})
        for field, value, go_type in (('expirationSeconds', spec.get('expirationSeconds'), 'int64'),
                                      ('audiences', spec.get('audiences'), '[]string')):
            wrong = _json_type_error(value, go_type)
            if wrong:
                raise bad_request('TokenRequest in version "v1" cannot be handled as a TokenRequest: json: cannot '
                                  'unmarshal %s into Go struct field TokenRequestSpec.spec.%s of type %s'
                                  % (wrong, field, go_type))
        if meta.get('namespace') and meta['namespace'] != namespace:
            raise bad_request('the namespace of the provided object does not match the namespace sent on the request')
        # admission (NamespaceLifecycle) before the registry: a missing or terminating namespace
        self.objects.check_namespace_open(namespace, 'serviceaccounts', name)
        if meta.get('name') and meta['name'] != name:
            raise invalid(gk, name, [invalid_field('metadata.name', meta['name'],
                                                   'must match the service account name if specified')])
        account = self.objects.find('serviceaccounts', name, namespace)
        if account is None:
            raise not_found('serviceaccounts', name)
        seconds = spec.get('expirationSeconds')
        if seconds is None:
            seconds = 3600
        audiences = list(spec.get('audiences') or []) or list(self.api_audiences)
        errors = []
        if seconds < MIN_TOKEN_SECONDS:
            errors.append(invalid_field('spec.expirationSeconds', seconds, 'may not specify a duration less than 10 minutes'))
        if seconds > MAX_TOKEN_SECONDS:
            errors.append(invalid_field('spec.expirationSeconds', seconds, 'may not specify a duration larger than 2^32 seconds'))
        if errors:
            raise invalid(gk, '', errors)
        bound = node = pod = None
        ref = spec.get('boundObjectRef')
        if ref:
            api_version = ref.get('apiVersion') or ''
            group, _slash, version = api_version.rpartition('/')
            kind = ref.get('kind') or ''
            ref_name = ref.get('name') or ''
            if group == '' and kind == 'Pod':
                pod = self.objects.find('pods', ref_name, namespace)
                if pod is None:
                    raise not_found('pods', ref_name)
                if pod['spec'].get('serviceAccountName') != name:
                    raise bad_request('cannot bind token for serviceaccount "%s" to pod running with different '
                                      'serviceaccount name.' % name)
                bound = ('Pod', pod)
                if pod['spec'].get('nodeName'):
                    # a missing Node still leaves its name in the claims, without a uid
                    node = self.objects.find('nodes', pod['spec']['nodeName']) or {'metadata': {'name': pod['spec']['nodeName']}}
            elif group == '' and kind == 'Node':
                if self.minor < 31:   # ServiceAccountTokenNodeBinding: alpha in 1.29, beta (on) from 1.31
                    raise bad_request('cannot bind token to a Node object as the "ServiceAccountTokenNodeBinding" '
                                      'feature-gate is disabled')
                found = self.objects.find('nodes', ref_name)
                if found is None:
                    raise not_found('nodes', ref_name)
                bound = ('Node', found)
            elif group == '' and kind == 'Secret':
                found = self.objects.find('secrets', ref_name, namespace)
                if found is None:
                    raise not_found('secrets', ref_name)
                bound = ('Secret', found)
            else:
                raise bad_request('cannot bind token to object of type %s/%s, Kind=%s' % (group, version, kind))
            if ref.get('uid') and ref['uid'] != bound[1]['metadata']['uid']:
                raise core.conflict(group, kind, ref_name, 'the UID in the bound object reference (%s) does not match the UID '
                                    'in record. The object might have been deleted and then recreated' % ref['uid'])
        if self.max_token_expiration and seconds > self.max_token_expiration:
            request.warnings.append('requested expiration of %d seconds shortened to %d seconds'
                                    % (seconds, self.max_token_expiration))
            seconds = self.max_token_expiration
        if self.token_lifetime:
            # a test double option (tokens that expire in test time); after validation and clamping
            seconds = self.token_lifetime
        warn_after = extended = None
        if (self.extend_token_expiration and pod is not None and seconds == WARN_ONLY_SECONDS
                and all(a in self.api_audiences for a in audiences)):
            warn_after = seconds
            extended = EXPIRATION_EXTENSION_SECONDS
        token, issued = self.authority.mint(account, audiences, seconds, bound, node, warn_after, extended)
        out_spec = {'audiences': audiences, 'expirationSeconds': seconds, 'boundObjectRef': ref or None}
        # as kube-apiserver: the ServiceAccount's uid, the issue time as creationTimestamp
        return Response(201, {
            'kind': 'TokenRequest', 'apiVersion': 'authentication.k8s.io/v1',
            'metadata': {'name': name, 'namespace': namespace, 'uid': account['metadata']['uid'],
                         'creationTimestamp': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(issued))},
            'spec': out_spec,
            'status': {'token': token,
                       'expirationTimestamp': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(issued + seconds))}})

    # reviews -----------------------------------------------------------------------------------------
    def _review(self, request, res, info):
        body = self._decode(request, res.kind) or {}
        if not isinstance(body, dict):
            raise bad_request('the body of the request must be an object')
        spec = body.get('spec') or {}
        out = {'kind': res.kind, 'apiVersion': res.api_version,
               'metadata': {'creationTimestamp': None}, 'spec': spec}
        if res.plural == 'tokenreviews':
            token = spec.get('token') or ''
            if not token:
                raise bad_request('token is required for TokenReview in authentication')
            try:
                user, audiences = self.authority.authenticate(token, spec.get('audiences'))
                out['status'] = {'authenticated': True, 'user': user.to_dict(), 'audiences': audiences}
            except AuthError as exc:
                out['status'] = {'user': {}, 'error': str(exc)}
            return Response(201, out)
        if res.plural == 'selfsubjectreviews':
            out.pop('spec')
            out['status'] = {'userInfo': request.user.to_dict()}
            return Response(201, out)
        if res.plural == 'selfsubjectrulesreviews':
            namespace = spec.get('namespace') or ''
            if not namespace:
                raise bad_request('no namespace on request')
            resource_rules, non_resource_rules = self.authorizer.rules_for(request.user, namespace)
            out['status'] = {'resourceRules': resource_rules, 'nonResourceRules': non_resource_rules, 'incomplete': False}
            return Response(201, out)
        # the access reviews' 422s name no kind (kube-apiserver's decoded object has an empty TypeMeta)
        review_gk = ('authorization.k8s.io', '')
        if res.plural == 'selfsubjectaccessreviews':
            subject = request.user
        else:
            if not spec.get('user') and not spec.get('groups'):
                raise invalid(review_gk, '', [invalid_field('spec.user', spec.get('user', ''),
                                                            'at least one of user or group must be specified')])
            subject = UserInfo(spec.get('user', ''), spec.get('groups') or [], spec.get('uid', ''), spec.get('extra'))
        resource_attrs = spec.get('resourceAttributes')
        non_resource = spec.get('nonResourceAttributes')
        if res.plural == 'localsubjectaccessreviews':
            if not resource_attrs or resource_attrs.get('namespace') != info.namespace:
                raise invalid(review_gk, '', [invalid_field('spec.resourceAttributes.namespace',
                                                            (resource_attrs or {}).get('namespace', ''),
                                                            'must match metadata.namespace')])
            out['metadata']['namespace'] = info.namespace
        if (resource_attrs is None) == (non_resource is None):
            # kube-apiserver prints the internal NonResourceAttributes struct (Go field names)
            raw = 'null' if non_resource is None else json.dumps(
                {'Path': non_resource.get('path', ''), 'Verb': non_resource.get('verb', '')}, separators=(',', ':'))
            raise invalid(review_gk, '', [invalid_field('spec', None, 'exactly one of nonResourceAttributes or '
                                                        'resourceAttributes must be specified', raw_value=raw)])
        if resource_attrs is not None:
            attrs = Attributes(resource_attrs.get('verb', ''), resource_attrs.get('resource', ''), resource_attrs.get('group', ''),
                               resource_attrs.get('namespace', ''), resource_attrs.get('name', ''),
                               resource_attrs.get('subresource', ''))
        else:
            attrs = Attributes(non_resource.get('verb', ''), path=non_resource.get('path', ''), resource_request=False)
        allowed, reason = self.authorizer.authorize(subject, attrs)
        out['status'] = {'allowed': allowed}
        if reason:
            out['status']['reason'] = reason
        return Response(201, out)
