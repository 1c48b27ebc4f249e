"""One change of a plan, as a frozen value.

    Action   before              after              meaning
    create   None                desired body       no live object has this name; apply creates it
    update   live, request shape desired body       the object exists and ``fields`` differ; apply
                                                    sends ``body`` (only the top-level keys that differ)
    delete   live, request shape None               live, managed, and absent from the manifests
    adopt    live, request shape desired body       the object exists but this stack does not own it
                                                    yet; apply records it as owned (and sends
                                                    ``body`` when fields differ, like an update)

``body`` is exactly what apply sends, except that ids of objects this plan creates are
``Pending`` until apply knows them. ``stage`` orders changes (lower first); changes of one stage
are independent. ``requires`` names the changes that must succeed first (by ``ref``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from reconciler.changes.diff import FieldChange
from reconciler.changes.refs import Pending


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    ADOPT = "adopt"


@dataclass(frozen=True)
class Change:
    action: Action
    kind: str
    name: str
    live_id: str | Pending | None
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    fields: tuple[FieldChange, ...]
    body: Mapping[str, Any]
    file: str | None = None
    line: int | None = None
    stage: tuple[int, int] = (0, 0)
    requires: tuple[str, ...] = ()
    step: str = ""
    """Set on the second write of a split change, e.g. ``link`` for handoffs made after a create."""
    note: str = ""
    not_kept_file: Path | None = field(default=None, compare=False)
    """Where apply remembers fields this write sent that the answer lacks: the project's file
    (beside ``reconciler.yaml``); None: ``.reconciler/not-kept.json`` in the current directory."""

    @property
    def address(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def ref(self) -> str:
        return f"{self.address}#{self.step}" if self.step else self.address
