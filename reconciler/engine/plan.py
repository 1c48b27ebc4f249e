"""A plan is a value: the ordered changes that make the live account match the manifests.

Computing a plan (here) is kept apart from showing it (``reconciler.render``) and from carrying
it out (``reconciler.engine.apply``), so every output format and a saved plan see the same thing. The
meaning of each action is drawn in ``reconciler.changes.change``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from reconciler.changes.change import Action, Change
from reconciler.changes.refs import IdIndex
from reconciler.engine.fingerprint import digest
from reconciler.engine.order import arrange
from reconciler.engine.ownership import Ledger
from reconciler.errors import IdentityError
from reconciler.kinds import PlanContext, handler_for
from reconciler.kinds.assistant import MAIN_VERSION
from reconciler.kinds.canary import CanaryDeployHandler
from reconciler.manifests.project import Project
from reconciler.model import LiveState, Resource

__all__ = ["Action", "Change", "Plan", "build_plan"]


@dataclass(frozen=True)
class Plan:
    """Ordered changes plus what is needed to check, later, that nothing moved."""

    changes: tuple[Change, ...]
    unchanged: tuple[str, ...] = ()
    live_fingerprints: Mapping[str, str] = field(default_factory=dict)
    secrets: frozenset[str] = frozenset()
    live_ids: Mapping[tuple[str, str], str] = field(default_factory=dict)
    """Ids of the live objects the plan refers to by name; apply resolves references with them."""
    protected: tuple[str, ...] = ()
    """Owned objects absent from the manifests that pruning keeps because they are protected."""
    gone: tuple[tuple[str, str], ...] = ()
    """``(kind, id)`` of owned objects no longer in the account (dropped from the ledger)."""
    managed: int = 0
    """How many managed objects exist live: the base of the safety thresholds."""

    @property
    def summary(self) -> dict[str, int]:
        counts = {action.value: 0 for action in Action}
        for change in self.changes:
            if not change.step:  # a second write of one object is not another object changed
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


def live_ids(live: LiveState) -> dict[tuple[str, str], str]:
    """Every live id by name, and each assistant's main version id."""
    found: dict[tuple[str, str], str] = {}
    for (kind, name), obj in live.objects.items():
        found[(kind, name)] = handler_for(kind).live_id(obj)
        if kind == "Assistant" and isinstance(obj.get("version_id"), str):
            found[(MAIN_VERSION, name)] = obj["version_id"]
    return found


def build_plan(
    resources: list[Resource],
    live: LiveState,
    prune: bool = False,
    project: Project | None = None,
    ledger: Ledger | None = None,
) -> Plan:
    """Diff every manifest against its live object, kind by kind in level order.

    With ``prune``, owned objects (``ledger``) that no manifest states are deleted unless the
    project protects them, and so are canary configs of managed assistants no manifest claims.
    """
    _check_identity(resources, live)
    project = project or Project()
    known = live_ids(live)
    ctx = PlanContext(live, IdIndex.of(known), {r.key: r for r in resources}, prune, project)
    changes: list[Change] = []
    unchanged: list[str] = []
    for resource in sorted(resources, key=lambda r: handler_for(r.kind).level):
        planned = handler_for(resource.kind).plan(resource, ctx)
        changes.extend(planned)
        ctx.changed.update(c.address for c in planned)
        if not planned:
            unchanged.append(resource.address)
    protected: list[str] = []
    gone: list[tuple[str, str]] = []
    if prune:
        changes.extend(_prune_canaries(resources, ctx))
        if ledger is not None:
            deletes, protected, gone = _prune_owned(ledger, ctx)
            changes.extend(deletes)
    fingerprints = live_fingerprints(resources, live)
    for change in changes:
        if change.action is Action.DELETE:
            fingerprints[f"deleted {change.address}"] = digest(change.before)
    managed = sum(1 for r in resources if live.get(r.kind, r.name) is not None)
    managed += sum(1 for c in changes if c.action is Action.DELETE) + len(protected)
    return Plan(
        changes=tuple(arrange(changes)),
        unchanged=tuple(unchanged),
        live_fingerprints=fingerprints,
        secrets=frozenset(s for r in resources for s in r.secrets),
        live_ids=known,
        protected=tuple(protected),
        gone=tuple(gone),
        managed=managed,
    )


ABSENT = "absent"


def live_fingerprints(resources: Iterable[Resource], live: LiveState) -> dict[str, str]:
    """A digest of every live object the plan depends on, so a saved plan can tell if it moved.

    Managed objects (``absent`` when there is none yet), and the canary config and versions of
    every assistant that was read for them.
    """
    found: dict[str, str] = {}
    for resource in resources:
        if handler_for(resource.kind).listable:
            obj = live.get(resource.kind, resource.name)
            found[resource.address] = digest(obj) if obj is not None else ABSENT
    for name, canary in live.canaries.items():
        found[f"canary of Assistant/{name}"] = digest(canary) if canary is not None else ABSENT
    for name, versions in live.versions.items():
        found[f"versions of Assistant/{name}"] = digest(sorted(versions, key=lambda v: str(v.get("version_id"))))
    return found


def _prune_owned(ledger: Ledger, ctx: PlanContext) -> tuple[list[Change], list[str], list[tuple[str, str]]]:
    """Deletes for owned objects no manifest states; protected ones are kept and listed."""
    deletes: list[Change] = []
    protected: list[str] = []
    gone: list[tuple[str, str]] = []
    for owned in sorted(ledger.objects, key=lambda o: (o.kind, o.name)):
        if (owned.kind, owned.name) in ctx.resources:
            continue
        handler = handler_for(owned.kind)
        current = next((obj for obj in ctx.live.listed(owned.kind) if handler.live_id(obj) == owned.id), None)
        if current is None:
            gone.append((owned.kind, owned.id))
            continue
        if handler.live_name(current) != owned.name and (owned.kind, handler.live_name(current)) in ctx.resources:
            continue  # renamed by hand into a name a manifest manages: that manifest now owns it
        if ctx.project.is_protected(f"{owned.kind}/{handler.live_name(current)}") or ctx.project.is_protected(
            owned.address
        ):
            protected.append(owned.address)
            continue
        deletes.append(handler.plan_delete(current, ctx))
    return deletes, protected, gone


def _prune_canaries(resources: list[Resource], ctx: PlanContext) -> list[Change]:
    """Canary configs on managed assistants that no CanaryDeploy manifest claims."""
    claimed = {str(r.spec["assistant"]) for r in resources if r.kind == "CanaryDeploy"}
    handler = handler_for("CanaryDeploy")
    assert isinstance(handler, CanaryDeployHandler)
    return [
        handler.plan_prune(name, canary, ctx)
        for name, canary in sorted(ctx.live.canaries.items())
        if canary is not None and name not in claimed
    ]
