"""Tests for reconciler.api.api_schema and the committed api_schema.json it reads."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from reconciler.api.api_schema import component, validate_request

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "vendor" / "telnyx-openapi" / "ai-subset.json"


def _derive_module() -> ModuleType:
    path = ROOT / "scripts" / "derive_api_schema.py"
    spec = importlib.util.spec_from_file_location("derive_api_schema", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MINIMAL = {"name": "support", "instructions": "Help callers."}


class TestDerivation:
    def test_committed_file_equals_fresh_derivation(self) -> None:
        """The committed JSON is exactly what the script produces today: nobody edited it by hand."""
        derive = _derive_module()
        fresh = derive.render(derive.derive(json.loads(SOURCE.read_text(encoding="utf-8"))))
        assert (ROOT / "reconciler" / "api" / "api_schema.json").read_text(encoding="utf-8") == fresh

    def test_no_vendor_prose(self) -> None:
        """Descriptions, examples and titles are stripped; a *property* named description survives."""
        text = (ROOT / "reconciler" / "api" / "api_schema.json").read_text(encoding="utf-8")

        def walk(node: object) -> None:
            if isinstance(node, dict):
                for key, value in node.items():
                    if key in ("description", "title", "example", "examples"):
                        assert isinstance(value, dict), f"prose under {key!r}"
                    walk(value)
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        walk(json.loads(text))
        props = component("CreateAssistantRequest")["properties"]
        assert props["description"] == {"type": "string"}


class TestComponent:
    def test_self_contained_with_defs(self) -> None:
        """References point into $defs and every referenced definition is bundled."""
        schema = component("CreateAssistantRequest")
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["properties"]["voice_settings"] == {"$ref": "#/$defs/VoiceSettings"}
        text = json.dumps(schema)
        assert "#/components/schemas/" not in text
        for name in ("VoiceSettings", "FunctionTool", "AvatarSettings", "TranscriptionChallenger"):
            assert name in schema["$defs"]

    def test_returns_a_copy(self) -> None:
        """Callers may mutate what they get without poisoning the cache."""
        component("CreateAssistantRequest")["properties"].clear()
        assert "name" in component("CreateAssistantRequest")["properties"]

    def test_unknown_component(self) -> None:
        with pytest.raises(KeyError, match="NoSuchThing"):
            component("NoSuchThing")


class TestValidateRequest:
    def test_minimal_create_is_valid(self) -> None:
        assert validate_request("CreateAssistantRequest", MINIMAL) == []

    def test_wrong_type_gives_fastapi_entry(self) -> None:
        """A nested wrong type is reported with the full location under body."""
        body = {**MINIMAL, "telephony_settings": {"time_limit_secs": "long"}}
        assert validate_request("CreateAssistantRequest", body) == [
            {
                "loc": ["body", "telephony_settings", "time_limit_secs"],
                "msg": "Input should be a valid integer",
                "type": "int_type",
            }
        ]

    def test_missing_required_names_the_field(self) -> None:
        assert validate_request("CreateAssistantRequest", {"name": "x"}) == [
            {"loc": ["body", "instructions"], "msg": "Field required", "type": "missing"}
        ]

    def test_tool_errors_descend_into_the_tagged_member(self) -> None:
        """The tools union is discriminated by type: errors point inside the member the body meant."""
        body = {**MINIMAL, "tools": [{"type": "webhook", "webhook": {"name": "x", "url": "https://x"}}]}
        assert validate_request("CreateAssistantRequest", body) == [
            {
                "loc": ["body", "tools", 0, "webhook", "description"],
                "msg": "Field required",
                "type": "missing",
            }
        ]

    def test_unknown_tool_type(self) -> None:
        errors = validate_request("CreateAssistantRequest", {**MINIMAL, "tools": [{"type": "sip_refer"}]})
        assert [(e["loc"], e["type"]) for e in errors] == [(["body", "tools", 0], "union_tag_invalid")]

    def test_update_with_promotion(self) -> None:
        """The allOf wrapper is honoured: promote_to_main must be a boolean; everything else optional."""
        assert validate_request("UpdateAssistantRequestWithPromotion", {"promote_to_main": False}) == []
        assert validate_request("UpdateAssistantRequestWithPromotion", {"promote_to_main": "no"}) == [
            {
                "loc": ["body", "promote_to_main"],
                "msg": "Input should be a valid boolean",
                "type": "bool_type",
            }
        ]

    def test_unknown_top_level_properties_are_allowed(self) -> None:
        assert validate_request("CreateAssistantRequest", {**MINIMAL, "brand_new_field": 1}) == []

    def test_additional_properties_false_is_enforced(self) -> None:
        """store_fields_as_variables items forbid extra keys in the vendor schema."""
        webhook = {
            "name": "n",
            "description": "d",
            "url": "https://x",
            "store_fields_as_variables": [{"name": "a", "value_path": "b", "extra": 1}],
        }
        body = {**MINIMAL, "tools": [{"type": "webhook", "webhook": webhook}]}
        assert validate_request("CreateAssistantRequest", body) == [
            {
                "loc": ["body", "tools", 0, "webhook", "store_fields_as_variables", 0, "extra"],
                "msg": "Extra inputs are not permitted",
                "type": "extra_forbidden",
            }
        ]

    def test_nullable_fields_accept_null(self) -> None:
        """Update clears nested values with explicit null where the API allows it."""
        body = {
            "avatar_settings": None,
            "voice_settings": {"voice": "Telnyx.KokoroTTS.af_heart", "tool_call_audio": None},
            "transcription": {"challenger": None, "fallback_models": None},
            "insight_settings": {"model": None},
        }
        assert validate_request("UpdateAssistantRequest", body) == []

    def test_insight_model_enum(self) -> None:
        """An unsupported insight model is a documented 422."""
        errors = validate_request("CreateAssistantRequest", {**MINIMAL, "insight_settings": {"model": "gpt"}})
        assert [(e["loc"], e["type"]) for e in errors] == [(["body", "insight_settings", "model"], "enum")]

    def test_non_object_body(self) -> None:
        assert validate_request("CreateAssistantRequest", ["x"]) == [
            {"loc": ["body"], "msg": "Input should be a valid dictionary", "type": "dict_type"}
        ]


class TestSdkNewerAdditions:
    @pytest.mark.parametrize(
        "tool",
        [
            {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}},
            {"type": "vision"},
            {"type": "vision", "vision": {"max_frame_age_secs": 5}},
            {
                "type": "update_dynamic_variables",
                "update_dynamic_variables": {
                    "name": "remember",
                    "description": "Store the caller's tier.",
                    "updatable_variables": [{"name": "tier"}],
                },
            },
        ],
        ids=["function", "vision-bare", "vision", "update_dynamic_variables"],
    )
    def test_new_tool_types_are_accepted(self, tool: dict[str, object]) -> None:
        assert validate_request("CreateAssistantRequest", {**MINIMAL, "tools": [tool]}) == []

    def test_update_dynamic_variables_needs_a_variable(self) -> None:
        tool = {
            "type": "update_dynamic_variables",
            "update_dynamic_variables": {"name": "r", "description": "d", "updatable_variables": []},
        }
        errors = validate_request("CreateAssistantRequest", {**MINIMAL, "tools": [tool]})
        assert [(e["loc"], e["type"]) for e in errors] == [
            (["body", "tools", 0, "update_dynamic_variables", "updatable_variables"], "too_short")
        ]

    def test_new_assistant_fields(self) -> None:
        body = {
            **MINIMAL,
            "description": "Front door",
            "a2a_agents": [{"name": "crm", "url": "https://a2a.example", "async": True}],
            "delegation_settings": {"enabled": True, "mode": "client"},
            "websocket_settings": {"enabled": False},
            "avatar_settings": {
                "provider": "telnyx",
                "model": "foxtrot-1",
                "avatar_id": "av-1",
                "background_id": "studio",
            },
            "transcription": {"model": "soniox/stt-rt-v5"},
            "telephony_settings": {"noise_suppression": "aicoustics", "disable_dtmf": True},
            "privacy_settings": {"pii_redaction": "redact"},
        }
        assert validate_request("CreateAssistantRequest", body) == []
        update = {k: v for k, v in body.items() if k != "name"}
        assert validate_request("UpdateAssistantRequest", update) == []

    def test_delegation_mode_enum(self) -> None:
        errors = validate_request("CreateAssistantRequest", {**MINIMAL, "delegation_settings": {"mode": "x"}})
        assert [e["loc"] for e in errors] == [["body", "delegation_settings", "mode"]]

    def test_read_shape_knows_new_fields(self) -> None:
        props = component("inference-embedding_Assistant")["properties"]
        new = ("description", "a2a_agents", "delegation_settings", "websocket_settings", "avatar_settings")
        assert set(new) <= set(props)


def _audio(**background: object) -> dict[str, object]:
    return {"name": "a", "instructions": "b", "voice_settings": {"voice": "v", "background_audio": background}}


class TestCompiledCheck:
    """The emulator judges request bodies with a compiled check first; the Python validator explains refusals."""

    def test_a_valid_body_is_decided_by_the_compiled_check_alone(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import reconciler.api.api_schema as api_schema

        def python_validator(name: str) -> None:
            raise AssertionError("the Python validator ran for a valid body")

        monkeypatch.setattr(api_schema, "_validator", python_validator)
        body = _audio(type="media_url", value="https://cdn.example.com/office.mp3")
        assert validate_request("CreateAssistantRequest", body) == []

    @pytest.mark.parametrize(
        ("body", "errors"),
        [
            # a uri without a scheme: the format the emulator checks
            (_audio(type="media_url", value="cdn.example.com/office.mp3"), 1),
            # valid in Python only: its multipleOf tolerates binary floating point (0.3 / 0.1 = 2.9999999999999996)
            (_audio(type="predefined_media", value="office", volume=0.3), 0),
            (_audio(type="predefined_media", value="office", volume=0.35), 1),
            # valid in Python only: its `$` matches before a final newline
            ({"name": "a", "instructions": "b", "dynamic_variables_webhook_url": "https://x.example.com",
              "tools": [{"type": "webhook", "webhook": {"name": "n\n", "description": "d",
                                                          "url": "https://x.example.com"}}]}, None),
        ],
    )
    def test_the_compiled_check_is_never_laxer_and_python_has_the_last_word(
        self, body: dict[str, object], errors: int | None
    ) -> None:
        from reconciler.api.api_schema import _fast_check, _validator

        fast = _fast_check("CreateAssistantRequest")
        assert fast is not None
        python_errors = list(_validator("CreateAssistantRequest").iter_errors(body))
        if python_errors:
            assert not fast(body)  # never accepts what the Python validator refuses
        answer = validate_request("CreateAssistantRequest", body)
        assert (answer == []) == (not python_errors)
        if errors is not None:
            assert len(answer) == errors, answer
