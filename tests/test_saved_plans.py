"""Saved plans: apply exactly what was reviewed, or refuse because the world moved."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import QUICKSTART, REPO, run_cli

DESK = REPO / "examples" / "support-desk"
SECRET = "sk-live-very-secret-value-42"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch project with the quickstart and a secret-bearing tool, run from its directory."""
    shutil.copytree(QUICKSTART, tmp_path / "manifests")
    (tmp_path / "manifests" / "tool.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Tool\nname: crm-lookup\nspec:\n  type: webhook\n  webhook:\n"
        "    name: crm_lookup\n    description: Find the caller in the CRM.\n"
        "    url: https://crm.example/lookup\n    headers:\n"
        "      - name: Authorization\n        value: Bearer ${secret:CRM_TOKEN}\n"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def plan_out(emulator: Any, out: str = "plan.json") -> Any:
    result = run_cli(["plan", "manifests", "--out", out], emulator.base_url, env={"CRM_TOKEN": SECRET})
    assert result.exit_code == 0, result.output
    return result


def apply_saved(emulator: Any, out: str = "plan.json") -> Any:
    return run_cli(["apply", "--plan", out, "--yes"], emulator.base_url, env={"CRM_TOKEN": SECRET})


def test_a_saved_plan_applies_unchanged_and_holds_no_secret(emulator: Any, workdir: Path) -> None:
    shown = plan_out(emulator)
    saved = (workdir / "plan.json").read_text()
    assert SECRET not in saved
    assert SECRET not in shown.output
    document = json.loads(saved)
    assert document["summary"] == {"create": 2, "update": 0, "delete": 0, "adopt": 0}
    header = next(f for c in document["changes"] if c["address"] == "Tool/crm-lookup" for f in c["fields"]
                  if f["path"] == "webhook.headers[0].value")
    assert header == {"path": "webhook.headers[0].value", "before": None, "after": "(sensitive)", "sensitive": True}
    assert document["saved"]["paths"] == ["manifests"]

    result = apply_saved(emulator)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "Apply: 2 applied, 0 failed, 0 skipped."
    assert SECRET not in result.output
    assert run_cli(["plan", "manifests", "--detailed-exitcode"], emulator.base_url,
                   env={"CRM_TOKEN": SECRET}).exit_code == 0


def test_a_saved_plan_is_refused_after_an_out_of_band_change(emulator: Any, sdk: Any, workdir: Path) -> None:
    assert run_cli(["apply", "manifests", "--yes"], emulator.base_url, env={"CRM_TOKEN": SECRET}).exit_code == 0
    (workdir / "manifests" / "support-triage.yaml").write_text(
        (workdir / "manifests" / "support-triage.yaml").read_text().replace("time_limit_secs: 1200",
                                                                           "time_limit_secs: 900"))
    plan_out(emulator)
    [assistant] = sdk.ai.assistants.list().data
    sdk.ai.assistants.update(assistant.id, description="edited in the portal")
    writes = emulator.stats()["writes"]

    result = apply_saved(emulator)
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: the live account changed since the plan was saved: Assistant/support-triage, "
        "versions of Assistant/support-triage (version budget); run plan again\n"
    )
    assert emulator.stats()["writes"] == writes


def test_a_saved_plan_is_refused_after_a_manifest_edit(emulator: Any, workdir: Path) -> None:
    plan_out(emulator)
    path = workdir / "manifests" / "support-triage.yaml"
    path.write_text(path.read_text().replace("model: openai/gpt-4o", "model: openai/gpt-4.1"))
    result = apply_saved(emulator)
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: the manifests changed since the plan was saved: Assistant/support-triage; run plan again\n"
    )
    assert emulator.stats()["writes"] == 0


def test_a_changed_secret_value_does_not_invalidate_the_plan_but_is_applied(emulator: Any, sdk: Any,
                                                                          workdir: Path) -> None:
    """Digests cover the manifests as written, so rotating a secret between plan and apply is fine."""
    plan_out(emulator)
    result = run_cli(["apply", "--plan", "plan.json", "--yes"], emulator.base_url, env={"CRM_TOKEN": "rotated"})
    assert result.exit_code == 0, result.output
    [tool] = list(sdk.ai.tools.list())
    assert tool.tool_definition["headers"] == [{"name": "Authorization", "value": "Bearer rotated"}]


def test_apply_refuses_paths_together_with_a_saved_plan(emulator: Any, workdir: Path) -> None:
    plan_out(emulator)
    result = run_cli(["apply", "manifests", "--plan", "plan.json", "--yes"], emulator.base_url,
                     env={"CRM_TOKEN": SECRET})
    assert result.exit_code == 1
    assert "give either manifest paths or --plan, not both" in result.stderr


def test_a_file_that_is_not_a_saved_plan_is_a_clear_error(emulator: Any, workdir: Path) -> None:
    (workdir / "plan.json").write_text('{"format_version": 1, "summary": {}}')
    result = apply_saved(emulator)
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: plan.json: not a saved plan (write one with 'reconciler plan --out plan.json')\n"
    )


def test_support_desk_saved_plan_round_trip(emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """References, a cycle and a canary: the recomputed plan matches the saved one exactly."""
    shutil.copytree(DESK, tmp_path / "desk")
    monkeypatch.chdir(tmp_path)
    assert run_cli(["plan", "desk", "--out", "p.json"], emulator.base_url).exit_code == 0
    result = run_cli(["apply", "--plan", "p.json", "--yes"], emulator.base_url)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "Apply: 13 applied, 0 failed, 0 skipped."
