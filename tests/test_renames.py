"""Renames in git keep the object (issue 19): ``previous_names`` turns create + delete into one rename."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.test_pruning import names, run, stack

SERVER = ("apiVersion: reconciler/v1\nkind: McpServer\nname: {name}\n{previous}spec:\n  type: sse\n"
          "  url: https://mcp.example/sse\n---\n")
TOOL = ("apiVersion: reconciler/v1\nkind: Tool\nname: {name}\n{previous}spec:\n  type: webhook\n  webhook:\n"
        "    name: lookup\n    description: d\n    url: https://x.example/lookup\n---\n")
ASSISTANT = ("apiVersion: reconciler/v1\nkind: Assistant\nname: {name}\n{previous}spec:\n  instructions: Help.\n"
             "  enabled_features: [telephony]\n  shared_tools: [{tool}]\n  mcp_servers: [{{server: {server}}}]\n---\n")
HANDOFF = ("apiVersion: reconciler/v1\nkind: Assistant\nname: router\nspec:\n  instructions: Route.\n  tools:\n"
           "    - type: handoff\n      handoff:\n        ai_assistants: [{{assistant: {target}}}]\n---\n")


def desk(bot: str = "front", tool: str = "lookup", server: str = "crm", previous: bool = False) -> str:
    def hint(old: str, new: str) -> str:
        return f"previous_names: [{old}]\n" if previous and old != new else ""
    return (SERVER.format(name=server, previous=hint("crm", server))
            + TOOL.format(name=tool, previous=hint("lookup", tool))
            + ASSISTANT.format(name=bot, previous=hint("front", bot), tool=tool, server=server)
            + HANDOFF.format(target=bot))


def snapshot(sdk: Any) -> dict[str, Any]:
    assistants = {a.name: a for a in sdk.ai.assistants.list().data}
    return {
        "assistants": {n: a.id for n, a in assistants.items()},
        "tools": {t.display_name: t.id for t in sdk.ai.tools.list()},
        "servers": {s.name: s.id for s in sdk.ai.mcp_servers.list()},
        "texml": {n: (a.telephony_settings.default_texml_app_id if a.telephony_settings else None)
                  for n, a in assistants.items()},
    }


def test_renaming_every_kind_in_git_keeps_every_id(tmp_path: Path, emulator: Any, sdk: Any) -> None:
    project = stack(tmp_path, "desk", desk())
    assert run(project, emulator, "apply", "--yes").exit_code == 0
    before = snapshot(sdk)
    front = before["assistants"]["front"]
    versions = len(sdk.ai.assistants.versions.list(front).data)

    (project / "manifests" / "all.yaml").write_text(desk("front-desk", "order-lookup", "crm-prod", previous=True))
    planned = run(project, emulator, "plan", "--prune")
    assert planned.exit_code == 0, planned.output
    heads = [line for line in planned.stdout.splitlines() if line.startswith("  ")and " will be " in line]
    assert heads == [
        f"  ~ McpServer/crm-prod will be updated ({before['servers']['crm']})",
        f"  ~ Tool/order-lookup will be updated ({before['tools']['lookup']})",
        f"  ~ Assistant/front-desk will be updated ({front})",
        f"  ~ Assistant/router will be updated ({before['assistants']['router']})",
    ]
    assert '      ~ name: "front" -> "front-desk"' in planned.stdout
    assert '      ~ display_name: "lookup" -> "order-lookup"' in planned.stdout
    document = json.loads(run(project, emulator, "plan", "--prune", "--format", "json").stdout)
    assert [(c["action"], c["address"], c["note"]) for c in document["changes"]][:3] == [
        ("update", "McpServer/crm-prod", "renamed from 'crm'"),
        ("update", "Tool/order-lookup", "renamed from 'lookup'"),
        ("update", "Assistant/front-desk", "renamed from 'front'"),
    ]
    writes = emulator.stats()["writes"]
    assert run(project, emulator, "apply", "--yes", "--prune").exit_code == 0
    assert emulator.stats()["writes"] - writes == 4  # one write per renamed object, one for the handoff name

    after = snapshot(sdk)
    assert after["assistants"] == {"front-desk": front, "router": before["assistants"]["router"]}
    assert after["tools"] == {"order-lookup": before["tools"]["lookup"]}
    assert after["servers"] == {"crm-prod": before["servers"]["crm"]}
    assert after["texml"]["front-desk"] == before["texml"]["front"]
    assert len(sdk.ai.assistants.versions.list(front).data) == versions + 1  # kept, plus the rename's version
    ledger = json.loads((project / ".reconciler" / "ownership-desk.json").read_text())
    assert sorted((o["kind"], o["name"]) for o in ledger["objects"]) == [
        ("Assistant", "front-desk"), ("Assistant", "router"), ("McpServer", "crm-prod"), ("Tool", "order-lookup")]
    assert run(project, emulator, "plan", "--prune", "--detailed-exitcode").exit_code == 0


def test_without_the_hint_plan_warns_of_a_likely_rename(tmp_path: Path, emulator: Any, sdk: Any) -> None:
    project = stack(tmp_path, "desk", desk())
    assert run(project, emulator, "apply", "--yes").exit_code == 0
    tool_id = snapshot(sdk)["tools"]["lookup"]
    (project / "manifests" / "all.yaml").write_text(desk(tool="order-lookup"))
    planned = run(project, emulator, "plan", "--prune")
    assert (f"Warning: Tool/order-lookup looks like a rename of Tool/lookup ({tool_id}): to keep that object "
            "(its id, versions and phone setup), add 'previous_names: [lookup]' to its manifest.") in planned.stdout
    markdown = run(project, emulator, "plan", "--prune", "--format", "markdown").stdout
    assert "> **Warning: Tool/order-lookup looks like a rename of Tool/lookup" in markdown
    document = json.loads(run(project, emulator, "plan", "--prune", "--format", "json").stdout)
    assert document["warnings"][0].startswith("Tool/order-lookup looks like a rename of Tool/lookup")


def test_renaming_onto_a_name_another_live_object_has_is_refused(tmp_path: Path, emulator: Any,
                                                                 sdk: Any) -> None:
    project = stack(tmp_path, "desk", desk())
    assert run(project, emulator, "apply", "--yes").exit_code == 0
    taken = sdk.ai.assistants.create(name="front-desk", instructions="Made by hand.")
    front = snapshot(sdk)["assistants"]["front"]
    (project / "manifests" / "all.yaml").write_text(desk("front-desk", previous=True))
    refused = run(project, emulator, "plan")
    assert (refused.exit_code, refused.stderr) == (1, (
        f"Error: Assistant/front-desk: cannot rename Assistant/front ({front}) to 'front-desk': another live object "
        f"has that name ({taken.id}); rename or delete one of them first\n"))
    assert names(sdk)[0] == ["front", "front-desk", "router"]


def test_a_previous_name_still_in_use_is_a_validation_error(tmp_path: Path) -> None:
    from tests.helpers import run_cli

    (tmp_path / "a.yaml").write_text(TOOL.format(name="new", previous="previous_names: [old]\n")
                                     + TOOL.format(name="old", previous=""))
    result = run_cli(["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr == (f"{tmp_path / 'a.yaml'}:4: Tool/new: previous_names[0]: 'old' is the name of another "
                             "Tool; a previous name must be free now\n")


TEST = ("apiVersion: reconciler/v1\nkind: AssistantTest\nname: {name}\n{previous}spec:\n  assistant: {bot}\n"
        "  instructions: Ask for help.\n  rubric: [{{name: helps, criteria: Offers help.}}]\n---\n")


def with_test(name: str = "smoke", bot: str = "front", previous: bool = False) -> str:
    """The desk plus one test of ``bot``; ``previous`` adds the rename hints."""
    hint = "previous_names: [smoke]\n" if previous and name != "smoke" else ""
    return desk(bot, previous=previous) + TEST.format(name=name, previous=hint, bot=bot)


def test_renaming_an_assistant_test_keeps_its_id_and_run_history(tmp_path: Path, emulator: Any, sdk: Any) -> None:
    project = stack(tmp_path, "desk", with_test())
    assert run(project, emulator, "apply", "--yes").exit_code == 0
    (test,) = sdk.ai.assistants.tests.list().data
    run_id = sdk.ai.assistants.tests.runs.trigger(test.test_id).run_id

    (project / "manifests" / "all.yaml").write_text(with_test("smoke-billing", "front-desk", previous=True))
    planned = run(project, emulator, "plan", "--prune", "--format", "json")
    assert planned.exit_code == 0, planned.output
    changes = [(c["action"], c["address"], c["note"]) for c in json.loads(planned.stdout)["changes"]]
    assert ("update", "AssistantTest/smoke-billing", "renamed from 'smoke'") in changes
    assert not [c for c in changes if c[0] in ("create", "delete")]
    writes = emulator.stats()["writes"]
    assert run(project, emulator, "apply", "--yes", "--prune").exit_code == 0
    # front-desk (rename), router (its handoff names the new name), the test (rename); the MCP server
    # and tool keep their names here.
    assert emulator.stats()["writes"] - writes == 3

    (after,) = sdk.ai.assistants.tests.list().data
    front = {a.name: a.id for a in sdk.ai.assistants.list().data}["front-desk"]
    assert (after.test_id, after.name, after.destination) == (test.test_id, "smoke-billing", front)
    assert [r.run_id for r in sdk.ai.assistants.tests.runs.list(test.test_id).data] == [run_id]
    assert run(project, emulator, "plan", "--prune", "--detailed-exitcode").exit_code == 0


def test_a_renamed_test_without_the_hint_is_a_likely_rename(tmp_path: Path, emulator: Any, sdk: Any) -> None:
    project = stack(tmp_path, "desk", with_test())
    assert run(project, emulator, "apply", "--yes").exit_code == 0
    (test,) = sdk.ai.assistants.tests.list().data
    (project / "manifests" / "all.yaml").write_text(with_test("smoke-billing"))
    planned = run(project, emulator, "plan", "--prune")
    assert (f"Warning: AssistantTest/smoke-billing looks like a rename of AssistantTest/smoke ({test.test_id}): "
            "to keep that object (its id, versions and phone setup), add 'previous_names: [smoke]' to its "
            "manifest.") in planned.stdout


def test_renaming_a_test_onto_a_taken_name_is_refused(tmp_path: Path, emulator: Any, sdk: Any) -> None:
    project = stack(tmp_path, "desk", with_test())
    assert run(project, emulator, "apply", "--yes").exit_code == 0
    (test,) = sdk.ai.assistants.tests.list().data
    taken = sdk.ai.assistants.tests.create(name="smoke-billing", destination="+13125550100",
                                           instructions="By hand.", rubric=[{"name": "r", "criteria": "c"}])
    (project / "manifests" / "all.yaml").write_text(with_test("smoke-billing", previous=True))
    refused = run(project, emulator, "plan")
    assert (refused.exit_code, refused.stderr) == (1, (
        f"Error: AssistantTest/smoke-billing: cannot rename AssistantTest/smoke ({test.test_id}) to 'smoke-billing': "
        f"another live object has that name ({taken.test_id}); rename or delete one of them first\n"))
