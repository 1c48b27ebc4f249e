"""Compare desired request bodies with live objects, looking only at what the manifest states.

Rules (design.md section 4):
- a key the manifest does not state is never a difference, whatever the server filled in;
- ``null`` equals absent (a stated ``null`` against a live value asks to clear it);
- an empty object or list equals absent;
- objects are compared key by key, recursively;
- lists are replaced wholesale by the API, so a list of another length is one change of the
  whole list; lists of the same length are compared item by item with the same rules, which
  keeps server defaults inside list items (a webhook's ``method``, a transfer's ``from``)
  from looking like drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.model import JsonPath, format_path


@dataclass(frozen=True)
class FieldChange:
    """One differing field: ``before`` is the live value (``None`` if absent)."""

    path: JsonPath
    before: Any
    after: Any

    @property
    def dotted(self) -> str:
        return format_path(self.path)


_PLAIN = (str, int, float, bool)
"""Scalar types compared by value and exact type, before any other rule (the plan's hot path)."""


def stated_differences(desired: Any, live: Any, path: JsonPath = ()) -> list[FieldChange]:
    """Every field stated in ``desired`` whose live value differs, in document order."""
    kind = type(desired)
    if kind in _PLAIN and type(live) is kind and desired == live:
        return []  # what the last rules below find too, without their isinstance checks
    if kind is dict or isinstance(desired, Mapping):
        if not (type(live) is dict or isinstance(live, Mapping)):
            return [] if live is None and not desired else [FieldChange(path, live, desired)]
        changes: list[FieldChange] = []
        for key, want in desired.items():
            have = live.get(key)
            if type(want) in _PLAIN and type(have) is type(want) and want == have:
                continue  # an unchanged scalar: no path to build, no call
            changes.extend(stated_differences(want, have, (*path, key)))
        return changes
    if isinstance(desired, list):
        if isinstance(live, list) and len(live) == len(desired):
            item_changes: list[FieldChange] = []
            for index, (want, have) in enumerate(zip(desired, live, strict=True)):
                item_changes.extend(stated_differences(want, have, (*path, index)))
            return item_changes
        if live is None and not desired:
            return []
        return [FieldChange(path, live, desired)]
    if desired is None:
        # Stating null asks for the value to be cleared; absent and null are the same thing.
        return [] if live is None else [FieldChange(path, live, None)]
    if desired == live and type(desired) is type(live):
        return []
    if isinstance(desired, int | float) and isinstance(live, int | float) and not isinstance(desired, bool):
        return [] if desired == live and not isinstance(live, bool) else [FieldChange(path, live, desired)]
    return [FieldChange(path, live, desired)]


def leaves(value: Any, path: JsonPath = ()) -> list[FieldChange]:
    """A new object as one ``None -> value`` change per leaf, so a create reads field by field.

    Objects are walked into, and so are lists of objects; lists of scalars stay whole.
    """
    if isinstance(value, Mapping) and value:
        out: list[FieldChange] = []
        for key, item in value.items():
            out.extend(leaves(item, (*path, key)))
        return out
    if isinstance(value, list) and any(isinstance(item, Mapping) for item in value):
        out = []
        for index, item in enumerate(value):
            out.extend(leaves(item, (*path, index)))
        return out
    return [FieldChange(path, None, value)]


def removed(value: Any) -> list[FieldChange]:
    """An object about to be deleted as one ``value -> None`` change per leaf (the mirror of ``leaves``)."""
    return [FieldChange(change.path, change.after, None) for change in leaves(value)]


def changed_top_level_keys(changes: list[FieldChange]) -> list[str]:
    """Top-level fields touched by ``changes``, in first-seen order (what an update must send)."""
    seen: dict[str, None] = {}
    for change in changes:
        if change.path:
            seen.setdefault(str(change.path[0]), None)
    return list(seen)


def stated_view(desired: Any, live: Any) -> Any:
    """The part of ``live`` that ``desired`` states: what a saved plan must find unchanged.

    Keys the manifest does not state are left out at every depth, so a console edit of a field
    no manifest mentions never makes a reviewed plan stale; lists of another length are kept whole.
    """
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return live
        return {key: stated_view(value, live.get(key)) for key, value in desired.items()}
    if isinstance(desired, list) and isinstance(live, list) and len(desired) == len(live):
        return [stated_view(d, item) for d, item in zip(desired, live, strict=True)]
    return live
