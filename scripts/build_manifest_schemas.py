"""Build the manifest JSON Schemas (reconciler/schemas/*.schema.json) from the derived API schema.

Why a generator: the spec of an Assistant manifest is the API's create-assistant request, so its
structure must follow ``reconciler/api_schema.json`` whenever that is re-derived; only the envelope,
the field descriptions and the tool union's shape are ours. Output is deterministic (sorted keys).

    python scripts/build_manifest_schemas.py            # write the files
    python scripts/build_manifest_schemas.py --check    # exit 1 if a committed file is stale
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from reconciler.model import API_VERSION  # noqa: E402

SCHEMA_DIR = ROOT / "reconciler" / "schemas"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
JSON = dict[str, Any]

ENVELOPE = {
    "apiVersion": f"Manifest format version; always {API_VERSION}.",
    "kind": "Which kind of object this document describes.",
    "name": (
        "The assistant's name in Telnyx and its identity here: unique among Assistant documents, "
        "referenced by other manifests. Renaming it means a different assistant."
    ),
    "spec": (
        "Desired settings, in the shape of the Telnyx create-assistant request "
        "(without name, which is set above, and tool_ids)."
    ),
}

SPEC_FIELDS = {
    "a2a_agents": "Remote agents the assistant may call over the A2A protocol.",
    "avatar_settings": "Video avatar for web calls (beta); null removes it.",
    "conversation_flow": "A graph of prompt, tool and speak nodes that guides the conversation step by step.",
    "delegation_settings": "Lets the assistant hand sub-tasks to a background model (beta).",
    "description": "Free text for the people who maintain the assistant; callers never see it.",
    "dynamic_variables": "Default values for the {{variables}} used in instructions, greeting and tools.",
    "dynamic_variables_webhook_timeout_ms": "How long to wait for the dynamic-variables webhook (ms).",
    "dynamic_variables_webhook_url": "Called at conversation start to fetch values for dynamic variables.",
    "enabled_features": "Channels the assistant serves: telephony, messaging.",
    "external_llm": "Your own OpenAI-compatible model endpoint, used instead of a Telnyx-hosted model.",
    "fallback_config": "The model to switch to when the primary one is unavailable.",
    "greeting": "The first thing the assistant says; an empty string makes it wait for the caller.",
    "insight_settings": "Insight group run after each conversation, and the model that runs it.",
    "instructions": "The system prompt: what the assistant is for and how it behaves. Required.",
    "integrations": "Catalogue integrations the assistant may use, optionally limited to some actions.",
    "interruption_settings": "Whether callers may talk over the assistant; how a turn's end is detected.",
    "llm_api_key_ref": "Name of the integration secret holding the API key of a third-party model provider.",
    "mcp_servers": "MCP servers (by id) whose tools the assistant may call, with an optional allowlist.",
    "messaging_settings": "SMS behaviour; Telnyx creates the messaging profile when none is given.",
    "model": "The language model, e.g. openai/gpt-4o. Telnyx chooses one when omitted.",
    "observability_settings": "Langfuse tracing and prompt synchronisation.",
    "post_conversation_settings": "One more model turn after the conversation ends, for tool calls (beta).",
    "privacy_settings": "Data retention and redaction of personal data.",
    "tags": "Labels for grouping and finding assistants.",
    "telephony_settings": "Phone call behaviour: time limits, noise suppression, recording, voicemail.",
    "tools": "Inline tools. Each item has a type and a payload under the key of that same name.",
    "transcription": "Speech-to-text model, language and provider settings.",
    "voice_settings": "Text-to-speech voice and its tuning; voice is required when this is set.",
    "websocket_settings": "Streams the conversation to your WebSocket endpoint (beta).",
    "widget_settings": "Appearance and texts of the embeddable web widget.",
}

DROPPED_SPEC_FIELDS = ("name", "tool_ids")
"""Request fields a manifest may not set in spec: name is the envelope's, tool_ids comes from references."""


def _ref_name(ref: str) -> str:
    return ref.removeprefix("#/$defs/")


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield _ref_name(value)
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _reachable(root: JSON, defs: JSON) -> JSON:
    """Only the definitions the schema still uses."""
    seen: set[str] = set()
    pending = list(_refs(root))
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending.extend(_refs(defs[name]))
    return {name: defs[name] for name in sorted(seen)}


def _tool_type(branch: JSON, defs: JSON) -> str:
    target = defs[_ref_name(branch["$ref"])] if "$ref" in branch else branch
    prop = target["properties"]["type"]
    values = [prop["const"]] if "const" in prop else prop["enum"]
    if len(values) != 1:
        raise ValueError(f"tool branch {branch} does not name exactly one type")
    return str(values[0])


def inline_tool_schema(union: JSON, defs: JSON) -> JSON:
    """The vendor's ``oneOf`` of tools as ``type`` enum plus one ``if type == X then <X>`` per type.

    With ``oneOf`` a tool missing one field fails every branch and jsonschema can only say "not
    valid under any of the given schemas"; with the discriminated form the error is the real one.
    """
    branches = {_tool_type(branch, defs): branch for branch in union["oneOf"]}
    return {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": sorted(branches), "description": "Which tool this is."}},
        "allOf": [
            {"if": {"properties": {"type": {"const": kind}}, "required": ["type"]}, "then": branches[kind]}
            for kind in sorted(branches)
        ],
    }


def build_assistant_schema(request: JSON) -> JSON:
    """The Assistant manifest schema from the bundled ``CreateAssistantRequest`` schema."""
    defs: JSON = dict(request.get("$defs", {}))
    properties: JSON = dict(request["properties"])
    missing = sorted(set(properties) - set(SPEC_FIELDS) - set(DROPPED_SPEC_FIELDS))
    if missing:
        raise ValueError(f"write a description in SPEC_FIELDS for: {', '.join(missing)}")
    spec_props: JSON = {}
    for field, description in SPEC_FIELDS.items():
        if field in properties:
            spec_props[field] = {**properties[field], "description": description}
    tools = spec_props["tools"]
    if "$ref" in tools:
        tools = {**defs[_ref_name(tools["$ref"])], "description": tools["description"]}
    defs["InlineTool"] = inline_tool_schema(tools["items"], defs)
    spec_props["tools"] = {**tools, "items": {"$ref": "#/$defs/InlineTool"}}
    spec_props["name"] = {
        "not": {},
        "errorMessage": "name belongs at the top level of the document, next to kind, not inside spec",
    }
    spec = {
        "type": "object",
        "description": ENVELOPE["spec"],
        "additionalProperties": False,
        "required": ["instructions"],
        "properties": spec_props,
    }
    root: JSON = {
        "$schema": DRAFT,
        "title": f"Assistant manifest ({API_VERSION})",
        "type": "object",
        "additionalProperties": False,
        "required": ["apiVersion", "kind", "name", "spec"],
        "properties": {
            "apiVersion": {"const": API_VERSION, "description": ENVELOPE["apiVersion"]},
            "kind": {"const": "Assistant", "description": ENVELOPE["kind"]},
            "name": _name_schema(ENVELOPE["name"]),
            "spec": spec,
        },
    }
    root["$defs"] = _reachable(root, defs)
    return root


def _name_schema(description: str) -> JSON:
    # Negated searches rather than one anchored pattern: Python's `$` also matches before a final newline.
    return {
        "type": "string",
        "description": description,
        "minLength": 1,
        "maxLength": 255,
        "allOf": [
            {
                "not": {"type": "string", "pattern": "[\\u0000-\\u001f\\u007f]"},
                "errorMessage": "must not contain control characters (tabs, newlines, ...)",
            },
            {
                "not": {"type": "string", "pattern": "^\\s|\\s$"},
                "errorMessage": "must not start or end with whitespace",
            },
        ],
    }


def build_all(component: Callable[[str], JSON] | None = None) -> dict[str, JSON]:
    """Every manifest schema by file name."""
    if component is None:
        from reconciler.api_schema import component
    return {"assistant.schema.json": build_assistant_schema(component("CreateAssistantRequest"))}


def render(schema: JSON) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for filename, schema in build_all().items():
        target = SCHEMA_DIR / filename
        text = render(schema)
        if check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                stale.append(filename)
        else:
            SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(ROOT)}")
    if stale:
        print(f"stale, run scripts/build_manifest_schemas.py: {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
