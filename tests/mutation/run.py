"""`make mutation`: cosmic-ray over the security-critical module_utils, one file at a time.

Each file is mutated in a copy of the tracked tree (build/mutation/tree, refreshed on every
run) so that a crash never leaves a mutant in the working tree; the copy's own tests/conftest.py
links *the copy* as ``ansible_collections.mcp.k8s``, so the mutated file is the one pytest
imports. Every mutant runs only the unit tests that exercise its file (``-x``, no bytecode
written: a mutant and the original can have the same size and mtime second, and a stale .pyc
would hide the mutant), with a per-mutant timeout.

Usage: python tests/mutation/run.py [--survivors | --resume | --report | --count] [FILE_KEY ...]   (keys: see FILES; default all)
--survivors runs again only what survived the previous run of each file, after tests were added.
Prints killed/total per file and the survivors (operator, line, the mutated line).
"""
import argparse
import contextlib
import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORK = os.path.join(ROOT, 'build', 'mutation')
TREE = os.environ.get('MUTATION_TREE') or os.path.join(WORK, 'tree')   # another one beside a run in progress
CR_BIN = os.path.join(ROOT, '.venv-mutation', 'bin')
PYTHON = os.path.join(ROOT, '.venv', 'bin', 'python')

MU = 'tests/unit/plugins/module_utils/'
PU = 'tests/unit/plugins/plugin_utils/'
INVARIANTS = 'tests/unit/plugins/test_security_invariants.py'

# file key -> (module path, the unit tests that exercise it)
FILES = {
    'access': ('plugins/module_utils/access.py', [INVARIANTS, MU + 'test_access.py']),
    'object_names': ('plugins/module_utils/object_names.py', [INVARIANTS, MU + 'test_properties.py', MU + 'test_access.py']),
    'rbac_checks': ('plugins/module_utils/rbac_checks.py', [INVARIANTS, MU + 'test_rbac_checks.py', MU + 'test_access.py']),
    'tokens': ('plugins/module_utils/tokens.py', [INVARIANTS, MU + 'test_tokens.py', MU + 'test_serviceaccounts.py',
                                                  MU + 'test_token_info.py']),
    'serviceaccounts': ('plugins/module_utils/serviceaccounts.py', [INVARIANTS, MU + 'test_serviceaccounts.py',
                                                                    MU + 'test_token_info.py']),
    'jwks': ('plugins/module_utils/jwks.py', [MU + 'test_jwks.py']),
    'errors': ('plugins/module_utils/errors.py', [INVARIANTS, MU + 'test_errors.py', MU + 'test_connection.py']),
    'verification': ('plugins/module_utils/verification.py', [INVARIANTS, MU + 'test_verification.py']),
    'server_files': ('plugins/module_utils/server_files.py', [INVARIANTS, MU + 'test_server_files.py']),
    'token_cache': ('plugins/plugin_utils/token_cache.py', [INVARIANTS, PU + 'test_token_cache.py']),
}

# Operators left out, each for a reason (docs/testing.md):
# - binary operators: nearly every one here is '%' of a message format or '+' of two strings; a
#   replacement raises TypeError on the first run, so they only add minutes;
# - '==' <-> 'is' / 'is not': equal to '==' on interned strings and small ints (equivalent);
# - VariableReplacer / VariableInserter: cosmic-ray's newest operators, most of their mutants are
#   syntax-level noise (a name swapped for a constant);
# - RemoveDecorator: the decorators here are @property / @staticmethod / pytest-free.
EXCLUDED_OPERATORS = [
    r'core/ReplaceBinaryOperator_.*',
    r'core/ReplaceComparisonOperator_(Eq|NotEq|Is|IsNot)_(Is|IsNot)',
    r'core/ReplaceComparisonOperator_(Is|IsNot)_(Eq|NotEq)',
    r'core/VariableReplacer',
    r'core/VariableInserter',
    r'core/RemoveDecorator',
]

TIMEOUT = float(os.environ.get('MUTATION_TIMEOUT', '60'))


def prepare(tree=TREE):
    """The tracked (and untracked, not ignored) files of the working tree, copied to ``tree``, with
    links to the virtual environments."""
    if os.path.isdir(tree):
        shutil.rmtree(tree)
    os.makedirs(tree)
    files = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], cwd=ROOT,
                           check=True, capture_output=True).stdout.decode().split('\0')
    for name in filter(None, files):
        source = os.path.join(ROOT, name)
        if not os.path.isfile(source):
            continue  # deleted but not yet committed
        target = os.path.join(tree, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(source, target)
    for name in ('.venv', '.venv-old'):  # the copy's tests find the environments where the tree has them
        if os.path.exists(os.path.join(ROOT, name)):
            os.symlink(os.path.realpath(os.path.join(ROOT, name)), os.path.join(tree, name))


def toml_list(values):
    return '[' + ', '.join(json.dumps(v) for v in values) + ']'


def write_config(key):
    module, tests = FILES[key]
    tests = [name for name in tests if os.path.exists(os.path.join(TREE, name))]
    command = 'env PYTHONDONTWRITEBYTECODE=1 %s -m pytest -x -q -p no:randomly -p no:xdist --no-header -o addopts="" %s' % (
        PYTHON, ' '.join(tests))
    path = os.path.join(WORK, key + '.toml')
    with open(path, 'w') as handle:
        handle.write('[cosmic-ray]\n')
        handle.write('module-path = %s\n' % json.dumps(module))
        handle.write('timeout = %s\n' % TIMEOUT)
        handle.write('excluded-modules = []\n')
        handle.write('test-command = %s\n' % json.dumps(command))
        handle.write('[cosmic-ray.distributor]\nname = "local"\n')
        handle.write('[cosmic-ray.filters.operators-filter]\nexclude-operators = %s\n' % toml_list(EXCLUDED_OPERATORS))
    return path, command


def cr(*args):
    return subprocess.run([os.path.join(CR_BIN, args[0])] + list(args[1:]), cwd=TREE, check=True, capture_output=True, text=True)


HELD = 'held back by --survivors'


def forget_survivors(session):
    """Make the survivors (and mutants whose run failed) of an earlier run pending again; mutants
    never run (an interrupted run) are held back meanwhile (see release_held)."""
    with contextlib.closing(sqlite3.connect(session)) as db:
        with db:
            db.execute("INSERT INTO work_results (worker_outcome, output, test_outcome, diff, job_id) "
                       "SELECT 'SKIPPED', ?, NULL, NULL, job_id FROM work_items "
                       "WHERE job_id NOT IN (SELECT job_id FROM work_results)", (HELD,))
            db.execute("DELETE FROM work_results WHERE test_outcome IN ('SURVIVED', 'INCOMPETENT')")


def release_held(session):
    with contextlib.closing(sqlite3.connect(session)) as db:
        with db:
            db.execute("DELETE FROM work_results WHERE output = ?", (HELD,))


def forget_results(session):
    """Make the survivors of an earlier run pending again, beside the mutants it did not reach."""
    with contextlib.closing(sqlite3.connect(session)) as db:
        with db:
            db.execute("DELETE FROM work_results WHERE test_outcome IN ('SURVIVED', 'INCOMPETENT') OR output = ?", (HELD,))


def report(key):
    session = os.path.join(WORK, key + '.sqlite')
    if os.path.exists(session):
        summarize(key, cr('cosmic-ray', 'dump', session).stdout, 0)


def run(key, count_only=False, survivors=False, resume_all=False):
    config, command = write_config(key)
    session = os.path.join(WORK, key + '.sqlite')
    resume = (survivors or resume_all) and os.path.exists(session)
    if os.path.exists(session) and not resume:
        os.remove(session)
    started = time.time()
    if count_only:
        cr('cosmic-ray', 'init', config, session)
        cr('cr-filter-operators', session, config)
        cr('cr-filter-pragma', session)
        pending = sum(1 for line in cr('cosmic-ray', 'dump', session).stdout.splitlines() if json.loads(line)[1] is None)
        print('%-14s %4d mutants' % (key, pending), flush=True)
        return 0, pending
    # the baseline: the chosen tests pass on the unmutated copy
    baseline = subprocess.run(shlex.split(command), cwd=TREE, capture_output=True, text=True, check=False)
    if baseline.returncode:
        print('%s: the unit tests fail on the unmutated file; fix them first:\n%s' % (key, baseline.stdout + baseline.stderr))
        return None
    if resume and resume_all:
        forget_results(session)
    elif resume:
        forget_survivors(session)
    else:
        cr('cosmic-ray', 'init', config, session)
        cr('cr-filter-operators', session, config)
        cr('cr-filter-pragma', session)
    cr('cosmic-ray', 'exec', config, session)
    dump = cr('cosmic-ray', 'dump', session).stdout
    if resume and not resume_all:
        release_held(session)
    return summarize(key, dump, time.time() - started)


def summarize(key, dump, seconds):
    module = FILES[key][0]
    with open(os.path.join(ROOT, module)) as handle:
        lines = handle.read().splitlines()
    killed = total = pending = 0
    survivors = []
    broken = []
    for line in dump.splitlines():
        item, result = json.loads(line)
        if not result:
            pending += 1
            continue
        if result.get('worker_outcome') == 'skipped':
            pending += result.get('output') == HELD
            continue
        total += 1
        if result.get('test_outcome') == 'killed':
            killed += 1
        elif result.get('test_outcome') != 'survived':   # incompetent: the run itself failed
            broken.append('%s: %s' % (result.get('test_outcome'), (result.get('output') or '')[-300:]))
        else:
            mutation = item['mutations'][0]
            row = mutation['start_pos'][0]
            survivors.append('  %s:%d %s (occurrence %d): %s' % (
                module, row, mutation['operator_name'], mutation['occurrence'], lines[row - 1].strip()[:110]))
    score = 100.0 * killed / total if total else 100.0
    pending_note = '; %d mutants not run yet' % pending if pending else ''
    print('%-14s %4d/%-4d killed  %5.1f%%  (%d s)%s' % (key, killed, total, score, seconds, pending_note), flush=True)
    for survivor in survivors:
        print(survivor, flush=True)
    for line in broken[:3]:
        print('  NOT RUN ' + line, flush=True)
    return killed, total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('keys', nargs='*', metavar='FILE_KEY', help='any of: ' + ', '.join(sorted(FILES)))
    parser.add_argument('--count', action='store_true', help='only count the mutants of each file')
    parser.add_argument('--survivors', action='store_true',
                        help='run again only the survivors of the last run of each file (after adding tests)')
    parser.add_argument('--resume', action='store_true',
                        help='run the mutants an interrupted run did not reach, and its survivors again')
    parser.add_argument('--report', action='store_true', help='print the scores of the last runs; run nothing')
    args = parser.parse_args()
    unknown = sorted(set(args.keys) - set(FILES))
    if unknown:
        parser.error('unknown file key %s; use any of: %s' % (', '.join(unknown), ', '.join(sorted(FILES))))
    if args.report:
        for key in args.keys or sorted(FILES):
            report(key)
        return 0
    prepare()
    status = 0
    for key in args.keys or sorted(FILES):
        outcome = run(key, count_only=args.count, survivors=args.survivors, resume_all=args.resume)
        if outcome is None:
            status = 1
    return status


if __name__ == '__main__':
    sys.exit(main())
