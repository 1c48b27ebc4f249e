"""MCP servers (`/ai/mcp_servers`): create, read, replace, delete, and the bare-array list.

Why: PUT is a replace (telnyx-ai-api.md 6). Optional fields left out of a PUT are reset to null; the
fields a read must always carry (name, type, url) keep their value when left out; id and created_at in a
PUT body are accepted and ignored, since the server owns them. Assistants that reference a deleted server
keep the reference (Telnyx leaves this undocumented).
"""

from __future__ import annotations

import uuid
from typing import Any

from reconciler.emulator.errors import NotFound
from reconciler.emulator.paging import Page
from reconciler.emulator.state import StoreCore, now_iso

JSON = dict[str, Any]
REPLACEABLE = ("api_key_ref", "allowed_tools")
KEPT_WHEN_OMITTED = ("name", "type", "url")


class McpServerOps(StoreCore):
    """The MCP server collection, kept in read shape and creation order."""

    def _mcp(self, server_id: str) -> JSON:
        server = self.mcp_servers.get(server_id)
        if server is None:
            raise NotFound(f"MCP server {server_id} not found")
        self._mark(self.mcp_servers, server_id)
        return server

    def create_mcp_server(self, body: JSON) -> JSON:
        with self._writing():
            server: JSON = {
                "id": str(uuid.uuid4()),
                "name": body["name"],
                "type": body["type"],
                "url": body["url"],
                "created_at": now_iso(),
                "api_key_ref": body.get("api_key_ref"),
                "allowed_tools": body.get("allowed_tools"),
            }
            self.mcp_servers[server["id"]] = server
            return dict(server)

    def get_mcp_server(self, server_id: str) -> JSON:
        with self._lock:
            return dict(self._mcp(server_id))

    def replace_mcp_server(self, server_id: str, body: JSON) -> JSON:
        with self._writing():
            current = self._mcp(server_id)
            server = {
                **current,
                **{k: body.get(k, current[k]) for k in KEPT_WHEN_OMITTED},
                **{k: body.get(k) for k in REPLACEABLE},
            }
            self.mcp_servers[server_id] = server
            return dict(server)

    def delete_mcp_server(self, server_id: str) -> None:
        with self._writing():
            self._mcp(server_id)
            del self.mcp_servers[server_id]

    def list_mcp_servers(self, page: Page, kind: str | None, url: str | None) -> list[JSON]:
        """One page as a bare array; `type` and `url` match exactly; past the end it is empty."""
        with self._lock:
            found = [
                dict(s)
                for s in self.mcp_servers.values()
                if (kind is None or s["type"] == kind) and (url is None or s["url"] == url)
            ]
            return page.slice(found)
