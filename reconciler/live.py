"""Read the live account: one list call per kind, in parallel, indexed by manifest name."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from reconciler.client import TelnyxClient
from reconciler.kinds import handler_for


@dataclass(frozen=True)
class LiveState:
    """Live objects by ``(kind, name)``; names held by several live objects keep all their ids."""

    objects: Mapping[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    duplicates: Mapping[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        return self.objects.get((kind, name))

    def names(self, kind: str) -> list[str]:
        return [name for (k, name) in self.objects if k == kind]


def index_live(kind: str, items: Iterable[dict[str, Any]]) -> LiveState:
    """Index one kind's live objects by name, remembering every name that is not unique."""
    handler = handler_for(kind)
    objects: dict[tuple[str, str], dict[str, Any]] = {}
    ids: dict[tuple[str, str], list[str]] = {}
    for item in items:
        key = (kind, handler.live_name(item))
        ids.setdefault(key, []).append(handler.live_id(item))
        objects.setdefault(key, item)
    duplicates = {key: tuple(found) for key, found in ids.items() if len(found) > 1}
    return LiveState(objects=objects, duplicates=duplicates)


def fetch_live(client: TelnyxClient, kinds: Iterable[str], parallelism: int = 8) -> LiveState:
    """List every kind concurrently and merge the indexes."""
    wanted = list(dict.fromkeys(kinds))
    with ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(wanted) or 1))) as pool:
        listed = list(pool.map(lambda kind: (kind, handler_for(kind).list_live(client)), wanted))
    objects: dict[tuple[str, str], dict[str, Any]] = {}
    duplicates: dict[tuple[str, str], tuple[str, ...]] = {}
    for kind, items in listed:
        part = index_live(kind, items)
        objects.update(part.objects)
        duplicates.update(part.duplicates)
    return LiveState(objects=objects, duplicates=duplicates)
