"""A module run under a Python without the collection's requirements fails with ansible-core's
missing_required_lib sentence, which names the host and the interpreter, whatever the Python
(issue 24: the fleet inventory of docs/connecting.md failed on every host with "Module result
deserialization failed"). No cluster is asked: the modules stop before connecting."""
import json
import os
import re
import subprocess

import pytest
import yaml

from harness import ansible_playbook, playbook_env
from interpreters import pyenv_pythons_without, python_without_requirements

pytestmark = pytest.mark.both_clients

# Each module with options that pass its argument spec, and the libraries it checks, in order.
MODULES = [
    ('sa_token', {'name': 'app', 'namespace': 'ns'}, ('kubernetes',)),
    ('sa_access', {'name': 'app', 'namespace': 'ns'}, ('kubernetes',)),
    ('sa_token_secret', {'name': 'app', 'namespace': 'ns'}, ('kubernetes',)),
    ('sa_token_info', {'token': 'x.y.z'}, ('PyJWT',)),
    ('server_files', {'name': 'app', 'namespace': 'ns', 'kubeconfig_path': '/nonexistent/kubeconfig', 'token': 'x.y.z',
                      'expiration_timestamp': '2030-01-01T00:00:00Z'}, ('PyYAML', 'kubernetes')),
]
IMPORT_NAMES = {'kubernetes': 'kubernetes', 'PyJWT': 'jwt', 'PyYAML': 'yaml'}


def first_missing(interpreter, libraries):
    for library in libraries:
        if subprocess.run([interpreter, '-c', 'import ' + IMPORT_NAMES[library]], capture_output=True, check=False).returncode:
            return library
    raise AssertionError('%s has all of %s' % (interpreter, libraries))


def interpreters():
    return ['venv'] + pyenv_pythons_without('kubernetes')


@pytest.mark.parametrize('interpreter', interpreters(), ids=lambda path: path if path == 'venv' else path.split('/versions/')[1].split('/')[0])
def test_every_module_names_the_library_and_the_interpreter(interpreter, collections_path, tmp_path):
    if interpreter == 'venv':
        interpreter = python_without_requirements(tmp_path)
    inventory = tmp_path / 'hosts.yml'
    inventory.write_text(yaml.safe_dump({'clusters': {'hosts': {'east': {
        'ansible_connection': 'local', 'ansible_python_interpreter': interpreter}}}}))
    results = tmp_path / 'results.json'
    tasks = [{'name': name, 'mcp.k8s.%s' % name: options, 'register': name, 'ignore_errors': True}
             for name, options, _libraries in MODULES]
    tasks.append({'name': 'Record', 'delegate_to': 'localhost', 'vars': {'ansible_python_interpreter': '{{ ansible_playbook_python }}'},
                  'ansible.builtin.copy': {'content': '{{ {%s} | to_json }}' % ', '.join("'%s': %s.msg" % (m[0], m[0]) for m in MODULES),
                                           'dest': str(results), 'mode': '0600'}})
    (tmp_path / 'play.yml').write_text(yaml.safe_dump([{'hosts': 'clusters', 'gather_facts': False, 'tasks': tasks}], sort_keys=False))
    env = playbook_env(collections_path, tmp_path, '/nonexistent/kubeconfig')
    del env['ANSIBLE_PYTHON_INTERPRETER']
    proc = ansible_playbook(['-i', inventory, 'play.yml'], env, tmp_path)
    assert 'Module result deserialization failed' not in proc.stdout + proc.stderr, proc.stdout
    assert re.search(r'east\s+: ok=%d .* failed=0 .* ignored=%d' % (len(MODULES) + 1, len(MODULES)), proc.stdout), proc.stdout + proc.stderr
    messages = json.loads(results.read_text())
    for name, _options, libraries in MODULES:
        library = first_missing(interpreter, libraries)
        expected = "Failed to import the required Python library (%s) on %s's Python %s." % (library, os.uname().nodename, interpreter)
        assert messages[name].startswith(expected), (name, messages[name])
        assert 'Traceback' not in messages[name]
