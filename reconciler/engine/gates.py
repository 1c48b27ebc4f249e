"""Gates: a CanaryDeploy's test suite must pass on its candidates before traffic widens or one is promoted.

A gate is a step of the plan (``CanaryDeploy/NAME#gate``) that the config write or the promote
``requires``: when the suite does not reach its pass rate, the step fails with every run's
per-rubric results, and apply skips what waits for it, so traffic and main stay as they were.
Each test runs ``repeats`` times on each candidate (``destination_version_id``); the pass rate is
passed runs over all runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from reconciler.api.client import TelnyxClient
from reconciler.changes.change import Change
from reconciler.changes.refs import IdIndex
from reconciler.errors import ReconcilerError
from reconciler.verify.results import Outcome, RunResult, TestReport, TestTarget
from reconciler.verify.runner import run_tests

GATE_TIMEOUT = 900.0
"""Most time one gate waits for its runs (all repeats of all candidates)."""


class GateFailed(ReconcilerError):
    """The gate suite did not reach its pass rate; nothing that waits for it was written."""


def gate_targets(body: Mapping[str, Any], ids: IdIndex) -> list[TestTarget]:
    """One target per test, per candidate, per repeat."""
    resolved = ids.resolve(dict(body))
    targets = []
    for candidate, version_id in sorted(resolved["candidates"].items()):
        for test in resolved["tests"]:
            targets += [
                TestTarget(test["name"], str(test["test_id"]), None, str(resolved["assistant"]), candidate,
                           str(version_id))
                for _ in range(int(resolved["repeats"]))
            ]
    return targets


def run_gate(client: TelnyxClient, change: Change, ids: IdIndex, parallelism: int = 8) -> TestReport:
    """Run the gate's suite; raise GateFailed (with the results) below the pass rate."""
    report = run_suite_rounds(client, gate_targets(change.body, ids), parallelism)
    rate = float(change.body["min_pass_rate"])
    passed = report.count(Outcome.PASSED)
    total = len(report.results)
    if total == 0 or passed / total < rate:
        raise GateFailed(f"{change.address}: gate suite {change.body['suite']!r} passed {passed} of {total} runs "
                         f"({passed / total if total else 0:.0%}), below the required {rate:.0%}; nothing was "
                         "widened or promoted\n" + describe(report))
    return report


def run_suite_rounds(client: TelnyxClient, targets: list[TestTarget], parallelism: int) -> TestReport:
    """Repeats of one test run one after another (each trigger starts one run); tests run side by side."""
    rounds: dict[tuple[str, str], int] = {}
    batches: list[list[TestTarget]] = []
    for target in targets:
        key = (target.test_id, target.version_id or "")
        index = rounds.get(key, 0)
        rounds[key] = index + 1
        while len(batches) <= index:
            batches.append([])
        batches[index].append(target)
    results: list[RunResult] = []
    seconds = 0.0
    for batch in batches:
        report = run_tests(client, batch, (), GATE_TIMEOUT, parallelism)
        results.extend(report.results)
        seconds += report.seconds
    return TestReport(tuple(results), seconds)


def describe(report: TestReport) -> str:
    """One line per run that did not pass, with its rubric."""
    lines = []
    for result in report.results:
        if result.outcome is Outcome.PASSED:
            continue
        rubric = ", ".join(f"{item.name}: {item.status}" for item in result.rubric) or result.reason
        lines.append(f"  {result.outcome.value}: AssistantTest/{result.target.name} on {result.target.version} "
                     f"({result.target.version_id}): {rubric}")
    return "\n".join(lines)


def capped(rules: list[dict[str, Any]], weight: float, candidates: set[str]) -> list[dict[str, Any]]:
    """``rules`` with every candidate's rollout weight at most ``weight``; main (the rest) is not a candidate."""
    out = []
    for rule in rules:
        serve = dict(rule.get("serve") or {})
        if isinstance(serve.get("rollout"), list):
            serve["rollout"] = [
                {**slot, "weight": min(float(slot["weight"]), weight)} if slot.get("version_id") in candidates
                else slot for slot in serve["rollout"]
            ]
        out.append({**rule, "serve": serve})
    return out


def run_staged(client: TelnyxClient, change: Change, ids: IdIndex, idempotency_key: str, parallelism: int = 8) -> str:
    """Write a canary config in gated steps; on a failing gate put the config back as it was.

    Before each write the gate must pass (so no step widens traffic untested). The steps cap the
    candidates' weights; the last write is the config as stated. Returns the assistant id.
    """
    assistant_id = str(ids.resolve(change.live_id))
    body = ids.resolve(dict(change.body))
    previous = body.get("previous")
    exists = previous is not None
    gate = replace(change, body=body["gate"], step="gate")
    shown = "none"
    candidates = {str(v) for v in body["gate"]["candidates"].values()}
    for weight in [*body["steps"], None]:
        rules = body["rules"] if weight is None else capped(body["rules"], float(weight), candidates)
        label = "as stated" if weight is None else f"{float(weight):g}%"
        try:
            run_gate(client, gate, ids, parallelism)
        except GateFailed as exc:
            back = "nothing was widened"
            if shown != "none":
                back = "traffic is back where it was before this apply"
                try:
                    if previous is not None:
                        client.replace_canary(assistant_id, previous)
                    else:
                        client.delete_canary(assistant_id)
                except ReconcilerError as restore:
                    back = f"putting the config back FAILED ({restore}): traffic stays at {shown}"
            raise GateFailed(f"{change.address}: staged rollout stopped before step {label} (reached: {shown}); "
                             f"{back}. {exc}") from None
        if exists:
            client.replace_canary(assistant_id, {"rules": rules})
        else:
            client.create_canary(assistant_id, {"rules": rules}, idempotency_key)
            exists = True
        shown = label
    return assistant_id
