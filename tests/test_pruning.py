"""Pruning is opt-in, limited to what a stack owns, guarded by thresholds and protection."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run_cli


def assistant(name: str, instructions: str = "Help callers.") -> str:
    return f"apiVersion: reconciler/v1\nkind: Assistant\nname: {name}\nspec:\n  instructions: {instructions}\n---\n"


def tool(name: str) -> str:
    return (f"apiVersion: reconciler/v1\nkind: Tool\nname: {name}\nspec:\n  type: webhook\n  webhook:\n"
            f"    name: {name.replace('-', '_')}\n    description: d\n    url: https://x.example/{name}\n---\n")


def stack(root: Path, name: str, documents: str, extra_config: str = "") -> Path:
    """A project directory with its reconciler.yaml and one manifest file."""
    directory = root / name
    (directory / "manifests").mkdir(parents=True, exist_ok=True)
    (directory / "reconciler.yaml").write_text(f"stack: {name}\n{extra_config}")
    (directory / "manifests" / "all.yaml").write_text(documents)
    return directory


def run(directory: Path, emulator: Any, *args: str) -> Any:
    config = str(directory / "reconciler.yaml")
    return run_cli([*args[:1], str(directory / "manifests"), "--config", config, *args[1:]], emulator.base_url)


def names(sdk: Any) -> tuple[list[str], list[str]]:
    return (sorted(a.name for a in sdk.ai.assistants.list().data),
            sorted(t.display_name for t in sdk.ai.tools.list()))


@pytest.fixture
def two_stacks(tmp_path: Path, emulator: Any, sdk: Any) -> tuple[Path, Path]:
    """Stacks 'sales' and 'support' in one account, plus an assistant and a tool made by hand."""
    sales = stack(tmp_path, "sales", assistant("sales-a") + assistant("sales-b") + tool("sales-tool"))
    support = stack(tmp_path, "support", assistant("support-a") + tool("support-tool"))
    for directory in (sales, support):
        assert run(directory, emulator, "apply", "--yes").exit_code == 0
    sdk.ai.assistants.create(name="hand-made", instructions="Made in the portal.")
    sdk.ai.tools.create(display_name="hand-tool", type="webhook",
                        webhook={"name": "h", "description": "d", "url": "https://x.example/h"})
    return sales, support


def test_apply_records_what_the_stack_owns(two_stacks: tuple[Path, Path], sdk: Any) -> None:
    sales, _ = two_stacks
    ledger = json.loads((sales / ".reconciler" / "ownership-sales.json").read_text())
    by_name = {a.name: a.id for a in sdk.ai.assistants.list().data}
    assert ledger["stack"] == "sales"
    assert [(o["kind"], o["name"], o["id"]) for o in ledger["objects"] if o["kind"] == "Assistant"] == [
        ("Assistant", "sales-a", by_name["sales-a"]), ("Assistant", "sales-b", by_name["sales-b"])]
    assert [o["name"] for o in ledger["objects"] if o["kind"] == "Tool"] == ["sales-tool"]


def test_prune_deletes_only_what_this_stack_owns(two_stacks: tuple[Path, Path], emulator: Any, sdk: Any) -> None:
    sales, _ = two_stacks
    (sales / "manifests" / "all.yaml").write_text(assistant("sales-a"))
    without = run(sales, emulator, "plan", "--detailed-exitcode")
    assert (without.exit_code, without.stdout) == (0, "No changes. 1 object matches the manifests.\n")

    planned = run(sales, emulator, "plan", "--prune", "--detailed-exitcode")
    assert planned.exit_code == 2
    heads = [line for line in planned.stdout.splitlines() if line.startswith("  - ")]
    assert [h.split(" will be")[0] for h in heads] == ["  - Assistant/sales-b", "  - Tool/sales-tool"]

    assert run(sales, emulator, "apply", "--prune", "--yes").exit_code == 0
    assert names(sdk) == (["hand-made", "sales-a", "support-a"], ["hand-tool", "support-tool"])
    ledger = json.loads((sales / ".reconciler" / "ownership-sales.json").read_text())
    assert [o["name"] for o in ledger["objects"]] == ["sales-a"]


def test_an_empty_manifest_set_with_prune_never_reaches_other_stacks(two_stacks: tuple[Path, Path],
                                                                    emulator: Any, sdk: Any) -> None:
    _, support = two_stacks
    (support / "manifests" / "all.yaml").write_text("")
    (support / "manifests" / "keep.yaml").write_text(assistant("support-new"))
    refused = run(support, emulator, "apply", "--prune", "--yes")
    assert (refused.exit_code, refused.stderr) == (1, "Error: refusing to apply: it deletes all 2 managed objects of "
                                                      "the stack. Review the plan and pass --force if intended\n")
    assert run(support, emulator, "apply", "--prune", "--yes", "--force").exit_code == 0
    assert names(sdk) == (["hand-made", "sales-a", "sales-b", "support-new"], ["hand-tool", "sales-tool"])


def test_the_threshold_refuses_a_mass_delete_without_force(tmp_path: Path, emulator: Any, sdk: Any) -> None:
    documents = "".join(assistant(f"bot-{i}") for i in range(4))
    directory = stack(tmp_path, "bots", documents, "prune:\n  min_managed: 4\n  max_delete_fraction: 0.5\n")
    assert run(directory, emulator, "apply", "--yes").exit_code == 0
    (directory / "manifests" / "all.yaml").write_text(assistant("bot-0"))

    planned = run(directory, emulator, "plan", "--prune")
    assert planned.exit_code == 0
    assert planned.stdout.splitlines()[-2:] == [
        "Plan: 0 to create, 0 to update, 3 to delete, 1 unchanged.",
        "Apply will refuse without --force: it deletes 3 of 4 managed objects, more than 50% "
        "(prune.max_delete_fraction).",
    ]
    writes = emulator.stats()["writes"]
    refused = run(directory, emulator, "apply", "--prune", "--yes")
    assert refused.exit_code == 1
    assert refused.stderr == ("Error: refusing to apply: it deletes 3 of 4 managed objects, more than 50% "
                              "(prune.max_delete_fraction). Review the plan and pass --force if intended\n")
    assert emulator.stats()["writes"] == writes

    assert run(directory, emulator, "apply", "--prune", "--yes", "--force").exit_code == 0
    assert names(sdk)[0] == ["bot-0"]


def test_the_threshold_also_guards_mass_rewrites(tmp_path: Path, emulator: Any) -> None:
    documents = "".join(assistant(f"bot-{i}") for i in range(4))
    directory = stack(tmp_path, "bots", documents, "prune:\n  min_managed: 2\n")
    assert run(directory, emulator, "apply", "--yes").exit_code == 0
    (directory / "manifests" / "all.yaml").write_text(documents.replace("Help callers.", "Help callers well."))
    refused = run(directory, emulator, "apply", "--yes")
    assert refused.exit_code == 1
    assert "it rewrites 4 of 4 managed objects, more than 30% (updates.max_fraction)" in refused.stderr


def test_a_protected_object_is_never_deleted(tmp_path: Path, emulator: Any, sdk: Any) -> None:
    directory = stack(tmp_path, "desk", assistant("keep-me") + assistant("drop-me"),
                      "protect:\n  - Assistant/keep-*\n")
    assert run(directory, emulator, "apply", "--yes").exit_code == 0
    (directory / "manifests" / "all.yaml").write_text(assistant("other"))

    planned = run(directory, emulator, "plan", "--prune")
    assert "  ! Assistant/keep-me is protected: kept although no manifest states it" in planned.stdout
    deletes = [line.split(" (")[0] for line in planned.stdout.splitlines() if line.startswith("  - ")]
    assert deletes == ["  - Assistant/drop-me will be deleted"]
    assert run(directory, emulator, "apply", "--prune", "--yes").exit_code == 0
    assert names(sdk)[0] == ["keep-me", "other"]
    again = run(directory, emulator, "apply", "--prune", "--yes")
    assert again.exit_code == 0
    assert names(sdk)[0] == ["keep-me", "other"]


def test_without_a_stack_prune_touches_no_assistant(tmp_path: Path, emulator: Any, sdk: Any) -> None:
    directory = tmp_path / "plain"
    (directory / "manifests").mkdir(parents=True)
    (directory / "manifests" / "all.yaml").write_text(assistant("one") + assistant("two"))
    (directory / "reconciler.yaml").write_text("ignore: []\n")
    assert run(directory, emulator, "apply", "--yes").exit_code == 0
    (directory / "manifests" / "all.yaml").write_text(assistant("one"))
    assert run(directory, emulator, "apply", "--prune", "--yes").exit_code == 0
    assert names(sdk)[0] == ["one", "two"]


class TestIgnoreRules:
    def test_an_ignored_field_changed_in_the_console_is_neither_planned_nor_overwritten(
        self, tmp_path: Path, emulator: Any, sdk: Any
    ) -> None:
        manifest = (
            "apiVersion: reconciler/v1\nkind: Assistant\nname: desk\nspec:\n  instructions: Help.\n"
            "  greeting: Hello!\n  voice_settings:\n    voice: Telnyx.KokoroTTS.af_heart\n    voice_speed: 1.0\n"
        )
        directory = stack(tmp_path, "desk", manifest,
                          "ignore:\n  - target: Assistant/*\n    fields: [greeting, voice_settings.voice]\n")
        assert run(directory, emulator, "apply", "--yes").exit_code == 0
        [live] = sdk.ai.assistants.list().data
        sdk.ai.assistants.update(live.id, greeting="Hi from the portal",
                                 voice_settings={"voice": "Telnyx.KokoroTTS.am_michael"})
        quiet = run(directory, emulator, "plan", "--detailed-exitcode")
        assert (quiet.exit_code, quiet.stdout) == (0, "No changes. 1 object matches the manifests.\n")

        (directory / "manifests" / "all.yaml").write_text(manifest.replace("voice_speed: 1.0", "voice_speed: 1.2"))
        changed = run(directory, emulator, "plan")
        assert "      ~ voice_settings.voice_speed: 1.0 -> 1.2" in changed.stdout
        assert "voice_settings.voice:" not in changed.stdout
        assert run(directory, emulator, "apply", "--yes").exit_code == 0
        after = sdk.ai.assistants.retrieve(live.id)
        assert (after.greeting, after.voice_settings.voice, after.voice_settings.voice_speed) == (
            "Hi from the portal", "Telnyx.KokoroTTS.am_michael", 1.2)

    def test_an_ignored_field_holds_for_candidate_versions_too(self, tmp_path: Path, emulator: Any, sdk: Any) -> None:
        """A candidate is written from main, so it takes the console's greeting; that is no reason to
        write it again, or every apply would add a version."""
        manifest = (
            "apiVersion: reconciler/v1\nkind: Assistant\nname: desk\nspec:\n  instructions: Help.\n"
            "  greeting: Hello!\n---\napiVersion: reconciler/v1\nkind: CanaryDeploy\nname: desk-canary\nspec:\n"
            "  assistant: desk\n  versions:\n    next:\n      instructions: Help, briefly.\n"
            "  rules:\n    - serve:\n        rollout:\n          - {version: next, weight: 10}\n"
        )
        directory = stack(tmp_path, "desk", manifest, "ignore:\n  - target: Assistant/desk\n    fields: [greeting]\n")
        assert run(directory, emulator, "apply", "--yes").exit_code == 0
        [live] = sdk.ai.assistants.list().data
        sdk.ai.assistants.update(live.id, greeting="Hi from the portal")
        (directory / "manifests" / "all.yaml").write_text(manifest.replace("Help, briefly.", "Help, very briefly."))
        assert run(directory, emulator, "apply", "--yes").exit_code == 0  # a new candidate, from main
        quiet = run(directory, emulator, "plan", "--detailed-exitcode")
        assert (quiet.exit_code, quiet.stdout) == (0, "No changes. 2 objects match the manifests.\n")

    def test_a_bad_project_file_names_file_and_field(self, tmp_path: Path, emulator: Any) -> None:
        directory = stack(tmp_path, "desk", assistant("a"), "ignore:\n  - target: Widget/x\n    fields: [a]\n")
        result = run(directory, emulator, "plan")
        assert result.exit_code == 1
        assert result.stderr == (
            f"Error: {directory / 'reconciler.yaml'}:3: ignore.0.target: 'Widget/x' is not Kind/name "
            "(Kind: Assistant, Tool, McpServer, CanaryDeploy, AssistantTest or *; name may use * and ?)\n"
        )
