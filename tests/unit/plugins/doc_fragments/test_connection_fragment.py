"""The connection doc fragment agrees with the option spec and the environment variables the core reads."""
import yaml

from ansible_collections.mcp.k8s.plugins.doc_fragments.connection import ModuleDocFragment
from ansible_collections.mcp.k8s.plugins.module_utils import connection


def test_every_option_is_described_once_with_its_type_and_aliases():
    described = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)['options']
    assert set(described) == set(connection.AUTH_ARG_SPEC)
    for name, spec in connection.AUTH_ARG_SPEC.items():
        assert described[name]['type'] == spec['type'], name
        assert described[name].get('aliases', []) == spec.get('aliases', []), name


def test_plugin_section_only_adds_where_options_are_read_from():
    plugins = yaml.safe_load(ModuleDocFragment.PLUGINS)['options']
    assert set(plugins) == set(connection.AUTH_ARG_SPEC)
    for name, option in plugins.items():
        assert set(option) <= {'env', 'ini', 'vars'}, name


def test_environment_variables_are_those_the_core_reads():
    described = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)['options']
    plugins = yaml.safe_load(ModuleDocFragment.PLUGINS)['options']
    for name, env_names in connection.AUTH_ENV.items():
        assert [entry['name'] for entry in plugins[name]['env']] == [env_names[0]], name
        assert 'E(%s)' % env_names[0] in ' '.join(described[name]['description']), name
    assert 'env' not in plugins['proxy_headers']
    for env_name in connection.PROXY_HEADERS_ENV.values():
        assert 'E(%s)' % env_name in yaml.safe_dump(described['proxy_headers'])
