"""Properties of the double's patch code that the no-op-write rule relies on (needs hypothesis,
which only the newest-client environment installs)."""
import pytest

pytest.importorskip('hypothesis')

from hypothesis import given, settings, strategies as st  # noqa: E402  pylint: disable=wrong-import-position

from kube_double import patches  # noqa: E402  pylint: disable=wrong-import-position
from kube_double.core import parse_label_selector  # noqa: E402  pylint: disable=wrong-import-position

keys = st.sampled_from(['a', 'b', 'c', 'labels', 'env'])
scalars = st.one_of(st.integers(-3, 3), st.text('xyz', max_size=3), st.booleans())
values = st.recursive(scalars, lambda inner: st.dictionaries(keys, inner, max_size=3), max_leaves=8)
documents = st.dictionaries(keys, values, max_size=4)
patch_values = st.recursive(st.one_of(scalars, st.none()), lambda inner: st.dictionaries(keys, inner, max_size=3), max_leaves=8)
patch_documents = st.dictionaries(keys, patch_values, max_size=4)


@settings(max_examples=60, deadline=None)
@given(documents, patch_documents)
def test_merge_patch_is_idempotent(doc, patch):
    once = patches.merge_patch(doc, patch)
    assert patches.merge_patch(once, patch) == once


@settings(max_examples=60, deadline=None)
@given(documents, patch_documents)
def test_strategic_merge_is_idempotent_and_agrees_on_maps(doc, patch):
    once = patches.strategic_merge(doc, patch)
    assert patches.strategic_merge(once, patch) == once
    assert once == patches.merge_patch(doc, patch)   # without lists both patch kinds agree


@settings(max_examples=40, deadline=None)
@given(st.lists(st.fixed_dictionaries({'name': st.sampled_from(['x', 'y', 'z']), 'value': st.text('ab', max_size=2)}),
                max_size=4, unique_by=lambda e: e['name']),
       st.lists(st.fixed_dictionaries({'name': st.sampled_from(['x', 'y', 'z']), 'value': st.text('ab', max_size=2)}),
                max_size=3, unique_by=lambda e: e['name']))
def test_strategic_merge_lists_by_name(current, patch):
    doc = {'spec': {'containers': [{'name': 'c', 'env': current}]}}
    merged = patches.strategic_merge(doc, {'spec': {'containers': [{'name': 'c', 'env': patch}]}})
    env = {e['name']: e['value'] for e in merged['spec']['containers'][0]['env']}
    expected = {e['name']: e['value'] for e in current}
    expected.update({e['name']: e['value'] for e in patch})
    assert env == expected


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(['app', 'tier', 'team']), st.sampled_from(['a', 'b']), max_size=3),
       st.sampled_from(['app', 'tier', 'team']), st.sampled_from(['a', 'b']))
def test_label_selector_operators(labels, key, value):
    assert parse_label_selector('%s=%s' % (key, value))(labels) == (labels.get(key) == value)
    assert parse_label_selector('%s!=%s' % (key, value))(labels) == (labels.get(key) != value)
    assert parse_label_selector('%s in (%s,c)' % (key, value))(labels) == (labels.get(key) in (value, 'c'))
    assert parse_label_selector('%s notin (%s)' % (key, value))(labels) == (labels.get(key) != value)
    assert parse_label_selector(key)(labels) == (key in labels)
    assert parse_label_selector('!' + key)(labels) == (key not in labels)
