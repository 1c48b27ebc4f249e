"""Build the manifest JSON Schemas (reconciler/schemas/*.schema.json) from the derived API schema.

Why a generator: a manifest's spec is the API's own request for its kind, so its structure must
follow ``reconciler/api/api_schema.json`` whenever that is re-derived. Ours are only the envelopes, the
field descriptions, the by-name reference fields, and unions rewritten as ``if type == X`` rules so
errors name the real fault. Output is deterministic (sorted keys).

    python scripts/build_manifest_schemas.py            # write the files
    python scripts/build_manifest_schemas.py --check    # exit 1 if a committed file is stale
"""

from __future__ import annotations

import copy
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
    "previous_names": (
        "Names this object had before (a rename in git): plan renames the live object that still has one of "
        "them instead of creating a new one and deleting the old."
    ),
}

NAMES = {
    "Assistant": (
        "The assistant's name in Telnyx and its identity here: unique among Assistant documents, "
        "referenced by other manifests. To rename it, list the old name in previous_names."
    ),
    "Tool": (
        "The shared tool's display_name in Telnyx and its identity here: unique among Tool documents, "
        "referenced from assistants' shared_tools and flow nodes. To rename it, list the old name in previous_names."
    ),
    "McpServer": (
        "The MCP server's name in Telnyx and its identity here: unique among McpServer documents, "
        "referenced from assistants' mcp_servers. To rename it, list the old name in previous_names."
    ),
    "CanaryDeploy": (
        "Identity of this canary deploy among the manifests. Telnyx keeps one canary configuration "
        "per assistant and stores no name for it."
    ),
    "AssistantTest": (
        "The test's name in Telnyx and its identity here: unique among AssistantTest documents. "
        "To rename it, list the old name in previous_names."
    ),
}

SPECS = {
    "Assistant": (
        "Desired settings, in the shape of the Telnyx create-assistant request (without name, which "
        "is set above), plus references to other documents by name."
    ),
    "Tool": "The shared tool: its type, an optional timeout, and the settings under the key named by type.",
    "McpServer": "Where the MCP server is and how to reach it, in the shape of the Telnyx create request.",
    "CanaryDeploy": (
        "Candidate versions of one assistant and the ordered rules that route traffic between them "
        "and the main version."
    ),
    "AssistantTest": (
        "One scripted conversation with an assistant and the rubric it is judged by, in the shape of the "
        "Telnyx create-test request, with the assistant named instead of its id."
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
    "mcp_servers": (
        "MCP servers whose tools the assistant may call: an McpServer document by name (server) or a "
        "raw id, each with an optional allowlist."
    ),
    "messaging_settings": "SMS behaviour; Telnyx creates the messaging profile when none is given.",
    "model": "The language model, e.g. openai/gpt-4o. Telnyx chooses one when omitted.",
    "observability_settings": "Langfuse tracing and prompt synchronisation.",
    "post_conversation_settings": "One more model turn after the conversation ends, for tool calls (beta).",
    "privacy_settings": "Data retention and redaction of personal data.",
    "shared_tools": "Tool documents to attach, by name; sent as tool_ids.",
    "tags": "Labels for grouping and finding assistants.",
    "telephony_settings": "Phone call behaviour: time limits, noise suppression, recording, voicemail.",
    "tool_ids": "Ids of shared tools that these manifests do not manage; for managed ones use shared_tools.",
    "tools": "Inline tools. Each item has a type and a payload under the key of that same name.",
    "transcription": "Speech-to-text model, language and provider settings.",
    "voice_settings": "Text-to-speech voice and its tuning; voice is required when this is set.",
    "websocket_settings": "Streams the conversation to your WebSocket endpoint (beta).",
    "widget_settings": "Appearance and texts of the embeddable web widget.",
}


DROPPED_SPEC_FIELDS = ("name",)
"""Request fields a manifest may not set in spec: name is the envelope's."""

REFERENCE_FIELDS = ("shared_tools",)
"""Spec fields that are ours, not the API's: they hold names of other documents."""

TOOL_FIELDS = {
    "type": "Which tool this is; the settings go under the key of the same name.",
    "timeout_ms": "How long Telnyx waits for the tool to answer (ms).",
}

MCP_SERVER_FIELDS = {
    "type": "Transport of the server, as Telnyx names it; passed through unchanged.",
    "url": "Address of the MCP server.",
    "api_key_ref": "Name of the integration secret holding the server's API key (not the key itself).",
    "allowed_tools": "Tools of the server that assistants may call; null allows all of them.",
}

CANARY_FIELDS = {
    "assistant": "Name of the Assistant document whose traffic this splits.",
    "versions": (
        "Candidate versions by name (1 to 50 characters, not 'main'); each is an override of the "
        "assistant's spec, stored on Telnyx as a non-main version."
    ),
    "rules": (
        "Ordered routing rules; the first whose match holds serves the call. A rule without match catches everything."
    ),
    "promote": (
        "The candidate to make main, exactly as it was tested: one promote call, no new version. The Assistant "
        "document must already state its content; Telnyx removes the canary config."
    ),
    "steps": (
        "A staged rollout: weights (percent) the candidates' traffic passes through, in rising order, before the "
        "weights the rules state; the gate runs before each step, and a failure returns traffic to where it was."
    ),
    "gate": (
        "A test suite that must pass on the candidates before apply widens their traffic or promotes one; "
        "otherwise nothing is widened or promoted."
    ),
}

TEST_FIELDS = {
    "assistant": "The Assistant document this test talks to; sent as destination (the assistant's id).",
    "destination": (
        "Where the test conversation goes when it is not an assistant of these manifests: a phone number "
        "for phone_call and sms_chat, as Telnyx takes it."
    ),
    "instructions": "What the simulated caller wants and how it behaves: the test scenario.",
    "rubric": "The criteria the conversation is judged by; each item passes or fails on its own.",
    "telnyx_conversation_channel": "How the test reaches the assistant: phone_call, web_call, sms_chat or web_chat.",
    "max_duration_seconds": "The conversation is cut off (and the run errors) after this many seconds.",
    "test_suite": "Suite the test belongs to; reconciler test --suite runs one suite.",
    "description": "What the test is for, for the people who maintain it.",
}

VERSION_NAME_MAX = 50
MAIN_VERSION = "main"
NAME_NOT_IN_SPEC = "name belongs at the top level of the document, next to kind, not inside spec"


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


def _resolve(schema: JSON, defs: JSON) -> JSON:
    return defs[_ref_name(schema["$ref"])] if "$ref" in schema else schema


def _tag(branch: JSON, defs: JSON) -> str:
    prop = _resolve(branch, defs)["properties"]["type"]
    values = [prop["const"]] if "const" in prop else prop["enum"]
    if len(values) != 1:
        raise ValueError(f"union branch {branch} does not name exactly one type")
    return str(values[0])


def discriminated(union: JSON, defs: JSON, description: str, default: str | None = None) -> JSON:
    """A vendor ``oneOf`` keyed by ``type`` as a ``type`` enum plus one ``if type == X then <X>``.

    With ``oneOf`` an item missing one field fails every branch and jsonschema can only say "not
    valid under any of the given schemas"; with the discriminated form the error is the real one.
    ``default`` names the branch that applies when ``type`` is left out.
    """
    branches = {_tag(branch, defs): branch for branch in union["oneOf"]}
    rules = []
    for tag in sorted(branches):
        condition: JSON = {"properties": {"type": {"const": tag}}}
        if tag != default:
            condition["required"] = ["type"]
        rules.append({"if": condition, "then": branches[tag]})
    schema: JSON = {
        "type": "object",
        "properties": {"type": {"enum": sorted(branches), "description": description}},
        "allOf": rules,
    }
    if default is None:
        schema["required"] = ["type"]
    return dict(sorted(schema.items()))


def inline_tool_schema(union: JSON, defs: JSON) -> JSON:
    """The vendor's ``oneOf`` of inline tools, discriminated on ``type``."""
    return discriminated(union, defs, "Which tool this is.")


def _forbidden(message: str) -> JSON:
    """A key that may not appear, with the sentence that says why."""
    return {"not": {}, "errorMessage": message}


def _reference(kind: str, description: str) -> JSON:
    article = _ARTICLES.get(kind, "a")
    return {"type": "string", "minLength": 1, "description": f"{description} (the name of {article} {kind} document)"}


def _reference_list(kind: str, description: str) -> JSON:
    return {"type": "array", "uniqueItems": True, "items": _reference(kind, "One entry"), "description": description}


def _one_of_keys(by_name: str, raw: str, meaning: str) -> list[JSON]:
    """Exactly one of two keys (mostly a by-name key and the API's raw-id key); ``meaning`` says what each holds."""
    return [
        {
            "not": {"type": "object", "required": [by_name, raw]},
            "errorMessage": f"{by_name} and {raw} both given; set only one ({meaning})",
        },
        {
            "not": {"type": "object", "properties": {by_name: False, raw: False}},
            "errorMessage": f"{by_name} or {raw} is required ({meaning})",
        },
    ]


_ARTICLES = {"Assistant": "an", "McpServer": "an", "Tool": "a"}


def _names_meaning(kind: str, by_name: str, raw: str) -> str:
    return f"{by_name} names {_ARTICLES[kind]} {kind} document, {raw} is a raw Telnyx id"


def _without_required(schema: JSON, key: str) -> JSON:
    required = [r for r in schema.get("required", []) if r != key]
    out = {k: v for k, v in schema.items() if k != "required"}
    if required:
        out["required"] = required
    return out


def _by_name_or_id(schema: JSON, by_name: str, raw: str, kind: str, description: str) -> JSON:
    """``schema`` with ``by_name`` (the name of a ``kind`` document) next to its raw id ``raw``; exactly one."""
    out = _without_required(schema, raw)
    out["properties"] = {**out["properties"], by_name: _reference(kind, description)}
    out["allOf"] = _one_of_keys(by_name, raw, _names_meaning(kind, by_name, raw))
    return out


def _add_assistant_references(spec_props: JSON, defs: JSON) -> None:
    """Put the by-name forms next to each raw id the API takes (shared tools, MCP servers, handoff, flows)."""
    spec_props["shared_tools"] = _reference_list("Tool", SPEC_FIELDS["shared_tools"])

    defs["AssistantMCPServer"] = _by_name_or_id(
        defs["AssistantMCPServer"], "server", "id", "McpServer", "The MCP server to attach"
    )

    handoff = defs["HandoffToolParams"]
    target = _without_required(_resolve(handoff["properties"]["ai_assistants"]["items"], defs), "name")
    target = _by_name_or_id(target, "assistant", "id", "Assistant", "The assistant to hand off to")
    target["allOf"] = [
        *target["allOf"],
        {"if": {"required": ["id"]}, "then": {"required": ["name"]}},
        {
            "if": {"required": ["assistant"]},
            "then": {"properties": {"name": _forbidden("name comes from the referenced assistant; leave it out")}},
        },
    ]
    handoff["properties"]["ai_assistants"] = {**handoff["properties"]["ai_assistants"], "items": target}

    defs["AssistantTarget"] = _by_name_or_id(
        defs["AssistantTarget"], "assistant", "assistant_id", "Assistant", "The assistant the conversation moves to"
    )
    edge = defs["FlowEdge"]
    edge["properties"]["target"] = discriminated(
        edge["properties"]["target"], defs, "Where the edge leads: another node or another assistant."
    )

    prompt = defs["FlowNodeReq"]
    prompt["properties"] = {
        **prompt["properties"],
        "shared_tools": _reference_list("Tool", "Tool documents this node may use, by name; sent as shared_tool_ids."),
    }
    defs["ToolNodeReq"] = _by_name_or_id(
        defs["ToolNodeReq"], "shared_tool", "shared_tool_id", "Tool", "The shared tool this node runs"
    )
    flow = defs["ConversationFlowReq"]
    flow["properties"]["nodes"] = {
        **flow["properties"]["nodes"],
        "items": discriminated(
            flow["properties"]["nodes"]["items"], defs, "What the node does; prompt when left out.", default="prompt"
        ),
    }


def _assistant_spec(request: JSON) -> tuple[JSON, JSON]:
    """The Assistant spec's properties (references included) and the definitions they use."""
    request = copy.deepcopy(request)
    defs: JSON = dict(request.get("$defs", {}))
    properties: JSON = dict(request["properties"])
    known = set(SPEC_FIELDS) | set(DROPPED_SPEC_FIELDS)
    missing = sorted(set(properties) - known)
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
    _add_assistant_references(spec_props, defs)
    return dict(sorted(spec_props.items())), defs


_SCHEMA_MAPS = ("properties", "$defs", "patternProperties", "dependentSchemas")
_NOT_CLOSED = ("if", "then", "else", "not", "propertyNames")


def _discriminated_union(node: JSON) -> bool:
    """An object whose fields are given by ``if type == X then <X>`` branches (closed in each branch)."""
    rules = any(isinstance(rule, dict) and "if" in rule for rule in node.get("allOf", []))
    return rules and set(node.get("properties", {})) == {"type"}


def closed(node: Any) -> Any:
    """``node`` with every object schema that lists its properties refusing any other key.

    The API's own schema stays open (the emulator must accept what Telnyx accepts), but a manifest
    key the API does not know is almost always a typo: ``voice_settings.voicee`` would be sent and
    ignored. Conditions (``if``, ``not``, ``propertyNames``) keep their meaning and stay open, and a
    discriminated union is closed by its branches. A free-form object (no ``properties``) stays open.
    """
    if isinstance(node, list):
        return [closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: JSON = {}
    for key, value in node.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: closed(sub) for name, sub in value.items()}
        elif key in _NOT_CLOSED:
            out[key] = value
        else:
            out[key] = closed(value)
    if "properties" in out and "additionalProperties" not in out and not _discriminated_union(out):
        out["additionalProperties"] = False
    if out.get("additionalProperties") is False and "patternProperties" not in out:
        out["patternProperties"] = {f"^{PASSTHROUGH}$": {"$ref": "#/$defs/Passthrough"}}
    return out


PASSTHROUGH = "x-passthrough"
PASSTHROUGH_SCHEMA = {
    "type": "object",
    "description": (
        "Escape hatch: fields Telnyx accepts that this schema does not know yet. They are sent in the "
        "enclosing object as written, unchecked, and validate warns about each one."
    ),
}


def _document(kind: str, spec: JSON, defs: JSON) -> JSON:
    root: JSON = {
        "$schema": DRAFT,
        "title": f"{kind} manifest ({API_VERSION})",
        "type": "object",
        "additionalProperties": False,
        "required": ["apiVersion", "kind", "name", "spec"],
        "properties": {
            "apiVersion": {"const": API_VERSION, "description": ENVELOPE["apiVersion"]},
            "kind": {"const": kind, "description": ENVELOPE["kind"]},
            "name": _name_schema(NAMES[kind]),
            **({} if kind == "CanaryDeploy" else {"previous_names": {
                "type": "array", "description": ENVELOPE["previous_names"], "uniqueItems": True, "minItems": 1,
                "items": _name_schema("A name this object had before."),
            }}),
            "spec": {"description": SPECS[kind], **spec},
        },
    }
    root["$defs"] = _reachable(root, defs)
    root = dict(closed(root))
    del root["patternProperties"]  # the envelope has no escape hatch, only spec and what is inside it
    root["$defs"]["Passthrough"] = PASSTHROUGH_SCHEMA
    return root


def build_assistant_schema(request: JSON) -> JSON:
    """The Assistant manifest schema from the bundled ``CreateAssistantRequest`` schema."""
    spec_props, defs = _assistant_spec(request)
    spec_props["name"] = _forbidden(NAME_NOT_IN_SPEC)
    spec = {
        "type": "object",
        "additionalProperties": False,
        "required": ["instructions"],
        "properties": spec_props,
    }
    return _document("Assistant", spec, defs)


def build_tool_schema(assistant_request: JSON, tool_request: JSON) -> JSON:
    """The Tool manifest schema: the shared-tool create request, each payload checked like the inline one.

    Payloads come from the vendor's inline tool union as it is, so a shared handoff tool takes raw
    assistant ids: references by name exist only inside Assistant documents.
    """
    defs: JSON = dict(assistant_request.get("$defs", {}))
    tools = assistant_request["properties"]["tools"]
    union = _resolve(tools, defs)["items"]
    payloads = {}
    for branch in union["oneOf"]:
        tag = _tag(branch, defs)
        payloads[tag] = _resolve(branch, defs)["properties"][tag]
    vendor = tool_request["properties"]
    unknown = sorted(set(vendor) - set(payloads) - {"display_name", "type", "timeout_ms"})
    if unknown:
        raise ValueError(f"shared tool payloads without an inline tool type: {', '.join(unknown)}")
    props: JSON = {
        "type": {"enum": sorted(payloads), "description": TOOL_FIELDS["type"]},
        "timeout_ms": {**vendor["timeout_ms"], "description": TOOL_FIELDS["timeout_ms"]},
        "display_name": _forbidden("display_name is the document's top-level name; set it there"),
    }
    for tag in sorted(payloads):
        props[tag] = {**payloads[tag], "description": f"Settings of a {tag} tool; only with type {tag}."}
    rules = []
    for tag in sorted(payloads):
        others = {
            other: _forbidden(f"a {tag} tool takes its settings under '{tag}', not '{other}'")
            for other in sorted(payloads)
            if other != tag
        }
        rules.append(
            {
                "if": {"properties": {"type": {"const": tag}}, "required": ["type"]},
                "then": {"required": [tag], "properties": others},
            }
        )
    spec = {
        "type": "object",
        "additionalProperties": False,
        "required": ["type"],
        "properties": props,
        "allOf": rules,
    }
    return _document("Tool", spec, defs)


def _described(request: JSON, descriptions: dict[str, str], table: str) -> JSON:
    """The request's properties (but name) with our descriptions; a field without one is an error."""
    vendor = request["properties"]
    missing = sorted(set(vendor) - set(descriptions) - {"name"})
    if missing:
        raise ValueError(f"write a description in {table} for: {', '.join(missing)}")
    return {field: {**vendor[field], "description": text} for field, text in descriptions.items() if field in vendor}


def build_mcp_server_schema(request: JSON) -> JSON:
    """The McpServer manifest schema: the create request without name, closed."""
    props = _described(request, MCP_SERVER_FIELDS, "MCP_SERVER_FIELDS")
    props["name"] = _forbidden(NAME_NOT_IN_SPEC)
    spec = {
        "type": "object",
        "additionalProperties": False,
        "required": [r for r in request.get("required", []) if r != "name"],
        "properties": props,
    }
    return _document("McpServer", spec, dict(request.get("$defs", {})))


def _by_version_name(schema: JSON, description: str) -> JSON:
    """A vendor object with ``version_id`` replaced by ``version`` (a candidate's name), closed."""
    props = {k: v for k, v in schema["properties"].items() if k != "version_id"}
    props = {"version": {"type": "string", "minLength": 1, "description": description}, **props}
    out = {k: v for k, v in schema.items() if k not in ("properties", "required")}
    out["properties"] = props
    required = ["version" if r == "version_id" else r for r in schema.get("required", [])]
    if required:
        out["required"] = required
    out["additionalProperties"] = False
    return out


def build_canary_schema(assistant_request: JSON, canary_request: JSON) -> JSON:
    """The CanaryDeploy manifest schema: candidate versions as Assistant overrides, rules by version name."""
    spec_props, defs = _assistant_spec(assistant_request)
    spec_props["name"] = _forbidden("a version cannot rename the assistant; its name is its key under versions")
    defs["AssistantOverride"] = {
        "type": "object",
        "additionalProperties": False,
        "properties": spec_props,
        "description": "Fields of the assistant's spec that this version changes; the rest comes from the assistant.",
    }
    vendor_defs = canary_request.get("$defs", {})
    for name in ("Clause", "Operator"):
        if name in vendor_defs:
            defs[name] = vendor_defs[name]
    version_text = f"A candidate version's name, or {MAIN_VERSION} for the main version."
    slot = _by_version_name(vendor_defs["RolloutSlot"], version_text)
    weight = {k: v for k, v in slot["properties"]["weight"].items() if k != "minimum"}
    slot["properties"]["weight"] = {
        **weight,
        "exclusiveMinimum": 0,
        "description": "Share of traffic in percent; the weights of one rollout sum to less than 100.",
    }
    defs["CanaryRolloutSlot"] = slot
    serve = _by_version_name(vendor_defs["Serve"], version_text)
    serve["properties"]["rollout"] = {
        **serve["properties"]["rollout"],
        "minItems": 1,
        "items": {"$ref": "#/$defs/CanaryRolloutSlot"},
        "description": "Split traffic: each listed version gets its weight, the main version the rest.",
    }
    serve["allOf"] = _one_of_keys("version", "rollout", "version serves one version, rollout splits traffic")
    defs["CanaryServe"] = serve
    rule = dict(vendor_defs["Rule-Input"])
    rule["properties"] = {
        "match": {
            **rule["properties"]["match"],
            "description": "Conditions that must all hold for this rule to apply; none means always.",
        },
        "serve": {"$ref": "#/$defs/CanaryServe", "description": "What a matching call gets."},
    }
    rule["additionalProperties"] = False
    defs["CanaryRule"] = rule
    rules = canary_request["properties"]["rules"]
    spec = {
        "type": "object",
        "additionalProperties": False,
        "required": ["assistant", "versions"],
        "allOf": [
            {
                "not": {"type": "object", "required": ["promote", "rules"]},
                "errorMessage": "promote and rules both given; promoting removes the canary config, so drop rules",
            },
            {
                "not": {"type": "object", "properties": {"promote": False, "rules": False}},
                "errorMessage": "rules or promote is required (rules split traffic, promote makes a candidate main)",
            },
        ],
        "properties": {
            "assistant": {**_reference("Assistant", "The assistant"), "description": CANARY_FIELDS["assistant"]},
            "promote": {
                "type": "string",
                "minLength": 1,
                "maxLength": VERSION_NAME_MAX,
                "description": CANARY_FIELDS["promote"],
            },
            "steps": {
                "type": "array",
                "minItems": 1,
                "maxItems": 10,
                "items": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 100},
                "description": CANARY_FIELDS["steps"],
            },
            "gate": {
                "type": "object",
                "additionalProperties": False,
                "required": ["suite"],
                "description": CANARY_FIELDS["gate"],
                "properties": {
                    "suite": {"type": "string", "minLength": 1,
                              "description": "test_suite of the AssistantTest documents that test this assistant."},
                    "min_pass_rate": {"type": "number", "minimum": 0, "maximum": 1,
                                      "description": "Share of runs that must pass, 0 to 1 (default 1: all)."},
                    "repeats": {"type": "integer", "minimum": 1, "maximum": 10,
                                "description": "Runs of each test on each candidate (default 1)."},
                },
            },
            "versions": {
                "type": "object",
                "minProperties": 1,
                "description": CANARY_FIELDS["versions"],
                "propertyNames": {
                    "minLength": 1,
                    "maxLength": VERSION_NAME_MAX,
                    "not": {"const": MAIN_VERSION},
                    "errorMessage": f"'{MAIN_VERSION}' is reserved for the assistant's main version; "
                    "choose another name",
                },
                "additionalProperties": {"$ref": "#/$defs/AssistantOverride"},
            },
            "rules": {
                **rules,
                "minItems": 1,
                "items": {"$ref": "#/$defs/CanaryRule"},
                "description": CANARY_FIELDS["rules"],
            },
            "name": _forbidden(NAME_NOT_IN_SPEC),
        },
    }
    return _document("CanaryDeploy", spec, defs)


def build_assistant_test_schema(request: JSON) -> JSON:
    """The AssistantTest manifest schema: the create-test request without name, destination by name or raw."""
    props = _described(request, TEST_FIELDS, "TEST_FIELDS")
    props["assistant"] = _reference("Assistant", TEST_FIELDS["assistant"])
    props["name"] = _forbidden(NAME_NOT_IN_SPEC)
    required = [r for r in request.get("required", []) if r not in ("name", "destination")]
    spec = {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": props,
        "allOf": _one_of_keys(
            "assistant", "destination", "assistant names an Assistant document, destination is a raw phone number"
        ),
    }
    return _document("AssistantTest", spec, dict(request.get("$defs", {})))


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


NOT_IN_SDK = "x-not-in-sdk"


def sdk_only(node: Any) -> Any:
    """``node`` without the properties marked as absent from the installed SDK (older API surface).

    The API schema keeps them so the emulator types them as Telnyx once did; a manifest follows
    the SDK, so there they are unknown fields (``webhook.timeout_ms`` moved to the tool).
    """
    if isinstance(node, list):
        return [sdk_only(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: JSON = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {
                name: sdk_only(sub)
                for name, sub in value.items()
                if not (isinstance(sub, dict) and sub.get(NOT_IN_SDK))
            }
            dropped = set(value) - set(out[key])
            if dropped and "required" in node:
                out["required"] = [r for r in node["required"] if r not in dropped]
        elif key == "required" and "properties" in node:
            out.setdefault(key, value)
        else:
            out[key] = sdk_only(value)
    return out


def build_all(component: Callable[[str], JSON] | None = None) -> dict[str, JSON]:
    """Every manifest schema by file name."""
    if component is None:
        from reconciler.api.api_schema import component as api_component

        def component(name: str) -> JSON:
            return dict(sdk_only(api_component(name)))
    assistant = component("CreateAssistantRequest")
    return {
        "assistant.schema.json": build_assistant_schema(assistant),
        "tool.schema.json": build_tool_schema(assistant, component("CreateSharedToolRequest")),
        "mcp-server.schema.json": build_mcp_server_schema(component("CreateMCPServerRequest")),
        "canary-deploy.schema.json": build_canary_schema(assistant, component("CanaryDeployRequest")),
        "assistant-test.schema.json": build_assistant_test_schema(component("CreateAssistantTestRequest")),
    }


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
        print(f"stale, run scripts/derive_api_schema.py: {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
