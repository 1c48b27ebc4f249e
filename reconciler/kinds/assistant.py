"""Assistants: ``/ai/assistants``.

Identity is the assistant ``name`` (the manifest's ``name``). The list endpoint returns full
objects, so reading live state costs one request however many assistants there are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.client import TelnyxClient
from reconciler.kinds.base import KindHandler
from reconciler.model import Resource

READ_ONLY_FIELDS = frozenset(
    {
        "id",
        "created_at",
        "version_id",
        "version_created_at",
        "import_metadata",
        "related_mission_ids",
    }
)
"""Fields the server owns; never compared, never sent."""


def _inline_tools(tools: Any) -> Any:
    """Live ``tools`` merge attached shared tools in with ``shared: true``: keep inline ones only."""
    if not isinstance(tools, list):
        return tools
    inline = []
    for tool in tools:
        if isinstance(tool, dict):
            if tool.get("shared") is True:
                continue
            tool = {k: v for k, v in tool.items() if k != "shared"}
        inline.append(tool)
    return inline


def _flow_without_resolved_tools(flow: Any) -> Any:
    """Flow nodes gain resolved ``tools``/``tool`` on read; they are not part of the request."""
    if not isinstance(flow, dict) or not isinstance(flow.get("nodes"), list):
        return flow
    nodes = [
        {k: v for k, v in node.items() if k not in ("tools", "tool")} if isinstance(node, dict) else node
        for node in flow["nodes"]
    ]
    return {**flow, "nodes": nodes}


class AssistantHandler(KindHandler):
    kind = "Assistant"
    level = 1

    def list_live(self, client: TelnyxClient) -> list[dict[str, Any]]:
        return client.list_assistants()

    def live_name(self, live: Mapping[str, Any]) -> str:
        return str(live.get("name", ""))

    def desired_body(self, resource: Resource) -> dict[str, Any]:
        return {"name": resource.name, **resource.spec}

    def comparable(self, live: Mapping[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in live.items() if k not in READ_ONLY_FIELDS}
        if "tools" in out:
            out["tools"] = _inline_tools(out["tools"])
        if "conversation_flow" in out:
            out["conversation_flow"] = _flow_without_resolved_tools(out["conversation_flow"])
        return out

    def update_body(self, desired: Mapping[str, Any], changed_keys: list[str]) -> dict[str, Any]:
        # Top-level fields are partial; nested objects are sent whole so nothing is half-merged.
        return {key: desired[key] for key in changed_keys if key in desired}

    def create(self, client: TelnyxClient, body: Mapping[str, Any], idempotency_key: str) -> dict[str, Any]:
        return client.create_assistant(body, idempotency_key=idempotency_key)

    def update(self, client: TelnyxClient, live_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return client.update_assistant(live_id, body)

    def delete(self, client: TelnyxClient, live_id: str) -> None:
        client.delete_assistant(live_id)
