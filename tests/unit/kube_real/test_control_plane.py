"""The real control plane's launcher: start, stop, reset, and its failures in one sentence."""
import os
import json
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
        # As production runs it: a stamped release version that kubectl parses, and the
        # ClusterRole aggregation controller filling the built-in roles.
        version = subprocess.run(['kubectl', '--kubeconfig', plane.kubeconfig_path, 'version', '-o', 'json'],
                                 capture_output=True, text=True, timeout=60, check=False)
        assert version.returncode == 0, version.stderr
        server = json.loads(version.stdout)['serverVersion']
        release = build.kubernetes_version()
        assert (server['gitVersion'], server['major'], server['minor'], server['gitTreeState']) == (
            release, release[1:].split('.')[0], release.split('.')[1], 'clean')
        assert plane.rest.request('GET', '/version')[1]['gitVersion'] == release
        deadline = time.monotonic() + 30
        while not (plane.objects.find('clusterroles', 'view') or {}).get('rules') and time.monotonic() < deadline:
            time.sleep(0.2)
        view_rules = plane.objects.find('clusterroles', 'view')['rules']
        assert any('pods' in rule.get('resources', ()) and 'get' in rule['verbs'] for rule in view_rules)
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


def test_version_stamp_is_what_kubernetes_release_build_writes():
    stamp = build.version_stamp('v1.33.13', build_date='2026-01-02T03:04:05Z')
    assert stamp == {'gitVersion': 'v1.33.13', 'gitMajor': '1', 'gitMinor': '33', 'gitCommit': '',
                     'gitTreeState': 'clean', 'buildDate': '2026-01-02T03:04:05Z'}
    flags = build.ldflags('v1.37.2', build_date='2026-01-02T03:04:05Z')
    for package in ('k8s.io/client-go/pkg/version', 'k8s.io/component-base/version'):
        assert "-X '%s.gitVersion=v1.37.2'" % package in flags
        assert "-X '%s.gitMinor=37'" % package in flags
        assert "-X '%s.buildDate=2026-01-02T03:04:05Z'" % package in flags
    with pytest.raises(BuildError, match='is not a Kubernetes release version'):
        build.version_stamp('master')


def test_a_cache_built_with_another_recipe_is_not_trusted(tmp_path):
    folder = tmp_path / 'bin'
    folder.mkdir()
    for name in build.PACKAGES:
        (folder / name).write_text('#!/bin/sh\n')
        (folder / name).chmod(0o755)
    (folder / '.complete').write_text('v1.37.2 built in 300 s\n')   # before version stamping
    assert not build._complete(str(folder))  # pylint: disable=protected-access
    (folder / '.complete').write_text('v1.37.2 built in 300 s, recipe %s\n' % build.RECIPE)
    assert build._complete(str(folder))  # pylint: disable=protected-access


def test_what_go_said_leaves_out_the_module_proxy_address():
    proc = subprocess.CompletedProcess(['go'], 1, stdout='', stderr='\n'.join([
        'go: downloading k8s.io/endpointslice v0.32.13',
        'k8s.io/endpointslice@v0.32.13: reading https://proxy.example.test/k8s.io/endpointslice/@v/v0.32.13.zip: 403 Forbidden',
        '\tserver response: This module version is not available.']))
    said = build.go_said(proc)
    assert 'proxy.example.test' not in said
    assert said.endswith('reading <module proxy>/k8s.io/endpointslice/@v/v0.32.13.zip: 403 Forbidden | '
                         '\tserver response: This module version is not available.')
    assert build.go_said(subprocess.CompletedProcess(['go'], 2, stdout='', stderr='')) == 'exit 2'
