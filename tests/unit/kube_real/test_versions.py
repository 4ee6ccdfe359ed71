"""Which Kubernetes release the real control plane runs, its Go module, and its flags by release."""
import os
import re

import pytest

from kube_real import BuildError, ControlPlane, build, versions
from kube_real.control_plane import _versioned


@pytest.mark.parametrize('given, expected', [
    ('1.33', 'v1.33.13'), ('v1.34', 'v1.34.4'), ('v1.35.4', 'v1.35.4'), ('1.36.0', 'v1.36.0'), (' 1.37 ', 'v1.37.2'),
])
def test_a_minor_is_its_newest_served_release(given, expected):
    assert versions.release(given) == expected


@pytest.mark.parametrize('given, phrase', [
    ('1.20', 'No release of Kubernetes 1.20 is known here; known minors: 1.29,'),
    ('latest', "'latest' is not a Kubernetes version: give a release such as v1.33.13 or a minor such as 1.33."),
    ('v1.33.x', "'v1.33.x' is not a Kubernetes version"),
])
def test_a_version_that_is_not_one_is_one_sentence(given, phrase):
    with pytest.raises(ValueError) as raised:
        versions.release(given)
    assert str(raised.value).startswith(phrase)


def test_the_environment_chooses_the_release_and_the_pinned_one_is_the_default(monkeypatch):
    monkeypatch.delenv(versions.ENV, raising=False)
    assert build.selected_version() == build.kubernetes_version() == versions.RELEASES[versions.SUPPORTED[-1]]
    monkeypatch.setenv(versions.ENV, '1.34')
    assert build.selected_version() == 'v1.34.4'
    assert build.bin_dir().endswith(os.path.join('kube-v1.34.4', 'bin'))
    monkeypatch.setenv(versions.ENV, 'nope')
    with pytest.raises(BuildError) as raised:
        ControlPlane('/nonexistent-state')
    assert str(raised.value).startswith("MCP_K8S_KUBE_VERSION=nope: 'nope' is not a Kubernetes version: give a release")


def test_supported_minors_are_served_and_newest_is_pinned():
    assert list(versions.SUPPORTED) == sorted(versions.SUPPORTED, key=versions.parse)
    assert all(minor in versions.RELEASES for minor in versions.SUPPORTED)
    assert versions.RELEASES[versions.SUPPORTED[-1]] == build.kubernetes_version()


@pytest.mark.parametrize('minor', [m for m in versions.SUPPORTED if versions.RELEASES[m] != build.kubernetes_version()])
def test_each_supported_release_has_its_committed_module(minor):
    """The module build.py uses is versions/<minor>/go.mod, which requires that release, its etcd
    and the published staging modules of the same release (never another minor's)."""
    release = versions.RELEASES[minor]
    path = build.module_file(release)
    assert path == os.path.join(build.VERSIONS_DIR, minor, 'go.mod')
    assert os.path.exists(os.path.join(build.VERSIONS_DIR, minor, 'go.sum'))
    with open(path, encoding='utf-8') as handle:
        text = handle.read()
    assert re.search(r'^\s+k8s\.io/kubernetes %s$' % re.escape(release), text, re.M)
    assert re.search(r'^\s+go\.etcd\.io/etcd/server/v3 v3\.\d+\.\d+$', text, re.M)
    replaced = re.findall(r'^\s+(k8s\.io/\S+) => \1 (v\S+)$', text, re.M)
    assert len(replaced) >= 30
    assert {target for _name, target in replaced} == {'v0.' + release.split('.', 1)[1]}


def test_the_pinned_release_builds_with_the_module_in_go():
    assert build.module_file(build.kubernetes_version()) == os.path.join(build.GO_MODULE, 'go.mod')


def test_flags_of_older_releases_come_from_the_table(monkeypatch):
    monkeypatch.setattr(versions, 'FLAGS', (
        ('kube-apiserver', '--audit-log-mode', None, '1.30'),
        ('kube-apiserver', '--feature-gates', 'A=true', '1.35'),
        ('kube-apiserver', '--feature-gates', 'B=true', '1.34'),
        ('kube-controller-manager', '--controllers', '*,bootstrapsigner', '1.28'),
    ))
    args = ['--v', '1', '--audit-log-mode', 'blocking', '--profiling=false']
    assert _versioned(args, 'v1.37.2', 'kube-apiserver') == args
    assert _versioned(args, 'v1.34.4', 'kube-apiserver') == args + ['--feature-gates', 'A=true']
    assert _versioned(args, 'v1.33.13', 'kube-apiserver') == args + ['--feature-gates', 'B=true']
    assert _versioned(args, 'v1.29.6', 'kube-apiserver') == ['--v', '1', '--profiling=false',
                                                             '--feature-gates', 'B=true']
    expected = ['--controllers', '*,bootstrapsigner']
    assert _versioned(['--controllers', '*'], 'v1.27.0', 'kube-controller-manager') == expected


def test_supported_releases_take_the_newest_flags():
    for minor in versions.SUPPORTED:
        assert versions.flags(versions.RELEASES[minor], 'kube-apiserver') == {}
        assert versions.flags(versions.RELEASES[minor], 'kube-controller-manager') == {}
