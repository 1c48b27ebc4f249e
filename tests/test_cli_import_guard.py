"""`reconciler import` follows the rules of every other write: it shows what it will do, asks on a
terminal, needs --yes otherwise, and does not overwrite what a stack manages unless told to.

Before, it imported at once with no plan, no prompt and no --yes, and a re-import silently
overwrote assistants managed in git with the provider's version.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import EmulatorServer
from tests.conftest import TEST_API_KEY
from tests.helpers import run_cli

RIVERSIDE = "3f9c2a71-5d84-4b6e-9a13-c07e8d2f4b15"
APEX = "8b41d0e6-2c37-4f9a-b5e8-61a9f3c72d04"
IMPORT = "POST /v2/ai/assistants/import"
NOT_A_TERMINAL = "Error: refusing to import: stdin is not a terminal; review what it will do and pass --yes\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory with stack 'desk', as the working directory."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reconciler.yaml").write_text("stack: desk\n")
    return tmp_path


def _import(emulator: EmulatorServer, *args: str, stdin: str | None = None) -> Any:
    return run_cli(["import", "vapi", "--api-key-ref", "vapi_key", "--out", "manifests", *args], emulator.base_url,
                   stdin=stdin)


def _writes(emulator: EmulatorServer) -> int:
    return int(emulator.stats()["writes"])


def _by_import_id(sdk: Any) -> dict[str, Any]:
    return {a.import_metadata.import_id: a for a in sdk.ai.assistants.list().data if a.import_metadata}


class TestShowsAndAsks:
    def test_without_yes_and_no_terminal_it_shows_the_import_and_writes_nothing(
            self, emulator: EmulatorServer, project: Path) -> None:
        result = _import(emulator)
        assert result.exit_code == 1
        assert result.stdout == (
            "reconciler import will:\n\n"
            "  + import every agent of the Vapi account behind integration secret 'vapi_key'; agents not imported "
            "before become new assistants\n\n"
            "Import: every agent, 0 to overwrite.\n")
        assert result.stderr == NOT_A_TERMINAL
        assert _writes(emulator) == 0
        assert not (project / "manifests").exists()

    def test_with_yes_it_shows_then_imports(self, emulator: EmulatorServer, project: Path, sdk: Any) -> None:
        result = _import(emulator, "--id", APEX, "--yes")
        assert result.exit_code == 0, result.output
        assert result.stdout == (
            "reconciler import will:\n\n"
            f"  + import Vapi agent {APEX} as a new assistant\n\n"
            "Import: 1 new, 0 to overwrite.\n"
            "wrote assistants/Apex-Fitness-Membership-Desk.yaml  (Assistant/Apex Fitness Membership Desk)\n")
        assert result.stderr.startswith("Imported 1 assistant from vapi.\n")
        assert list(_by_import_id(sdk)) == [APEX]

    def test_a_re_import_names_the_assistants_it_overwrites(self, emulator: EmulatorServer, project: Path,
                                                            sdk: Any) -> None:
        assert _import(emulator, "--id", RIVERSIDE, "--yes").exit_code == 0
        riverside = _by_import_id(sdk)[RIVERSIDE]
        emulator.reset_stats()
        result = _import(emulator, "--id", APEX, "--id", RIVERSIDE)
        assert result.exit_code == 1
        assert result.stdout == (
            "reconciler import will:\n\n"
            f"  + import Vapi agent {APEX} as a new assistant\n"
            f"  ~ overwrite Assistant/Riverside Realty Lead Qualifier ({riverside.id}) with Vapi agent {RIVERSIDE}\n\n"
            "An overwrite is a new main version holding only the provider's configuration: edits,\n"
            "tags and attached shared tools made since the earlier import are replaced.\n\n"
            "Import: 1 new, 1 to overwrite.\n")
        assert result.stderr == NOT_A_TERMINAL
        assert _writes(emulator) == 0
        # Without --id every earlier import of this provider is overwritten, and the plan says so.
        everything = _import(emulator)
        assert everything.stdout.splitlines()[2:4] == [
            "  + import every agent of the Vapi account behind integration secret 'vapi_key'; agents not "
            "imported before become new assistants",
            f"  ~ overwrite Assistant/Riverside Realty Lead Qualifier ({riverside.id}) with Vapi agent {RIVERSIDE}",
        ]
        assert _writes(emulator) == 0
        # An unmanaged assistant is overwritten once the user says yes.
        assert _import(emulator, "--id", RIVERSIDE, "--yes").exit_code == 0
        assert _by_import_id(sdk)[RIVERSIDE].version_id != riverside.version_id


class TestManagedAssistants:
    def test_an_assistant_this_stack_manages_is_not_overwritten(self, emulator: EmulatorServer, project: Path,
                                                                 sdk: Any) -> None:
        adopted = _import(emulator, "--id", RIVERSIDE, "--adopt", "--yes")
        assert adopted.exit_code == 0, adopted.output
        riverside = _by_import_id(sdk)[RIVERSIDE]
        emulator.reset_stats()
        result = _import(emulator, "--id", RIVERSIDE, "--yes")
        assert result.exit_code == 1
        assert result.stdout.splitlines()[2] == (
            f"  ~ overwrite Assistant/Riverside Realty Lead Qualifier ({riverside.id}) with Vapi agent {RIVERSIDE}, "
            "managed by stack 'desk'")
        assert result.stderr == (
            "Error: refusing to import: it would overwrite assistants a stack manages from git: Assistant/Riverside "
            f"Realty Lead Qualifier ({riverside.id}) of stack 'desk'; nothing was imported. Pass --overwrite-managed "
            "to overwrite them anyway\n")
        assert _writes(emulator) == 0
        assert _by_import_id(sdk)[RIVERSIDE].version_id == riverside.version_id
        forced = _import(emulator, "--id", RIVERSIDE, "--yes", "--overwrite-managed")
        assert forced.exit_code == 0, forced.output
        assert emulator.stats()["by_route"][IMPORT] == 1
        assert _by_import_id(sdk)[RIVERSIDE].version_id != riverside.version_id

    def test_an_assistant_another_stack_manages_is_named_with_that_stack(
            self, emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sdk: Any) -> None:
        """The ledgers beside this stack's count, and so they do for a project with no stack at all."""
        monkeypatch.chdir(tmp_path)
        assert _import(emulator, "--yes").exit_code == 0
        live = _by_import_id(sdk)
        ledger = {"format": 1, "stack": "voice", "objects": [
            {"kind": "Assistant", "name": "apex", "id": live[APEX].id},
            {"kind": "Assistant", "name": "harbor", "id": "someone-else"}]}
        (tmp_path / ".reconciler").mkdir()
        (tmp_path / ".reconciler" / "ownership-voice.json").write_text(json.dumps(ledger))
        emulator.reset_stats()
        for config in ("", "stack: desk\n"):  # no stack, then the stack 'desk' beside 'voice'
            (tmp_path / "reconciler.yaml").write_text(config)
            result = _import(emulator, "--yes")
            assert result.exit_code == 1
            assert result.stderr == (
                "Error: refusing to import: it would overwrite assistants a stack manages from git: Assistant/Apex "
                f"Fitness Membership Desk ({live[APEX].id}) of stack 'voice'; nothing was imported. Pass "
                "--overwrite-managed to overwrite them anyway\n")
        assert _writes(emulator) == 0
        assert _import(emulator, "--id", RIVERSIDE, "--yes").exit_code == 0  # the unmanaged one is fine

    def test_adopt_without_a_stack_is_refused_before_writing(self, emulator: EmulatorServer, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(tmp_path)
        result = _import(emulator, "--adopt", "--yes")
        assert (result.exit_code, result.stderr) == (
            1, "Error: --adopt needs a stack: set 'stack:' in reconciler.yaml\n")
        assert _writes(emulator) == 0


# --- on a terminal: the prompt --------------------------------------------------------------

def _on_a_terminal(emulator: EmulatorServer, cwd: Path, answer: str) -> subprocess.CompletedProcess[str]:
    """Run import with stdin on a pseudo-terminal and type ``answer``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELNYX_")}
    env.update(TELNYX_BASE_URL=emulator.base_url, TELNYX_API_KEY=TEST_API_KEY, NO_COLOR="1")
    controller, terminal = pty.openpty()
    try:
        os.write(controller, answer.encode() + b"\n")
        return subprocess.run(
            [sys.executable, "-m", "reconciler", "import", "vapi", "--api-key-ref", "k", "--id", APEX, "--out", "m"],
            stdin=terminal, capture_output=True, text=True, cwd=cwd, env=env, timeout=120)
    finally:
        os.close(terminal)
        os.close(controller)


@pytest.mark.parametrize(("answer", "imported"), [("n", False), ("y", False), ("yes", True)])
def test_on_a_terminal_it_asks(answer: str, imported: bool, emulator: EmulatorServer, project: Path,
                               sdk: Any) -> None:
    done = _on_a_terminal(emulator, project, answer)
    assert done.stdout.startswith(
        f"reconciler import will:\n\n  + import Vapi agent {APEX} as a new assistant\n\n"
        "Import: 1 new, 0 to overwrite.\nImport these agents?\n  Only 'yes' will be accepted to approve.\n\n"
        "  Enter a value: ")  # like Terraform: 'y' is not enough
    if imported:
        assert done.returncode == 0, done.stderr
        assert list(_by_import_id(sdk)) == [APEX]
    else:
        assert (done.returncode, done.stderr) == (1, "Error: import cancelled; nothing was imported\n")
        assert _writes(emulator) == 0
