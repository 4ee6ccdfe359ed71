""".github/workflows/ci.yml calls only the entry point (.ci/run) or make targets the Makefile has,
so that CI cannot run anything the Makefile does not; and the workflow stays out of the tarball."""
import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def read(path):
    with open(os.path.join(ROOT, path), encoding='utf-8') as handle:
        return handle.read()


def make_targets():
    return set(re.findall(r'^([a-z][\w.-]*):', read('Makefile'), re.M))


def workflow_commands():
    workflow = yaml.safe_load(read('.github/workflows/ci.yml'))
    for job in workflow['jobs'].values():
        for step in job['steps']:
            if 'run' in step:
                yield from (line.strip() for line in step['run'].splitlines() if line.strip())


def test_the_workflow_calls_only_the_entry_point_or_make_targets():
    targets = make_targets()
    commands = list(workflow_commands())
    assert commands, 'the workflow runs nothing'
    for command in commands:
        if command == 'bash .ci/run':
            continue
        words = command.split()
        assert words[0] == 'make', '%r: the workflow calls .ci/run or make targets only' % command
        named = [word for word in words[1:] if not word.startswith('-') and '=' not in word]
        assert named and set(named) <= targets, '%r: not a target of the Makefile' % command


def test_the_entry_point_runs_make_test():
    commands = [line.strip() for line in read('.ci/run').splitlines() if line.strip() and not line.lstrip().startswith('#')]
    assert commands[-1] == 'make test'
    assert 'test' in make_targets()


def test_the_job_has_a_timeout_and_caches_on_the_pinned_releases():
    workflow = yaml.safe_load(read('.github/workflows/ci.yml'))
    for job in workflow['jobs'].values():
        assert 0 < job['timeout-minutes'] <= 360
        caches = [step['with'] for step in job['steps'] if step.get('uses', '').startswith('actions/cache@')]
        assert len(caches) == 1
        assert set(caches[0]['path'].split()) == {'~/.cache/mcp-k8s', '~/.cache/go-build'}
        assert 'tests/kube_real/versions/**' in caches[0]['key']


def test_the_workflow_is_not_in_the_collection_tarball():
    assert '.github' in yaml.safe_load(read('galaxy.yml'))['build_ignore']
