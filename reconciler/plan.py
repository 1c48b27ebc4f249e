"""A plan is a value: the ordered changes that make the live account match the manifests.

Computing a plan (here) is kept apart from showing it (``reconciler.render``) and from carrying
it out (``reconciler.apply``), so every output format and a saved plan see the same thing. The
meaning of each action is drawn in ``reconciler.change``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from reconciler.change import Action, Change
from reconciler.errors import IdentityError
from reconciler.fingerprint import digest
from reconciler.kinds import PlanContext, handler_for
from reconciler.kinds.assistant import MAIN_VERSION
from reconciler.kinds.canary import CanaryDeployHandler
from reconciler.live import LiveState
from reconciler.model import Resource
from reconciler.order import arrange
from reconciler.refs import IdIndex

__all__ = ["Action", "Change", "Plan", "build_plan", "manifest_digest"]


@dataclass(frozen=True)
class Plan:
    """Ordered changes plus what is needed to check, later, that nothing moved."""

    changes: tuple[Change, ...]
    unchanged: tuple[str, ...] = ()
    manifest_digest: str = ""
    live_fingerprints: Mapping[str, str] = field(default_factory=dict)
    secrets: frozenset[str] = frozenset()
    live_ids: Mapping[tuple[str, str], str] = field(default_factory=dict)
    """Ids of the live objects the plan refers to by name; apply resolves references with them."""

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


def manifest_digest(resources: Iterable[Resource]) -> str:
    """Digest of the manifests before interpolation, so secrets never enter it."""
    return digest(sorted(([r.kind, r.name, r.template] for r in resources), key=lambda item: item[:2]))


def live_ids(live: LiveState) -> dict[tuple[str, str], str]:
    """Every live id by name, and each assistant's main version id."""
    found: dict[tuple[str, str], str] = {}
    for (kind, name), obj in live.objects.items():
        found[(kind, name)] = handler_for(kind).live_id(obj)
        if kind == "Assistant" and isinstance(obj.get("version_id"), str):
            found[(MAIN_VERSION, name)] = obj["version_id"]
    return found


def _seed_ids(resources: list[Resource], known: Mapping[tuple[str, str], str], live: LiveState) -> IdIndex:
    """Live ids, plus ``Pending`` for each object the plan will create."""
    ids = IdIndex()
    for (kind, name), object_id in known.items():
        ids.set(kind, name, object_id)
    for resource in resources:
        if handler_for(resource.kind).listable and live.get(resource.kind, resource.name) is None:
            ids.plan_create(resource.kind, resource.name)
    return ids


def build_plan(resources: list[Resource], live: LiveState, prune: bool = False) -> Plan:
    """Diff every manifest against its live object, kind by kind in level order."""
    _check_identity(resources, live)
    known = live_ids(live)
    ctx = PlanContext(live, _seed_ids(resources, known, live), {r.key: r for r in resources}, prune)
    changes: list[Change] = []
    unchanged: list[str] = []
    for resource in sorted(resources, key=lambda r: handler_for(r.kind).level):
        planned = handler_for(resource.kind).plan(resource, ctx)
        changes.extend(planned)
        ctx.changed.update(c.address for c in planned)
        if not planned:
            unchanged.append(resource.address)
    if prune:
        changes.extend(_prune_canaries(resources, ctx))
    fingerprints = {f"{kind}/{name}": digest(obj) for (kind, name), obj in live.objects.items()
                    if (kind, name) in ctx.resources}
    return Plan(
        changes=tuple(arrange(changes)),
        unchanged=tuple(unchanged),
        manifest_digest=manifest_digest(resources),
        live_fingerprints=fingerprints,
        secrets=frozenset(s for r in resources for s in r.secrets),
        live_ids=known,
    )


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
