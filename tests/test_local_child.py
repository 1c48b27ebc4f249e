"""``reconciler emulator --exit-with-parent``: the child that ``--local`` will run (issue 18).

Why: the child must save its state and release the state file's lock when its parent goes, and only then.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from reconciler.emulator import EmulatorServer
from reconciler.emulator.store import Store

SCRIPT = Path(sys.executable).parent / "reconciler"


def _names(state: Path) -> set[str]:
    """The assistants in the state file alone (not its journal), read by a store that then lets it go."""
    store = Store(state)
    try:
        assert store.journal_file is not None and not store.journal_file.exists(), "the journal was not folded"
        return {a.main.config["name"] for a in store.assistants.values()}
    finally:
        store.close()


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
