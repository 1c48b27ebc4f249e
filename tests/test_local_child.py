"""``--local``'s emulator is a child process that ends with its parent (issue 18).

Why these tests: the child must save its state and release the state file's lock however the parent
ends (SIGKILL included), outlive a Ctrl-C until the parent lets it go, keep the user's output clean,
and its start-up errors must still reach the user as ``--local: ...``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from reconciler.emulator import EmulatorServer
from reconciler.emulator.store import Store
from tests.helpers import QUICKSTART, run_cli

SCRIPT = Path(sys.executable).parent / "reconciler"
STATE = Path(".reconciler") / "local-state.json"

PARENT = """
import json, os, signal, sys
from pathlib import Path
from reconciler.config import Connection, open_client

def children():
    return [int(p) for task in Path(f"/proc/{os.getpid()}/task").iterdir()
            for p in (task / "children").read_text().split()]

try:
    with open_client(Connection.resolve(None, None, True, 4)) as client:
        client.create_assistant({"name": "made-before", "instructions": "x"})
        try:
            print(json.dumps({"children": children()}), flush=True)
            cue = sys.stdin.readline()  # the test's cue: SIGKILL, SIGINT or a line
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            cue = "write"  # the emulator must still serve: the parent finishes its work first
        if cue.strip() == "write":
            client.create_assistant({"name": "made-after", "instructions": "x"})
        print("done", flush=True)
except Exception as exc:
    print(f"{type(exc).__name__}: {exc}", flush=True)
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELNYX_")}
    env["NO_COLOR"] = "1"
    return env


def _start_parent(cwd: Path) -> tuple[subprocess.Popen[str], int]:
    """The PARENT script holding an open --local client, in a process group of its own like a command
    started in a terminal; returns it and its one child's pid."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT], cwd=cwd, env=_env(), text=True, process_group=0,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert parent.stdout is not None
    line = parent.stdout.readline()
    if not line.startswith("{"):
        parent.kill()
        _, err = parent.communicate(timeout=30)
        pytest.fail(f"the parent did not open its client: {line!r} {err[-2000:]}")
    children = json.loads(line)["children"]
    assert len(children) == 1, f"expected the emulator as the one child process, found {children}"
    return parent, children[0]


def _gone(pid: int, within_s: float) -> bool:
    """Whether the process ended (a zombie nobody reaped counts as ended) within the time."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def _names(state: Path) -> set[str]:
    """The assistants in the state file alone (not its journal), read by a store that then lets it go."""
    store = Store(state)
    try:
        assert store.journal_file is not None and not store.journal_file.exists(), "the journal was not folded"
        return {a.main.config["name"] for a in store.assistants.values()}
    finally:
        store.close()


def test_a_parent_killed_by_sigkill_takes_its_emulator_along_and_the_state_is_saved(tmp_path: Path,
                                                                                    monkeypatch: pytest.MonkeyPatch
                                                                                    ) -> None:
    parent, child = _start_parent(tmp_path)
    parent.kill()  # SIGKILL: no cleanup of ours runs, only the pipe closes
    parent.communicate(timeout=30)
    assert _gone(child, within_s=10), "the emulator outlived its parent"
    # It closed its store: the journal is folded into the state file, and the lock is free.
    assert not (tmp_path / ".reconciler" / "local-state.json.journal").exists()
    assert _names(tmp_path / STATE) == {"made-before"}
    monkeypatch.chdir(tmp_path)
    again = run_cli(["plan", str(QUICKSTART), "--local"])
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[-1] == "Plan: 1 to create, 0 to update, 0 to delete."


def test_a_ctrl_c_leaves_the_emulator_serving_until_the_parent_is_done(tmp_path: Path) -> None:
    """SIGINT to the parent's process group (a Ctrl-C in a terminal), and to the child itself."""
    parent, child = _start_parent(tmp_path)
    os.kill(child, signal.SIGINT)
    os.killpg(parent.pid, signal.SIGINT)
    out, err = parent.communicate(timeout=60)
    assert (out, parent.returncode) == ("interrupted\ndone\n", 0), err
    assert _gone(child, within_s=10)
    assert _names(tmp_path / STATE) == {"made-before", "made-after"}


def test_an_emulator_that_dies_under_its_parent_is_an_error_not_silence(tmp_path: Path) -> None:
    parent, child = _start_parent(tmp_path)
    os.kill(child, signal.SIGKILL)
    out, err = parent.communicate("quit\n", timeout=60)
    assert (out, err, parent.returncode) == (
        "done\nConfigError: --local: the embedded emulator was killed by SIGKILL\n", "", 0)


def test_two_local_runs_at_once_the_second_says_the_state_is_in_use(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    parent, child = _start_parent(tmp_path)
    try:
        monkeypatch.chdir(tmp_path)
        second = run_cli(["plan", str(QUICKSTART), "--local"])
        assert second.exit_code == 1
        assert second.stdout == ""
        assert second.stderr == ("Error: --local: .reconciler/local-state.json is in use by another emulator "
                                 "(locked through local-state.json.lock)\n")
    finally:
        out, err = parent.communicate("quit\n", timeout=60)
    assert (out.splitlines()[-1], parent.returncode) == ("done", 0), err
    assert _gone(child, within_s=10)


def test_a_damaged_state_file_is_the_childs_message_through_the_console_script(tmp_path: Path) -> None:
    (tmp_path / ".reconciler").mkdir()
    (tmp_path / STATE).write_text('{"format": 1, "assistants": [{"no": "id"}]}')
    result = subprocess.run([str(SCRIPT), "plan", str(QUICKSTART), "--local"], cwd=tmp_path, env=_env(),
                            capture_output=True, text=True, timeout=60, check=False)
    assert (result.returncode, result.stdout) == (1, "")
    assert re.fullmatch(r"Error: --local: \.reconciler/local-state\.json: [^\n]+\n", result.stderr), result.stderr
    assert "Traceback" not in result.stderr


def test_state_persists_across_two_runs_and_output_stays_clean(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(SCRIPT), *args, str(QUICKSTART), "--local"], cwd=tmp_path, env=_env(),
                              capture_output=True, text=True, timeout=60, check=False)

    applied = run("apply", "--yes")
    assert (applied.returncode, applied.stderr) == (0, "")
    assert applied.stdout.splitlines()[-1] == "Apply: 1 applied, 0 failed, 0 skipped."
    assert not (tmp_path / ".reconciler" / "local-state.json.journal").exists()  # folded at the child's stop
    assert _names(tmp_path / STATE) == {"support-triage"}
    again = run("plan", "--detailed-exitcode")
    assert (again.returncode, again.stdout, again.stderr) == (0, "No changes. 1 object matches the manifests.\n", "")


def test_the_hidden_exit_with_parent_option(tmp_path: Path) -> None:
    """One URL line on stdout, nothing on stderr; EOF on stdin saves the state and ends the process."""
    state = tmp_path / "state.json"
    child = subprocess.Popen([str(SCRIPT), "emulator", "--port", "0", "--api-key", "k", "--state", str(state),
                              "--exit-with-parent"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdin is not None
    url = child.stdout.readline()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v2\n", url), url
    made = httpx.post(url.strip() + "/ai/assistants", json={"name": "kept", "instructions": "x"},
                      headers={"Authorization": "Bearer k"})
    assert made.status_code == 200
    child.send_signal(signal.SIGINT)  # ignored: only EOF ends it
    time.sleep(0.2)
    assert child.poll() is None
    child.stdin.close()
    assert child.wait(timeout=30) == 0
    assert child.stdout.read() == ""
    assert child.stderr is not None and child.stderr.read() == ""
    assert _names(state) == {"kept"}
    assert not state.with_name("state.json.journal").exists()
    with EmulatorServer(state_file=state):  # the lock is free
        pass
    help_text = subprocess.run([str(SCRIPT), "emulator", "--help"], capture_output=True, text=True, timeout=60,
                               check=True).stdout
    assert "exit-with-parent" not in help_text


def test_a_package_named_reconciler_in_the_working_directory_is_not_run(tmp_path: Path) -> None:
    """The emulator's child is our package, not whatever reconciler/ lies where the command runs (review
    finding: `python -m reconciler` put the working directory first and ran that code)."""
    planted = tmp_path / "reconciler"
    planted.mkdir()
    (planted / "__init__.py").write_text("", encoding="utf-8")
    (planted / "__main__.py").write_text("import sys\nprint('planted code ran', file=sys.stderr)\nsys.exit(0)\n",
                                         encoding="utf-8")
    script = Path(sys.executable).parent / "reconciler"
    result = subprocess.run([str(script), "plan", str(QUICKSTART), "--local"], capture_output=True, text=True,
                            timeout=120, check=False, cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert result.stdout.splitlines()[-1] == "Plan: 1 to create, 0 to update, 0 to delete."


def test_a_run_right_after_a_killed_one_waits_for_it_to_finish_saving(tmp_path: Path) -> None:
    """After a kill -9 of a --local command its emulator still folds its journal for a moment; the next run's
    emulator waits for the state lock instead of saying "in use" at once (review finding: a plan started
    right after a killed apply of 3000 failed for about 4.5 s)."""
    lock = tmp_path / ".reconciler" / "local-state.json.lock"
    lock.parent.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import fcntl, os, sys, time\nfd = os.open({str(lock)!r}, os.O_RDWR | os.O_CREAT)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(1.0)\n"],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    script = Path(sys.executable).parent / "reconciler"
    result = subprocess.run([str(script), "plan", str(QUICKSTART), "--local"], capture_output=True, text=True,
                            timeout=120, check=False, cwd=tmp_path)
    holder.wait(timeout=30)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert result.stdout.splitlines()[-1] == "Plan: 1 to create, 0 to update, 0 to delete."
