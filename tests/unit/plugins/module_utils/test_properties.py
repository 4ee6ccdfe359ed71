"""Property tests (hypothesis) for duration parsing and object-name validation.

The oracle for names is written from kube-apiserver's rules (k8s.io/apimachinery
pkg/util/validation: IsDNS1123Subdomain, IsDNS1123Label), independently of object_names.py.
"""
import json
import re
import string

import pytest

hypothesis = pytest.importorskip('hypothesis')
from hypothesis import assume, example, given, settings, strategies as st  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.mcp.k8s.plugins.module_utils import durations, object_names, tokens  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError  # noqa: E402  pylint: disable=wrong-import-position

SETTINGS = settings(max_examples=300, deadline=None, database=None)

UNIT_SECONDS = {'h': 3600, 'm': 60, 's': 1}
SUB_SECOND = {'ms': 10 ** 3, 'us': 10 ** 6, '\u00b5s': 10 ** 6, 'ns': 10 ** 9}


def one_sentence(message, *values):
    """A single sentence: ends with a period, no sentence break inside, one line (the quoted
    input ``values`` aside, which may hold anything)."""
    for value in values:
        text = str(value)
        shown = text if len(text) <= 40 else text[:20] + '...' + text[-8:]
        message = message.replace('"%s"' % shown, '""', 1) if isinstance(value, str) else message.replace(shown, '', 1)
    return message.endswith('.') and '\n' not in message and '. ' not in message


# ---------------------------------------------------------------- durations

def go_duration(seconds):
    """``5400`` -> ``1h30m0s``, as Go prints durations (time.Duration.String for whole seconds)."""
    seconds = int(seconds)
    sign = '-' if seconds < 0 else ''
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return '%s%dh%dm%ds' % (sign, hours, minutes, secs)
    if minutes:
        return '%s%dm%ds' % (sign, minutes, secs)
    return '%s%ds' % (sign, secs)


@SETTINGS
@given(st.integers(min_value=-durations.MAX_GO_SECONDS, max_value=durations.MAX_GO_SECONDS))
def test_go_formatted_seconds_round_trip(seconds):
    assert durations.parse_seconds(go_duration(seconds)) == seconds


@SETTINGS
@given(st.lists(st.tuples(st.integers(min_value=0, max_value=10 ** 5), st.sampled_from(sorted(UNIT_SECONDS))),
                min_size=1, max_size=5),
       st.sampled_from(['', '+', '-']))
def test_kubectl_syntax_sums_its_parts(parts, sign):
    text = sign + ''.join('%d%s' % (number, unit) for number, unit in parts)
    total = sum(number * UNIT_SECONDS[unit] for number, unit in parts)
    assert durations.parse_seconds(text) == (-total if sign == '-' else total)


@SETTINGS
@given(st.integers(min_value=0, max_value=10 ** 9), st.sampled_from(sorted(SUB_SECOND)))
def test_sub_second_units_must_add_up_to_whole_seconds(number, unit):
    text = '%d%s' % (number, unit)
    if number % SUB_SECOND[unit] == 0:
        assert durations.parse_seconds(text) == number // SUB_SECOND[unit]
    else:
        with pytest.raises(K8sTokenError) as info:
            durations.parse_seconds(text)
        assert 'whole seconds' in info.value.message and one_sentence(info.value.message, text)


@SETTINGS
@given(st.integers(min_value=0, max_value=2 ** 33), st.sampled_from(['int', 'digits', 'go']))
def test_token_duration_bounds(seconds, form):
    value = {'int': seconds, 'digits': str(seconds), 'go': go_duration(seconds)}[form]
    if durations.MIN_TOKEN_SECONDS <= seconds <= durations.MAX_TOKEN_SECONDS:
        assert durations.token_duration(value) == seconds
    else:
        with pytest.raises(K8sTokenError) as info:
            durations.token_duration(value)
        assert one_sentence(info.value.message)
        assert ('below the minimum' if seconds < 600 else 'above the maximum') in info.value.message


@SETTINGS
@given(st.text(max_size=30))
@example('٣٠٠٠')           # Arabic-Indic digits: Go's ParseDuration reads ASCII digits only
@example('１h')             # a fullwidth digit
@example('9' * 5000)       # more digits than Python converts to int by default
@example('9' * 5000 + 's')
@example('-')
@example('+')
@example('.s')
@example('1e3s')
@example('1h 30m')
def test_any_text_parses_or_fails_with_one_sentence(text):
    """Whatever the text, the parser answers whole seconds or one K8sTokenError sentence,
    and what it accepts is ASCII, as kubectl's Go parser requires."""
    try:
        seconds = durations.parse_seconds(text)
    except K8sTokenError as exc:
        assert one_sentence(exc.message, text.strip()), exc.message
        assert len(exc.message) < 400
        return
    assert isinstance(seconds, int)
    assert all(ord(char) < 128 for char in text.strip()), text


@SETTINGS
@given(st.text(alphabet=string.ascii_letters + string.digits + '.+-', max_size=12))
def test_accepted_text_is_kubectl_syntax(text):
    """An accepted string is an integer or a sequence of number+unit, as Go's ParseDuration reads."""
    try:
        durations.parse_seconds(text)
    except K8sTokenError:
        return
    go = r'[+-]?((\d+\.?\d*|\.\d+)(ns|us|ms|s|m|h))+'
    assert re.fullmatch(r'[+-]?\d+', text.strip()) or re.fullmatch(go, text.strip()) or text.strip() in ('0', '+0', '-0')


@SETTINGS
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_floats_are_whole_seconds_or_rejected(value):
    try:
        seconds = durations.parse_seconds(value)
    except K8sTokenError as exc:
        assert one_sentence(exc.message, value), exc.message
        return
    assert seconds == value


# ---------------------------------------------------------------- names

SUBDOMAIN = re.compile(r'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')
LABEL = re.compile(r'[a-z0-9]([-a-z0-9]*[a-z0-9])?')


def kube_subdomain(value):
    """IsDNS1123Subdomain: at most 253 characters matching dns1123SubdomainFmt."""
    return len(value) <= 253 and SUBDOMAIN.fullmatch(value) is not None


def kube_label(value):
    """IsDNS1123Label: at most 63 characters matching dns1123LabelFmt."""
    return len(value) <= 63 and LABEL.fullmatch(value) is not None


label_strategy = st.from_regex(r'\A[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?\Z')
subdomain_strategy = st.lists(label_strategy, min_size=1, max_size=6).map('.'.join)
name_like = st.text(alphabet='abcxyz019-._AZ/: ', max_size=70)


@SETTINGS
@given(subdomain_strategy)
def test_valid_service_account_names_pass(name):
    assume(len(name) <= 253)
    assert object_names.check_name(name) == name
    assert tokens.TokenSpec(name, 'mcp').name == name


@SETTINGS
@given(name_like)
@example('Server')
@example('my_sa')
@example('a' * 254)
@example('-a')
@example('a-')
@example('a..b')
@example('a.-b')
def test_service_account_names_as_the_api_server_validates_them(name):
    if kube_subdomain(name):
        assert object_names.check_name(name) == name
        return
    with pytest.raises(K8sTokenError) as info:
        object_names.check_name(name)
    message = info.value.message
    assert one_sentence(message, name), message
    assert message.startswith('name "') and 'ServiceAccount name' in message
    assert len(message) < 300


@SETTINGS
@given(st.integers(min_value=1, max_value=600))
def test_name_length_limit(length):
    name = ('a.' * length)[:length].rstrip('.') or 'a'
    name = name + 'a' * (length - len(name))
    assert len(name) == length
    assert (length <= 253) == object_names.is_dns1123_subdomain(name)


@SETTINGS
@given(name_like)
@example('Team')
@example('a.b')
@example('a' * 64)
@example('a' * 63)
def test_namespace_names_are_dns_labels(namespace):
    if kube_label(namespace):
        assert object_names.check_namespace(namespace) == namespace
        return
    with pytest.raises(K8sTokenError) as info:
        object_names.check_namespace(namespace)
    assert one_sentence(info.value.message, namespace) and info.value.message.startswith('namespace "')


@SETTINGS
@given(name_like, name_like)
def test_a_bad_name_fails_before_any_request(name, namespace):
    """TokenSpec (the module's and the lookup's first step) refuses what the API server would."""
    assume(name.strip() and namespace.strip())
    valid = kube_subdomain(name.strip()) and kube_label(namespace.strip())
    try:
        tokens.TokenSpec(name, namespace)
    except K8sTokenError as exc:
        assert not valid and one_sentence(exc.message, name.strip(), namespace.strip()), exc.message
    else:
        assert valid


@pytest.mark.parametrize('length, whole', [(40, True), (41, False)])
def test_a_bad_name_is_shown_whole_up_to_40_characters(length, whole):
    bad = 'A' * (length - 1) + '_'
    with pytest.raises(K8sTokenError) as raised:
        object_names.check_name(bad)
    assert (json.dumps(bad) in str(raised.value)) is whole
    if not whole:
        assert '"%s...%s"' % (bad[:20], bad[-8:]) in str(raised.value)


@pytest.mark.parametrize('length', [64, 200])
def test_a_namespace_name_too_long_says_how_long(length):
    with pytest.raises(K8sTokenError) as raised:
        object_names.check_namespace('a' * length)
    assert 'has %d characters, more than the 63 a namespace name may have; use a shorter name.' % length in str(raised.value)
    assert object_names.check_namespace('a' * 63) == 'a' * 63
