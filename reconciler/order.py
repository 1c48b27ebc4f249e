"""Apply order as a small level table: create and update top-down, delete bottom-up.

    level  kinds
    0      Tool, McpServer        (referenced by assistants)
    1      Assistant
    2      CanaryDeploy           (references assistant versions)

Changes on one level do not depend on each other and may run in parallel.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.kinds import handler_for
from reconciler.plan import Action, Change


def waves(changes: Iterable[Change]) -> list[list[Change]]:
    """Group changes into waves that must run one after the other."""
    writes: dict[int, list[Change]] = {}
    deletes: dict[int, list[Change]] = {}
    for change in changes:
        level = handler_for(change.kind).level
        target = deletes if change.action is Action.DELETE else writes
        target.setdefault(level, []).append(change)
    ordered = [writes[level] for level in sorted(writes)]
    ordered += [deletes[level] for level in sorted(deletes, reverse=True)]
    return ordered
