"""The emulator's records and the store core: one lock, the JSON state file, idempotency replays.

Why: the per-resource rule modules (assistants, shared tools, MCP servers, tags, canary deploys) share one
consistent state and one transaction boundary; this module owns both and nothing else. The state file is a
plain JSON document, one top-level key per collection, so a `--state` file survives restarts.

Persistence costs what a write changes, not what the account holds: each write request appends one line to a
journal beside the state file (``STATE.journal``) naming the records it touched, and the state file (the
snapshot) is rewritten only when the journal has grown past it, and when the emulator stops. Rewriting the
whole file after every write made `apply --local` quadratic (docs/emulator.md, "The state file").
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
IDEMPOTENCY_SWEEP_SECONDS = 60.0
"""Expired keys are deleted by a scan of the whole table at most this often (a keyed create starts it), not
on every keyed create: that made N keyed creates cost N^2/2 comparisons. An expired key still in the
table is never replayed."""


MAX_STATE_BYTES = 1 << 30
"""Largest state file read (1 GiB): far above any account the emulator serves well."""

COMPACT_MIN_BYTES = 1 << 20
"""The journal is folded into the snapshot once it is larger than the snapshot and than this (1 MiB)."""

COLLECTIONS = (
    "assistants", "deleted_assistants", "tools", "mcp_servers", "assistant_tests", "test_runs", "idempotency"
)
"""The state file's collections, each keyed by id (the idempotency table by key), in file order."""

_ATTRIBUTES = {name: "_idempotency" if name == "idempotency" else name for name in COLLECTIONS}
_KEYS = {"assistant_tests": "test_id", "test_runs": "run_id"}  # the id field of list-shaped collections (else "id")


class Tracked(dict[str, Any]):
    """A collection that remembers which ids were set or deleted since the last save (its ``dirty`` map,
    an ordered set, so records created by one request replay in creation order), and since the end of the
    last write (``stale``: their cached renderings are dropped then, see ``StoreCore._forget_stale``)."""

    __slots__ = ("dirty", "stale")

    def __init__(self, items: dict[str, Any] | None = None) -> None:
        super().__init__(items or {})
        self.dirty: dict[str, None] = {}
        self.stale: set[str] = set()

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.dirty[key] = None
        self.stale.add(key)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.dirty[key] = None
        self.stale.add(key)


class StateFileError(ValueError):
    """The state file cannot be used: another emulator holds it, or it is not a state file."""


def json_bytes(value: Any) -> bytes:
    """value encoded exactly as Starlette's ``JSONResponse`` encodes a body (compact, UTF-8, no NaN), so
    bodies assembled from cached parts are byte-for-byte what a ``JSONResponse`` of the whole would send."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode("utf-8")


@dataclass
class Rendered:
    """One assistant's cached read bodies (``json_bytes`` of each): by version id, and its canary config
    with the config dict it was rendered from (a config is replaced, never edited, so identity tells)."""

    versions: dict[str, bytes] = field(default_factory=dict)
    canary: tuple[JSON, bytes] | None = None


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
    """Thread-safe state; every mutation is saved (when there is a state file) before the request returns.

    What a write changed is known without comparing: the collections are ``Tracked`` (setting or deleting an
    id marks it), and a record changed in place is marked when a write looks it up (``_get``, ``_tool``,
    ``_mcp``, ``_test``, ``_holding``, ``_imported``). Marking too much only costs bytes; a collection
    replaced by a new dict is noticed at the save, which then rewrites the snapshot.

    Reads of assistants, versions and canary configs answer bytes cached per assistant (``_rendered_entry``),
    and the assistant list the body joined from them until the next write of any kind. The same marks
    invalidate the per-assistant bodies: when the outermost write ends, successful or not, the cache of every
    assistant it marked is dropped, and of every assistant whose versions hold a shared tool it marked
    (``_forget_stale``); loading a state file drops them all, and a collection replaced by a plain dict is
    not cached at all. So a record must only change inside ``_writing``, or ``forget_renders`` must be
    called after changing it from outside (as a test might).
    """

    compact_min_bytes = COMPACT_MIN_BYTES

    def __init__(self, state_file: Path | None = None, lock_wait_s: float = 0.0) -> None:
        """``lock_wait_s``: how long to wait for the state file's lock before saying it is in use."""
        self._lock = threading.RLock()
        self._depth = 0  # nesting of _writing; only the outermost one saves
        self._state_file = state_file
        self.assistants: dict[str, Assistant] = Tracked()
        self.deleted_assistants: dict[str, Assistant] = Tracked()
        self.tools: dict[str, JSON] = Tracked()  # shared tools in their read shape, creation order
        self.mcp_servers: dict[str, JSON] = Tracked()  # MCP servers in their read shape, creation order
        self.assistant_tests: dict[str, JSON] = Tracked()  # assistant tests in their read shape, creation order
        self.test_runs: dict[str, JSON] = Tracked()  # test run records (assistant_tests.py), trigger order
        self._idempotency: dict[str, JSON] = Tracked()
        self._swept_at: float | None = None  # when expired idempotency keys were last deleted
        self._renders: dict[str, Rendered] = {}  # by assistant id; see _rendered_entry
        self._renders_list: bytes | None = None  # the assistant list's body, until the next write
        self._renders_of: tuple[object, object] = (self.assistants, self.tools)  # the collections they render
        self.saves = 0  # journal lines or snapshots written: one per write request, none per read
        self.bytes_written = 0  # to the snapshot and the journal together
        self._generation = 0  # of the snapshot; the journal's header names the one it extends
        self._snapshot_bytes = 0
        self._journal_fd: int | None = None
        self._journal_bytes = 0  # its size, header included, after the last complete line
        self._journal_lines = 0  # records lines after the header
        self._loaded = False
        self._lock_fd: int | None = None
        if state_file is not None:
            self._lock_state(state_file, lock_wait_s)
            try:
                if state_file.exists():
                    self._load(state_file)
                self._loaded = True
            except BaseException:
                self.close()
                raise

    def _lock_state(self, path: Path, wait_s: float = 0.0) -> None:
        """An exclusive lock beside the state file for the store's lifetime.

        Why: two emulators on one file each rewrite it from their own memory, so one silently loses
        the other's writes. The lock file (``STATE.lock``) is locked, not the state file, because
        saving replaces the state file with a new one.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = path.with_name(path.name + ".lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise StateFileError(f"{path} is in use by another emulator (locked through {lock.name})") from None
                time.sleep(0.05)
        self._lock_fd = fd

    @property
    def journal_file(self) -> Path | None:
        return self._state_file.with_name(self._state_file.name + ".journal") if self._state_file else None

    def close(self) -> None:
        """Fold the journal into the state file and release it for another emulator; safe to call twice.

        After a clean stop the state file alone holds everything (no journal is left beside it). The lock
        file stays: deleting it would let an emulator that already opened it lock the deleted file while a
        third one locks a new file of the same name, two on one state.
        """
        try:
            with self._lock:
                if self._loaded and self._lock_fd is not None and self._journal_lines:
                    self._compact()
                if self._journal_fd is not None:
                    os.close(self._journal_fd)
                    self._journal_fd = None
                journal = self.journal_file
                if self._loaded and self._lock_fd is not None and journal is not None:
                    journal.unlink(missing_ok=True)  # empty or stale: the snapshot holds everything
        finally:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    @contextmanager
    def closed_for_good(self) -> Iterator[None]:
        """``close``, then hold the store's lock until the block ends: for a process that exits inside it,
        so that no request still running writes after the state file was released."""
        with self._lock:
            self.close()
            yield

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
                    self._forget_stale()  # also after a failed write: it may have changed a record first
            if self._depth == 0:
                self._save()

    def _caching(self) -> bool:
        """Whether read bodies may be cached and cached ones served now. Not inside a write (the record may
        change again before the write ends and its marks are applied), nor when the assistants or tools
        collection is not a ``Tracked`` one (its changes are not marked). A collection replaced since the
        cache was filled empties it."""
        if self._depth or not isinstance(self.assistants, Tracked) or not isinstance(self.tools, Tracked):
            return False
        owner_assistants, owner_tools = self._renders_of
        if owner_assistants is not self.assistants or owner_tools is not self.tools:
            self.forget_renders()
        return True

    def _rendered_entry(self, assistant_id: str) -> Rendered | None:
        """The cached read bodies of a live assistant, to read and fill; None when not ``_caching``."""
        if not self._caching():
            return None
        entry = self._renders.get(assistant_id)
        if entry is None:
            entry = self._renders[assistant_id] = Rendered()
        return entry

    def forget_renders(self) -> None:
        """Drop every cached read body (after records were changed outside a write)."""
        with self._lock:
            self._renders = {}
            self._renders_list = None
            self._renders_of = (self.assistants, self.tools)
            for collection in (getattr(self, attribute) for attribute in _ATTRIBUTES.values()):
                if isinstance(collection, Tracked):
                    collection.stale.clear()

    def _forget_stale(self) -> None:
        """Drop the cached bodies a write may have changed, and clear the ``stale`` marks.

        An assistant's bodies depend on its record and on the shared tools its versions hold, so a marked
        assistant and a marked tool (updated, deleted) both drop them."""
        self._renders_list = None  # any write may change the list: what it holds, or its order
        assistants, deleted, tools = self.assistants, self.deleted_assistants, self.tools
        if not (isinstance(assistants, Tracked) and isinstance(deleted, Tracked) and isinstance(tools, Tracked)):
            self.forget_renders()
            return
        for assistant_id in assistants.stale | deleted.stale:
            self._renders.pop(assistant_id, None)
        if tools.stale and self._renders:
            for assistant_id in list(self._renders):
                assistant = assistants.get(assistant_id)
                if assistant is None or any(not tools.stale.isdisjoint(v.tool_ids) for v in assistant.versions):
                    del self._renders[assistant_id]
        for collection in (getattr(self, attribute) for attribute in _ATTRIBUTES.values()):
            if isinstance(collection, Tracked):
                collection.stale.clear()

    def _save(self) -> None:
        """Persist what the request changed: one journal line, or the whole snapshot when that is due."""
        if self._state_file is None:
            return
        changes, replaced = self._take_changes()
        outgrown = self._journal_bytes > max(self._snapshot_bytes, self.compact_min_bytes)
        if replaced or outgrown or self._journal_fd is None:
            self._compact()
        elif changes:
            line = json.dumps({"changes": changes}, separators=(",", ":")).encode() + b"\n"
            try:
                self._append(line)
            except BaseException:
                # The marks are gone but the change is in memory: the next save rewrites the snapshot.
                assert self._journal_fd is not None
                os.close(self._journal_fd)
                self._journal_fd = None
                raise
            self._journal_lines += 1
        self.saves += 1

    def _take_changes(self) -> tuple[list[list[Any]], bool]:
        """``[collection, id, record or None when deleted]`` per marked id, clearing the marks; and whether
        a collection was replaced by a plain dict (its changes are unknown: the caller rewrites the snapshot)."""
        changes: list[list[Any]] = []
        replaced = False
        for name, attribute in _ATTRIBUTES.items():
            collection = getattr(self, attribute)
            if not isinstance(collection, Tracked):
                setattr(self, attribute, Tracked(collection))
                replaced = True
                continue
            for key in collection.dirty:
                value = collection.get(key)
                if isinstance(value, Assistant):
                    value = asdict(value)
                changes.append([name, key, value])
            collection.dirty.clear()
        return changes, replaced

    def _append(self, data: bytes) -> None:
        """Append whole lines; on a failed or short write cut the journal back so no torn line stays."""
        assert self._journal_fd is not None
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._journal_fd, view) :]
        except BaseException:
            os.ftruncate(self._journal_fd, self._journal_bytes)
            raise
        self._journal_bytes += len(data)
        self.bytes_written += len(data)

    def _document(self) -> JSON:
        return {
            "format": STATE_FORMAT,
            "journal_generation": self._generation,
            "assistants": [asdict(a) for a in self.assistants.values()],
            "deleted_assistants": [asdict(a) for a in self.deleted_assistants.values()],
            "tools": list(self.tools.values()),
            "mcp_servers": list(self.mcp_servers.values()),
            "assistant_tests": list(self.assistant_tests.values()),
            "test_runs": list(self.test_runs.values()),
            "idempotency": dict(self._idempotency),
        }

    def _compact(self) -> None:
        """Write the whole state as a new snapshot, then start an empty journal that names it.

        A crash between the two leaves the old journal, whose header names the old snapshot: it is
        ignored at the next start, and the new snapshot already holds all it said.
        """
        assert self._state_file is not None
        for collection in (getattr(self, attribute) for attribute in _ATTRIBUTES.values()):
            collection.dirty.clear()
        self._generation += 1
        path = self._state_file
        self._snapshot_bytes = _replace(path, json.dumps(self._document(), indent=1, sort_keys=True).encode())
        self.bytes_written += self._snapshot_bytes
        journal = self.journal_file
        assert journal is not None
        header = json.dumps({"journal_generation": self._generation}).encode() + b"\n"
        if self._journal_fd is not None:
            os.close(self._journal_fd)
            self._journal_fd = None
        _replace(journal, header)
        self.bytes_written += len(header)
        self._journal_fd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        self._journal_bytes = len(header)
        self._journal_lines = 0

    def _load(self, path: Path, append: bool = True) -> None:
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
            self.assistants = Tracked({a["id"]: _assistant_from_json(a) for a in document.get("assistants", [])})
            self.deleted_assistants = Tracked(
                {a["id"]: _assistant_from_json(a) for a in document.get("deleted_assistants", [])}
            )
            self.tools = Tracked({t["id"]: t for t in document.get("tools", [])})
            self.mcp_servers = Tracked({m["id"]: m for m in document.get("mcp_servers", [])})
            # absent in state files written before the emulator served assistant tests
            self.assistant_tests = Tracked({t["test_id"]: t for t in document.get("assistant_tests", [])})
            self.test_runs = Tracked({r["run_id"]: r for r in document.get("test_runs", [])})
            self._idempotency = Tracked(dict(document.get("idempotency", {})))
            # absent before the journal: such a file has no journal that extends it
            self._generation = int(document.get("journal_generation", 0))
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise StateFileError(
                f"{path}: a damaged emulator state file ({type(err).__name__}: {err}); move it away to start empty"
            ) from None
        self._snapshot_bytes = len(raw)
        self._replay(append)
        self.forget_renders()

    def _replay(self, append: bool) -> None:
        """Apply the journal's complete lines to the loaded snapshot and open it for appending.

        A journal whose header names another snapshot is stale (a crash came between writing a snapshot
        and starting its journal) and is ignored. The last line may be torn (a crash during its write):
        it was never acknowledged, so it is ignored (and cut off when ``append``: the store will write on).
        Any other bad line is a damaged file.
        """
        journal = self.journal_file
        assert journal is not None
        if not journal.exists():
            return
        try:
            raw = read_regular(journal, MAX_STATE_BYTES)
        except FileRefused as err:
            raise StateFileError(f"{journal}: cannot read the journal: {err}") from None
        if len(raw) > MAX_STATE_BYTES:  # never mistake the cut-off end for a torn line and truncate it
            raise StateFileError(f"{journal}: larger than {MAX_STATE_BYTES >> 20} MiB; not an emulator journal")
        lines = raw.split(b"\n")
        complete = lines[:-1]  # the part after the last newline is empty, or a torn line
        try:
            header = json.loads(complete[0]) if complete else None
        except ValueError:
            header = None
        if not isinstance(header, dict) or header.get("journal_generation") != self._generation:
            return  # stale or torn before its header was whole: the next save starts a new journal
        good = len(complete[0]) + 1
        for number, line in enumerate(complete[1:], start=2):
            try:
                for name, key, value in json.loads(line)["changes"]:
                    self._apply_change(str(name), str(key), value)
            except (ValueError, KeyError, TypeError, AttributeError) as err:
                raise StateFileError(
                    f"{journal}:{number}: a damaged emulator journal ({type(err).__name__}: {err}); "
                    "move it away to start from the state file alone"
                ) from None
            good += len(line) + 1
            self._journal_lines += 1
        for attribute in _ATTRIBUTES.values():
            getattr(self, attribute).dirty.clear()
        if not append:
            return
        fd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        os.ftruncate(fd, good)  # drop a torn last line, so the next line starts on a line of its own
        self._journal_fd, self._journal_bytes = fd, good

    def _apply_change(self, name: str, key: str, value: Any) -> None:
        collection: dict[str, Any] = getattr(self, _ATTRIBUTES[name])
        if value is None:
            collection.pop(key, None)
        elif name in ("assistants", "deleted_assistants"):
            collection[key] = _assistant_from_json(value)
        else:
            if name != "idempotency" and value[_KEYS.get(name, "id")] != key:
                raise ValueError(f"record {key} names another id")
            collection[key] = value

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
                if self._swept_at is None or not 0 <= now - self._swept_at < IDEMPOTENCY_SWEEP_SECONDS:
                    self._swept_at = now  # (a clock set back also sweeps)
                    limit = now - IDEMPOTENCY_WINDOW_SECONDS
                    for expired in [k for k, v in self._idempotency.items() if float(v.get("at", now)) < limit]:
                        del self._idempotency[expired]
                status, body = run()
                self._idempotency[key] = {"status": status, "body": copy.deepcopy(body), "at": now}
                return status, body

    def _exists(self, object_id: str) -> bool:
        collections = (self.assistants, self.tools, self.mcp_servers, self.assistant_tests, self.test_runs)
        return any(object_id in collection for collection in collections)

    def _mark(self, collection: dict[str, Any], key: str) -> None:
        """Within a write, note that the record may change in place (it is saved with the request)."""
        if self._depth and isinstance(collection, Tracked):
            collection.dirty[key] = None
            collection.stale.add(key)

    def _get(self, assistant_id: str) -> Assistant:
        assistant = self.assistants.get(assistant_id)
        if assistant is None:
            raise NotFound(f"Assistant {assistant_id} not found")
        self._mark(self.assistants, assistant_id)
        return assistant

    def _tool(self, tool_id: str) -> JSON:
        tool = self.tools.get(tool_id)
        if tool is None:
            raise NotFound(f"Tool {tool_id} not found")
        self._mark(self.tools, tool_id)
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


def _replace(path: Path, data: bytes) -> int:
    """Write data to a new file beside path and rename it over path (never a half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(data)


def read_state(path: Path) -> JSON:
    """The state a state file and its journal hold, as one state-file document, without locking it.

    For tests and tools that look at the state of a running emulator (its state file alone may lag)."""
    store = StoreCore()
    store._state_file = path
    store._load(path, append=False)
    return store._document()


def _assistant_from_json(data: JSON) -> Assistant:
    versions = [Version(**v) for v in data.get("versions", [])]
    return Assistant(**{**data, "versions": versions})
