"""The ownership ledger: which live objects a stack created or adopted, by id.

Pruning deletes only objects in this stack's ledger that no manifest states any more; objects
made by hand, or by another stack in the same account, are never in it and so never deleted.
An object enters the ledger when an apply of this stack creates it or finds it (by name) as the
object a manifest describes; it leaves when this stack deletes it or it is gone from the
account. Losing the file is safe: nothing can be pruned until the next apply re-adopts the
objects the manifests still name.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.changes.change import Action
from reconciler.errors import ConfigError
from reconciler.kinds import handler_for
from reconciler.model import Resource

FORMAT = 1
OWNED_KINDS = ("Tool", "McpServer", "Assistant")


@dataclass(frozen=True)
class Owned:
    kind: str
    name: str
    id: str

    @property
    def address(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class Ledger:
    stack: str
    objects: tuple[Owned, ...] = field(default_factory=tuple)

    def kinds(self) -> set[str]:
        return {o.kind for o in self.objects}


def load_ledger(path: Path, stack: str) -> Ledger:
    """The stack's ledger; an absent file is an empty ledger."""
    if not path.is_file():
        return Ledger(stack)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT or data.get("stack") != stack:
            raise ValueError(f"it belongs to stack {data.get('stack')!r}, format {data.get('format')!r}")
        objects = tuple(Owned(o["kind"], o["name"], o["id"]) for o in data["objects"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{path}: not this stack's ownership ledger: {exc}") from None
    return Ledger(stack, objects)


def save_ledger(ledger: Ledger, path: Path) -> None:
    """Write atomically: a crash mid-write never leaves half a ledger."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "format": FORMAT,
        "stack": ledger.stack,
        "objects": [
            {"kind": o.kind, "name": o.name, "id": o.id}
            for o in sorted(ledger.objects, key=lambda o: (o.kind, o.name, o.id))
        ],
    }
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")
    os.replace(temp, path)


def updated_ledger(
    ledger: Ledger,
    resources: Iterable[Resource],
    live_ids: Mapping[tuple[str, str], str],
    applied: Iterable[tuple[Action, str, str, str | None]],
    gone: Iterable[tuple[str, str]] = (),
) -> Ledger:
    """The ledger after an apply.

    ``applied`` holds ``(action, kind, name, id)`` of every change that applied; ``live_ids``
    the ids the plan saw; ``gone`` the ``(kind, id)`` of owned objects no longer in the account.
    Every manifest object that exists now is owned; deleted and vanished ones are not.
    """
    owned = {(o.kind, o.id): o for o in ledger.objects}
    deleted: set[tuple[str, str]] = set(gone)
    for action, kind, name, object_id in applied:
        if kind not in OWNED_KINDS or object_id is None:
            continue
        if action is Action.DELETE:
            deleted.add((kind, object_id))
        else:
            owned[(kind, object_id)] = Owned(kind, name, object_id)
    for resource in resources:
        if not handler_for(resource.kind).listable:
            continue
        object_id = live_ids.get(resource.key)
        if object_id is not None:
            owned[(resource.kind, object_id)] = Owned(resource.kind, resource.name, object_id)
    kept = tuple(o for key, o in owned.items() if key not in deleted)
    return Ledger(ledger.stack, kept)
