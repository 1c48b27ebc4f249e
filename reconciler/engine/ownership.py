"""The ownership ledger: which live objects a stack created or adopted, by id.

Pruning deletes only objects in this stack's ledger that no manifest states any more; objects
made by hand, or by another stack in the same account, are never in it and so never deleted.

    how an object enters the ledger    a create of this stack, or a visible ``adopt`` in a plan
    how it leaves                      a delete of this stack, or it is gone from the account
    another stack's claim              an id in a sibling ledger (``ownership-*.json`` in the
                                       same directory) is refused, never adopted
    a portal rename                    the ledger knows the id: plan renames it back
    crash safety                       each applied change is appended to ``<ledger>.journal``
                                       at once; loading replays it, a finished apply compacts it
    which account                      the ledger records the account it describes and refuses
                                       one where none of its objects exists (``bound_to``); the
                                       name is never the key itself

Losing the file is safe: nothing can be pruned, and every manifest object shows as ``adopt``
until an apply records it again.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from reconciler.changes.change import Action
from reconciler.engine.fingerprint import digest
from reconciler.errors import ConfigError
from reconciler.manifests.project import Project
from reconciler.model import LiveState, Resource

FORMAT = 1
OWNED_KINDS = ("Tool", "McpServer", "Assistant", "AssistantTest")


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
    account: str | None = None
    """The account the ids belong to; None in a ledger written before accounts were recorded."""

    def kinds(self) -> set[str]:
        return {o.kind for o in self.objects}

    def owns(self, kind: str, object_id: str) -> bool:
        return any(o.kind == kind and o.id == object_id for o in self.objects)

    def named(self, kind: str, name: str) -> Owned | None:
        return next((o for o in self.objects if o.kind == kind and o.name == name), None)

    def digest(self) -> str:
        """What a saved plan records: the same owned ids give the same digest, in any order."""
        return digest(sorted([o.kind, o.name, o.id] for o in self.objects))


def journal_path(path: Path) -> Path:
    return path.with_name(path.name + ".journal")


def load_ledger(path: Path, stack: str, account: str | None = None) -> Ledger:
    """The stack's ledger with its journal replayed; an absent file is an empty ledger.

    A ledger recorded for another account is refused: its ids mean nothing there, and pruning
    by them could delete another account's objects.
    """
    ledger = Ledger(stack, account=account)
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT or data.get("stack") != stack:
                raise ValueError(f"it belongs to stack {data.get('stack')!r}, format {data.get('format')!r}")
            objects = tuple(Owned(o["kind"], o["name"], o["id"]) for o in data["objects"])
            recorded = data.get("account")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"{path}: not this stack's ownership ledger: {exc}") from None
        ledger = Ledger(stack, objects, recorded if recorded is not None else account)
    return _replay(ledger, journal_path(path))


def bound_to(ledger: Ledger, account: str, live: LiveState, path: Path) -> Ledger:
    """The ledger for the account connected now, or ConfigError if it describes another account.

    The account name is derived from the key, so a rotated key looks like another account. The
    ids decide: if none of the owned objects of the kinds that were read exists, the ledger
    belongs elsewhere and pruning by it could delete another account's objects; if some do, the
    key changed and the ledger is re-bound.
    """
    if ledger.account is None or ledger.account == account:
        return replace(ledger, account=account)
    listed = [o for o in ledger.objects if o.kind in live.lists]
    present = {(kind, str(obj.get("id"))) for kind, items in live.lists.items() for obj in items}
    if listed and not any((o.kind, o.id) in present for o in listed):
        raise ConfigError(
            f"{path}: this ledger describes account {ledger.account}, and none of its objects exists in the "
            f"account connected now ({account}); use that account's ledger (ownership_file in reconciler.yaml)"
        )
    return replace(ledger, account=account)


def _replay(ledger: Ledger, journal: Path) -> Ledger:
    """Apply the journal's entries (one JSON object a line); a torn last line is ignored."""
    if not journal.is_file():
        return ledger
    owned = {(o.kind, o.id): o for o in ledger.objects}
    for line in journal.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
            key = (str(entry["kind"]), str(entry["id"]))
            if entry["op"] == "own":
                owned[key] = Owned(key[0], str(entry["name"]), key[1])
            else:
                owned.pop(key, None)
        except (ValueError, KeyError, TypeError):
            continue  # a crash mid-line leaves a torn entry; everything before it counts
    return Ledger(ledger.stack, tuple(owned.values()), ledger.account)


def record(path: Path, op: str, kind: str, name: str, object_id: str) -> None:
    """Append one applied change to the journal at once, so a crash mid-apply loses nothing."""
    if kind not in OWNED_KINDS:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"op": op, "kind": kind, "name": name, "id": object_id}) + "\n"
    with journal_path(path).open("a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def ledger_files(project: Project, local_dir: Path | None) -> list[Path]:
    """This stack's ledger and its siblings: ``ownership-*.json`` (``local-ownership-*`` with --local).

    Without a stack, the directory a stack's ledger would be in (``.reconciler`` beside the
    project file, or the local state's directory with --local). The prefix keeps the embedded
    emulator's ledgers and a real account's apart.
    """
    prefix = "local-ownership-" if local_dir is not None else "ownership-"
    if project.ownership_file is not None:
        directory = project.ownership_file.parent
    elif local_dir is not None:
        directory = local_dir
    else:
        directory = (project.source.parent if project.source is not None else Path(".")) / ".reconciler"
    files = set(directory.glob(f"{prefix}*.json"))
    if project.ownership_file is not None and project.ownership_file.is_file():
        files.add(project.ownership_file)
    return sorted(files)


def owners(paths: Iterable[Path]) -> dict[tuple[str, str], tuple[str, ...]]:
    """``(kind, id) -> the stacks`` whose ledgers (``paths``, journals replayed) own the object."""
    found: dict[tuple[str, str], set[str]] = {}
    for path in paths:
        try:
            stack = str(json.loads(path.read_text(encoding="utf-8"))["stack"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}: not an ownership ledger: {exc}") from None
        for owned in load_ledger(path, stack).objects:
            found.setdefault((owned.kind, owned.id), set()).add(stack)
    return {key: tuple(sorted(stacks)) for key, stacks in found.items()}


def other_claims(paths: Iterable[Path], stack: str) -> dict[tuple[str, str], str]:
    """``(kind, id) -> stack`` for every object another stack's ledger owns."""
    claims = {}
    for key, stacks in owners(paths).items():
        others = [s for s in stacks if s != stack]
        if others:
            claims[key] = others[0]
    return claims


def save_ledger(ledger: Ledger, path: Path) -> None:
    """Write atomically (a crash mid-write never leaves half a ledger), then drop the journal."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document: dict[str, object] = {"format": FORMAT, "stack": ledger.stack}
    if ledger.account is not None:
        document["account"] = ledger.account
    document["objects"] = [
        {"kind": o.kind, "name": o.name, "id": o.id}
        for o in sorted(ledger.objects, key=lambda o: (o.kind, o.name, o.id))
    ]
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")
    os.replace(temp, path)
    journal_path(path).unlink(missing_ok=True)


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
    Created and adopted objects are owned, deleted and vanished ones are not; an owned object a
    manifest names under a new name (a rename) is recorded under that name. Nothing is owned
    silently: an existing object enters only through an applied ``adopt``.
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
        object_id = live_ids.get(resource.key)
        if object_id is not None and (resource.kind, object_id) in owned:
            owned[(resource.kind, object_id)] = Owned(resource.kind, resource.name, object_id)
    kept = tuple(o for key, o in owned.items() if key not in deleted)
    return Ledger(ledger.stack, kept, ledger.account)
