"""Exit codes: 0 and 2 keep their meaning, every usage error exits 1 with the usage line.

A nightly ``drift`` job reads exit 2 as "someone changed the account"; a typo in its command line
must not look like drift.
"""

from __future__ import annotations

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
