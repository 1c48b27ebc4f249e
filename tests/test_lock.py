"""The stack lock: one apply (or export/import --adopt) of a stack at a time, over real HTTP.

Before the lock, two overlapping applies of one stack both planned against the same live state,
both wrote, and the one that saved the ownership ledger last dropped what the other recorded.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.emulator import EmulatorServer
from reconciler.engine.lock import Holder, parse_duration, read_holder, stack_lock
from tests.conftest import TEST_API_KEY
from tests.helpers import REPO, run_cli

DESK = REPO / "examples" / "support-desk"
LEDGER = Path(".reconciler") / "ownership-desk.json"
LOCK = Path(".reconciler") / "ownership-desk.lock"
DESK_OWNED = ["billing-question-handoff", "create-ticket", "crm", "lookup-order", "refund-over-limit",
              "refund-within-limit", "support-billing", "support-tech", "support-triage"]


def _locked_message(holder: Holder, command: str = "apply", after: str | None = None) -> str:
    tail = after or "; try again later, or wait with --lock-timeout DURATION"
    return (f"Error: stack 'desk' is locked: {command} by {holder.user} on {holder.host}, pid {holder.pid}, "
            f"since {holder.started}; lock file {LOCK}{tail}\n")


@pytest.fixture
def stack_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory with stack 'desk', as the working directory."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reconciler.yaml").write_text("stack: desk\n")
    return tmp_path


def _ledger_names(root: Path) -> list[str]:
    return sorted(o["name"] for o in json.loads((root / LEDGER).read_text())["objects"])


class TestHeldLock:
    def test_apply_fails_fast_naming_the_holder_and_writes_nothing(self, emulator: EmulatorServer,
                                                                   stack_dir: Path) -> None:
        with stack_lock("desk", LOCK, command="apply") as holder:
            emulator.reset_stats()
            result = run_cli(["apply", str(DESK), "--yes"], emulator.base_url)
            assert (result.exit_code, result.stdout) == (1, "")
            assert result.stderr == _locked_message(holder)
            assert emulator.stats()["total"] == 0  # not even a read: the plan is made under the lock
        assert not (stack_dir / LEDGER).exists()

    def test_the_holder_info_is_in_the_file_and_gone_after_release(self, stack_dir: Path) -> None:
        with stack_lock("desk", LOCK, command="apply") as holder:
            assert read_holder(LOCK) == holder
            assert (holder.host, holder.pid, holder.command) == (socket.gethostname(), os.getpid(), "apply")
            assert holder.started.endswith("Z") and "T" in holder.started
        assert read_holder(LOCK) is None
        assert LOCK.read_text() == ""

    def test_stale_holder_info_is_called_stale(self, emulator: EmulatorServer, stack_dir: Path) -> None:
        """Holder info naming a dead pid on this host, while the file is still locked, is reported as stale."""
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)
        pid = int(dead.stdout)
        with stack_lock("desk", LOCK, command="apply") as holder:
            ghost = Holder(holder.user, holder.host, pid, "2026-01-02T03:04:05Z", "apply")
            LOCK.write_text(json.dumps(ghost.__dict__))
            result = run_cli(["apply", str(DESK), "--yes"], emulator.base_url)
        assert result.exit_code == 1
        assert result.stderr == (
            f"Error: stack 'desk' is locked: apply by {holder.user} on {holder.host}, pid {pid}, since "
            f"2026-01-02T03:04:05Z (stale holder info: pid {pid} is not running, yet a process still holds the "
            f"file locked, e.g. one it started); lock file {LOCK}; try again later, or wait with --lock-timeout "
            "DURATION\n")

    def test_a_crashed_holder_leaves_no_lock(self, emulator: EmulatorServer, stack_dir: Path) -> None:
        """A holder killed mid-run (SIGKILL: no cleanup at all) frees the lock; its info is overwritten."""
        code = ("import sys, time\nfrom pathlib import Path\nfrom reconciler.engine.lock import stack_lock\n"
                "with stack_lock('desk', Path(sys.argv[1]), command='apply'):\n"
                "    print('held', flush=True)\n    time.sleep(60)\n")
        holder = subprocess.Popen([sys.executable, "-c", code, str(stack_dir / LOCK)], stdout=subprocess.PIPE,
                                  text=True, cwd=REPO)
        try:
            assert holder.stdout is not None and holder.stdout.readline() == "held\n"
            assert run_cli(["apply", str(DESK), "--yes"], emulator.base_url).exit_code == 1
        finally:
            holder.kill()
            holder.wait()
        assert read_holder(LOCK) is not None and read_holder(LOCK).pid == holder.pid  # type: ignore[union-attr]
        result = run_cli(["apply", str(DESK), "--yes"], emulator.base_url)
        assert result.exit_code == 0, result.output
        assert _ledger_names(stack_dir) == DESK_OWNED

    def test_lock_timeout_waits_for_the_holder_then_applies(self, emulator: EmulatorServer, stack_dir: Path) -> None:
        release = threading.Event()
        taken = threading.Event()

        def hold() -> None:
            with stack_lock("desk", LOCK, command="apply"):
                taken.set()
                release.wait(10)

        thread = threading.Thread(target=hold)
        thread.start()
        assert taken.wait(5)
        timer = threading.Timer(1.0, release.set)
        timer.start()
        started = time.monotonic()
        try:
            result = run_cli(["apply", str(DESK), "--yes", "--lock-timeout", "30s"], emulator.base_url)
        finally:
            release.set()
            thread.join()
        assert result.exit_code == 0, result.output
        assert time.monotonic() - started >= 0.9
        assert result.stdout.endswith("Apply: 13 applied, 0 failed, 0 skipped.\n")
        assert _ledger_names(stack_dir) == DESK_OWNED

    def test_lock_timeout_gives_up_after_the_duration(self, emulator: EmulatorServer, stack_dir: Path) -> None:
        with stack_lock("desk", LOCK, command="export --adopt") as holder:
            started = time.monotonic()
            result = run_cli(["apply", str(DESK), "--yes", "--lock-timeout", "1"], emulator.base_url)
            waited = time.monotonic() - started
        assert result.exit_code == 1
        assert result.stderr == _locked_message(holder, "export --adopt", "; gave up after waiting 1s")
        assert 0.9 <= waited < 10
        assert emulator.stats()["writes"] == 0

    def test_no_stack_takes_no_lock(self, emulator: EmulatorServer, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
        """Without `stack:` there is no ledger to protect: apply takes no lock and writes no lock file."""
        monkeypatch.chdir(tmp_path)
        result = run_cli(["apply", str(DESK), "--yes"], emulator.base_url)
        assert result.exit_code == 0, result.output
        assert not (tmp_path / ".reconciler").exists()

    def test_local_uses_the_local_ledgers_lock(self, stack_dir: Path) -> None:
        """With --local the lock sits beside the local ledger; the account's lock is another one."""
        local_lock = Path(".reconciler") / "local-ownership-desk.lock"
        with stack_lock("desk", local_lock, command="apply") as holder:
            result = run_cli(["apply", str(DESK), "--yes", "--local"])
            assert result.exit_code == 1
            assert result.stderr == _locked_message(holder).replace(str(LOCK), str(local_lock))
            with stack_lock("desk", LOCK):  # the account's lock is free
                pass


class TestExportAndImportAdopt:
    def test_export_adopt_fails_fast_and_writes_nothing(self, emulator: EmulatorServer, stack_dir: Path) -> None:
        assert run_cli(["apply", str(DESK), "--yes"], emulator.base_url).exit_code == 0
        (stack_dir / LEDGER).unlink()
        with stack_lock("desk", LOCK, command="apply") as holder:
            emulator.reset_stats()
            result = run_cli(["export", "--out", "manifests", "--adopt"], emulator.base_url)
            assert result.exit_code == 1
            assert result.stderr == _locked_message(holder)
            assert emulator.stats()["total"] == 0
            # Without --adopt, export writes no ledger and takes no lock.
            plain = run_cli(["export", "--out", "plain"], emulator.base_url)
            assert plain.exit_code == 0, plain.output
        assert not (stack_dir / "manifests").exists() and not (stack_dir / LEDGER).exists()

    def test_export_adopt_waits_with_lock_timeout(self, emulator: EmulatorServer, stack_dir: Path) -> None:
        assert run_cli(["apply", str(DESK), "--yes"], emulator.base_url).exit_code == 0
        (stack_dir / LEDGER).unlink()
        release = threading.Event()

        def hold(ready: threading.Event) -> None:
            with stack_lock("desk", LOCK, command="apply"):
                ready.set()
                release.wait(10)

        ready = threading.Event()
        thread = threading.Thread(target=hold, args=(ready,))
        thread.start()
        assert ready.wait(5)
        threading.Timer(0.5, release.set).start()
        try:
            result = run_cli(["export", "--out", "manifests", "--adopt", "--lock-timeout", "1m"], emulator.base_url)
        finally:
            release.set()
            thread.join()
        assert result.exit_code == 0, result.output
        assert _ledger_names(stack_dir) == DESK_OWNED

    def test_import_adopt_fails_fast_and_writes_nothing(self, emulator: EmulatorServer, stack_dir: Path) -> None:
        with stack_lock("desk", LOCK, command="apply") as holder:
            emulator.reset_stats()
            result = run_cli(["import", "vapi", "--api-key-ref", "k", "--adopt", "--yes", "--out", "m"],
                             emulator.base_url)
            assert result.exit_code == 1
            assert result.stderr == _locked_message(holder)
            assert emulator.stats()["total"] == 0


class TestDurations:
    @pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("30s", 30), ("5m", 300), ("1h", 3600), ("0", 0)])
    def test_valid(self, text: str, seconds: float) -> None:
        assert parse_duration(text) == seconds

    @pytest.mark.parametrize("text", ["", "5x", "-5", "1.5s", "5 m", "m", "1h30m", "5M", "10000000"])
    def test_invalid_is_a_usage_error_exiting_1(self, text: str, emulator: EmulatorServer, stack_dir: Path) -> None:
        emulator.reset_stats()
        result = run_cli(["apply", str(DESK), "--yes", "--lock-timeout", text], emulator.base_url)
        assert result.exit_code == 1
        assert result.stderr == (f"Error: --lock-timeout: {text!r} is not a duration: use seconds (90) or a whole "
                                 "number with s, m or h (30s, 5m, 1h)\n")
        assert emulator.stats()["total"] == 0


# --- two real processes, one stack, one emulator -------------------------------------------

def _spawn(cwd: Path, base_url: str, *extra: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELNYX_")}
    env.update(TELNYX_BASE_URL=base_url, TELNYX_API_KEY=TEST_API_KEY, NO_COLOR="1")
    return subprocess.Popen([sys.executable, "-m", "reconciler", "apply", str(DESK), "--yes", *extra], cwd=cwd,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# What one apply of the desk sends on an empty account (tests/test_support_desk.py shows the plan).
ONE_APPLY_WRITES = {
    "POST /v2/ai/assistants": 3,
    "POST /v2/ai/assistants/{assistant_id}": 3,
    "POST /v2/ai/assistants/tests": 3,
    "POST /v2/ai/assistants/{assistant_id}/canary-deploys": 1,
    "POST /v2/ai/mcp_servers": 1,
    "POST /v2/ai/tools": 2,
}


def _assistants(server: EmulatorServer) -> list[dict[str, Any]]:
    data = httpx.get(server.base_url + "/ai/assistants", headers={"Authorization": f"Bearer {TEST_API_KEY}"}).json()
    return list(data["data"])


@pytest.mark.parametrize("extra", [(), ("--lock-timeout", "2m")], ids=["fail-fast", "wait"])
def test_two_concurrent_applies_of_one_stack(tmp_path: Path, extra: tuple[str, ...]) -> None:
    """Two `python -m reconciler apply --yes` at once: a complete ledger, no duplicate, one set of writes."""
    stack = tmp_path / "stack"
    stack.mkdir()
    (stack / "reconciler.yaml").write_text("stack: desk\n")
    # 300 ms a request makes an apply last seconds, so the two runs overlap (startup takes about one).
    with EmulatorServer(api_key=TEST_API_KEY, latency_ms=300) as server:
        first, second = _spawn(stack, server.base_url, *extra), _spawn(stack, server.base_url, *extra)
        outputs = [p.communicate(timeout=180) for p in (first, second)]
        codes = [first.returncode, second.returncode]
        stats = server.stats()
        assistants = _assistants(server)
    writes = {route: n for route, n in stats["by_route"].items() if not route.startswith("GET ")}
    assert writes == ONE_APPLY_WRITES  # exactly one of them created and updated
    applied = [i for i, (out, _) in enumerate(outputs) if out.endswith("Apply: 13 applied, 0 failed, 0 skipped.\n")]
    assert len(applied) == 1, outputs
    other_code, (other_out, other_err) = codes[1 - applied[0]], outputs[1 - applied[0]]
    assert codes[applied[0]] == 0
    if extra:
        # It waited for the lock, then planned against what the first one made: nothing to do.
        assert (other_code, other_out) == (0, "No changes. 10 objects match the manifests.\n"), other_err
    elif other_code == 1:
        assert other_err.startswith("Error: stack 'desk' is locked: apply by "), other_err
        assert other_err.endswith(f"; lock file {LOCK}; try again later, or wait with --lock-timeout DURATION\n")
    else:  # it started only after the first had finished
        assert (other_code, other_out) == (0, "No changes. 10 objects match the manifests.\n"), other_err
    names = sorted(a["name"] for a in assistants)
    assert names == ["support-billing", "support-tech", "support-triage"]
    assert _ledger_names(stack) == DESK_OWNED
