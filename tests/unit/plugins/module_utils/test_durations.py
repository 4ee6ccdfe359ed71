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


@pytest.mark.parametrize('duration, renew_before, default', [
    ('10m', None, '10m'),          # the role's default renew_before with the documented minimum duration
    ('10m', '10m', '5m'),
    ('10m', '20m', '5m'),
    (600, 601, '5m'),
    ('1h', '2h', '5m'),
])
def test_renewal_refuses_renew_before_not_shorter_than_duration(duration, renew_before, default):
    with pytest.raises(K8sTokenError) as info:
        durations.renewal_warning(duration, renew_before, default)
    message = info.value.message
    assert message.startswith('renew_before ')
    assert 'is not shorter than duration' in message
    assert 'every run would mint a new one' in message
    assert message.count('.') == 1 and message.endswith('.')


def test_renewal_refusal_sentence():
    with pytest.raises(K8sTokenError) as info:
        durations.renewal_warning('10m', '20m', '5m')
    assert info.value.message == (
        'renew_before "20m" (1200 seconds) is not shorter than duration "10m" (600 seconds), so no token would ever '
        'be reused and every run would mint a new one; set renew_before to "5m" or less, or a longer duration.')
    with pytest.raises(K8sTokenError) as info:
        durations.renewal_warning(None, '1h', '5m')
    assert 'duration "1h" (3600 seconds)' in info.value.message and '"55m" or less' in info.value.message


@pytest.mark.parametrize('duration, renew_before, reusable_for', [
    ('10m', '8m', '"2m"'), ('10m', '9m59s', '"1s"'), ('1h', '56m', '"4m"'), (700, 600, '"1m40s"'),
])
def test_renewal_warns_when_less_than_five_minutes_apart(duration, renew_before, reusable_for):
    warning = durations.renewal_warning(duration, renew_before, '5m')
    assert warning.startswith('renew_before ')
    assert 'reusable for only %s after it is minted' % reusable_for in warning
    assert 'keep at least "5m" between them' in warning


@pytest.mark.parametrize('duration, renew_before, default', [
    ('10m', None, '5m'),           # the module's and the lookup's defaults: exactly 5 minutes apart
    ('10m', '5m', '5m'), (None, None, '5m'), (None, None, '10m'),   # the role's defaults: 1h and 10m
    ('1h', '10m', '5m'), ('24h', '2h', '5m'), ('10m', 0, '5m'), ('', '', '5m'),
])
def test_renewal_accepts_defaults_and_sane_values(duration, renew_before, default):
    assert durations.renewal_warning(duration, renew_before, default) is None


def test_renewal_checks_the_duration_first():
    with pytest.raises(K8sTokenError) as info:
        durations.renewal_warning('5m', '10m', '5m')
    assert info.value.message.startswith('duration "5m" (300 seconds) is below the minimum')


@pytest.mark.parametrize('seconds, text', [(0, '"0s"'), (600, '"10m"'), (3900, '"1h5m"'), (90, '"1m30s"'),
                                           (3600, '"1h"'), (-60, '"-1m"')])
def test_go_duration(seconds, text):
    assert durations.go_duration(seconds) == text
    assert durations.parse_seconds(text.strip('"')) == seconds
