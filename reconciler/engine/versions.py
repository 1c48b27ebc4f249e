"""The version budget: how many assistant versions an apply writes, and which ones it evicts.

Telnyx keeps ten versions per assistant and every write through the assistant update endpoint
adds one; past ten the oldest goes, never the main version nor a version a canary rule serves
(docs/emulator.md). Per assistant that the plan writes a version of, this module counts the
versions (a create: its first; an update or adopt that is not tags or attached shared tools
alone: one; a ``link`` step: one more; a candidate version of a CanaryDeploy: one) and replays
the cap on the versions listed now, in apply order, to name those that go.

The count costs one versions list per existing assistant that gets a version-writing change
(none for a plan without one), plus its canary config only when something would be evicted
and the plan did not read it already. An evicted version that a canary rule serves after the
apply, or that ``keep_versions`` in ``reconciler.yaml`` declares a rollback target, is a refusal:
apply stops without ``--force``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from reconciler.api.client import TelnyxClient
from reconciler.changes.change import Action, Change
from reconciler.changes.refs import Pending
from reconciler.engine.fingerprint import digest
from reconciler.kinds.assistant import MAIN_VERSION, writes_version
from reconciler.kinds.canary import VERSION_KIND
from reconciler.manifests.project import Project
from reconciler.model import LiveState

if TYPE_CHECKING:
    from reconciler.engine.plan import Plan

MAX_VERSIONS = 10
"""Versions Telnyx keeps per assistant."""

BUDGET_READ = " (version budget)"
"""Suffix of the live fingerprints of what only the budget read: which it reads depends on the
plan itself, so a saved plan compares them only where both sides have one (planfile.check)."""


@dataclass(frozen=True)
class EvictedVersion:
    """An existing version the cap removes during the apply."""

    version_id: str
    version_name: str | None
    created_at: str | None
    protected: str | None = None
    """Why apply refuses to evict it without --force; None when nothing protects it."""


@dataclass(frozen=True)
class VersionBudget:
    """One assistant's versions: kept now, written by the apply, kept after it, and evicted."""

    name: str
    id: str | None
    """The assistant's id; None for an assistant the apply creates."""
    kept_now: int
    created: int
    kept_after: int
    evicted: tuple[EvictedVersion, ...] = field(default=())

    @property
    def address(self) -> str:
        return f"Assistant/{self.name}"


def version_writes(changes: Iterable[Change]) -> dict[str, list[bool]]:
    """Per assistant name, its version writes in apply order: True for one that becomes main.

    Assistants the plan deletes are left out (their versions go with them).
    """
    changes = list(changes)
    deleted = {c.name for c in changes if c.kind == "Assistant" and c.action is Action.DELETE}
    writes: dict[str, list[bool]] = {}
    for change in changes:
        if change.kind == "Assistant" and change.name not in deleted:
            if change.action is Action.CREATE or (
                change.action in (Action.UPDATE, Action.ADOPT) and writes_version(change.body, change.before)
            ):
                writes.setdefault(change.name, []).append(True)
        elif change.kind == VERSION_KIND and change.action is Action.CREATE:
            # A candidate is an assistant update with promote_to_main: false: a new version, main untouched.
            writes.setdefault(change.name.split("@", 1)[0], []).append(False)
    return writes


def canary_version_ids(canary: Mapping[str, Any] | None) -> set[str]:
    """Existing version ids a canary config (live, or as a plan writes it) serves."""
    ids: set[str] = set()
    for rule in (canary or {}).get("rules") or []:
        serve = rule.get("serve") or {}
        ids.update(v for v in [serve.get("version_id")] if isinstance(v, str))
        ids.update(s["version_id"] for s in serve.get("rollout") or [] if isinstance(s.get("version_id"), str))
    return ids


def _served_after(
    name: str, assistant_id: str | None, changes: Sequence[Change], canary_now: Mapping[str, Any] | None
) -> set[str]:
    """Existing versions the assistant's canary config serves once the plan is applied."""
    for change in changes:
        target = change.live_id
        mine = (
            target == assistant_id
            if isinstance(target, str)
            else (isinstance(target, Pending) and target.kind == "Assistant" and target.name == name)
        )
        if change.kind == "CanaryDeploy" and mine:
            return set() if change.action is Action.DELETE else canary_version_ids(change.body)
    return canary_version_ids(canary_now)


def replay_cap(
    versions: Sequence[Mapping[str, Any]], writes: Sequence[bool], main_id: str | None, served_now: set[str]
) -> tuple[list[Mapping[str, Any]], int]:
    """The listed versions the cap evicts while ``writes`` happen in order, and how many are kept after.

    As the API does after each write: beyond ten, drop the oldest, never the main version (the
    write's own, when it becomes main) nor a version a canary rule serves at that moment.
    """
    # Oldest first: by creation time, ties in list order (the list is newest first).
    listed = sorted(reversed(list(versions)), key=lambda v: str(v.get("version_created_at") or ""))
    kept: list[str | int] = [str(v.get("version_id")) for v in listed]
    by_id = {str(v.get("version_id")): v for v in listed}
    main: str | int | None = main_id
    evicted: list[Mapping[str, Any]] = []
    for number, makes_main in enumerate(writes):
        kept.append(number)  # a new version: an int, never equal to an id
        if makes_main:
            main = number
        excess = len(kept) - MAX_VERSIONS
        if excess > 0:
            gone = [v for v in kept if v != main and v not in served_now][:excess]
            kept = [v for v in kept if v not in gone]
            evicted.extend(by_id[v] for v in gone if isinstance(v, str))
    return evicted, len(kept)


def _budget(
    name: str,
    assistant_id: str | None,
    writes: Sequence[bool],
    versions: Sequence[Mapping[str, Any]],
    main_id: str | None,
    canary_now: Mapping[str, Any] | None,
    changes: Sequence[Change],
    project: Project,
) -> VersionBudget:
    evicted, kept_after = replay_cap(versions, writes, main_id, canary_version_ids(canary_now))
    served_after = _served_after(name, assistant_id, changes, canary_now)
    out = []
    for version in evicted:
        version_id = str(version.get("version_id"))
        version_name = version.get("version_name") if isinstance(version.get("version_name"), str) else None
        reason = None
        if version_id in served_after:
            reason = "a canary rule serves it after the apply"
        else:
            where = project.keeps_version(name, version_id, version_name)
            if where is not None:
                reason = f"declared a rollback target in {where} (keep_versions)"
        created_at = version.get("version_created_at")
        out.append(
            EvictedVersion(version_id, version_name, created_at if isinstance(created_at, str) else None, reason)
        )
    return VersionBudget(name, assistant_id, len(versions), len(writes), kept_after, tuple(out))


def with_version_budget(
    client: TelnyxClient,
    plan: Plan,
    live: LiveState,
    project: Project,
    parallelism: int = 8,
    fingerprint: bool = False,
) -> Plan:
    """The plan with its version budget; reads only for assistants the plan writes a version of.

    ``fingerprint`` adds what was read to the plan's live fingerprints, so a saved plan names
    the versions list (or canary config) that moved since it was made.
    """
    writes = version_writes(plan.changes)
    if not writes:
        return plan
    ids = {name: plan.live_ids.get(("Assistant", name)) for name in writes}
    to_read = sorted(name for name, assistant_id in ids.items() if assistant_id and name not in live.versions)
    versions: dict[str, list[dict[str, Any]]] = {n: list(live.versions[n]) for n in writes if n in live.versions}
    canaries: dict[str, dict[str, Any] | None] = dict(live.canaries)
    fingerprints = dict(plan.live_fingerprints)
    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
        listed = pool.map(lambda n: (n, client.list_versions(str(ids[n]))), to_read)
        for name, found in listed:
            versions[name] = found
            if fingerprint:
                fingerprints[f"versions of Assistant/{name}{BUDGET_READ}"] = digest(
                    sorted(found, key=lambda v: str(v.get("version_id")))
                )

        def main_of(name: str) -> str | None:
            main = plan.live_ids.get((MAIN_VERSION, name))
            return main if isinstance(main, str) else None

        # Canary configs matter only where something would be evicted: read those not read yet.
        unknown = sorted(
            name
            for name in versions
            if name not in canaries and replay_cap(versions[name], writes[name], main_of(name), set())[0]
        )
        for name, canary in pool.map(lambda n: (n, client.get_canary(str(ids[n]))), unknown):
            canaries[name] = canary
            if fingerprint:
                fingerprints[f"canary of Assistant/{name}{BUDGET_READ}"] = (
                    digest(canary) if canary is not None else "absent"
                )
    budgets = tuple(
        _budget(
            name,
            ids[name],
            writes[name],
            versions.get(name, []),
            main_of(name),
            canaries.get(name),
            plan.changes,
            project,
        )
        for name in sorted(writes)
    )
    return replace(plan, versions=budgets, live_fingerprints=fingerprints)


def eviction_refusals(budgets: Iterable[VersionBudget]) -> list[str]:
    """One refusal per protected version the cap would evict."""
    return [
        f"the ten-version cap evicts version {v.version_id} ({v.version_name or 'unnamed'}) of {b.address}, "
        f"but {v.protected}"
        for b in budgets
        for v in b.evicted
        if v.protected is not None
    ]


__all__ = [
    "BUDGET_READ",
    "MAX_VERSIONS",
    "EvictedVersion",
    "VersionBudget",
    "eviction_refusals",
    "replay_cap",
    "version_writes",
    "with_version_budget",
]
