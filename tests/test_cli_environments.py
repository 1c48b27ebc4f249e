"""One manifest set, two accounts: --var-file through the CLI, including saved plans."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import telnyx

from reconciler.emulator import EmulatorServer
from tests.helpers import API_KEY, REPO, run_cli

ENVIRONMENTS = REPO / "examples" / "environments"
MANIFESTS = str(ENVIRONMENTS / "manifests")


def test_the_same_manifests_plan_different_names_and_values_in_two_accounts() -> None:
    with EmulatorServer(api_key=API_KEY) as staging, EmulatorServer(api_key=API_KEY) as production:
        for server, env in ((staging, "staging"), (production, "production")):
            var_file = str(ENVIRONMENTS / "env" / f"{env}.yaml")
            planned = run_cli(["plan", MANIFESTS, "--var-file", var_file], server.base_url)
            assert planned.exit_code == 0, planned.output
            prefix = "stg-" if env == "staging" else "prod-"
            heads = [line for line in planned.stdout.splitlines() if line.startswith("  + Assistant/")]
            assert heads and all(line.startswith(f"  + Assistant/{prefix}") for line in heads)
            applied = run_cli(["apply", MANIFESTS, "--var-file", var_file, "--yes"], server.base_url)
            assert applied.exit_code == 0, applied.output
            again = run_cli(["plan", MANIFESTS, "--var-file", var_file, "--detailed-exitcode"], server.base_url)
            assert again.exit_code == 0, again.output
        names = {}
        for server, env in ((staging, "staging"), (production, "production")):
            client = telnyx.Telnyx(api_key=API_KEY, base_url=server.base_url, _strict_response_validation=True)
            names[env] = {a.name: a for a in client.ai.assistants.list().data}
        assert all(n.startswith("stg-") for n in names["staging"])
        bare = {env: {n.split("-", 1)[1] for n in found} for env, found in names.items()}
        assert bare["staging"] == bare["production"]
        voices = {
            env: {a.voice_settings.voice for a in found.values() if a.voice_settings} for env, found in names.items()
        }
        assert voices["staging"] != voices["production"]


def test_a_saved_plan_remembers_its_var_files(emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    var_file = str(ENVIRONMENTS / "env" / "staging.yaml")
    assert run_cli(["plan", MANIFESTS, "--var-file", var_file, "--out", "p.json"], emulator.base_url).exit_code == 0
    refused = run_cli(["apply", "--plan", "p.json", "--var-file", var_file, "--yes"], emulator.base_url)
    assert refused.exit_code == 1
    assert "a saved plan uses the var files it was made with" in refused.stderr
    applied = run_cli(["apply", "--plan", "p.json", "--yes"], emulator.base_url)
    assert applied.exit_code == 0, applied.output


def test_a_missing_variable_without_a_var_file_names_file_line_and_field(emulator: Any) -> None:
    result = run_cli(["validate", MANIFESTS], emulator.base_url)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines and all("examples/environments/manifests/" in line for line in lines)
    assert all("no var file was read (pass --var-file FILE)" in line for line in lines)
