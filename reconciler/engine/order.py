"""Apply order: a small level table, refined by what each change waits for.

    stage        what
    (0, 0)       Tool, McpServer creates and updates
    (1, n)       Assistant creates and updates; n is how many new assistants deep the ids it
                 needs are (a handoff to an assistant created in the same apply waits for it)
    (1, LINK)    second writes of assistants that hand off to each other in a cycle: they are
                 created without those handoffs, then linked once all of them exist
    (2, 0)       candidate versions
    (3, 0)       canary configs
    (DELETE - 1, -1)  assistants about to be deleted together lose their handoffs to each other
    (DELETE - level, 0)   deletes, after every write, highest level first

Changes of one stage do not depend on each other and may run in parallel.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from graphlib import CycleError, TopologicalSorter

from reconciler.changes.change import Action, Change
from reconciler.kinds import handler_for
from reconciler.kinds.assistant import split_create_for_cycle

LINK = 1000
DELETE = 100
UNLINK = (DELETE - 1, -1)  # after canary and version deletes, just before assistant deletes


def arrange(changes: Iterable[Change]) -> list[Change]:
    """Split assistant cycles, give every change its stage, and sort by stage (stable)."""
    changes = list(changes)
    position = {
        c.ref: i for i, c in enumerate(changes) if c.kind == "Assistant" and c.action is not Action.DELETE
    }
    new_assistants = {ref for ref, i in position.items() if changes[i].action is Action.CREATE}
    graph = {ref: {r for r in changes[i].requires if r in new_assistants} for ref, i in position.items()}
    links: list[Change] = []
    while True:
        try:
            TopologicalSorter(graph).prepare()
            break
        except CycleError as cycle:
            for ref in sorted(set(cycle.args[1]), key=position.__getitem__):
                create, link = split_create_for_cycle(changes[position[ref]])
                changes[position[ref]] = create
                links.append(replace(link, stage=(1, LINK)))
                graph[ref] = set()

    sorter = TopologicalSorter(graph)
    sorter.prepare()
    depth = 0
    while sorter.is_active():
        ready = sorter.get_ready()
        for ref in ready:
            changes[position[ref]] = replace(changes[position[ref]], stage=(1, depth))
        sorter.done(*ready)
        depth += 1

    arranged = []
    for change in [*changes, *links]:
        if change.action is Action.DELETE:
            change = replace(change, stage=(DELETE - handler_for(change.kind).level, 0))
        arranged.append(change)
    return sorted(arranged, key=lambda c: c.stage)


def waves(changes: Iterable[Change]) -> list[list[Change]]:
    """Consecutive runs of one stage: each wave waits for the one before."""
    grouped: dict[tuple[int, int], list[Change]] = {}
    for change in changes:
        grouped.setdefault(change.stage, []).append(change)
    return [grouped[stage] for stage in sorted(grouped)]
