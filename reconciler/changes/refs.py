"""Ids of managed objects by name, including ones that only exist after apply.

A manifest refers to other objects by name; the API wants ids. While planning, a name whose
object already exists resolves to its id, and a name whose object the plan creates resolves to
``Pending``, which apply replaces once the create has answered.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.errors import ReconcilerError


@dataclass(frozen=True)
class Pending:
    """The id of an object this plan creates: known only after apply."""

    kind: str
    name: str

    @property
    def address(self) -> str:
        return f"{self.kind}/{self.name}"

    def __str__(self) -> str:
        return f"(known after apply: {self.address})"


class IdIndex:
    """``(kind, name) -> id``; thread-safe because apply records ids from parallel workers."""

    def __init__(self) -> None:
        self._ids: dict[tuple[str, str], str | Pending] = {}
        self._lock = threading.Lock()

    @classmethod
    def of(cls, known: Mapping[tuple[str, str], str]) -> IdIndex:
        """An index holding ``known`` ids (what planning read; where apply starts)."""
        index = cls()
        index._ids.update(known)
        return index

    def set(self, kind: str, name: str, object_id: str) -> None:
        with self._lock:
            self._ids[(kind, name)] = object_id

    def ref(self, kind: str, name: str) -> str | Pending:
        """The id for a name; a name nothing knows yet is treated as created by this plan."""
        with self._lock:
            return self._ids.get((kind, name)) or Pending(kind, name)

    def get(self, kind: str, name: str) -> str | Pending | None:
        with self._lock:
            return self._ids.get((kind, name))

    def resolve(self, value: Any) -> Any:
        """A copy of ``value`` with every ``Pending`` replaced by the id apply has recorded."""
        if isinstance(value, Pending):
            found = self.get(value.kind, value.name)
            if not isinstance(found, str):
                raise ReconcilerError(f"{value.address} has no id yet: it was not created")
            return found
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value


def pending_in(value: Any) -> Iterator[Pending]:
    """Every ``Pending`` inside a value, depth first."""
    if isinstance(value, Pending):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from pending_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from pending_in(item)
