"""`make matrix`: the collection against every Kubernetes minor it supports, one after the other.

For each minor (tests/kube_real/versions.py SUPPORTED, or the ones named with ``--minors``):
build the control plane of its release (cached under ~/.cache/mcp-k8s/kube-<version>/bin),
start it once to read the version it reports (``/version``), run the ansible-test integration
targets (scripts/run_targets.py) and the role's real-tier tests against it, and write
docs/kubernetes-versions.md. Results are kept per minor in build/matrix/results.json, so that
running some minors again replaces only their rows. A minor that cannot be built gets a row
with the module, the version and the error ``go`` printed.

    python scripts/matrix.py [--minors 1.33,1.34] [--no-role] [--no-targets] [--table-only]
"""
import argparse
import datetime
import fcntl
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
RESULTS = os.path.join(ROOT, 'build', 'matrix', 'results.json')
TABLE = os.path.join(ROOT, 'docs', 'kubernetes-versions.md')
# The role's tests against the real control plane (the double has no version).
ROLE_TESTS = ['tests/integration/test_role_mcp_k8s_server.py', '-k', 'real']
sys.path.insert(0, os.path.join(ROOT, 'tests'))

from kube_real import BuildError, ControlPlane, build, versions  # noqa: E402  pylint: disable=wrong-import-position


def _env(version):
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get('PATH', ''))
    env[versions.ENV] = version
    return env


def build_minor(version, log):
    """(bin folder or None, seconds of the build that made the cache, the error sentence)."""
    started = time.monotonic()
    try:
        folder = build.ensure_binaries(out=log, version=version)
    except BuildError as exc:
        return None, round(time.monotonic() - started), str(exc)
    return folder, build.build_seconds(version), None


def reported_version(version, folder):
    """What the started kube-apiserver says it is (``gitVersion`` of ``/version``)."""
    state = tempfile.mkdtemp(prefix='kube-real-matrix-')
    plane = ControlPlane(state, version=version, bin_dir=folder)
    try:
        plane.start()
        status, data, _headers = plane.rest.request('GET', '/version')
        return data.get('gitVersion') if status == 200 else 'GET /version answered %s' % status
    finally:
        plane.stop()
        plane.remove_state()


def run_targets(version, log_path):
    """(passed, failed names, seconds): every target runs (--continue-on-error)."""
    started = time.monotonic()
    with open(log_path, 'w', encoding='utf-8') as log:
        proc = subprocess.run([sys.executable, os.path.join(ROOT, 'scripts', 'run_targets.py'), '--continue-on-error'],
                              cwd=ROOT, env=_env(version), stdout=log, stderr=subprocess.STDOUT, check=False)
    with open(log_path, encoding='utf-8', errors='replace') as handle:
        passed, failed = targets_outcome(handle.read(), proc.returncode, log_path)
    return passed, failed, round(time.monotonic() - started)


def targets_outcome(text, returncode, log_path):
    """(passed, failed names) from ansible-test's output with --continue-on-error."""
    ran = re.findall(r'^Running (\S+) integration test role', text, re.M)
    failed = []
    listed = re.search(r'integration test\(s\) listed below \(out of \d+\) failed[^\n]*\n((?:[^\n]+\n?)+)', text)
    if listed:
        failed = [name.strip() for name in listed.group(1).split('\n') if name.strip() in ran]
    if returncode != 0 and not failed:
        failed = ['(ansible-test exited %d before a target failed; see %s)' % (returncode, log_path)]
    return len([name for name in ran if name not in failed]), failed


def run_role_tests(version, junit, log_path):
    """(passed, failed test ids, seconds)."""
    started = time.monotonic()
    with open(log_path, 'w', encoding='utf-8') as log:
        proc = subprocess.run([sys.executable, '-m', 'pytest'] + ROLE_TESTS + [
            '-q', '-n', os.environ.get('MATRIX_WORKERS', '2'), '--dist', 'loadfile', '-p', 'no:cacheprovider',
            '--junitxml', junit], cwd=ROOT, env=_env(version), stdout=log, stderr=subprocess.STDOUT, check=False)
    passed, failed = 0, []
    try:
        tree = ET.parse(junit)
    except (OSError, ET.ParseError):
        return 0, ['(pytest exited %d without a report; see %s)' % (proc.returncode, log_path)], \
            round(time.monotonic() - started)
    for case in tree.iter('testcase'):
        if case.find('skipped') is not None:
            continue
        if case.find('failure') is not None or case.find('error') is not None:
            failed.append(case.get('name'))
        else:
            passed += 1
    return passed, failed, round(time.monotonic() - started)


def run_minor(minor, args):
    version = versions.RELEASES[minor]
    out = os.path.join(ROOT, 'build', 'matrix', minor)
    os.makedirs(out, exist_ok=True)
    row = {'minor': minor, 'version': version, 'supported': minor in versions.SUPPORTED,
           'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d')}
    print('=== Kubernetes %s (%s)' % (minor, version), flush=True)
    with open(os.path.join(out, 'build.log'), 'w', encoding='utf-8') as log:
        folder, seconds, error = build_minor(version, log)
    row['build_seconds'] = seconds
    if error:
        row['error'] = error
        print('    cannot be built: %s' % error, flush=True)
        return row
    try:
        row['reported'] = reported_version(version, folder)
    except BuildError as exc:
        row['error'] = 'built, but the control plane did not start: %s' % exc
        print('    %s' % row['error'], flush=True)
        return row
    print('    built (%s s), reports %s' % (seconds, row['reported']), flush=True)
    if not args.no_targets:
        passed, failed, took = run_targets(version, os.path.join(out, 'targets.log'))
        row['targets'] = {'passed': passed, 'failed': failed, 'seconds': took}
        print('    targets: %d passed, %d failed (%s s)' % (passed, len(failed), took), flush=True)
    if not args.no_role:
        passed, failed, took = run_role_tests(version, os.path.join(out, 'role.xml'), os.path.join(out, 'role.log'))
        row['role'] = {'passed': passed, 'failed': failed, 'seconds': took}
        print('    role tests: %d passed, %d failed (%s s)' % (passed, len(failed), took), flush=True)
    return row


def _minutes(seconds):
    if seconds is None:
        return 'cached'
    return '%d min %02d s' % divmod(int(seconds), 60)


def _outcome(result):
    if not result:
        return 'not run'
    text = '%d passed, %d failed' % (result['passed'], len(result['failed']))
    return text + ' (%s)' % _minutes(result['seconds'])


def _notes(row):
    if row.get('error'):
        return build.URL_RE.sub('<module proxy>', row['error']).replace('|', '/')
    notes = []
    if row.get('reported') != row['version']:
        notes.append('the server reports %s' % row.get('reported'))
    for what in ('targets', 'role'):
        failed = (row.get(what) or {}).get('failed')
        if failed:
            notes.append('%s failed: %s' % (what, ', '.join(failed)))
    return '; '.join(notes).replace('|', '/')


def write_table(rows):
    lines = [
        '# Kubernetes versions tested',
        '',
        'Written by `make matrix` (scripts/matrix.py); do not edit by hand. Each supported minor is',
        'built from the Go modules of its release (tests/kube_real/versions.py, '
        '`make kube-binaries KUBE_VERSION=...`),',
        'started, asked for its `/version`, and tested: the ansible-test integration targets',
        '(`scripts/run_targets.py`) and the role\'s real-tier tests (`%s`).' % ' '.join(ROLE_TESTS),
        'Build time is the cold build that made the cache (the Go module download excluded), on the 2-core',
        'project machine shared with other jobs. What the collection does on an older server: README.md,',
        '"Kubernetes versions".',
        '',
        '| minor | version (as the server reports it) | supported | build time | targets | role tests (real) '
        '| tested on | notes |',
        '|---|---|---|---|---|---|---|---|',
    ]
    rows = dict(rows)
    for minor in versions.SUPPORTED:
        rows.setdefault(minor, {'minor': minor, 'version': versions.RELEASES[minor], 'supported': True, 'date': '-',
                                'pending': True})
    for row in sorted(rows.values(), key=lambda r: versions.parse(r['minor']), reverse=True):
        if row.get('pending'):
            lines.append('| %s | %s | yes | not built yet | not run | not run | - | `make matrix MINORS=%s` has not '
                         'run on this machine yet |' % (row['minor'], row['version'], row['minor']))
            continue
        built = 'not built' if row.get('error') and row.get('reported') is None else _minutes(row.get('build_seconds'))
        lines.append('| %s | %s | %s | %s | %s | %s | %s | %s |' % (
            row['minor'], row.get('reported') or row['version'], 'yes' if row['supported'] else 'no', built,
            _outcome(row.get('targets')), _outcome(row.get('role')), row['date'], _notes(row)))
    lines.append('')
    with open(TABLE, 'w', encoding='utf-8') as handle:
        handle.write('\n'.join(lines))


def save(row):
    """Replace ``row``'s minor in build/matrix/results.json (read again now: another run may have
    written other minors meanwhile) and write the table from all of them."""
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS + '.lock', 'w', encoding='utf-8') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(RESULTS, encoding='utf-8') as handle:
                rows = json.load(handle)
        except (OSError, ValueError):
            rows = {}
        rows[row['minor']] = row
        with open(RESULTS + '.tmp', 'w', encoding='utf-8') as handle:
            json.dump(rows, handle, indent=1, sort_keys=True)
        os.replace(RESULTS + '.tmp', RESULTS)
        write_table(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--minors', help='comma-separated minors (default: every supported one, %s)'
                                         % ', '.join(versions.SUPPORTED))
    parser.add_argument('--no-targets', action='store_true', help='leave out the ansible-test targets')
    parser.add_argument('--no-role', action='store_true', help="leave out the role's real-tier tests")
    parser.add_argument('--table-only', action='store_true',
                        help='only write the table again from the results recorded in build/matrix/results.json')
    args = parser.parse_args(argv)
    if args.table_only:
        with open(RESULTS, encoding='utf-8') as handle:
            write_table(json.load(handle))
        return 0
    minors = [versions.minor_of(m) for m in args.minors.split(',')] if args.minors else list(versions.SUPPORTED)
    unknown = [m for m in minors if m not in versions.RELEASES]
    if unknown:
        parser.error('no release known for %s; known: %s' % (', '.join(unknown), ', '.join(versions.RELEASES)))
    bad = 0
    for minor in minors:
        row = run_minor(minor, args)
        save(row)
        bad += bool(row.get('error') or (row.get('targets') or {}).get('failed')
                    or (row.get('role') or {}).get('failed')) and row['supported']
    print('Wrote %s' % os.path.relpath(TABLE, ROOT))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
