"""scripts/matrix.py: what it reads from ansible-test's output and writes into the table."""
import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


@pytest.fixture(scope='module')
def matrix():
    spec = importlib.util.spec_from_file_location('matrix', os.path.join(ROOT, 'scripts', 'matrix.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RAN = 'Running sa_token integration test role\nok\nRunning sa_token_info integration test role\nRunning role_mcp_k8s_server integration test role\n'


def test_every_target_passed(matrix):
    assert matrix.targets_outcome(RAN, 0, 'log') == (3, [])


def test_failed_targets_are_named(matrix):
    text = RAN + ('ERROR: The 2 integration test(s) listed below (out of 3) failed. See error output above for details:\n'
                  'sa_token\nrole_mcp_k8s_server\n')
    assert matrix.targets_outcome(text, 1, 'log') == (1, ['sa_token', 'role_mcp_k8s_server'])


def test_a_failure_before_any_target_is_not_a_pass(matrix):
    assert matrix.targets_outcome('ERROR: no such option\n', 2, 'build/t.log') == (
        0, ['(ansible-test exited 2 before a target failed; see build/t.log)'])


def test_the_table_says_what_could_not_be_built(matrix, tmp_path, monkeypatch):
    monkeypatch.setattr(matrix, 'TABLE', str(tmp_path / 'versions.md'))
    matrix.write_table({
        '1.37': {'minor': '1.37', 'version': 'v1.37.2', 'reported': 'v1.37.2', 'supported': True, 'date': '2026-12-07',
                 'build_seconds': 421, 'targets': {'passed': 5, 'failed': [], 'seconds': 200},
                 'role': {'passed': 30, 'failed': ['test_x[real]'], 'seconds': 300}},
        '1.32': {'minor': '1.32', 'version': 'v1.32.13', 'supported': False, 'date': '2026-12-07', 'build_seconds': 3,
                 'error': 'go build of k8s.io/kubernetes/cmd/kube-controller-manager failed: a | b'},
    })
    lines = (tmp_path / 'versions.md').read_text().splitlines()
    assert '| 1.37 | v1.37.2 | yes | 7 min 01 s | 5 passed, 0 failed (3 min 20 s) | 30 passed, 1 failed (5 min 00 s) ' \
           '| 2026-12-07 | role failed: test_x[real] |' in lines
    assert '| 1.32 | v1.32.13 | no | not built | not run | not run | 2026-12-07 | go build of ' \
           'k8s.io/kubernetes/cmd/kube-controller-manager failed: a / b |' in lines
    assert lines.index([line for line in lines if line.startswith('| 1.37')][0]) < \
        lines.index([line for line in lines if line.startswith('| 1.32')][0])


def test_a_supported_minor_not_run_yet_is_a_row_that_says_so(matrix, tmp_path, monkeypatch):
    monkeypatch.setattr(matrix, 'TABLE', str(tmp_path / 'versions.md'))
    matrix.write_table({})
    text = (tmp_path / 'versions.md').read_text()
    for minor in matrix.versions.SUPPORTED:
        assert '| %s | %s | yes | not built yet | not run | not run | - | `make matrix MINORS=%s` has not run on this ' \
               'machine yet |' % (minor, matrix.versions.RELEASES[minor], minor) in text
