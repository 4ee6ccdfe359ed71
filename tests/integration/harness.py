"""What the integration tests share outside fixtures: the test environment's commands and the
environment for ansible-* runs. A module of its own name, so tests import it safely (``conftest``
names several modules when tests/unit and tests/integration run in one session)."""
import functools
import hashlib
import os
import ssl
import subprocess
import sys


def _bin_dir():
    """The virtual environment whose ansible-playbook and python the tests use."""
    venv = os.environ.get('MCP_K8S_TEST_PYTHON')
    if venv:
        return os.path.join(os.path.abspath(venv), 'bin')
    return os.path.dirname(sys.executable)


BIN = _bin_dir()
PYTHON = os.path.join(BIN, 'python')


def ansible_command(name):
    return os.path.join(BIN, name)


@functools.lru_cache(maxsize=None)
def ansible_core_version():
    """(major, minor) of the test environment's ansible-core (.venv: 2.19, .venv-old: 2.16)."""
    out = subprocess.run([PYTHON, '-c', 'from ansible.release import __version__; print(__version__)'],
                         capture_output=True, text=True, check=True).stdout
    return tuple(int(part) for part in out.strip().split('.')[:2])


def displayed(output):
    """ansible-playbook's output with messages as a reader sees them. ansible-core 2.19 prints a failed
    task's message as text ("[ERROR]: Task failed: ..."); 2.16 to 2.18 print it only inside the
    result's JSON, where its double quotes are escaped: unescape them there."""
    if ansible_core_version() < (2, 19):
        return output.replace('\\"', '"')
    return output


def lookup_sentence(msg, plugin='mcp.k8s.sa_token'):
    """The lookup's own sentence in a failed task's ``msg``: ansible-core 2.19 wraps it as
    "The lookup plugin 'PLUGIN' failed: SENTENCE"; 2.16 to 2.18 give the sentence alone."""
    marker = "The lookup plugin '%s' failed: " % plugin
    if ansible_core_version() < (2, 19):
        assert marker not in msg, msg
        return msg
    assert marker in msg, msg
    return msg.split(marker, 1)[1]


def playbook_env(collections_path, tmp_path, kubeconfig_path):
    """Environment for ansible-* commands: the installed collection and the double's kubeconfig."""
    env = dict(os.environ)
    for name in list(env):
        if name.startswith(('K8S_AUTH_', 'ANSIBLE_')):
            del env[name]
    env.update({
        'ANSIBLE_COLLECTIONS_PATH': str(collections_path),
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_RETRY_FILES_ENABLED': '0',
        'ANSIBLE_LOCAL_TEMP': str(tmp_path / 'ansible-tmp'),
        'ANSIBLE_REMOTE_TEMP': str(tmp_path / 'ansible-tmp'),
        'ANSIBLE_DEPRECATION_WARNINGS': '0',
        'ANSIBLE_PYTHON_INTERPRETER': PYTHON,
        'K8S_AUTH_KUBECONFIG': kubeconfig_path,
        'PATH': BIN + os.pathsep + env.get('PATH', ''),
    })
    return env


def cluster_named(kube):
    """How mcp.k8s.server_files names a cluster in its messages: the API server URL and the start
    of the SHA-256 of its CA certificate."""
    with open(kube.ca_path, encoding='ascii') as handle:
        der = ssl.PEM_cert_to_DER_cert(handle.read())
    return '%s (CA sha256:%s\u2026)' % (kube.url, hashlib.sha256(der).hexdigest()[:16])
