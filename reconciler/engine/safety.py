"""Refuse plans that would delete or rewrite too much of a stack at once.

A bad merge (a directory renamed, a template gone wrong) looks like "delete everything" or
"rewrite everything". Like octoDNS's update/delete thresholds, apply refuses such a plan unless
``--force`` says it is intended; small stacks (fewer than ``min_managed`` objects) are exempt
from the fractions, because there any change is a large share, but no stack of any size loses
every object it manages without ``--force``. The reasons travel in the plan (``Plan.refusals``),
so every format shows a reviewer what apply will refuse.
"""

from __future__ import annotations

from dataclasses import replace

from reconciler.changes.change import Action
from reconciler.engine.ownership import OWNED_KINDS
from reconciler.engine.plan import Plan
from reconciler.engine.versions import eviction_refusals
from reconciler.errors import ReconcilerError
from reconciler.manifests.project import PruneSettings


class UnsafePlan(ReconcilerError):
    """The plan crosses a safety threshold and --force was not given."""


def safety_problems(plan: Plan, settings: PruneSettings) -> list[str]:
    """Why the plan is unsafe; empty when it is within the thresholds."""
    if plan.managed < 1:
        return []
    objects = [c for c in plan.changes if not c.step and c.kind in OWNED_KINDS]
    deletes = sum(1 for c in objects if c.action is Action.DELETE)
    # Adopting an assistant only adds its ownership tag (tag endpoints, no version): not a rewrite.
    updates = sum(
        1 for c in objects if c.action is Action.UPDATE or (c.action is Action.ADOPT and set(c.body) - {"tags"})
    )
    problems = []
    if deletes == plan.managed:
        problems.append(f"it deletes all {deletes} managed {_objects(deletes)} of the stack")
    elif plan.managed >= max(1, settings.min_managed) and deletes / plan.managed > settings.max_delete_fraction:
        problems.append(
            f"it deletes {deletes} of {plan.managed} managed objects, more than "
            f"{settings.max_delete_fraction:.0%} (prune.max_delete_fraction)"
        )
    if plan.managed >= max(1, settings.update_min_managed) and updates / plan.managed > settings.max_update_fraction:
        problems.append(
            f"it rewrites {updates} of {plan.managed} managed objects, more than "
            f"{settings.max_update_fraction:.0%} ({settings.update_setting})"
        )
    return problems


def _objects(count: int) -> str:
    return "object" if count == 1 else "objects"


def with_refusals(plan: Plan, settings: PruneSettings, force: bool) -> Plan:
    """The plan carrying why apply would refuse it, and whether --force approved that.

    Besides the thresholds: a version the ten-version cap would evict although a canary rule
    serves it or the project keeps it as a rollback target (``reconciler.engine.versions``).
    """
    problems = [*safety_problems(plan, settings), *eviction_refusals(plan.versions)]
    return replace(plan, refusals=tuple(problems), forced=force)


def check_safety(plan: Plan, force: bool) -> None:
    """Refuse a plan with refusals unless --force is given now or approved it at plan time."""
    if plan.refusals and not (force or plan.forced):
        raise UnsafePlan(
            "refusing to apply: " + "; ".join(plan.refusals) + ". Review the plan and pass --force if intended"
        )
