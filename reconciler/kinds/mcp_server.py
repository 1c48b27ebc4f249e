"""MCP servers: ``/ai/mcp_servers``.

Identity is the server ``name``. Updates are PUT, a replace: the body always carries every
writable field, taking the live value for a field the manifest does not state, so a PUT never
clears what the manifest leaves to others.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.api.client import TelnyxClient
from reconciler.changes.change import Change
from reconciler.kinds.base import KindHandler, PlanContext
from reconciler.model import Resource

WRITABLE = ("name", "type", "url", "api_key_ref", "allowed_tools")


class McpServerHandler(KindHandler):
    kind = "McpServer"
    level = 0

    def list_live(self, client: TelnyxClient) -> list[dict[str, Any]]:
        return client.list_mcp_servers()

    def desired_body(self, resource: Resource, ctx: PlanContext) -> dict[str, Any]:
        return {"name": resource.name, **resource.spec}

    def comparable(self, live: Mapping[str, Any], ctx: PlanContext) -> dict[str, Any]:
        return {key: live.get(key) for key in WRITABLE}

    def update_body(
        self, desired: Mapping[str, Any], changed_keys: list[str], before: Mapping[str, Any]
    ) -> dict[str, Any]:
        return {key: desired[key] if key in desired else before.get(key) for key in WRITABLE}

    def read(self, client: TelnyxClient, live_id: str) -> dict[str, Any]:
        return client.get_mcp_server(live_id)

    def create(self, client: TelnyxClient, body: Mapping[str, Any], idempotency_key: str) -> dict[str, Any]:
        return client.create_mcp_server(body, idempotency_key=idempotency_key)

    def update(
        self, client: TelnyxClient, live_id: str, body: Mapping[str, Any], change: Change
    ) -> dict[str, Any] | None:
        return client.replace_mcp_server(live_id, body)

    def delete(self, client: TelnyxClient, live_id: str) -> None:
        client.delete_mcp_server(live_id)
