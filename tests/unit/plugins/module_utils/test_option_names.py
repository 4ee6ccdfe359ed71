import pytest

from ansible_collections.mcp.k8s.plugins.module_utils import option_names
from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError

ROLE = {'force': 'mcp_k8s_server_kubeconfig_overwrite', 'adopt': 'mcp_k8s_server_adopt'}


def test_name_is_the_callers_else_the_options_own():
    assert option_names.name(ROLE, 'adopt') == 'mcp_k8s_server_adopt'
    assert option_names.name(ROLE, 'move_cluster') == 'move_cluster'
    assert option_names.name(None, 'adopt') == 'adopt'
    assert option_names.name({}, 'adopt') == 'adopt'


@pytest.mark.parametrize('names, assign, said', [
    (None, '=', 'force=true'),
    ({}, ': ', 'force: true'),
    (ROLE, '=', 'mcp_k8s_server_kubeconfig_overwrite: true'),     # a variable, as written in YAML
    (ROLE, ': ', 'mcp_k8s_server_kubeconfig_overwrite: true'),
])
def test_setting_in_the_form_of_who_sets_it(names, assign, said):
    assert option_names.setting(names, 'force', 'true', assign) == said


def test_of_returns_the_names_given():
    params = {'force': False, 'adopt': False, 'option_names': dict(ROLE)}
    assert option_names.of(params) == ROLE
    assert option_names.of({'force': False, 'option_names': {}}) == {}
    assert option_names.of({'force': False}) == {}


@pytest.mark.parametrize('names, message', [
    ({'forse': 'x'}, 'option_names gives names for forse, which is not an option of this module; use the names of '
                     'its options as keys.'),
    ({'b': 'x', 'a': 'y'}, 'option_names gives names for a, b, which are not an option of this module; use the '
                           'names of its options as keys.'),
    ({'option_names': 'x'}, 'option_names gives names for option_names, which is not an option of this module; use '
                            'the names of its options as keys.'),
    ({'force': ''}, 'option_names gives force no name; give each key the name its messages should use, as a string.'),
    ({'force': None}, 'option_names gives force no name; give each key the name its messages should use, as a string.'),
    ({'force': ['x']}, 'option_names gives force no name; give each key the name its messages should use, as a '
                       'string.'),
])
def test_of_refuses_keys_that_are_no_option_and_empty_names(names, message):
    with pytest.raises(K8sTokenError) as info:
        option_names.of({'force': False, 'option_names': names})
    assert info.value.message == message


def test_the_spec_matches_the_doc_fragment():
    import yaml
    from ansible_collections.mcp.k8s.plugins.doc_fragments.option_names import ModuleDocFragment
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)['options']
    spec = option_names.argument_spec()
    assert list(documented) == list(spec) == ['option_names']
    assert documented['option_names']['type'] == spec['option_names']['type'] == 'dict'
    assert documented['option_names']['default'] == spec['option_names']['default'] == {}
