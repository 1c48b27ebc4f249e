"""Lists of objects item by item, whitespace-only texts, and tool ids as names (changes.items)."""

from __future__ import annotations

from reconciler.changes.diff import FieldChange
from reconciler.changes.items import item_changes, named_ids, named_path, whitespace_only
from reconciler.changes.refs import Pending

WEBHOOK = {"type": "webhook", "webhook": {"name": "lookup", "url": "https://a.example/v1", "method": "POST"}}


class TestItems:
    def test_a_new_tool_beside_a_changed_url_shows_both(self) -> None:
        after = [
            {"type": "webhook", "webhook": {"name": "lookup", "url": "https://a.example/v2"}},
            {"type": "function", "function": {"name": "check"}},
        ]
        items = item_changes([WEBHOOK], after)
        assert items is not None
        assert [(i.status, i.label) for i in items] == [("changed", 'webhook "lookup"'), ("added", 'function "check"')]
        assert items[0].fields == (FieldChange(("webhook", "url"), "https://a.example/v1", "https://a.example/v2"),)

    def test_server_defaults_inside_an_item_are_not_changes(self) -> None:
        """``method`` is only live: the manifest does not state it."""
        after = [{"type": "webhook", "webhook": {"name": "lookup", "url": "https://a.example/v1"}}, {"name": "x"}]
        items = item_changes([WEBHOOK], after)
        assert items is not None and [i.status for i in items] == ["added"]

    def test_rubric_items_match_by_name_wherever_they_are(self) -> None:
        before = [{"name": "polite", "criteria": "a"}, {"name": "limit", "criteria": "b"}, {"name": "gone"}]
        after = [{"name": "limit", "criteria": "c"}, {"name": "polite", "criteria": "a"}]
        items = item_changes(before, after)
        assert items is not None
        assert [(i.status, i.label, i.moved_from) for i in items] == [
            ("changed", '"limit"', 1),
            ("moved", '"polite"', 0),
            ("removed", '"gone"', None),
        ]
        assert items[0].note == "changed, moved from [1] to [0]"

    def test_flow_nodes_match_by_id_and_other_names_are_added_and_removed(self) -> None:
        items = item_changes(
            [{"id": "start", "text": "hi"}, {"id": "a"}], [{"id": "start", "text": "hello"}, {"id": "b"}]
        )
        assert items is not None
        assert [(i.status, i.label) for i in items] == [
            ("changed", 'id "start"'),
            ("added", 'id "b"'),
            ("removed", 'id "a"'),
        ]

    def test_lists_of_scalars_are_not_item_lists(self) -> None:
        assert item_changes(["a"], ["a", "b"]) is None

    def test_pending_ids_compare_as_text(self) -> None:
        after = [{"name": "billing", "id": Pending("Assistant", "billing")}]
        items = item_changes([{"name": "billing", "id": "assistant-1"}], after)
        assert items is not None and items[0].fields[0].after == "(known after apply: Assistant/billing)"


class TestWhitespace:
    def test_trailing_spaces(self) -> None:
        assert whitespace_only("a  \nb\n", "a\nb\n") == "whitespace only: trailing spaces on line 1"

    def test_line_endings(self) -> None:
        assert whitespace_only("a\r\nb\r\n", "a\nb\n") == "whitespace only: line endings CRLF -> LF"

    def test_final_newline(self) -> None:
        assert whitespace_only("a\nb", "a\nb\n") == "whitespace only: newline at the end added"

    def test_words_differ(self) -> None:
        assert whitespace_only("a b", "a c") is None
        assert whitespace_only("same", "same") is None


def test_tool_ids_read_as_the_manifest_names() -> None:
    assert named_path(("tool_ids",)) == ("shared_tools",)
    names = {"tool-1": "lookup-order"}
    assert named_ids(("tool_ids",), ["tool-1", "tool-9", Pending("Tool", "crm")], names) == [
        "lookup-order",
        "tool-9",
        "crm",
    ]


def test_assistant_and_server_ids_read_as_names() -> None:
    assert named_path(("tools", 0, "handoff", "ai_assistants", 1, "id")) == (
        "tools",
        0,
        "handoff",
        "ai_assistants",
        1,
        "assistant",
    )
    assert named_path(("mcp_servers", 0, "id")) == ("mcp_servers", 0, "server")
    assert named_path(("flow", "edges", 2, "target", "assistant_id")) == ("flow", "edges", 2, "target", "assistant")
    assert named_path(("tools", 0, "id")) == ("tools", 0, "id")  # an id the manifest also writes as an id
    names = {"assistant-1": "billing"}
    assert named_ids(("mcp_servers", 0, "id"), "server-9", names) == "server-9"
    assert named_ids(("handoff", "ai_assistants", 0, "id"), "assistant-1", names) == "billing"


def test_items_known_by_an_id_are_labelled_with_the_name() -> None:
    from reconciler.render.fieldview import field_view

    view = field_view(
        ("mcp_servers",),
        [{"id": "srv-1", "allowed_tools": ["a"]}],
        [{"id": "srv-1", "allowed_tools": ["a", "b"]}, {"id": Pending("McpServer", "crm2")}],
        {"srv-1": "crm"},
    )
    assert view.items is not None
    assert [(i.label, i.status) for i in view.items] == [('server "crm"', "changed"), ('server "crm2"', "added")]
