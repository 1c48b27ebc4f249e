"""Exit codes: 0 and 2 keep their meaning, every usage error exits 1 with the usage line.

A nightly ``drift`` job reads exit 2 as "someone changed the account"; a typo in its command line
must not look like drift.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import run_cli


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["drift", "no/such/path"], "Error: Invalid value for '[PATHS]...': Path 'no/such/path' does not exist."),
        (["plan", "--detailed-exitcode", "missing.yaml"],
         "Error: Invalid value for '[PATHS]...': Path 'missing.yaml' does not exist."),
        (["drift", "--no-such-flag"], "Error: No such option '--no-such-flag'."),
        (["plan", "--format", "yaml"],
         "Error: Invalid value for '--format': 'yaml' is not one of 'text', 'markdown', 'json'."),
        (["validate", "--var-file", "nope.yaml", "."],
         "Error: Invalid value for '--var-file': File 'nope.yaml' does not exist."),
        (["apply", "--plan", "nope.json"], "Error: Invalid value for '--plan': File 'nope.json' does not exist."),
        (["no-such-command"], "Error: No such command 'no-such-command'."),
        (["plan", "--parallelism", "0"],
         "Error: Invalid value for '--parallelism': 0 is not in the range 1<=x<=256."),
    ],
)
def test_usage_errors_exit_1_with_the_usage_line(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli(args)
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Usage: ")
    assert lines[-1] == message
    assert result.stdout == ""


def test_help_and_version_still_exit_0() -> None:
    assert run_cli(["--help"]).exit_code == 0
    assert run_cli(["drift", "--help"]).exit_code == 0
    version = run_cli(["--version"])
    assert version.exit_code == 0
    assert version.stdout.startswith("reconciler, version ")


def _script(body: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``body`` then the console script's entry (``run``) with ``args``, in a fresh interpreter."""
    code = f"import sys\nfrom reconciler.cli import run\n{body}\nsys.argv = ['reconciler', *{list(args)!r}]\nrun()\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)


def test_the_quick_exit_still_runs_exit_handlers_and_keeps_the_code() -> None:
    """The script ends without freeing its heap, but what a normal exit does for others still happens."""
    result = _script("import atexit\natexit.register(lambda: print('handler ran', file=sys.stderr))", "--version")
    assert (result.returncode, result.stdout, result.stderr) == (0, "reconciler, version 0.1.0\n", "handler ran\n")
    result = _script("", "plan", "/no/such/path")
    assert result.returncode == 1 and "does not exist" in result.stderr


def test_the_quick_exit_waits_for_a_thread_still_working() -> None:
    """A thread that is not a daemon finishes its work first, as at any exit (the usual exit takes over)."""
    body = ("import threading, time\n"
            "def work():\n    time.sleep(0.3)\n    print('thread finished', file=sys.stderr, flush=True)\n"
            "threading.Thread(target=work).start()")
    result = _script(body, "--version")
    assert (result.returncode, result.stderr) == (0, "thread finished\n")
