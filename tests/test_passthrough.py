"""The escape hatch: `x-passthrough` sends a field the schema does not know yet, with a warning."""

from __future__ import annotations

from pathlib import Path

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
