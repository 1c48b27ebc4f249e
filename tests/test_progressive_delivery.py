"""Progressive delivery (issue 16): gates, promote exactly the tested candidate, roll back.

Everything runs through the CLI against the emulator over real HTTP; the official SDK (strict
validation) reads back version ids, the canary config and the versions list, so "the version
callers get after promotion is the one the tests ran against" is checked by id, not by content.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import telnyx
import yaml

from reconciler.engine.gates import capped
from tests.conftest import AUTH
from tests.helpers import run_cli

OLD = "Refunds up to $200. Open a ticket with create_ticket for bigger ones.\n"
NEW = "Refunds up to $200. Bigger ones get a ticket, answered within two business days.\n"


def assistant(instructions: str = OLD) -> dict[str, Any]:
    return {"apiVersion": "reconciler/v1", "kind": "Assistant", "name": "billing",
            "spec": {"model": "openai/gpt-4o", "instructions": instructions, "tags": ["billing"]}}


def gate_test() -> dict[str, Any]:
    return {"apiVersion": "reconciler/v1", "kind": "AssistantTest", "name": "reply-time",
            "spec": {"assistant": "billing", "test_suite": "release", "instructions": "Ask for $350 back.",
                     "rubric": [{"name": "Promises a reply time", "criteria": 'Says "two business days".'}]}}


def canary(candidate: str = NEW, *, weight: int | None = 10, promote: bool = False,
           gate: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"assistant": "billing", "versions": {"clearer": {"instructions": candidate}}}
    if promote:
        spec["promote"] = "clearer"
    elif weight is not None:
        spec["rules"] = [{"serve": {"rollout": [{"version": "clearer", "weight": weight}]}}]
    if gate is not None:
        spec["gate"] = gate
    return {"apiVersion": "reconciler/v1", "kind": "CanaryDeploy", "name": "billing-canary", "spec": spec}


def write(folder: Path, *docs: dict[str, Any]) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "all.yaml").write_text(yaml.safe_dump_all(list(docs), sort_keys=False))
    return folder


def fast_runs(emulator: Any) -> None:
    root = emulator.base_url.removesuffix("/v2")
    assert httpx.put(f"{root}/_emulator/test-runs", json={"run_seconds": 0.05}, headers=AUTH).status_code == 200


def apply(folder: Path, emulator: Any, *extra: str) -> Any:
    return run_cli(["apply", str(folder), "--yes", *extra], emulator.base_url)


def billing(sdk: telnyx.Telnyx) -> Any:
    (found,) = [a for a in sdk.ai.assistants.list().data if a.name == "billing"]
    return found


def versions(sdk: telnyx.Telnyx, assistant_id: str) -> dict[str, Any]:
    return {v.version_id: v for v in sdk.ai.assistants.versions.list(assistant_id).data}


def candidate_id(sdk: telnyx.Telnyx, assistant_id: str) -> str:
    main = billing(sdk).version_id
    named = [v for v in versions(sdk, assistant_id).values() if v.version_name == "clearer" and v.version_id != main]
    assert len(named) == 1
    return str(named[0].version_id)


def has_canary(sdk: telnyx.Telnyx, assistant_id: str) -> bool:
    try:
        sdk.ai.assistants.canary_deploys.retrieve(assistant_id)
    except telnyx.NotFoundError:
        return False
    return True


def plan_is_empty(folder: Path, emulator: Any) -> None:
    again = run_cli(["plan", str(folder), "--detailed-exitcode"], emulator.base_url)
    assert again.exit_code == 0, again.output


GATE = {"suite": "release", "min_pass_rate": 1.0, "repeats": 2}


class TestGates:
    def test_a_failing_gate_leaves_traffic_and_main_untouched(
        self, tmp_path: Path, emulator: Any, sdk: telnyx.Telnyx
    ) -> None:
        fast_runs(emulator)
        folder = write(tmp_path / "m", assistant(), gate_test(), canary(OLD + "Be kind.\n", gate=GATE))
        result = apply(folder, emulator)
        assert result.exit_code == 1, result.output
        assert "gate suite 'release' passed 0 of 2 runs (0%), below the required 100%" in result.output
        assert "failed: AssistantTest/reply-time on clearer" in result.output
        assert "Promises a reply time: failed" in result.output
        assert "skipped  create CanaryDeploy/billing-canary" in result.output
        live = billing(sdk)
        assert not has_canary(sdk, live.id)
        assert live.instructions == OLD

    def test_a_passing_gate_widens_traffic_and_converges(
        self, tmp_path: Path, emulator: Any, sdk: telnyx.Telnyx
    ) -> None:
        fast_runs(emulator)
        folder = write(tmp_path / "m", assistant(), gate_test(), canary(gate=GATE))
        plan = run_cli(["plan", str(folder)], emulator.base_url)
        assert "gate: suite 'release' (1 tests, 2 run(s) each) must pass 100% on 'clearer' first" in plan.stdout
        result = apply(folder, emulator)
        assert result.exit_code == 0, result.output
        assert "applied  update CanaryDeploy/billing-canary (gate)" in result.output
        live = billing(sdk)
        rules = sdk.ai.assistants.canary_deploys.retrieve(live.id).rules
        assert rules[0].serve.rollout[0].version_id == candidate_id(sdk, live.id)
        runs = sdk.ai.assistants.tests.runs.list(sdk.ai.assistants.tests.list().data[0].test_id).data
        assert len(runs) == 2
        plan_is_empty(folder, emulator)

    def test_plan_test_runs_the_gate_on_the_unpromoted_candidate(self, tmp_path: Path, emulator: Any) -> None:
        fast_runs(emulator)
        dark = canary()
        dark["spec"]["rules"] = [{"serve": {"version": "main"}}]  # the candidate exists, no caller reaches it
        folder = write(tmp_path / "m", assistant(), gate_test(), dark)
        assert apply(folder, emulator).exit_code == 0
        write(folder, assistant(), gate_test(), canary(weight=5, gate=GATE))
        good = run_cli(["plan", str(folder), "--test"], emulator.base_url)
        assert good.exit_code == 0, good.output
        assert good.stdout.splitlines()[-1] == (
            "Gate of CanaryDeploy/billing-canary passed: 2 of 2 runs of suite 'release'")
        failing = {**gate_test(), "spec": {**gate_test()["spec"],
                                           "rubric": [{"name": "r", "criteria": 'Says "never said".'}]}}
        write(folder, assistant(), failing, canary(weight=5, gate=GATE))
        assert apply(write(tmp_path / "t", assistant(), failing), emulator).exit_code == 0  # only the test
        bad = run_cli(["plan", str(folder), "--test"], emulator.base_url)
        assert bad.exit_code == 1, bad.output
        assert "Gate of CanaryDeploy/billing-canary FAILED" in bad.stdout


class TestPromote:
    def _tested_candidate(self, tmp_path: Path, emulator: Any, sdk: telnyx.Telnyx) -> tuple[Path, str, str, int]:
        fast_runs(emulator)
        folder = write(tmp_path / "m", assistant(), gate_test(), canary(gate=GATE))
        assert apply(folder, emulator).exit_code == 0
        live = billing(sdk)
        return folder, live.id, candidate_id(sdk, live.id), len(versions(sdk, live.id))

    def test_promote_makes_the_tested_candidate_main_with_no_new_version(
        self, tmp_path: Path, emulator: Any, sdk: telnyx.Telnyx
    ) -> None:
        folder, assistant_id, tested, kept = self._tested_candidate(tmp_path, emulator, sdk)
        old_main = billing(sdk).version_id
        write(folder, assistant(NEW), gate_test(), canary(promote=True, gate=GATE))
        planned = run_cli(["plan", str(folder), "--format", "json"], emulator.base_url)
        assert planned.exit_code == 0, planned.output
        changes = [(c["action"], c["address"], c["step"]) for c in json.loads(planned.stdout)["changes"]]
        assert changes == [("update", "CanaryDeploy/billing-canary", "gate"),
                           ("update", "AssistantVersion/billing@clearer", "promote")]
        text = run_cli(["plan", str(folder)], emulator.base_url).stdout
        assert f"promote candidate 'clearer' ({tested}) of Assistant/billing to main: no new version" in text
        writes = emulator.stats()["writes"]
        result = apply(folder, emulator)
        assert result.exit_code == 0, result.output
        live = billing(sdk)
        assert live.version_id == tested != old_main
        assert len(versions(sdk, assistant_id)) == kept  # no version written
        assert not has_canary(sdk, assistant_id)
        # the writes: two test runs (the gate) and the promote
        assert emulator.stats()["writes"] - writes == 3
        plan_is_empty(folder, emulator)

    def test_a_stale_candidate_is_never_promoted(self, tmp_path: Path, emulator: Any, sdk: telnyx.Telnyx) -> None:
        folder, _, tested, _ = self._tested_candidate(tmp_path, emulator, sdk)
        edited = NEW + "Say thank you.\n"
        write(folder, assistant(edited), gate_test(), canary(edited, promote=True))
        refused = run_cli(["plan", str(folder)], emulator.base_url)
        assert refused.exit_code == 1
        assert refused.stderr == (
            f"Error: CanaryDeploy/billing-canary: cannot promote 'clearer': the live candidate ({tested}) differs "
            "from the manifests (instructions), so it is not the version that was tested; apply the change without "
            "promote, test it, then promote\n")
        assert billing(sdk).version_id != tested

    def test_promoting_without_stating_the_content_as_main_is_refused(
        self, tmp_path: Path, emulator: Any, sdk: telnyx.Telnyx
    ) -> None:
        folder, _, _, _ = self._tested_candidate(tmp_path, emulator, sdk)
        write(folder, assistant(OLD), gate_test(), canary(promote=True))
        refused = run_cli(["plan", str(folder)], emulator.base_url)
        assert refused.exit_code == 1
        assert refused.stderr == (
            "Error: CanaryDeploy/billing-canary: cannot promote 'clearer': Assistant/billing must state the "
            "candidate's content as main before it is promoted (instructions differ); copy the override into the "
            "Assistant document\n")

    def test_promote_names_a_candidate_of_the_document(self, tmp_path: Path) -> None:
        doc = canary(promote=True)
        doc["spec"]["promote"] = "clearr"
        folder = write(tmp_path / "m", assistant(), doc)
        result = run_cli(["validate", str(folder)])
        assert result.exit_code == 1
        assert "spec.promote: no candidate named 'clearr' (did you mean 'clearer'?) to promote" in result.output

    def test_promote_and_rules_together_are_refused(self, tmp_path: Path) -> None:
        doc = canary()
        doc["spec"]["promote"] = "clearer"
        result = run_cli(["validate", str(write(tmp_path / "m", assistant(), doc))])
        assert result.exit_code == 1
        assert "promote and rules both given" in result.output


class TestRollback:
    def test_rollback_restores_the_previous_main_exactly_and_drift_explains(
        self, tmp_path: Path, emulator: Any, sdk: telnyx.Telnyx
    ) -> None:
        folder = write(tmp_path / "m", assistant())
        assert apply(folder, emulator).exit_code == 0
        first = billing(sdk).version_id
        write(folder, assistant(NEW))
        assert apply(folder, emulator).exit_code == 0
        second = billing(sdk)
        kept = len(versions(sdk, second.id))
        raw = {v["version_id"]: v for v in httpx.get(f"{emulator.base_url}/ai/assistants/{second.id}/versions",
                                                      headers=AUTH).json()["data"]}

        def label(version_id: str) -> str:
            return f"{version_id} ({raw[version_id]['version_name']}, created {raw[version_id]['version_created_at']})"

        refused = run_cli(["rollback", "Assistant/billing"], emulator.base_url)
        assert refused.exit_code == 1
        assert "refusing to roll back: stdin is not a terminal" in refused.output
        result = run_cli(["rollback", "Assistant/billing", "--previous", "--yes"], emulator.base_url)
        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines()[:4] == [
            f"Assistant/billing ({second.id}) will serve an earlier version:",
            f"  main now:   {label(second.version_id)}",
            f"  main after: {label(first)}",
            "  No new version is written.",
        ]
        assert "    ~ instructions" in result.stdout
        after = billing(sdk)
        assert after.version_id == first
        assert after.instructions == OLD
        assert len(versions(sdk, second.id)) == kept
        drift = run_cli(["drift", str(folder)], emulator.base_url)
        assert drift.exit_code == 2
        assert "Assistant/billing" in drift.stdout and "instructions" in drift.stdout
        forward = apply(folder, emulator)
        assert forward.exit_code == 0
        plan_is_empty(folder, emulator)

    def test_rollback_to_a_named_or_unknown_version(self, tmp_path: Path, emulator: Any, sdk: telnyx.Telnyx) -> None:
        folder = write(tmp_path / "m", assistant())
        assert apply(folder, emulator).exit_code == 0
        first = billing(sdk).version_id
        write(folder, assistant(NEW))
        assert apply(folder, emulator).exit_code == 0
        unknown = run_cli(["rollback", "Assistant/billing", "--to", "nope", "--yes"], emulator.base_url)
        assert unknown.exit_code == 1
        assert "Assistant/billing keeps no version 'nope'; kept:" in unknown.output
        exact = run_cli(["rollback", "Assistant/billing", "--to", first, "--yes"], emulator.base_url)
        assert exact.exit_code == 0, exact.output
        assert billing(sdk).version_id == first
        wrong = run_cli(["rollback", "Tool/x", "--yes"], emulator.base_url)
        assert wrong.exit_code == 1
        assert "'Tool/x' is not Assistant/NAME" in wrong.output


def test_a_saved_plan_carries_the_gate_and_the_promote(tmp_path: Path, emulator: Any, sdk: telnyx.Telnyx) -> None:
    fast_runs(emulator)
    folder = write(tmp_path / "m", assistant(), gate_test(), canary(gate=GATE))
    saved = tmp_path / "plan.json"
    assert run_cli(["plan", str(folder), "--out", str(saved)], emulator.base_url).exit_code == 0
    applied = run_cli(["apply", "--plan", str(saved), "--yes"], emulator.base_url)
    assert applied.exit_code == 0, applied.output
    assert "applied  update CanaryDeploy/billing-canary (gate)" in applied.output
    tested = candidate_id(sdk, billing(sdk).id)
    write(folder, assistant(NEW), gate_test(), canary(promote=True, gate=GATE))
    assert run_cli(["plan", str(folder), "--out", str(saved)], emulator.base_url).exit_code == 0
    promoted = run_cli(["apply", "--plan", str(saved), "--yes"], emulator.base_url)
    assert promoted.exit_code == 0, promoted.output
    assert billing(sdk).version_id == tested
    plan_is_empty(folder, emulator)


class TestStagedRollout:
    STEPS = (10, 25)

    def _desk(self, tmp_path: Path) -> Path:
        doc = canary(weight=50, gate={"suite": "release"})
        doc["spec"]["steps"] = list(self.STEPS)
        return write(tmp_path / "m", assistant(), gate_test(), doc)

    def test_every_step_is_gated_and_the_stated_weight_is_reached(
        self, tmp_path: Path, emulator: Any, sdk: telnyx.Telnyx
    ) -> None:
        fast_runs(emulator)
        folder = self._desk(tmp_path)
        text = run_cli(["plan", str(folder)], emulator.base_url).stdout
        assert "+ CanaryDeploy/billing-canary will be created (staged)" in text
        assert "# staged rollout: candidate weights rise through 10%, 25%, then as stated" in text
        result = apply(folder, emulator)
        assert result.exit_code == 0, result.output
        live = billing(sdk)
        assert sdk.ai.assistants.canary_deploys.retrieve(live.id).rules[0].serve.rollout[0].weight == 50
        (test,) = sdk.ai.assistants.tests.list().data
        assert len(sdk.ai.assistants.tests.runs.list(test.test_id).data) == 3  # before 10%, 25% and 50%
        plan_is_empty(folder, emulator)

    def test_a_failing_step_stops_and_returns_traffic_to_main(
        self, tmp_path: Path, emulator: Any, sdk: telnyx.Telnyx
    ) -> None:
        fast_runs(emulator)
        folder = self._desk(tmp_path)
        only_test = write(tmp_path / "t", assistant(), gate_test())
        assert apply(only_test, emulator).exit_code == 0
        (test,) = sdk.ai.assistants.tests.list().data
        root = emulator.base_url.removesuffix("/v2")
        scripted = {"run_seconds": 0.05, "outcomes": {test.test_id: {"outcome": "pass", "times": 1},
                                                      "reply-time": {"outcome": "fail"}}}
        assert httpx.put(f"{root}/_emulator/test-runs", json=scripted, headers=AUTH).status_code == 200
        result = apply(folder, emulator)
        assert result.exit_code == 1, result.output
        assert ("CanaryDeploy/billing-canary: staged rollout stopped before step 25% (reached: 10%); traffic is "
                "back where it was before this apply.") in result.output
        assert not has_canary(sdk, billing(sdk).id)
        assert billing(sdk).instructions == OLD


def test_a_step_caps_only_the_candidates_and_main_keeps_the_rest() -> None:
    """A "10%" step sends 10% to the candidate: main's own slot is never capped (seen by a review)."""
    rules = [{"serve": {"rollout": [{"version_id": "v-main", "weight": 40}, {"version_id": "v-cand", "weight": 50}]}},
             {"match": [{"attribute": "caller_number", "operator": "in", "values": ["+1"]}],
              "serve": {"version_id": "v-cand"}}]
    assert capped(rules, 10, {"v-cand"}) == [
        {"serve": {"rollout": [{"version_id": "v-main", "weight": 40}, {"version_id": "v-cand", "weight": 10.0}]}},
        rules[1],
    ]
