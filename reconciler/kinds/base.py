"""What the engine needs to know about one kind of object.

Each kind module answers the same questions: how to list live objects, which name identifies
one, how a live object looks in the request shape (so it can be compared with a manifest), what
a create or update sends, and which calls make it so. Simple kinds only fill in those blanks;
a kind whose manifest becomes several API objects (CanaryDeploy) overrides ``plan``/``execute``.
"""

from __future__ import annotations

import contextlib
import copy
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.api.client import TelnyxClient
from reconciler.changes.change import Action, Change
from reconciler.changes.diff import changed_top_level_keys, leaves, removed, stated_differences, stated_view
from reconciler.changes.refs import IdIndex, pending_in
from reconciler.errors import ApiError, ApiNotFound, ApiUnavailable, ConcurrentChange, ReconcilerError
from reconciler.manifests.project import Project, parse_field_path
from reconciler.model import LiveState, Resource


@dataclass
class PlanContext:
    """Everything planning one resource may look at."""

    live: LiveState
    ids: IdIndex
    resources: Mapping[tuple[str, str], Resource] = field(default_factory=dict)
    prune: bool = False
    project: Project = field(default_factory=Project)
    changed: set[str] = field(default_factory=set)
    """Addresses that already have a change in this plan (kinds are planned level by level)."""
    memo: dict[str, Any] = field(default_factory=dict)
    """Indexes built once per plan (e.g. live tools by content)."""
    preferred_tools: frozenset[str] | None = None
    """Tool ids an attached shared tool is matched to first when several have its content; None:
    the Tools the manifests manage."""


def requires_of(body: Any) -> tuple[str, ...]:
    """Addresses of the objects a body waits for (their creates must succeed first)."""
    return tuple(dict.fromkeys(p.address for p in pending_in(body)))


def is_ambiguous(exc: Exception) -> bool:
    """Failures after which the server may have acted: no answer, or a 5xx."""
    if isinstance(exc, ApiUnavailable):
        return "outcome unknown" in str(exc) or "cannot connect" not in str(exc)
    return isinstance(exc, ApiError) and exc.status >= 500


def confirm_desired(change: Change, ids: IdIndex) -> dict[str, Any]:
    """What an ambiguous write wanted, every id filled in and ``tool_ids`` sorted again.

    Planned ``tool_ids`` put ids known only after apply last; once filled in, the list must be
    in the order ``comparable`` reads it back (sorted), or a write that did happen looks undone.
    """
    desired: dict[str, Any] = ids.resolve(dict(change.after or {}))
    if isinstance(desired.get("tool_ids"), list):
        desired["tool_ids"] = sorted(desired["tool_ids"])
    return desired


def confirm_context(client: TelnyxClient, kind: str, desired: Mapping[str, Any]) -> PlanContext:
    """What ``comparable`` needs to read an object back after an ambiguous write.

    That is the Tool list when tool ids matter, with the ids the write sent preferred: when two
    live tools have the same content, either could otherwise be named, and a confirm that names
    the other one writes again (a second assistant version).
    """
    if kind == "Assistant" and "tool_ids" in desired:
        wanted = frozenset(str(tool_id) for tool_id in desired["tool_ids"])
        return PlanContext(LiveState(lists={"Tool": client.list_tools()}), IdIndex(), preferred_tools=wanted)
    return PlanContext(LiveState(), IdIndex())


def without_ignored(desired: dict[str, Any], before: Mapping[str, Any], address: str, ctx: PlanContext) -> Any:
    """``desired`` with the live value at every field an ignore rule for ``address`` names."""
    for pattern in ctx.project.ignored_fields(address):
        desired = keep_live(desired, before, parse_field_path(pattern))
    return desired


def keep_live(desired: Any, live: Any, pattern: tuple[str | int, ...]) -> Any:
    """``desired`` with the live value at every path the pattern matches (an ignore rule).

    The field then never differs, and an update that sends its parent sends the live value,
    so a field the console owns is never overwritten.
    """
    if not pattern:
        return copy.deepcopy(live)
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        if isinstance(desired, list) and isinstance(live, list) and len(desired) == len(live):
            return [keep_live(d, item, rest) for d, item in zip(desired, live, strict=True)]
        return desired
    if isinstance(head, int):
        if isinstance(desired, list) and isinstance(live, list) and head < min(len(desired), len(live)):
            out = list(desired)
            out[head] = keep_live(desired[head], live[head], rest)
            return out
        return desired
    if isinstance(desired, dict) and isinstance(live, dict) and head in live and head in desired:
        result = dict(desired)
        result[head] = keep_live(desired[head], live[head], rest)
        return result
    return desired


class KindHandler(ABC):
    """One managed kind. Subclasses are stateless; one instance lives in the registry."""

    kind: str
    level: int
    """Position in the apply order: lower levels are written first and deleted last."""
    listable: bool = True

    # -- reading ----------------------------------------------------------------------------

    def list_live(self, client: TelnyxClient) -> list[dict[str, Any]]:
        """Every live object of this kind, as full objects."""
        raise NotImplementedError

    def live_name(self, live: Mapping[str, Any]) -> str:
        """The manifest name a live object answers to."""
        return str(live.get("name", ""))

    def live_id(self, live: Mapping[str, Any]) -> str:
        return str(live["id"])

    # -- planning ---------------------------------------------------------------------------

    @abstractmethod
    def desired_body(self, resource: Resource, ctx: PlanContext) -> dict[str, Any]:
        """The full create body for a manifest, references turned into ids (or ``Pending``)."""

    @abstractmethod
    def comparable(self, live: Mapping[str, Any], ctx: PlanContext) -> dict[str, Any]:
        """A live object in request shape, with read-only and server-owned fields removed."""

    def update_body(
        self, desired: Mapping[str, Any], changed_keys: list[str], before: Mapping[str, Any]
    ) -> dict[str, Any]:
        """What an update sends; by default the changed top-level keys, nested objects whole."""
        return {key: desired[key] for key in changed_keys if key in desired}

    def plan(self, resource: Resource, ctx: PlanContext) -> list[Change]:
        """Create, update or nothing for one manifest."""
        desired = self.desired_body(resource, ctx)
        current = ctx.live.get(self.kind, resource.name)
        stage = (self.level, 0)
        if current is None:
            return [
                Change(Action.CREATE, self.kind, resource.name, None, None, desired, tuple(leaves(desired)), desired,
                       resource.file, resource.line, stage, requires_of(desired))
            ]
        before = self.comparable(current, ctx)
        desired = without_ignored(desired, before, resource.address, ctx)
        differences = stated_differences(desired, before)
        if not differences:
            return []
        body = self.update_body(desired, changed_top_level_keys(differences), before)
        return [
            Change(Action.UPDATE, self.kind, resource.name, self.live_id(current), before, desired,
                   tuple(differences), body, resource.file, resource.line, stage, requires_of(body))
        ]

    def plan_delete(self, live: Mapping[str, Any], ctx: PlanContext) -> Change:
        """Delete a live object that no manifest states any more (prune)."""
        before = self.comparable(live, ctx)
        return Change(Action.DELETE, self.kind, self.live_name(live), self.live_id(live), before, None,
                      tuple(removed(before)), {}, stage=(self.level, 0))

    # -- applying ---------------------------------------------------------------------------

    def execute(self, client: TelnyxClient, change: Change, ids: IdIndex, idempotency_key: str) -> str | None:
        """Carry out one change; record and return the live id.

        When the answer is lost (connection dropped, timeout, 5xx after retries) the write may or
        may not have happened. Rather than guess, read the object back: if it is already as the
        change wants, the change is done; otherwise send it once more. So a lost response never
        makes a duplicate, nor an extra assistant version.
        """
        self.check_unchanged(client, change, ids)
        try:
            return self.write(client, change, ids, idempotency_key)
        except ReconcilerError as exc:
            if not is_ambiguous(exc):
                raise
            confirmed = self.confirm(client, change, ids)
            if confirmed is not None:
                return confirmed
            return self.write(client, change, ids, idempotency_key)

    def check_unchanged(self, client: TelnyxClient, change: Change, ids: IdIndex) -> None:
        """Re-read the object right before an update or delete; refuse if it moved since the plan.

        The plan compared the manifest with what it read; a change made since (in the portal, or
        by an apply that does not share this stack's lock) would otherwise be silently overwritten
        or deleted. Only the fields the change is about are compared (for a delete, every field
        plan showed), except the attached shared tools, whose ids would need the tool list read
        again for every write.
        """
        if not self.listable or change.step or change.before is None or not isinstance(change.live_id, str):
            return
        if change.action is Action.ADOPT and not change.body:
            return
        if change.action not in (Action.UPDATE, Action.ADOPT, Action.DELETE):
            return
        try:
            now = self.comparable(self.read(client, change.live_id), PlanContext(LiveState(), IdIndex()))
        except ApiNotFound:
            if change.action is Action.DELETE:
                return  # already gone: what the delete wanted
            raise ConcurrentChange(f"{change.address} ({change.live_id}) was deleted in the account since the plan "
                                   "was made; nothing was written to it; plan again") from None
        scope = change.before if change.action is Action.DELETE else change.after or {}
        planned = {k: v for k, v in stated_view(scope, change.before).items() if k != "tool_ids"}
        current = {k: v for k, v in stated_view(scope, now).items() if k != "tool_ids"}
        moved = sorted(k for k in set(planned) | set(current) if planned.get(k) != current.get(k))
        if moved:
            raise ConcurrentChange(
                f"{change.address} ({change.live_id}) changed in the account since the plan was made "
                f"({', '.join(moved)}); nothing was written to it; plan again"
            )

    def read(self, client: TelnyxClient, live_id: str) -> dict[str, Any]:
        """One live object by id."""
        raise NotImplementedError

    def confirm(self, client: TelnyxClient, change: Change, ids: IdIndex) -> str | None:
        """After an ambiguous failure: the live id if the change is already in effect, else None."""
        if not self.listable:
            return None
        live = self.list_live(client)
        if change.action is Action.DELETE:
            target = str(ids.resolve(change.live_id))
            return None if any(self.live_id(obj) == target for obj in live) else target
        found = [obj for obj in live if self.live_name(obj) == change.name]
        if len(found) != 1:
            return None
        current = found[0]
        if change.action in (Action.UPDATE, Action.ADOPT):
            desired = confirm_desired(change, ids)
            if stated_differences(desired, self.comparable(current, confirm_context(client, self.kind, desired))):
                return None
        object_id = self.live_id(current)
        ids.set(self.kind, change.name, object_id)
        self.after_write(change, current, ids)
        return object_id

    def write(self, client: TelnyxClient, change: Change, ids: IdIndex, idempotency_key: str) -> str | None:
        """The write itself, without any second thought."""
        body = ids.resolve(dict(change.body))
        if change.action is Action.CREATE:
            created = self.create(client, body, idempotency_key)
            object_id = self.live_id(created)
            ids.set(self.kind, change.name, object_id)
            self.after_write(change, created, ids)
            return object_id
        live_id = ids.resolve(change.live_id)
        if change.action is Action.ADOPT and not body:
            return str(live_id)  # as the manifests want already: owning it is the ledger's business
        if change.action in (Action.UPDATE, Action.ADOPT):
            updated = self.update(client, live_id, body, change)
            self.after_write(change, updated, ids)
        else:
            with contextlib.suppress(ApiNotFound):  # already gone: what the delete wanted
                self.delete(client, live_id)
        return str(live_id)

    def after_write(self, change: Change, live: Mapping[str, Any] | None, ids: IdIndex) -> None:
        """Hook for kinds that must remember more than the id (an assistant's main version)."""
        return None

    def create(self, client: TelnyxClient, body: Mapping[str, Any], idempotency_key: str) -> dict[str, Any]:
        raise NotImplementedError

    def update(
        self, client: TelnyxClient, live_id: str, body: Mapping[str, Any], change: Change
    ) -> dict[str, Any] | None:
        raise NotImplementedError

    def delete(self, client: TelnyxClient, live_id: str) -> None:
        raise NotImplementedError
