"""End to end: the CLI plans and applies the quickstart against the emulator over real HTTP.

The official SDK (strict response validation) reads back what apply made, and the emulator's
request counters prove what was and was not sent.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import QUICKSTART, run_cli


def _writes(emulator: Any) -> int:
    return int(emulator.stats()["writes"])


def test_plan_shows_a_create_for_the_quickstart(emulator: Any) -> None:
    """A fresh account: the plan creates the one assistant and lists its fields."""
    result = run_cli(["plan", str(QUICKSTART), "--detailed-exitcode"], emulator.base_url)
    assert result.exit_code == 2, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "reconciler will make these changes:"
    assert lines[2] == "  + Assistant/support-triage will be created"
    assert '      name = "support-triage"' in lines
    assert '      model = "openai/gpt-4o"' in lines
    assert "      instructions = <<" in lines
    assert lines[-1] == "Plan: 1 to create, 0 to update, 0 to delete."
    assert _writes(emulator) == 0


def test_apply_then_plan_is_empty_and_second_apply_writes_nothing(emulator: Any, sdk: Any) -> None:
    """Convergence: apply, plan shows nothing, a second apply sends no write and makes no version."""
    first = run_cli(["apply", str(QUICKSTART), "--yes"], emulator.base_url)
    assert first.exit_code == 0, first.output
    assert "[1/1]  applied  create Assistant/support-triage (assistant-" in first.stdout
    assert first.stdout.splitlines()[-1] == "Apply: 1 applied, 0 failed, 0 skipped."

    [assistant] = sdk.ai.assistants.list().data
    assert assistant.name == "support-triage"
    assert assistant.model == "openai/gpt-4o"
    assert assistant.voice_settings.voice == "Telnyx.KokoroTTS.af_heart"
    assert [t.type for t in assistant.tools] == ["webhook", "transfer", "hangup"]
    versions_before = len(sdk.ai.assistants.versions.list(assistant.id).data)

    again = run_cli(["plan", str(QUICKSTART), "--detailed-exitcode"], emulator.base_url)
    assert again.exit_code == 0, again.output
    assert again.stdout == "No changes. 1 object matches the manifests.\n"

    writes = _writes(emulator)
    second = run_cli(["apply", str(QUICKSTART), "--yes"], emulator.base_url)
    assert second.exit_code == 0, second.output
    assert second.stdout == "No changes. 1 object matches the manifests.\n"
    assert _writes(emulator) == writes
    assert len(sdk.ai.assistants.versions.list(assistant.id).data) == versions_before


def _copy_quickstart(tmp_path: Path) -> Path:
    target = tmp_path / "manifests"
    shutil.copytree(QUICKSTART, target)
    return target / "support-triage.yaml"


def _edit(path: Path, edit: Any) -> None:
    doc = yaml.safe_load(path.read_text())
    edit(doc["spec"])
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_editing_one_field_plans_exactly_that_field(emulator: Any, sdk: Any, tmp_path: Path) -> None:
    """Only the edited field shows up, and apply sends only its top-level key."""
    manifest = _copy_quickstart(tmp_path)
    assert run_cli(["apply", str(manifest.parent), "--yes"], emulator.base_url).exit_code == 0
    _edit(manifest, lambda spec: spec["voice_settings"].update(voice="Telnyx.KokoroTTS.am_michael"))

    result = run_cli(["plan", str(manifest.parent), "--detailed-exitcode"], emulator.base_url)
    assert result.exit_code == 2, result.output
    [assistant] = sdk.ai.assistants.list().data
    assert result.stdout.splitlines() == [
        "reconciler will make these changes:",
        "",
        f"  ~ Assistant/support-triage will be updated ({assistant.id})",
        '      ~ voice_settings.voice: "Telnyx.KokoroTTS.af_heart" -> "Telnyx.KokoroTTS.am_michael"',
        "",
        "Assistant versions (Telnyx keeps 10 per assistant; beyond that the oldest go):",
        "  Assistant/support-triage: 1 new version (1 kept -> 2); none evicted",
        "",
        "Plan: 0 to create, 1 to update, 0 to delete.",
    ]
    versions_before = len(sdk.ai.assistants.versions.list(assistant.id).data)
    applied = run_cli(["apply", str(manifest.parent), "--yes"], emulator.base_url)
    assert applied.exit_code == 0, applied.output
    after = sdk.ai.assistants.retrieve(assistant.id)
    assert after.voice_settings.voice == "Telnyx.KokoroTTS.am_michael"
    # The nested object was sent whole, so its other stated field survived the update.
    assert after.voice_settings.background_audio.value == "office"
    assert len(sdk.ai.assistants.versions.list(assistant.id).data) == versions_before + 1


def test_long_instructions_change_shows_a_line_diff(emulator: Any, tmp_path: Path) -> None:
    manifest = _copy_quickstart(tmp_path)
    assert run_cli(["apply", str(manifest.parent), "--yes"], emulator.base_url).exit_code == 0
    _edit(manifest, lambda spec: spec.update(
        instructions=spec["instructions"].replace("keep answers short", "keep answers under 20 words")))

    result = run_cli(["plan", str(manifest.parent)], emulator.base_url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    at = lines.index("      ~ instructions:")
    assert lines[at + 1 : at + 6] == [
        "          @@ -1,4 +1,4 @@",
        "           You are the first voice on the Acme Outdoor support line.",
        "          -Greet the caller, find out what they need, and keep answers short.",
        "          +Greet the caller, find out what they need, and keep answers under 20 words.",
        "           If they ask about an order, call lookup_order with the order number they give you.",
    ]


def test_out_of_band_change_to_an_unstated_field_is_not_a_change(emulator: Any, sdk: Any) -> None:
    """Fields the manifest does not state belong to whoever set them."""
    assert run_cli(["apply", str(QUICKSTART), "--yes"], emulator.base_url).exit_code == 0
    [assistant] = sdk.ai.assistants.list().data
    sdk.ai.assistants.update(
        assistant.id,
        privacy_settings={"data_retention": False},
        telephony_settings={"user_idle_reply_secs": 20},
    )
    changed = sdk.ai.assistants.retrieve(assistant.id)  # the edit landed: "no changes" below is not trivial
    assert changed.privacy_settings.data_retention is False
    assert changed.telephony_settings.user_idle_reply_secs == 20
    result = run_cli(["plan", str(QUICKSTART), "--detailed-exitcode"], emulator.base_url)
    assert result.exit_code == 0, result.output
    assert result.stdout == "No changes. 1 object matches the manifests.\n"


def test_out_of_band_change_to_a_stated_field_is_planned_back(emulator: Any, sdk: Any) -> None:
    assert run_cli(["apply", str(QUICKSTART), "--yes"], emulator.base_url).exit_code == 0
    [assistant] = sdk.ai.assistants.list().data
    sdk.ai.assistants.update(assistant.id, telephony_settings={"time_limit_secs": 600})
    result = run_cli(["plan", str(QUICKSTART), "--detailed-exitcode"], emulator.base_url)
    assert result.exit_code == 2, result.output
    assert "      ~ telephony_settings.time_limit_secs: 600 -> 1200" in result.stdout


def test_apply_without_yes_refuses_when_stdin_is_not_a_terminal(emulator: Any) -> None:
    result = run_cli(["apply", str(QUICKSTART)], emulator.base_url)
    assert result.exit_code == 1
    assert "refusing to apply: stdin is not a terminal" in result.stderr
    assert _writes(emulator) == 0


@pytest.mark.parametrize("args", [["plan"], ["apply", "--yes"]])
def test_wrong_api_key_is_a_clear_error_without_the_key(emulator: Any, args: list[str]) -> None:
    wrong = "wrong-key-1234567890"
    result = run_cli([*args, str(QUICKSTART)], emulator.base_url, env={"TELNYX_API_KEY": wrong})
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: GET /ai/assistants failed with HTTP 401")
    assert wrong not in result.output
