"""A failed change stops only what depends on it, the result says so, and apply again converges."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers import run_cli

BROKEN = """apiVersion: reconciler/v1
kind: Assistant
name: broken
spec:
  instructions: Two hang-up tools; Telnyx allows one per assistant.
  tools:
    - {type: hangup, hangup: {description: first}}
    - {type: hangup, hangup: {description: second}}
---
apiVersion: reconciler/v1
kind: Assistant
name: front
spec:
  instructions: Hands off to broken.
  tools:
    - type: handoff
      handoff:
        ai_assistants: [{assistant: broken}]
---
apiVersion: reconciler/v1
kind: Assistant
name: independent
spec:
  instructions: Needs nothing else.
"""


def test_failures_skip_dependents_only_and_a_second_apply_converges(emulator: Any, sdk: Any, tmp_path: Path) -> None:
    manifest = tmp_path / "desk.yaml"
    manifest.write_text(BROKEN)

    result = run_cli(["apply", str(manifest), "--yes", "--format", "json"], emulator.base_url)
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["ok"] is False
    assert document["summary"] == {"applied": 1, "failed": 1, "skipped": 1}
    by_address = {o["address"]: o for o in document["outcomes"]}
    assert by_address["Assistant/independent"]["status"] == "applied"
    failed = by_address["Assistant/broken"]
    assert failed["status"] == "failed"
    assert failed["message"].startswith("POST /ai/assistants failed with HTTP 400: ")
    assert "(code 10015)" in failed["message"]
    assert by_address["Assistant/front"] == {
        "address": "Assistant/front", "action": "create", "step": None, "status": "skipped", "id": None,
        "message": "needs Assistant/broken, which did not apply",
    }
    assert "[3/3]" in result.stderr  # progress went to stderr, stdout is only the JSON
    assert sorted(a.name for a in sdk.ai.assistants.list().data) == ["independent"]

    manifest.write_text(BROKEN.replace("    - {type: hangup, hangup: {description: second}}\n", ""))
    again = run_cli(["apply", str(manifest), "--yes"], emulator.base_url)
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[-1] == "Apply: 2 applied, 0 failed, 0 skipped."
    assert run_cli(["plan", str(manifest), "--detailed-exitcode"], emulator.base_url).exit_code == 0
    assert sorted(a.name for a in sdk.ai.assistants.list().data) == ["broken", "front", "independent"]


def test_the_text_result_lists_each_change_with_its_status(emulator: Any, tmp_path: Path) -> None:
    manifest = tmp_path / "desk.yaml"
    manifest.write_text(BROKEN)
    result = run_cli(["apply", str(manifest), "--yes"], emulator.base_url)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[-1] == "Apply: 1 applied, 1 failed, 1 skipped."
    outcome_lines = sorted(line.split("]", 1)[1] for line in lines if line.startswith("["))
    assert outcome_lines[0].startswith("  applied  create Assistant/independent (assistant-")
    assert outcome_lines[1].startswith("  failed  create Assistant/broken: POST /ai/assistants failed with HTTP 400")
    assert outcome_lines[2] == "  skipped  create Assistant/front: needs Assistant/broken, which did not apply"
