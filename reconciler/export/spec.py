"""Live objects in manifest form: server-owned fields out, references by name, secrets as placeholders.

The rule for what stays: leave out only what the server invents (ids, timestamps, version fields,
the auto-created TeXML app and messaging profile, the emulator's empty transfer/invite ``from``,
``prompt_version`` while prompt sync rewrites it, ``shared`` flags, resolved flow-node tools) and
keep everything a user could have chosen, even when it equals a default (``model``, a webhook's
``method``, a shared tool's ``timeout_ms``): stating a value that is live never makes a plan
change, while guessing that a value was a default could drop a real choice.

The engine's own functions decide what an object looks like in request shape
(``AssistantHandler.comparable``, the shared-tool content matching), so the export reads an
account exactly as ``plan`` will compare it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.kinds.assistant import AssistantHandler
from reconciler.kinds.assistant_test import WRITABLE as TEST_WRITABLE
from reconciler.kinds.base import PlanContext
from reconciler.kinds.mcp_server import WRITABLE as MCP_WRITABLE
from reconciler.kinds.tool import ToolHandler
from reconciler.redact import sensitive_key

INTEGRATION_SECRET = "{{#integration_secret}}"
"""Header values using Telnyx's integration-secret template are references, not secrets."""

USER_DATA_KEYS = frozenset({
    "dynamic_variables", "parameters", "body_parameters", "path_parameters", "query_parameters",
    "preset_body_fields", "preset_query_params", "connector_parameters", "expression", "settings",
})
"""Free-form values whose nulls are the user's data: never pruned."""

_assistants = AssistantHandler()
_tools = ToolHandler()


@dataclass(frozen=True)
class Names:
    """Ids of the exported objects, by kind, to the names manifests refer to them by."""

    tools: Mapping[str, str] = field(default_factory=dict)
    mcp_servers: Mapping[str, str] = field(default_factory=dict)
    assistants: Mapping[str, str] = field(default_factory=dict)


# -- generic clean-up ---------------------------------------------------------------------------


def without_nulls(value: Any) -> Any:
    """``null`` equals absent for the engine; leaving nulls out keeps manifests short and valid."""
    if isinstance(value, dict):
        return {
            k: (v if k in USER_DATA_KEYS else without_nulls(v)) for k, v in value.items() if v is not None
        }
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def escaped(value: Any) -> Any:
    """Every ``${`` written as ``$${``, so the loader reads live text back unchanged."""
    if isinstance(value, str):
        return value.replace("${", "$${")
    if isinstance(value, dict):
        return {k: escaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [escaped(v) for v in value]
    return value


def _drop_empty_top_level(spec: dict[str, Any]) -> dict[str, Any]:
    """An empty list or object equals absent for the engine."""
    return {k: v for k, v in spec.items() if not (isinstance(v, dict | list) and not v)}


# -- secrets ------------------------------------------------------------------------------------


def secret_name(*parts: Any) -> str:
    """``SUPPORT_TRIAGE_WEBHOOK_LOOKUP_ORDER_AUTHORIZATION``: upper snake case of the parts."""
    text = "_".join(str(p) for p in parts if p is not None and str(p) != "")
    name = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").upper() or "SECRET"
    return name if not name[0].isdigit() else f"_{name}"


class SecretNamer:
    """Hands out unique placeholder names in the order fields are met (deterministic)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def placeholder(self, *parts: Any) -> str:
        base = secret_name(*parts)
        name, n = base, 2
        while name in self.names:
            name, n = f"{base}_{n}", n + 1
        self.names.append(name)
        return f"${{secret:{name}}}"


def _is_literal_secret(value: Any) -> bool:
    return isinstance(value, str) and value != "" and INTEGRATION_SECRET not in value


_SECRET_HEADER = re.compile(r"auth|token|key|secret|passw|cookie|signature|credential|session|bearer", re.IGNORECASE)
"""Header names whose value is a credential; ``X-Source: voice-agent`` stays a literal in the manifest."""


def _secret_headers(headers: Any, namer: SecretNamer, *prefix: Any) -> None:
    for header in headers if isinstance(headers, list) else []:
        if not isinstance(header, dict) or not _is_literal_secret(header.get("value")):
            continue
        name = header.get("name")
        if isinstance(name, str) and not _SECRET_HEADER.search(name):
            continue
        header["value"] = namer.placeholder(*prefix, name)


def _secret_targets(targets: Any, namer: SecretNamer, *prefix: Any) -> None:
    for index, target in enumerate(targets if isinstance(targets, list) else []):
        if isinstance(target, dict) and _is_literal_secret(target.get("sip_auth_password")):
            label = target.get("name") or target.get("to") or target.get("sip_address") or index
            target["sip_auth_password"] = namer.placeholder(*prefix, label, "sip_auth_password")


def secret_tool_payload(tool_type: str, payload: Any, namer: SecretNamer, *prefix: Any) -> None:
    """Literal secrets of one tool payload (webhook headers, SIP passwords) become placeholders."""
    if not isinstance(payload, dict):
        return
    if tool_type == "webhook":
        _secret_headers(payload.get("headers"), namer, *prefix)
    elif tool_type in ("transfer", "refer"):
        _secret_targets(payload.get("targets"), namer, *prefix)


def secret_assistant_spec(spec: dict[str, Any], namer: SecretNamer, *prefix: Any) -> dict[str, Any]:
    """A copy of an assistant spec (or override) with its literal secrets as placeholders."""
    out = copy.deepcopy(spec)
    for tool in out.get("tools") or []:
        if isinstance(tool, dict) and isinstance(tool.get("type"), str):
            tool_type = tool["type"]
            payload = tool.get(tool_type)
            label = payload.get("name") if isinstance(payload, dict) else None
            secret_tool_payload(tool_type, payload, namer, *prefix, tool_type, label)
    for agent in out.get("a2a_agents") or []:
        if isinstance(agent, dict):
            _secret_headers(agent.get("headers"), namer, *prefix, "a2a", agent.get("name"))
    variables = out.get("dynamic_variables")
    if isinstance(variables, dict):
        for key, value in variables.items():
            if sensitive_key(key) and _is_literal_secret(value):  # crm_token: a credential, not configuration
                variables[key] = namer.placeholder(*prefix, key)
    return out


# -- assistants ---------------------------------------------------------------------------------


def assistant_plain(live: Mapping[str, Any], ctx: PlanContext, names: Names, warn: Callable[[str], None]) -> dict[
    str, Any
]:
    """An assistant (or one of its versions) as a manifest spec, secrets still literal.

    Starts from ``comparable`` (request shape, shared tools matched to live Tools by content)
    and puts names where exported objects are referenced.
    """
    label = str(live.get("name"))
    spec = _assistants.comparable(live, ctx)
    for key in ("name", "version_name"):
        spec.pop(key, None)
    if isinstance(live.get("tags"), list):
        spec["tags"] = list(dict.fromkeys(live["tags"]))  # the API's order, not the engine's sorted one
    _drop_auto_created(spec)
    if isinstance(spec.get("tools"), list):
        spec["tools"] = [_inline_tool(t, names) for t in spec["tools"]]
    if "tool_ids" in spec:
        spec = _shared_tools(spec, names, label, warn)
    if isinstance(spec.get("mcp_servers"), list):
        spec["mcp_servers"] = [_mcp_entry(e, names) for e in spec["mcp_servers"]]
    if isinstance(spec.get("conversation_flow"), dict):
        spec["conversation_flow"] = _flow(spec["conversation_flow"], names)
    return _drop_empty_top_level(escaped(without_nulls(spec)))


def _drop_auto_created(spec: dict[str, Any]) -> None:
    for parent, child in (("telephony_settings", "default_texml_app_id"),
                          ("messaging_settings", "default_messaging_profile_id")):
        value = spec.get(parent)
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if k != child}
            spec[parent] = value
    observability = spec.get("observability_settings")
    if isinstance(observability, dict) and observability.get("prompt_sync") == "enabled":
        spec["observability_settings"] = {k: v for k, v in observability.items() if k != "prompt_version"}


def _inline_tool(tool: Any, names: Names) -> Any:
    if not isinstance(tool, dict):
        return tool
    out = copy.deepcopy(tool)
    tool_type = out.get("type")
    payload = out.get(tool_type) if isinstance(tool_type, str) else None
    if tool_type in ("transfer", "invite") and isinstance(payload, dict) and payload.get("from") == "":
        del payload["from"]  # filled on read with the number the call came in on
    if tool_type == "handoff" and isinstance(payload, dict) and isinstance(payload.get("ai_assistants"), list):
        payload["ai_assistants"] = [_handoff_target(e, names) for e in payload["ai_assistants"]]
    return out


def _handoff_target(entry: Any, names: Names) -> Any:
    """``{id, name}`` -> ``{assistant: name}`` when the engine would send back exactly that pair."""
    if not isinstance(entry, dict):
        return entry
    target = names.assistants.get(str(entry.get("id")))
    if target is None or entry.get("name") != target:
        return entry
    return {"assistant": target, **{k: v for k, v in entry.items() if k not in ("id", "name")}}


def _shared_tools(spec: dict[str, Any], names: Names, label: str, warn: Callable[[str], None]) -> dict[str, Any]:
    """``tool_ids`` (recovered by content) as ``shared_tools`` names, raw ids where no Tool is exported."""
    ids = spec["tool_ids"]
    out: dict[str, Any] = {}
    unknown = [i for i in ids if str(i).startswith("(unknown")]
    for key, value in spec.items():
        if key != "tool_ids":
            out[key] = value
            continue
        if unknown:
            warn(f"Assistant/{label}: {len(unknown)} attached shared tool(s) match no live Tool; "
                 "shared tools left out of the manifest")
            continue
        named = sorted(names.tools[i] for i in ids if i in names.tools)  # a set: the engine sorts ids
        raw = [i for i in ids if i not in names.tools]
        if named:
            out["shared_tools"] = named
        if raw:
            out["tool_ids"] = raw
    return out


def _mcp_entry(entry: Any, names: Names) -> Any:
    if isinstance(entry, dict) and str(entry.get("id")) in names.mcp_servers:
        rest = {k: v for k, v in entry.items() if k != "id"}
        return {"server": names.mcp_servers[str(entry["id"])], **rest}
    return entry


def _flow(flow: dict[str, Any], names: Names) -> dict[str, Any]:
    out = copy.deepcopy(flow)
    for edge in out.get("edges") or []:
        target = edge.get("target") if isinstance(edge, dict) else None
        if isinstance(target, dict) and str(target.get("assistant_id")) in names.assistants:
            edge["target"] = {
                ("assistant" if k == "assistant_id" else k): (names.assistants[v] if k == "assistant_id" else v)
                for k, v in target.items()
            }
    nodes = out.get("nodes")
    if isinstance(nodes, list):
        out["nodes"] = [_flow_node(n, names) for n in nodes]
    return out


def _flow_node(node: Any, names: Names) -> Any:
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "shared_tool_id" and str(value) in names.tools:
            out["shared_tool"] = names.tools[str(value)]
        elif key == "shared_tool_ids" and isinstance(value, list):
            named = [names.tools[i] for i in value if i in names.tools]
            raw = [i for i in value if i not in names.tools]
            # The engine sends named tools first: keep raw ids when names would reorder the list.
            if named and value == [*(i for i in value if i in names.tools), *raw]:
                out["shared_tools"] = named
                if raw:
                    out["shared_tool_ids"] = raw
            else:
                out[key] = value
        else:
            out[key] = value
    return out


# -- tools and MCP servers ----------------------------------------------------------------------


def tool_spec(live: Mapping[str, Any], ctx: PlanContext, namer: SecretNamer) -> dict[str, Any]:
    """A shared tool as a Tool spec: its payload back under the type's key, as ``plan`` reads it."""
    spec = _tools.comparable(live, ctx)
    spec.pop("display_name", None)
    spec = escaped(without_nulls(spec))
    tool_type = spec.get("type")
    if isinstance(tool_type, str):
        secret_tool_payload(tool_type, spec.get(tool_type), namer, live.get("display_name"))
    return dict(spec)


def mcp_spec(live: Mapping[str, Any]) -> dict[str, Any]:
    """An MCP server's writable fields, nulls left out (``null`` places no limit, as absent does)."""
    spec = {k: live.get(k) for k in MCP_WRITABLE if k != "name"}
    return _drop_empty_top_level(escaped(without_nulls(spec)))


# -- assistant tests ----------------------------------------------------------------------------


def test_spec(live: Mapping[str, Any], names: Names) -> dict[str, Any]:
    """A test's writable fields; a destination that is an exported assistant's id becomes its name."""
    spec = {k: live.get(k) for k in TEST_WRITABLE if k != "name"}
    destination = spec.get("destination")
    if isinstance(destination, str) and destination in names.assistants:
        del spec["destination"]
        spec = {"assistant": names.assistants[destination], **spec}
    return _drop_empty_top_level(escaped(without_nulls(spec)))
