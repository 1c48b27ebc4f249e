"""The emulator's state file and its journal: what a restart sees, a torn tail, and what a write costs.

Persistence writes one journal line per write request naming the records it changed; the state file is
rewritten only when the journal outgrows it and at a clean stop (reconciler/emulator/state.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator.state import StateFileError, read_state
from reconciler.emulator.store import Store

RUBRIC: list[Any] = [{"name": "Refunds", "criteria": 'Mentions the "refund policy"'}]
WEBHOOK = {"name": "n", "description": "d", "url": "https://x.example.com"}
PROMPT = "Answer questions about the shop. " * 60  # about 2 KB, like a small real prompt


def comparable(document: dict[str, Any]) -> dict[str, Any]:
    """A state document without the snapshot's generation (which only the file layout needs)."""
    return {k: v for k, v in document.items() if k != "journal_generation"}


def every_kind_of_write(store: Store) -> list[Callable[[], Any]]:
    """One step per write the store makes, each a closure run in order (later ones use earlier ids)."""
    ids: dict[str, Any] = {}

    def create() -> None:
        ids["a"] = store.create_assistant({"name": "a", "instructions": PROMPT, "tags": ["x"]})["id"]
        ids["b"] = store.create_assistant({"name": "b", "instructions": "b"})["id"]

    def update() -> None:
        ids["v2"] = store.update_assistant(ids["a"], {"greeting": "hi", "promote_to_main": False})["version_id"]

    def canary() -> None:
        store.create_canary(ids["a"], {"rules": [{"serve": {"version_id": ids["v2"]}}]})

    def tool() -> None:
        ids["tool"] = store.create_tool({"display_name": "t", "type": "webhook", "webhook": WEBHOOK})["id"]

    def mcp() -> None:
        ids["mcp"] = store.create_mcp_server({"name": "m", "type": "sse", "url": "https://m.example.com"})["id"]

    def test() -> None:
        body = {"name": "refunds", "destination": ids["a"], "instructions": "Ask.", "rubric": RUBRIC}
        ids["test"] = store.create_test({**body, "test_suite": "s"})["test_id"]
        ids["doomed"] = store.create_test({**body, "name": "doomed", "test_suite": "s"})["test_id"]

    def keyed() -> None:
        store.once("key-1", lambda: (200, store.create_assistant({"name": "keyed", "instructions": "k"})))

    return [
        create,
        update,
        lambda: store.update_version(ids["a"], ids["v2"], {"greeting": "hello"}),
        canary,
        lambda: store.replace_canary(
            ids["a"], {"rules": [{"serve": {"rollout": [{"version_id": ids["v2"], "weight": 10}]}}]}
        ),
        lambda: store.add_tag(ids["a"], "y"),
        lambda: store.remove_tag(ids["a"], "x"),
        tool,
        lambda: store.attach_tool(ids["a"], ids["tool"]),
        lambda: store.attach_tool(ids["b"], ids["tool"]),
        lambda: store.detach_tool(ids["b"], ids["tool"]),
        lambda: store.update_tool(ids["tool"], {"display_name": "t2"}),
        mcp,
        lambda: store.replace_mcp_server(ids["mcp"], {"name": "m2", "url": "https://m2.example.com"}),
        test,
        lambda: store.update_test(ids["test"], {"instructions": "Ask twice."}),
        lambda: store.trigger_run(ids["test"], {}),
        lambda: store.trigger_suite("s", {}),
        lambda: store.delete_test(ids["doomed"]),
        keyed,
        lambda: store.import_assistants({"provider": "vapi", "api_key_ref": "provider_key"}),
        lambda: store.import_assistants({"provider": "vapi", "api_key_ref": "provider_key"}),  # overwrites
        lambda: store.delete_canary(ids["a"]),
        lambda: store.promote_version(ids["a"], ids["v2"]),
        lambda: store.delete_tool(ids["tool"]),  # detaches from every version that had it
        lambda: store.delete_mcp_server(ids["mcp"]),
        lambda: store.delete_assistant(ids["b"], hard=False),
        lambda: store.delete_assistant(store.create_assistant({"name": "c", "instructions": "c"})["id"], hard=True),
    ]


class TestRestart:
    def test_the_files_hold_what_memory_holds_after_every_kind_of_write(self, tmp_path: Path) -> None:
        state = tmp_path / "state.json"
        store = Store(state)
        try:
            for number, step in enumerate(every_kind_of_write(store)):
                step()
                # read_state reads the snapshot and the journal as a restart would, while the store runs
                assert comparable(read_state(state)) == comparable(store._document()), f"after step {number}"
            expected = comparable(store._document())
            assert (tmp_path / "state.json.journal").exists()
        finally:
            store.close()
        # a clean stop folds the journal into the state file, which then holds everything on its own
        assert not (tmp_path / "state.json.journal").exists()
        assert comparable(json.loads(state.read_text())) == expected
        again = Store(state)
        try:
            assert comparable(again._document()) == expected
        finally:
            again.close()

    def test_a_restart_after_a_crash_sees_every_acknowledged_write(self, tmp_path: Path) -> None:
        state = tmp_path / "state.json"
        store = Store(state)
        created = [store.create_assistant({"name": f"a{i}", "instructions": PROMPT})["id"] for i in range(200)]
        for assistant_id in created[::3]:
            store.update_assistant(assistant_id, {"greeting": "hi"})
        store.delete_assistant(created[1], hard=True)
        expected = comparable(store._document())
        # a crash: the process ends without close() (the lock is released as the fd would be)
        store._lock_fd, fd = None, store._lock_fd
        assert fd is not None
        os.close(fd)
        assert store._journal_fd is not None
        os.close(store._journal_fd)
        again = Store(state)
        try:
            assert comparable(again._document()) == expected
            assert len(again.assistants) == 199
        finally:
            again.close()

    def test_an_old_state_file_without_a_journal_loads_and_gains_one(self, tmp_path: Path) -> None:
        state = tmp_path / "state.json"
        state.write_text(json.dumps({"format": 1, "assistants": [], "tools": [], "idempotency": {}}))
        store = Store(state)
        try:
            store.create_assistant({"name": "a", "instructions": "b"})
            assert len(read_state(state)["assistants"]) == 1
        finally:
            store.close()
        assert len(json.loads(state.read_text())["assistants"]) == 1


class TestTornJournal:
    def crashed(self, tmp_path: Path, writes: int) -> tuple[Path, dict[str, Any]]:
        """A state file and journal as a crash leaves them after `writes` creates."""
        state = tmp_path / "state.json"
        store = Store(state)
        for i in range(writes):
            store.create_assistant({"name": f"a{i}", "instructions": "x"})
        expected = comparable(store._document())
        assert store._journal_fd is not None and store._lock_fd is not None
        os.close(store._journal_fd)
        os.close(store._lock_fd)
        store._lock_fd = store._journal_fd = None
        return state, expected

    def test_a_torn_last_line_is_ignored_and_cut_off(self, tmp_path: Path) -> None:
        state, expected = self.crashed(tmp_path, 3)
        journal = tmp_path / "state.json.journal"
        whole = journal.read_bytes()
        journal.write_bytes(whole + b'{"changes":[["assistants","assistant-torn",{"id":')  # a write cut short
        store = Store(state)
        try:
            assert comparable(store._document()) == expected
            assert journal.read_bytes() == whole  # the fragment is gone: the next line starts on its own
            store.create_assistant({"name": "after", "instructions": "x"})
            expected = comparable(store._document())
            assert comparable(read_state(state)) == expected
        finally:
            store.close()
        again = Store(state)
        try:
            assert comparable(again._document()) == expected
        finally:
            again.close()

    def test_a_damaged_line_before_the_last_is_a_message(self, tmp_path: Path) -> None:
        state, _ = self.crashed(tmp_path, 3)
        journal = tmp_path / "state.json.journal"
        lines = journal.read_bytes().split(b"\n")
        lines[2] = b"{not json"
        journal.write_bytes(b"\n".join(lines))
        with pytest.raises(StateFileError, match=r"state\.json\.journal:3: a damaged emulator journal"):
            Store(state)

    def test_a_journal_of_an_older_snapshot_is_ignored(self, tmp_path: Path) -> None:
        """A crash after a new snapshot was written but before its journal was started."""
        state, expected = self.crashed(tmp_path, 3)
        journal = tmp_path / "state.json.journal"
        stale = journal.read_bytes()
        folded = Store(state)
        folded.close()  # writes the snapshot (a newer generation) and removes the journal
        journal.write_bytes(stale)
        document = json.loads(state.read_text())
        document["assistants"] = document["assistants"][:1]  # if the stale journal were replayed, 3 would return
        state.write_text(json.dumps(document))
        store = Store(state)
        try:
            assert len(store.assistants) == 1
        finally:
            store.close()
        assert len(expected["assistants"]) == 3


class TestWriteCost:
    @pytest.mark.parametrize("compact_min_bytes", [1 << 20, 0], ids=["journal", "journal-and-compaction"])
    def test_bytes_written_per_write_do_not_grow_with_the_account(
        self, tmp_path: Path, compact_min_bytes: int, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The old store rewrote every record on every write: at 400 assistants a create cost 400 records."""
        monkeypatch.setattr(Store, "compact_min_bytes", compact_min_bytes)
        store = Store(tmp_path / "state.json")
        try:
            per_write = []
            for _ in range(3):  # 0-200 assistants, 200-400, 400-600
                before = store.bytes_written
                for i in range(200):
                    store.create_assistant({"name": f"a{i}", "instructions": PROMPT})
                per_write.append((store.bytes_written - before) / 200)
            record = len(json.dumps(store._document()["assistants"][0]))
            # the cost of a create, snapshots included, is a few records whatever the account holds (whole
            # rewrites would cost 100, 300 and 500 records on average in the three windows)
            assert max(per_write) < 4 * record, (per_write, record)
            assert store.bytes_written / 600 < 3 * record
        finally:
            store.close()

    def test_a_read_writes_nothing_and_a_failed_write_keeps_its_marks_for_the_next(self, tmp_path: Path) -> None:
        state = tmp_path / "state.json"
        store = Store(state)
        try:
            created = store.create_assistant({"name": "a", "instructions": "b"})
            written = store.bytes_written
            store.list_assistants()
            assert store.bytes_written == written
            with pytest.raises(Exception, match="not found"):
                store.update_assistant("assistant-missing", {"greeting": "x"})
            store.add_tag(created["id"], "t")
            assert read_state(state)["assistants"][0]["versions"][0]["config"]["tags"] == ["t"]
        finally:
            store.close()


def _crash(store: Store) -> None:
    """The process ends without close(): its files are closed as the OS would."""
    store._lock_fd, fd = None, store._lock_fd
    assert fd is not None
    os.close(fd)
    if store._journal_fd is not None:
        os.close(store._journal_fd)


def test_a_write_the_disk_refused_is_in_the_next_save(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed journal append used to drop the change's marks: memory had it, a restart did not."""
    state = tmp_path / "state.json"
    store = Store(state)
    store.create_assistant({"name": "a", "instructions": "b"})
    real_write = os.write

    def full(fd: int, data: Any) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OSError, match="No space left"):
        store.create_assistant({"name": "lost", "instructions": "b"})
    monkeypatch.setattr(os, "write", real_write)
    store.create_assistant({"name": "c", "instructions": "b"})
    _crash(store)
    again = Store(state)
    try:
        assert sorted(a["name"] for a in again.list_assistants()) == ["a", "c", "lost"]
    finally:
        again.close()


def test_a_journal_over_the_size_limit_is_refused_not_cut(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An oversized journal was read up to the limit and its 'torn' end truncated: acknowledged writes lost."""
    state = tmp_path / "state.json"
    store = Store(state)
    for i in range(10):
        store.create_assistant({"name": f"a{i}", "instructions": PROMPT})
    _crash(store)
    journal = store.journal_file
    assert journal is not None
    size = journal.stat().st_size
    monkeypatch.setattr("reconciler.emulator.state.MAX_STATE_BYTES", size - 1)
    with pytest.raises(StateFileError, match="larger than"):
        Store(state)
    assert journal.stat().st_size == size
