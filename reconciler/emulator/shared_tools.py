"""The shared tools library (`/ai/tools`) and attaching its tools to assistants.

Why: a shared tool is written as `{type, display_name, timeout_ms?, <type>: payload}` but read back with
the payload under `tool_definition` (the bare payload, not `{type, <type>: ...}`), and it shows up inside
every attached assistant's `tools`. So a definition is checked against the inline tool schema of its type
(422 otherwise): a tool the assistant read could not carry is refused at the door.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from reconciler.api.api_schema import validate_request
from reconciler.api.write_rules import assistant_violations, tool_violations
from reconciler.emulator.assistants import AssistantOps, enforce
from reconciler.emulator.errors import NotFound, Unprocessable
from reconciler.emulator.paging import Page
from reconciler.emulator.state import Version, now_iso
from reconciler.emulator.toolset import as_assistant_tool, check_single_instance

DEFAULT_TIMEOUT_MS = 5000  # the OpenAPI default of CreateSharedToolRequest.timeout_ms
JSON = dict[str, Any]


def _checked(tool: JSON) -> JSON:
    """tool unchanged, or Unprocessable with locations relative to the request body."""
    problems = validate_request("AssistantTools", [as_assistant_tool(tool)])
    for problem in problems:
        loc = problem["loc"]
        problem["loc"] = ["body", *loc[2:]] if loc[:2] == ["body", 0] else loc
    if problems:
        raise Unprocessable(problems)
    enforce(tool_violations(tool["type"], tool["tool_definition"]))
    return tool


def _definition(body: JSON, kind: str, fallback: JSON) -> JSON:
    payload = body.get(kind)
    return payload if isinstance(payload, dict) else fallback


class SharedToolOps(AssistantOps):
    """CRUD of shared tools, the paginated list, and attach/detach on assistants (no new version)."""

    def create_tool(self, body: JSON) -> JSON:
        body = self._kept_tool(body)
        with self._writing():
            kind = body["type"]
            tool = _checked(
                {
                    "id": str(uuid.uuid4()),
                    "type": kind,
                    "display_name": body["display_name"],
                    "timeout_ms": body.get("timeout_ms", DEFAULT_TIMEOUT_MS),
                    "created_at": now_iso(),
                    "tool_definition": _definition(body, kind, {}),
                }
            )
            self.tools[tool["id"]] = tool
            return dict(tool)

    def _kept_tool(self, body: JSON) -> JSON:
        """In "drop" mode, the payload without keys its inline tool type does not declare."""
        kind = body.get("type")
        if self.unknown_fields != "drop" or not isinstance(kind, str) or not isinstance(body.get(kind), dict):
            return body
        (tool,) = self._kept({"tools": [{"type": kind, kind: body[kind]}]}, "CreateAssistantRequest")["tools"]
        return {**body, kind: tool.get(kind, {})}

    def get_tool(self, tool_id: str) -> JSON:
        with self._lock:
            return dict(self._tool(tool_id))

    def update_tool(self, tool_id: str, body: JSON) -> JSON:
        """Partial update: sent fields replace, the payload under the (new) type replaces the definition."""
        body = self._kept_tool(body)
        with self._writing():
            current = self._tool(tool_id)
            kind: str = body.get("type") or current["type"]
            tool = _checked(
                {
                    **current,
                    "type": kind,
                    "display_name": body.get("display_name", current["display_name"]),
                    "timeout_ms": body.get("timeout_ms", current["timeout_ms"]),
                    "tool_definition": _definition(body, kind, current["tool_definition"]),
                }
            )
            for version in self._holding(tool_id):
                others = self._shared([t for t in version.tool_ids if t != tool_id])
                check_single_instance(version.config.get("tools"), [*others, tool])
            self.tools[tool_id] = tool
            return dict(tool)

    def delete_tool(self, tool_id: str) -> None:
        """Delete permanently and detach from every version of every assistant that had it."""
        with self._writing():
            self._tool(tool_id)
            del self.tools[tool_id]
            for version in self._holding(tool_id):
                version.tool_ids = [t for t in version.tool_ids if t != tool_id]

    def list_tools(self, page: Page, name: str | None, kind: str | None) -> JSON:
        """`{data, meta}`, creation order; `filter[name]` and `filter[type]` match exactly."""
        with self._lock:
            found = [
                dict(t)
                for t in self.tools.values()
                if (name is None or t["display_name"] == name) and (kind is None or t["type"] == kind)
            ]
            return {"data": page.slice(found), "meta": page.meta(len(found))}

    def _holding(self, tool_id: str) -> Iterator[Version]:
        """Every version that has the tool attached, of live then deleted assistants, oldest first."""
        for collection in (self.assistants, self.deleted_assistants):
            for assistant in collection.values():
                for version in assistant.versions:
                    if tool_id in version.tool_ids:
                        self._mark(collection, assistant.id)
                        yield version

    def attach_tool(self, assistant_id: str, tool_id: str) -> JSON:
        """Attach to the main version in place (no new version); attaching twice is a no-op."""
        with self._writing():
            assistant = self._get(assistant_id)
            self._tool(tool_id)
            main = assistant.main
            if tool_id not in main.tool_ids:
                tool_ids = [*main.tool_ids, tool_id]
                enforce(assistant_violations({**main.config, "tool_ids": tool_ids}, self._tool_type))
                check_single_instance(main.config.get("tools"), self._shared(tool_ids))
                main.tool_ids = tool_ids
            return self._render(assistant, main)

    def detach_tool(self, assistant_id: str, tool_id: str) -> JSON:
        """Detach from the main version in place (no new version); 404 when it is not attached."""
        with self._writing():
            assistant = self._get(assistant_id)
            self._tool(tool_id)
            main = assistant.main
            if tool_id not in main.tool_ids:
                raise NotFound(f"Tool {tool_id} is not attached to assistant {assistant_id}")
            main.tool_ids = [t for t in main.tool_ids if t != tool_id]
            return self._render(assistant, main)
