"""The stated-fields diff: what counts as a change and what never does."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from reconciler.changes import diff
from reconciler.changes.diff import FieldChange, changed_top_level_keys, removed, stated_differences


class TestOnlyStatedFieldsCount:
    def test_server_filled_fields_are_not_changes(self) -> None:
        """Live has extra keys at every depth; the manifest states none of them."""
        desired = {"name": "a", "telephony_settings": {"time_limit_secs": 60}}
        live = {
            "name": "a",
            "id": "assistant-1",
            "model": "server-default",
            "telephony_settings": {"time_limit_secs": 60, "default_texml_app_id": "texml-1"},
        }
        assert stated_differences(desired, live) == []

    def test_a_changed_nested_value_is_reported_at_its_path(self) -> None:
        desired = {"voice_settings": {"voice": "B", "voice_speed": 1.0}}
        live = {"voice_settings": {"voice": "A", "voice_speed": 1.0}}
        assert stated_differences(desired, live) == [FieldChange(("voice_settings", "voice"), "A", "B")]

    def test_a_stated_field_missing_live_is_a_change_from_none(self) -> None:
        assert stated_differences({"greeting": "hi"}, {}) == [FieldChange(("greeting",), None, "hi")]


class TestNullEqualsAbsent:
    def test_null_against_absent_is_equal(self) -> None:
        assert stated_differences({"description": None}, {}) == []

    def test_null_against_live_null_is_equal(self) -> None:
        assert stated_differences({"avatar_settings": None}, {"avatar_settings": None}) == []

    def test_stated_null_against_a_live_value_asks_to_clear_it(self) -> None:
        desired = {"voice_settings": {"tool_call_audio": None}}
        live = {"voice_settings": {"tool_call_audio": {"type": "predefined_media"}}}
        assert stated_differences(desired, live) == [
            FieldChange(("voice_settings", "tool_call_audio"), {"type": "predefined_media"}, None)
        ]

    @pytest.mark.parametrize("empty", [{}, []])
    def test_empty_containers_equal_absent(self, empty: Any) -> None:
        assert stated_differences({"dynamic_variables": empty}, {}) == []


class TestLists:
    def test_server_defaults_inside_list_items_are_not_changes(self) -> None:
        desired = {"tools": [{"type": "webhook", "webhook": {"name": "x", "url": "u"}}]}
        live = {"tools": [{"type": "webhook", "webhook": {"name": "x", "url": "u", "method": "POST"}}]}
        assert stated_differences(desired, live) == []

    def test_a_list_of_another_length_is_one_change_of_the_whole_list(self) -> None:
        desired = {"tags": ["a", "b"]}
        assert stated_differences(desired, {"tags": ["a"]}) == [FieldChange(("tags",), ["a"], ["a", "b"])]

    def test_items_are_compared_in_order(self) -> None:
        assert stated_differences({"tags": ["a", "b"]}, {"tags": ["b", "a"]}) == [
            FieldChange(("tags", 0), "b", "a"),
            FieldChange(("tags", 1), "a", "b"),
        ]


class TestScalars:
    def test_int_and_float_of_the_same_value_are_equal(self) -> None:
        assert stated_differences({"voice_speed": 1}, {"voice_speed": 1.0}) == []

    def test_bool_is_not_a_number(self) -> None:
        assert stated_differences({"x": 1}, {"x": True}) == [FieldChange(("x",), True, 1)]

    def test_string_and_number_differ(self) -> None:
        assert stated_differences({"x": "1"}, {"x": 1}) == [FieldChange(("x",), 1, "1")]


def test_changed_top_level_keys_keeps_first_seen_order() -> None:
    changes = [
        FieldChange(("voice_settings", "voice"), "a", "b"),
        FieldChange(("instructions",), "a", "b"),
        FieldChange(("voice_settings", "voice_speed"), 1, 2),
    ]
    assert changed_top_level_keys(changes) == ["voice_settings", "instructions"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=12,
)


@given(json_values)
def test_a_value_never_differs_from_itself(value: Any) -> None:
    assert stated_differences(value, value) == []


@given(st.dictionaries(st.text(max_size=3), json_values, max_size=4), st.dictionaries(
    st.text(max_size=3), json_values, max_size=4))
def test_extra_live_keys_never_matter(desired: dict[str, Any], extra: dict[str, Any]) -> None:
    """Adding keys the manifest does not state to the live side changes nothing."""
    live = {**extra, **desired}
    assert stated_differences(desired, live) == []


def test_removed_mirrors_leaves_with_the_value_before() -> None:
    """Deletes show what goes away in ``before``; ``after`` is always None (the JSON format's promise)."""
    assert removed({"rules": [{"serve": {"version_id": "v1"}}], "name": "x"}) == [
        FieldChange(("rules", 0, "serve", "version_id"), "v1", None),
        FieldChange(("name",), "x", None),
    ]


def _without_shortcuts(desired: Any, live: Any) -> list[FieldChange]:
    """The same function with its shortcuts for unchanged scalars turned off: the oracle."""
    with mock.patch.object(diff, "_PLAIN", ()):
        return stated_differences(desired, live)


look_alike = st.sampled_from([0, 1, 1.0, 0.0, True, False, "1", "", None, float("nan"), -0.0])
mixed_values = st.recursive(
    look_alike | json_values,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3),
    max_leaves=10,
)


def _swap_leaves(value: Any, draw: Any) -> Any:
    """``value`` with each scalar replaced by a look-alike or kept: the same keys, values that compare near."""
    if isinstance(value, dict):
        return {key: _swap_leaves(item, draw) for key, item in value.items()}
    if isinstance(value, list):
        return [_swap_leaves(item, draw) for item in value]
    return draw(st.one_of(st.just(value), look_alike))


@st.composite
def aligned_pairs(draw: Any) -> tuple[Any, Any]:
    desired = draw(mixed_values)
    return desired, _swap_leaves(desired, draw)


@given(aligned_pairs() | st.tuples(mixed_values, mixed_values))
@example(({"a": 1}, {"a": True}))
@example(({"a": True}, {"a": 1}))
@example(({"a": 1}, {"a": 1.0}))
@example(({"a": float("nan")}, {"a": float("nan")}))
@example(({"a": "1"}, {"a": 1}))
def test_the_shortcuts_for_unchanged_scalars_change_no_finding(pair: tuple[Any, Any]) -> None:
    """1 against True, 1 against 1.0, NaN against itself, "1" against 1: the same findings without them."""
    desired, live = pair
    assert repr(stated_differences(desired, live)) == repr(_without_shortcuts(desired, live))
