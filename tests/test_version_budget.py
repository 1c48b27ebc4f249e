"""The version budget: plan says how many versions an apply writes and which ones the cap evicts.

Over real HTTP against the emulator; the official SDK seeds the versions and checks afterwards
which ones are gone. The emulator keeps ten versions per assistant and evicts the oldest first,
never the main version nor one a canary rule serves (docs/emulator.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from jsonschema import Draft202012Validator

from reconciler.engine.versions import replay_cap
from reconciler.kinds.assistant import writes_version
from tests.conftest import AUTH
from tests.helpers import REPO, run_cli

MAIN = "apiVersion: reconciler/v1\nkind: Assistant\nname: triage\nspec:\n  instructions: {instructions}\n"


def project(tmp_path: Path, documents: str, config: str = "") -> Path:
    """A project directory with its reconciler.yaml (no stack) and one manifest file."""
    (tmp_path / "manifests").mkdir(exist_ok=True)
    (tmp_path / "manifests" / "all.yaml").write_text(documents)
    (tmp_path / "reconciler.yaml").write_text(config or "updates:\n  max_fraction: 1\n")
    return tmp_path


def run(directory: Path, emulator: Any, *args: str) -> Any:
    config = str(directory / "reconciler.yaml")
    return run_cli([*args[:1], str(directory / "manifests"), "--config", config, *args[1:]], emulator.base_url)


def seed(sdk: Any, versions: int = 10) -> tuple[str, list[Any]]:
    """An assistant ``triage`` with ``versions`` versions (v0 is the create); versions oldest first."""
    created = sdk.ai.assistants.create(name="triage", instructions="v0")
    for number in range(1, versions):
        sdk.ai.assistants.update(created.id, instructions=f"v{number}", version_name=f"v{number}")
    return created.id, oldest_first(sdk, created.id)


def oldest_first(sdk: Any, assistant_id: str) -> list[Any]:
    """The versions as listed (timestamps as the API writes them), oldest first."""
    listed = sdk.ai.assistants.versions.with_raw_response.list(assistant_id).json()["data"]
    return [SimpleNamespace(**version) for version in reversed(listed)]


def version_reads(emulator: Any) -> int:
    return sum(count for route, count in emulator.stats()["by_route"].items() if route.endswith("/versions"))


def test_plan_names_the_oldest_version_and_apply_evicts_exactly_it(tmp_path: Path, emulator: Any, sdk: Any) -> None:
    assistant_id, versions = seed(sdk)
    oldest = versions[0]
    directory = project(tmp_path, MAIN.format(instructions="v10"))
    emulator.reset_stats()

    planned = run(directory, emulator, "plan")
    assert planned.exit_code == 0, planned.output
    assert version_reads(emulator) == 1  # one versions list for the one assistant that gets a version
    lines = planned.stdout.splitlines()
    heading = lines.index("Assistant versions (Telnyx keeps 10 per assistant; beyond that the oldest go):")
    assert lines[heading + 1] == (
        f"  Assistant/triage: 1 new version (10 kept -> 10); evicts {oldest.version_id} "
        f"(New assistant, created {oldest.version_created_at})"
    )
    assert lines[heading + 2] == ""
    assert lines[-1] == "Plan: 0 to create, 1 to update, 0 to delete."

    as_json = json.loads(run(directory, emulator, "plan", "--format", "json").stdout)
    Draft202012Validator(json.loads((REPO / "docs" / "plan.schema.json").read_text())).validate(as_json)
    assert as_json["versions"] == [
        {
            "address": "Assistant/triage",
            "name": "triage",
            "id": assistant_id,
            "kept_now": 10,
            "created": 1,
            "kept_after": 10,
            "evicted": [
                {
                    "version_id": oldest.version_id,
                    "version_name": "New assistant",
                    "created_at": oldest.version_created_at,
                    "protected": None,
                }
            ],
        }
    ]
    markdown = run(directory, emulator, "plan", "--format", "markdown").stdout
    assert (
        f"| `Assistant/triage` | 1 | 10 | 10 | <code>{oldest.version_id}</code> (New assistant, created "
        f"{oldest.version_created_at}) |"
    ) in markdown

    applied = run(directory, emulator, "apply", "--yes")
    assert applied.exit_code == 0, applied.output
    after = [v.version_id for v in oldest_first(sdk, assistant_id)]
    assert after[:-1] == [v.version_id for v in versions[1:]]  # exactly the oldest is gone, the rest kept
    assert after[-1] == sdk.ai.assistants.retrieve(assistant_id).version_id

    emulator.reset_stats()
    again = run(directory, emulator, "plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert again.stdout == "No changes. 1 object matches the manifests.\n"
    assert version_reads(emulator) == 0


def test_a_plan_without_a_version_write_sends_no_extra_request(tmp_path: Path, emulator: Any, sdk: Any) -> None:
    """No change, or tags only (tag endpoints): the budget reads nothing and shows nothing."""
    directory = project(tmp_path, MAIN.format(instructions="v0"))
    assert run(directory, emulator, "apply", "--yes").exit_code == 0
    emulator.reset_stats()
    planned = run(directory, emulator, "plan")
    assert planned.stdout == "No changes. 1 object matches the manifests.\n"
    assert emulator.stats()["by_route"] == {"GET /v2/ai/assistants": 1}

    project(tmp_path, MAIN.format(instructions="v0") + "  tags: [blue]\n")
    emulator.reset_stats()
    planned = run(directory, emulator, "plan")
    assert "Assistant versions" not in planned.stdout
    assert emulator.stats()["by_route"] == {"GET /v2/ai/assistants": 1}
    assert json.loads(run(directory, emulator, "plan", "--format", "json").stdout)["versions"] == []


def test_a_new_assistant_counts_its_first_version_without_reading(tmp_path: Path, emulator: Any) -> None:
    directory = project(tmp_path, MAIN.format(instructions="hello"))
    planned = run(directory, emulator, "plan")
    assert "  Assistant/triage: 1 new version (0 kept -> 1); none evicted" in planned.stdout.splitlines()
    assert version_reads(emulator) == 0


def test_a_rollback_target_is_not_evicted_without_force(tmp_path: Path, emulator: Any, sdk: Any) -> None:
    assistant_id, versions = seed(sdk)
    oldest = versions[0].version_id
    config = f"keep_versions:\n  - Assistant/triage@{oldest}\n"
    directory = project(tmp_path, MAIN.format(instructions="v10"), config)
    where = f"{directory / 'reconciler.yaml'}:2"
    refusal = (
        f"the ten-version cap evicts version {oldest} (New assistant) of Assistant/triage, but declared a "
        f"rollback target in {where} (keep_versions)"
    )

    planned = run(directory, emulator, "plan")
    assert f"      ! {oldest} is protected: declared a rollback target in {where} (keep_versions)" in planned.stdout
    assert planned.stdout.splitlines()[-1] == f"Apply will refuse without --force: {refusal}."
    as_json = json.loads(run(directory, emulator, "plan", "--format", "json").stdout)
    assert as_json["refusals"] == [refusal]
    assert as_json["versions"][0]["evicted"][0]["protected"] == (
        f"declared a rollback target in {where} (keep_versions)"
    )

    writes = emulator.stats()["writes"]
    refused = run(directory, emulator, "apply", "--yes")
    assert refused.exit_code == 1
    assert f"Error: refusing to apply: {refusal}. Review the plan and pass --force if intended" in refused.output
    assert emulator.stats()["writes"] == writes
    assert [v.version_id for v in oldest_first(sdk, assistant_id)] == [v.version_id for v in versions]

    forced = run(directory, emulator, "apply", "--yes", "--force")
    assert forced.exit_code == 0, forced.output
    assert oldest not in [v.version_id for v in oldest_first(sdk, assistant_id)]
    assert run(directory, emulator, "plan").stdout == "No changes. 1 object matches the manifests.\n"


def test_a_rollback_target_named_by_version_name(tmp_path: Path, emulator: Any, sdk: Any) -> None:
    """Two writes (an update and a candidate): the two oldest go; the named one is refused."""
    seed(sdk)
    canary = (
        "---\napiVersion: reconciler/v1\nkind: CanaryDeploy\nname: triage-canary\nspec:\n"
        "  assistant: triage\n  versions:\n    short: {instructions: brief}\n"
        "  rules:\n    - serve: {version: short}\n"
    )
    directory = project(tmp_path, MAIN.format(instructions="v10") + canary, "keep_versions: ['Assistant/t*@v1']\n")
    planned = run(directory, emulator, "plan")
    lines = planned.stdout.splitlines()
    [line] = [x for x in lines if x.startswith("  Assistant/triage: ")]
    assert line.startswith("  Assistant/triage: 2 new versions (10 kept -> 10); evicts ")
    assert "(v1, created " in line
    assert lines[-1].startswith("Apply will refuse without --force: the ten-version cap evicts version ")
    assert lines[-1].endswith(
        " (v1) of Assistant/triage, but declared a rollback target in "
        f"{directory / 'reconciler.yaml'}:1 (keep_versions)."
    )


def test_a_version_the_canary_serves_now_is_skipped(tmp_path: Path, emulator: Any, sdk: Any) -> None:
    """The API never evicts a version a canary rule serves: the next oldest one goes instead."""
    assistant_id, versions = seed(sdk)
    served, next_oldest = versions[0].version_id, versions[1]
    _canary(emulator, assistant_id, served)
    directory = project(tmp_path, MAIN.format(instructions="v10"))
    planned = run(directory, emulator, "plan")
    assert (
        f"  Assistant/triage: 1 new version (10 kept -> 10); evicts {next_oldest.version_id} "
        f"(v1, created {next_oldest.version_created_at})"
    ) in planned.stdout.splitlines()
    assert "refuse" not in planned.stdout
    assert run(directory, emulator, "apply", "--yes").exit_code == 0
    after = [v.version_id for v in oldest_first(sdk, assistant_id)]
    assert served in after
    assert next_oldest.version_id not in after


def _canary(emulator: Any, assistant_id: str, version_id: str) -> None:
    """A canary config made by hand (raw HTTP), serving one version."""
    answer = httpx.post(
        f"{emulator.base_url}/ai/assistants/{assistant_id}/canary-deploys",
        headers=AUTH,
        json={"rules": [{"serve": {"version_id": version_id}}]},
    )
    assert answer.status_code in (200, 201), answer.text


def test_a_version_a_new_canary_rule_will_serve_is_refused(tmp_path: Path, emulator: Any, sdk: Any) -> None:
    """A candidate that exists but is served only once the apply is done is not protected while
    the main update evicts: plan refuses, and with --force the canary write fails as predicted."""
    created = sdk.ai.assistants.create(name="triage", instructions="brief")
    first = created.version_id
    for number in range(1, 10):
        sdk.ai.assistants.update(created.id, instructions=f"v{number}", version_name=f"v{number}")
    sdk.ai.assistants.versions.update(first, assistant_id=created.id, version_name="short")
    canary = (
        "---\napiVersion: reconciler/v1\nkind: CanaryDeploy\nname: triage-canary\nspec:\n"
        "  assistant: triage\n  versions:\n    short: {instructions: brief}\n"
        "  rules:\n    - serve: {version: short}\n"
    )
    directory = project(tmp_path, MAIN.format(instructions="v10") + canary)
    planned = run(directory, emulator, "plan")
    refusal = (
        f"the ten-version cap evicts version {first} (short) of Assistant/triage, but a canary rule "
        "serves it after the apply"
    )
    assert f"      ! {first} is protected: a canary rule serves it after the apply" in planned.stdout
    assert planned.stdout.splitlines()[-1] == f"Apply will refuse without --force: {refusal}."
    refused = run(directory, emulator, "apply", "--yes")
    assert refused.exit_code == 1
    assert refusal in refused.output

    # --force applies it: the update evicts the candidate, so the canary config that names it
    # fails (what the refusal warned of); the next apply rebuilds the candidate and converges.
    forced = run(directory, emulator, "apply", "--yes", "--force")
    assert forced.exit_code == 1
    assert "failed  create CanaryDeploy/triage-canary" in forced.stdout
    assert first not in [v.version_id for v in oldest_first(sdk, created.id)]
    again = run(directory, emulator, "apply", "--yes")
    assert again.exit_code == 0, again.output
    assert "+ AssistantVersion/triage@short will be created" in again.stdout
    assert run(directory, emulator, "plan").stdout == "No changes. 2 objects match the manifests.\n"


def test_saved_plan_round_trip_keeps_the_budget_and_the_force_approval(tmp_path: Path, emulator: Any, sdk: Any) -> None:
    assistant_id, versions = seed(sdk)
    oldest = versions[0].version_id
    directory = project(tmp_path, MAIN.format(instructions="v10"), f"keep_versions: ['Assistant/triage@{oldest}']\n")
    saved = tmp_path / "plan.json"
    config = str(directory / "reconciler.yaml")
    made = run(directory, emulator, "plan", "--out", str(saved), "--force")
    assert made.exit_code == 0, made.output
    document = json.loads(saved.read_text())
    assert document["versions"][0]["evicted"][0]["version_id"] == oldest
    assert document["forced"] is True
    assert "versions of Assistant/triage (version budget)" in document["saved"]["live"]
    applied = run_cli(["apply", "--plan", str(saved), "--yes", "--config", config], emulator.base_url)
    assert applied.exit_code == 0, applied.output
    assert oldest not in [v.version_id for v in oldest_first(sdk, assistant_id)]


def test_a_saved_plan_is_stale_once_the_versions_move(tmp_path: Path, emulator: Any, sdk: Any) -> None:
    assistant_id, _ = seed(sdk)
    directory = project(tmp_path, MAIN.format(instructions="v10"))
    saved = tmp_path / "plan.json"
    assert run(directory, emulator, "plan", "--out", str(saved)).exit_code == 0
    sdk.ai.assistants.update(assistant_id, instructions="v9", version_name="again")  # same content, new version
    applied = run_cli(
        ["apply", "--plan", str(saved), "--yes", "--config", str(directory / "reconciler.yaml")], emulator.base_url
    )
    assert applied.exit_code == 1
    assert applied.stderr == (
        "Error: the live account changed since the plan was saved: "
        "versions of Assistant/triage (version budget); run plan again\n"
    )


def test_attaching_a_shared_tool_writes_no_version(tmp_path: Path, emulator: Any, sdk: Any) -> None:
    """A change to shared_tools alone goes through attach/detach, which edit main in place."""
    tool = (
        "apiVersion: reconciler/v1\nkind: Tool\nname: {name}\nspec:\n  type: webhook\n  webhook:\n"
        "    name: {name}\n    description: d\n    url: https://x.example/{name}\n---\n"
    )
    tools = tool.format(name="lookup") + tool.format(name="refund")
    directory = project(tmp_path, tools + MAIN.format(instructions="v0") + "  shared_tools: [lookup]\n")
    assert run(directory, emulator, "apply", "--yes").exit_code == 0
    [assistant] = sdk.ai.assistants.list().data
    main = assistant.version_id

    project(tmp_path, tools + MAIN.format(instructions="v0") + "  shared_tools: [refund]\n")
    emulator.reset_stats()
    planned = run(directory, emulator, "plan")
    assert "~ Assistant/triage will be updated" in planned.stdout
    assert "Assistant versions" not in planned.stdout  # counted as 0: no block, no versions read
    assert version_reads(emulator) == 0
    applied = run(directory, emulator, "apply", "--yes")
    assert applied.exit_code == 0, applied.output
    routes = emulator.stats()["by_route"]
    assert routes.get("PUT /v2/ai/assistants/{assistant_id}/tools/{tool_id}") == 1
    assert routes.get("DELETE /v2/ai/assistants/{assistant_id}/tools/{tool_id}") == 1
    assert "POST /v2/ai/assistants/{assistant_id}" not in routes
    versions = sdk.ai.assistants.versions.list(assistant.id).data
    assert [v.version_id for v in versions] == [main]
    shared = [t for t in sdk.ai.assistants.retrieve(assistant.id).to_dict()["tools"] if t.get("shared")]
    assert [t["webhook"]["name"] for t in shared] == ["refund"]
    assert run(directory, emulator, "plan").stdout == "No changes. 3 objects match the manifests.\n"


def test_a_keep_versions_entry_of_the_wrong_form_names_its_line(tmp_path: Path, emulator: Any) -> None:
    directory = project(tmp_path, MAIN.format(instructions="v0"), "stack: desk\nkeep_versions:\n  - Tool/lookup@v1\n")
    planned = run(directory, emulator, "plan")
    assert planned.exit_code == 1
    assert planned.stderr == (
        f"Error: {directory / 'reconciler.yaml'}:3: keep_versions.0: 'Tool/lookup@v1' is not "
        "Assistant/NAME@VERSION (a version id or version name; NAME may use * and ?)\n"
    )


def test_a_keep_versions_entry_that_matches_no_assistant_is_a_warning(tmp_path: Path, emulator: Any) -> None:
    directory = project(tmp_path, MAIN.format(instructions="v0"), "keep_versions: [Assistant/triaje@v1]\n")
    planned = run(directory, emulator, "plan")
    assert planned.exit_code == 0, planned.output
    assert (
        f"Warning: {directory / 'reconciler.yaml'}:1: keep_versions.0: 'Assistant/triaje' matches no manifest "
        "and no live object"
    ) in planned.stderr


def test_which_updates_write_a_version() -> None:
    """Tags and attached shared tools alone edit main in place; an unknown attached tool cannot be detached."""
    before = {"tags": ["a"], "tool_ids": ["tool-1"], "instructions": "x"}
    assert not writes_version({}, before)
    assert not writes_version({"tags": ["b"]}, before)
    assert not writes_version({"tool_ids": ["tool-2"], "tags": ["b"]}, before)
    assert writes_version({"tool_ids": ["tool-2"], "instructions": "y"}, before)
    assert writes_version({"tool_ids": []}, {"tool_ids": ["(unknown shared webhook tool)"]})
    assert writes_version({"tags": ["b"]}, None)  # a link step: nothing live to compare with


def test_the_cap_replay_never_evicts_main_nor_a_served_version() -> None:
    listed = [{"version_id": f"v{i}", "version_created_at": f"2026-01-0{i}T00:00:00Z"} for i in range(10)]
    newest_first = list(reversed(listed))
    evicted, kept = replay_cap(newest_first, [True], "v9", {"v0"})
    assert [v["version_id"] for v in evicted] == ["v1"]  # v0 is served; the new version is main
    assert kept == 10
    evicted, kept = replay_cap(newest_first, [False, False], "v0", set())
    assert [v["version_id"] for v in evicted] == ["v1", "v2"]  # candidates: main (v0) stays
    assert kept == 10
    evicted, kept = replay_cap(newest_first, [True], "v9", {f"v{i}" for i in range(10)})
    assert (evicted, kept) == ([], 11)  # all protected: the API keeps more than ten


def test_drift_reads_no_versions_for_its_report(tmp_path: Path, emulator: Any, sdk: Any) -> None:
    """Drift shows no budget, so it does not pay for one."""
    seed(sdk, versions=2)
    directory = project(tmp_path, MAIN.format(instructions="v10"))
    emulator.reset_stats()
    drifted = run(directory, emulator, "drift")
    assert drifted.exit_code == 2, drifted.output
    assert version_reads(emulator) == 0
