import pytest

from ansible_collections.mcp.k8s.plugins.module_utils import durations
from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError


@pytest.mark.parametrize('value, seconds', [
    ('10m', 600), ('1h30m', 5400), ('3600s', 3600), ('1.5h', 5400), ('2h0m0s', 7200),
    (3600, 3600), ('3600', 3600), (' 1h ', 3600), ('1000ms10m', 601), ('+1h', 3600), ('0', 0),
    ('-10m', -600), (7200.0, 7200),
])
def test_parse_seconds(value, seconds):
    assert durations.parse_seconds(value) == seconds


@pytest.mark.parametrize('value, fragment', [
    ('1500ms', 'whole seconds'), ('1h1.5s', 'whole seconds'), ('abc', 'is not a duration'),
    ('10', None), ('1d', 'is not a duration'), ('', 'empty'), (True, 'must be a duration'),
    (None, 'must be a duration'), (1.5, 'whole seconds'),
])
def test_parse_seconds_rejects(value, fragment):
    if fragment is None:
        assert durations.parse_seconds(value) == 10
        return
    with pytest.raises(K8sTokenError) as info:
        durations.parse_seconds(value)
    assert fragment in info.value.message


def test_token_duration_limits():
    assert durations.token_duration(None) == 3600
    assert durations.token_duration('10m') == 600
    assert durations.token_duration(2 ** 32) == 2 ** 32
    with pytest.raises(K8sTokenError) as info:
        durations.token_duration('5m')
    assert info.value.message == ('duration "5m" (300 seconds) is below the minimum of 10 minutes (600 seconds) '
                                  'that the API server accepts; use "10m" or longer.')
    with pytest.raises(K8sTokenError) as info:
        durations.token_duration(2 ** 32 + 1)
    assert 'above the maximum of 2^32 seconds' in info.value.message
    with pytest.raises(K8sTokenError) as info:
        durations.token_duration('-1h')
    assert 'below the minimum' in info.value.message


def test_renew_before():
    assert durations.renew_before_seconds(None, '5m') == 300
    assert durations.renew_before_seconds(0, '5m') == 0
    with pytest.raises(K8sTokenError):
        durations.renew_before_seconds('-1m', '5m')
