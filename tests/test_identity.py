"""Identity and ownership a team can trust (issue 12): each test is one situation a team meets.

Every test drives the CLI against a real emulator over HTTP and judges the account through the
official SDK or the emulator's own request counts.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from reconciler.api.client import TelnyxClient
from reconciler.config import Connection
from reconciler.emulator import EmulatorServer
from reconciler.engine.apply import apply_plan
from reconciler.engine.live import fetch_live
from reconciler.engine.plan import build_plan
from reconciler.manifests.loader import load_resources
from tests.helpers import API_KEY, run_cli
from tests.test_pruning import assistant, names, run, stack, tool


def ledger_of(directory: Path, name: str) -> list[tuple[str, str, str]]:
    data = json.loads((directory / ".reconciler" / f"ownership-{name}.json").read_text())
    return [(o["kind"], o["name"], o["id"]) for o in data["objects"]]


def assistant_ids(sdk: Any) -> dict[str, str]:
    return {a.name: a.id for a in sdk.ai.assistants.list().data}


class TestIdempotencyPerAttempt:
    def test_an_assistant_deleted_in_the_portal_is_created_again(self, tmp_path: Path, emulator: Any,
                                                                 sdk: Any) -> None:
        """Broken before: the same Idempotency-Key on every run replayed the first create's dead id."""
        desk = stack(tmp_path, "desk", assistant("front"))
        assert run(desk, emulator, "apply", "--yes").exit_code == 0
        first = assistant_ids(sdk)["front"]
        sdk.ai.assistants.delete(first)

        again = run(desk, emulator, "apply", "--yes")
        assert again.exit_code == 0, again.output
        second = assistant_ids(sdk)["front"]
        assert second != first
        assert f"applied  create Assistant/front ({second})" in again.stdout
        assert run(desk, emulator, "plan", "--detailed-exitcode").exit_code == 0

    def test_prune_then_readd_creates_the_object_again(self, tmp_path: Path, emulator: Any, sdk: Any) -> None:
        desk = stack(tmp_path, "desk", assistant("front") + tool("lookup"))
        assert run(desk, emulator, "apply", "--yes").exit_code == 0
        (desk / "manifests" / "all.yaml").write_text(assistant("front"))
        assert run(desk, emulator, "apply", "--yes", "--prune").exit_code == 0
        assert names(sdk) == (["front"], [])
        (desk / "manifests" / "all.yaml").write_text(assistant("front") + tool("lookup"))
        readded = run(desk, emulator, "apply", "--yes")
        assert readded.exit_code == 0, readded.output
        assert names(sdk) == (["front"], ["lookup"])
        assert run(desk, emulator, "plan", "--detailed-exitcode").exit_code == 0

    def test_the_emulator_refuses_to_replay_a_create_whose_object_is_gone(self, http: httpx.Client) -> None:
        headers = {"Idempotency-Key": "attempt-1"}
        created = http.post("/ai/assistants", json={"name": "a", "instructions": "x"}, headers=headers)
        assert created.status_code == 200
        replay = http.post("/ai/assistants", json={"name": "a", "instructions": "x"}, headers=headers)
        assert (replay.status_code, replay.json()["id"]) == (200, created.json()["id"])
        assert http.delete(f"/ai/assistants/{created.json()['id']}").status_code == 200
        gone = http.post("/ai/assistants", json={"name": "a", "instructions": "x"}, headers=headers)
        assert gone.status_code == 409
        assert gone.json() == {"errors": [{
            "code": "10016", "title": "Idempotency key already used",
            "detail": f"the object {created.json()['id']} created under this Idempotency-Key no longer exists; "
                      "send a new key to create it again",
        }]}


class TestTwoStacks:
    def test_a_stack_refuses_an_assistant_another_stack_owns(self, tmp_path: Path, emulator: Any,
                                                            sdk: Any) -> None:
        """Broken before: stack B silently adopted A's object ("No changes") and A's prune then deleted it.

        The stacks live in separate repositories (no shared ledger directory): the ownership tag
        on the assistant is what B sees.
        """
        first = stack(tmp_path / "repo-a", "sales", assistant("shared-bot"))
        second = stack(tmp_path / "repo-b", "support", assistant("shared-bot"))
        assert run(first, emulator, "apply", "--yes").exit_code == 0
        bot = assistant_ids(sdk)["shared-bot"]

        refused = run(second, emulator, "plan")
        assert refused.exit_code == 1
        assert refused.stderr == (
            f"Error: Assistant/shared-bot ({bot}) is owned by stack 'sales'; remove it from one of the two "
            "stacks' manifests (or release it from that stack) before planning\n"
        )
        assert run(second, emulator, "apply", "--yes").exit_code == 1
        assert not (second / ".reconciler" / "ownership-support.json").exists()

    def test_a_tool_another_stack_of_the_repo_owns_is_refused(self, tmp_path: Path, emulator: Any,
                                                             sdk: Any) -> None:
        """Tools carry no tags: stacks of one repository see each other's ledgers instead."""
        sales = stack(tmp_path, "sales", tool("lookup"))
        assert run(sales, emulator, "apply", "--yes").exit_code == 0
        support_config = tmp_path / "sales" / "support.yaml"
        support_config.write_text("stack: support\n")
        tool_id = next(t.id for t in sdk.ai.tools.list())
        refused = run_cli(["plan", str(sales / "manifests"), "--config", str(support_config)], emulator.base_url)
        assert refused.exit_code == 1
        assert refused.stderr.startswith(f"Error: Tool/lookup ({tool_id}) is owned by stack 'sales'; ")

    def test_adopting_an_object_made_by_hand_is_a_visible_plan_action(self, tmp_path: Path, emulator: Any,
                                                                     sdk: Any) -> None:
        made = sdk.ai.assistants.create(name="portal-bot", instructions="Help callers.", tags=["vip"])
        desk = stack(tmp_path, "desk", assistant("portal-bot"))
        planned = run(desk, emulator, "plan", "--detailed-exitcode")
        assert planned.exit_code == 2
        assert planned.stdout == (
            "reconciler will make these changes:\n\n"
            f"  & Assistant/portal-bot will be adopted ({made.id})\n"
            "      # exists, not yet owned by this stack; apply tags it reconciler-stack=desk\n\n"
            "Plan: 0 to create, 0 to update, 0 to delete, 1 to adopt.\n"
        )
        as_json = json.loads(run(desk, emulator, "plan", "--format", "json").stdout)
        assert [(c["action"], c["address"], c["note"]) for c in as_json["changes"]] == [
            ("adopt", "Assistant/portal-bot",
             "exists, not yet owned by this stack; apply tags it reconciler-stack=desk")]
        versions = len(sdk.ai.assistants.versions.list(made.id).data)
        assert run(desk, emulator, "apply", "--yes").exit_code == 0
        assert ledger_of(desk, "desk") == [("Assistant", "portal-bot", made.id)]
        after = sdk.ai.assistants.retrieve(made.id)
        assert sorted(after.tags or []) == ["reconciler-stack=desk", "vip"]
        assert len(sdk.ai.assistants.versions.list(made.id).data) == versions  # tags cost no version
        assert run(desk, emulator, "plan", "--detailed-exitcode").exit_code == 0


class TestPortalRename:
    def test_a_renamed_object_is_renamed_back_not_duplicated(self, tmp_path: Path, emulator: Any,
                                                            sdk: Any) -> None:
        """Broken before: plan created a duplicate and the renamed object stayed in the ledger forever."""
        desk = stack(tmp_path, "desk", assistant("front") + tool("lookup"))
        assert run(desk, emulator, "apply", "--yes").exit_code == 0
        front = assistant_ids(sdk)["front"]
        lookup = next(t.id for t in sdk.ai.tools.list())
        sdk.ai.assistants.update(front, name="front-renamed")
        sdk.ai.tools.update(lookup, display_name="lookup-renamed")

        planned = run(desk, emulator, "plan")
        assert planned.exit_code == 0
        assert f"  ~ Tool/lookup will be updated ({lookup})" in planned.stdout
        assert '      ~ display_name: "lookup-renamed" -> "lookup"' in planned.stdout
        assert f"  ~ Assistant/front will be updated ({front})" in planned.stdout
        assert '      ~ name: "front-renamed" -> "front"' in planned.stdout
        assert "Plan: 0 to create, 2 to update, 0 to delete." in planned.stdout

        assert run(desk, emulator, "apply", "--yes", "--prune").exit_code == 0
        assert names(sdk) == (["front"], ["lookup"])
        assert assistant_ids(sdk)["front"] == front
        assert sorted(ledger_of(desk, "desk")) == [("Assistant", "front", front), ("Tool", "lookup", lookup)]
        assert run(desk, emulator, "plan", "--prune", "--detailed-exitcode").exit_code == 0


class TestCrashSafeLedger:
    def test_objects_created_before_a_crash_are_pruned_after_a_revert(self, tmp_path: Path) -> None:
        """Broken before: the ledger was written only at the end, so a killed apply forgot what it made."""
        desk = stack(tmp_path, "desk", "".join(assistant(f"bot-{i}") for i in range(6)))
        with EmulatorServer(api_key=API_KEY, latency_ms=400) as slow:
            env = {"TELNYX_BASE_URL": slow.base_url, "TELNYX_API_KEY": API_KEY, "NO_COLOR": "1",
                   "PATH": "/usr/bin:/bin"}
            process = subprocess.Popen(
                [sys.executable, "-m", "reconciler", "apply", str(desk / "manifests"), "--config",
                 str(desk / "reconciler.yaml"), "--yes", "--parallelism", "2"],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
            )
            journal = desk / ".reconciler" / "ownership-desk.json.journal"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and _lines(journal) < 2:
                time.sleep(0.02)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            recorded = _lines(journal)
            made = _assistant_count(slow)
            assert 2 <= recorded <= made < 6
            # A create in flight when the process died may exist without its answer: that one is
            # unknown to the stack (at most --parallelism of them), everything answered is known.
            assert made - recorded <= 2
            (desk / "manifests" / "all.yaml").write_text(assistant("bot-new"))
            pruned = run_cli(["apply", str(desk / "manifests"), "--config", str(desk / "reconciler.yaml"),
                              "--yes", "--prune", "--force"], slow.base_url)
            assert pruned.exit_code == 0, pruned.output
            assert pruned.stdout.count(" delete Assistant/bot-") == recorded
            assert _assistant_count(slow) == made - recorded + 1


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _assistant_count(server: EmulatorServer) -> int:
    with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {API_KEY}"}) as http:
        return len(http.get("/ai/assistants").json()["data"])


class TestSavedPlans:
    def test_an_edit_to_a_field_no_manifest_states_does_not_refuse_a_reviewed_plan(
        self, tmp_path: Path, emulator: Any, sdk: Any
    ) -> None:
        """Broken before: the fingerprint hashed whole live objects."""
        desk = stack(tmp_path, "desk", assistant("front") + assistant("back"))
        assert run(desk, emulator, "apply", "--yes").exit_code == 0
        (desk / "manifests" / "all.yaml").write_text(assistant("front", "Help callers kindly.") + assistant("back"))
        plan_file = str(tmp_path / "plan.json")
        assert run(desk, emulator, "plan", "--out", plan_file).exit_code == 0
        sdk.ai.assistants.update(assistant_ids(sdk)["back"], dynamic_variables={"region": "eu"})
        applied = run_cli(["apply", "--plan", plan_file, "--yes", "--config", str(desk / "reconciler.yaml")],
                          emulator.base_url)
        assert applied.exit_code == 0, applied.output
        assert sdk.ai.assistants.retrieve(assistant_ids(sdk)["front"]).instructions == "Help callers kindly."

    def test_a_stated_field_edited_since_the_plan_still_refuses(self, tmp_path: Path, emulator: Any,
                                                               sdk: Any) -> None:
        desk = stack(tmp_path, "desk", assistant("front") + assistant("back"))
        assert run(desk, emulator, "apply", "--yes").exit_code == 0
        (desk / "manifests" / "all.yaml").write_text(assistant("front", "Help callers kindly.") + assistant("back"))
        plan_file = str(tmp_path / "plan.json")
        assert run(desk, emulator, "plan", "--out", plan_file).exit_code == 0
        sdk.ai.assistants.update(assistant_ids(sdk)["back"], instructions="Edited in the portal.")
        refused = run_cli(["apply", "--plan", plan_file, "--yes", "--config", str(desk / "reconciler.yaml")],
                          emulator.base_url)
        assert (refused.exit_code, refused.stderr) == (
            1, "Error: the live account changed since the plan was saved: Assistant/back; run plan again\n")

    def test_a_plan_made_against_one_account_refuses_another(self, tmp_path: Path, emulator: Any) -> None:
        desk = stack(tmp_path, "desk", assistant("front"))
        plan_file = str(tmp_path / "plan.json")
        assert run(desk, emulator, "plan", "--out", plan_file).exit_code == 0
        port = emulator.base_url.split(":")[2].split("/")[0]
        with EmulatorServer() as other:
            refused = run_cli(["apply", "--plan", plan_file, "--yes", "--config", str(desk / "reconciler.yaml")],
                              other.base_url)
            other_port = other.base_url.split(":")[2].split("/")[0]
            assert refused.exit_code == 1
            assert refused.stderr.startswith(
                f"Error: the plan was made against account 127.0.0.1:{port} key:")
            assert f"but this apply is connected to 127.0.0.1:{other_port} key:" in refused.stderr
            assert API_KEY not in refused.output
        assert json.loads(Path(plan_file).read_text())["saved"]["account"].startswith(f"127.0.0.1:{port} key:")

    def test_a_lost_ledger_refuses_a_plan_that_prunes_and_says_why(self, tmp_path: Path, emulator: Any,
                                                                   sdk: Any) -> None:
        """Broken before: "the live account changed", and the planned deletes silently vanished."""
        desk = stack(tmp_path, "desk", "".join(assistant(f"bot-{i}") for i in range(3)))
        assert run(desk, emulator, "apply", "--yes").exit_code == 0
        (desk / "manifests" / "all.yaml").write_text(assistant("bot-0") + assistant("bot-1"))
        plan_file = str(tmp_path / "plan.json")
        assert run(desk, emulator, "plan", "--prune", "--out", plan_file).exit_code == 0
        (desk / ".reconciler" / "ownership-desk.json").unlink()
        refused = run_cli(["apply", "--plan", plan_file, "--yes", "--config", str(desk / "reconciler.yaml")],
                          emulator.base_url)
        assert (refused.exit_code, refused.stderr) == (1, (
            "Error: the stack's ownership ledger changed since the plan was saved (lost, restored or written by "
            "another apply), so the objects it may prune differ; run plan again\n"))
        assert names(sdk)[0] == ["bot-0", "bot-1", "bot-2"]


class TestThresholds:
    def test_every_format_says_when_apply_will_refuse(self, tmp_path: Path, emulator: Any) -> None:
        """Broken before: the warning went only to stderr, so a PR comment looked clean."""
        documents = "".join(assistant(f"bot-{i}") for i in range(4))
        desk = stack(tmp_path, "desk", documents, "updates:\n  min_managed: 2\n")
        assert run(desk, emulator, "apply", "--yes").exit_code == 0
        (desk / "manifests" / "all.yaml").write_text(documents.replace("Help callers.", "Help callers well."))
        reason = "it rewrites 4 of 4 managed objects, more than 30% (updates.max_fraction)"
        text = run(desk, emulator, "plan")
        assert text.stdout.endswith(f"Apply will refuse without --force: {reason}.\n")
        markdown = run(desk, emulator, "plan", "--format", "markdown")
        assert f"> **Apply will refuse without --force: {reason}.**" in markdown.stdout
        document = json.loads(run(desk, emulator, "plan", "--format", "json").stdout)
        assert (document["refusals"], document["forced"]) == ([reason], False)

    def test_a_plan_approved_with_force_carries_the_approval(self, tmp_path: Path, emulator: Any, sdk: Any) -> None:
        documents = "".join(assistant(f"bot-{i}") for i in range(4))
        desk = stack(tmp_path, "desk", documents, "updates:\n  min_managed: 2\n")
        assert run(desk, emulator, "apply", "--yes").exit_code == 0
        (desk / "manifests" / "all.yaml").write_text(documents.replace("Help callers.", "Help callers well."))
        plan_file = str(tmp_path / "plan.json")
        unapproved = str(tmp_path / "unapproved.json")
        assert run(desk, emulator, "plan", "--out", unapproved).exit_code == 0
        refused = run_cli(["apply", "--plan", unapproved, "--yes", "--config", str(desk / "reconciler.yaml")],
                          emulator.base_url)
        assert refused.exit_code == 1
        approved = run(desk, emulator, "plan", "--out", plan_file, "--force")
        assert "Approved with --force at plan time: it rewrites 4 of 4 managed objects" in approved.stdout
        applied = run_cli(["apply", "--plan", plan_file, "--yes", "--config", str(desk / "reconciler.yaml")],
                          emulator.base_url)
        assert applied.exit_code == 0, applied.output
        assert {a.instructions for a in sdk.ai.assistants.list().data} == {"Help callers well."}

    def test_a_small_stack_never_loses_every_object_without_force(self, tmp_path: Path, emulator: Any,
                                                                  sdk: Any) -> None:
        """Broken before: below min_managed a wrong manifest set could delete 100% of the stack."""
        desk = stack(tmp_path, "desk", assistant("front") + assistant("back"))
        assert run(desk, emulator, "apply", "--yes").exit_code == 0
        (desk / "manifests" / "all.yaml").write_text(assistant("someone-elses"))
        refused = run(desk, emulator, "apply", "--yes", "--prune")
        assert (refused.exit_code, refused.stderr) == (1, (
            "Error: refusing to apply: it deletes all 2 managed objects of the stack. "
            "Review the plan and pass --force if intended\n"))
        assert names(sdk)[0] == ["back", "front"]


class TestPruneConverges:
    def test_a_handoff_cycle_is_unlinked_then_deleted_with_its_tools(self, tmp_path: Path, emulator: Any,
                                                                     sdk: Any) -> None:
        """Broken before: each delete got 400 "still referenced" while the tools were deleted anyway."""
        def handing_off(name: str, target: str) -> str:
            return (f"apiVersion: reconciler/v1\nkind: Assistant\nname: {name}\nspec:\n  instructions: x\n"
                    f"  shared_tools: [lookup]\n  tools:\n    - type: handoff\n      handoff:\n"
                    f"        ai_assistants: [{{assistant: {target}}}]\n---\n")

        desk = stack(tmp_path, "desk", handing_off("ping", "pong") + handing_off("pong", "ping") + tool("lookup")
                     + assistant("keeper"))
        assert run(desk, emulator, "apply", "--yes").exit_code == 0
        (desk / "manifests" / "all.yaml").write_text(assistant("keeper"))
        planned = run(desk, emulator, "plan", "--prune")
        heads = [line.split(" (")[0] for line in planned.stdout.splitlines() if line.startswith("  ~ ")
                 or line.startswith("  - ")]
        assert heads == ["  ~ Assistant/ping will be updated", "  ~ Assistant/pong will be updated",
                         "  - Assistant/ping will be deleted", "  - Assistant/pong will be deleted",
                         "  - Tool/lookup will be deleted"]
        applied = run(desk, emulator, "apply", "--yes", "--prune", "--force")
        assert applied.exit_code == 0, applied.output
        assert names(sdk) == (["keeper"], [])
        assert run(desk, emulator, "plan", "--prune", "--detailed-exitcode").exit_code == 0

    def test_a_tool_a_live_assistant_still_uses_is_kept(self, tmp_path: Path, emulator: Any, sdk: Any) -> None:
        desk = stack(tmp_path, "desk", tool("lookup") + assistant("keeper"))
        assert run(desk, emulator, "apply", "--yes").exit_code == 0
        lookup = next(t.id for t in sdk.ai.tools.list())
        sdk.ai.assistants.create(name="hand-made", instructions="x", tool_ids=[lookup])
        (desk / "manifests" / "all.yaml").write_text(assistant("keeper"))
        planned = run(desk, emulator, "plan", "--prune", "--detailed-exitcode")
        assert (planned.exit_code, planned.stdout) == (0, (
            "No changes. 1 object matches the manifests.\n"
            "  ! Tool/lookup is still used by Assistant/hand-made: kept although no manifest states it\n"))
        assert run(desk, emulator, "apply", "--yes", "--prune").exit_code == 0
        assert names(sdk) == (["hand-made", "keeper"], ["lookup"])


class TestOptimisticCheck:
    """A change made between plan and write fails that change instead of being overwritten."""

    def _plan(self, emulator: Any, directory: Path) -> tuple[Any, Any]:
        client = TelnyxClient(emulator.base_url, API_KEY)
        resources = load_resources([directory / "manifests"], {})
        return client, build_plan(resources, fetch_live(client, resources, prune=True), prune=True)

    def test_an_update_refuses_an_object_edited_since_the_plan(self, tmp_path: Path, emulator: Any,
                                                              sdk: Any) -> None:
        desk = stack(tmp_path, "desk", assistant("front") + assistant("back"))
        assert run(desk, emulator, "apply", "--yes").exit_code == 0
        (desk / "manifests" / "all.yaml").write_text(assistant("front", "New words.") + assistant("back", "Other."))
        client, plan = self._plan(emulator, desk)
        front = assistant_ids(sdk)["front"]
        sdk.ai.assistants.update(front, instructions="Edited in the portal meanwhile.")
        with client:
            result = apply_plan(client, plan)
        outcomes = {o.change.address: (o.status.value, o.message) for o in result.outcomes}
        assert outcomes == {
            "Assistant/front": ("failed", f"Assistant/front ({front}) changed in the account since the plan was "
                                          "made (instructions); nothing was written to it; plan again"),
            "Assistant/back": ("applied", ""),
        }
        assert sdk.ai.assistants.retrieve(front).instructions == "Edited in the portal meanwhile."

    def test_a_field_the_change_does_not_touch_may_move(self, tmp_path: Path, emulator: Any, sdk: Any) -> None:
        desk = stack(tmp_path, "desk", assistant("front"))
        assert run(desk, emulator, "apply", "--yes").exit_code == 0
        (desk / "manifests" / "all.yaml").write_text(assistant("front", "New words."))
        client, plan = self._plan(emulator, desk)
        sdk.ai.assistants.update(assistant_ids(sdk)["front"], greeting="Hello from the portal")
        with client:
            assert apply_plan(client, plan).ok


class TestOwnershipTag:
    def test_adopting_many_assistants_is_not_a_mass_rewrite(self, tmp_path: Path, emulator: Any, sdk: Any) -> None:
        """The tag goes through the tag endpoints (no version), so it is not counted as a rewrite."""
        for i in range(12):
            sdk.ai.assistants.create(name=f"bot-{i}", instructions="Help callers.")
        desk = stack(tmp_path, "desk", "".join(assistant(f"bot-{i}") for i in range(12)))
        applied = run(desk, emulator, "apply", "--yes")
        assert applied.exit_code == 0, applied.output
        assert "Plan: 0 to create, 0 to update, 0 to delete, 12 to adopt." in applied.stdout
        assert {tuple(a.tags or []) for a in sdk.ai.assistants.list().data} == {("reconciler-stack=desk",)}

    def test_an_update_of_tags_without_a_stack_keeps_another_stacks_tag(self, tmp_path: Path, emulator: Any,
                                                                        sdk: Any) -> None:
        owned = stack(tmp_path / "repo-a", "sales", assistant("bot"))
        assert run(owned, emulator, "apply", "--yes").exit_code == 0
        loose = tmp_path / "loose"
        loose.mkdir()
        (loose / "bot.yaml").write_text(assistant("bot", "Other words.").replace(
            "spec:\n", "spec:\n  tags: [vip]\n"))
        assert run_cli(["apply", str(loose), "--yes"], emulator.base_url).exit_code == 0
        [bot] = sdk.ai.assistants.list().data
        assert (sorted(bot.tags or []), bot.instructions) == (["reconciler-stack=sales", "vip"], "Other words.")


class TestLedgerAccount:
    def test_a_ledger_of_another_account_is_refused(self, tmp_path: Path, emulator: Any) -> None:
        desk = stack(tmp_path, "desk", assistant("front"))
        assert run(desk, emulator, "apply", "--yes").exit_code == 0
        with EmulatorServer() as other:
            refused = run_cli(["plan", str(desk / "manifests"), "--config", str(desk / "reconciler.yaml"),
                               "--prune"], other.base_url)
        assert refused.exit_code == 1
        ledger = desk / ".reconciler" / "ownership-desk.json"
        assert refused.stderr.startswith(f"Error: {ledger}: this ledger describes account 127.0.0.1:")
        assert "and none of its objects exists in the account connected now (127.0.0.1:" in refused.stderr

    def test_a_rotated_key_keeps_the_ledger(self, tmp_path: Path) -> None:
        with EmulatorServer() as server:  # accepts any key, like one account with two keys
            desk = stack(tmp_path, "desk", assistant("front") + assistant("back"))
            config = ["--config", str(desk / "reconciler.yaml")]
            first = run_cli(["apply", str(desk / "manifests"), *config, "--yes"], server.base_url)
            assert first.exit_code == 0
            (desk / "manifests" / "all.yaml").write_text(assistant("front"))
            rotated = run_cli(["apply", str(desk / "manifests"), *config, "--yes", "--prune", "--force"],
                              server.base_url, env={"TELNYX_API_KEY": "rotated-key-not-secret"})
            assert rotated.exit_code == 0, rotated.output
            assert " delete Assistant/back" in rotated.stdout
            saved = json.loads((desk / ".reconciler" / "ownership-desk.json").read_text())
            assert saved["account"].endswith(
                Connection.resolve(server.base_url, "rotated-key-not-secret", False, 1).account.split(" ")[1])
