"""Shared tools: ``/ai/tools``.

Identity is ``display_name`` (the manifest's ``name``). The payload is written under its type's
key (``webhook: {...}``) but read back as ``tool_definition``; ``comparable`` puts it back under
the type's key so an unchanged tool never shows a diff. Updates are PATCH (partial).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.api.client import TelnyxClient
from reconciler.changes.change import Change
from reconciler.kinds.assistant import shared_tool_payload
from reconciler.kinds.base import KindHandler, PlanContext
from reconciler.model import Resource


class ToolHandler(KindHandler):
    kind = "Tool"
    level = 0

    def list_live(self, client: TelnyxClient) -> list[dict[str, Any]]:
        return client.list_tools()

    def live_name(self, live: Mapping[str, Any]) -> str:
        return str(live.get("display_name", ""))

    def desired_body(self, resource: Resource, ctx: PlanContext) -> dict[str, Any]:
        return {"display_name": resource.name, **resource.spec}

    def comparable(self, live: Mapping[str, Any], ctx: PlanContext) -> dict[str, Any]:
        out: dict[str, Any] = {"display_name": live.get("display_name"), "type": live.get("type")}
        if live.get("timeout_ms") is not None:
            out["timeout_ms"] = live["timeout_ms"]
        tool_type = live.get("type")
        if isinstance(tool_type, str):
            out[tool_type] = shared_tool_payload(live)
        return out

    def update_body(
        self, desired: Mapping[str, Any], changed_keys: list[str], before: Mapping[str, Any]
    ) -> dict[str, Any]:
        body = {key: desired[key] for key in changed_keys if key in desired}
        tool_type = desired.get("type")
        if isinstance(tool_type, str) and ("type" in body or tool_type in body):
            # A type and its payload only make sense together.
            body["type"] = tool_type
            body[tool_type] = desired.get(tool_type)
        return body

    def read(self, client: TelnyxClient, live_id: str) -> dict[str, Any]:
        return client.get_tool(live_id)

    def create(self, client: TelnyxClient, body: Mapping[str, Any], idempotency_key: str) -> dict[str, Any]:
        return client.create_tool(body, idempotency_key=idempotency_key)

    def update(
        self, client: TelnyxClient, live_id: str, body: Mapping[str, Any], change: Change
    ) -> dict[str, Any] | None:
        return client.update_tool(live_id, body)

    def delete(self, client: TelnyxClient, live_id: str) -> None:
        client.delete_tool(live_id)
