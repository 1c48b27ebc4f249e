"""How a reviewer reads one field change: lists item by item, whitespace named, ids as names.

The engine records a list of another length as one change of the whole list (the API replaces
lists wholesale). Shown as two JSON blobs, the one new inline tool beside a changed webhook URL
is invisible, so the views ask this module for the list *item by item*: items are matched by
their identity, not their position, and each is ``added``, ``removed``, ``changed`` (with its
field changes inside) or ``moved``.

    list item                                   identity
    inline tool ``{type: webhook, webhook: …}`` its type and ``webhook.name`` (function likewise)
    handoff target, transfer target, rubric     ``name``
    flow node                                   ``id``

The matching is deepdiff's (``iterable_compare_func``); the rules of ``changes.diff`` still
hold inside a matched item: a key only the live side has is a server default, not a change, and
``null``, ``{}`` and ``[]`` equal absent. This runs only when a view renders a list field that
changed, never while planning, so a plan with no change costs nothing here.

Nothing here masks secrets: the views mask each value they print (``redact.contains_secret``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from reconciler.changes.diff import FieldChange, stated_differences
from reconciler.changes.refs import Pending
from reconciler.model import JsonPath

__all__ = [
    "ID_LIST_FIELDS",
    "ItemChange",
    "identity",
    "item_changes",
    "label",
    "named_ids",
    "named_path",
    "whitespace_only",
]

ItemStatus = Literal["added", "removed", "changed", "moved"]
"""``moved``: the same item at another place among the items both lists keep."""

ID_LIST_FIELDS = {"tool_ids": "shared_tools", "shared_tool_ids": "shared_tools", "shared_tool_id": "shared_tool"}
"""Request fields that hold tool ids where the manifest wrote tool names, and the manifest's name."""
ID_ITEM_FIELDS = {"mcp_servers": "server", "ai_assistants": "assistant"}
"""Lists whose items' ``id`` the manifest wrote as a name (``server: crm``, ``assistant: billing``)."""


@dataclass(frozen=True)
class ItemChange:
    """One item of a list field; ``index`` is its place in the new list (the old one if removed)."""

    status: ItemStatus
    label: str
    index: int
    before: Any
    after: Any
    fields: tuple[FieldChange, ...] = ()
    """For ``changed``: what differs inside the item, paths relative to it."""
    moved_from: int | None = None
    """The item's index in the old list when its order among the kept items changed."""

    @property
    def note(self) -> str:
        """``changed, moved from [1]``: what happened to the item, in words."""
        if self.moved_from is None:
            return self.status
        moved = f"moved from [{self.moved_from}] to [{self.index}]"
        return moved if self.status == "moved" else f"{self.status}, {moved}"


def identity(item: Any) -> tuple[str, ...] | None:
    """What names a list item across versions, or None when it has no identity (scalars, bare objects)."""
    if not isinstance(item, Mapping):
        return None
    kind = item.get("type")
    if isinstance(kind, str):
        inner = item.get(kind)
        name = inner.get("name") if isinstance(inner, Mapping) else None
        return (kind, str(name)) if isinstance(name, str) else (kind,)
    for key in ("name", "id"):
        value = item.get(key)
        if isinstance(value, str):
            return (key, value)
    return None


def label(item: Any, index: int) -> str:
    """The item as a reviewer calls it: ``webhook "lookup_order"``, ``"billing"``, ``node "start"``."""
    found = identity(item)
    if found is None:
        return f"[{index}]"
    if found[0] == "name":
        return f'"{found[1]}"'
    if found[0] == "id":
        return f'id "{found[1]}"'
    return found[0] if len(found) == 1 else f'{found[0]} "{found[1]}"'


def _is_object_list(value: Any) -> bool:
    return isinstance(value, list) and any(isinstance(item, Mapping) for item in value)


def _matches(first: Any, second: Any, level: Any = None) -> bool:
    from deepdiff.helper import CannotCompare

    one, other = identity(first), identity(second)
    if one is None or other is None:
        raise CannotCompare() from None
    return one == other


def _empty(value: Any) -> bool:
    return value is None or value == {} or value == []


def _comparable(value: Any) -> Any:
    """Ids known only after apply compare (and print) as their readable string."""
    if isinstance(value, Pending):
        return str(value)
    if isinstance(value, Mapping):
        return {key: _comparable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_comparable(item) for item in value]
    return value


def item_changes(before: Any, after: Any) -> list[ItemChange] | None:
    """A list of objects compared item by item (new order first, removed items last), or None.

    None when either side is not a list holding objects: the views show such a value whole.
    ``before`` is the live list (absent counts as empty), ``after`` the desired one.
    """
    if not isinstance(after, list) or not (before is None or isinstance(before, list)):
        return None
    if not (_is_object_list(after) or _is_object_list(before)):
        return None
    old, new = _comparable(before or []), _comparable(after)
    pairs = _pairs(old, new)
    added = set(range(len(new))) - set(pairs)
    removed = set(range(len(old))) - set(pairs.values())
    moved = _moved(pairs)
    # Pairs equal under the stated-fields rules (the live item only adds server defaults) skip
    # deepdiff, whose hashing costs about 2 ms a pair.
    inside = _inside({i: (old[was], new[i]) for i, was in pairs.items() if stated_differences(new[i], old[was])})
    out: list[ItemChange] = []
    for index, item in enumerate(after):
        if index in added:
            out.append(ItemChange("added", label(item, index), index, None, item))
            continue
        fields = inside.get(index, [])
        text = label(item, index)
        if fields:
            out.append(
                ItemChange("changed", text, index, (before or [])[pairs[index]], item, tuple(fields), moved.get(index))
            )
        elif index in moved:
            out.append(ItemChange("moved", text, index, item, item, (), moved[index]))
    for index in sorted(removed):
        out.append(ItemChange("removed", label(old[index], index), index, (before or [])[index], None))
    return out


def _pairs(old: list[Any], new: list[Any]) -> dict[int, int]:
    """New index -> old index: items of one identity pair in order; items without one pair by place."""
    waiting: dict[tuple[str, ...], list[int]] = {}
    for index, item in enumerate(old):
        key = identity(item)
        if key is not None:
            waiting.setdefault(key, []).append(index)
    pairs: dict[int, int] = {}
    for index, item in enumerate(new):
        key = identity(item)
        if key is not None and waiting.get(key):
            pairs[index] = waiting[key].pop(0)
        elif key is None and index < len(old) and identity(old[index]) is None:
            pairs[index] = index
    return pairs


def _inside(pairs: dict[int, tuple[Any, Any]]) -> dict[int, list[FieldChange]]:
    """The field changes inside each pair of items that differ, in the new item's document order.

    One deepdiff run for all the pairs (lined up as two lists, so its in-order comparison pairs
    them as given): its setup costs more than comparing a few small items.
    """
    from deepdiff import DeepDiff

    if not pairs:
        return {}
    order = sorted(pairs)
    tree = DeepDiff(
        [pairs[index][0] for index in order],
        [pairs[index][1] for index in order],
        iterable_compare_func=_matches,
        ignore_numeric_type_changes=True,
        view="tree",
        threshold_to_diff_deeper=0,
    )
    found: dict[int, list[FieldChange]] = {}
    for report, levels in tree.items():
        for level in levels:
            path = level.path(output_format="list", use_t2=True)
            change = _field(report, tuple(path[1:]), level.t1, level.t2)
            if change is not None:
                found.setdefault(order[path[0]], []).append(change)
    return {index: sorted(changes, key=lambda f: _order(pairs[index][1], f.path)) for index, changes in found.items()}


def _moved(pairs: dict[int, int]) -> dict[int, int]:
    """New index -> old index of paired items whose order among the paired items changed."""
    new_order = sorted(pairs)
    old_rank = {old: rank for rank, old in enumerate(sorted(pairs.values()))}
    return {new: pairs[new] for rank, new in enumerate(new_order) if old_rank[pairs[new]] != rank}


def _field(report: str, path: JsonPath, live: Any, desired: Any) -> FieldChange | None:
    """One deepdiff finding inside an item, under the stated-fields rules (None: not a change)."""
    from deepdiff.helper import notpresent

    live = None if live is notpresent else live
    desired = None if desired is notpresent else desired
    if report == "dictionary_item_removed":
        return None  # only the live side has it: a server default, not something the manifest states
    if report == "dictionary_item_added" and _empty(desired):
        return None  # null, {} and [] equal absent
    if report == "iterable_item_removed":
        return FieldChange(path, live, None)
    if _empty(desired) and _empty(live):
        return None
    return FieldChange(path, live, desired)


def _order(item: Any, path: JsonPath) -> tuple[int, ...]:
    """Document order of ``path`` inside ``item`` (deepdiff groups findings by kind, not position)."""
    order: list[int] = []
    node = item
    for part in path:
        if isinstance(node, Mapping) and part in node:
            order.append(list(node).index(part))
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int):
            order.append(part)
            node = node[part] if part < len(node) else None
        else:
            order.append(10**6)
            node = None
    return tuple(order)


_TRAILING = re.compile(r"[ \t]+$")


def whitespace_only(before: Any, after: Any) -> str | None:
    """How two different texts differ when they differ only in whitespace, e.g.
    ``trailing spaces on line 3; line endings CRLF -> LF``; None when words differ too."""
    if not isinstance(before, str) or not isinstance(after, str) or before == after:
        return None
    if before.split() != after.split():
        return None
    reasons: list[str] = []
    old, new = before, after
    if ("\r\n" in old) != ("\r\n" in new):
        reasons.append("line endings " + ("CRLF -> LF" if "\r\n" in old else "LF -> CRLF"))
        old, new = old.replace("\r\n", "\n"), new.replace("\r\n", "\n")
    old_lines, new_lines = old.split("\n"), new.split("\n")
    if len(old_lines) == len(new_lines):
        trailing = [
            n
            for n, (a, b) in enumerate(zip(old_lines, new_lines, strict=True), 1)
            if a != b and _TRAILING.sub("", a) == _TRAILING.sub("", b)
        ]
        if trailing:
            reasons.append(f"trailing spaces on {_lines(trailing)}")
        indent = [
            n
            for n, (a, b) in enumerate(zip(old_lines, new_lines, strict=True), 1)
            if a != b and n not in trailing and a.lstrip() == b.lstrip()
        ]
        if indent:
            reasons.append(f"indentation of {_lines(indent)}")
        inner = [
            n
            for n, (a, b) in enumerate(zip(old_lines, new_lines, strict=True), 1)
            if a != b and n not in trailing and n not in indent
        ]
        if inner:
            reasons.append(f"spacing within {_lines(inner)}")
    elif old.rstrip("\n") != new.rstrip("\n") or old.strip() != new.strip():
        reasons.append("blank lines or line breaks")
    if old.rstrip("\n") == new.rstrip("\n") or (not reasons and old.rstrip() == new.rstrip()):
        ending = len(new) - len(new.rstrip("\n")) - (len(old) - len(old.rstrip("\n")))
        if ending:
            reasons.append("newline at the end " + ("added" if ending > 0 else "removed"))
    return "whitespace only: " + ("; ".join(reasons) if reasons else "spacing")


def _lines(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:5]) + (", …" if len(numbers) > 5 else "")
    return ("line " if len(numbers) == 1 else "lines ") + shown


def named_path(path: JsonPath) -> JsonPath:
    """A field holding ids as the manifest calls it, at any depth: ``tool_ids`` -> ``shared_tools``,
    ``mcp_servers[0].id`` -> ``mcp_servers[0].server``, ``ai_assistants[0].id`` and a flow edge's
    ``assistant_id`` -> ``assistant``. Any other path is returned as it is."""
    if not path or not isinstance(path[-1], str):
        return path
    last = path[-1]
    if last in ID_LIST_FIELDS:
        return (*path[:-1], ID_LIST_FIELDS[last])
    if last == "assistant_id":
        return (*path[:-1], "assistant")
    if last == "id" and len(path) >= 3 and isinstance(path[-2], int) and path[-3] in ID_ITEM_FIELDS:
        return (*path[:-1], ID_ITEM_FIELDS[str(path[-3])])
    return path


def named_ids(path: JsonPath, value: Any, names: Mapping[str, str]) -> Any:
    """Ids in a field ``named_path`` renames, as the names the manifest used (ids nothing names stay ids)."""
    if named_path(path) == path:
        return value

    def one(item: Any) -> Any:
        if isinstance(item, Pending):
            return item.name
        return names.get(item, item) if isinstance(item, str) else item

    if isinstance(value, list):
        return [one(item) for item in value]
    return one(value)
