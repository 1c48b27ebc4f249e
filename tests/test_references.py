"""References by name: the exact list the engine resolves, and the checks that need the whole manifest set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import ManifestErrors
from reconciler.manifests.loader import load_resources
from reconciler.manifests.references import Reference, check_references, references
from reconciler.model import Resource, SourceMap

FLOW: dict[str, Any] = {
    "start_node_id": "ask",
    "nodes": [
        {"id": "ask", "instructions": "Ask.", "shared_tool_ids": ["tool-raw"], "shared_tools": ["lookup", "notes"]},
        {"id": "fetch", "type": "tool", "shared_tool": "lookup"},
        {"id": "raw", "type": "tool", "shared_tool_id": "tool-raw"},
        {"id": "bye", "type": "speak", "message": "Bye."},
        {"id": "typed", "type": "prompt", "instructions": "Again.", "shared_tools": ["notes"]},
    ],
    "edges": [
        {
            "id": "e1",
            "start_node_id": "ask",
            "condition": {"type": "default"},
            "target": {"type": "node", "node_id": "x"},
        },
        {
            "id": "e2",
            "start_node_id": "ask",
            "condition": {"type": "default"},
            "target": {"type": "assistant", "assistant": "billing"},
        },
        {
            "id": "e3",
            "start_node_id": "ask",
            "condition": {"type": "default"},
            "target": {"type": "assistant", "assistant_id": "assistant-raw"},
        },
    ],
}

ASSISTANT: dict[str, Any] = {
    "instructions": "Hi.",
    "mcp_servers": [{"id": "mcp-raw"}, {"server": "crm", "allowed_tools": ["get"]}],
    "tools": [
        {"type": "hangup", "hangup": {}},
        {
            "type": "handoff",
            "handoff": {"ai_assistants": [{"assistant": "billing"}, {"id": "a-1", "name": "Raw"}, {"assistant": "me"}]},
        },
    ],
    "shared_tools": ["lookup", "notes"],
    "tool_ids": ["tool-raw"],
    "conversation_flow": FLOW,
}


class TestReferences:
    def test_every_assistant_form_in_document_order(self) -> None:
        """Keys in the order written (mcp_servers before tools before shared_tools here); raw ids are not references."""
        assert references("Assistant", ASSISTANT) == [
            Reference(("mcp_servers", 1, "server"), "McpServer", "crm"),
            Reference(("tools", 1, "handoff", "ai_assistants", 0, "assistant"), "Assistant", "billing"),
            Reference(("tools", 1, "handoff", "ai_assistants", 2, "assistant"), "Assistant", "me"),
            Reference(("shared_tools", 0), "Tool", "lookup"),
            Reference(("shared_tools", 1), "Tool", "notes"),
            Reference(("conversation_flow", "nodes", 0, "shared_tools", 0), "Tool", "lookup"),
            Reference(("conversation_flow", "nodes", 0, "shared_tools", 1), "Tool", "notes"),
            Reference(("conversation_flow", "nodes", 1, "shared_tool"), "Tool", "lookup"),
            Reference(("conversation_flow", "nodes", 4, "shared_tools", 0), "Tool", "notes"),
            Reference(("conversation_flow", "edges", 1, "target", "assistant"), "Assistant", "billing"),
        ]

    def test_flow_order_follows_the_flow_mapping(self) -> None:
        """Edges written before nodes are listed first."""
        flow = {"edges": FLOW["edges"][1:2], "nodes": FLOW["nodes"][1:2]}
        assert references("Assistant", {"conversation_flow": flow}) == [
            Reference(("conversation_flow", "edges", 0, "target", "assistant"), "Assistant", "billing"),
            Reference(("conversation_flow", "nodes", 0, "shared_tool"), "Tool", "lookup"),
        ]

    def test_canary_lists_its_assistant_then_what_its_versions_reference(self) -> None:
        """Version names used by rules are internal to the document and never listed."""
        spec = {
            "assistant": "triage",
            "versions": {
                "short": {"instructions": "Brief."},
                "crm": {"mcp_servers": [{"server": "crm"}], "shared_tools": ["lookup"]},
            },
            "rules": [{"serve": {"version": "short"}}, {"serve": {"rollout": [{"version": "crm", "weight": 5}]}}],
        }
        assert references("CanaryDeploy", spec) == [
            Reference(("assistant",), "Assistant", "triage"),
            Reference(("versions", "crm", "mcp_servers", 0, "server"), "McpServer", "crm"),
            Reference(("versions", "crm", "shared_tools", 0), "Tool", "lookup"),
        ]

    @pytest.mark.parametrize(
        ("kind", "spec"),
        [
            ("Tool", {"type": "handoff", "handoff": {"ai_assistants": [{"id": "a", "name": "A"}]}}),
            ("McpServer", {"type": "http", "url": "https://m"}),
            ("Assistant", {"instructions": "Hi."}),
        ],
    )
    def test_kinds_without_references(self, kind: str, spec: dict[str, Any]) -> None:
        assert references(kind, spec) == []

    def test_wrong_shapes_are_skipped_not_raised(self) -> None:
        """Safe on a spec that failed validation: only well-formed names count."""
        spec = {
            "shared_tools": "lookup",
            "mcp_servers": [{"server": 3}, "crm"],
            "tools": [
                {"type": "handoff", "handoff": None},
                {"type": "webhook", "handoff": {"ai_assistants": [{"assistant": "x"}]}},
            ],
            "conversation_flow": {
                "nodes": [{"type": "speak", "shared_tools": ["t"]}, {"type": "tool", "shared_tools": ["t"]}],
                "edges": [{"target": {"type": "node", "assistant": "x"}}, {"target": "x"}],
            },
        }
        assert references("Assistant", spec) == []
        assert references("CanaryDeploy", {"assistant": 5, "versions": {"v": None}}) == []


def resource(kind: str, name: str, spec: dict[str, Any], line: int = 1) -> Resource:
    lines = {(): line, ("spec",): line + 3}
    return Resource(kind=kind, name=name, spec=spec, file="m.yaml", line=line, source=SourceMap("m.yaml", lines))


class TestCheckReferences:
    def test_a_name_defined_by_a_broken_document_is_not_unknown(self) -> None:
        """The broken document reports its own problems; the reference to it is not noise on top."""
        assistant = resource("Assistant", "a", {"instructions": "Hi.", "shared_tools": ["broken", "gone"]})
        assert [str(p) for p in check_references([assistant], {("Assistant", "a"), ("Tool", "broken")})] == [
            "m.yaml:4: Assistant/a: spec.shared_tools[1]: no Tool named 'gone' in the manifests"
        ]

    def test_names_of_another_kind_do_not_count(self) -> None:
        assistant = resource("Assistant", "a", {"instructions": "Hi.", "mcp_servers": [{"server": "crm"}]})
        assert [str(p) for p in check_references([assistant], {("Assistant", "a"), ("Tool", "crm")})] == [
            "m.yaml:4: Assistant/a: spec.mcp_servers[0].server: no McpServer named 'crm' in the manifests"
        ]

    def test_handing_off_to_itself_is_allowed(self) -> None:
        spec = {
            "instructions": "Hi.",
            "tools": [{"type": "handoff", "handoff": {"ai_assistants": [{"assistant": "a"}]}}],
        }
        assert check_references([resource("Assistant", "a", spec)], {("Assistant", "a")}) == []

    def test_canary_weights_just_under_100_and_main_in_a_rollout(self) -> None:
        """Fractions that sum below 100 pass; main may be named explicitly; a single version pin has no sum."""
        spec = {
            "assistant": "a",
            "versions": {"v": {}},
            "rules": [
                {"serve": {"rollout": [{"version": "v", "weight": 33.3}, {"version": "main", "weight": 66.6}]}},
                {"serve": {"version": "main"}},
            ],
        }
        canary = resource("CanaryDeploy", "c", spec)
        assert check_references([canary], {("Assistant", "a"), ("CanaryDeploy", "c")}) == []

    def test_fractional_sum_reaching_100_is_refused(self) -> None:
        spec = {
            "assistant": "a",
            "versions": {"v": {}, "w": {}},
            "rules": [{"serve": {"rollout": [{"version": "v", "weight": 0.1}, {"version": "w", "weight": 99.9}]}}],
        }
        problems = check_references([resource("CanaryDeploy", "c", spec)], {("Assistant", "a")})
        assert [str(p) for p in problems] == [
            "m.yaml:4: CanaryDeploy/c: spec.rules[0].serve.rollout: rollout weights sum to 100; "
            "they must sum to less than 100 (main serves the rest)"
        ]


def test_reference_problems_come_with_schema_problems_sorted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One run reports a schema error of one document and an unknown name in another, in file order."""
    (tmp_path / "a.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Tool\nname: t\nspec:\n  type: hangup\n  hangup: 3\n", encoding="utf-8"
    )
    (tmp_path / "b.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Assistant\nname: b\nspec:\n  instructions: Hi.\n  shared_tools: [t, u]\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ManifestErrors) as caught:
        load_resources(["a.yaml", "b.yaml"], {})
    assert [str(p) for p in caught.value.problems] == [
        "a.yaml:6: Tool/t: spec.hangup: 3 is not of type 'object'",
        "b.yaml:6: Assistant/b: spec.shared_tools[1]: no Tool named 'u' in the manifests",
    ]
