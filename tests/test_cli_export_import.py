"""export and import through the CLI: what a new user runs to bring an account under git."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, run_cli

DESK = REPO / "examples" / "support-desk"


def test_export_then_plan_is_empty_and_adopt_fills_the_ledger(
    emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_cli(["apply", str(DESK), "--yes"], emulator.base_url).exit_code == 0
    (tmp_path / "reconciler.yaml").write_text("stack: desk\n")
    exported = run_cli(["export", "--out", "manifests", "--adopt"], emulator.base_url)
    assert exported.exit_code == 0, exported.output
    assert exported.stdout.splitlines() == [
        "wrote tools/create-ticket.yaml  (Tool/create-ticket)",
        "wrote tools/lookup-order.yaml  (Tool/lookup-order)",
        "wrote mcp-servers/crm.yaml  (McpServer/crm)",
        "wrote assistants/support-billing.yaml  (Assistant/support-billing)",
        "wrote assistants/support-tech.yaml  (Assistant/support-tech)",
        "wrote assistants/support-triage.yaml  (Assistant/support-triage)",
        "wrote canary-deploys/support-triage.yaml  (CanaryDeploy/support-triage)",
        "wrote assistant-tests/billing-question-handoff.yaml  (AssistantTest/billing-question-handoff)",
        "wrote assistant-tests/refund-over-limit.yaml  (AssistantTest/refund-over-limit)",
        "wrote assistant-tests/refund-within-limit.yaml  (AssistantTest/refund-within-limit)",
    ]
    assert "Adopted 10 objects into stack 'desk'" in exported.stderr
    ledger = json.loads((tmp_path / ".reconciler" / "ownership-desk.json").read_text())
    assert sorted(o["name"] for o in ledger["objects"]) == [
        "billing-question-handoff", "create-ticket", "crm", "lookup-order", "refund-over-limit",
        "refund-within-limit", "support-billing", "support-tech", "support-triage"]
    planned = run_cli(["plan", "manifests", "--detailed-exitcode"], emulator.base_url)
    assert (planned.exit_code, planned.stdout) == (0, "No changes. 10 objects match the manifests.\n")


def test_export_selection_by_kind_and_name(emulator: Any, tmp_path: Path) -> None:
    assert run_cli(["apply", str(DESK), "--yes"], emulator.base_url).exit_code == 0
    result = run_cli(["export", "--out", str(tmp_path / "o"), "--kind", "Tool", "--name", "lookup-*"],
                     emulator.base_url)
    assert result.exit_code == 0, result.output
    assert result.stdout == "wrote tools/lookup-order.yaml  (Tool/lookup-order)\n"


def test_adopt_without_a_stack_is_a_clear_error(emulator: Any, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli(["export", "--adopt"], emulator.base_url)
    assert result.exit_code == 1
    assert result.stderr.endswith("Error: --adopt needs a stack: set 'stack:' in reconciler.yaml\n")


@pytest.mark.parametrize("provider", ["elevenlabs", "vapi", "retell"])
def test_import_from_each_provider_gives_manifests_that_validate_and_plan_cleanly(
    provider: str, emulator: Any, sdk: Any, tmp_path: Path
) -> None:
    out = tmp_path / provider
    result = run_cli(["import", provider, "--api-key-ref", f"{provider}_key", "--out", str(out), "--yes"],
                     emulator.base_url)
    assert result.exit_code == 0, result.output
    imported = [a for a in sdk.ai.assistants.list().data if a.import_metadata is not None]
    assert imported and all(a.import_metadata.import_provider == provider for a in imported)
    noun = "assistant" if len(imported) == 1 else "assistants"
    assert result.stderr.startswith(f"Imported {len(imported)} {noun} from {provider}.")
    written = sorted(p.name for p in (out / "assistants").iterdir())
    assert len(written) == len(imported)
    lines = (out / "secrets.txt").read_text().splitlines()
    names = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    env = {name: "placeholder-not-the-live-value" for name in names}
    assert run_cli(["validate", str(out)], emulator.base_url, env=env).exit_code == 0
    planned = run_cli(["plan", str(out), "--detailed-exitcode"], emulator.base_url, env=env)
    # Only the literal header values exported as ${secret:...} can differ: the test cannot know them.
    changed = [line.strip() for line in planned.stdout.splitlines() if line.startswith("      ~")]
    assert planned.exit_code == (2 if names else 0), planned.output
    assert len(changed) == len(names)
    assert all(re.fullmatch(r"~ tools\[\d+\]\.webhook\.headers\[\d+\]\.value: \(sensitive\) -> \(sensitive\)", c)
               for c in changed), changed


def test_import_of_an_unknown_agent_id_fails_cleanly(emulator: Any, tmp_path: Path) -> None:
    result = run_cli(["import", "vapi", "--api-key-ref", "k", "--id", "nope", "--out", str(tmp_path), "--yes"],
                     emulator.base_url)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: POST /ai/assistants/import failed with HTTP 400")
