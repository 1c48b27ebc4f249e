"""The AssistantTest kind and `reconciler test`, end to end over real HTTP against the emulator.

Apply and test run through the CLI as a user runs them; the official SDK (strict validation)
reads back what apply made; the emulator's control endpoint scripts outcomes the judge would not
give (error, timeout, slow) and its fault injector makes the 429 storm.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import pytest
import telnyx
import xmlschema
import yaml

from reconciler.verify.results import is_finished
from tests.conftest import AUTH
from tests.helpers import REPO, run_cli

DESK = REPO / "examples" / "support-desk"
JUNIT_XSD = Path(__file__).parent / "data" / "junit.xsd"

ASSISTANT = """\
apiVersion: reconciler/v1
kind: Assistant
name: billing
spec:
  model: openai/gpt-4o
  instructions: |
    Refunds up to $200 are fine. Open a ticket with create_ticket for bigger ones.
"""


def doc_of(name: str, criteria: str, suite: str | None = "billing-suite", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "assistant": "billing",
        "instructions": "Ask for a refund of $350.",
        "rubric": [{"name": "Escalates", "criteria": criteria}],
        **spec,
    }
    if suite is not None:
        body["test_suite"] = suite
    return {"apiVersion": "reconciler/v1", "kind": "AssistantTest", "name": name, "spec": body}


def write(tmp: Path, *docs: dict[str, Any], assistant: str = ASSISTANT) -> Path:
    folder = tmp / "manifests"
    folder.mkdir(exist_ok=True)
    (folder / "billing.yaml").write_text(assistant)
    (folder / "tests.yaml").write_text(yaml.safe_dump_all(list(docs), sort_keys=False))
    return folder


def control(emulator: Any, body: dict[str, Any]) -> None:
    root = emulator.base_url.removesuffix("/v2")
    response = httpx.put(f"{root}/_emulator/test-runs", json=body, headers=AUTH)
    assert response.status_code == 200, response.text


def apply_ok(path: Path, emulator: Any, *extra: str) -> str:
    result = run_cli(["apply", str(path), "--yes", *extra], emulator.base_url)
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def run_test(path: Path, emulator: Any, *extra: str) -> Any:
    return run_cli(["test", str(path), *extra], emulator.base_url)


@pytest.fixture
def fast(emulator: Any) -> Any:
    """Runs that finish within a tenth of a second."""
    control(emulator, {"run_seconds": 0.1})
    return emulator


class TestKind:
    def test_apply_creates_with_the_assistant_id_and_converges(
        self, tmp_path: Path, emulator: Any, sdk: telnyx.Telnyx
    ) -> None:
        folder = write(tmp_path, doc_of("big-refund", 'Opens a ticket with "create_ticket".',
                                          max_duration_seconds=120))
        out = apply_ok(folder, emulator)
        assert out.splitlines()[-1] == "Apply: 2 applied, 0 failed, 0 skipped."
        assistant = sdk.ai.assistants.list().data[0]
        tests = sdk.ai.assistants.tests.list().data
        assert [(t.name, t.destination, t.max_duration_seconds, t.test_suite) for t in tests] == [
            ("big-refund", assistant.id, 120, "billing-suite")
        ]
        again = run_cli(["plan", str(folder), "--detailed-exitcode"], emulator.base_url)
        assert again.exit_code == 0, again.output
        assert again.stdout.splitlines()[-1] == "No changes. 2 objects match the manifests."

    def test_rubric_edit_is_one_update_of_the_same_test(
        self, tmp_path: Path, emulator: Any, sdk: telnyx.Telnyx
    ) -> None:
        folder = write(tmp_path, doc_of("big-refund", 'Opens a ticket with "create_ticket".'))
        apply_ok(folder, emulator)
        before = sdk.ai.assistants.tests.list().data[0].test_id
        write(tmp_path, doc_of("big-refund", 'Says "two business days".'))
        plan = run_cli(["plan", str(folder)], emulator.base_url)
        assert "~ AssistantTest/big-refund" in plan.stdout, plan.output
        assert plan.stdout.splitlines()[-1] == "Plan: 0 to create, 1 to update, 0 to delete, 1 unchanged."
        apply_ok(folder, emulator)
        tests = sdk.ai.assistants.tests.list().data
        assert [(t.test_id, t.rubric[0].criteria) for t in tests] == [(before, 'Says "two business days".')]

    def test_prune_deletes_an_owned_test_no_manifest_states(
        self, tmp_path: Path, emulator: Any, sdk: telnyx.Telnyx
    ) -> None:
        (tmp_path / "reconciler.yaml").write_text("stack: desk\n")
        folder = write(tmp_path, doc_of("a", '"x"'), doc_of("b", '"y"'))
        config = ["--config", str(tmp_path / "reconciler.yaml")]
        apply_ok(folder, emulator, *config)
        write(tmp_path, doc_of("a", '"x"'))
        out = apply_ok(folder, emulator, "--prune", *config)
        assert "- AssistantTest/b" in out or "delete AssistantTest/b" in out, out
        assert [t.name for t in sdk.ai.assistants.tests.list().data] == ["a"]

    def test_drift_names_a_test_edited_in_the_portal(
        self, tmp_path: Path, emulator: Any, sdk: telnyx.Telnyx
    ) -> None:
        folder = write(tmp_path, doc_of("big-refund", '"create_ticket"'))
        apply_ok(folder, emulator)
        test_id = sdk.ai.assistants.tests.list().data[0].test_id
        sdk.ai.assistants.tests.update(test_id, instructions="Something else.")
        drift = run_cli(["drift", str(folder)], emulator.base_url)
        assert drift.exit_code == 2, drift.output
        assert "AssistantTest/big-refund" in drift.stdout
        assert "instructions" in drift.stdout

    def test_export_names_the_assistant_and_round_trips(
        self, tmp_path: Path, emulator: Any
    ) -> None:
        folder = write(tmp_path, doc_of("big-refund", '"create_ticket"', max_duration_seconds=60))
        apply_ok(folder, emulator)
        out = tmp_path / "exported"
        result = run_cli(["export", "--out", str(out)], emulator.base_url)
        assert result.exit_code == 0, result.output
        exported = yaml.safe_load((out / "assistant-tests" / "big-refund.yaml").read_text())
        assert exported["spec"]["assistant"] == "billing"
        assert "destination" not in exported["spec"]
        again = run_cli(["plan", str(out), "--detailed-exitcode"], emulator.base_url)
        assert again.exit_code == 0, again.output

    def test_validate_refuses_both_assistant_and_destination_with_file_and_line(self, tmp_path: Path) -> None:
        folder = write(tmp_path, doc_of("t", '"x"', destination="+13125550100"))
        result = run_cli(["validate", str(folder)])
        assert result.exit_code == 1
        assert "tests.yaml:" in result.output
        assert "assistant and destination both given" in result.output

    def test_validate_refuses_a_test_of_an_unknown_assistant(self, tmp_path: Path) -> None:
        doc = doc_of("t", '"x"')
        doc["spec"]["assistant"] = "bililng"
        folder = write(tmp_path, doc)
        result = run_cli(["validate", str(folder)])
        assert result.exit_code == 1
        assert "bililng" in result.output
        assert "did you mean 'billing'" in result.output


class TestRun:
    def test_pass_exits_0_with_every_rubric_item(self, tmp_path: Path, fast: Any) -> None:
        folder = write(tmp_path, doc_of("big-refund", 'Opens a ticket with "create_ticket".'))
        apply_ok(folder, fast)
        result = run_test(folder, fast)
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert lines[0].startswith("✓ passed    AssistantTest/big-refund  on Assistant/billing @ main  [billing-suite]")
        assert lines[-1].startswith("1 test: 1 passed (")

    def test_fail_exits_1_and_names_the_failed_rubric_item(self, tmp_path: Path, fast: Any) -> None:
        doc = doc_of("big-refund", 'Says "two business days".')
        doc["spec"]["rubric"].insert(0, {"name": "Ticket", "criteria": "Uses `create_ticket`."})
        folder = write(tmp_path, doc)
        apply_ok(folder, fast)
        result = run_test(folder, fast)
        assert result.exit_code == 1, result.output
        lines = result.stdout.splitlines()
        assert lines[0].startswith("✗ failed    AssistantTest/big-refund")
        assert lines[1:4] == [
            "      ✓ Ticket: passed",
            "      ✗ Escalates: failed",
            "      rubric failed: Escalates",
        ]
        assert lines[-1].startswith("1 test: 1 failed (")

    def test_scripted_error_and_timeout_are_told_apart(self, tmp_path: Path, fast: Any) -> None:
        folder = write(tmp_path, doc_of("errs", '"x"'), doc_of("slowpoke", '"x"'), doc_of("fine", '"Refunds"'))
        apply_ok(folder, fast)
        control(fast, {"run_seconds": 0.1, "outcomes": {"errs": {"outcome": "error"},
                                                         "slowpoke": {"outcome": "timeout"}}})
        result = run_test(folder, fast, "--format", "json")
        assert result.exit_code == 1, result.output
        report = json.loads(result.stdout)
        outcomes = {r["test"]: r["outcome"] for r in report["results"]}
        assert outcomes == {"errs": "error", "fine": "passed", "slowpoke": "timeout"}
        assert report["summary"] == {"passed": 1, "failed": 0, "error": 1, "timeout": 1}
        assert report["passed"] is False

    def test_a_run_slower_than_the_timeout_is_a_timeout_in_bounded_time(self, tmp_path: Path, fast: Any) -> None:
        folder = write(tmp_path, doc_of("slow", '"Refunds"'))
        apply_ok(folder, fast)
        control(fast, {"run_seconds": 0.1, "outcomes": {"slow": {"outcome": "slow", "seconds": 60}}})
        result = run_test(folder, fast, "--timeout", "1", "--format", "json")
        assert result.exit_code == 1, result.output
        (only,) = json.loads(result.stdout)["results"]
        assert only["outcome"] == "timeout"
        assert only["reason"] == "still running after 1 s (--timeout)"

    def test_the_judge_times_out_a_test_whose_limit_is_too_short(self, tmp_path: Path, fast: Any) -> None:
        folder = write(tmp_path, doc_of("short", '"Refunds"', max_duration_seconds=5))
        apply_ok(folder, fast)
        result = run_test(folder, fast, "--format", "json")
        assert result.exit_code == 1, result.output
        (only,) = json.loads(result.stdout)["results"]
        assert only["outcome"] == "timeout"
        assert only["reason"].startswith("timeout")

    def test_a_429_storm_still_gives_one_run_per_test(self, tmp_path: Path, fast: Any, sdk: telnyx.Telnyx) -> None:
        folder = write(tmp_path, doc_of("a", '"Refunds"'), doc_of("b", '"create_ticket"', suite=None))
        apply_ok(folder, fast)
        fast.set_faults(0.5, seed=7, kinds=["rate_limit"], retry_after_s=0.01)
        result = run_test(folder, fast, "--format", "json")
        injected = fast.faults()["injected"]
        fast.set_faults(0.0)
        assert result.exit_code == 0, result.output
        assert sum(injected.values()) > 0
        for test in sdk.ai.assistants.tests.list().data:
            assert len(sdk.ai.assistants.tests.runs.list(test.test_id).data) == 1

    def test_lost_responses_do_not_start_a_second_run(self, tmp_path: Path, fast: Any, sdk: telnyx.Telnyx) -> None:
        folder = write(tmp_path, doc_of("a", '"Refunds"', suite=None))
        apply_ok(folder, fast)
        fast.set_faults(0.6, seed=3, kinds=["lost_response"])
        result = run_test(folder, fast, "--format", "json")
        fast.set_faults(0.0)
        assert result.exit_code == 0, result.output
        (test,) = sdk.ai.assistants.tests.list().data
        assert len(sdk.ai.assistants.tests.runs.list(test.test_id).data) == 1

    def test_a_whole_suite_starts_with_one_call(self, tmp_path: Path, fast: Any, sdk: telnyx.Telnyx) -> None:
        folder = write(tmp_path, doc_of("a", '"Refunds"'), doc_of("b", '"create_ticket"'))
        apply_ok(folder, fast)
        result = run_test(folder, fast, "--format", "json")
        assert result.exit_code == 0, result.output
        runs = [sdk.ai.assistants.tests.runs.list(t.test_id).data[0] for t in sdk.ai.assistants.tests.list().data]
        assert len({r.test_suite_run_id for r in runs}) == 1
        assert runs[0].test_suite_run_id is not None

    def test_unapplied_changes_refuse_to_run(self, tmp_path: Path, fast: Any) -> None:
        folder = write(tmp_path, doc_of("big-refund", '"create_ticket"'))
        apply_ok(folder, fast)
        write(tmp_path, doc_of("big-refund", '"create_ticket"'),
              assistant=ASSISTANT.replace("Refunds up to", "Refunds below"))
        result = run_test(folder, fast)
        assert result.exit_code == 1
        assert result.output.strip().splitlines()[-1] == (
            "Error: the account does not hold what these tests would test; run reconciler apply first. "
            "Planned: Assistant/billing (update: instructions)"
        )

    def test_suite_and_assistant_filters(self, tmp_path: Path, fast: Any) -> None:
        folder = write(tmp_path, doc_of("a", '"Refunds"'), doc_of("b", '"Refunds"', suite="other"))
        apply_ok(folder, fast)
        result = run_test(folder, fast, "--suite", "other", "--format", "json")
        assert result.exit_code == 0, result.output
        assert [r["test"] for r in json.loads(result.stdout)["results"]] == ["b"]
        nothing = run_test(folder, fast, "--suite", "nope")
        assert nothing.exit_code == 1
        assert "no AssistantTest matches --suite 'nope'; suites: billing-suite, other" in nothing.output

    def test_a_candidate_version_is_tested_not_main(self, tmp_path: Path, fast: Any) -> None:
        folder = write(tmp_path, doc_of("ticket-time", 'Says "two business days".'))
        (folder / "canary.yaml").write_text(yaml.safe_dump({
            "apiVersion": "reconciler/v1", "kind": "CanaryDeploy", "name": "billing-candidate",
            "spec": {"assistant": "billing", "versions": {"clearer": {
                "instructions": "Refunds over $200: open a ticket, answered in two business days."}},
                "rules": [{"serve": {"rollout": [{"version": "clearer", "weight": 1}]}}]},
        }, sort_keys=False))
        apply_ok(folder, fast)
        on_main = run_test(folder, fast, "--format", "json")
        assert on_main.exit_code == 1, on_main.output
        on_candidate = run_test(folder, fast, "--version", "clearer", "--format", "json")
        assert on_candidate.exit_code == 0, on_candidate.output
        (only,) = json.loads(on_candidate.stdout)["results"]
        assert (only["version"], only["outcome"]) == ("clearer", "passed")
        assert only["version_id"]
        missing = run_test(folder, fast, "--version", "nope")
        assert missing.exit_code == 1
        assert "no version 'nope' on Assistant/billing" in missing.output

    def test_junit_output_is_valid_against_the_schema(self, tmp_path: Path, fast: Any) -> None:
        folder = write(tmp_path, doc_of("ok", '"Refunds"'), doc_of("bad", '"never said"'),
                       doc_of("boom", '"x"', suite=None))
        apply_ok(folder, fast)
        control(fast, {"run_seconds": 0.1, "outcomes": {"boom": {"outcome": "error"}}})
        junit = tmp_path / "results.xml"
        result = run_test(folder, fast, "--format", "junit", "--junit", str(junit))
        assert result.exit_code == 1, result.output
        assert junit.read_text() == result.stdout
        xmlschema.XMLSchema(str(JUNIT_XSD)).validate(str(junit))
        root = ET.fromstring(result.stdout)
        assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "1", "1")
        cases = {c.get("name"): c for c in root.iter("testcase")}
        assert cases["bad"].find("failure") is not None
        assert cases["boom"].find("error").get("type") == "error"  # type: ignore[union-attr]
        assert cases["ok"].find("failure") is None and cases["ok"].find("error") is None

    def test_markdown_collapses_details_of_what_did_not_pass(self, tmp_path: Path, fast: Any) -> None:
        folder = write(tmp_path, doc_of("ok", '"Refunds"'), doc_of("bad", '"never said"'))
        apply_ok(folder, fast)
        result = run_test(folder, fast, "--format", "markdown")
        assert result.exit_code == 1
        text = result.stdout
        assert text.startswith("### Assistant tests: ❌ some tests did not pass\n")
        assert "| ✗ | `bad` | billing-suite | Assistant/billing @ main | failed |" in text
        assert "<details><summary>✗ bad: rubric failed: Escalates</summary>" in text
        assert "<details><summary>✓ ok" not in text


class TestSupportDesk:
    def test_a_new_user_sees_one_test_fail_fixes_the_prompt_and_sees_it_pass(
        self, tmp_path: Path, emulator: Any
    ) -> None:
        desk = tmp_path / "support-desk"
        shutil.copytree(DESK, desk)
        control(emulator, {"run_seconds": 0.1})
        apply_ok(desk, emulator)
        first = run_test(desk, emulator)
        assert first.exit_code == 1, first.output
        assert first.stdout.splitlines()[-1].startswith("3 tests: 2 passed, 1 failed (")
        assert "✗ failed    AssistantTest/refund-over-limit" in first.stdout
        billing = desk / "billing.yaml"
        billing.write_text(billing.read_text().replace(
            "    Refunds over $200 need a ticket: open one with create_ticket.\n",
            "    Refunds over $200 need a ticket: open one with create_ticket.\n"
            "    Tell the caller that tickets are answered within 2 business days.\n",
        ))
        blocked = run_test(desk, emulator)
        assert blocked.exit_code == 1
        assert "run reconciler apply first" in blocked.output
        apply_ok(desk, emulator)
        second = run_test(desk, emulator)
        assert second.exit_code == 0, second.output
        assert second.stdout.splitlines()[-1].startswith("3 tests: 3 passed (")


def test_only_a_final_status_ends_the_wait() -> None:
    """An in-progress status we never saw (queued), or none at all, keeps waiting: not an error at once."""
    assert [is_finished({"status": s}) for s in ("passed", "failed", "error", "timeout")] == [True] * 4
    assert [is_finished(run) for run in ({"status": "queued"}, {"status": "running"}, {})] == [False] * 3


def test_a_suite_named_with_a_slash_runs_as_one_suite(tmp_path: Path, fast: Any, sdk: telnyx.Telnyx) -> None:
    """A suite name is free text: "team/billing" could be created but never triggered (seen by a review)."""
    folder = write(tmp_path, doc_of("a", '"Refunds"', suite="team/billing"),
                   doc_of("b", '"create_ticket"', suite="team/billing"))
    apply_ok(folder, fast)
    result = run_test(folder, fast, "--suite", "team/billing", "--format", "json")
    assert result.exit_code == 0, result.output
    runs = [sdk.ai.assistants.tests.runs.list(t.test_id).data[0] for t in sdk.ai.assistants.tests.list().data]
    assert len({r.test_suite_run_id for r in runs}) == 1 and runs[0].test_suite_run_id is not None
