"""One field change as the views show it: the manifest's names, lists item by item, whitespace named.

The text, markdown, JSON and drift views all start from here, so they agree on what a change is
called: ``tool_ids`` reads ``shared_tools`` with tool names (ids nothing names stay ids), a list
of objects reads as added / removed / changed items (``changes.items``), and two texts that
differ only in whitespace say so instead of showing an empty diff.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from reconciler.changes.diff import FieldChange, leaves
from reconciler.changes.items import ID_ITEM_FIELDS, ItemChange, item_changes, named_ids, named_path, whitespace_only
from reconciler.changes.refs import Pending
from reconciler.model import JsonPath, format_path

__all__ = ["FieldView", "created_view", "field_view", "item_counts", "item_leaves", "tool_names"]


@dataclass(frozen=True)
class FieldView:
    path: JsonPath
    before: Any
    after: Any
    items: tuple[ItemChange, ...] | None = None
    """Set when both sides are lists of objects and their items could be told apart."""
    whitespace: str | None = None
    """``whitespace only: …`` when two texts differ in nothing else."""

    @property
    def dotted(self) -> str:
        return format_path(self.path)


def tool_names(live_ids: Mapping[tuple[str, str], str]) -> dict[str, str]:
    """Id -> name of every object the plan read (``Plan.live_ids``): tools, servers, assistants."""
    return {object_id: name for (_kind, name), object_id in live_ids.items()}


def field_view(path: JsonPath, before: Any, after: Any, names: Mapping[str, str]) -> FieldView:
    """How to show ``before -> after`` at ``path`` (``before`` is live, ``after`` desired)."""
    if named_path(path) != path:
        return FieldView(named_path(path), named_ids(path, before, names), named_ids(path, after, names))
    whitespace = whitespace_only(before, after)
    if whitespace:
        return FieldView(path, before, after, whitespace=whitespace)
    items = item_changes(before, after)
    if items:
        noun = ID_ITEM_FIELDS.get(str(path[-1])) if path else None
        if noun:  # mcp_servers, ai_assistants: items known by an id the manifest wrote as a name
            items = [replace(item, label=_named_label(item, noun, names)) for item in items]
        return FieldView(path, before, after, items=tuple(items))
    return FieldView(path, before, after)


def _named_label(item: ItemChange, noun: str, names: Mapping[str, str]) -> str:
    """``server "crm"`` for an item whose ``id`` is a known object's (its label is ``id "…"``)."""
    value = (item.after if item.after is not None else item.before) or {}
    object_id = value.get("id") if isinstance(value, Mapping) else None
    if isinstance(object_id, Pending):
        return f'{noun} "{object_id.name}"'
    if isinstance(object_id, str) and object_id.startswith("(known after apply: "):
        return f'{noun} "{object_id.removesuffix(")").rsplit("/", 1)[-1]}"'
    if isinstance(object_id, str) and object_id in names:
        return f'{noun} "{names[object_id]}"'
    return item.label


def created_view(field: FieldChange, names: Mapping[str, str]) -> FieldChange:
    """A created field with tool ids as the manifest's names."""
    if named_path(field.path) != field.path:
        return FieldChange(named_path(field.path), None, named_ids(field.path, field.after, names))
    return field


def item_leaves(item: Any) -> list[FieldChange]:
    """An added item field by field (paths relative to the item), as a create reads."""
    return leaves(item)


def item_counts(items: Iterable[ItemChange]) -> str:
    """``1 added, 2 changed`` in a fixed order."""
    counts: dict[str, int] = {}
    for item in items:
        counts[item.status] = counts.get(item.status, 0) + 1
    return ", ".join(f"{counts[s]} {s}" for s in ("added", "changed", "moved", "removed") if s in counts)
