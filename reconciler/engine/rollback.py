"""Rollback: make an earlier kept version of an assistant main again, with one promote call.

Telnyx keeps ten versions per assistant; promoting one of them writes no new version, so the
assistant serves exactly what that version held. ``--previous`` picks the newest version created
before the current main (what was main before the last change, when nothing else wrote versions
in between); ``--to`` takes a version id, or a version name (its newest non-main version).
Afterwards the account differs from git, which ``drift`` reports; the manifests are brought in
line by export (keep the rollback) or by apply (roll forward again).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.changes.diff import FieldChange, stated_differences
from reconciler.changes.refs import IdIndex
from reconciler.errors import ReconcilerError
from reconciler.kinds import PlanContext
from reconciler.kinds.assistant import AssistantHandler
from reconciler.model import LiveState

_assistants = AssistantHandler()


class RollbackError(ReconcilerError):
    """No such assistant or version, or nothing to roll back to."""


@dataclass(frozen=True)
class Rollback:
    assistant: str
    assistant_id: str
    current: Mapping[str, Any]
    target: Mapping[str, Any]
    fields: tuple[FieldChange, ...]
    """What changes for callers: the target's value of every field where the two versions differ."""
    canary: bool
    """The assistant has a canary config, which the promote removes."""


def _created(version: Mapping[str, Any]) -> str:
    return str(version.get("version_created_at") or "")


def choose(
    assistant: Mapping[str, Any], versions: Sequence[Mapping[str, Any]], to: str | None, canary: bool,
    tools: list[dict[str, Any]],
) -> Rollback:
    """The rollback of ``assistant`` to ``to`` (id or name), or to the version before main."""
    name, main_id = str(assistant.get("name")), assistant.get("version_id")
    current = next((v for v in versions if v.get("version_id") == main_id), assistant)
    if to is not None:
        exact = [v for v in versions if v.get("version_id") == to]
        named = sorted((v for v in versions if v.get("version_name") == to and v.get("version_id") != main_id),
                       key=_created, reverse=True)
        found = exact or named
        if not found:
            kept = ", ".join(f"{v.get('version_id')} ({v.get('version_name')})" for v in versions)
            raise RollbackError(f"Assistant/{name} keeps no version {to!r}; kept: {kept}")
        target = found[0]
    else:
        older = sorted((v for v in versions if v.get("version_id") != main_id and _created(v) < _created(current)),
                       key=_created, reverse=True)
        if not older:
            raise RollbackError(f"Assistant/{name} keeps no version older than its main version {main_id}")
        target = older[0]
    if target.get("version_id") == main_id:
        raise RollbackError(f"Assistant/{name}: version {main_id} is main already")
    ctx = PlanContext(LiveState(lists={"Tool": tools}), IdIndex())
    fields = tuple(stated_differences(_assistants.comparable(target, ctx), _assistants.comparable(current, ctx)))
    return Rollback(name, str(assistant.get("id")), current, target, fields, canary)


def describe(rollback: Rollback) -> list[str]:
    """The lines shown before asking: which version becomes main, and what changes for callers."""
    def label(version: Mapping[str, Any]) -> str:
        created = version.get("version_created_at")
        return f"{version.get('version_id')} ({version.get('version_name')}, created {created})"

    lines = [
        f"Assistant/{rollback.assistant} ({rollback.assistant_id}) will serve an earlier version:",
        f"  main now:   {label(rollback.current)}",
        f"  main after: {label(rollback.target)}",
        "  No new version is written.",
    ]
    if rollback.canary:
        lines.append("  Its canary config is removed (Telnyx deletes it on every promote).")
    if rollback.fields:
        lines.append("  What changes for callers:")
        lines += [f"    ~ {f.dotted}" for f in rollback.fields]
    else:
        lines.append("  The two versions state the same values.")
    return lines
