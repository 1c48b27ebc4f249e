"""Assistant and version rules: versions on update, the 10-version cap, promote, soft delete.

Why: every business rule of the assistant API lives here, independent of HTTP. Each version carries its
own attached shared tool ids, so reads of any version merge the shared tools that version had.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from reconciler.api.api_schema import known_only
from reconciler.api.write_rules import Violation, assistant_violations
from reconciler.emulator import defaults
from reconciler.emulator.errors import BadRequest, Unprocessable
from reconciler.emulator.merge import merge_patch
from reconciler.emulator.state import Assistant, StoreCore, Version, json_bytes, now_iso
from reconciler.emulator.toolset import check_single_instance, read_view

MAX_VERSIONS = 10
JSON = dict[str, Any]


def canary_version_ids(canary: JSON | None) -> set[str]:
    """Version ids a canary config routes traffic to (pinned or in a rollout)."""
    ids: set[str] = set()
    for rule in (canary or {}).get("rules") or []:
        serve = rule.get("serve") or {}
        if serve.get("version_id"):
            ids.add(serve["version_id"])
        ids.update(slot["version_id"] for slot in serve.get("rollout") or [] if slot.get("version_id"))
    return ids


class AssistantOps(StoreCore):
    """Create, read, update and delete assistants and their versions."""

    unknown_fields = "keep"
    """"keep": store keys the request schema does not declare (the default, as the open schema
    allows); "drop": leave them out, as a server with strict models would, so clients can see
    which of the fields they sent did not stick."""

    def _kept(self, body: JSON, component: str) -> JSON:
        if self.unknown_fields != "drop":
            return body
        kept: JSON = known_only(component, body)
        return kept

    # -- reading -----------------------------------------------------------------------------------

    def _shared(self, tool_ids: list[str]) -> list[JSON]:
        """The attached shared tools that still exist, in attach order."""
        return [self.tools[t] for t in tool_ids if t in self.tools]

    def _render(self, assistant: Assistant, version: Version) -> JSON:
        """The read shape of one version: identity first, then config, merged tools, version fields."""
        config = copy.deepcopy(version.config)
        tools = read_view(config.pop("tools", None), self._shared(version.tool_ids))
        if tools is not None:
            config["tools"] = tools
        shown: JSON = {"id": assistant.id, "created_at": assistant.created_at, **config}
        if assistant.import_metadata is not None:
            shown["import_metadata"] = copy.deepcopy(assistant.import_metadata)
        return {
            **shown,
            "version_id": version.version_id,
            "version_name": version.version_name,
            "version_created_at": version.created_at,
        }

    def _rendered(self, assistant: Assistant, version: Version) -> bytes:
        """``json_bytes(self._render(assistant, version))``, cached until a write marks the assistant (or a
        shared tool it holds) changed: see ``StoreCore._rendered_entry``."""
        entry = self._rendered_entry(assistant.id)
        if entry is None:
            return json_bytes(self._render(assistant, version))
        body = entry.versions.get(version.version_id)
        if body is None:
            body = entry.versions[version.version_id] = json_bytes(self._render(assistant, version))
        return body

    def list_assistants(self) -> list[JSON]:
        with self._lock:
            return [self._render(a, a.main) for a in self.assistants.values()]

    def list_assistants_json(self) -> bytes:
        """The body of GET /ai/assistants, `{"data": [...]}`, joined from each assistant's cached body; the
        whole body is cached too, until the next write."""
        with self._lock:
            caching = self._caching()  # first: it may empty the cache
            if caching and self._renders_list is not None:
                return self._renders_list
            body = _data_list([self._rendered(a, a.main) for a in self.assistants.values()])
            if caching:
                self._renders_list = body
            return body

    def get_assistant(self, assistant_id: str) -> JSON:
        with self._lock:
            assistant = self._get(assistant_id)
            return self._render(assistant, assistant.main)

    def get_assistant_json(self, assistant_id: str) -> bytes:
        with self._lock:
            assistant = self._get(assistant_id)
            return self._rendered(assistant, assistant.main)

    def list_versions(self, assistant_id: str) -> list[JSON]:
        """All kept versions, newest first (main included)."""
        with self._lock:
            assistant = self._get(assistant_id)
            return [self._render(assistant, v) for v in reversed(assistant.versions)]

    def list_versions_json(self, assistant_id: str) -> bytes:
        """The body of GET /ai/assistants/{id}/versions, `{"data": [...]}`, newest first."""
        with self._lock:
            assistant = self._get(assistant_id)
            return _data_list([self._rendered(assistant, v) for v in reversed(assistant.versions)])

    def get_version(self, assistant_id: str, version_id: str) -> JSON:
        with self._lock:
            assistant = self._get(assistant_id)
            return self._render(assistant, assistant.version(version_id))

    def get_version_json(self, assistant_id: str, version_id: str) -> bytes:
        with self._lock:
            assistant = self._get(assistant_id)
            return self._rendered(assistant, assistant.version(version_id))

    # -- writing -----------------------------------------------------------------------------------

    def _tool_ids(self, body: JSON, current: list[str]) -> list[str]:
        """The attached set after a write: `tool_ids` replaces it (null clears), absent keeps it."""
        if "tool_ids" not in body:
            return list(current)
        wanted = list(dict.fromkeys(body["tool_ids"] or []))
        for tool_id in wanted:
            self._tool(tool_id)
        return wanted

    def _tool_type(self, tool_id: str) -> str | None:
        tool = self.tools.get(tool_id)
        return str(tool["type"]) if tool is not None else None

    def _configure(self, assistant: Assistant, version: Version, config: JSON, tool_ids: list[str]) -> None:
        """Store config (with write-time defaults) and tool ids on version, after the write rules and
        the cardinality check. The rules judge the whole resulting configuration, not only the body."""
        enforce(assistant_violations({**config, "tool_ids": tool_ids}, self._tool_type))
        check_single_instance(config.get("tools"), self._shared(tool_ids))
        version.config = defaults.fill_write_defaults(config, assistant.texml_app_id, assistant.messaging_profile_id)
        version.tool_ids = tool_ids

    def _new_version(self, assistant: Assistant, config: JSON, tool_ids: list[str], name: str) -> Version:
        version = Version(version_id=str(uuid.uuid4()), version_name=name, created_at=now_iso(), config={})
        self._configure(assistant, version, config, tool_ids)
        assistant.versions.append(version)
        return version

    def create_assistant(self, body: JSON) -> JSON:
        body = self._kept(body, "CreateAssistantRequest")
        with self._writing():
            assistant = Assistant(
                id=f"assistant-{uuid.uuid4()}",
                created_at=now_iso(),
                texml_app_id=defaults.new_texml_app_id(),
                messaging_profile_id=defaults.new_messaging_profile_id(),
                main_version_id="",
            )
            tool_ids = self._tool_ids(body, [])
            version = self._new_version(assistant, merge_patch({}, body), tool_ids, defaults.DEFAULT_VERSION_NAME)
            version.created_at = assistant.created_at  # the first version is born with the assistant
            assistant.main_version_id = version.version_id
            self.assistants[assistant.id] = assistant
            return self._render(assistant, version)

    def update_assistant(self, assistant_id: str, body: JSON) -> JSON:
        """Every update writes a new version on top of main; promote_to_main (default true) makes it main."""
        body = self._kept(body, "UpdateAssistantRequestWithPromotion")
        with self._writing():
            assistant = self._get(assistant_id)
            main = assistant.main
            promote = body.get("promote_to_main", True) is not False
            name = body.get("version_name") or defaults.DEFAULT_VERSION_NAME
            tool_ids = self._tool_ids(body, main.tool_ids)
            version = self._new_version(assistant, merge_patch(main.config, body), tool_ids, name)
            if promote:
                assistant.main_version_id = version.version_id
            self._evict(assistant)
            return self._render(assistant, version)

    def delete_assistant(self, assistant_id: str, hard: bool) -> JSON:
        with self._writing():
            assistant = self._get(assistant_id)
            referrers = sorted(a.id for a in self.assistants.values() if _refers_to(a.main.config, assistant_id))
            if referrers:
                raise BadRequest(
                    f"Assistant {assistant_id} is still referenced by {', '.join(referrers)}; "
                    "remove those references first"
                )
            del self.assistants[assistant_id]
            if not hard:
                assistant.deleted_at = now_iso()
                self.deleted_assistants[assistant_id] = assistant
            return {"id": assistant_id, "deleted": True, "object": "assistant"}

    def _evict(self, assistant: Assistant) -> None:
        """Keep at most MAX_VERSIONS, dropping the oldest first but never main nor a canary target."""
        protected = {assistant.main_version_id} | canary_version_ids(assistant.canary)
        excess = len(assistant.versions) - MAX_VERSIONS
        if excess <= 0:
            return
        evictable = [v.version_id for v in assistant.versions if v.version_id not in protected][:excess]
        assistant.versions = [v for v in assistant.versions if v.version_id not in evictable]

    def update_version(self, assistant_id: str, version_id: str, body: JSON) -> JSON:
        """Edit a non-main version in place (same id); main can only change through an assistant update."""
        body = self._kept(body, "UpdateAssistantRequest")
        with self._writing():
            assistant = self._get(assistant_id)
            version = assistant.version(version_id)
            if version_id == assistant.main_version_id:
                raise BadRequest(f"Version {version_id} is the main version; update the assistant instead")
            tool_ids = self._tool_ids(body, version.tool_ids)
            self._configure(assistant, version, merge_patch(version.config, body), tool_ids)
            if body.get("version_name"):
                version.version_name = body["version_name"]
            return self._render(assistant, version)

    def delete_version(self, assistant_id: str, version_id: str) -> None:
        """Remove a version; main and versions a canary rule serves are refused (400)."""
        with self._writing():
            assistant = self._get(assistant_id)
            assistant.version(version_id)
            if version_id == assistant.main_version_id:
                raise BadRequest(f"Version {version_id} is the main version and cannot be deleted")
            if version_id in canary_version_ids(assistant.canary):
                raise BadRequest(f"Version {version_id} is served by the canary deploy; change or delete it first")
            assistant.versions = [v for v in assistant.versions if v.version_id != version_id]

    def promote_version(self, assistant_id: str, version_id: str) -> JSON:
        """Make a version main; this also removes the canary deploy config, as on Telnyx."""
        with self._writing():
            assistant = self._get(assistant_id)
            version = assistant.version(version_id)
            assistant.main_version_id = version_id
            assistant.canary = None
            return self._render(assistant, version)


def _data_list(parts: list[bytes]) -> bytes:
    """``json_bytes({"data": [...]})`` from the items' encoded bodies, copying the (large) whole only once."""
    if not parts:
        return b'{"data":[]}'
    parts[0] = b'{"data":[' + parts[0]
    parts[-1] = parts[-1] + b"]}"
    return b",".join(parts)


def enforce(violations: list[Violation]) -> None:
    """Refuse a write that breaks API rules: 422 (FastAPI `value_error`) for all of those, else the first 400."""
    unprocessable = [v for v in violations if v.status == 422]
    if unprocessable:
        raise Unprocessable(
            [
                {"loc": ["body", *v.path], "msg": f"Value error, {v.message}", "type": "value_error"}
                for v in unprocessable
            ]
        )
    if violations:
        first = violations[0]
        raise BadRequest(f"{'.'.join(str(p) for p in first.path)}: {first.message}")


def _refers_to(config: JSON, assistant_id: str) -> bool:
    """Whether config hands off to assistant_id (handoff tool or conversation-flow edge)."""
    for tool in config.get("tools") or []:
        handoff = tool.get("handoff") if isinstance(tool, dict) and tool.get("type") == "handoff" else None
        if isinstance(handoff, dict) and any(
            isinstance(t, dict) and t.get("id") == assistant_id for t in handoff.get("ai_assistants") or []
        ):
            return True
    flow = config.get("conversation_flow")
    for edge in (flow.get("edges") or []) if isinstance(flow, dict) else []:
        target = edge.get("target") if isinstance(edge, dict) else None
        if (
            isinstance(target, dict)
            and target.get("type") == "assistant"
            and target.get("assistant_id") == assistant_id
        ):
            return True
    return False
