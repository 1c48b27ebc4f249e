"""Refuse plans that would delete or rewrite too much of a stack at once.

A bad merge (a directory renamed, a template gone wrong) looks like "delete everything" or
"rewrite everything". Like octoDNS's update/delete thresholds, apply refuses such a plan unless
``--force`` says it is intended; small stacks (fewer than ``min_managed`` objects) are exempt,
because there any change is a large share.
"""

from __future__ import annotations

from reconciler.changes.change import Action
from reconciler.engine.plan import Plan
from reconciler.errors import ReconcilerError
from reconciler.manifests.project import PruneSettings


class UnsafePlan(ReconcilerError):
    """The plan crosses a safety threshold and --force was not given."""


def safety_problems(plan: Plan, settings: PruneSettings) -> list[str]:
    """Why the plan is unsafe; empty when it is within the thresholds."""
    if plan.managed < max(1, settings.min_managed):
        return []
    objects = [c for c in plan.changes if not c.step and c.kind in ("Tool", "McpServer", "Assistant")]
    deletes = sum(1 for c in objects if c.action is Action.DELETE)
    updates = sum(1 for c in objects if c.action is Action.UPDATE)
    problems = []
    if deletes / plan.managed > settings.max_delete_fraction:
        problems.append(
            f"it deletes {deletes} of {plan.managed} managed objects, more than "
            f"{settings.max_delete_fraction:.0%} (prune.max_delete_fraction)"
        )
    if updates / plan.managed > settings.max_update_fraction:
        problems.append(
            f"it rewrites {updates} of {plan.managed} managed objects, more than "
            f"{settings.max_update_fraction:.0%} (prune.max_update_fraction)"
        )
    return problems


def check_safety(plan: Plan, settings: PruneSettings, force: bool) -> None:
    problems = safety_problems(plan, settings)
    if problems and not force:
        raise UnsafePlan("refusing to apply: " + "; ".join(problems) + ". Review the plan and pass --force if intended")
