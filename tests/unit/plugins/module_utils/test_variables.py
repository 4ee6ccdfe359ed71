import glob
import os

import pytest
import yaml

from ansible_collections.mcp.k8s.plugins.module_utils import variables

ROLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'mcp_k8s_server')
KNOWN = ['mcp_k8s_server_access', 'mcp_k8s_server_scope', 'mcp_k8s_server_namespaces', 'mcp_k8s_server_token_duration',
         'mcp_k8s_server_token_renew_before', 'mcp_k8s_server_auth_context']
OWNER = 'the role mcp.k8s.mcp_k8s_server'
LISTING = 'ansible-doc -t role mcp.k8s.mcp_k8s_server'


@pytest.mark.parametrize('name, closest', [
    ('mcp_k8s_server_acess', 'mcp_k8s_server_access'),
    ('mcp_k8s_server_namespace', 'mcp_k8s_server_namespaces'),
    ('mcp_k8s_server_token_renew', 'mcp_k8s_server_token_renew_before'),
    ('mcp_k8s_server_auth_contxt', 'mcp_k8s_server_auth_context'),
    ('mcp_k8s_server_duration', 'mcp_k8s_server_token_duration'),
    ('mcp_k8s_server_xyz', None),
])
def test_unknown_names_with_the_closest_known_one(name, closest):
    assert variables.unknown([name, 'mcp_k8s_server_access', 'other_variable'], KNOWN, 'mcp_k8s_server_') == [(name, closest)]


def test_known_names_and_other_prefixes_are_not_reported():
    assert variables.unknown(KNOWN + ['mcp_k8s_kubeconfig', 'mcp_k8s_server', 'kc_dir'], KNOWN, 'mcp_k8s_server_') == []
    assert variables.unknown([], KNOWN, 'mcp_k8s_server_') == []


def test_warning_sentences():
    assert variables.warnings_for(['mcp_k8s_server_acess', 'mcp_k8s_server_xyz'], KNOWN, 'mcp_k8s_server_', OWNER,
                                  LISTING) == [
        'mcp_k8s_server_acess is not a variable of the role mcp.k8s.mcp_k8s_server and is ignored; rename it to '
        'mcp_k8s_server_access if that is what was meant (ansible-doc -t role mcp.k8s.mcp_k8s_server lists the '
        'variables).',
        'mcp_k8s_server_xyz is not a variable of the role mcp.k8s.mcp_k8s_server and is ignored; ansible-doc -t role '
        'mcp.k8s.mcp_k8s_server lists the variables.']


def _role_yaml(*parts):
    with open(os.path.join(ROLE, *parts), encoding='utf-8') as handle:
        return yaml.safe_load(handle)


def test_the_role_knows_every_fact_it_sets_and_its_defaults():
    """The role passes its argument_specs options and __mcp_k8s_server_facts as the known names: every
    mcp_k8s_server_* fact its tasks set is among those facts, and every default is documented."""
    facts = set()
    for path in glob.glob(os.path.join(ROLE, 'tasks', '*.yml')):
        with open(path, encoding='utf-8') as handle:
            for task in yaml.safe_load(handle) or ():
                facts.update(name for name in task.get('ansible.builtin.set_fact') or {}
                             if name.startswith('mcp_k8s_server_'))
    assert facts == set(_role_yaml('vars', 'main.yml')['__mcp_k8s_server_facts'])
    options = set()
    for entry_point in _role_yaml('meta', 'argument_specs.yml')['argument_specs'].values():
        options.update(entry_point['options'])
    assert set(_role_yaml('defaults', 'main.yml')) <= options
    assert variables.unknown(set(_role_yaml('defaults', 'main.yml')) | facts, options | facts, 'mcp_k8s_server_') == []
