"""A plan is a value: the ordered changes that make the live account match the manifests.

Computing a plan (here) is kept apart from showing it (``reconciler.render``) and from carrying
it out (``reconciler.apply``), so every output format and a saved plan see the same thing.

    Action   before              after              meaning
    create   None                desired body       no live object has this name; apply creates it
    update   live, request shape desired body       the object exists and ``fields`` differ; apply
                                                    sends only the top-level keys in ``body``
    delete   live, request shape None               live but absent from the manifests (prune only)

Objects whose stated fields all match are not changes; the plan lists them in ``unchanged``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.diff import FieldChange, changed_top_level_keys, leaves, stated_differences
from reconciler.errors import IdentityError
from reconciler.fingerprint import digest
from reconciler.kinds import handler_for
from reconciler.live import LiveState
from reconciler.model import Resource


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True)
class Change:
    """One object's change. ``body`` is exactly what apply sends (create or update body)."""

    action: Action
    kind: str
    name: str
    live_id: str | None
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    fields: tuple[FieldChange, ...]
    body: Mapping[str, Any]
    file: str | None = None
    line: int | None = None

    @property
    def address(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class Plan:
    """Ordered changes plus what is needed to check, later, that nothing moved."""

    changes: tuple[Change, ...]
    unchanged: tuple[str, ...] = ()
    manifest_digest: str = ""
    live_fingerprints: Mapping[str, str] = field(default_factory=dict)
    secrets: frozenset[str] = frozenset()

    @property
    def summary(self) -> dict[str, int]:
        counts = {action.value: 0 for action in Action}
        for change in self.changes:
            counts[change.action.value] += 1
        return counts

    @property
    def is_empty(self) -> bool:
        return not self.changes


def _check_identity(resources: Iterable[Resource], live: LiveState) -> None:
    """Refuse to guess when two live objects answer to one managed name."""
    problems = []
    for resource in resources:
        ids = live.duplicates.get(resource.key)
        if ids:
            problems.append(
                f"{resource.address}: {len(ids)} live objects share this name ({', '.join(ids)}); "
                "rename or delete all but one before planning"
            )
    if problems:
        raise IdentityError("\n".join(problems))


def manifest_digest(resources: Iterable[Resource]) -> str:
    """Digest of the manifests before interpolation, so secrets never enter it."""
    return digest(sorted(([r.kind, r.name, r.template] for r in resources), key=lambda item: item[:2]))


def build_plan(resources: list[Resource], live: LiveState) -> Plan:
    """Diff every manifest against its live object; creates and updates in manifest order."""
    _check_identity(resources, live)
    ordered = sorted(resources, key=lambda r: handler_for(r.kind).level)
    changes: list[Change] = []
    unchanged: list[str] = []
    fingerprints: dict[str, str] = {}
    secrets: set[str] = set()
    for resource in ordered:
        secrets |= resource.secrets
        handler = handler_for(resource.kind)
        desired = handler.desired_body(resource)
        current = live.get(resource.kind, resource.name)
        if current is None:
            fields = tuple(leaves(desired))
            changes.append(
                Change(Action.CREATE, resource.kind, resource.name, None, None, desired, fields, desired,
                       resource.file, resource.line)
            )
            continue
        fingerprints[resource.address] = digest(current)
        before = handler.comparable(current)
        differences = stated_differences(desired, before)
        if not differences:
            unchanged.append(resource.address)
            continue
        body = handler.update_body(desired, changed_top_level_keys(differences))
        changes.append(
            Change(Action.UPDATE, resource.kind, resource.name, handler.live_id(current), before, desired,
                   tuple(differences), body, resource.file, resource.line)
        )
    return Plan(
        changes=tuple(changes),
        unchanged=tuple(unchanged),
        manifest_digest=manifest_digest(resources),
        live_fingerprints=fingerprints,
        secrets=frozenset(secrets),
    )
