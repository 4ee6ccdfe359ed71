"""What one sa_token module task imports, measured in a real module run (docs/benchmarks.md).

Runs one ``mcp.k8s.sa_token`` task against an API server double with ANSIBLE_KEEP_REMOTE_FILES=1,
then runs the AnsiballZ file ansible-core left behind (the module with its arguments, as the
task ran it) again under ``python -X importtime``, ``--runs`` times, and prints the least
cumulative import time of each top-level package it imports, in milliseconds, the total, and the
number of modules imported (which, unlike the times, does not depend on the machine's load).

    .venv/bin/python tests/bench/imports.py [--runs 5]
"""
import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.dirname(sys.executable)
sys.path.insert(0, os.path.join(ROOT, 'tests'))

import conftest  # noqa: E402  (links the working tree as build/pytest/ansible_collections/mcp/k8s)
from kube_double import KubeDouble  # noqa: E402

# Packages shown whatever imports them (their cumulative time where they are first imported).
WATCHED = ('kubernetes', 'kubernetes.client', 'kubernetes.client.api', 'kubernetes.client.models', 'kubernetes.config',
           'kubernetes.dynamic', 'kubernetes.watch', 'kubernetes.stream', 'kubernetes.utils', 'urllib3', 'yaml', 'jwt',
           'cryptography', 'ansible.module_utils.basic')
LINE = re.compile(r'^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)')


def module_file(kube, workdir):
    play = os.path.join(workdir, 'play.yml')
    with open(play, 'w') as handle:
        handle.write('- hosts: localhost\n  gather_facts: false\n  tasks:\n'
                     '    - mcp.k8s.sa_token: {name: sa-0, namespace: imports, kubeconfig: %s}\n' % kube.kubeconfig_path)
    remote = os.path.join(workdir, 'remote')
    env = {k: v for k, v in os.environ.items() if not k.startswith(('ANSIBLE_', 'K8S_AUTH_'))}
    env.update(ANSIBLE_COLLECTIONS_PATH=conftest.COLLECTIONS, ANSIBLE_KEEP_REMOTE_FILES='1',
               ANSIBLE_REMOTE_TMP=remote, ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING='0',
               ANSIBLE_PIPELINING='0')
    subprocess.run([os.path.join(BIN, 'ansible-playbook'), play], env=env, check=True, capture_output=True, cwd=workdir)
    found = glob.glob(os.path.join(remote, '*', 'AnsiballZ_sa_token.py'))
    if not found:
        raise SystemExit('no AnsiballZ_sa_token.py under %s' % remote)
    return found[0]


def import_times(path):
    """``{top-level package: cumulative ms}`` of one run of the module under -X importtime."""
    proc = subprocess.run([sys.executable, '-X', 'importtime', path], capture_output=True, text=True, check=False)
    if '"changed": true' not in proc.stdout:
        raise SystemExit('the module run failed: %s' % proc.stdout[-2000:])
    times = {}
    for line in proc.stderr.splitlines():
        match = LINE.match(line)
        if match:
            times['#modules'] = times.get('#modules', 0) + 1
        if match and match.group(4) in WATCHED:
            times['~' + match.group(4)] = int(match.group(2)) / 1000.0
        if match and len(match.group(3)) == 1:       # a top-level import (not one nested in another)
            top = match.group(4).split('.')[0]
            if top == 'ansible_collections':
                top = '.'.join(match.group(4).split('.')[:6])
            times[top] = times.get(top, 0) + int(match.group(2)) / 1000.0
    return times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--runs', type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir, KubeDouble(os.path.join(workdir, 'double')) as kube:
        kube.create_service_account('sa-0', 'imports')
        path = module_file(kube, workdir)
        runs = [import_times(path) for _run in range(args.runs)]
    names = sorted((name for name in set().union(*runs) if not name.startswith(('~', '#'))),
                   key=lambda name: -min(run.get(name, 0) for run in runs))
    print('load average: %s' % ' '.join('%.2f' % value for value in os.getloadavg()))
    print('| import (top level) | ms (least of %d runs) |' % args.runs)
    print('|---|---:|')
    for name in names:
        value = min(run.get(name, 0) for run in runs)
        if value >= 5:
            print('| `%s` | %.0f |' % (name, value))
    totals = [sum(v for k, v in run.items() if not k.startswith(('~', '#'))) for run in runs]
    print('| total | %.0f |' % min(totals))
    print('modules imported: %d' % runs[0]['#modules'])
    print()
    print('| package, wherever imported | ms (least) |')
    print('|---|---:|')
    for name in WATCHED:
        if any('~' + name in run for run in runs):
            print('| `%s` | %.0f |' % (name, min(run.get('~' + name, 0) for run in runs)))


if __name__ == '__main__':
    main()
