"""A plan is a value: the ordered changes that make the live account match the manifests.

Computing a plan (here) is kept apart from showing it (``reconciler.render``) and from carrying
it out (``reconciler.engine.apply``), so every output format and a saved plan see the same thing. The
meaning of each action is drawn in ``reconciler.changes.change``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from reconciler.changes.change import Action, Change
from reconciler.changes.diff import stated_differences, stated_view
from reconciler.changes.refs import IdIndex
from reconciler.engine.fingerprint import digest
from reconciler.engine.order import UNLINK, arrange
from reconciler.engine.ownership import OWNED_KINDS, Ledger
from reconciler.engine.versions import VersionBudget
from reconciler.errors import IdentityError, PromotionRefused
from reconciler.kinds import PlanContext, handler_for
from reconciler.kinds.assistant import MAIN_VERSION, marked_stacks, stack_marker
from reconciler.kinds.canary import ASSISTANT_LEVEL_FIELDS, PROMOTE, STAGED, CanaryDeployHandler
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
    in_use: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Owned tools and MCP servers pruning keeps because live assistants still use them."""
    refusals: tuple[str, ...] = ()
    """Why apply would refuse without --force (the safety thresholds), shown in every format."""
    forced: bool = False
    """The plan was made with --force: a saved plan carries that approval to apply."""
    warnings: tuple[str, ...] = ()
    """What a reviewer should know that is not a change, e.g. a create that looks like a rename."""
    versions: tuple[VersionBudget, ...] = ()
    """Per assistant the apply writes versions of: how many, and which ones the ten-version cap
    evicts (``reconciler.engine.versions``; filled in after planning, empty without such a write)."""

    @property
    def summary(self) -> dict[str, int]:
        counts = {action.value: 0 for action in Action}
        for change in self.changes:
            # A second write of one object is not another object changed; a promotion is an update,
            # and a staged rollout is the config's one change.
            if not change.step or change.step in (PROMOTE, STAGED):
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
    claims: Mapping[tuple[str, str], str] | None = None,
    fingerprint: bool = False,
) -> Plan:
    """Diff every manifest against its live object, kind by kind in level order.

    With a ``ledger`` (a stack), an existing object the stack does not own yet is planned as
    ``adopt``, one that another stack ``claims`` is refused, and one renamed in the portal is
    found by its id and renamed back. With ``prune``, owned objects that no manifest states are
    deleted unless the project protects them or live assistants still use them, and so are
    canary configs of managed assistants no manifest claims. ``fingerprint`` computes what a
    saved plan checks (only ``plan --out`` and ``apply --plan`` pay for it).
    """
    _check_identity(resources, live)
    project = project or Project()
    live, renamed = follow_renames(resources, live, ledger)
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
    changes = [
        replace(c, note=f"renamed from {renamed[c.address]!r}") if c.address in renamed and not c.step else c
        for c in changes
    ]
    changes = _fold_promotions(changes)
    warnings = _likely_renames(changes, ctx, ledger) if ledger is not None else []
    if ledger is not None:
        changes = _adoptions(resources, ctx, changes, ledger, claims or {})
        adopted = {c.address for c in changes if c.action is Action.ADOPT}
        unchanged = [address for address in unchanged if address not in adopted]
    protected: list[str] = []
    gone: list[tuple[str, str]] = []
    in_use: dict[str, tuple[str, ...]] = {}
    unlinks: list[Change] = []
    if prune:
        changes.extend(_prune_canaries(resources, ctx))
        if ledger is not None:
            deletes, protected, gone = _prune_owned(ledger, ctx)
            deletes, in_use = _keep_in_use(deletes, changes, ctx)
            deletes, unlinks = _unlink_handoffs(deletes, ctx)
            changes.extend(deletes)
    fingerprints = live_fingerprints(resources, ctx) if fingerprint else {}
    for change in changes:
        if fingerprint and change.action is Action.DELETE:
            fingerprints[f"deleted {change.address}"] = digest(change.before)
    managed = sum(1 for r in resources if live.get(r.kind, r.name) is not None)
    managed += sum(1 for c in changes if c.action is Action.DELETE) + len(protected) + len(in_use)
    # Apply remembers fields a write did not keep beside the project file, wherever it runs from.
    arranged = [replace(c, not_kept_file=project.not_kept_file) for c in [*arrange(changes), *unlinks]]
    return Plan(
        changes=tuple(sorted(arranged, key=lambda c: c.stage)),
        unchanged=tuple(unchanged),
        live_fingerprints=fingerprints,
        secrets=frozenset(s for r in resources for s in r.secrets),
        live_ids=known,
        protected=tuple(protected),
        gone=tuple(gone),
        managed=managed,
        in_use=in_use,
        warnings=tuple(warnings),
    )


def _fold_promotions(changes: list[Change]) -> list[Change]:
    """Leave out the Assistant update a promotion makes unnecessary.

    A CanaryDeploy that promotes a candidate has checked that the Assistant document states the
    candidate's content; the update plan found (main differs from that content) is what the promote
    call does, without a new version. Only assistant-level fields (tags) are still written.
    """
    promoted = {c.name.split("@", 1)[0] for c in changes if c.step == PROMOTE}
    if not promoted:
        return changes
    out: list[Change] = []
    for change in changes:
        if change.kind != "Assistant" or change.name not in promoted or change.action not in (
            Action.UPDATE, Action.ADOPT
        ):
            out.append(change)
            continue
        if change.step:
            raise PromotionRefused(f"{change.address}: promote the candidate in an apply of its own; this plan also "
                                   "links handoffs of the assistant")
        if "name" in change.body:
            raise PromotionRefused(f"{change.address}: rename the assistant and promote its candidate in separate "
                                   "applies")
        body = {k: v for k, v in change.body.items() if k in ASSISTANT_LEVEL_FIELDS}
        fields = tuple(f for f in change.fields if f.path and f.path[0] in ASSISTANT_LEVEL_FIELDS)
        if body or change.action is Action.ADOPT:
            out.append(replace(change, body=body, fields=fields))
    return out


def follow_renames(
    resources: Iterable[Resource], live: LiveState, ledger: Ledger | None
) -> tuple[LiveState, dict[str, str]]:
    """Match a manifest whose name is not live to the object it was renamed from.

    Two ways: a ``previous_names`` entry that is still live (a rename in git), or the ledger's id
    of the name, live under another name (a rename in the portal). Either way plan renames that
    object instead of creating a new one. Returns the live state with those objects under their
    manifest names, and ``address -> old name`` for the renames in git.
    """
    resources = list(resources)
    stated = {r.key for r in resources}
    objects = dict(live.objects)
    renamed: dict[str, str] = {}
    collisions: list[str] = []
    for resource in resources:
        if resource.kind not in OWNED_KINDS:
            continue
        handler = handler_for(resource.kind)
        old = next((n for n in resource.previous_names if (resource.kind, n) in live.objects), None)
        if old is not None:
            if resource.key in live.objects:
                collisions.append(
                    f"{resource.address}: cannot rename {resource.kind}/{old} "
                    f"({handler.live_id(live.objects[(resource.kind, old)])}) to {resource.name!r}: another live "
                    f"object has that name ({handler.live_id(live.objects[resource.key])}); rename or delete one "
                    "of them first"
                )
                continue
            objects[resource.key] = live.objects[(resource.kind, old)]
            renamed[resource.address] = old
            continue
        owned = ledger.named(resource.kind, resource.name) if ledger is not None else None
        if resource.key in objects or owned is None:
            continue
        found = next((obj for obj in live.listed(resource.kind) if handler.live_id(obj) == owned.id), None)
        if found is not None and (resource.kind, handler.live_name(found)) not in stated:
            objects[resource.key] = found
    if collisions:
        raise IdentityError("\n".join(collisions))
    return (replace(live, objects=objects) if objects != live.objects else live), renamed


def _likely_renames(changes: list[Change], ctx: PlanContext, ledger: Ledger) -> list[str]:
    """Creates that look like an owned object no manifest states any more, under a new name.

    Without ``previous_names`` that is a create plus (with --prune) a delete: a new id, a new
    TeXML app, lost versions. Plan cannot know it was meant as a rename, so it says how to keep
    the object.
    """
    claimed = {
        (kind, handler_for(kind).live_id(obj)) for (kind, name), obj in ctx.live.objects.items()
        if (kind, name) in ctx.resources
    }
    orphans: list[tuple[str, str, str, dict[str, Any]]] = []  # kind, id, live name, comparable; read once
    for owned in ledger.objects:
        if owned.kind not in OWNED_KINDS or (owned.kind, owned.id) in claimed:
            continue
        handler = handler_for(owned.kind)
        current = next((o for o in ctx.live.listed(owned.kind) if handler.live_id(o) == owned.id), None)
        if current is not None:
            orphans.append((owned.kind, owned.id, handler.live_name(current), handler.comparable(current, ctx)))
    warnings = []
    for change in changes:
        if change.action is not Action.CREATE or change.after is None or not orphans:
            continue
        key = "display_name" if change.kind == "Tool" else "name"
        wanted = {k: v for k, v in change.after.items() if k not in (key, "tags")}
        match = next((o for o in orphans if o[0] == change.kind and not stated_differences(wanted, o[3])), None)
        if match is not None:
            kind, object_id, old, _ = match
            warnings.append(
                f"{change.address} looks like a rename of {kind}/{old} ({object_id}): to keep that "
                f"object (its id, versions and phone setup), add 'previous_names: [{old}]' to its manifest"
            )
    return warnings


def _adoptions(
    resources: Iterable[Resource], ctx: PlanContext, changes: list[Change], ledger: Ledger,
    claims: Mapping[tuple[str, str], str],
) -> list[Change]:
    """Existing objects this stack does not own become visible ``adopt`` changes; others' are refused."""
    by_address = {c.address: i for i, c in enumerate(changes) if not c.step}
    refused: list[str] = []
    out = list(changes)
    for resource in resources:
        if resource.kind not in OWNED_KINDS:
            continue
        current = ctx.live.get(resource.kind, resource.name)
        if current is None:
            continue
        handler = handler_for(resource.kind)
        object_id = handler.live_id(current)
        tagged = marked_stacks(current) if resource.kind == "Assistant" else []
        claimed_by = claims.get((resource.kind, object_id))
        others = sorted({*(s for s in tagged if s != ledger.stack), *([claimed_by] if claimed_by else [])})
        if others:
            refused.append(
                f"{resource.address} ({object_id}) is owned by stack {', '.join(map(repr, others))}; remove it from "
                "one of the two stacks' manifests (or release it from that stack) before planning"
            )
            continue
        if ledger.owns(resource.kind, object_id):
            continue
        index = by_address.get(resource.address)
        change = out[index] if index is not None else Change(
            Action.ADOPT, resource.kind, resource.name, object_id, handler.comparable(current, ctx), None, (), {},
            resource.file, resource.line, (handler.level, 0))
        body = dict(change.body)
        marker = stack_marker(ledger.stack)
        if resource.kind == "Assistant" and marker is not None and marker not in tagged:
            tags = body.get("tags", (change.before or {}).get("tags") or [])
            body["tags"] = sorted({*tags, marker})
        note = ("tagged as this stack's, but the ledger did not list it" if tagged
                else "exists, not yet owned by this stack")
        if "tags" in body and "tags" not in change.body:
            note += f"; apply tags it {marker}"
        adopted = replace(change, action=Action.ADOPT, body=body, note=note)
        if index is not None:
            out[index] = adopted
        else:
            out.append(adopted)
    if refused:
        raise IdentityError("\n".join(refused))
    return out


def _keep_in_use(
    deletes: list[Change], planned: list[Change], ctx: PlanContext
) -> tuple[list[Change], dict[str, tuple[str, ...]]]:
    """Delete a tool or MCP server only once every live assistant using it is deleted or detached.

    A delete waits for (``requires``) the changes that detach it; a live assistant that keeps
    using it keeps it, and the plan says which.
    """
    doomed = {(c.kind, str(c.live_id)): c for c in deletes if c.kind in ("Tool", "McpServer")}
    if not doomed:
        return deletes, {}
    assistants = handler_for("Assistant")
    by_id = {str(c.live_id): c for c in [*planned, *deletes] if c.kind == "Assistant" and not c.step}
    waits: dict[tuple[str, str], list[str]] = {key: [] for key in doomed}
    users: dict[tuple[str, str], list[str]] = {key: [] for key in doomed}
    for live_assistant in ctx.live.listed("Assistant"):
        assistant_id = assistants.live_id(live_assistant)
        uses = _uses(assistants.comparable(live_assistant, ctx))
        change = by_id.get(assistant_id)
        after = _uses(change.after) if change is not None and change.after is not None else set()
        for key in uses & set(doomed):
            if change is not None and (change.action is Action.DELETE or key not in after):
                waits[key].append(change.ref)
            else:
                users[key].append(f"Assistant/{assistants.live_name(live_assistant)}")
    kept = {doomed[key].address: tuple(sorted(u)) for key, u in users.items() if u}
    out = []
    for change in deletes:
        key = (change.kind, str(change.live_id))
        if change.address in kept:
            continue
        if waits.get(key):
            change = replace(change, requires=tuple(dict.fromkeys([*change.requires, *waits[key]])))
        out.append(change)
    return out, kept


def _uses(body: Mapping[str, Any]) -> set[tuple[str, str]]:
    """``(kind, id)`` of the shared tools and MCP servers an assistant body names."""
    found = {("Tool", str(i)) for i in body.get("tool_ids") or []}
    servers = [s for s in body.get("mcp_servers") or [] if isinstance(s, Mapping) and "id" in s]
    found |= {("McpServer", str(s["id"])) for s in servers}
    return found


def _unlink_handoffs(deletes: list[Change], ctx: PlanContext) -> tuple[list[Change], list[Change]]:
    """Assistants deleted together that hand off to each other are unlinked first.

    Telnyx refuses to delete an assistant another one hands off to, so a cycle of deletes never
    converges. Each doomed assistant that names another doomed one is first updated without
    those handoff targets (it is deleted right after, so the version this costs is moot).
    """
    doomed = {str(c.live_id) for c in deletes if c.kind == "Assistant"}
    unlinks: list[Change] = []
    for change in deletes:
        if change.kind != "Assistant" or change.before is None:
            continue
        tools = change.before.get("tools")
        if not isinstance(tools, list):
            continue
        kept_tools = [_without_targets(tool, doomed) for tool in tools]
        kept_tools = [tool for tool in kept_tools if tool is not None]
        if kept_tools != tools:
            body = {"tools": kept_tools}
            unlinks.append(Change(Action.UPDATE, change.kind, change.name, change.live_id, change.before, body,
                                  tuple(stated_differences(body, change.before)), body,
                                  stage=UNLINK, step="unlink",
                                  note="handoffs to assistants deleted in this plan removed first"))
    if not unlinks:
        return deletes, []
    refs = tuple(u.ref for u in unlinks)
    unlinked = {u.name: u.body for u in unlinks}
    # A delete expects to find the object as its unlink leaves it (the check before each write).
    return [
        replace(c, requires=(*c.requires, *refs), before={**(c.before or {}), **unlinked.get(c.name, {})})
        if c.kind == "Assistant" else c
        for c in deletes
    ], unlinks


def _without_targets(tool: Any, doomed: set[str]) -> Any:
    """A handoff tool without the targets in ``doomed`` (None when none is left); others as they are."""
    handoff = tool.get("handoff") if isinstance(tool, dict) and tool.get("type") == "handoff" else None
    if not isinstance(handoff, dict):
        return tool
    targets = [t for t in handoff.get("ai_assistants") or [] if not (isinstance(t, dict) and t.get("id") in doomed)]
    if len(targets) == len(handoff.get("ai_assistants") or []):
        return tool
    if not targets:
        return None
    return {**tool, "handoff": {**handoff, "ai_assistants": targets}}


ABSENT = "absent"


def live_fingerprints(resources: Iterable[Resource], ctx: PlanContext) -> dict[str, str]:
    """A digest of what the plan depends on in the account, so a saved plan can tell if it moved.

    Per managed object its id and the fields its manifest states (``absent`` when there is no
    object yet): a console edit of a field no manifest states never makes a reviewed plan stale.
    Plus the canary config and versions of every assistant that was read for them.
    """
    found: dict[str, str] = {}
    for resource in resources:
        handler = handler_for(resource.kind)
        if handler.listable:
            obj = ctx.live.get(resource.kind, resource.name)
            if obj is None:
                found[resource.address] = ABSENT
            else:
                desired = handler.desired_body(resource, ctx)
                stated = stated_view(desired, handler.comparable(obj, ctx))
                found[resource.address] = digest([handler.live_id(obj), stated])
    for name, canary in ctx.live.canaries.items():
        found[f"canary of Assistant/{name}"] = digest(canary) if canary is not None else ABSENT
    for name, versions in ctx.live.versions.items():
        found[f"versions of Assistant/{name}"] = digest(sorted(versions, key=lambda v: str(v.get("version_id"))))
    return found


def _prune_owned(ledger: Ledger, ctx: PlanContext) -> tuple[list[Change], list[str], list[tuple[str, str]]]:
    """Deletes for owned objects no manifest states; protected ones are kept and listed."""
    deletes: list[Change] = []
    protected: list[str] = []
    gone: list[tuple[str, str]] = []
    claimed = {
        (kind, handler_for(kind).live_id(obj)) for (kind, name), obj in ctx.live.objects.items()
        if (kind, name) in ctx.resources
    }
    for owned in sorted(ledger.objects, key=lambda o: (o.kind, o.name)):
        if (owned.kind, owned.id) in claimed:
            continue  # a manifest states it (perhaps under another name: a rename)
        handler = handler_for(owned.kind)
        current = next((obj for obj in ctx.live.listed(owned.kind) if handler.live_id(obj) == owned.id), None)
        if current is None:
            gone.append((owned.kind, owned.id))
            continue
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
