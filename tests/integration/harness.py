"""What the integration tests share outside fixtures: the test environment's commands, the
environment for ansible-* runs, running ``ansible-playbook``, the plays the tests write and
reading what they print. A module of its own name, so tests import it safely (``conftest`` names
several modules when tests/unit and tests/integration run in one session). The ``run_playbook``
fixture (conftest.py) is built on these; a test that needs its own inventory or environment calls
them directly rather than writing its own."""
import base64
import functools
import hashlib
import json
import os
import re
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


def cluster_named(cluster):
    """How mcp.k8s.server_files names a cluster in its messages: the API server URL and the start
    of the SHA-256 of its CA certificate."""
    with open(cluster.ca_path, encoding='ascii') as handle:
        der = ssl.PEM_cert_to_DER_cert(handle.read())
    return '%s (CA sha256:%s\u2026)' % (cluster.url, hashlib.sha256(der).hexdigest()[:16])


def local_inventory(path, python=PYTHON):
    """Write an inventory of one host, localhost over the local connection with ``python``."""
    path.write_text('localhost ansible_connection=local ansible_python_interpreter=%s\n' % python)
    return path


def ansible_playbook(args, env, cwd, timeout=600):
    """Run the test environment's ``ansible-playbook ARGS`` and return the finished process
    (stdout and stderr captured as text; the exit status is the caller's to assert)."""
    return subprocess.run([ansible_command('ansible-playbook')] + [str(arg) for arg in args], capture_output=True,
                          text=True, env=env, cwd=str(cwd), timeout=timeout, check=False)


def start_playbook(args, env, cwd):
    """``ansible-playbook ARGS`` started in the background (stderr into stdout), for a test that
    acts while it runs."""
    return subprocess.Popen([ansible_command('ansible-playbook')] + [str(arg) for arg in args], env=env, cwd=str(cwd),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def run_collection_playbook(env, cwd, name, *args, timeout=600):
    """``ansible-playbook ARGS mcp.k8s.NAME``: a playbook of the installed collection, as a user runs it."""
    return ansible_playbook(list(args) + ['mcp.k8s.' + name], env, cwd, timeout=timeout)


def record_task(expression, always=True):
    """The task that writes ``expression`` (Jinja) as JSON to ``results_file``, which
    ``run_playbook`` reads back into ``run.results``. ``always``: also in check mode, and with
    no diff of its own."""
    task = {'name': 'Record results', 'ansible.builtin.copy': {
        'content': '{{ %s | to_json }}' % expression, 'dest': '{{ results_file }}', 'mode': '0600'}}
    if always:
        task.update({'check_mode': False, 'diff': False})
    return task


def play(*tasks, record='{}', name='test', hosts='localhost', **keys):
    """A playbook of one play on ``hosts`` running ``tasks``, then recording ``record`` (a Jinja
    expression; ``None``: no record task, the tasks write ``results_file`` themselves or not at
    all); ``keys`` are further play keywords (``vars``, ``module_defaults``)."""
    tasks = list(tasks)
    if record is not None:
        tasks.append(record_task(record))
    return [dict({'name': name, 'hosts': hosts, 'gather_facts': False}, **keys, tasks=tasks)]


def claims_of(token):
    """The claims of a JWT, unverified."""
    payload = token.split('.')[1]
    return json.loads(base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4)))


def flat(text):
    """Output with its line wrapping undone (ansible-core wraps long warnings)."""
    return ' '.join(text.split())


def recap_changed(output, host='localhost'):
    """The ``changed=`` count of ``host`` in the PLAY RECAP."""
    match = re.search(r'%s\s*:\s*ok=\d+\s+changed=(\d+)' % re.escape(host), output)
    assert match, output[-3000:]
    return int(match.group(1))


def object_uid(cluster, resource, name, namespace='mcp'):
    """The uid of an object the server under test holds."""
    return cluster.objects.get(resource, name, namespace=namespace)['metadata']['uid']


def files_under(directory, allowed=()):
    for root, _dirs, names in os.walk(directory):
        for name in names:
            path = os.path.join(root, name)
            if path not in allowed and os.path.isfile(path):
                yield path


def assert_nowhere(secrets, run, log_path, directory, allowed=()):
    """None of ``secrets`` (nor a token's signature alone) in the output, the log or a file."""
    with open(log_path, encoding='utf-8', errors='replace') as handle:
        log = handle.read()
    assert 'PLAY RECAP' in log or 'PLAY [' in log, 'nothing was logged'
    needles = set()
    for secret in secrets:
        needles.add(secret)
        if secret.count('.') == 2:
            needles.add(secret.rsplit('.', 1)[1])
    for needle in needles:
        assert needle not in run.stdout, 'secret in stdout'
        assert needle not in run.stderr, 'secret in stderr'
        assert needle not in log, 'secret in the log'
    for path in files_under(directory, allowed):
        with open(path, 'rb') as handle:
            data = handle.read()
        for needle in needles:
            assert needle.encode() not in data, 'secret in %s' % path


def hygiene_env(tmp_path):
    return {'ANSIBLE_LOG_PATH': str(tmp_path / 'ansible.log')}
