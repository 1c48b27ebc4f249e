"""Carry out a plan: wave by wave, changes within a wave in parallel, every outcome recorded.

A failed change never stops the others; the result lists each change as applied or failed
(with the API's message), so a user always knows exactly where the account stands.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum

from reconciler.client import TelnyxClient
from reconciler.errors import ReconcilerError
from reconciler.fingerprint import digest
from reconciler.kinds import handler_for
from reconciler.order import waves
from reconciler.plan import Action, Change, Plan


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


def idempotency_key(change: Change) -> str:
    """Same change, same key: a create repeated after a lost response is not a duplicate."""
    return "reconciler-" + digest([change.kind, change.name, change.body]).removeprefix("sha256:")[:40]


def _run(client: TelnyxClient, change: Change) -> Outcome:
    handler = handler_for(change.kind)
    try:
        if change.action is Action.CREATE:
            created = handler.create(client, change.body, idempotency_key(change))
            return Outcome(change, Status.APPLIED, live_id=handler.live_id(created))
        if change.live_id is None:
            raise ReconcilerError(f"{change.address}: no live id to {change.action.value}")
        if change.action is Action.UPDATE:
            handler.update(client, change.live_id, change.body)
        else:
            handler.delete(client, change.live_id)
        return Outcome(change, Status.APPLIED, live_id=change.live_id)
    except ReconcilerError as exc:
        return Outcome(change, Status.FAILED, message=str(exc), live_id=change.live_id)


def apply_plan(
    client: TelnyxClient,
    plan: Plan,
    *,
    parallelism: int = 8,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> ApplyResult:
    """Apply every change of ``plan``; never raises for a failed change, reports it instead."""
    outcomes: list[Outcome] = []
    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
        for wave in waves(plan.changes):
            for outcome in pool.map(lambda change: _run(client, change), wave):
                outcomes.append(outcome)
                if on_outcome is not None:
                    on_outcome(outcome)
    return ApplyResult(tuple(outcomes))
