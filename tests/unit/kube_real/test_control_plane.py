"""The real control plane's launcher: start, stop, reset, and its failures in one sentence."""
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from kube_real import BuildError, ControlPlane, build
from kube_real.pytest_plugin import real_tier_enabled

pytestmark = pytest.mark.skipif(not real_tier_enabled(), reason='MCP_K8S_REAL_CLUSTER=0')


def alive(pid):
    try:
        with open('/proc/%d/stat' % pid, encoding='utf-8') as handle:
            return handle.read().split()[2] != 'Z'
    except FileNotFoundError:
        return False


def test_starts_resets_and_stops_leaving_nothing_behind(tmp_path):
    plane = ControlPlane(tmp_path / 'plane').start()
    pids = [proc.pid for _name, proc in plane._processes]  # pylint: disable=protected-access
    try:
        assert plane.started_in < 60
        assert plane.rest.request('GET', '/readyz')[0] == 200
        assert plane.objects.find('serviceaccounts', 'default', 'default') is not None
        plane.create_service_account('app', 'scratch')
        plane.reset()
        assert plane.objects.find('namespaces', 'scratch') is None
        assert plane.count() == 0
    finally:
        plane.stop()
    assert not [pid for pid in pids if alive(pid)]
    with socket.socket() as sock:
        assert sock.connect_ex(('127.0.0.1', plane.port)) != 0


def test_components_die_with_a_killed_parent(tmp_path):
    script = textwrap.dedent('''
        import sys, time
        sys.path.insert(0, %r)
        from kube_real import ControlPlane
        plane = ControlPlane(%r).start()
        print(' '.join(str(proc.pid) for _name, proc in plane._processes), flush=True)
        time.sleep(300)
    ''' % (os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), str(tmp_path / 'plane')))
    parent = subprocess.Popen([sys.executable, '-c', script], stdout=subprocess.PIPE, text=True)
    pids = [int(pid) for pid in parent.stdout.readline().split()]
    assert len(pids) == 3
    parent.send_signal(signal.SIGKILL)   # no atexit, no finally
    parent.wait()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in pids if alive(pid)]


def test_a_port_in_use_is_one_sentence(tmp_path):
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        with pytest.raises(BuildError) as raised:
            ControlPlane(tmp_path / 'plane', port=port).start()
    assert str(raised.value) == ('Port %d is already in use on 127.0.0.1: stop what listens there or choose another '
                                 'port.' % port)


def test_missing_go_is_one_sentence(monkeypatch):
    monkeypatch.setattr(build.shutil, 'which', lambda name: None)
    monkeypatch.setattr(build.os, 'access', lambda path, mode: False)
    with pytest.raises(BuildError) as raised:
        build.find_go()
    assert str(raised.value).startswith('Go is not installed (no "go" on PATH): install Go 1.26 or newer')
