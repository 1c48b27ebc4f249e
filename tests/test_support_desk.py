"""The support-desk example end to end: every kind, references, tags, a canary and a cycle.

Apply runs through the CLI against the emulator over real HTTP; the official SDK with strict
response validation reads back what apply made, and the emulator's counters show what was sent.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import telnyx
import yaml

from tests.helpers import REPO, run_cli

DESK = REPO / "examples" / "support-desk"


@pytest.fixture
def desk(tmp_path: Path) -> Path:
    """A private copy of the example that a test may edit."""
    target = tmp_path / "support-desk"
    shutil.copytree(DESK, target)
    return target


def apply_ok(path: Path, emulator: Any, *extra: str) -> str:
    result = run_cli(["apply", str(path), "--yes", *extra], emulator.base_url)
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def plan_lines(path: Path, emulator: Any, *extra: str) -> tuple[int, list[str]]:
    result = run_cli(["plan", str(path), "--detailed-exitcode", *extra], emulator.base_url)
    assert result.exit_code in (0, 2), result.output
    return result.exit_code, result.stdout.splitlines()


def edit(path: Path, name: str, change: Any) -> None:
    """Edit the document called ``name`` in a multi-document file."""
    docs = list(yaml.safe_load_all(path.read_text()))
    for doc in docs:
        if doc["name"] == name:
            change(doc["spec"])
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))


def by_name(sdk: Any) -> dict[str, Any]:
    return {a.name: a for a in sdk.ai.assistants.list().data}


class TestConvergence:
    def test_from_empty_apply_converges_and_a_second_apply_writes_nothing(self, emulator: Any) -> None:
        out = apply_ok(DESK, emulator)
        assert out.splitlines()[-1] == "Apply: 13 applied, 0 failed, 0 skipped."
        # triage and billing hand off to each other: both created first, then linked.
        assert "  applied  update Assistant/support-triage (link)" in out
        assert "  applied  update Assistant/support-billing (link)" in out

        code, lines = plan_lines(DESK, emulator)
        assert (code, lines) == (0, ["No changes. 10 objects match the manifests."])

        writes = emulator.stats()["writes"]
        assert apply_ok(DESK, emulator) == "No changes. 10 objects match the manifests.\n"
        assert emulator.stats()["writes"] == writes

    def test_plan_orders_tools_then_assistants_then_canary(self, emulator: Any) -> None:
        code, lines = plan_lines(DESK, emulator)
        assert code == 2
        heads = [line.strip() for line in lines if line.startswith("  ") and not line.startswith("    ")]
        # Within a stage, changes keep manifest order (files sorted by path).
        assert heads == [
            "+ McpServer/crm will be created",
            "+ Tool/lookup-order will be created",
            "+ Tool/create-ticket will be created",
            "+ Assistant/support-billing will be created",
            "+ Assistant/support-tech will be created",
            "+ Assistant/support-triage will be created",
            "~ Assistant/support-billing will be updated (link)",
            "~ Assistant/support-triage will be updated (link)",
            "+ AssistantTest/refund-within-limit will be created",
            "+ AssistantTest/refund-over-limit will be created",
            "+ AssistantTest/billing-question-handoff will be created",
            "+ AssistantVersion/support-triage@concise-prompt will be created",
            "+ CanaryDeploy/triage-concise-prompt will be created",
            "Assistant/support-billing: 2 new versions (0 kept -> 2); none evicted",
            "Assistant/support-tech: 1 new version (0 kept -> 1); none evicted",
            "Assistant/support-triage: 3 new versions (0 kept -> 3); none evicted",
        ]
        assert lines[-1] == "Plan: 11 to create, 0 to update, 0 to delete; plus 2 link steps."


class TestReadBackWithTheSdk:
    def test_everything_apply_made_is_what_the_manifests_say(self, emulator: Any, sdk: Any) -> None:
        apply_ok(DESK, emulator)
        tools = {t.display_name: t for t in sdk.ai.tools.list()}
        assert sorted(tools) == ["create-ticket", "lookup-order"]
        [crm] = sdk.ai.mcp_servers.list()
        assert (crm.name, crm.api_key_ref) == ("crm", "crm_mcp_key")
        assert crm.url == "https://mcp.crm.acme-outdoor.example/mcp"
        assistants = by_name(sdk)
        triage, billing, tech = (assistants[n] for n in ("support-triage", "support-billing", "support-tech"))

        shared = [t for t in triage.tools if t.shared]
        assert sorted(t.webhook.name for t in shared) == ["create_ticket", "lookup_order"]
        inline = [t for t in triage.tools if not t.shared]
        assert [t.type for t in inline] == ["handoff", "hangup"]
        assert [(a.id, a.name) for a in inline[0].handoff.ai_assistants] == [
            (billing.id, "support-billing"), (tech.id, "support-tech")]
        [back] = [t for t in billing.tools if t.type == "handoff"]
        assert [(a.id, a.name) for a in back.handoff.ai_assistants] == [(triage.id, "support-triage")]

        assert [(m.id, m.allowed_tools) for m in triage.mcp_servers] == [(crm.id, ["get_customer", "list_orders"])]
        assert [m.id for m in tech.mcp_servers] == [crm.id]
        assert triage.tags == ["support", "tier-1", "voice"]

        canary = sdk.ai.assistants.canary_deploys.retrieve(triage.id)
        [rule] = canary.rules
        [slot] = rule.serve.rollout
        versions = sdk.ai.assistants.versions.list(triage.id).data
        [candidate] = [v for v in versions if v.version_name == "concise-prompt"]
        assert (slot.version_id, slot.weight) == (candidate.version_id, 10)
        assert candidate.version_id != triage.version_id
        assert candidate.instructions.startswith("You route calls on the Acme Outdoor support line.")
        assert triage.instructions.startswith("You answer the Acme Outdoor support line.")


class TestTargetedChanges:
    def test_editing_one_shared_tool_changes_only_that_tool(self, emulator: Any, desk: Path, sdk: Any) -> None:
        apply_ok(desk, emulator)
        edit(desk / "tools.yaml", "create-ticket", lambda spec: spec.update(timeout_ms=9000))
        code, lines = plan_lines(desk, emulator)
        tool_id = next(t.id for t in sdk.ai.tools.list() if t.display_name == "create-ticket")
        assert (code, lines) == (2, [
            "reconciler will make these changes:",
            "",
            f"  ~ Tool/create-ticket will be updated ({tool_id})",
            "      ~ timeout_ms: 8000 -> 9000",
            "",
            "Plan: 0 to create, 1 to update, 0 to delete, 9 unchanged.",
        ])
        emulator.reset_stats()
        apply_ok(desk, emulator)
        assert emulator.stats()["by_route"].get("PATCH /v2/ai/tools/{tool_id}") == 1
        assert emulator.stats()["writes"] == 1
        assert plan_lines(desk, emulator)[0] == 0

    def test_changing_a_candidate_override_makes_one_new_version_and_leaves_main(
        self, emulator: Any, desk: Path, sdk: Any
    ) -> None:
        apply_ok(desk, emulator)
        triage = by_name(sdk)["support-triage"]
        count = len(sdk.ai.assistants.versions.list(triage.id).data)
        edit(desk / "canary.yaml", "triage-concise-prompt",
             lambda spec: spec["versions"]["concise-prompt"].update(instructions="Route calls. One question at most."))
        code, lines = plan_lines(desk, emulator)
        assert code == 2
        assert "  + AssistantVersion/support-triage@concise-prompt will be created" in lines
        assert lines[-1] == "Plan: 1 to create, 1 to update, 0 to delete, 9 unchanged."

        apply_ok(desk, emulator)
        after = sdk.ai.assistants.retrieve(triage.id)
        assert after.version_id == triage.version_id
        assert after.instructions == triage.instructions
        versions = sdk.ai.assistants.versions.list(triage.id).data
        assert len(versions) == count + 1
        newest = max((v for v in versions if v.version_name == "concise-prompt"), key=lambda v: v.version_created_at)
        assert newest.instructions == "Route calls. One question at most."
        [rule] = sdk.ai.assistants.canary_deploys.retrieve(triage.id).rules
        assert rule.serve.rollout[0].version_id == newest.version_id
        assert plan_lines(desk, emulator)[0] == 0

    def test_renaming_a_candidate_makes_one_version_under_the_new_name(
        self, emulator: Any, desk: Path, sdk: Any
    ) -> None:
        apply_ok(desk, emulator)
        triage = by_name(sdk)["support-triage"]
        count = len(sdk.ai.assistants.versions.list(triage.id).data)

        def rename(spec: dict[str, Any]) -> None:
            spec["versions"]["short-prompt"] = spec["versions"].pop("concise-prompt")
            spec["rules"][0]["serve"]["rollout"][0]["version"] = "short-prompt"

        edit(desk / "canary.yaml", "triage-concise-prompt", rename)
        apply_ok(desk, emulator)
        versions = sdk.ai.assistants.versions.list(triage.id).data
        assert len(versions) == count + 1
        [renamed] = [v for v in versions if v.version_name == "short-prompt"]
        [rule] = sdk.ai.assistants.canary_deploys.retrieve(triage.id).rules
        assert rule.serve.rollout[0].version_id == renamed.version_id
        assert sdk.ai.assistants.retrieve(triage.id).version_id == triage.version_id

    def test_removing_the_canary_document_with_prune_deletes_only_the_canary(
        self, emulator: Any, desk: Path, sdk: Any
    ) -> None:
        apply_ok(desk, emulator)
        triage = by_name(sdk)["support-triage"]
        (desk / "canary.yaml").unlink()

        assert plan_lines(desk, emulator) == (0, ["No changes. 9 objects match the manifests."])
        code, lines = plan_lines(desk, emulator, "--prune")
        assert (code, lines[2], lines[-1]) == (
            2, f"  - CanaryDeploy/support-triage will be deleted ({triage.id})",
            "Plan: 0 to create, 0 to update, 1 to delete, 9 unchanged.")

        emulator.reset_stats()
        apply_ok(desk, emulator, "--prune")
        assert emulator.stats()["writes"] == 1
        with pytest.raises(telnyx.NotFoundError):
            sdk.ai.assistants.canary_deploys.retrieve(triage.id)
        after = sdk.ai.assistants.retrieve(triage.id)
        assert (after.version_id, after.instructions) == (triage.version_id, triage.instructions)

    def test_a_tags_only_change_uses_the_tag_endpoints_and_makes_no_version(
        self, emulator: Any, desk: Path, sdk: Any
    ) -> None:
        apply_ok(desk, emulator)
        triage = by_name(sdk)["support-triage"]
        count = len(sdk.ai.assistants.versions.list(triage.id).data)
        edit(desk / "triage.yaml", "support-triage", lambda spec: spec.update(tags=["support", "voice", "vip"]))
        code, lines = plan_lines(desk, emulator)
        assert code == 2
        assert '      ~ tags[1]: "tier-1" -> "vip"' in lines

        emulator.reset_stats()
        apply_ok(desk, emulator)
        routes = emulator.stats()["by_route"]
        assert routes.get("POST /v2/ai/assistants/{assistant_id}/tags") == 1
        assert routes.get("DELETE /v2/ai/assistants/{assistant_id}/tags/{tag}") == 1
        assert "POST /v2/ai/assistants/{assistant_id}" not in routes
        after = sdk.ai.assistants.retrieve(triage.id)
        assert sorted(after.tags) == ["support", "vip", "voice"]
        assert len(sdk.ai.assistants.versions.list(triage.id).data) == count
        assert plan_lines(desk, emulator)[0] == 0


def test_two_live_tools_with_one_managed_name_is_an_error_naming_both(emulator: Any, sdk: Any) -> None:
    for _ in range(2):
        sdk.ai.tools.create(display_name="lookup-order", type="webhook",
                            webhook={"name": "x", "description": "x", "url": "https://x.example"})
    ids = [t.id for t in sdk.ai.tools.list()]
    result = run_cli(["plan", str(DESK)], emulator.base_url)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: Tool/lookup-order: 2 live objects share this name ({', '.join(ids)}); "
        "rename or delete all but one before planning\n"
    )
