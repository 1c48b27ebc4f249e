"""The emulator's state: assistants with their versions, idempotency replays, and persistence.

Why: every business rule of the assistant API (versions on update, the 10-version cap and its eviction
exemptions, promote, soft delete) lives here, behind one lock, independent of HTTP. The state is a plain
JSON document so a `--state` file survives restarts; each collection is its own top-level key, which is
where shared tools, MCP servers and canary configs will slot in.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.emulator import defaults
from reconciler.emulator.errors import BadRequest, NotFound
from reconciler.emulator.merge import merge_patch

MAX_VERSIONS = 10
STATE_FORMAT = 1
JSON = dict[str, Any]


def now_iso() -> str:
    """ISO-8601 UTC with microseconds, the way Telnyx timestamps read."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Version:
    """One stored configuration of an assistant."""

    version_id: str
    version_name: str
    created_at: str
    config: JSON


@dataclass
class Assistant:
    """An assistant: identity, server-created companions, its versions (oldest first) and which is main."""

    id: str
    created_at: str
    texml_app_id: str
    messaging_profile_id: str
    main_version_id: str
    versions: list[Version] = field(default_factory=list)
    # The canary deploy config ({"rules": [...], ...}) once that API exists; versions it names are
    # protected from eviction and promote clears it.
    canary: JSON | None = None
    deleted_at: str | None = None

    def version(self, version_id: str) -> Version:
        for version in self.versions:
            if version.version_id == version_id:
                return version
        raise NotFound(f"Version {version_id} of assistant {self.id} not found")

    @property
    def main(self) -> Version:
        return self.version(self.main_version_id)


def canary_version_ids(canary: JSON | None) -> set[str]:
    """Version ids a canary config routes traffic to (pinned or in a rollout)."""
    ids: set[str] = set()
    for rule in (canary or {}).get("rules") or []:
        serve = rule.get("serve") or {}
        if serve.get("version_id"):
            ids.add(serve["version_id"])
        ids.update(slot["version_id"] for slot in serve.get("rollout") or [] if slot.get("version_id"))
    return ids


def render(assistant: Assistant, version: Version) -> JSON:
    """The read shape of one version: identity first, then config with read-time defaults."""
    config = copy.deepcopy(version.config)
    if isinstance(config.get("tools"), list):
        config["tools"] = defaults.read_tools(config["tools"])
    return {
        "id": assistant.id,
        "created_at": assistant.created_at,
        **config,
        "version_id": version.version_id,
        "version_name": version.version_name,
        "version_created_at": version.created_at,
    }


class Store:
    """Thread-safe state; every mutation is saved to the state file (when there is one) before returning."""

    def __init__(self, state_file: Path | None = None) -> None:
        self._lock = threading.RLock()
        self._state_file = state_file
        self.assistants: dict[str, Assistant] = {}
        self.deleted_assistants: dict[str, Assistant] = {}
        self._idempotency: dict[str, JSON] = {}
        if state_file is not None and state_file.exists():
            self._load(state_file)

    # -- transactions and persistence --------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[None]:
        with self._lock:
            yield
            self._save()

    def _save(self) -> None:
        if self._state_file is None:
            return
        document = {
            "format": STATE_FORMAT,
            "assistants": [asdict(a) for a in self.assistants.values()],
            "deleted_assistants": [asdict(a) for a in self.deleted_assistants.values()],
            "idempotency": self._idempotency,
        }
        path = self._state_file
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle, indent=1, sort_keys=True)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _load(self, path: Path) -> None:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format") != STATE_FORMAT:
            raise ValueError(f"{path}: unsupported emulator state format {document.get('format')!r}")
        self.assistants = {a["id"]: _assistant_from_json(a) for a in document.get("assistants", [])}
        self.deleted_assistants = {
            a["id"]: _assistant_from_json(a) for a in document.get("deleted_assistants", [])
        }
        self._idempotency = dict(document.get("idempotency", {}))

    def once(self, key: str, run: Callable[[], tuple[int, Any]]) -> tuple[int, Any]:
        """Run a create at most once per idempotency key; later calls replay the first status and body."""
        with self._writing():
            if key in self._idempotency:
                seen = self._idempotency[key]
                return int(seen["status"]), copy.deepcopy(seen["body"])
            status, body = run()
            self._idempotency[key] = {"status": status, "body": copy.deepcopy(body)}
            return status, body

    # -- assistants --------------------------------------------------------------------------------

    def _get(self, assistant_id: str) -> Assistant:
        assistant = self.assistants.get(assistant_id)
        if assistant is None:
            raise NotFound(f"Assistant {assistant_id} not found")
        return assistant

    def create_assistant(self, body: JSON) -> JSON:
        with self._writing():
            assistant = Assistant(
                id=f"assistant-{uuid.uuid4()}",
                created_at=now_iso(),
                texml_app_id=defaults.new_texml_app_id(),
                messaging_profile_id=defaults.new_messaging_profile_id(),
                main_version_id="",
            )
            version = self._new_version(assistant, merge_patch({}, body), defaults.DEFAULT_VERSION_NAME)
            version.created_at = assistant.created_at  # the first version is born with the assistant
            assistant.main_version_id = version.version_id
            self.assistants[assistant.id] = assistant
            return render(assistant, version)

    def list_assistants(self) -> list[JSON]:
        with self._lock:
            return [render(a, a.main) for a in self.assistants.values()]

    def get_assistant(self, assistant_id: str) -> JSON:
        with self._lock:
            assistant = self._get(assistant_id)
            return render(assistant, assistant.main)

    def update_assistant(self, assistant_id: str, body: JSON) -> JSON:
        """Every update writes a new version on top of main; promote_to_main (default true) makes it main."""
        with self._writing():
            assistant = self._get(assistant_id)
            promote = body.get("promote_to_main", True) is not False
            name = body.get("version_name") or defaults.DEFAULT_VERSION_NAME
            version = self._new_version(assistant, merge_patch(assistant.main.config, body), name)
            if promote:
                assistant.main_version_id = version.version_id
            self._evict(assistant)
            return render(assistant, version)

    def delete_assistant(self, assistant_id: str, hard: bool) -> JSON:
        with self._writing():
            assistant = self._get(assistant_id)
            referrers = sorted(
                a.id for a in self.assistants.values() if _refers_to(a.main.config, assistant_id)
            )
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

    # -- versions ----------------------------------------------------------------------------------

    def _new_version(self, assistant: Assistant, config: JSON, name: str) -> Version:
        filled = defaults.fill_write_defaults(config, assistant.texml_app_id, assistant.messaging_profile_id)
        version = Version(
            version_id=str(uuid.uuid4()), version_name=name, created_at=now_iso(), config=filled
        )
        assistant.versions.append(version)
        return version

    def _evict(self, assistant: Assistant) -> None:
        """Keep at most MAX_VERSIONS, dropping the oldest first but never main nor a canary target."""
        protected = {assistant.main_version_id} | canary_version_ids(assistant.canary)
        excess = len(assistant.versions) - MAX_VERSIONS
        if excess <= 0:
            return
        evictable = [v.version_id for v in assistant.versions if v.version_id not in protected][:excess]
        assistant.versions = [v for v in assistant.versions if v.version_id not in evictable]

    def list_versions(self, assistant_id: str) -> list[JSON]:
        """All kept versions, newest first (main included)."""
        with self._lock:
            assistant = self._get(assistant_id)
            return [render(assistant, v) for v in reversed(assistant.versions)]

    def get_version(self, assistant_id: str, version_id: str) -> JSON:
        with self._lock:
            assistant = self._get(assistant_id)
            return render(assistant, assistant.version(version_id))

    def update_version(self, assistant_id: str, version_id: str, body: JSON) -> JSON:
        """Edit a non-main version in place (same id); main can only change through an assistant update."""
        with self._writing():
            assistant = self._get(assistant_id)
            version = assistant.version(version_id)
            if version_id == assistant.main_version_id:
                raise BadRequest(f"Version {version_id} is the main version; update the assistant instead")
            merged = merge_patch(version.config, body)
            version.config = defaults.fill_write_defaults(
                merged, assistant.texml_app_id, assistant.messaging_profile_id
            )
            if body.get("version_name"):
                version.version_name = body["version_name"]
            return render(assistant, version)

    def delete_version(self, assistant_id: str, version_id: str) -> None:
        with self._writing():
            assistant = self._get(assistant_id)
            assistant.version(version_id)
            if version_id == assistant.main_version_id:
                raise BadRequest(f"Version {version_id} is the main version and cannot be deleted")
            assistant.versions = [v for v in assistant.versions if v.version_id != version_id]

    def promote_version(self, assistant_id: str, version_id: str) -> JSON:
        """Make a version main; this also removes the canary deploy config, as on Telnyx."""
        with self._writing():
            assistant = self._get(assistant_id)
            version = assistant.version(version_id)
            assistant.main_version_id = version_id
            assistant.canary = None
            return render(assistant, version)


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


def _assistant_from_json(data: JSON) -> Assistant:
    versions = [Version(**v) for v in data.get("versions", [])]
    return Assistant(**{**data, "versions": versions})
