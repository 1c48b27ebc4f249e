"""Shared value formatting for the human-facing views."""

from __future__ import annotations

import difflib
import json
from typing import Any

from reconciler.changes.refs import Pending

SHORT_LIMIT = 100
DIFF_COLOURS = {"+": "green", "-": "red", "@": "cyan"}
"""Terminal colour of a line-diff line, by its first character."""


def one_line(value: Any) -> str:
    """A value as one line of JSON, whole; an id known only after apply reads as such, unquoted."""
    if isinstance(value, Pending):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=False, default=str)


def cut(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters, else its start and an ellipsis, ``limit`` in all."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short(value: Any, limit: int = SHORT_LIMIT) -> str:
    """One-line JSON for a value, cut with an ellipsis when longer than ``limit``.

    Ids that only exist after apply read ``(known after apply: Kind/name)`` and are never cut.
    """
    if isinstance(value, Pending):
        return str(value)
    return cut(one_line(value), limit)


def is_long_text(value: Any) -> bool:
    """Strings worth a line diff rather than a before/after pair."""
    return isinstance(value, str) and ("\n" in value.rstrip("\n") or len(value) > SHORT_LIMIT)


def line_diff(before: str, after: str, context: int = 2) -> list[str]:
    """A unified diff of two texts without the file headers: lines starting ' ', '-', '+', '@'."""
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=context)
    return [line for line in lines if not line.startswith(("---", "+++"))]


def pretty_lines(value: Any) -> list[str]:
    """A value as indented JSON lines, whole (ids known only after apply read as such)."""
    if value is None:
        return []
    return json.dumps(value, ensure_ascii=False, indent=2, default=str).splitlines()


def is_wide(value: Any, limit: int = SHORT_LIMIT) -> bool:
    """A value whose one-line form would be cut at ``limit``: shown as lines instead, so no difference hides."""
    return value is not None and not isinstance(value, Pending) and len(one_line(value)) > limit


def value_diff(before: Any, after: Any, context: int = 2) -> list[str]:
    """A line diff of two values as indented JSON (``None`` is nothing)."""
    return line_diff("\n".join(pretty_lines(before)), "\n".join(pretty_lines(after)), context)
