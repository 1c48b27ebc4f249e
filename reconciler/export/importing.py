"""What ``reconciler import`` will do, shown (and checked) before it writes to the account.

An import creates one assistant per provider agent, and re-importing an agent overwrites the
assistant an earlier import made from it (found by its ``import_metadata``) with a new main
version: hand edits, tags and attached shared tools are replaced. So, like every other write, an
import is shown first, and an assistant that a stack manages (its id is in an ownership ledger
beside this stack's) is overwritten only when asked for explicitly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.engine.ownership import owners

PROVIDER_TITLES = {"elevenlabs": "ElevenLabs", "vapi": "Vapi", "retell": "Retell"}


@dataclass(frozen=True)
class Overwrite:
    """A live assistant an earlier import made from ``import_id``, which this import replaces."""

    assistant_id: str
    name: str
    import_id: str
    stacks: tuple[str, ...] = ()  # the stacks whose ledgers own it

    def describe(self) -> str:
        return f"Assistant/{self.name} ({self.assistant_id})"


@dataclass(frozen=True)
class ImportPlan:
    provider: str
    api_key_ref: str
    import_ids: tuple[str, ...] | None  # None: every agent the provider account holds
    overwrites: tuple[Overwrite, ...]

    @property
    def title(self) -> str:
        return PROVIDER_TITLES.get(self.provider, self.provider)

    @property
    def new(self) -> tuple[str, ...]:
        """The selected agents no live assistant was imported from (only known when ids are given)."""
        overwritten = {o.import_id for o in self.overwrites}
        return tuple(i for i in self.import_ids or () if i not in overwritten)

    @property
    def managed(self) -> tuple[Overwrite, ...]:
        return tuple(o for o in self.overwrites if o.stacks)


def owners_by_id(paths: Iterable[Path]) -> dict[str, tuple[str, ...]]:
    """Assistant id -> the stacks whose ledgers (``paths``) own it."""
    return {object_id: stacks for (kind, object_id), stacks in owners(paths).items() if kind == "Assistant"}


def plan_import(provider: str, api_key_ref: str, import_ids: Sequence[str] | None,
                live_assistants: Iterable[Mapping[str, Any]],
                owners: Mapping[str, tuple[str, ...]]) -> ImportPlan:
    """Which live assistants the import overwrites: those imported from a selected agent of this provider."""
    selected = tuple(dict.fromkeys(import_ids)) if import_ids else None
    overwrites: dict[str, Overwrite] = {}
    for assistant in live_assistants:
        meta = assistant.get("import_metadata") or {}
        import_id = meta.get("import_id")
        if meta.get("import_provider") != provider or not isinstance(import_id, str):
            continue
        if (selected is not None and import_id not in selected) or import_id in overwrites:
            continue  # the API overwrites one assistant per agent
        object_id = str(assistant["id"])
        overwrites[import_id] = Overwrite(object_id, str(assistant.get("name", "")), import_id,
                                          owners.get(object_id, ()))
    order = list(selected) if selected is not None else sorted(overwrites)
    ordered = tuple(overwrites[i] for i in order if i in overwrites)
    return ImportPlan(provider, api_key_ref, selected, ordered)


def render_import_plan(plan: ImportPlan) -> str:
    lines = ["reconciler import will:", ""]
    if plan.import_ids is None:
        lines.append(f"  + import every agent of the {plan.title} account behind integration secret "
                     f"{plan.api_key_ref!r}; agents not imported before become new assistants")
    for import_id in plan.new:
        lines.append(f"  + import {plan.title} agent {import_id} as a new assistant")
    for overwrite in plan.overwrites:
        managed = f", managed by stack {', '.join(map(repr, overwrite.stacks))}" if overwrite.stacks else ""
        lines.append(f"  ~ overwrite {overwrite.describe()} with {plan.title} agent {overwrite.import_id}{managed}")
    if plan.overwrites:
        lines += ["", "An overwrite is a new main version holding only the provider's configuration: edits,",
                  "tags and attached shared tools made since the earlier import are replaced."]
    new = "every agent" if plan.import_ids is None else f"{len(plan.new)} new"
    lines += ["", f"Import: {new}, {len(plan.overwrites)} to overwrite."]
    return "\n".join(lines) + "\n"


def managed_refusal(plan: ImportPlan) -> str | None:
    """The refusal for overwriting what a stack manages, or None when nothing managed is touched."""
    if not plan.managed:
        return None
    named = ", ".join(f"{o.describe()} of stack {', '.join(map(repr, o.stacks))}" for o in plan.managed)
    return (f"refusing to import: it would overwrite assistants a stack manages from git: {named}; "
            "nothing was imported. Pass --overwrite-managed to overwrite them anyway")
