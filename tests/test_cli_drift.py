"""reconciler drift as the nightly job runs it: exit codes, the named field, ignore rules."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import QUICKSTART, run_cli


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The quickstart with a project file that lets the console own the greeting."""
    shutil.copytree(QUICKSTART, tmp_path / "manifests")
    (tmp_path / "reconciler.yaml").write_text("ignore:\n  - target: Assistant/support-triage\n    fields: [greeting]\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def drift(emulator: Any, *extra: str) -> Any:
    return run_cli(["drift", "manifests", *extra], emulator.base_url)


def test_drift_exit_codes_follow_the_account(emulator: Any, sdk: Any, project: Path) -> None:
    before = drift(emulator)
    assert before.exit_code == 2
    assert "missing" in before.stdout

    assert run_cli(["apply", "manifests", "--yes"], emulator.base_url).exit_code == 0
    in_sync = drift(emulator)
    assert (in_sync.exit_code, in_sync.stdout) == (0, "No drift: 1 object matches the manifests.\n")

    [assistant] = sdk.ai.assistants.list().data
    sdk.ai.assistants.update(assistant.id, greeting="Edited in the portal", description=assistant.description,
                             privacy_settings={"data_retention": False})
    assert drift(emulator).exit_code == 0  # an ignored field and an unstated one

    sdk.ai.assistants.update(assistant.id, transcription={"model": "deepgram/flux", "language": "en"})
    drifted = drift(emulator, "--format", "json")
    assert drifted.exit_code == 2
    report = json.loads(drifted.stdout)
    assert report["in_sync"] is False
    [obj] = report["objects"]
    assert (obj["address"], obj["status"], obj["id"]) == ("Assistant/support-triage", "changed", assistant.id)
    assert obj["fields"] == [
        {"path": "transcription.model", "live": "deepgram/flux", "desired": "deepgram/nova-3", "sensitive": False}
    ]
    text = drift(emulator)
    assert "transcription.model" in text.stdout
    assert emulator.stats()["writes"] == 3  # drift itself never writes


def test_drift_against_an_unreachable_api_is_an_error(project: Path) -> None:
    result = run_cli(["drift", "manifests"], "http://127.0.0.1:9/v2")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: GET /ai/assistants: cannot connect to http://127.0.0.1:9/v2")


def test_the_api_key_is_masked_even_when_a_manifest_interpolates_it(emulator: Any, project: Path) -> None:
    """A careless ${env:TELNYX_API_KEY} in a manifest must not put the key into a PR comment."""
    path = project / "manifests" / "support-triage.yaml"
    path.write_text(path.read_text().replace("support_hours:", "leak: ${env:TELNYX_API_KEY}\n    support_hours:"))
    for args in (["plan", "manifests"], ["plan", "manifests", "--format", "markdown"],
                 ["plan", "manifests", "--format", "json"]):
        result = run_cli(args, emulator.base_url)
        assert result.exit_code == 0, result.output
        assert "dynamic_variables.leak" in result.stdout
        assert "(sensitive)" in result.stdout
        assert "test-key-not-secret" not in result.output
    assert run_cli(["apply", "manifests", "--yes"], emulator.base_url).exit_code == 0
    path.write_text(path.read_text().replace("leak: ${env:TELNYX_API_KEY}", "leak: other"))
    drifted = run_cli(["drift", "manifests"], emulator.base_url)
    assert drifted.exit_code == 2
    assert "dynamic_variables.leak" in drifted.stdout
    assert "test-key-not-secret" not in drifted.output
