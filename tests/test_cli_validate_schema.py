"""validate and schema: offline commands that must never touch the network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import QUICKSTART, REPO, run_cli
from tests.test_loader import BAD_CASES, DATA, expected_lines


def test_quickstart_is_valid(emulator: Any) -> None:
    result = run_cli(["validate", str(QUICKSTART)], emulator.base_url)
    assert result.exit_code == 0, result.output
    assert result.stdout == "1 manifest valid.\n"
    assert emulator.stats()["total"] == 0


@pytest.mark.parametrize("case", BAD_CASES)
def test_each_broken_manifest_fails_with_file_line_object_and_field(
    case: str, emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exit 1, exactly the expected lines on stderr, and not one request to the API."""
    monkeypatch.chdir(DATA / "bad")
    result = run_cli(["validate", case], emulator.base_url, env={"PRESENT": "1"})
    assert result.exit_code == 1
    assert result.stderr.splitlines() == expected_lines(DATA / "bad" / case)
    assert result.stdout == ""
    assert emulator.stats()["total"] == 0


def test_all_broken_manifests_at_once_report_every_problem(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(DATA / "bad")
    result = run_cli(["validate", *BAD_CASES], emulator.base_url, env={"PRESENT": "1"})
    assert result.exit_code == 1
    expected = sorted(line for case in BAD_CASES for line in expected_lines(DATA / "bad" / case))
    assert sorted(result.stderr.splitlines()) == expected
    assert emulator.stats()["total"] == 0


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_plan_and_apply_refuse_invalid_manifests_before_any_request(command: str, emulator: Any) -> None:
    extra = ["--yes"] if command == "apply" else []
    result = run_cli([command, *extra, str(DATA / "bad" / "wrong-type.yaml")], emulator.base_url)
    assert result.exit_code == 1
    assert "wrong-type.yaml:" in result.stderr
    assert emulator.stats()["total"] == 0


def test_schema_prints_the_assistant_schema() -> None:
    result = run_cli(["schema", "Assistant"])
    assert result.exit_code == 0
    printed = json.loads(result.stdout)
    committed = json.loads((REPO / "schemas" / "assistant.schema.json").read_text())
    assert printed == committed
    assert printed["properties"]["kind"]["const"] == "Assistant"
    assert printed["properties"]["spec"]["required"] == ["instructions"]


def test_schema_of_an_unknown_kind_is_an_error() -> None:
    result = run_cli(["schema", "Widget"])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: unknown kind 'Widget'; known kinds: Assistant, Tool, McpServer, CanaryDeploy, AssistantTest\n"
    )


def test_readme_quickstart_runs_through_the_console_script(tmp_path: Path) -> None:
    """The README's first command as a new user runs it: the real entry point, --local, twice."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELNYX_")}
    env["NO_COLOR"] = "1"
    script = Path(sys.executable).parent / "reconciler"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(script), *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=60, check=False)

    (tmp_path / "examples").symlink_to(REPO / "examples")
    planned = run("plan", "examples/quickstart", "--local")
    assert planned.returncode == 0, planned.stderr
    assert planned.stdout.splitlines()[-1] == "Plan: 1 to create, 0 to update, 0 to delete."
    applied = run("apply", "examples/quickstart", "--local", "--yes")
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.splitlines()[-1] == "Apply: 1 applied, 0 failed, 0 skipped."
    assert (tmp_path / ".reconciler" / "local-state.json").is_file()
    again = run("plan", "examples/quickstart", "--local", "--detailed-exitcode")
    assert (again.returncode, again.stdout) == (0, "No changes. 1 object matches the manifests.\n")
