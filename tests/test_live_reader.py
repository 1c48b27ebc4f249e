"""Reading the account while the manifests load (issue 18): reads start as manifests are seen.

The emulator's request counters are the judge: a canary's reads must have reached it before the
loader returned, and what the reader hands the planner must equal a read made after loading.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.api.client import TelnyxClient
from reconciler.engine.live import LiveReader, fetch_live
from reconciler.errors import ApiAuthError, ApiValidationError, ManifestErrors
from reconciler.manifests.environment import load_environment
from reconciler.manifests.loader import load_resources
from reconciler.model import Resource
from tests.conftest import TEST_API_KEY
from tests.helpers import REPO, run_cli
from tests.hostile import HostileServer

SUPPORT_DESK = REPO / "examples" / "support-desk"
ENVIRONMENTS = REPO / "examples" / "environments"
CANARY_READS = ("GET /v2/ai/assistants/{assistant_id}/canary-deploys", "GET /v2/ai/assistants/{assistant_id}/versions")


def reads_seen(emulator: Any) -> dict[str, int]:
    by_route = emulator.stats()["by_route"]
    return {route: by_route.get(route, 0) for route in ("GET /v2/ai/assistants", *CANARY_READS)}


def wait_for(condition: Any, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_a_canarys_reads_reach_the_api_before_loading_ends(emulator: Any) -> None:
    assert run_cli(["apply", str(SUPPORT_DESK), "--yes"], emulator.base_url).exit_code == 0
    emulator.reset_stats()
    during: list[dict[str, int]] = []
    with TelnyxClient(emulator.base_url, TEST_API_KEY) as client, LiveReader(client) as reader:

        def seen(resource: Resource) -> None:
            reader.saw(resource)
            if resource.kind == "CanaryDeploy":  # the loader waits here: the reads must arrive meanwhile
                wait_for(lambda: all(reads_seen(emulator)[route] == 1 for route in CANARY_READS))
                during.append(reads_seen(emulator))

        resources = load_resources([SUPPORT_DESK], os.environ, seen=seen)
        live = reader.state(resources)
    assert during == [{"GET /v2/ai/assistants": 1, CANARY_READS[0]: 1, CANARY_READS[1]: 1}]
    # Nothing is read twice, and the planner gets what a read after loading gets.
    assert set(emulator.stats()["by_route"].values()) == {1}
    assert emulator.stats()["total"] == 6  # assistants, tools, MCP servers, tests, the canary config, versions
    with TelnyxClient(emulator.base_url, TEST_API_KEY) as client:
        assert fetch_live(client, resources) == live


def test_reads_follow_the_environments_prefix(emulator: Any) -> None:
    staging = ENVIRONMENTS / "env" / "staging.yaml"
    manifests = ENVIRONMENTS / "manifests"
    result = run_cli(["apply", str(manifests), "--var-file", str(staging), "--yes"], emulator.base_url)
    assert result.exit_code == 0, result.output
    environment = load_environment([staging])
    with TelnyxClient(emulator.base_url, TEST_API_KEY) as client:
        with LiveReader(client, live_name=environment.live_name) as reader:
            resources = load_resources([manifests], os.environ, environment=environment, seen=reader.saw)
            assert wait_for(lambda: all(reads_seen(emulator)[route] >= 1 for route in CANARY_READS))
            live = reader.state(resources)
        assert live.canaries and all(name.startswith(environment.name_prefix) for name in live.canaries)
        assert live == fetch_live(client, resources)


def test_manifest_problems_win_over_the_accounts_answer(tmp_path: Path, emulator: Any) -> None:
    """A canary read while loading, then an invalid file: the problem is the file, not the (wrong) key."""
    (tmp_path / "a.yaml").write_text((SUPPORT_DESK / "canary.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "b.yaml").write_text("apiVersion: reconciler/v1\nkind: Assistant\nname: x\nspec:\n  modle: m\n",
                                     encoding="utf-8")
    result = run_cli(["plan", str(tmp_path)], emulator.base_url, env={"TELNYX_API_KEY": "wrong-key-1234"})
    assert result.exit_code == 1
    assert "b.yaml:5" in result.output and "modle" in result.output
    assert "401" not in result.output and "key" not in result.output.lower().replace("keys", "")


def test_a_read_error_is_raised_by_state_not_lost(emulator: Any) -> None:
    with TelnyxClient(emulator.base_url, "wrong-key-1234") as client, LiveReader(client) as reader:
        resources = load_resources([SUPPORT_DESK], os.environ, seen=reader.saw)
        with pytest.raises(ApiAuthError, match=r"failed with HTTP 401: The API key is not valid"):
            reader.state(resources)


def test_canary_files_load_first_yet_results_keep_the_file_order(tmp_path: Path) -> None:
    """Loading canary manifests first (their reads start sooner) changes no order and no message."""
    seen: list[str] = []
    in_order = load_resources([SUPPORT_DESK], os.environ)
    early = load_resources([SUPPORT_DESK], os.environ, seen=lambda r: seen.append(r.kind))
    assert seen[0] == "CanaryDeploy" and [r.address for r in early] == [r.address for r in in_order]
    assistant = "apiVersion: reconciler/v1\nkind: Assistant\nname: dup\nspec:\n  instructions: Help.\n"
    canary = (SUPPORT_DESK / "canary.yaml").read_text(encoding="utf-8")
    (tmp_path / "a.yaml").write_text(assistant, encoding="utf-8")
    (tmp_path / "z.yaml").write_text(canary + "---\n" + assistant, encoding="utf-8")
    messages = []
    for hook in (None, lambda r: None):
        with pytest.raises(ManifestErrors) as caught:
            load_resources([tmp_path], os.environ, seen=hook)
        messages.append([str(p) for p in caught.value.problems])
    assert messages[0] == messages[1]
    assert any(m.startswith(f"{tmp_path / 'z.yaml'}:") and f"here and at {tmp_path / 'a.yaml'}:1" in m
               for m in messages[0]), messages[0]


def test_invalid_manifests_do_not_wait_for_a_slow_account(tmp_path: Path) -> None:
    """The list started for a valid manifest is abandoned when a later one is invalid: the server that
    drips its answer gets one request (waiting for it would have meant a retry, then the problem)."""
    (tmp_path / "a.yaml").write_text("apiVersion: reconciler/v1\nkind: Assistant\nname: a\nspec:\n"
                                     "  instructions: Hi.\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("apiVersion: reconciler/v1\nkind: Assistant\nname: b\nspec:\n  modle: m\n",
                                     encoding="utf-8")
    script = Path(sys.executable).parent / "reconciler"
    with HostileServer("drip") as server:
        result = subprocess.run([str(script), "plan", str(tmp_path), "--base-url", server.base_url, "--api-key",
                                 "key-of-a-test"], capture_output=True, text=True, timeout=60, check=False)
        requests = server.requests
    assert result.returncode == 1 and result.stdout == ""
    b = tmp_path / "b.yaml"
    assert result.stderr == (f"Error: {b}:4: Assistant/b: spec: 'instructions' is a required property\n"
                             f"{b}:5: Assistant/b: spec: unknown field 'modle' (did you mean 'model'?)\n")
    assert requests == ["GET /v2/ai/assistants"]


def test_a_canarys_assistant_renamed_in_the_portal_keeps_its_candidate(tmp_path: Path, emulator: Any) -> None:
    """The ledger finds the renamed assistant by id; its versions must be read by that id too, or the
    plan writes the tested candidate again as a new version (a portal rename and a deleted canary)."""
    config = tmp_path / "reconciler.yaml"
    config.write_text(f"stack: desk\nownership_file: {tmp_path / 'owned.json'}\n", encoding="utf-8")
    args = [str(SUPPORT_DESK), "--config", str(config)]
    assert run_cli(["apply", *args, "--yes"], emulator.base_url).exit_code == 0
    headers = {"Authorization": f"Bearer {TEST_API_KEY}"}
    with httpx.Client(base_url=emulator.base_url, headers=headers) as http:
        triage = next(a for a in http.get("/ai/assistants").json()["data"] if a["name"] == "support-triage")
        assert http.delete(f"/ai/assistants/{triage['id']}/canary-deploys").status_code == 204
        assert http.post(f"/ai/assistants/{triage['id']}", json={"name": "renamed-in-portal"}).status_code == 200
    plan = run_cli(["plan", *args], emulator.base_url)
    assert "AssistantVersion" not in plan.output, plan.output
    assert "Plan: 1 to create, 1 to update, 0 to delete" in plan.output


def test_a_canarys_assistant_renamed_in_git_keeps_its_candidate_and_config(tmp_path: Path, emulator: Any) -> None:
    """previous_names: the canary's reads follow the rename (before: its candidate version and its
    canary config were both planned as new, beside the live ones)."""
    manifests = tmp_path / "desk"
    shutil.copytree(SUPPORT_DESK, manifests)
    assert run_cli(["apply", str(manifests), "--yes"], emulator.base_url).exit_code == 0
    for path in manifests.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        text = text.replace("name: support-triage\n", "name: triage-new\nprevious_names: [support-triage]\n")
        path.write_text(text.replace("assistant: support-triage", "assistant: triage-new"), encoding="utf-8")
    plan = run_cli(["plan", str(manifests)], emulator.base_url)
    assert "Plan: 0 to create, 2 to update, 0 to delete" in plan.output, plan.output


CANARY_OF_DESK = """\
apiVersion: reconciler/v1
kind: Assistant
name: desk
spec:
  instructions: Help.
---
apiVersion: reconciler/v1
kind: CanaryDeploy
name: desk-canary
spec:
  assistant: desk
  versions:
    shorter:
      instructions: Be brief.
  rules:
    - serve:
        rollout:
          - version: shorter
            weight: 10
"""


def test_the_plan_starts_before_the_canary_reads_end_and_their_errors_still_arrive(tmp_path: Path) -> None:
    """``state(wait=False)`` hands over the canary reads still on the wire; a lookup waits for its read and
    raises its error (not None, as ``get`` would give for a KeyError), and so does ``settle``."""
    (tmp_path / "canary.yaml").write_text(CANARY_OF_DESK, encoding="utf-8")
    with HostileServer("versions-refused") as server, TelnyxClient(server.base_url, "key-of-a-test") as client, \
            LiveReader(client, 4) as reader:
        resources = load_resources([tmp_path], os.environ, seen=reader.saw)
        live = reader.state(resources, wait=False)
        assert not all(future.done() for future in reader._pending)  # the versions answer after 0.5 s
        assert live.canaries["desk"] is None and list(live.versions) == ["desk"]
        with pytest.raises(ApiValidationError, match="versions are not available"):
            live.versions.get("desk")
        with pytest.raises(ApiValidationError, match="versions are not available"):
            reader.settle()
    with HostileServer("versions-refused") as server, TelnyxClient(server.base_url, "key-of-a-test") as client, \
            LiveReader(client, 4) as reader:
        resources = load_resources([tmp_path], os.environ, seen=reader.saw)
        with pytest.raises(ApiValidationError, match="versions are not available"):
            reader.state(resources)  # waiting (the default) raises it at once, as before


def test_plan_reports_a_canary_read_that_fails_after_planning_began(tmp_path: Path) -> None:
    (tmp_path / "canary.yaml").write_text(CANARY_OF_DESK, encoding="utf-8")
    script = Path(sys.executable).parent / "reconciler"
    with HostileServer("versions-refused") as server:
        result = subprocess.run([str(script), "plan", str(tmp_path), "--base-url", server.base_url, "--api-key",
                                 "key-of-a-test"], capture_output=True, text=True, timeout=60, check=False)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == ("Error: GET /ai/assistants/a-1/versions failed with HTTP 400: versions are not "
                             "available\n"), result.stderr


def test_a_long_prompt_loaded_after_the_list_is_one_string_with_the_live_one(tmp_path: Path, emulator: Any) -> None:
    """Equal long strings of a manifest and its live assistant become one object (the memory of 5000 prompts
    held twice); a prompt that differs stays the manifest's own, and so does a short string."""
    prompt = "You answer billing questions. " * 20
    (tmp_path / "a.yaml").write_text(f"apiVersion: reconciler/v1\nkind: Assistant\nname: billing\nspec:\n"
                                     f"  instructions: {prompt}\n  greeting: Hello there.\n", encoding="utf-8")
    assert run_cli(["apply", str(tmp_path), "--yes"], emulator.base_url).exit_code == 0
    with TelnyxClient(emulator.base_url, TEST_API_KEY) as client, LiveReader(client) as reader:
        live = reader.state(load_resources([tmp_path], os.environ, seen=reader.saw))  # the list is in
        listed = live.get("Assistant", "billing")
        assert listed is not None
        (again,) = load_resources([tmp_path], os.environ, seen=reader.saw)
        assert again.spec["instructions"] == prompt.strip() and again.spec["instructions"] is listed["instructions"]
        assert again.spec["greeting"] == listed["greeting"] and again.spec["greeting"] is not listed["greeting"]
        (tmp_path / "a.yaml").write_text((tmp_path / "a.yaml").read_text(encoding="utf-8").replace("billing q",
                                         "refund q"), encoding="utf-8")
        (changed,) = load_resources([tmp_path], os.environ, seen=reader.saw)
        assert changed.spec["instructions"] != listed["instructions"]


def test_asking_whether_a_canary_read_exists_does_not_wait_for_it(tmp_path: Path) -> None:
    """`name in live.versions` is known from the reads started, before any of them answered."""
    (tmp_path / "canary.yaml").write_text(CANARY_OF_DESK, encoding="utf-8")
    with HostileServer("versions-refused") as server, TelnyxClient(server.base_url, "key-of-a-test") as client, \
            LiveReader(client, 4) as reader:
        live = reader.state(load_resources([tmp_path], os.environ, seen=reader.saw), wait=False)
        assert "desk" in live.versions and "other" not in live.versions  # no error: the read is not looked at
        with pytest.raises(ApiValidationError, match="versions are not available"):
            reader.settle()
