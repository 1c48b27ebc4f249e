"""The manifest JSON Schemas: generated faithfully, shaped for good errors, and their validator's messages."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from reconciler.model import SourceMap
from reconciler.schema import all_schemas, manifest_kinds, manifest_schema, validate_document

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
        not (REPO / "reconciler" / "api_schema.json").exists(), reason="no derived API schema"
    )
    def test_committed_schemas_equal_a_fresh_build(self) -> None:
        """Re-run scripts/build_manifest_schemas.py when this fails: the API schema moved on."""
        script = build_script()
        for filename, schema in script.build_all().items():
            committed = (REPO / "reconciler" / "schemas" / filename).read_text(encoding="utf-8")
            assert committed == script.render(schema), filename

    def test_schemas_directory_at_the_root_is_the_packaged_one(self) -> None:
        assert (REPO / "schemas").resolve() == (REPO / "reconciler" / "schemas").resolve()

    def test_schema_is_valid_draft_2020_12(self) -> None:
        Draft202012Validator.check_schema(manifest_schema("Assistant"))

    def test_kinds_and_all_schemas(self) -> None:
        assert manifest_kinds() == ["Assistant"]
        assert all_schemas() == {"Assistant": manifest_schema("Assistant")}

    def test_manifest_schema_returns_a_copy(self) -> None:
        manifest_schema("Assistant")["properties"].clear()
        assert "spec" in manifest_schema("Assistant")["properties"]

    def test_unknown_kind_is_a_key_error(self) -> None:
        with pytest.raises(KeyError, match="no schema for kind 'Tool'"):
            manifest_schema("Tool")


class TestShape:
    schema = manifest_schema("Assistant")
    spec = schema["properties"]["spec"]

    def test_envelope_and_spec_are_closed(self) -> None:
        assert self.schema["additionalProperties"] is False
        assert self.spec["additionalProperties"] is False
        assert self.schema["required"] == ["apiVersion", "kind", "name", "spec"]
        assert self.spec["required"] == ["instructions"]

    def test_spec_leaves_out_tool_ids_and_refuses_name(self) -> None:
        assert "tool_ids" not in self.spec["properties"]
        assert self.spec["properties"]["name"]["not"] == {}

    def test_every_envelope_and_spec_field_has_our_description(self) -> None:
        undocumented = [k for k, v in self.schema["properties"].items() if not v.get("description")]
        undocumented += [
            k for k, v in self.spec["properties"].items() if k != "name" and not v.get("description")
        ]
        assert undocumented == []

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
        from reconciler.manifest import load_resources

        (resource,) = load_resources([str(GOOD / "support.yaml")], {"ORDERS_TOKEN": "t"})
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

    def test_schema_file_is_json_with_sorted_keys(self) -> None:
        text = (REPO / "reconciler" / "schemas" / "assistant.schema.json").read_text(encoding="utf-8")
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_reference_page_example_validates(tmp_path: Path) -> None:
    """The complete example in docs/reference/assistant.md is a valid manifest."""
    from reconciler.manifest import load_resources

    page = (REPO / "docs" / "reference" / "assistant.md").read_text(encoding="utf-8")
    example = page.split("## Complete example", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "example.yaml").write_text(example, encoding="utf-8")
    environ = {"ORDERS_HOST": "api.example.com", "ORDERS_TOKEN": "t"}
    (resource,) = load_resources([str(tmp_path / "example.yaml")], environ)
    assert resource.spec["tools"][0]["webhook"]["url"] == "https://api.example.com/orders/{order_id}"
