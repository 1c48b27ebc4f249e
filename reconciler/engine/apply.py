"""Carry out a plan: stage by stage, changes within a stage in parallel, every outcome recorded.

A failed change never stops independent ones; a change that requires a failed or skipped one
is skipped, and the result lists each change as applied, failed (with the API's message) or
skipped, so a user always knows exactly where the account stands.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum

from reconciler.api.client import TelnyxClient
from reconciler.changes.change import Change
from reconciler.changes.refs import IdIndex
from reconciler.engine.gates import run_gate, run_staged
from reconciler.engine.order import waves
from reconciler.engine.plan import Plan
from reconciler.errors import ReconcilerError
from reconciler.kinds import handler_for
from reconciler.kinds.canary import GATE, STAGED
from reconciler.verify.results import Outcome as TestOutcome


class Status(StrEnum):
    APPLIED = "applied"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Outcome:
    change: Change
    status: Status
    message: str = ""
    live_id: str | None = None


@dataclass(frozen=True)
class ApplyResult:
    outcomes: tuple[Outcome, ...]

    @property
    def ok(self) -> bool:
        return all(o.status is Status.APPLIED for o in self.outcomes)

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status is status)


def idempotency_key() -> str:
    """A fresh key for one attempt at one change: its retries reuse it, the next apply does not.

    A key derived from the change's content would be the same on every run, so after the object
    was deleted (in the portal, or by --prune) the server would replay the first create with the
    dead id and the object could never be created again.
    """
    return f"reconciler-{uuid.uuid4().hex}"


def _run(client: TelnyxClient, change: Change, ids: IdIndex) -> Outcome:
    try:
        if change.step == STAGED:
            return Outcome(change, Status.APPLIED, live_id=run_staged(client, change, ids, idempotency_key()))
        if change.step == GATE:
            report = run_gate(client, change, ids)
            return Outcome(change, Status.APPLIED, message=f"{report.count(TestOutcome.PASSED)} of "
                                                           f"{len(report.results)} runs passed")
        live_id = handler_for(change.kind).execute(client, change, ids, idempotency_key())
        return Outcome(change, Status.APPLIED, live_id=live_id)
    except ReconcilerError as exc:
        return Outcome(change, Status.FAILED, message=str(exc))


def apply_plan(
    client: TelnyxClient,
    plan: Plan,
    *,
    parallelism: int = 8,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> ApplyResult:
    """Apply every change of ``plan``; never raises for a failed change, reports it instead."""
    ids = IdIndex.of(plan.live_ids)  # the live ids the plan was made with
    outcomes: list[Outcome] = []
    status_by_ref: dict[str, Status] = {}
    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
        for wave in waves(plan.changes):
            runnable: list[Change] = []
            for change in wave:
                blocked = [r for r in change.requires if status_by_ref.get(r, Status.APPLIED) is not Status.APPLIED]
                if blocked:
                    reason = f"needs {', '.join(blocked)}, which did not apply"
                    outcome = Outcome(change, Status.SKIPPED, message=reason)
                    outcomes.append(outcome)
                    status_by_ref[change.ref] = Status.SKIPPED
                    if on_outcome is not None:
                        on_outcome(outcome)
                else:
                    runnable.append(change)
            for outcome in pool.map(lambda change: _run(client, change, ids), runnable):
                outcomes.append(outcome)
                status_by_ref[outcome.change.ref] = outcome.status
                if on_outcome is not None:
                    on_outcome(outcome)
    return ApplyResult(tuple(outcomes))


__all__ = ["ApplyResult", "Outcome", "Status", "apply_plan", "idempotency_key"]
