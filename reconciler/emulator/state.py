"""The emulator's records and the store core: one lock, the JSON state file, idempotency replays.

Why: the per-resource rule modules (assistants, shared tools, MCP servers, tags, canary deploys) share one
consistent state and one transaction boundary; this module owns both and nothing else. The state file is a
plain JSON document, one top-level key per collection, so a `--state` file survives restarts.
"""

from __future__ import annotations

import copy
import fcntl
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.emulator.errors import IdempotencyConflict, NotFound
from reconciler.manifests.files import FileRefused, read_regular

STATE_FORMAT = 1
JSON = dict[str, Any]
IDEMPOTENCY_WINDOW_SECONDS = 24 * 60 * 60
"""How long a key is remembered (docs/emulator.md): the payment APIs that made the header keep 24 hours."""


MAX_STATE_BYTES = 1 << 30
"""Largest state file read (1 GiB): far above any account the emulator serves well."""


class StateFileError(ValueError):
    """The state file cannot be used: another emulator holds it, or it is not a state file."""


def now_iso() -> str:
    """ISO-8601 UTC with microseconds, the way Telnyx timestamps read."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Version:
    """One stored configuration of an assistant, with the shared tools attached to it."""

    version_id: str
    version_name: str
    created_at: str
    config: JSON
    tool_ids: list[str] = field(default_factory=list)


@dataclass
class Assistant:
    """An assistant: identity, server-created companions, its versions (oldest first) and which is main."""

    id: str
    created_at: str
    texml_app_id: str
    messaging_profile_id: str
    main_version_id: str
    versions: list[Version] = field(default_factory=list)
    # The canary deploy config {"rules", "created_at", "updated_at"}; versions it names are protected
    # from eviction and promote clears it.
    canary: JSON | None = None
    deleted_at: str | None = None
    # {"import_id", "import_provider"} for an assistant created by POST /ai/assistants/import; it belongs
    # to the assistant (every version shows it) and no create or update body can set it.
    import_metadata: JSON | None = None

    def version(self, version_id: str) -> Version:
        for version in self.versions:
            if version.version_id == version_id:
                return version
        raise NotFound(f"Version {version_id} of assistant {self.id} not found")

    @property
    def main(self) -> Version:
        return self.version(self.main_version_id)


class StoreCore:
    """Thread-safe state; every mutation is saved to the state file (when there is one) before returning."""

    def __init__(self, state_file: Path | None = None) -> None:
        self._lock = threading.RLock()
        self._depth = 0  # nesting of _writing; only the outermost one saves
        self._state_file = state_file
        self.assistants: dict[str, Assistant] = {}
        self.deleted_assistants: dict[str, Assistant] = {}
        self.tools: dict[str, JSON] = {}  # shared tools in their read shape, creation order
        self.mcp_servers: dict[str, JSON] = {}  # MCP servers in their read shape, creation order
        self.assistant_tests: dict[str, JSON] = {}  # assistant tests in their read shape, creation order
        self.test_runs: dict[str, JSON] = {}  # test run records (assistant_tests.py), trigger order
        self._idempotency: dict[str, JSON] = {}
        self.saves = 0  # times the state file was written (whole): one per write request, none per read
        self._lock_fd: int | None = None
        if state_file is not None:
            self._lock_state(state_file)
            try:
                if state_file.exists():
                    self._load(state_file)
            except BaseException:
                self.close()
                raise

    def _lock_state(self, path: Path) -> None:
        """An exclusive lock beside the state file for the store's lifetime.

        Why: two emulators on one file each rewrite it from their own memory, so one silently loses
        the other's writes. The lock file (``STATE.lock``) is locked, not the state file, because
        saving replaces the state file with a new one.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = path.with_name(path.name + ".lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StateFileError(f"{path} is in use by another emulator (locked through {lock.name})") from None
        self._lock_fd = fd

    def close(self) -> None:
        """Release the state file for another emulator; safe to call twice.

        The lock file stays: deleting it would let an emulator that already opened it lock the
        deleted file while a third one locks a new file of the same name, two on one state.
        """
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold the lock for a mutation and save once when the outermost one finishes without error.

        Why the depth count: writes nest (a keyed create, an import creating one assistant per agent),
        and the state file should be written once per request, not once per level.
        """
        with self._lock:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            if self._depth == 0:
                self._save()

    def _save(self) -> None:
        if self._state_file is None:
            return
        document = {
            "format": STATE_FORMAT,
            "assistants": [asdict(a) for a in self.assistants.values()],
            "deleted_assistants": [asdict(a) for a in self.deleted_assistants.values()],
            "tools": list(self.tools.values()),
            "mcp_servers": list(self.mcp_servers.values()),
            "assistant_tests": list(self.assistant_tests.values()),
            "test_runs": list(self.test_runs.values()),
            "idempotency": self._idempotency,
        }
        path = self._state_file
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle, indent=1, sort_keys=True)
            os.replace(tmp, path)
            self.saves += 1
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _load(self, path: Path) -> None:
        """Read a state file; anything but one this emulator wrote is a ``StateFileError`` with a message."""
        try:
            raw = read_regular(path, MAX_STATE_BYTES)  # a FIFO or /dev/zero must not hang or fill memory
        except FileRefused as err:
            raise StateFileError(f"{path}: cannot read the state file: {err}") from None
        if len(raw) > MAX_STATE_BYTES:
            raise StateFileError(f"{path}: larger than {MAX_STATE_BYTES >> 20} MiB; not an emulator state file")
        try:
            document = json.loads(raw)
        except (ValueError, RecursionError) as err:
            raise StateFileError(
                f"{path}: not an emulator state file ({type(err).__name__}); move it away to start empty"
            ) from None
        if not isinstance(document, dict) or document.get("format") != STATE_FORMAT:
            found = document.get("format") if isinstance(document, dict) else type(document).__name__
            raise StateFileError(f"{path}: unsupported emulator state format {found!r}")
        try:
            self.assistants = {a["id"]: _assistant_from_json(a) for a in document.get("assistants", [])}
            self.deleted_assistants = {a["id"]: _assistant_from_json(a) for a in document.get("deleted_assistants", [])}
            self.tools = {t["id"]: t for t in document.get("tools", [])}
            self.mcp_servers = {m["id"]: m for m in document.get("mcp_servers", [])}
            # absent in state files written before the emulator served assistant tests
            self.assistant_tests = {t["test_id"]: t for t in document.get("assistant_tests", [])}
            self.test_runs = {r["run_id"]: r for r in document.get("test_runs", [])}
            self._idempotency = dict(document.get("idempotency", {}))
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise StateFileError(
                f"{path}: a damaged emulator state file ({type(err).__name__}: {err}); move it away to start empty"
            ) from None

    def once(self, key: str, run: Callable[[], tuple[int, Any]]) -> tuple[int, Any]:
        """Run a create at most once per idempotency key; later calls replay the first status and body.

        Keys are remembered for ``IDEMPOTENCY_WINDOW_SECONDS``. A replay whose first answer created an
        object that has since been deleted is refused with 409 instead of returning a dead id: the
        caller asked for an object to exist, and answering as if it did would be a lie. A replay
        changes nothing, so it only reads under the lock and does not save.
        """
        with self._lock:
            now = time.time()
            seen = self._idempotency.get(key)
            if seen is not None and now - float(seen.get("at", now)) > IDEMPOTENCY_WINDOW_SECONDS:
                seen = None  # expired: the key is free again
            if seen is not None:
                created = _created_ids(seen["body"]) if int(seen["status"]) in (200, 201) else []
                gone = [object_id for object_id in created if not self._exists(object_id)]
                if gone:
                    error = IdempotencyConflict(
                        f"the object {gone[0]} created under this Idempotency-Key no longer exists; "
                        "send a new key to create it again"
                    )
                    return error.status, error.body()
                return int(seen["status"]), copy.deepcopy(seen["body"])
            with self._writing():
                limit = now - IDEMPOTENCY_WINDOW_SECONDS
                fresh = {k: v for k, v in self._idempotency.items() if float(v.get("at", now)) >= limit}
                self._idempotency = fresh
                status, body = run()
                self._idempotency[key] = {"status": status, "body": copy.deepcopy(body), "at": now}
                return status, body

    def _exists(self, object_id: str) -> bool:
        collections = (self.assistants, self.tools, self.mcp_servers, self.assistant_tests, self.test_runs)
        return any(object_id in collection for collection in collections)

    def _get(self, assistant_id: str) -> Assistant:
        assistant = self.assistants.get(assistant_id)
        if assistant is None:
            raise NotFound(f"Assistant {assistant_id} not found")
        return assistant

    def _tool(self, tool_id: str) -> JSON:
        tool = self.tools.get(tool_id)
        if tool is None:
            raise NotFound(f"Tool {tool_id} not found")
        return tool


CREATED_ID_KEYS = ("run_id", "test_id", "id")
"""The key naming what a create made, first match wins: a run also names its test, which it did not create."""


def _created_ids(body: Any) -> list[str]:
    """The ids of the objects a create answered with: ``{"id"}``, ``{"data": {"id"}}``, a test
    (``test_id``), a run (``run_id``) or a bare array of runs (a suite trigger)."""
    if isinstance(body, dict) and isinstance(body.get("data"), dict):
        body = body["data"]
    ids: list[str] = []
    for item in body if isinstance(body, list) else [body]:
        if isinstance(item, dict):
            key = next((k for k in CREATED_ID_KEYS if isinstance(item.get(k), str)), None)
            if key is not None:
                ids.append(str(item[key]))
    return ids


def _assistant_from_json(data: JSON) -> Assistant:
    versions = [Version(**v) for v in data.get("versions", [])]
    return Assistant(**{**data, "versions": versions})
