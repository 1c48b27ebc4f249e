"""Derive reconciler/api/api_schema.json from the vendored Telnyx OpenAPI subset (vendor/telnyx-openapi).

Why: the emulator's 422 checks and the manifest JSON Schemas need the API's request structure, but the
vendor file carries Telnyx's prose and is older than the SDK we treat as ground truth. This script keeps
only structure (no description/example/title) and layers a short, explicit list of SDK-newer additions
on top. Every addition names the SDK file (telnyx==4.189.0, under telnyx/types/ai/) it was read from.

Usage: python scripts/derive_api_schema.py [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "vendor" / "telnyx-openapi" / "ai-subset.json"
TARGET = ROOT / "reconciler" / "api" / "api_schema.json"

PROSE_KEYS = frozenset({"description", "example", "examples", "title"})
Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """Allow JSON null next to schema (the update API clears nested values with explicit null)."""
    return {"anyOf": [schema, {"type": "null"}]}


def strip_prose(node: Any) -> Any:
    """Drop vendor prose, keeping structure. A property literally named like a prose key is kept."""
    if isinstance(node, list):
        return [strip_prose(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: Schema = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: strip_prose(sub) for name, sub in value.items()}
        elif key not in PROSE_KEYS:
            out[key] = strip_prose(value)
    return out


TRANSCRIPTION_MODELS = [  # transcription_settings_param.py: TranscriptionSettingsParam.model
    "deepgram/flux", "deepgram/nova-3", "deepgram/nova-2", "speechmatics/standard",
    "speechmatics/linden-1", "azure/fast", "assemblyai/universal-3-5-pro",
    "assemblyai/universal-streaming", "xai/grok-stt", "soniox/stt-rt-v4", "soniox/stt-rt-v5",
    "nvidia/parakeet-v3", "omi-health/omi-med-stt-v1", "humain/realtime", "reson8/turns",
    "cohere/ar-stt", "telnyx/basira", "distil-whisper/distil-large-v2", "openai/whisper-large-v3-turbo",
]  # fmt: skip
# transcription_settings_param.py: Challenger.model is the same list without the speechmatics models
CHALLENGER_MODELS = [m for m in TRANSCRIPTION_MODELS if not m.startswith("speechmatics/")]
FALLBACK_MODELS = [  # transcription_settings_param.py: FallbackModel.model (streaming subset)
    "deepgram/flux", "deepgram/nova-3", "deepgram/nova-2", "assemblyai/universal-3-5-pro",
    "assemblyai/universal-streaming", "xai/grok-stt", "soniox/stt-rt-v4", "soniox/stt-rt-v5",
    "humain/realtime", "reson8/turns",
]  # fmt: skip
INSIGHT_MODELS = ["zai-org/GLM-5.3-Flash", "meta-llama/Llama-3.3-70B-Instruct"]  # telnyx-ai-api.md 2.5

STRING: Schema = {"type": "string"}
BOOLEAN: Schema = {"type": "boolean"}
INTEGER: Schema = {"type": "integer"}
NUMBER: Schema = {"type": "number"}


def enum(*values: str) -> Schema:
    return {"type": "string", "enum": list(values)}


def obj(properties: Schema, required: list[str] | None = None) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def tool(type_name: str, payload: Schema, *, payload_required: bool = True) -> Schema:
    """An inline tool: {"type": <t>, <t>: payload}, the union member shape used by assistant_tool_param.py."""
    required = ["type", type_name] if payload_required else ["type"]
    return obj({"type": enum(type_name), type_name: payload}, required)


# Filler messages spoken while a webhook or A2A call runs (assistant_a2_a_agent_param.py: Message,
# inference_embedding_webhook_tool_params_param.py: WebhookMessage; same two shapes).
FILLER_MESSAGE: Schema = {
    "oneOf": [
        obj({"type": enum("request_start"), "content": STRING, "timing_ms": INTEGER}, ["type", "content"]),
        obj(
            {"type": enum("request_response_delayed"), "content": STRING, "timing_ms": INTEGER},
            ["type", "content", "timing_ms"],
        ),
    ]
}

# vision_tool_params_param.py: VisionToolParamsParam
VISION_PAYLOAD: Schema = obj({"max_frame_age_secs": INTEGER})
# update_dynamic_variables_tool_params_param.py: UpdateDynamicVariablesToolParamsParam
UPDATE_DYNAMIC_VARIABLES_PAYLOAD: Schema = obj(
    {
        "name": {"type": "string", "pattern": "^[a-zA-Z0-9_-]+$"},
        "description": STRING,
        "updatable_variables": {
            "type": "array",
            "minItems": 1,
            "items": obj(
                {
                    "name": {"type": "string", "pattern": "^[a-zA-Z0-9._-]+$"},
                    "description": STRING,
                    "type": STRING,
                },
                ["name"],
            ),
        },
    },
    ["name", "description", "updatable_variables"],
)

# New components, each read from the SDK file named in its comment.
NEW_COMPONENTS: dict[str, Schema] = {
    # assistant_tool_param.py: Function + openai/function_definition_param.py
    "FunctionTool": tool(
        "function",
        obj({"name": STRING, "description": STRING, "parameters": {"type": "object"}}, ["name"]),
    ),
    # assistant_tool_param.py: Vision + vision_tool_params_param.py (payload optional)
    "VisionTool": tool("vision", VISION_PAYLOAD, payload_required=False),
    # assistant_tool_param.py: UpdateDynamicVariables + update_dynamic_variables_tool_params_param.py
    "UpdateDynamicVariablesTool": tool("update_dynamic_variables", UPDATE_DYNAMIC_VARIABLES_PAYLOAD),
    # assistant_a2_a_agent_param.py: AssistantA2AAgentParam
    "A2AAgent": obj(
        {
            "name": STRING,
            "url": {"type": "string", "maxLength": 2048},
            "headers": {"type": "array", "items": obj({"name": STRING, "value": STRING}, ["name", "value"])},
            "messages": {"type": "array", "items": FILLER_MESSAGE},
            "poll_interval_ms": INTEGER,
            "timeout_ms": INTEGER,
            "async": BOOLEAN,
        },
        ["name", "url"],
    ),
    # delegation_settings_param.py: DelegationSettingsParam
    "DelegationSettings": obj(
        {
            "enabled": BOOLEAN,
            "mode": enum("telnyx", "client"),
            "model": STRING,
            "external_llm": ref("ExternalLLMReq"),
            "llm_api_key_ref": STRING,
            "instructions": STRING,
            "speak_results": BOOLEAN,
        }
    ),
    # websocket_settings_param.py: WebsocketSettingsParam
    "WebsocketSettings": obj({"enabled": BOOLEAN, "url": STRING, "auth_ref": STRING}),
    # avatar_settings_request_param.py: AvatarSettingsRequestParam (all fields required)
    "AvatarSettings": obj(
        {
            "provider": enum("telnyx"),
            "model": enum("foxtrot-1"),
            "avatar_id": STRING,
            "background_id": enum("office", "studio", "reception", "illustrated_workspace"),
        },
        ["provider", "model", "avatar_id", "background_id"],
    ),
    # transcription_settings_param.py: Challenger
    "TranscriptionChallenger": obj(
        {
            "model": enum(*CHALLENGER_MODELS),
            "language": {"type": ["string", "null"]},
            "rule": enum("best_turn", "best_engine", "merge_words"),
            "settings": nullable(ref("TranscriptionSettingsConfig")),
        },
        ["model"],
    ),
    # transcription_settings_param.py: FallbackModel
    "TranscriptionFallbackModel": obj(
        {
            "model": enum(*FALLBACK_MODELS),
            "language": {"type": ["string", "null"]},
            "settings": nullable(ref("TranscriptionSettingsConfig")),
        },
        ["model"],
    ),
}

# Properties added to the three assistant shapes (assistant_create_params.py, assistant_update_params.py,
# inference_embedding.py all carry them).
ASSISTANT_ADDITIONS: Schema = {
    "description": STRING,
    "a2a_agents": {"type": "array", "items": ref("A2AAgent")},
    "delegation_settings": ref("DelegationSettings"),
    "websocket_settings": ref("WebsocketSettings"),
    "avatar_settings": nullable(ref("AvatarSettings")),
}
ASSISTANT_SHAPES = ("CreateAssistantRequest", "UpdateAssistantRequest", "inference-embedding_Assistant")

UNIT_INTERVAL: Schema = {"type": "number", "minimum": 0, "maximum": 1}
BRIDGE_BEEP: Schema = obj({"enabled": BOOLEAN, "target_legs": enum("self", "both")})

# (component, dotted path inside "properties", schema) set verbatim; each line names its SDK file.
PROPERTY_PATCHES: list[tuple[str, str, Schema]] = [
    # transcription_settings_param.py
    ("TranscriptionSettings", "model", enum(*TRANSCRIPTION_MODELS)),
    ("TranscriptionSettings", "challenger", nullable(ref("TranscriptionChallenger"))),
    (
        "TranscriptionSettings",
        "fallback_models",
        {"type": ["array", "null"], "maxItems": 3, "items": ref("TranscriptionFallbackModel")},
    ),
    # transcription_settings_config_param.py
    ("TranscriptionSettingsConfig", "context", STRING),
    ("TranscriptionSettingsConfig", "language_hints", {"type": "array", "items": STRING}),
    ("TranscriptionSettingsConfig", "prompt", STRING),
    ("TranscriptionSettingsConfig", "remove_disfluencies", BOOLEAN),
    # telephony_settings_param.py
    ("TelephonySettings", "noise_suppression", enum("aicoustics", "krisp", "deepfilternet", "disabled")),
    ("TelephonySettings", "noise_suppression_config.enhancement_level", UNIT_INTERVAL),
    ("TelephonySettings", "noise_suppression_config.family", enum("quail")),
    ("TelephonySettings", "noise_suppression_config.size", enum("vf", "vf_2_0_l")),
    ("TelephonySettings", "disable_dtmf", BOOLEAN),
    ("TelephonySettings", "fallback_destination", STRING),
    ("TelephonySettings", "send_message_history_updates", BOOLEAN),
    ("TelephonySettings", "conversation_ended_full_history", BOOLEAN),
    # insight_settings_param.py (Optional[str]); accepted values per telnyx-ai-api.md 2.5 (else 422)
    ("InsightSettings", "model", {"type": ["string", "null"], "enum": [*INSIGHT_MODELS, None]}),
    # privacy_settings_param.py
    ("PrivacySettings", "in_transit_data_locality", BOOLEAN),
    ("PrivacySettings", "pii_redaction", enum("disabled", "redact")),
    # inference_embedding_voice_settings_param.py: ToolCallAudio
    (
        "VoiceSettings",
        "tool_call_audio",
        {
            "oneOf": [
                obj(
                    {"type": enum("predefined_media"), "value": enum("typing"), "volume": NUMBER},
                    ["type", "value"],
                ),
                obj({"type": enum("media_url"), "value": STRING}, ["type", "value"]),
                {"type": "null"},
            ]
        },
    ),
    # inference_embedding_webhook_tool_params_param.py: tool-level timeout_ms
    ("inference-embedding_WebhookTool", "timeout_ms", INTEGER),
    # inference_embedding_webhook_tool_params_param.py: Webhook.messages, preset fields
    (
        "WebhookToolParams",
        "messages",
        {"type": "array", "items": FILLER_MESSAGE},
    ),
    ("WebhookToolParams", "preset_body_fields", {"type": "object"}),
    ("WebhookToolParams", "preset_query_params", {"type": "object"}),
    # assistant_tool_param.py: TransferTransfer (newer fields)
    ("InferenceEmbeddingTransferToolParams", "warm_message_delay_ms", {"type": ["integer", "null"]}),
    ("InferenceEmbeddingTransferToolParams", "diversion", STRING),
    ("InferenceEmbeddingTransferToolParams", "description", STRING),
    ("InferenceEmbeddingTransferToolParams", "bridge_beep", BRIDGE_BEEP),
    # tool_create_params.py, tool_update_params.py: typed payloads the subset lacks
    ("CreateSharedToolRequest", "vision", VISION_PAYLOAD),
    ("CreateSharedToolRequest", "update_dynamic_variables", UPDATE_DYNAMIC_VARIABLES_PAYLOAD),
    ("UpdateSharedToolRequest", "vision", VISION_PAYLOAD),
    ("UpdateSharedToolRequest", "update_dynamic_variables", UPDATE_DYNAMIC_VARIABLES_PAYLOAD),
    # pay_tool_params_param.py
    ("PayToolParams", "description", {"type": ["string", "null"]}),
    ("PayToolParams", "connector_parameters", {"type": "object"}),
    (
        "PayToolParams",
        "valid_card_types",
        {
            "type": "array",
            "items": enum(
                "visa", "mastercard", "amex", "maestro", "discover", "optima", "jcb", "diners-club", "enroute"
            ),
        },
    ),
]  # fmt: skip

# (component, field) pairs whose "required" entry the SDK relaxed on requests.
RELAXED_REQUIRED: list[tuple[str, str]] = [
    ("InviteToolConfig", "from"),  # assistant_tool_param.py: InviteInvite "from" is optional
    ("InferenceEmbeddingTransferToolParams", "from"),  # assistant_tool_param.py: TransferTransfer "from"
]

# Tool union members the SDK has and the subset lacks (assistant_tool_param.py: AssistantToolParam).
NEW_TOOL_MEMBERS = ("FunctionTool", "VisionTool", "UpdateDynamicVariablesTool")


def set_property(schema: Schema, dotted: str, value: Schema) -> None:
    """Set properties.a.properties.b... = value, creating intermediate objects."""
    *parents, leaf = dotted.split(".")
    node = schema
    for part in parents:
        node = node.setdefault("properties", {}).setdefault(part, {"type": "object"})
    node.setdefault("properties", {})[leaf] = value


def derive(spec: Schema) -> Schema:
    """Return {"components": {"schemas": ...}} with prose stripped and SDK additions applied."""
    schemas: Schema = strip_prose(spec["components"]["schemas"])
    for name, schema in NEW_COMPONENTS.items():
        if name in schemas:
            raise ValueError(f"{name} already exists in the vendor subset; drop the addition")
        schemas[name] = schema
    for shape in ASSISTANT_SHAPES:
        for prop, value in ASSISTANT_ADDITIONS.items():
            set_property(schemas[shape], prop, value)
    for component, dotted, value in PROPERTY_PATCHES:
        set_property(schemas[component], dotted, value)
    for component, field in RELAXED_REQUIRED:
        required: list[str] = schemas[component].get("required", [])
        schemas[component]["required"] = [r for r in required if r != field]
        if not schemas[component]["required"]:
            del schemas[component]["required"]
    schemas["AssistantTools"]["items"]["oneOf"].extend(ref(name) for name in NEW_TOOL_MEMBERS)
    return {
        "x-source": "telnyx-openapi ai-subset.json (structure only) + SDK telnyx==4.189.0 additions",
        "components": {"schemas": schemas},
    }


def render(derived: Schema) -> str:
    return json.dumps(derived, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed file is stale")
    args = parser.parse_args(argv)
    text = render(derive(json.loads(args.source.read_text(encoding="utf-8"))))
    if args.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is stale; run scripts/derive_api_schema.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
