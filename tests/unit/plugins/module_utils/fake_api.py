"""A small in-process Kubernetes API for unit tests of the core (plain HTTP, JSON only).

It answers the few endpoints the core calls, signs tokens with HS256 (the core never verifies
signatures), logs every request and injects faults. The API server double
(``tests/kube_double``) is the faithful one; integration tests use it.
"""
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt

ISSUER = 'https://kubernetes.default.svc.cluster.local'
SIGNING_KEY = 'unit-test-signing-key-of-32-bytes!'
ADMIN_TOKEN = 'admin-token-0123456789'


def status(code, reason, message, details=None):
    return code, {'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Failure',
                  'message': message, 'reason': reason, 'details': details or {}, 'code': code}


class FakeApi:
    def __init__(self):
        self.requests = []
        self.faults = []
        self.namespaces = {'default', 'mcp'}
        self.service_accounts = {('mcp', 'server'): str(uuid.uuid4()), ('default', 'default'): str(uuid.uuid4())}
        self.pods = {}
        self.forbidden = False
        self.max_seconds = None
        self.server = ThreadingHTTPServer(('127.0.0.1', 0), self._handler())
        self.server.daemon_threads = True
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def inject_fault(self, path_re, status=503, count=1, retry_after=None, drop=False):
        self.faults.append({'path_re': re.compile(path_re), 'status': status, 'count': count,
                            'retry_after': retry_after, 'drop': drop})

    def count(self, method=None, path_re=None):
        return sum(1 for r in self.requests if (method is None or r['method'] == method)
                   and (path_re is None or re.search(path_re, r['path'])))

    def add_pod(self, namespace, name, service_account):
        uid = str(uuid.uuid4())
        self.pods[(namespace, name)] = {'metadata': {'name': name, 'namespace': namespace, 'uid': uid},
                                        'spec': {'serviceAccountName': service_account}}
        return uid

    def token(self, namespace, name, audiences, seconds, bound=None, now=None):
        now = int(time.time() if now is None else now)
        claims = {'iss': ISSUER, 'sub': 'system:serviceaccount:%s:%s' % (namespace, name),
                  'aud': audiences or [ISSUER], 'iat': now, 'nbf': now, 'exp': now + seconds,
                  'jti': str(uuid.uuid4()),
                  'kubernetes.io': {'namespace': namespace, 'serviceaccount': {
                      'name': name, 'uid': self.service_accounts.get((namespace, name), 'x')}}}
        if bound:
            claims['kubernetes.io'][bound['kind'].lower()] = {'name': bound['name'], 'uid': bound['uid']}
        return jwt.encode(claims, SIGNING_KEY, algorithm='HS256')

    # ---------------------------------------------------------------- routes

    def route(self, method, path, body, auth):
        if auth != 'Bearer ' + ADMIN_TOKEN and not auth.startswith('Bearer ey'):
            return status(401, 'Unauthorized', 'Unauthorized')
        match = re.match(r'^/api/v1/namespaces/([^/]+)/serviceaccounts/([^/]+)/token$', path)
        if method == 'POST' and match:
            return self.token_request(match.group(1), match.group(2), body)
        match = re.match(r'^/api/v1/namespaces/([^/]+)/pods/([^/]+)$', path)
        if method == 'GET' and match:
            pod = self.pods.get((match.group(1), match.group(2)))
            if not pod:
                return status(404, 'NotFound', 'pods "%s" not found' % match.group(2),
                              {'name': match.group(2), 'kind': 'pods'})
            return 200, pod
        match = re.match(r'^/api/v1/namespaces/([^/]+)$', path)
        if method == 'GET' and match:
            if match.group(1) not in self.namespaces:
                return status(404, 'NotFound', 'namespaces "%s" not found' % match.group(1),
                              {'name': match.group(1), 'kind': 'namespaces'})
            return 200, {'kind': 'Namespace', 'metadata': {'name': match.group(1)}}
        if method == 'POST' and path == '/apis/authentication.k8s.io/v1/tokenreviews':
            token = body['spec'].get('token')
            try:
                claims = jwt.decode(token, SIGNING_KEY, algorithms=['HS256'], options={'verify_aud': False})
            except jwt.PyJWTError as exc:
                return 201, dict(body, status={'authenticated': False, 'error': str(exc)})
            return 201, dict(body, status={'authenticated': True, 'audiences': claims['aud'],
                                           'user': {'username': claims['sub'], 'groups': ['system:authenticated']}})
        if method == 'POST' and path == '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews':
            attributes = body['spec']['resourceAttributes']
            allowed = attributes['resource'] != 'secrets'
            return 201, dict(body, status={'allowed': allowed})
        return status(404, 'NotFound', 'the server could not find the requested resource')

    def token_request(self, namespace, name, body):
        if self.forbidden:
            return status(403, 'Forbidden', 'serviceaccounts "%s" is forbidden: User "alice" cannot create resource '
                          '"serviceaccounts/token" in API group "" in the namespace "%s"' % (name, namespace),
                          {'name': name, 'kind': 'serviceaccounts'})
        if (namespace, name) not in self.service_accounts:
            return status(404, 'NotFound', 'serviceaccounts "%s" not found' % name,
                          {'name': name, 'kind': 'serviceaccounts'})
        spec = body.get('spec') or {}
        seconds = spec.get('expirationSeconds') or 3600
        headers = {}
        if self.max_seconds and seconds > self.max_seconds:
            headers['Warning'] = '299 - "requested expiration of %s seconds shortened to %s seconds"' % (
                seconds, self.max_seconds)
            seconds = self.max_seconds
        ref = spec.get('boundObjectRef')
        bound = None
        if ref:
            pod = self.pods.get((namespace, ref['name']))
            if not pod:
                return status(404, 'NotFound', 'pods "%s" not found' % ref['name'], {'name': ref['name'], 'kind': 'pods'})
            if ref.get('uid') and ref['uid'] != pod['metadata']['uid']:
                return status(409, 'Conflict', 'Operation cannot be fulfilled on Pod "%s": the UID in the bound object '
                              'reference (%s) does not match the UID in record' % (ref['name'], ref['uid']),
                              {'name': ref['name'], 'kind': 'Pod'})
            bound = {'kind': ref['kind'], 'name': ref['name'], 'uid': pod['metadata']['uid']}
        now = int(time.time())
        token = self.token(namespace, name, spec.get('audiences'), seconds, bound, now=now)
        stamp = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now + seconds))
        return 201, {'kind': 'TokenRequest', 'apiVersion': 'authentication.k8s.io/v1',
                     'metadata': {'name': name, 'namespace': namespace,
                                  'creationTimestamp': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now))},
                     'spec': {'audiences': spec.get('audiences') or [ISSUER], 'expirationSeconds': seconds,
                              'boundObjectRef': ref},
                     'status': {'token': token, 'expirationTimestamp': stamp}}, headers

    def _handler(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def _serve(self):
                length = int(self.headers.get('Content-Length') or 0)
                raw = self.rfile.read(length) if length else b''
                body = json.loads(raw) if raw else None
                api.requests.append({'method': self.command, 'path': self.path, 'body': body,
                                     'headers': dict((k.lower(), v) for k, v in self.headers.items()),
                                     'groups': self.headers.get_all('Impersonate-Group')})
                for fault in api.faults:
                    if fault['count'] and fault['path_re'].search(self.path):
                        fault['count'] -= 1
                        if fault['drop']:
                            self.close_connection = True
                            self.connection.close()
                            return
                        headers = {'Retry-After': str(fault['retry_after'])} if fault['retry_after'] is not None else {}
                        return self._send(*status(fault['status'], 'Fault', 'injected fault'), headers=headers)
                answer = api.route(self.command, self.path.split('?')[0], body, self.headers.get('Authorization', ''))
                self._send(*answer)

            def _send(self, code, payload, headers=None):
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

        return Handler
