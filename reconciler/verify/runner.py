"""Trigger test runs and wait for them to finish.

One suite whose every live test is chosen is triggered with one call (the suite route); any other
test is triggered on its own. Every trigger carries an Idempotency-Key made once per command, so a
retry after a lost answer or a 429 never starts a second run; a trigger still refused after the
client's retries (a 429 storm) is sent again a few times, with the same key, before giving up.
Waiting polls each unfinished run, slowly backing off, until it is final or a limit is reached:
the command's ``timeout`` for all runs, or a run's own ``max_duration_seconds`` plus a grace period.
A poll that fails (a 429 storm, a dropped connection) is tried again on the next round rather than ending the command.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from reconciler.api.client import RETRYABLE_STATUS, TelnyxClient
from reconciler.errors import ApiError, ApiNotFound, ApiUnavailable, ReconcilerError
from reconciler.verify.results import (
    Outcome,
    RunResult,
    TestReport,
    TestTarget,
    classify,
    is_finished,
    rubric_of,
)

GRACE_SECONDS = 60.0
"""How long past its max_duration_seconds a run may still say running before it counts as timed out."""
TRIGGER_ROUNDS = 4
"""Rounds of the client's own retries a trigger gets: same Idempotency-Key, so never a second run."""
FIRST_POLL = 0.25
MAX_POLL = 5.0

Progress = Callable[[Mapping[str, str], float], None]
"""Called after each polling round with ``test name -> status`` and the seconds waited."""


@dataclass
class _Run:
    target: TestTarget
    run_id: str | None = None
    last: Mapping[str, Any] = field(default_factory=dict)
    started: float = 0.0
    result: RunResult | None = None
    poll_error: str = ""


def trigger_plan(
    targets: Sequence[TestTarget], live_tests: Iterable[Mapping[str, Any]]
) -> list[tuple[str | None, list[TestTarget]]]:
    """Batches to trigger: ``(suite, tests)`` for a whole suite in one call when every live test of it
    is chosen and all run on one version, else ``(None, [test])`` for each."""
    in_suite: dict[str, set[str]] = {}
    for test in live_tests:
        suite = test.get("test_suite")
        if isinstance(suite, str):
            in_suite.setdefault(suite, set()).add(str(test.get("test_id")))
    batches: dict[tuple[str, str | None], list[TestTarget]] = {}
    singles: list[tuple[str | None, list[TestTarget]]] = []
    for target in targets:
        if target.suite is not None:
            batches.setdefault((target.suite, target.version_id), []).append(target)
        else:
            singles.append((None, [target]))
    out: list[tuple[str | None, list[TestTarget]]] = []
    for (suite, _version), group in batches.items():
        whole = {t.test_id for t in group} == in_suite.get(suite, set())
        versions = {t.version_id for t in targets if t.suite == suite}
        if whole and len(versions) == 1:
            out.append((suite, group))
        else:
            out.extend((None, [t]) for t in group)
    return out + singles


def run_tests(
    client: TelnyxClient,
    targets: Sequence[TestTarget],
    live_tests: Iterable[Mapping[str, Any]],
    timeout: float,
    parallelism: int = 8,
    progress: Progress | None = None,
) -> TestReport:
    """Trigger every target, wait for every run, and report."""
    began = time.monotonic()
    runs = [_Run(t) for t in targets]
    by_target = {id(run.target): run for run in runs}
    for suite, batch in trigger_plan(targets, live_tests):
        _trigger(client, suite, [by_target[id(t)] for t in batch])
    _wait(client, runs, began + timeout, timeout, max(1, parallelism), progress, began)
    results = tuple(sorted((r.result for r in runs if r.result), key=lambda r: r.target.name))
    return TestReport(results, time.monotonic() - began)


def _trigger(client: TelnyxClient, suite: str | None, batch: list[_Run]) -> None:
    key = str(uuid.uuid4())
    first = batch[0].target
    answered: list[dict[str, Any]] = []
    for attempt in range(TRIGGER_ROUNDS):
        try:
            if suite is not None:
                answered = client.trigger_suite_run(suite, first.version_id, key)
            else:
                answered = [client.trigger_test_run(first.test_id, first.version_id, key)]
            break
        except ReconcilerError as exc:
            refused = isinstance(exc, ApiError) and exc.status in RETRYABLE_STATUS
            transient = refused or isinstance(exc, ApiUnavailable)
            if transient and attempt + 1 < TRIGGER_ROUNDS:
                time.sleep(min(2.0**attempt, MAX_POLL))
                continue
            _fail_batch(batch, f"could not start the run: {exc}")
            return
    now = time.monotonic()
    by_test = {str(run.get("test_id")): run for run in answered}
    for run in batch:
        found = by_test.get(run.target.test_id)
        if found is None or not isinstance(found.get("run_id"), str):
            _fail_batch([run], "the trigger answered without a run for this test")
            continue
        run.run_id, run.last, run.started = str(found["run_id"]), found, now


def _fail_batch(batch: Iterable[_Run], reason: str) -> None:
    for run in batch:
        run.result = RunResult(run.target, None, Outcome.ERROR, "not started", reason=reason)


def _wait(
    client: TelnyxClient,
    runs: list[_Run],
    deadline: float,
    timeout: float,
    parallelism: int,
    progress: Progress | None,
    began: float,
) -> None:
    pause = FIRST_POLL
    with ThreadPoolExecutor(max_workers=parallelism) as pool:
        while True:
            now = time.monotonic()
            for run in runs:
                if run.result is None and is_finished(run.last):
                    run.result = _result(run, now, *classify(run.last))
            open_runs = [r for r in runs if r.result is None]
            if progress is not None:
                progress(
                    {r.target.name: str(r.last.get("status", "?")) for r in runs if r.result is None},
                    now - began,
                )
            if not open_runs:
                return
            for run in open_runs:
                limit = run.target.max_duration_seconds
                if limit is not None and now - run.started > limit + GRACE_SECONDS:
                    run.result = _result(
                        run,
                        now,
                        Outcome.TIMEOUT,
                        f"still {run.last.get('status')} {GRACE_SECONDS:g} s past max_duration_seconds ({limit})",
                    )
                elif now >= deadline:
                    extra = f"; last poll failed: {run.poll_error}" if run.poll_error else ""
                    reason = f"still {run.last.get('status')} after {timeout:g} s (--timeout){extra}"
                    run.result = _result(run, now, Outcome.TIMEOUT, reason)
            open_runs = [r for r in runs if r.result is None]
            if not open_runs:
                continue
            time.sleep(max(0.0, min(pause, deadline - time.monotonic())))
            pause = min(pause * 1.5, MAX_POLL)
            list(pool.map(lambda run: _poll(client, run), open_runs))


def _poll(client: TelnyxClient, run: _Run) -> None:
    assert run.run_id is not None
    try:
        run.last = client.get_test_run(run.target.test_id, run.run_id)
        run.poll_error = ""
    except ApiNotFound:
        run.result = RunResult(
            run.target,
            run.run_id,
            Outcome.ERROR,
            str(run.last.get("status", "?")),
            reason="the run disappeared from the account while it ran",
        )
    except ReconcilerError as exc:
        run.poll_error = str(exc)


def _result(run: _Run, now: float, outcome: Outcome, reason: str) -> RunResult:
    """The run as it last read, with the outcome decided for it."""
    return RunResult(run.target, run.run_id, outcome, str(run.last.get("status", "?")), rubric_of(run.last),
                     str(run.last.get("logs") or ""), now - run.started, reason)
