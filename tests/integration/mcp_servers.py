"""Start the two real MCP servers the end-to-end tests drive, and call their tools.

Both are test dependencies only, installed by ``make mcp-servers`` into ~/.cache/mcp-k8s (the
Makefile passes their locations in MCP_K8S_UPSTREAM_ENV and MCP_K8S_KMS_BIN):

- the upstream ``mcp-k8s-server`` 0.1.2 (kubernetes Python client, SSE transport), driven with
  the MCP Python SDK client of its own environment (``mcp_sse_client.py``);
- ``kubernetes-mcp-server`` 0.0.67 (client-go), over MCP streamable HTTP at ``/mcp``,
  ``--stateless``: each call is one JSON-RPC POST.
"""
import glob
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.expanduser('~/.cache/mcp-k8s')


def _newest(pattern):
    found = sorted(glob.glob(os.path.join(CACHE, pattern)), key=os.path.getmtime)
    return found[-1] if found else ''


UPSTREAM_ENV = os.environ.get('MCP_K8S_UPSTREAM_ENV') or _newest('mcp-k8s-server-0.1.2-*')
KMS_BIN = os.environ.get('MCP_K8S_KMS_BIN') or _newest(
    'kubernetes-mcp-server-linux-amd64-0.0.67/package/bin/kubernetes-mcp-server-linux-amd64')
UPSTREAM_SERVER = os.path.join(UPSTREAM_ENV, 'bin', 'mcp-k8s-server') if UPSTREAM_ENV else ''
UPSTREAM_PYTHON = os.path.join(UPSTREAM_ENV, 'bin', 'python') if UPSTREAM_ENV else ''
MISSING = 'the MCP servers are not installed: run make mcp-servers'


def installed():
    return os.access(UPSTREAM_SERVER, os.X_OK) and os.access(KMS_BIN, os.X_OK)


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class Server:
    """A server process, its log file, and a stop that cannot hang (SIGTERM, then SIGKILL: the
    upstream server may wait forever on an SSE stream a client held)."""

    def __init__(self, name, command, port, log_path, env=None):
        self.name = name
        self.port = port
        self.log_path = str(log_path)
        with open(self.log_path, 'wb') as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                            cwd=os.path.dirname(self.log_path))
        self._wait_listening()

    @property
    def pid(self):
        return self.process.pid

    def log(self):
        with open(self.log_path, encoding='utf-8', errors='replace') as handle:
            return handle.read()

    def _wait_listening(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise AssertionError('%s exited with %s:\n%s' % (self.name, self.process.returncode, self.log()[-3000:]))
            try:
                socket.create_connection(('127.0.0.1', self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError('%s is not listening on %d after %ds:\n%s' % (self.name, self.port, timeout, self.log()[-3000:]))

    def running(self):
        return self.process.poll() is None

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_upstream(config_path, log_path):
    """The upstream server on the config file the role wrote (its port is in that file)."""
    with open(config_path, encoding='utf-8') as handle:
        port = yaml.safe_load(handle)['server']['port']
    env = dict(os.environ)
    for name in list(env):
        if name.startswith(('KUBERNETES_', 'MCP_K8S_SERVER_')) or name == 'KUBECONFIG':
            del env[name]
    return Server('mcp-k8s-server', [UPSTREAM_SERVER, '--config', str(config_path)], port, log_path, env=env)


def start_kms(kubeconfig, log_path, read_only=False):
    port = free_port()
    command = [KMS_BIN, '--kubeconfig', str(kubeconfig), '--port', str(port), '--bind-address', '127.0.0.1',
               '--stateless']
    if read_only:
        command.append('--read-only')
    env = dict(os.environ)
    env.pop('KUBECONFIG', None)
    return Server('kubernetes-mcp-server', command, port, log_path, env=env)


def upstream_call(server, *calls):
    """Call tools of the upstream server in one SSE session: ``calls`` are (tool, arguments);
    returns a list of {is_error, text}."""
    proc = subprocess.run([UPSTREAM_PYTHON, os.path.join(HERE, 'mcp_sse_client.py'),
                           'http://127.0.0.1:%d/sse' % server.port],
                          input=json.dumps([list(call) for call in calls]), capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    return json.loads(proc.stdout)


def _kms_rpc(server, method, params):
    """One JSON-RPC request to kubernetes-mcp-server (stateless: no session); its answer."""
    body = json.dumps({'jsonrpc': '2.0', 'id': 1, 'method': method, 'params': params}).encode()
    request = urllib.request.Request('http://127.0.0.1:%d/mcp' % server.port, data=body, headers={
        'Content-Type': 'application/json', 'Accept': 'application/json, text/event-stream'})
    with urllib.request.urlopen(request, timeout=60) as response:
        raw = response.read().decode('utf-8')
    if raw.lstrip().startswith('{'):
        messages = [json.loads(raw)]
    else:   # an SSE stream: one JSON-RPC message per data line
        messages = [json.loads(line[5:]) for line in raw.splitlines() if line.startswith('data:')]
    return [m for m in messages if m.get('id') == 1][0]


def kms_call(server, tool, arguments=None):
    """One tools/call to kubernetes-mcp-server; returns {is_error, text, rpc_error}."""
    answer = _kms_rpc(server, 'tools/call', {'name': tool, 'arguments': arguments or {}})
    if 'error' in answer:
        return {'is_error': True, 'text': answer['error'].get('message', ''), 'rpc_error': True}
    result = answer['result']
    text = '\n'.join(part.get('text', '') for part in result.get('content', []))
    return {'is_error': bool(result.get('isError')), 'text': text, 'rpc_error': False}


def kms_tools(server):
    """The names of the tools kubernetes-mcp-server offers."""
    return sorted(tool['name'] for tool in _kms_rpc(server, 'tools/list', {})['result']['tools'])
