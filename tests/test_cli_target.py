"""``--target Kind/name`` and ``--select-tag TAG``: plan, apply and drift a subset, dependencies pulled in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers import REPO, run_cli

DESK = REPO / "examples" / "support-desk"


def _addresses(stdout: str) -> list[str]:
    return [c["address"] for c in json.loads(stdout)["changes"] if not c["step"]]


def test_a_target_brings_what_it_references_and_the_plan_says_so(emulator: Any) -> None:
    result = run_cli(["plan", str(DESK), "--target", "Assistant/support-tech"], emulator.base_url)
    assert result.exit_code == 0, result.output
    assert "Assistant/support-tech will be created" in result.stdout
    assert "support-billing" not in result.stdout.split("Warning:")[0]
    assert "Warning: targeted plan (--target/--select-tag):" in result.stdout
    assert "pulled in as dependencies: " in result.stdout and "(for Assistant/support-tech)" in result.stdout
    document = json.loads(
        run_cli(["plan", str(DESK), "--target", "Assistant/support-tech", "--format", "json"], emulator.base_url).stdout
    )
    created = {c["address"] for c in document["changes"]}
    assert "Assistant/support-tech" in created and "Assistant/support-billing" not in created
    assert any(w.startswith("targeted plan") for w in document["warnings"])


def test_apply_a_target_then_the_rest(emulator: Any) -> None:
    first = run_cli(["apply", str(DESK), "--target", "Assistant/support-tech", "--yes"], emulator.base_url)
    assert first.exit_code == 0, first.output
    rest = run_cli(["plan", str(DESK), "--format", "json"], emulator.base_url)
    left = _addresses(rest.stdout)
    assert "Assistant/support-tech" not in left and "Assistant/support-triage" in left
    # the rest references support-tech, which is now resolved from the account
    assert run_cli(["apply", str(DESK), "--yes"], emulator.base_url).exit_code == 0
    assert json.loads(run_cli(["plan", str(DESK), "--format", "json"], emulator.base_url).stdout)["changes"] == []


def test_select_tag_takes_tagged_assistants_and_resolves_the_rest_from_the_account(emulator: Any) -> None:
    assert run_cli(["apply", str(DESK), "--yes"], emulator.base_url).exit_code == 0
    result = run_cli(["plan", str(DESK), "--select-tag", "billing", "--format", "json"], emulator.base_url)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["changes"] == []
    assert "Assistant/support-billing" in document["unchanged"]
    assert "Assistant/support-tech" not in document["unchanged"]  # its handoff target exists: not pulled in
    assert "pulled in" not in document["warnings"][-1]


def test_on_an_empty_account_every_reference_is_pulled_in(emulator: Any) -> None:
    """Billing hands off to triage, which hands off on: none exists yet, so all of them come along."""
    result = run_cli(["plan", str(DESK), "--select-tag", "billing", "--format", "json"], emulator.base_url)
    document = json.loads(result.stdout)
    assert "Assistant/support-triage" in _addresses(result.stdout)
    assert "Assistant/support-triage (for Assistant/support-billing)" in document["warnings"][-1]


def test_drift_of_a_target(emulator: Any) -> None:
    result = run_cli(["drift", str(DESK), "--target", "Tool/lookup-order", "--format", "json"], emulator.base_url)
    assert result.exit_code == 2, result.output
    assert [o["address"] for o in json.loads(result.stdout)["objects"]] == ["Tool/lookup-order"]
    assert result.stderr.startswith("Note: targeted drift (--target/--select-tag): 1 of 10 manifests")


def test_unknown_targets_and_prune_are_refused(emulator: Any) -> None:
    unknown = run_cli(["plan", str(DESK), "--target", "Assistant/support-tek"], emulator.base_url)
    assert unknown.exit_code == 1 and "did you mean Assistant/support-tech?" in unknown.stderr
    shape = run_cli(["plan", str(DESK), "--target", "support-tech"], emulator.base_url)
    assert shape.exit_code == 1 and "write it as Kind/name" in shape.stderr
    tag = run_cli(["plan", str(DESK), "--select-tag", "nope"], emulator.base_url)
    assert tag.exit_code == 1 and "no Assistant manifest has this tag" in tag.stderr
    pruned = run_cli(["plan", str(DESK), "--target", "Tool/lookup-order", "--prune"], emulator.base_url)
    assert pruned.exit_code == 1 and "--prune acts on the whole stack" in pruned.stderr


def test_a_saved_targeted_plan_applies_the_same_subset(emulator: Any, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    planned = run_cli(["plan", str(DESK), "--target", "Tool/lookup-order", "--out", str(saved)], emulator.base_url)
    assert planned.exit_code == 0, planned.output
    applied = run_cli(["apply", "--plan", str(saved), "--yes"], emulator.base_url)
    assert applied.exit_code == 0, applied.output
    left = _addresses(run_cli(["plan", str(DESK), "--format", "json"], emulator.base_url).stdout)
    assert "Tool/lookup-order" not in left and "Assistant/support-tech" in left
    again = run_cli(["apply", "--plan", str(saved), "--yes", "--target", "Tool/x"], emulator.base_url)
    assert again.exit_code == 1 and "carries its own --target" in again.stderr
