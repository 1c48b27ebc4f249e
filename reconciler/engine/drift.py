"""What drifted: the live account against the manifests, per managed object and field.

A drift report is read off a ``Plan``, never off raw live state, so ``drift`` and ``plan`` can
never disagree: whatever apply would write is drift, and nothing else is.

    change in the plan                        in the report
    create                                    the object is ``missing``
    update                                    the object is ``changed``; each field shows
                                              live (``before``) and desired (``after``)
    update step ``link`` of a create          part of the same ``missing`` object
    create of a candidate AssistantVersion    part of the CanaryDeploy that waits for it: a field
                                              ``versions.<name>`` (whole or per stated field)
    delete (only in a plan made with prune)   the live object is ``extra``

Values that hold a secret are replaced by ``(sensitive)`` here, before any view sees them, so
no output format can leak one. Ids known only after apply stay ``Pending`` (shown as in the plan).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.changes.change import Action, Change
from reconciler.changes.diff import FieldChange
from reconciler.engine.plan import Plan
from reconciler.kinds.canary import VERSION_KIND
from reconciler.model import JsonPath, format_path
from reconciler.redact import MASK, contains_secret

__all__ = ["DriftField", "DriftObject", "DriftReport", "DriftStatus", "drift_report"]

CANDIDATE_BOOKKEEPING = frozenset({"version_name", "promote_to_main"})
"""Request fields of a candidate version that the manifest does not state as such."""


class DriftStatus(StrEnum):
    MISSING = "missing"
    CHANGED = "changed"
    EXTRA = "extra"


@dataclass(frozen=True)
class DriftField:
    """One field that differs; ``live`` is ``None`` when the account has no value there."""

    path: JsonPath
    live: Any
    desired: Any
    sensitive: bool = False

    @property
    def dotted(self) -> str:
        return format_path(self.path)


@dataclass(frozen=True)
class DriftObject:
    """One managed (or, for ``extra``, formerly managed) object that is not as the manifests say."""

    kind: str
    name: str
    status: DriftStatus
    id: str | None
    fields: tuple[DriftField, ...] = ()

    @property
    def address(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class DriftReport:
    """Every drifted object in plan order, plus the addresses that match their manifests."""

    objects: tuple[DriftObject, ...] = ()
    matching: tuple[str, ...] = ()
    protected: tuple[str, ...] = field(default=())
    """Owned objects absent from the manifests that pruning keeps: reported, never counted as drift."""
    names: Mapping[str, str] = field(default_factory=dict)
    """Id -> name of the objects the plan read, so the views show names where the manifests used them."""

    @property
    def in_sync(self) -> bool:
        return not self.objects

    def count(self, status: DriftStatus) -> int:
        return sum(1 for obj in self.objects if obj.status is status)

    @property
    def missing(self) -> int:
        return self.count(DriftStatus.MISSING)

    @property
    def changed(self) -> int:
        return self.count(DriftStatus.CHANGED)

    @property
    def extra(self) -> int:
        return self.count(DriftStatus.EXTRA)

    @property
    def summary(self) -> dict[str, int]:
        """Counts by status, and how many objects are in sync."""
        return {"missing": self.missing, "changed": self.changed, "extra": self.extra, "in_sync": len(self.matching)}


def _masked(value: Any) -> Any:
    return value if value is None else MASK


def _field(change: FieldChange, secrets: frozenset[str], prefix: JsonPath = ()) -> DriftField:
    """A plan field as drift: ``before`` is what is live, ``after`` what the manifest wants."""
    sensitive = contains_secret(change.before, secrets) or contains_secret(change.after, secrets)
    live, desired = change.before, change.after
    if sensitive:
        live, desired = _masked(live), _masked(desired)
    return DriftField((*prefix, *change.path), live, desired, sensitive)


def _candidate_fields(change: Change, secrets: frozenset[str]) -> list[DriftField]:
    """A candidate version's fields under ``versions.<name>``, the path its manifest states them at."""
    version_name = change.name.split("@", 1)[1] if "@" in change.name else change.name
    prefix: JsonPath = ("versions", version_name)
    return [
        _field(f, secrets, prefix)
        for f in change.fields
        if not (f.path and f.path[0] in CANDIDATE_BOOKKEEPING)
    ]


def _status(change: Change) -> DriftStatus:
    if change.kind == VERSION_KIND:  # always a create; with a live version to compare, a changed one
        return DriftStatus.MISSING if change.before is None else DriftStatus.CHANGED
    return {
        Action.CREATE: DriftStatus.MISSING,
        Action.UPDATE: DriftStatus.CHANGED,
        Action.DELETE: DriftStatus.EXTRA,
        Action.ADOPT: DriftStatus.CHANGED,
    }[change.action]


@dataclass
class _Entry:
    kind: str
    name: str
    status: DriftStatus
    id: str | None
    fields: list[DriftField]


def _owner_of_candidates(changes: Iterable[Change]) -> dict[str, str]:
    """Candidate version ref -> address of the CanaryDeploy whose rules wait for it."""
    owners: dict[str, str] = {}
    for change in changes:
        if change.kind == "CanaryDeploy":
            for ref in change.requires:
                if ref.startswith(VERSION_KIND + "/"):
                    owners.setdefault(ref, change.address)
    return owners


def drift_report(plan: Plan) -> DriftReport:
    """The drift that ``plan`` would repair, object by object, in plan order."""
    entries: dict[str, _Entry] = {}
    owners = _owner_of_candidates(plan.changes)
    candidates: dict[str, list[DriftField]] = {}
    for change in plan.changes:
        if change.step == "unlink" or (change.action is Action.ADOPT and not change.fields):
            continue  # ownership bookkeeping and prune mechanics are not drift
        if change.kind == VERSION_KIND and change.ref in owners:
            candidates.setdefault(owners[change.ref], []).extend(_candidate_fields(change, plan.secrets))
            continue
        entry = entries.get(change.address)
        if entry is None:
            status = _status(change)
            live_id = change.live_id if isinstance(change.live_id, str) and status is not DriftStatus.MISSING else None
            entry = entries[change.address] = _Entry(change.kind, change.name, status, live_id, [])
        # A missing object is missing as a whole and an extra one extra as a whole: no field
        # list. A link step only follows a create, so it adds nothing to its missing object.
        if entry.status is DriftStatus.CHANGED:
            if change.kind == VERSION_KIND:  # a candidate no canary rule waits for: its own object
                entry.fields.extend(_candidate_fields(change, plan.secrets))
            else:
                entry.fields.extend(_field(f, plan.secrets) for f in change.fields)
    for owner, fields in candidates.items():
        entry = entries[owner]
        if entry.status is DriftStatus.CHANGED:
            # Candidates come first: the rule changes that follow only point at them.
            entry.fields[:0] = fields
    objects = tuple(DriftObject(e.kind, e.name, e.status, e.id, tuple(e.fields)) for e in entries.values())
    adopted = tuple(c.address for c in plan.changes if c.action is Action.ADOPT and not c.fields)
    names = {object_id: name for (_kind, name), object_id in plan.live_ids.items()}
    return DriftReport(objects=objects, matching=(*plan.unchanged, *adopted), protected=tuple(plan.protected),
                       names=names)
