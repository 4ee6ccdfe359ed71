"""Pythons on the controller other than the test environment's, for the tests of what a module says
under an interpreter without the collection's requirements, and of the docs' inventories under
Ansible's interpreter discovery."""
import glob
import os
import subprocess

from harness import PYTHON, ansible_core_version


def python_without_requirements(base_dir):
    """A virtual environment of the test environment's Python with nothing installed in it (no
    kubernetes, PyJWT or PyYAML); its interpreter's path."""
    venv = os.path.join(str(base_dir), 'python-without-requirements')
    if not os.path.exists(venv):
        subprocess.run([PYTHON, '-m', 'venv', '--without-pip', venv], check=True)
    return os.path.join(venv, 'bin', 'python')


def discovered_first(base_dir, interpreter):
    """A folder to put first on PATH so that Ansible's interpreter discovery, which takes the first of
    python3.13, python3.12, ... it finds, runs ``interpreter``: ``python3.13`` there execs it."""
    folder = os.path.join(str(base_dir), 'first-on-path')
    os.makedirs(folder, exist_ok=True)
    wrapper = os.path.join(folder, 'python3.13')
    with open(wrapper, 'w', encoding='utf-8') as handle:
        handle.write('#!/bin/sh\nexec %s "$@"\n' % interpreter)
    os.chmod(wrapper, 0o755)
    return folder


def pyenv_pythons_without(module='kubernetes'):
    """pyenv's Pythons (~/.pyenv/versions/3.*) that ansible-core's module code runs on (3.8+ for 2.17
    and later, 3.6+ for 2.16) and that lack ``module``."""
    oldest = (3, 6) if ansible_core_version() < (2, 17) else (3, 8)
    found = []
    for path in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.*/bin/python3'))):
        version = tuple(int(part) for part in path.split('/versions/')[1].split('/')[0].split('.')[:2])
        if version < oldest:
            continue
        if subprocess.run([path, '-c', 'import %s' % module], capture_output=True, check=False).returncode != 0:
            found.append(path)
    return found
