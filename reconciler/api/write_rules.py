"""The Telnyx AI API's write rules that a JSON Schema cannot state, in one place.

Why: the official SDK's docstrings document checks the server makes when an assistant or a shared
tool is written (a ``pay`` tool needs ``telephony_settings.disable_dtmf: true``, an enabled
WebSocket needs a public ``url``, ...). ``reconciler validate`` runs them offline so a manifest
fails with FILE:LINE before anything is sent, and the emulator runs the very same functions so it
refuses what Telnyx refuses: status 422 (FastAPI ``value_error``) unless the SDK documents a 400.

Every rule takes a request body (or a manifest ``spec``, which has the same shape plus by-name
references, which no rule looks at) and yields ``Violation`` values whose ``path`` is relative to
that body. Rules assume the body passed the schema; they skip what is absent or mistyped.

The rules, each with the SDK docstring it comes from (``telnyx`` 4.189.0, ``telnyx/types/ai``) and
Telnyx's status (400 where the SDK says so, else 422):

- ``pay`` tool (inline, attached, or on a flow node) needs ``disable_dtmf: true``
  (telephony_settings_param.py; 422)
- ``pii_redaction: redact`` cannot serve messaging (privacy_settings_param.py; 400)
- ``websocket_settings``: ``enabled`` needs ``url``; ``ws://``/``wss://`` to a public host
  (websocket_settings_param.py; 422)
- ``a2a_agents``: ``http(s)://`` URL of at most 2,048 UTF-8 bytes to a public host, no ``{{}}`` in
  the host; names distinct once ``[^A-Za-z0-9_]`` becomes ``_``; header names and values
  (assistant_a2_a_agent_param.py; 422)
- transcription settings: ``eager_eot_threshold <= eot_threshold``, ``min_turn_silence <=
  max_turn_silence``, ``keyterm`` at most 1000 characters (AssemblyAI: 100 terms of 50),
  ``prompt`` at most 1750 (transcription_settings_config_param.py; 422)
- ``speechmatics/linden-1`` takes no ``auto``, ``auto_beta`` or ``multi`` language
  (transcription_settings_param.py; 400)
- fallback models: not the primary model, not repeated, not with a ``challenger``; challenger:
  streaming like the primary (or not, like it), not the same model on the same language,
  ``best_engine`` streaming only, ``merge_words`` only ``telnyx/basira`` with ``cohere/ar-stt``
  (transcription_settings_param.py; 422)
- conversation flow: unique node and edge ids, ``start_node_id`` and edge ends are nodes, a
  tool or speak node with outgoing edges has exactly one ``default`` edge
  (conversation_flow_req_param.py, flow_edge_param.py, tool_node_req_param.py; 422); a
  ``default`` edge leaving a prompt node is only advice (``assistant_advisories``): the SDK
  calls it invalid, but flows in use have one, so ``validate`` warns and the emulator stores it
- ``update_dynamic_variables``: no variable named ``telnyx_*``; function-like tool names unique
  (update_dynamic_variables_tool_params_param.py; 422)
- ``telnyx`` delegation needs ``model`` or ``external_llm.model`` (delegation_settings_param.py; 422)
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard
from urllib.parse import urlsplit

__all__ = ["Violation", "assistant_advisories", "assistant_violations", "tool_violations"]

Path = tuple[str | int, ...]
JSON = Mapping[str, Any]
ToolTypeOf = Callable[[str], str | None]
"""Maps a shared tool id to its type (None when unknown); lets the pay rule see attached tools."""


@dataclass(frozen=True)
class Violation:
    """One broken rule: where in the body, what is wrong, and the status Telnyx answers with."""

    path: Path
    message: str
    status: int = 422


STREAMING_MODELS = frozenset({
    "deepgram/flux", "deepgram/nova-3", "deepgram/nova-2", "assemblyai/universal-3-5-pro",
    "assemblyai/universal-streaming", "xai/grok-stt", "soniox/stt-rt-v4", "soniox/stt-rt-v5",
    "humain/realtime", "reson8/turns",
})  # fmt: skip
NON_STREAMING_MODELS = frozenset({
    "azure/fast", "nvidia/parakeet-v3", "omi-health/omi-med-stt-v1", "cohere/ar-stt",
    "distil-whisper/distil-large-v2", "openai/whisper-large-v3-turbo", "telnyx/basira",
})  # fmt: skip
ASSEMBLYAI_MODELS = frozenset({"assemblyai/universal-3-5-pro", "assemblyai/universal-streaming"})
LINDEN = "speechmatics/linden-1"
LINDEN_REFUSED_LANGUAGES = ("auto", "auto_beta", "multi")
MERGE_WORDS_PAIR = frozenset({"telnyx/basira", "cohere/ar-stt"})
FUNCTION_NAMED_TOOLS = ("function", "webhook", "client_side_tool", "update_dynamic_variables")
RESERVED_VARIABLE_PREFIX = "telnyx_"
A2A_URL_MAX_BYTES = 2048
KEYTERM_MAX_CHARS = 1000
ASSEMBLYAI_KEYTERMS_MAX = 100
ASSEMBLYAI_KEYTERM_MAX_CHARS = 50
PROMPT_MAX_CHARS = 1750
_HEADER_NAME = re.compile(r"^[A-Za-z0-9_-]*(\{\{\s*[A-Za-z0-9_.-]+\s*\}\}[A-Za-z0-9_-]*)*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ENCRYPTED_FORM = re.compile(r"\{\{[^}]*\|\s*encryption_secret_ref\s*\}\}")


def _obj(value: Any) -> JSON:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# -- addresses ----------------------------------------------------------------------------------------


def internal_host(host: str) -> bool:
    """Whether host names an internal destination: localhost, a .local name, a private or reserved IP."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith((".localhost", ".local")):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return not address.is_global or address.is_multicast


def _url_problem(url: str, schemes: tuple[str, ...]) -> str | None:
    """Why url is not an externally reachable URL with one of schemes, or None when it is."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "is not a valid URL"
    wanted = " or ".join(f"{s}://" for s in schemes)
    if parts.scheme.lower() not in schemes or not host:
        return f"must be a {wanted} URL"
    if "{{" in parts.netloc or "}}" in parts.netloc:
        return "the host may not contain a {{...}} placeholder"
    if internal_host(host):
        return f"must be externally reachable; '{host}' is an internal address (localhost, private IP, .local)"
    return None


# -- assistant rules ----------------------------------------------------------------------------------


def _pay_tool(config: JSON, tool_type_of: ToolTypeOf | None, attached: Sequence[str] = ()) -> Iterator[Violation]:
    where: list[str] = []
    for index, tool in enumerate(_list(config.get("tools"))):
        if _obj(tool).get("type") == "pay":
            where.append(f"tools[{index}]")
    if tool_type_of is not None:
        for tool_id in _list(config.get("tool_ids")):
            if isinstance(tool_id, str) and tool_type_of(tool_id) == "pay":
                where.append(f"tool_ids ({tool_id})")
        for index, node in enumerate(_list(_obj(config.get("conversation_flow")).get("nodes"))):
            node = _obj(node)
            ids = [node.get("shared_tool_id"), *_list(node.get("shared_tool_ids"))]
            if any(isinstance(t, str) and tool_type_of(t) == "pay" for t in ids):
                where.append(f"conversation_flow.nodes[{index}]")
    where.extend(attached)
    if where and _obj(config.get("telephony_settings")).get("disable_dtmf") is not True:
        yield Violation(
            ("telephony_settings", "disable_dtmf"),
            f"must be true when a pay tool is configured ({', '.join(where)})",
        )


def _privacy(config: JSON) -> Iterator[Violation]:
    redaction = _obj(config.get("privacy_settings")).get("pii_redaction")
    if redaction == "redact" and "messaging" in _list(config.get("enabled_features")):
        yield Violation(
            ("privacy_settings", "pii_redaction"),
            "'redact' cannot be used by an assistant with the messaging feature (SMS/WhatsApp)",
            400,
        )


def _websocket(config: JSON) -> Iterator[Violation]:
    settings = _obj(config.get("websocket_settings"))
    url = settings.get("url")
    if settings.get("enabled") is True and not url:
        yield Violation(("websocket_settings", "url"), "is required when enabled is true")
    if isinstance(url, str) and url:
        problem = _url_problem(url, ("ws", "wss"))
        if problem:
            yield Violation(("websocket_settings", "url"), problem)


def _a2a(config: JSON) -> Iterator[Violation]:
    seen: dict[str, int] = {}
    for index, agent in enumerate(_list(config.get("a2a_agents"))):
        agent = _obj(agent)
        here: Path = ("a2a_agents", index)
        url = agent.get("url")
        if isinstance(url, str):
            if len(url.encode("utf-8")) > A2A_URL_MAX_BYTES:
                yield Violation((*here, "url"), f"must be at most {A2A_URL_MAX_BYTES} bytes once UTF-8 encoded")
            problem = _url_problem(url, ("http", "https"))
            if problem:
                yield Violation((*here, "url"), problem)
        name = agent.get("name")
        if isinstance(name, str):
            key = re.sub(r"[^A-Za-z0-9_]", "_", name)
            if key in seen:
                yield Violation(
                    (*here, "name"),
                    f"collides with a2a_agents[{seen[key]}].name: both become '{key}' in tool names",
                )
            seen.setdefault(key, index)
        for h, header in enumerate(_list(agent.get("headers"))):
            header = _obj(header)
            name, value = header.get("name"), header.get("value")
            if isinstance(name, str) and not _HEADER_NAME.match(name):
                yield Violation(
                    (*here, "headers", h, "name"),
                    "may only contain letters, digits, '-' and '_', or a {{variable}} among them",
                )
            if isinstance(value, str) and _CONTROL.search(value):
                yield Violation((*here, "headers", h, "value"), "must not contain control characters")
            if isinstance(value, str) and _ENCRYPTED_FORM.search(value):
                yield Violation(
                    (*here, "headers", h, "value"),
                    "the {{variable | encryption_secret_ref}} form is not resolved for A2A headers",
                )


def _settings_config(settings: JSON, model: Any, here: Path) -> Iterator[Violation]:
    eager, eot = settings.get("eager_eot_threshold"), settings.get("eot_threshold")
    if _number(eager) and _number(eot) and eager > eot:
        yield Violation((*here, "eager_eot_threshold"), f"{eager} must be at most eot_threshold ({eot})")
    low, high = settings.get("min_turn_silence"), settings.get("max_turn_silence")
    if _number(low) and _number(high) and low > high:
        yield Violation((*here, "min_turn_silence"), f"{low} must be at most max_turn_silence ({high})")
    keyterm = settings.get("keyterm")
    if isinstance(keyterm, str):
        if len(keyterm) > KEYTERM_MAX_CHARS:
            yield Violation((*here, "keyterm"), f"must be at most {KEYTERM_MAX_CHARS} characters")
        terms = [t.strip() for t in keyterm.split(",") if t.strip()]
        if model in ASSEMBLYAI_MODELS and len(terms) > ASSEMBLYAI_KEYTERMS_MAX:
            yield Violation((*here, "keyterm"), f"{model} takes at most {ASSEMBLYAI_KEYTERMS_MAX} terms")
        if model in ASSEMBLYAI_MODELS and any(len(t) > ASSEMBLYAI_KEYTERM_MAX_CHARS for t in terms):
            yield Violation(
                (*here, "keyterm"), f"{model} takes terms of at most {ASSEMBLYAI_KEYTERM_MAX_CHARS} characters"
            )
    prompt = settings.get("prompt")
    if isinstance(prompt, str) and len(prompt) > PROMPT_MAX_CHARS:
        yield Violation((*here, "prompt"), f"must be at most {PROMPT_MAX_CHARS} characters")


def _number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _transcription(transcription: JSON, here: Path) -> Iterator[Violation]:
    model, language = transcription.get("model"), transcription.get("language")
    if model == LINDEN and language in LINDEN_REFUSED_LANGUAGES:
        yield Violation(
            (*here, "language"),
            f"'{language}' is not available for {LINDEN}, which has no language detection; set a language code",
            400,
        )
    yield from _settings_config(_obj(transcription.get("settings")), model, (*here, "settings"))
    challenger = transcription.get("challenger")
    fallbacks = _list(transcription.get("fallback_models"))
    if fallbacks and isinstance(challenger, Mapping):
        yield Violation((*here, "fallback_models"), "cannot be combined with challenger")
    seen: dict[Any, int] = {}
    for index, fallback in enumerate(fallbacks):
        other = _obj(fallback).get("model")
        if other is not None and other == model:
            yield Violation((*here, "fallback_models", index, "model"), f"'{other}' is already transcription.model")
        elif other in seen:
            yield Violation(
                (*here, "fallback_models", index, "model"), f"'{other}' is already fallback_models[{seen[other]}]"
            )
        seen.setdefault(other, index)
        yield from _settings_config(_obj(_obj(fallback).get("settings")), other, (*here, "fallback_models", index))
    if isinstance(challenger, Mapping):
        yield from _challenger(challenger, model, language, (*here, "challenger"))


def _challenger(challenger: JSON, model: Any, language: Any, here: Path) -> Iterator[Violation]:
    other, rule = challenger.get("model"), challenger.get("rule", "best_turn")
    other_language = challenger.get("language") or language
    if model is not None and other is not None:
        if (model in STREAMING_MODELS) != (other in STREAMING_MODELS):
            yield Violation(
                (*here, "model"), f"'{other}' and transcription.model '{model}' must both be streaming or both not"
            )
        if other == model and other_language == language:
            yield Violation((*here, "language"), "the same model on the same language as transcription.model")
    if rule == "best_engine" and (model not in STREAMING_MODELS or other not in STREAMING_MODELS):
        yield Violation((*here, "rule"), "best_engine is available for streaming models only")
    if rule == "merge_words" and {model, other} != MERGE_WORDS_PAIR:
        yield Violation((*here, "rule"), "merge_words is available only for telnyx/basira with cohere/ar-stt")
    yield from _settings_config(_obj(challenger.get("settings")), other, (*here, "settings"))


def _flow(flow: JSON) -> Iterator[Violation]:
    here: Path = ("conversation_flow",)
    nodes = [_obj(n) for n in _list(flow.get("nodes"))]
    kinds: dict[Any, str] = {}
    for index, node in enumerate(nodes):
        node_id = node.get("id")
        if node_id in kinds:
            yield Violation((*here, "nodes", index, "id"), f"node id '{node_id}' is used twice")
        kinds.setdefault(node_id, str(node.get("type", "prompt")))
    start = flow.get("start_node_id")
    if start is not None and start not in kinds:
        yield Violation((*here, "start_node_id"), f"'{start}' is not the id of a node")
    edge_ids: set[Any] = set()
    defaults: dict[Any, list[int]] = {}
    leaving: set[Any] = set()
    for index, edge in enumerate(_list(flow.get("edges"))):
        edge = _obj(edge)
        at: Path = (*here, "edges", index)
        if edge.get("id") in edge_ids:
            yield Violation((*at, "id"), f"edge id '{edge.get('id')}' is used twice")
        edge_ids.add(edge.get("id"))
        source = edge.get("start_node_id")
        leaving.add(source)
        if source not in kinds:
            yield Violation((*at, "start_node_id"), f"'{source}' is not the id of a node")
        target = _obj(edge.get("target"))
        if target.get("type") == "node" and target.get("node_id") not in kinds:
            yield Violation((*at, "target", "node_id"), f"'{target.get('node_id')}' is not the id of a node")
        if _obj(edge.get("condition")).get("type") == "default":
            defaults.setdefault(source, []).append(index)
    for index, node in enumerate(nodes):
        node_id = node.get("id")
        if kinds.get(node_id) in ("tool", "speak") and node_id in leaving and len(defaults.get(node_id, [])) != 1:
            count = len(defaults.get(node_id, []))
            yield Violation(
                (*here, "nodes", index),
                f"a {kinds[node_id]} node with outgoing edges needs exactly one default edge, not {count}",
            )


def _default_edge_advisories(flow: JSON) -> Iterator[Violation]:
    """A ``default`` edge leaving a node that is not a tool or speak node.

    The SDK calls a default edge valid only there (flow_edge_param.py), but manifests in use
    (tests/data/good/billing.yaml, the reference's example, flows exported from the portal) have
    one leaving a prompt node, so this is advice: ``validate`` warns, the emulator stores it.
    """
    kinds = {_obj(n).get("id"): str(_obj(n).get("type", "prompt")) for n in _list(flow.get("nodes"))}
    for index, edge in enumerate(_list(flow.get("edges"))):
        edge = _obj(edge)
        source = edge.get("start_node_id")
        kind = kinds.get(source)
        if _obj(edge.get("condition")).get("type") == "default" and kind not in (None, "tool", "speak"):
            yield Violation(
                ("conversation_flow", "edges", index, "condition"),
                f"a default edge leaves {kind} node '{source}'; the API documents default edges only on tool "
                "and speak nodes, so it may refuse this one (use an llm or expression condition)",
            )


def _delegation(config: JSON) -> Iterator[Violation]:
    settings = config.get("delegation_settings")
    if not isinstance(settings, Mapping) or settings.get("enabled", True) is False:
        return
    if settings.get("mode", "telnyx") == "telnyx" and not (
        settings.get("model") or _obj(settings.get("external_llm")).get("model")
    ):
        yield Violation(
            ("delegation_settings", "model"), "telnyx delegation needs a backend model: model or external_llm.model"
        )


def _tools(tools: list[Any], here: Path) -> Iterator[Violation]:
    names: dict[str, int] = {}
    for index, tool in enumerate(tools):
        tool = _obj(tool)
        kind = tool.get("type")
        if not isinstance(kind, str):
            continue
        payload = _obj(tool.get(kind))
        yield from _tool_payload(kind, payload, (*here, index, kind))
        name = payload.get("name")
        if kind in FUNCTION_NAMED_TOOLS and isinstance(name, str):
            if name in names:
                yield Violation(
                    (*here, index, kind, "name"), f"'{name}' is already the name of {here[-1]}[{names[name]}]"
                )
            names.setdefault(name, index)


def _tool_payload(kind: str, payload: JSON, here: Path) -> Iterator[Violation]:
    if kind == "update_dynamic_variables":
        for index, variable in enumerate(_list(payload.get("updatable_variables"))):
            name = _obj(variable).get("name")
            if isinstance(name, str) and name.startswith(RESERVED_VARIABLE_PREFIX):
                yield Violation(
                    (*here, "updatable_variables", index, "name"),
                    f"'{name}': the {RESERVED_VARIABLE_PREFIX} prefix is reserved for system variables",
                )


def assistant_violations(
    config: JSON, tool_type_of: ToolTypeOf | None = None, *, attached_pay_tools: Sequence[str] = ()
) -> list[Violation]:
    """Every write rule an assistant configuration (create body, or stored config after an update) breaks.

    ``attached_pay_tools`` describes pay tools the body attaches in a way ``tool_type_of`` cannot
    see: ``validate`` passes the shared Tool documents a manifest attaches by name.
    """
    found = [
        *_pay_tool(config, tool_type_of, attached_pay_tools),
        *_privacy(config),
        *_websocket(config),
        *_a2a(config),
        *_delegation(config),
        *_tools(_list(config.get("tools")), ("tools",)),
    ]
    transcription = config.get("transcription")
    if isinstance(transcription, Mapping):
        found.extend(_transcription(transcription, ("transcription",)))
    flow = config.get("conversation_flow")
    if isinstance(flow, Mapping):
        found.extend(_flow(flow))
        for index, node in enumerate(_list(flow.get("nodes"))):
            node_transcription = _obj(node).get("transcription")
            if isinstance(node_transcription, Mapping):
                found.extend(_transcription(node_transcription, ("conversation_flow", "nodes", index, "transcription")))
    return found


def assistant_advisories(config: JSON) -> list[Violation]:
    """Documented rules that manifests in use break: ``validate`` warns about them, nothing refuses them."""
    flow = config.get("conversation_flow")
    return list(_default_edge_advisories(flow)) if isinstance(flow, Mapping) else []


def tool_violations(kind: str, payload: JSON) -> list[Violation]:
    """Every write rule a shared tool's payload (the object under its type) breaks; paths start at the type."""
    return list(_tool_payload(kind, payload, (kind,)))
