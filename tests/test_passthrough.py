"""The escape hatch: `x-passthrough` sends a field the schema does not know yet, with a warning."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from reconciler.emulator import EmulatorServer
from reconciler.errors import ManifestErrors
from reconciler.manifests.loader import load_resources
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
      warmth: 0.7
  x-passthrough:
    brand_new_setting: {enabled: true}
"""


def test_passthrough_fields_are_lifted_into_their_object(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(MANIFEST, encoding="utf-8")
    (resource,) = load_resources([tmp_path], {})
    assert resource.spec == {
        "instructions": "Try the new knob.",
        "voice_settings": {"voice": "Telnyx.KokoroTTS.af_heart", "warmth": 0.7},
        "brand_new_setting": {"enabled": True},
    }
    assert resource.warnings == (
        f"{tmp_path / 'a.yaml'}:9: Assistant/early-adopter: spec.voice_settings.warmth: not in the Assistant "
        "schema; sent as written because it is under x-passthrough",
        f"{tmp_path / 'a.yaml'}:11: Assistant/early-adopter: spec.brand_new_setting: not in the Assistant "
        "schema; sent as written because it is under x-passthrough",
    )


def test_validate_warns_and_succeeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.yaml").write_text(MANIFEST, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = run_cli(["validate", "a.yaml"])
    assert result.exit_code == 0
    assert result.stdout == "1 manifest valid.\n"
    assert result.stderr.splitlines() == [
        "Warning: a.yaml:9: Assistant/early-adopter: spec.voice_settings.warmth: not in the Assistant schema; "
        "sent as written because it is under x-passthrough",
        "Warning: a.yaml:11: Assistant/early-adopter: spec.brand_new_setting: not in the Assistant schema; "
        "sent as written because it is under x-passthrough",
    ]


def problems_of(tmp_path: Path, text: str) -> list[str]:
    """The problems loading ``text`` as ``a.yaml`` reports (it must fail)."""
    (tmp_path / "a.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ManifestErrors) as raised:
        load_resources([tmp_path], {})
    return [str(p) for p in raised.value.problems]


def test_the_same_field_outside_the_hatch_is_an_error(tmp_path: Path) -> None:
    text = MANIFEST.replace("    x-passthrough:\n      warmth", "    warmth")
    assert problems_of(tmp_path, text) == [
        f"{tmp_path / 'a.yaml'}:8: Assistant/early-adopter: spec.voice_settings: unknown field 'warmth'"
    ]


def test_a_hatch_field_may_not_shadow_a_field_beside_it(tmp_path: Path) -> None:
    text = MANIFEST.replace("      warmth: 0.7", "      voice: Telnyx.KokoroTTS.af_bella")
    assert problems_of(tmp_path, text) == [
        f"{tmp_path / 'a.yaml'}:9: Assistant/early-adopter: spec.voice_settings.voice: "
        "'voice' is set both here and under x-passthrough; keep one"
    ]


def test_the_envelope_has_no_hatch(tmp_path: Path) -> None:
    assert problems_of(tmp_path, "x-passthrough: {a: 1}\n" + MANIFEST) == [
        f"{tmp_path / 'a.yaml'}:1: Assistant/early-adopter: $: unknown field 'x-passthrough'"
    ]


def test_apply_sends_the_passthrough_fields(tmp_path: Path, emulator: EmulatorServer) -> None:
    (tmp_path / "a.yaml").write_text(MANIFEST, encoding="utf-8")
    result = run_cli(["apply", "--yes", str(tmp_path)], emulator.base_url)
    assert result.exit_code == 0, result.output
    # plan and apply say what validate says: these fields go out unchecked.
    assert [line.split(": ", 2)[2] for line in result.stderr.splitlines() if line.startswith("Warning: ")] == [
        "Assistant/early-adopter: spec.voice_settings.warmth: not in the Assistant schema; sent as written "
        "because it is under x-passthrough",
        "Assistant/early-adopter: spec.brand_new_setting: not in the Assistant schema; sent as written because "
        "it is under x-passthrough",
    ]
    (stored,) = emulator.store.assistants.values()
    assert stored.main.config["voice_settings"]["warmth"] == 0.7
    assert stored.main.config["brand_new_setting"] == {"enabled": True}


class TestProjectPassthroughList:
    """`passthrough:` in reconciler.yaml: the same hatch, by field path, for every matching object."""

    PROJECT = """\
stack: desk
passthrough:
  - target: Assistant/early-*
    fields:
      - voice_settings.warmth
      - "tools[*].webhook.retry_policy"
"""
    PLAIN = """\
apiVersion: reconciler/v1
kind: Assistant
name: early-adopter
spec:
  instructions: Try the new knob.
  voice_settings:
    voice: Telnyx.KokoroTTS.af_heart
    warmth: 0.7
  tools:
    - type: webhook
      webhook:
        name: lookup
        description: Look it up.
        url: https://api.example.com/lookup
        retry_policy: {attempts: 3}
"""
    WARNINGS: ClassVar[list[str]] = [
        "Warning: a.yaml:8: Assistant/early-adopter: spec.voice_settings.warmth: not checked against the Assistant "
        "schema; sent as written because reconciler.yaml:5 lists it under passthrough",
        "Warning: a.yaml:15: Assistant/early-adopter: spec.tools[0].webhook.retry_policy: not checked against the "
        "Assistant schema; sent as written because reconciler.yaml:6 lists it under passthrough",
    ]

    def setup(self, directory: Path, project: str = PROJECT) -> None:
        (directory / "reconciler.yaml").write_text(project, encoding="utf-8")
        (directory / "a.yaml").write_text(self.PLAIN, encoding="utf-8")

    def test_validate_warns_instead_of_refusing(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.setup(tmp_path)
        monkeypatch.chdir(tmp_path)
        result = run_cli(["validate", "a.yaml"])
        assert result.exit_code == 0, result.output
        assert result.stdout == "1 manifest valid.\n"
        assert result.stderr.splitlines() == self.WARNINGS

    def test_without_the_list_the_fields_are_errors(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.setup(tmp_path, "stack: desk\n")
        monkeypatch.chdir(tmp_path)
        result = run_cli(["validate", "a.yaml"])
        assert result.exit_code == 1
        assert result.stderr.splitlines() == [
            "a.yaml:8: Assistant/early-adopter: spec.voice_settings: unknown field 'warmth'",
            "a.yaml:15: Assistant/early-adopter: spec.tools[0].webhook: unknown field 'retry_policy'",
        ]

    def test_the_list_names_objects_by_target(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.setup(tmp_path, self.PROJECT.replace("Assistant/early-*", "Assistant/late-*"))
        monkeypatch.chdir(tmp_path)
        assert run_cli(["validate", "a.yaml"]).exit_code == 1

    def test_plan_warns_about_a_target_that_matches_nothing(
        self, tmp_path: Path, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        self.setup(tmp_path, self.PROJECT.replace("Assistant/early-*", "Assistant/late-*"))
        (tmp_path / "a.yaml").write_text(MANIFEST, encoding="utf-8")
        monkeypatch.chdir(tmp_path)
        result = run_cli(["plan", "a.yaml"], emulator.base_url)
        assert result.exit_code == 0, result.output
        assert (
            "Warning: reconciler.yaml:3: passthrough.0.target: 'Assistant/late-*' matches no manifest and no "
            "live object" in result.stderr.splitlines()
        )

    def test_validate_takes_the_project_file_from_config(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.setup(tmp_path)
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        monkeypatch.chdir(elsewhere)
        result = run_cli(["validate", "--config", "../reconciler.yaml", "../a.yaml"])
        assert result.exit_code == 0, result.output
        assert [line.split(": ", 2)[2] for line in result.stderr.splitlines()] == [
            line.split(": ", 2)[2].replace("because reconciler.yaml", "because ../reconciler.yaml")
            for line in self.WARNINGS
        ]

    def test_plan_warns_and_apply_sends_the_fields(self, tmp_path: Path, emulator: EmulatorServer,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
        self.setup(tmp_path)
        monkeypatch.chdir(tmp_path)
        plan = run_cli(["plan", "a.yaml"], emulator.base_url)
        assert plan.exit_code == 0, plan.output
        assert [line for line in plan.stderr.splitlines() if line.startswith("Warning: ")] == self.WARNINGS
        result = run_cli(["apply", "--yes", "a.yaml"], emulator.base_url)
        assert result.exit_code == 0, result.output
        (stored,) = emulator.store.assistants.values()
        assert stored.main.config["voice_settings"]["warmth"] == 0.7
        assert stored.main.config["tools"][0]["webhook"]["retry_policy"] == {"attempts": 3}

    def test_a_canary_version_takes_its_assistants_fields(self, tmp_path: Path) -> None:
        from reconciler.manifests.project import load_project

        self.setup(tmp_path)
        canary = (
            "apiVersion: reconciler/v1\nkind: CanaryDeploy\nname: warm\nspec:\n  assistant: early-adopter\n"
            "  versions:\n    warmer:\n      voice_settings: {voice: Telnyx.KokoroTTS.af_heart, warmth: 0.9}\n"
            "  rules:\n    - serve: {version: warmer}\n"
        )
        (tmp_path / "b.yaml").write_text(canary, encoding="utf-8")
        project = load_project(tmp_path / "reconciler.yaml")
        resources = {r.address: r for r in load_resources([tmp_path / "a.yaml", tmp_path / "b.yaml"], {},
                                                          project=project)}  # fmt: skip
        assert resources["CanaryDeploy/warm"].spec["versions"]["warmer"]["voice_settings"]["warmth"] == 0.9
        assert resources["CanaryDeploy/warm"].warnings == (
            f"{tmp_path / 'b.yaml'}:8: CanaryDeploy/warm: spec.versions.warmer.voice_settings.warmth: not checked "
            f"against the CanaryDeploy schema; sent as written because {tmp_path / 'reconciler.yaml'}:5 lists it "
            "under passthrough",
        )
        assert resources["Assistant/early-adopter"].spec["voice_settings"] == {
            "voice": "Telnyx.KokoroTTS.af_heart",
            "warmth": 0.7,
        }
