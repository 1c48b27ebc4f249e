"""Perpetual diffs detected, not paid for: a strict emulator drops unknown fields, and the engine
notices a sent field that did not stick, reports it once and stops planning it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import telnyx

from reconciler.changes.readback import LEDGER_FILE, NotKeptLedger, not_kept, without_paths
from reconciler.changes.refs import Pending
from reconciler.emulator import EmulatorServer
from tests.conftest import AUTH, TEST_API_KEY
from tests.helpers import run_cli

MANIFEST = """\
apiVersion: reconciler/v1
kind: Assistant
name: early-adopter
spec:
  instructions: Try the new knob.
  voice_settings:
    voice: Telnyx.KokoroTTS.af_heart
    x-passthrough:
      warmth: {value}
"""


@pytest.fixture
def strict() -> Iterator[EmulatorServer]:
    with EmulatorServer(api_key=TEST_API_KEY, unknown_fields="drop") as server:
        yield server


class TestStrictEmulator:
    def test_drop_mode_leaves_out_unknown_keys_at_any_depth(self, strict: EmulatorServer) -> None:
        sdk = telnyx.Telnyx(api_key=TEST_API_KEY, base_url=strict.base_url, max_retries=0)
        created = sdk.ai.assistants.create(
            name="a",
            instructions="x",
            voice_settings={"voice": "Telnyx.KokoroTTS.af_heart"},
            extra_body={"surprise": 1, "voice_settings": {"voice": "Telnyx.KokoroTTS.af_heart", "voicee": "y"}},
        )
        read = sdk.ai.assistants.retrieve(created.id).to_dict()
        assert "surprise" not in read
        assert read["voice_settings"] == {"voice": "Telnyx.KokoroTTS.af_heart"}

    def test_drop_mode_prunes_inside_tools_by_their_type(self, strict: EmulatorServer) -> None:
        with httpx.Client(base_url=strict.base_url, headers=AUTH) as http:
            tool = {"type": "hangup", "hangup": {"description": "Bye.", "mood": "cheerful"}}
            created = http.post("/ai/assistants", json={"name": "a", "instructions": "x", "tools": [tool]}).json()
            assert created["tools"] == [{"type": "hangup", "hangup": {"description": "Bye."}, "shared": False}]
            shared = http.post(
                "/ai/tools", json={"display_name": "bye", "type": "hangup", "hangup": {"description": "B", "x": 1}}
            ).json()
            assert shared["tool_definition"] == {"description": "B"}

    def test_keep_mode_is_still_the_default(self, emulator: EmulatorServer, http: httpx.Client) -> None:
        created = http.post("/ai/assistants", json={"name": "a", "instructions": "x", "surprise": 1}).json()
        assert created["surprise"] == 1

    def test_unknown_mode_is_refused(self) -> None:
        with pytest.raises(ValueError, match="unknown_fields must be 'keep' or 'drop'"):
            EmulatorServer(unknown_fields="ignore")


class TestNotKept:
    def test_only_absent_keys_count(self) -> None:
        sent = {"name": "a", "tool_ids": ["t"], "voice_settings": {"voice": "v", "warmth": 1, "gone": None},
                "tools": [{"type": "hangup", "hangup": {"x": 1}}]}  # fmt: skip
        stored = {"name": "a", "voice_settings": {"voice": "V"}, "tools": [{"type": "hangup", "hangup": {}}, {}]}
        assert not_kept(sent, stored) == [("voice_settings", "warmth"), ("tools", 0, "hangup", "x")]

    def test_without_paths_keeps_pending_ids(self) -> None:
        """A plan body may name objects the same plan creates; copying it must not need JSON."""
        body = {"tool_ids": [Pending("Tool", "t")], "a": {"b": 1}}
        assert without_paths(body, [("a", "b")]) == {"tool_ids": [Pending("Tool", "t")], "a": {}}

    def test_without_paths(self) -> None:
        body = {"a": {"b": 1, "c": 2}, "d": [{"e": 1, "f": 2}]}
        assert without_paths(body, [("a", "b"), ("d", 0, "f")]) == {"a": {"c": 2}, "d": [{"e": 1}]}
        assert body == {"a": {"b": 1, "c": 2}, "d": [{"e": 1, "f": 2}]}

    def test_the_ledger_matches_only_the_value_that_was_sent(self, tmp_path: Path) -> None:
        ledger = NotKeptLedger(tmp_path / "l.json")
        ledger.record("Assistant/a", {"v": {"w": 1}}, [("v", "w")])
        assert ledger.known("Assistant/a", {"v": {"w": 1}}) == [("v", "w")]
        assert ledger.known("Assistant/a", {"v": {"w": 2}}) == []
        assert ledger.known("Assistant/b", {"v": {"w": 1}}) == []


class TestPerpetualDiff:
    def test_a_field_the_api_drops_is_reported_once_and_not_planned_again(
        self, strict: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:  # fmt: skip
        monkeypatch.chdir(tmp_path)
        Path("a.yaml").write_text(MANIFEST.format(value="0.7"), encoding="utf-8")
        with caplog.at_level(logging.WARNING, logger="reconciler"):
            first = run_cli(["apply", "--yes", "a.yaml"], strict.base_url)
        assert first.exit_code == 0, first.output
        assert [r.getMessage() for r in caplog.records if r.name == "reconciler"] == [
            "Assistant/early-adopter: spec.voice_settings.warmth was sent but the API did not keep it; "
            f"later plans leave it out while its value stays the same (remembered in {LEDGER_FILE})"
        ]
        assert json.loads(LEDGER_FILE.read_text(encoding="utf-8")) == {
            "Assistant/early-adopter": {'["voice_settings", "warmth"]': "0.7"}
        }
        caplog.clear()
        strict.reset_stats()
        with caplog.at_level(logging.WARNING, logger="reconciler"):
            again = run_cli(["plan", "--detailed-exitcode", "a.yaml"], strict.base_url)
            second = run_cli(["apply", "--yes", "a.yaml"], strict.base_url)
        assert again.exit_code == 0, again.output
        assert second.exit_code == 0, second.output
        assert strict.stats()["writes"] == 0
        assert [r for r in caplog.records if r.name == "reconciler"] == []
        (assistant,) = strict.store.assistants.values()
        assert len(assistant.versions) == 1

    def test_a_new_value_is_sent_again(self, strict: EmulatorServer, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
        monkeypatch.chdir(tmp_path)
        Path("a.yaml").write_text(MANIFEST.format(value="0.7"), encoding="utf-8")
        assert run_cli(["apply", "--yes", "a.yaml"], strict.base_url).exit_code == 0
        Path("a.yaml").write_text(MANIFEST.format(value="0.9"), encoding="utf-8")
        result = run_cli(["plan", "--detailed-exitcode", "a.yaml"], strict.base_url)
        assert result.exit_code == 2, result.output

    def test_without_the_ledger_every_plan_would_update(self, strict: EmulatorServer, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
        """What the ledger prevents: the strict server never shows the field, so it always differs."""
        monkeypatch.chdir(tmp_path)
        Path("a.yaml").write_text(MANIFEST.format(value="0.7"), encoding="utf-8")
        assert run_cli(["apply", "--yes", "a.yaml"], strict.base_url).exit_code == 0
        assert run_cli(["plan", "--detailed-exitcode", "a.yaml"], strict.base_url).exit_code == 0
        LEDGER_FILE.unlink()
        assert run_cli(["plan", "--detailed-exitcode", "a.yaml"], strict.base_url).exit_code == 2


    def test_the_memory_lives_beside_the_project_file(
        self, strict: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:  # fmt: skip
        """Like the ownership ledger: the same project planned from another directory finds the same file."""
        project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
        project.mkdir()
        elsewhere.mkdir()
        (project / "reconciler.yaml").write_text("stack: desk\n", encoding="utf-8")
        (project / "a.yaml").write_text(MANIFEST.format(value="0.7"), encoding="utf-8")
        monkeypatch.chdir(elsewhere)
        with caplog.at_level(logging.WARNING, logger="reconciler"):
            first = run_cli(["apply", "--yes", "--config", "../project/reconciler.yaml", "../project/a.yaml"],
                            strict.base_url)  # fmt: skip
        assert first.exit_code == 0, first.output
        remembered = Path("..") / "project" / LEDGER_FILE
        assert [r.getMessage() for r in caplog.records if r.name == "reconciler"] == [
            "Assistant/early-adopter: spec.voice_settings.warmth was sent but the API did not keep it; "
            f"later plans leave it out while its value stays the same (remembered in {remembered})"
        ]
        assert sorted(p.name for p in (project / ".reconciler").iterdir()) == [
            "not-kept.json", "ownership-desk.json", "ownership-desk.lock"
        ]
        assert not (elsewhere / ".reconciler").exists()
        monkeypatch.chdir(project)
        assert run_cli(["plan", "--detailed-exitcode", "a.yaml"], strict.base_url).exit_code == 0
        monkeypatch.chdir(tmp_path)
        again = run_cli(["plan", "--detailed-exitcode", "--config", "project/reconciler.yaml", "project/a.yaml"],
                        strict.base_url)  # fmt: skip
        assert again.exit_code == 0, again.output
