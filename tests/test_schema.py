"""The manifest JSON Schemas: generated faithfully, shaped for good errors, and their validator's messages."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from reconciler.manifests.schema import all_schemas, manifest_kinds, manifest_schema, validate_document
from reconciler.model import SourceMap

REPO = Path(__file__).resolve().parent.parent
GOOD = Path(__file__).parent / "data" / "good"


def build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_manifest_schemas", REPO / "scripts/build_manifest_schemas.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check(document: dict[str, Any], lines: dict[tuple[str | int, ...], int] | None = None) -> list[str]:
    """Problem lines for one Assistant document, located with the given line table."""
    source = SourceMap(file="m.yaml", lines=lines or {(): 1})
    return [str(p) for p in validate_document(document, "Assistant", source, document.get("name"))]


def assistant(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "reconciler/v1",
        "kind": "Assistant",
        "name": "a",
        "spec": {"instructions": "Hi.", **spec},
    }


class TestGeneratedFiles:
    @pytest.mark.skipif(
        not (REPO / "reconciler" / "api" / "api_schema.json").exists(), reason="no derived API schema"
    )
    def test_committed_schemas_equal_a_fresh_build(self) -> None:
        """Re-run scripts/build_manifest_schemas.py when this fails: the API schema moved on."""
        script = build_script()
        for filename, schema in script.build_all().items():
            committed = (REPO / "reconciler" / "schemas" / filename).read_text(encoding="utf-8")
            assert committed == script.render(schema), filename

    def test_schemas_directory_at_the_root_is_the_packaged_one(self) -> None:
        assert (REPO / "schemas").resolve() == (REPO / "reconciler" / "schemas").resolve()

    @pytest.mark.parametrize("kind", ["Assistant", "Tool", "McpServer", "CanaryDeploy", "AssistantTest"])
    def test_schema_is_valid_draft_2020_12(self, kind: str) -> None:
        Draft202012Validator.check_schema(manifest_schema(kind))

    def test_kinds_and_all_schemas(self) -> None:
        """Every kind of the contract has a schema, listed in the contract's order."""
        assert manifest_kinds() == ["Assistant", "Tool", "McpServer", "CanaryDeploy", "AssistantTest"]
        assert all_schemas() == {kind: manifest_schema(kind) for kind in manifest_kinds()}

    @pytest.mark.parametrize("kind", ["Assistant", "Tool", "McpServer", "CanaryDeploy", "AssistantTest"])
    def test_envelope_and_top_level_spec_fields_have_our_descriptions(self, kind: str) -> None:
        schema = manifest_schema(kind)
        spec = schema["properties"]["spec"]
        undocumented = [k for k, v in schema["properties"].items() if not v.get("description")]
        undocumented += [k for k, v in spec["properties"].items() if "not" not in v and not v.get("description")]
        assert (schema["properties"]["kind"]["const"], undocumented) == (kind, [])
        assert spec["description"]

    def test_manifest_schema_returns_a_copy(self) -> None:
        manifest_schema("Assistant")["properties"].clear()
        assert "spec" in manifest_schema("Assistant")["properties"]

    def test_unknown_kind_is_a_key_error(self) -> None:
        with pytest.raises(KeyError, match="no schema for kind 'Widget'"):
            manifest_schema("Widget")


class TestShape:
    schema = manifest_schema("Assistant")
    spec = schema["properties"]["spec"]

    def test_envelope_and_spec_are_closed(self) -> None:
        assert self.schema["additionalProperties"] is False
        assert self.spec["additionalProperties"] is False
        assert self.schema["required"] == ["apiVersion", "kind", "name", "spec"]
        assert self.spec["required"] == ["instructions"]

    def test_spec_keeps_raw_tool_ids_next_to_shared_tools_and_refuses_name(self) -> None:
        props = self.spec["properties"]
        assert props["tool_ids"]["items"] == {"type": "string"}
        assert props["shared_tools"]["uniqueItems"] is True
        assert props["name"]["not"] == {}

    def test_inline_tools_are_a_discriminated_union(self) -> None:
        """One `if type == X then <X>` per allowed type, and no oneOf left at the tool level."""
        tool = self.schema["$defs"]["InlineTool"]
        types = tool["properties"]["type"]["enum"]
        assert [rule["if"]["properties"]["type"]["const"] for rule in tool["allOf"]] == types
        assert {"function", "webhook", "transfer", "hangup", "handoff", "refer"} <= set(types)
        assert "oneOf" not in tool

    def test_build_refuses_a_new_field_without_a_description(self) -> None:
        script = build_script()
        request = {
            "properties": {"instructions": {"type": "string"}, "shiny": {"type": "string"}, "tools": {}},
            "required": ["instructions"],
        }
        with pytest.raises(ValueError, match="write a description in SPEC_FIELDS for: shiny"):
            script.build_assistant_schema(request)

    def test_inline_tool_schema_from_a_small_union(self) -> None:
        script = build_script()
        union = {"oneOf": [{"$ref": "#/$defs/B"}, {"properties": {"type": {"const": "a"}}}]}
        defs = {"B": {"properties": {"type": {"enum": ["b"]}}}}
        assert script.inline_tool_schema(union, defs) == {
            "type": "object",
            "required": ["type"],
            "properties": {"type": {"enum": ["a", "b"], "description": "Which tool this is."}},
            "allOf": [
                {
                    "if": {"properties": {"type": {"const": "a"}}, "required": ["type"]},
                    "then": {"properties": {"type": {"const": "a"}}},
                },
                {
                    "if": {"properties": {"type": {"const": "b"}}, "required": ["type"]},
                    "then": {"$ref": "#/$defs/B"},
                },
            ],
        }


class TestValidation:
    def test_realistic_assistant_validates_clean(self) -> None:
        """Voice, transcription, telephony, dynamic variables and four kinds of tools: no complaints."""
        from reconciler.manifests.loader import load_resources

        (resource,) = load_resources([str(GOOD / "support.yaml")], {"ORDERS_TOKEN": "t0ken"})
        document = {
            "apiVersion": "reconciler/v1",
            "kind": "Assistant",
            "name": resource.name,
            "spec": resource.spec,
        }
        assert check(document) == []
        assert [tool["type"] for tool in resource.spec["tools"]] == [
            "webhook",
            "transfer",
            "hangup",
            "function",
        ]

    def test_unknown_fields_are_named_at_their_own_line(self) -> None:
        document = {**assistant(modle="x"), "metadata": {}}
        lines = {(): 1, ("metadata",): 2, ("spec",): 3, ("spec", "modle"): 5}
        assert check(document, lines) == [
            "m.yaml:2: Assistant/a: $: unknown field 'metadata'",
            "m.yaml:5: Assistant/a: spec: unknown field 'modle' (did you mean 'model'?)",
        ]

    def test_tool_errors_come_from_the_branch_of_its_type(self) -> None:
        document = assistant(
            tools=[
                {"type": "webhook", "webhook": {"name": "n", "description": "d"}},
                {"type": "transfer", "transfer": {"targets": [{"name": "desk"}], "from": "+1"}},
                {"type": "hangout"},
                {"hangup": {}},
            ]
        )
        lines = {(): 1, ("spec", "tools", 0, "webhook"): 7, ("spec", "tools", 1): 8, ("spec", "tools", 2): 9}
        lines[("spec", "tools", 3)] = 10
        assert check(document, lines) == [
            "m.yaml:7: Assistant/a: spec.tools[0].webhook: 'url' is a required property",
            "m.yaml:8: Assistant/a: spec.tools[1].transfer.targets[0]: 'to' is a required property",
            "m.yaml:9: Assistant/a: spec.tools[2].type: 'hangout' is not one of 'client_side_tool', "
            "'function', 'handoff', 'hangup', 'invite', 'pay', ... (15 values) (did you mean 'hangup'?)",
            "m.yaml:10: Assistant/a: spec.tools[3]: 'type' is a required property",
        ]

    def test_envelope_values(self) -> None:
        document = {"apiVersion": "reconciler/v1", "kind": "Assistant", "name": "x\ty ", "spec": "text"}
        assert check(document) == [
            "m.yaml:1: Assistant/x\ty : name: must not contain control characters (tabs, newlines, ...)",
            "m.yaml:1: Assistant/x\ty : name: must not start or end with whitespace",
            "m.yaml:1: Assistant/x\ty : spec: 'text' is not of type 'object'",
        ]

    def test_a_trailing_newline_in_the_name_is_caught(self) -> None:
        """Python's `$` matches before a final newline; the name rules must not rely on it."""
        assert check({**assistant(), "name": "bot\n"}) == [
            "m.yaml:1: Assistant/bot\n: name: must not contain control characters (tabs, newlines, ...)",
            "m.yaml:1: Assistant/bot\n: name: must not start or end with whitespace",
        ]

    def test_name_length_limit(self) -> None:
        assert check({**assistant(), "name": "n" * 255}) == []
        assert check({**assistant(), "name": "n" * 256}) == [
            f"m.yaml:1: Assistant/{'n' * 256}: name: is longer than 255 characters"
        ]

    def test_vendor_unions_report_the_closest_branch(self) -> None:
        """background_audio is a vendor oneOf: the message names the field that is wrong, not the union."""
        document = assistant(
            voice_settings={"voice": "v", "background_audio": {"type": "predefined_media", "value": 5}}
        )
        (problem,) = check(document)
        assert problem.startswith("m.yaml:1: Assistant/a: spec.voice_settings.background_audio")
        assert "any of the given schemas" not in problem

    def test_union_of_types_lists_every_type_when_none_matches(self) -> None:
        document = assistant(tools=[{"type": "transfer", "transfer": {"targets": 5}}])
        assert check(document) == [
            "m.yaml:1: Assistant/a: spec.tools[0].transfer.targets: 5 is not of type 'array' or 'string'"
        ]

    def test_null_and_booleans_are_shown_as_yaml_writes_them(self) -> None:
        assert check(assistant(greeting=None, tags=True)) == [
            "m.yaml:1: Assistant/a: spec.greeting: null is not of type 'string'",
            "m.yaml:1: Assistant/a: spec.tags: true is not of type 'array'",
        ]

    def test_const_mismatch_says_what_is_expected(self) -> None:
        assert check({**assistant(), "apiVersion": "v1"}) == [
            "m.yaml:1: Assistant/a: apiVersion: must be 'reconciler/v1', got 'v1'"
        ]

    @pytest.mark.parametrize(
        "filename",
        ["assistant.schema.json", "tool.schema.json", "mcp-server.schema.json", "canary-deploy.schema.json"],
    )
    def test_schema_file_is_json_with_sorted_keys(self, filename: str) -> None:
        text = (REPO / "reconciler" / "schemas" / filename).read_text(encoding="utf-8")
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def yaml_blocks(page: str, after: str) -> list[str]:
    """The ```yaml blocks of a reference page that follow the heading ``after``."""
    text = (REPO / "docs" / "reference" / page).read_text(encoding="utf-8").split(after, 1)[1]
    return [block.split("```", 1)[0] for block in text.split("```yaml\n")[1:]]


def test_reference_page_examples_validate_together(tmp_path: Path) -> None:
    """The examples of the four reference pages form one valid manifest set: their references resolve."""
    from reconciler.manifests.loader import load_resources

    examples = {
        "assistant.yaml": yaml_blocks("assistant.md", "## Complete example")[0],
        "tool.yaml": yaml_blocks("tool.md", "## Example")[0],
        "mcp-server.yaml": yaml_blocks("mcp-server.md", "## Example")[0],
        "canary.yaml": yaml_blocks("canary-deploy.md", "## Example")[0],
    }
    for filename, example in examples.items():
        (tmp_path / filename).write_text(example, encoding="utf-8")
    environ = {"ORDERS_HOST": "api.example.com", "ORDERS_TOKEN": "t0ken"}
    loaded = load_resources([str(tmp_path)], environ)
    assert [r.address for r in loaded] == [
        "Assistant/support-triage",
        "CanaryDeploy/triage-canary",
        "McpServer/crm",
        "Tool/lookup-order",
    ]
    assert loaded[0].spec["tools"][0]["webhook"]["url"] == "https://api.example.com/orders/{order_id}"


def test_assistant_reference_section_example_is_a_valid_spec() -> None:
    """The spec shown under "References by name" uses every form and passes the schema."""
    import yaml

    block = yaml_blocks("assistant.md", "## References by name")[0]
    spec = yaml.safe_load(block)["spec"]
    assert check_kind("Assistant", spec) == []


def check_kind(kind: str, spec: Any, lines: dict[tuple[str | int, ...], int] | None = None) -> list[str]:
    """Problem lines for one document of any kind, named `x`."""
    document = {"apiVersion": "reconciler/v1", "kind": kind, "name": "x", "spec": spec}
    source = SourceMap(file="m.yaml", lines=lines or {(): 1})
    return [str(p) for p in validate_document(document, kind, source, "x")]


class TestToolSchema:
    def test_every_inline_type_is_a_shared_tool_type(self) -> None:
        """The same type names as inline tools, each with its payload key and a rule tying them together."""
        tool = manifest_schema("Tool")["properties"]["spec"]
        inline = manifest_schema("Assistant")["$defs"]["InlineTool"]["properties"]["type"]["enum"]
        assert tool["properties"]["type"]["enum"] == inline
        assert [rule["then"]["required"] for rule in tool["allOf"]] == [[t] for t in inline]
        assert tool["required"] == ["type"]
        assert tool["additionalProperties"] is False

    def test_payload_is_checked_like_the_inline_one(self) -> None:
        spec = {"type": "webhook", "timeout_ms": 5000, "webhook": {"name": "n", "description": "d"}}
        assert check_kind("Tool", spec) == ["m.yaml:1: Tool/x: spec.webhook: 'url' is a required property"]

    def test_shared_handoff_takes_raw_ids_only(self) -> None:
        """References by name exist only in Assistant documents; a shared tool is sent as written."""
        spec = {"type": "handoff", "handoff": {"ai_assistants": [{"assistant": "billing"}]}}
        assert check_kind("Tool", spec) == [
            "m.yaml:1: Tool/x: spec.handoff.ai_assistants[0]: 'id' is a required property",
            "m.yaml:1: Tool/x: spec.handoff.ai_assistants[0]: 'name' is a required property",
            "m.yaml:1: Tool/x: spec.handoff.ai_assistants[0]: unknown field 'assistant'",
        ]

    def test_every_type_validates_with_its_payload(self) -> None:
        spec = {"type": "send_dtmf", "send_dtmf": {}}
        assert check_kind("Tool", spec) == []
        assert check_kind("Tool", {"type": "hang_up"}) == [
            "m.yaml:1: Tool/x: spec.type: 'hang_up' is not one of 'client_side_tool', 'function', "
            "'handoff', 'hangup', 'invite', 'pay', ... (15 values) (did you mean 'hangup'?)"
        ]


class TestMcpServerSchema:
    def test_closed_create_request_without_name(self) -> None:
        spec = manifest_schema("McpServer")["properties"]["spec"]
        assert sorted(spec["properties"]) == ["allowed_tools", "api_key_ref", "name", "type", "url"]
        assert (spec["required"], spec["additionalProperties"]) == (["type", "url"], False)

    def test_nulls_allowed_where_the_api_allows_them(self) -> None:
        spec = {"type": "http", "url": "https://m", "api_key_ref": None, "allowed_tools": None}
        assert check_kind("McpServer", spec) == []
        assert check_kind("McpServer", {**spec, "name": "crm"}) == [
            "m.yaml:1: McpServer/x: spec.name: name belongs at the top level of the document, next to kind, "
            "not inside spec"
        ]


class TestAssistantReferenceShapes:
    def test_flow_targets_and_nodes_are_discriminated_on_type(self) -> None:
        """Errors come from the branch of the stated type (prompt when type is left out)."""
        flow = {
            "start_node_id": "a",
            "nodes": [{"id": "a"}, {"id": "b", "type": "speak"}, {"id": "c", "type": "tool", "shared_tool": "t"}],
            "edges": [
                {
                    "id": "e",
                    "start_node_id": "a",
                    "condition": {"type": "default"},
                    "target": {"type": "assistant", "assistant": "b", "assistant_id": "assistant-1"},
                },
                {"id": "f", "start_node_id": "a", "condition": {"type": "default"}, "target": {"type": "node"}},
            ],
        }
        assert check_kind("Assistant", {"instructions": "Hi.", "conversation_flow": flow}) == [
            "m.yaml:1: Assistant/x: spec.conversation_flow.edges[0].target: assistant and assistant_id both "
            "given; set only one (assistant names an Assistant document, assistant_id is a raw Telnyx id)",
            "m.yaml:1: Assistant/x: spec.conversation_flow.edges[1].target: 'node_id' is a required property",
            "m.yaml:1: Assistant/x: spec.conversation_flow.nodes[0]: 'instructions' is a required property",
            "m.yaml:1: Assistant/x: spec.conversation_flow.nodes[1]: 'message' is a required property",
        ]

    def test_duplicates_are_named_at_the_repeated_item(self) -> None:
        spec = {"instructions": "Hi.", "shared_tools": ["a", "b", "a", "b"]}
        lines = {(): 1, ("spec", "shared_tools", 2): 7, ("spec", "shared_tools", 3): 8}
        assert check_kind("Assistant", spec, lines) == [
            "m.yaml:7: Assistant/x: spec.shared_tools[2]: 'a' is listed twice (first at [0])",
            "m.yaml:8: Assistant/x: spec.shared_tools[3]: 'b' is listed twice (first at [1])",
        ]

    def test_a_reference_must_be_a_non_empty_string(self) -> None:
        spec = {"instructions": "Hi.", "shared_tools": [""], "mcp_servers": [{"server": 3}]}
        assert check_kind("Assistant", spec) == [
            "m.yaml:1: Assistant/x: spec.mcp_servers[0].server: 3 is not of type 'string'",
            "m.yaml:1: Assistant/x: spec.shared_tools[0]: must not be empty",
        ]


class TestCanaryDeploySchema:
    def spec(self, **changes: Any) -> dict[str, Any]:
        return {
            "assistant": "a",
            "versions": {"short": {"instructions": "Be brief."}},
            "rules": [{"serve": {"version": "short"}}],
            **changes,
        }

    def test_minimal_canary_is_valid_and_overrides_need_nothing(self) -> None:
        assert check_kind("CanaryDeploy", self.spec()) == []
        assert check_kind("CanaryDeploy", self.spec(versions={"warm": {"greeting": "Hello!"}})) == []

    def test_required_parts_and_empty_collections(self) -> None:
        assert check_kind("CanaryDeploy", {}) == [
            "m.yaml:1: CanaryDeploy/x: spec: 'assistant' is a required property",
            "m.yaml:1: CanaryDeploy/x: spec: 'versions' is a required property",
            "m.yaml:1: CanaryDeploy/x: spec: rules or promote is required (rules split traffic, promote makes a "
            "candidate main)",
        ]
        assert check_kind("CanaryDeploy", self.spec(versions={}, rules=[])) == [
            "m.yaml:1: CanaryDeploy/x: spec.rules: must not be empty",
            "m.yaml:1: CanaryDeploy/x: spec.versions: must have at least one entry",
        ]

    def test_version_names_are_judged_at_their_own_key(self) -> None:
        versions = {"main": {}, "v" * 51: {}, "ok": {"instructions": 5}}
        lines = {(): 1, ("spec", "versions"): 5, ("spec", "versions", "main"): 6, ("spec", "versions", "v" * 51): 7}
        lines[("spec", "versions", "ok", "instructions")] = 8
        assert check_kind("CanaryDeploy", self.spec(versions=versions), lines) == [
            "m.yaml:6: CanaryDeploy/x: spec.versions.main: 'main' is reserved for the assistant's main "
            "version; choose another name",
            f"m.yaml:7: CanaryDeploy/x: spec.versions.{'v' * 51}: is longer than 50 characters",
            "m.yaml:8: CanaryDeploy/x: spec.versions.ok.instructions: 5 is not of type 'string'",
        ]

    def test_rules_follow_the_api_with_version_names(self) -> None:
        rules = [
            {"match": [{"attribute": "caller_number", "operator": "equals", "values": []}], "serve": {}},
            {"serve": {"rollout": [{"version": "short", "weight": 100.5}, {"version_id": "v", "weight": 1}]}},
        ]
        assert check_kind("CanaryDeploy", self.spec(rules=rules)) == [
            "m.yaml:1: CanaryDeploy/x: spec.rules[0].match[0].operator: 'equals' is not one of 'in', "
            "'not_in', 'starts_with'",
            "m.yaml:1: CanaryDeploy/x: spec.rules[0].match[0].values: must not be empty",
            "m.yaml:1: CanaryDeploy/x: spec.rules[0].serve: version or rollout is required (version serves "
            "one version, rollout splits traffic)",
            "m.yaml:1: CanaryDeploy/x: spec.rules[1].serve.rollout[0].weight: 100.5 must be at most 100.0",
            "m.yaml:1: CanaryDeploy/x: spec.rules[1].serve.rollout[1]: 'version' is a required property",
            "m.yaml:1: CanaryDeploy/x: spec.rules[1].serve.rollout[1]: unknown field 'version_id' "
            "(did you mean 'version'?)",
        ]
