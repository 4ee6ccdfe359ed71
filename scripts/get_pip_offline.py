"""A stand-in for get-pip.py, seeded into ansible-test's cache by ``make``.

Why: ``ansible-test sanity --venv`` (and the import test in any mode) creates virtual
environments without pip and bootstraps pip into them by running get-pip.py, which it
downloads from ci-files.testing.ansible.com. That host is not reachable from our machines
(only the package registries are), so ansible-test stops with "does not have pip
available". ansible-test first looks for ``~/.ansible/test/cache/get_pip_<version>.py``;
``make`` puts this file there. It does what get-pip.py does with the arguments it is
given: install pip from the interpreter's own bundled wheel (``ensurepip``), then let that
pip install the requested packages (the pinned pip version) from the package index.
"""
import subprocess
import sys

# Flags that only get-pip.py understands; pip install would reject them.
GET_PIP_ONLY = ('--no-setuptools', '--no-wheel')


def main():
    # ensurepip runs in a child process: in-process it sets PIP_CONFIG_FILE=/dev/null in
    # our environment, and the pip below would then ignore the machine's pip configuration
    # (index, certificates).
    subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade'])
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    return subprocess.call([sys.executable, '-m', 'pip', 'install'] + args)


if __name__ == '__main__':
    sys.exit(main())
