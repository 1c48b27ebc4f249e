"""Views of a drift report: text for terminals, markdown for CI summaries and issues, JSON for programs.

None of them computes: ``reconciler.engine.drift`` decides what drifted and has already replaced secret
values by ``(sensitive)``. The JSON document is stable (``format_version``) and documented in
docs/drift.md; a new key may appear, none changes meaning.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from typing import Any

import click

from reconciler.engine.drift import DriftField, DriftObject, DriftReport, DriftStatus
from reconciler.redact import MASK
from reconciler.render.fieldview import field_view, item_counts, item_leaves
from reconciler.render.json import item_document, plain
from reconciler.render.markdown import diff_block
from reconciler.render.values import DIFF_COLOURS, cut, is_long_text, is_wide, line_diff, one_line, short, value_diff

__all__ = ["drift_document", "render_drift", "render_json", "render_markdown", "render_text"]

FORMAT_VERSION = 1
CELL_LIMIT = 60
"""Widest value in a markdown table cell, so a table fits a page."""
DIFF_WIDTH = 100
"""Longest line of a markdown diff block; longer lines continue on the next line."""

ITEM_SIGNS = {"added": "+", "removed": "-", "changed": "~", "moved": "~"}
STATUS_COLOURS = {DriftStatus.MISSING: "red", DriftStatus.CHANGED: "yellow", DriftStatus.EXTRA: "magenta"}
EXPLANATIONS = {
    DriftStatus.MISSING: "in the manifests, not in the account",
    DriftStatus.EXTRA: "in the account and owned by this stack, not in the manifests",
}


def _summary_counts(report: DriftReport) -> str:
    return f"{report.missing} missing, {report.changed} changed, {report.extra} extra; {len(report.matching)} in sync"


def _matching(report: DriftReport) -> str:
    count = len(report.matching)
    return f"{count} {'object matches' if count == 1 else 'objects match'} the manifests"


def _is_text_diff(field: DriftField) -> bool:
    """A long string against a string or nothing reads best as a line diff."""
    if field.sensitive:
        return False
    sides = (field.live, field.desired)
    return all(isinstance(v, str) or v is None for v in sides) and any(is_long_text(v) for v in sides)


def _text_diff(field: DriftField) -> list[str]:
    return line_diff(field.live or "", field.desired or "")


def _side(value: Any, sensitive: bool, absent: str) -> str:
    """One side of a field in the text view: masked, ``absent`` when missing, else short JSON."""
    if sensitive and value is not None:
        return MASK
    return absent if value is None else short(value, 200)


# -- text -----------------------------------------------------------------------------------


class TextView:
    """One block per drifted object; ``color`` decides whether ANSI styles are added."""

    def __init__(self, color: bool = False) -> None:
        self.color = color
        self.names: Mapping[str, str] = {}

    def _style(self, text: str, fg: str | None = None, bold: bool = False) -> str:
        return click.style(text, fg=fg, bold=bold or None) if self.color else text

    def report(self, report: DriftReport) -> str:
        self.names = report.names
        kept = [f"  ! {address} is protected: kept although no manifest states it" for address in report.protected]
        if report.in_sync:
            return "\n".join([f"No drift: {_matching(report)}.", *kept]) + "\n"
        lines = ["The live account differs from the manifests:", ""]
        for obj in report.objects:
            lines.extend(self._object(obj))
            lines.append("")
        if kept:
            lines.extend([*kept, ""])
        lines.extend(_assistant_hint(report))
        lines.append(self._style(f"Drift: {_summary_counts(report)}.", bold=True))
        return "\n".join(lines) + "\n"

    def _object(self, obj: DriftObject) -> list[str]:
        status = self._style(f"{obj.status.value:<7}", fg=STATUS_COLOURS[obj.status])
        head = f"  {status}  {self._style(obj.address, bold=True)}"
        if obj.id:
            head += f" ({obj.id})"
        lines = [head]
        if obj.status in EXPLANATIONS:
            lines.append(f"      {EXPLANATIONS[obj.status]}")
        for field in obj.fields:
            lines.extend(self._field(field))
        return lines

    def _field(self, field: DriftField) -> list[str]:
        view = field_view(field.path, field.live, field.desired, self.names)
        if not field.sensitive and view.items is not None:
            out = [f"      {view.dotted} (live -> desired): {item_counts(view.items)}"]
            for item in view.items:
                out.append(f"          {ITEM_SIGNS[item.status]} {item.label} ({item.note})")
                inside = item_leaves(item.after) if item.status == "added" else item.fields
                for change in inside:
                    live = "" if item.status == "added" else _side(change.before, False, "(absent)") + " -> "
                    out.append(f"              {change.dotted}: {live}{_side(change.after, False, 'null')}")
            return out
        if not field.sensitive and view.whitespace:
            return [f"      {view.dotted}: {view.whitespace}"]
        if view.path != field.path:
            field = DriftField(view.path, view.before, view.after, field.sensitive)
        if _is_text_diff(field):
            out = [f"      {field.dotted} (- live, + desired):"]
            for line in _text_diff(field):
                fg = DIFF_COLOURS.get(line[:1])
                out.append("          " + (self._style(line, fg=fg) if fg else line))
            return out
        if not field.sensitive and (is_wide(field.live, 200) or is_wide(field.desired, 200)):
            out = [f"      {field.dotted} (- live, + desired):"]
            for line in value_diff(field.live, field.desired):
                fg = DIFF_COLOURS.get(line[:1])
                out.append("          " + (self._style(line, fg=fg) if fg else line))
            return out
        return [
            f"      {field.dotted}:",
            f"          live:    {_side(field.live, field.sensitive, '(absent)')}",
            f"          desired: {_side(field.desired, field.sensitive, 'null')}",
        ]


def _assistant_hint(report: DriftReport) -> list[str]:
    """How to bring the manifests in line when an assistant changed (a rollback, an edit in the portal)."""
    changed = [o.name for o in report.objects if o.kind == "Assistant" and o.status is DriftStatus.CHANGED]
    if not changed:
        return []
    return [
        f"To keep what Assistant/{changed[0]} serves now, write its live spec into the manifests with",
        f"`reconciler export --kind Assistant --name '{changed[0]}' --out DIR`; to restore the manifests, apply.",
        "",
    ]


def render_text(report: DriftReport, color: bool = False) -> str:
    return TextView(color).report(report)


# -- markdown -------------------------------------------------------------------------------


def _code(text: str) -> str:
    """Inline code that survives any backticks in ``text``."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{fence}{padded}{fence}"


def _in_cell(text: str) -> str:
    """GitHub splits table cells at every pipe, even inside code: escape them."""
    return text.replace("|", "\\|")


def _cell(value: Any, sensitive: bool, absent: str) -> str:
    if sensitive and value is not None:
        return MASK
    if value is None:
        return absent
    return _in_cell(_code(cut(one_line(value), CELL_LIMIT)))


def _wrapped(line: str) -> list[str]:
    """Cut a diff line to the page width; continuations keep the line's marker."""
    if len(line) <= DIFF_WIDTH:
        return [line]
    marker, body = line[:1], line[1:]
    width = DIFF_WIDTH - 1
    return [marker + body[i : i + width] for i in range(0, len(body), width)]


def _diff_block(field: DriftField, diff: list[str] | None = None) -> list[str]:
    lines = [wrapped for line in (_text_diff(field) if diff is None else diff) for wrapped in _wrapped(line)]
    return [
        f"<details><summary><code>{html.escape(field.dotted)}</code> (- live, + desired)</summary>",
        "",
        *diff_block(lines),
        "",
        "</details>",
        "",
    ]


def _markdown_items(field: DriftField, names: Mapping[str, str]) -> list[str] | None:
    """A list of objects item by item (None when the field is not one)."""
    view = field_view(field.path, field.live, field.desired, names)
    if field.sensitive or view.items is None:
        return None
    rows = []
    for item in view.items:
        head = _in_cell(f"{ITEM_SIGNS[item.status]} {_code(item.label)} ({item.note})")
        inside = item_leaves(item.after) if item.status == "added" else list(item.fields)
        if not inside:
            rows.append(f"| {head} | | | |")
        for number, change in enumerate(inside):
            live = "" if item.status == "added" else _cell(change.before, False, "(absent)")
            rows.append(f"| {head if number == 0 else ''} | {_in_cell(_code(change.dotted))} | {live} | "
                        f"{_cell(change.after, False, _code('null'))} |")
    return [f"{_code(view.dotted)} item by item: {item_counts(view.items)}", "",
            "| item | field | live | desired |", "| --- | --- | --- | --- |", *rows, ""]


def _markdown_object(obj: DriftObject, names: Mapping[str, str] | None = None) -> list[str]:
    head = f"### {obj.status.value}: {_code(obj.address)}"
    if obj.id:
        head += f" ({_code(obj.id)})"
    lines = [head, ""]
    if obj.status in EXPLANATIONS:
        lines.extend([EXPLANATIONS[obj.status].capitalize() + ".", ""])
    if not obj.fields:
        return lines
    lines.extend(["| field | live | desired |", "| --- | --- | --- |"])
    diffs: list[str] = []
    for field in obj.fields:
        items = _markdown_items(field, names or {})
        view = field_view(field.path, field.live, field.desired, names or {})
        if items is not None:
            live = desired = "_item by item below_"
            diffs.extend(items)
        elif view.whitespace and not field.sensitive:
            live, desired = "_same words_", view.whitespace
        elif view.path != field.path:
            live = _cell(view.before, field.sensitive, "(absent)")
            desired = _cell(view.after, field.sensitive, _code("null"))
            field = DriftField(view.path, view.before, view.after, field.sensitive)
        elif _is_text_diff(field):
            live = desired = "_line diff below_"
            diffs.extend(_diff_block(field))
        elif not field.sensitive and (is_wide(field.live, CELL_LIMIT) or is_wide(field.desired, CELL_LIMIT)):
            live = desired = "_line diff below_"  # a cut cell could hide the very difference
            diffs.extend(_diff_block(field, value_diff(field.live, field.desired)))
        else:
            live = _cell(field.live, field.sensitive, "(absent)")
            desired = _cell(field.desired, field.sensitive, _code("null"))
        lines.append(f"| {_in_cell(_code(field.dotted))} | {live} | {desired} |")
    lines.append("")
    lines.extend(diffs)
    return lines


def render_markdown(report: DriftReport) -> str:
    """A summary line, then one section with a table per drifted object."""
    kept = [f"- {_code(address)} is protected: kept although no manifest states it" for address in report.protected]
    if report.in_sync:
        lines = [f"**No drift**: {_matching(report)}.", ""]
        if kept:
            lines.extend([*kept, ""])
        return "\n".join(lines)
    lines = [f"**Drift**: {_summary_counts(report)}.", ""]
    for obj in report.objects:
        lines.extend(_markdown_object(obj, report.names))
    if kept:
        lines.extend([*kept, ""])
    return "\n".join(lines)


# -- json -----------------------------------------------------------------------------------


def _field_document(field: DriftField, names: Mapping[str, str]) -> dict[str, Any]:
    document = {"path": field.dotted, "live": plain(field.live), "desired": plain(field.desired),
                "sensitive": field.sensitive}
    view = field_view(field.path, field.live, field.desired, names)
    if field.sensitive:
        return document
    if view.path != field.path:
        document["names"] = {"path": view.dotted, "live": plain(view.before), "desired": plain(view.after)}
    elif view.whitespace:
        document["whitespace_only"] = view.whitespace
    elif view.items is not None:
        document["items"] = [item_document(item, frozenset()) for item in view.items]
    return document


def drift_document(report: DriftReport) -> dict[str, Any]:
    """The report as a JSON-ready dict, keys in the documented order."""
    return {
        "format_version": FORMAT_VERSION,
        "in_sync": report.in_sync,
        "summary": report.summary,
        "objects": [
            {
                "address": obj.address,
                "kind": obj.kind,
                "name": obj.name,
                "status": obj.status.value,
                "id": obj.id,
                "fields": [_field_document(f, report.names) for f in obj.fields],
            }
            for obj in report.objects
        ],
        "protected": list(report.protected),
    }


def render_json(report: DriftReport) -> str:
    return json.dumps(drift_document(report), indent=2, ensure_ascii=False) + "\n"


def render_drift(report: DriftReport, output_format: str, color: bool = False) -> str:
    """The report in ``text``, ``markdown`` or ``json``."""
    if output_format == "json":
        return render_json(report)
    if output_format == "markdown":
        return render_markdown(report)
    return render_text(report, color=color)
