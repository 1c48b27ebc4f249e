"""Assistants: ``/ai/assistants``.

Identity is the assistant ``name``. The list endpoint returns full objects, so reading every
assistant costs one request. Manifests name other objects; this module turns the names into
the ids the API wants:

    manifest                                         request
    shared_tools: [lookup-order]                     tool_ids: [<tool id>]
    mcp_servers: [{server: crm, allowed_tools}]      mcp_servers: [{id: <server id>, allowed_tools}]
    handoff.ai_assistants: [{assistant: billing}]    handoff.ai_assistants: [{id: <id>, name: billing}]
    flow edge target {type: assistant, assistant}    {type: assistant, assistant_id: <id>}
    flow prompt node shared_tools: [name]            shared_tool_ids: [<tool id>]
    flow tool node shared_tool: name                 shared_tool_id: <tool id>

Attached shared tools come back inside ``tools`` with ``shared: true`` and no id; they are
matched to live Tool objects by content to recover ``tool_ids``, and never sent back inline.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from reconciler.api.client import TelnyxClient
from reconciler.changes.change import Action, Change
from reconciler.changes.diff import leaves, stated_differences
from reconciler.changes.readback import LEDGER_FILE, NotKeptLedger, report_not_kept, without_paths
from reconciler.changes.refs import IdIndex, Pending, pending_in
from reconciler.errors import ApiNotFound
from reconciler.kinds.base import KindHandler, PlanContext, requires_of
from reconciler.model import Resource, copy_json

READ_ONLY_FIELDS = frozenset(
    {"id", "created_at", "version_id", "version_created_at", "import_metadata", "related_mission_ids"}
)
"""Fields the server owns; never compared, never sent."""

MAIN_VERSION = "AssistantMain"
"""Pseudo-kind under which apply records an assistant's current main version id."""

IN_PLACE_FIELDS = frozenset({"tags", "tool_ids"})
"""Fields an update can change without a new version: tags through the tag endpoints, attached
shared tools through attach/detach (both edit the main version in place)."""

UNKNOWN_SHARED = "(unknown shared "
"""How ``comparable`` names an attached shared tool no live Tool matches: it has no id to detach."""


def writes_version(body: Mapping[str, Any], before: Mapping[str, Any] | None) -> bool:
    """Whether an update (or adopt) sending ``body`` writes a new assistant version.

    A body of tags and ``tool_ids`` only goes through the tag and attach/detach endpoints, which
    write none, provided every shared tool attached now is known by id (an unknown one can only
    be dropped by replacing ``tool_ids`` in an update). Anything else is an assistant update.
    """
    if not body:
        return False
    if before is None or not set(body) <= IN_PLACE_FIELDS:
        return True
    if "tool_ids" in body:
        return any(not isinstance(t, str) or t.startswith(UNKNOWN_SHARED) for t in before.get("tool_ids") or [])
    return False


def shared_tool_payload(tool: Mapping[str, Any]) -> Any:
    """A live Tool's payload; ``tool_definition`` may be bare or wrapped as ``{type, <type>: ...}``."""
    tool_type = tool.get("type")
    definition = tool.get("tool_definition")
    if isinstance(definition, dict) and isinstance(tool_type, str) and tool_type in definition:
        wrapped = set(definition) <= {"type", tool_type}
        return definition[tool_type] if wrapped else definition
    return definition


def _sorted_ids(ids: list[Any]) -> list[Any]:
    """Ids as a set in a stable order; ids known only after apply go last."""
    known = sorted({i for i in ids if isinstance(i, str)})
    pending = sorted({i for i in ids if isinstance(i, Pending)}, key=lambda p: p.name)
    return [*known, *pending]


def resolve_references(spec: Mapping[str, Any], ids: IdIndex) -> dict[str, Any]:
    """A copy of an assistant spec (or a version override) in request shape."""
    body: dict[str, Any] = copy_json(dict(spec))
    if "shared_tools" in body or "tool_ids" in body:
        named = [ids.ref("Tool", name) for name in body.pop("shared_tools", None) or []]
        body["tool_ids"] = _sorted_ids([*named, *(body.get("tool_ids") or [])])
    if isinstance(body.get("mcp_servers"), list):
        body["mcp_servers"] = [_mcp_entry(entry, ids) for entry in body["mcp_servers"]]
    if isinstance(body.get("tools"), list):
        for tool in body["tools"]:
            handoff = tool.get("handoff") if isinstance(tool, dict) else None
            if isinstance(handoff, dict) and isinstance(handoff.get("ai_assistants"), list):
                handoff["ai_assistants"] = [_handoff_target(entry, ids) for entry in handoff["ai_assistants"]]
    if isinstance(body.get("conversation_flow"), dict):
        _flow_references(body["conversation_flow"], ids)
    if isinstance(body.get("tags"), list):
        body["tags"] = sorted(set(body["tags"]))
    return body


def _mcp_entry(entry: Any, ids: IdIndex) -> Any:
    if isinstance(entry, dict) and "server" in entry:
        rest = {k: v for k, v in entry.items() if k != "server"}
        return {"id": ids.ref("McpServer", entry["server"]), **rest}
    return entry


def _handoff_target(entry: Any, ids: IdIndex) -> Any:
    if isinstance(entry, dict) and "assistant" in entry:
        rest = {k: v for k, v in entry.items() if k != "assistant"}
        return {"id": ids.ref("Assistant", entry["assistant"]), "name": entry["assistant"], **rest}
    return entry


def _flow_references(flow: dict[str, Any], ids: IdIndex) -> None:
    for edge in flow.get("edges") or []:
        target = edge.get("target") if isinstance(edge, dict) else None
        if isinstance(target, dict) and "assistant" in target:
            target["assistant_id"] = ids.ref("Assistant", target.pop("assistant"))
    for node in flow.get("nodes") or []:
        if not isinstance(node, dict):
            continue
        if "shared_tools" in node:
            named = [ids.ref("Tool", name) for name in node.pop("shared_tools") or []]
            node["shared_tool_ids"] = [*named, *(node.get("shared_tool_ids") or [])]
        if "shared_tool" in node:
            node["shared_tool_id"] = ids.ref("Tool", node.pop("shared_tool"))


class AssistantHandler(KindHandler):
    kind = "Assistant"
    level = 1

    def list_live(self, client: TelnyxClient) -> list[dict[str, Any]]:
        return client.list_assistants()

    def desired_body(self, resource: Resource, ctx: PlanContext) -> dict[str, Any]:
        body = {"name": resource.name, **resolve_references(resource.spec, ctx.ids)}
        ledger = ctx.memo.get("not_kept")
        if not isinstance(ledger, NotKeptLedger):
            ledger = ctx.memo["not_kept"] = NotKeptLedger(ctx.project.not_kept_file)  # one read per plan
        known = ledger.known(resource.address, body)
        # Fields an earlier apply found the API does not keep: reported then, not planned again.
        return without_paths(body, known) if known else body

    def plan(self, resource: Resource, ctx: PlanContext) -> list[Change]:
        """As for every kind, plus this stack's ownership tag on what a create or update sends.

        The tag (``reconciler-stack=NAME``) is how another stack, in another repository, sees
        that an assistant is owned: ledgers are files, tags travel with the object. It is
        invisible to the diff; a create sends it, an update that replaces ``tags`` keeps it.
        """
        marker = stack_marker(ctx.project.stack)
        out = []
        for change in super().plan(resource, ctx):
            if change.action is Action.CREATE and marker is not None:
                body = {**change.body, "tags": sorted({*(change.body.get("tags") or []), marker})}
                change = replace(change, body=body, after=body, fields=tuple(leaves(body)))
            elif change.action is Action.UPDATE and "tags" in change.body:
                # An update that sends tags replaces them: keep every stack's ownership tag.
                current = ctx.live.get(self.kind, resource.name) or {}
                kept = {*markers_of(current), *([marker] if marker else [])}
                change = replace(change, body={**change.body, "tags": sorted({*change.body["tags"], *kept})})
            out.append(change)
        return out

    def comparable(self, live: Mapping[str, Any], ctx: PlanContext) -> dict[str, Any]:
        out = {k: v for k, v in live.items() if k not in READ_ONLY_FIELDS}
        tools = out.get("tools")
        if isinstance(tools, list):
            out["tools"] = [_without_shared_flag(t) for t in tools if not _is_shared(t)]
            out["tool_ids"] = self._attached_tool_ids([t for t in tools if _is_shared(t)], ctx)
        if isinstance(out.get("conversation_flow"), dict):
            out["conversation_flow"] = _flow_without_resolved_tools(out["conversation_flow"])
        if isinstance(out.get("tags"), list):
            out["tags"] = sorted({tag for tag in out["tags"] if not is_marker(tag)})
        return out

    @staticmethod
    def _attached_tool_ids(shared: list[Mapping[str, Any]], ctx: PlanContext) -> list[str]:
        """Match each ``shared: true`` entry to a live Tool by content; unmatched ones stay visible.

        Content matches when one side states nothing the other contradicts (the assistant's view
        may carry server defaults the Tool's own read leaves out, or the other way round). Tools
        this stack manages are preferred, so a hand-made copy never takes a managed tool's place.
        """
        index = _tool_index(ctx)
        found: list[str] = []
        for entry in shared:
            tool_type = str(entry.get("type"))
            payload = entry.get(tool_type)
            candidates = [
                tool_id for tool_id, tool_payload in index.get(_tool_key(tool_type, payload), [])
                if tool_id not in found and _same_content(tool_payload, payload)
            ]
            found.append(candidates[0] if candidates else f"{UNKNOWN_SHARED}{tool_type} tool)")
        return sorted(found)

    def update(
        self, client: TelnyxClient, live_id: str, body: Mapping[str, Any], change: Change
    ) -> dict[str, Any] | None:
        if change.before is not None and not writes_version(body, change.before):
            # Tags and attached shared tools alone go through the tag and attach/detach endpoints,
            # which edit the main version in place and do not cost a version.
            if "tags" in body:
                have = set(change.before.get("tags") or [])
                want = set(body["tags"] or [])
                for tag in sorted(have - want):
                    client.remove_tag(live_id, tag)
                for tag in sorted(want - have):
                    client.add_tag(live_id, tag)
            if "tool_ids" in body:
                attached = set(change.before.get("tool_ids") or [])
                wanted = set(body["tool_ids"] or [])
                for tool_id in sorted(attached - wanted):  # detach first: a single-instance type may be swapped
                    with contextlib.suppress(ApiNotFound):  # not attached (any more): what the detach wanted
                        client.detach_tool(live_id, tool_id)
                for tool_id in sorted(wanted - attached):
                    client.attach_tool(live_id, tool_id)
            return None
        return client.update_assistant(live_id, body)

    def after_write(self, change: Change, live: Mapping[str, Any] | None, ids: IdIndex) -> None:
        if live is not None and isinstance(live.get("version_id"), str):
            ids.set(MAIN_VERSION, change.name, live["version_id"])
        if live is not None:
            report_not_kept(f"{self.kind}/{change.name}", change.body, live, change.not_kept_file or LEDGER_FILE)

    def read(self, client: TelnyxClient, live_id: str) -> dict[str, Any]:
        return client.get_assistant(live_id)

    def create(self, client: TelnyxClient, body: Mapping[str, Any], idempotency_key: str) -> dict[str, Any]:
        return client.create_assistant(body, idempotency_key=idempotency_key)

    def delete(self, client: TelnyxClient, live_id: str) -> None:
        client.delete_assistant(live_id)


MARKER_PREFIX = "reconciler-stack="


def stack_marker(stack: str | None) -> str | None:
    """The tag that says which stack owns an assistant; None without a stack."""
    return f"{MARKER_PREFIX}{stack}" if stack else None


def is_marker(tag: Any) -> bool:
    return isinstance(tag, str) and tag.startswith(MARKER_PREFIX)


def markers_of(live: Mapping[str, Any]) -> list[str]:
    return [tag for tag in live.get("tags") or [] if is_marker(tag)]


def marked_stacks(live: Mapping[str, Any]) -> list[str]:
    """The stacks whose ownership tag a live assistant carries."""
    return [tag.removeprefix(MARKER_PREFIX) for tag in markers_of(live)]


def _tool_key(tool_type: str, payload: Any) -> tuple[str, Any]:
    """A cheap bucket for content matching: the type and the payload's name."""
    return (tool_type, payload.get("name") if isinstance(payload, dict) else None)


def _same_content(a: Any, b: Any) -> bool:
    return not stated_differences(a, b) or not stated_differences(b, a)


def _tool_index(ctx: PlanContext) -> dict[tuple[str, Any], list[tuple[str, Any]]]:
    """Live tools bucketed by ``_tool_key``, preferred (managed) ones first; built once per plan."""
    cached = ctx.memo.get("tool_index")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    preferred = ctx.preferred_tools
    if preferred is None:
        preferred = frozenset(str(ctx.ids.get("Tool", name)) for (kind, name) in ctx.resources if kind == "Tool")
    index: dict[tuple[str, Any], list[tuple[str, Any]]] = {}
    for tool in ctx.live.listed("Tool"):
        payload = shared_tool_payload(tool)
        index.setdefault(_tool_key(str(tool.get("type")), payload), []).append((str(tool["id"]), payload))
    for bucket in index.values():
        bucket.sort(key=lambda item: item[0] not in preferred)
    ctx.memo["tool_index"] = index
    return index


def _is_shared(tool: Any) -> bool:
    return isinstance(tool, dict) and tool.get("shared") is True


def _without_shared_flag(tool: Any) -> Any:
    return {k: v for k, v in tool.items() if k != "shared"} if isinstance(tool, dict) else tool


def _flow_without_resolved_tools(flow: dict[str, Any]) -> dict[str, Any]:
    """Flow nodes gain resolved ``tools``/``tool`` on read; they are not part of the request."""
    if not isinstance(flow.get("nodes"), list):
        return flow
    nodes = [
        {k: v for k, v in node.items() if k not in ("tools", "tool")} if isinstance(node, dict) else node
        for node in flow["nodes"]
    ]
    return {**flow, "nodes": nodes}


def _has_pending_assistant(value: Any) -> bool:
    return any(p.kind == "Assistant" for p in pending_in(value))


def split_create_for_cycle(change: Change) -> tuple[Change, Change]:
    """A create that needs another new assistant's id (or its own), as create-then-link.

    The create leaves out the handoff tools and the conversation flow that point at assistants
    not created yet; the link step, once they all exist, sends those fields whole.
    """
    body = dict(change.body)
    deferred: dict[str, Any] = {}
    tools = body.get("tools")
    if isinstance(tools, list) and _has_pending_assistant(tools):
        deferred["tools"] = tools
        body["tools"] = [t for t in tools if not _has_pending_assistant(t)]
    if _has_pending_assistant(body.get("conversation_flow")):
        deferred["conversation_flow"] = body.pop("conversation_flow")
    create = replace(change, body=body, requires=requires_of(body))
    link = Change(
        Action.UPDATE, change.kind, change.name, Pending(change.kind, change.name), None, change.after,
        tuple(leaves(deferred)), deferred, change.file, change.line, change.stage,
        tuple(dict.fromkeys([change.ref, *requires_of(deferred)])), step="link",
        note="handoffs linked once every assistant they name exists",
    )
    return create, link
