"""The pull-request view of a plan: ``--format markdown``, posted by CI as a PR comment.

A heading, a summary table, then one collapsed ``<details>`` section per change, so a long plan
stays short on the page and a reviewer opens what they care about. Values come from manifests
and from the live account, so none of them may become markup: table cells are escaped, long
strings go in fenced ``diff`` blocks whose fence outruns any backtick run inside, and
single-line values are cut to fit the page (``--format json`` has them whole). Every value that
holds a secret reads ``(sensitive)``. The output depends on the plan alone: no clock, no paths
of this machine.
"""

from __future__ import annotations

import html
import re
from typing import Any

from reconciler.changes.change import Action, Change
from reconciler.changes.diff import FieldChange
from reconciler.changes.items import ItemChange
from reconciler.engine.plan import Plan
from reconciler.redact import MASK, contains_secret
from reconciler.render.fieldview import created_view, field_view, item_counts, item_leaves, tool_names
from reconciler.render.values import cut, is_long_text, is_wide, line_diff, one_line, pretty_lines, value_diff
from reconciler.render.versions import markdown_lines as version_markdown

__all__ = ["CELL_LIMIT", "COMMENT_LIMIT", "render_plan"]

CELL_LIMIT = 80
COMMENT_LIMIT = 65_536
"""GitHub's limit on the characters of one comment: a markdown plan always stays under it."""
"""Characters of one value in a table cell; a PR comment is about 100 columns of code wide."""

SYMBOLS = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-", Action.ADOPT: "&"}
ITEM_SYMBOLS = {"added": "+", "removed": "-", "changed": "~", "moved": "~"}
VERBS = {Action.CREATE: "created", Action.UPDATE: "updated", Action.DELETE: "deleted", Action.ADOPT: "adopted"}
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*\[|~])|(?<![^\W_])_|_(?![^\W_])")
"""What could open code, emphasis, a link, strike-through or end a cell. ``_`` between two
letters or digits opens nothing in GFM, so ``order_id`` stays as it is."""
_BACKTICK_RUNS = re.compile(r"`+")


def escape_cell(text: str) -> str:
    """Text that renders as itself in a GFM table cell: no tag, entity, emphasis, link or column break.

    ``<``, ``>`` and ``&`` become entities (so no value is ever raw HTML); what markdown would
    read as markup, and ``|`` that would end the cell, is backslash-escaped.
    """
    return _MARKDOWN_PUNCTUATION.sub(lambda m: "\\" + m.group(0), html.escape(text, quote=False))


def code(text: str) -> str:
    """A value in a table cell: monospaced, and escaped because values come from outside."""
    return f"<code>{escape_cell(text)}</code>"


def code_span(text: str) -> str:
    """A field path as a markdown code span, which shows its content literally (HTML included).

    The delimiter is a backtick run that occurs nowhere inside, padded when the text starts or
    ends with a backtick; ``|`` is still escaped because GFM splits cells before reading spans.
    """
    runs = {len(run) for run in _BACKTICK_RUNS.findall(text)}
    ticks = "`" * next(n for n in range(1, len(runs) + 2) if n not in runs)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text.replace('|', chr(92) + '|')}{pad}{ticks}"


def fence_for(lines: list[str]) -> str:
    """A backtick fence longer than any run of backticks in ``lines``, so a value cannot close it."""
    longest = max((len(run) for line in lines for run in _BACKTICK_RUNS.findall(line)), default=0)
    return "`" * max(3, longest + 1)


def diff_block(lines: list[str]) -> list[str]:
    fence = fence_for(lines)
    return [f"{fence}diff", *lines, fence]


def _is_text_pair(before: Any, after: Any) -> bool:
    """Both sides are text (or absent) and one of them is long: worth a line diff."""
    texts = all(value is None or isinstance(value, str) for value in (before, after))
    return texts and (is_long_text(before) or is_long_text(after))


class MarkdownView:
    """Renders one plan; remembers whether any value was cut, to say where the whole one is."""

    def __init__(self, secrets: frozenset[str], names: dict[str, str] | None = None) -> None:
        self.secrets = secrets
        self.cut = False
        self.names = names or {}

    def value(self, value: Any) -> str:
        """One cell: ``(sensitive)``, or the value as one-line JSON, cut and escaped."""
        if contains_secret(value, self.secrets):
            return MASK
        whole = one_line(value)
        self.cut = self.cut or len(whole) > CELL_LIMIT
        return code(cut(whole, CELL_LIMIT))

    def plan(self, plan: Plan) -> str:
        kept = [f"- {code_span(a)} is protected: kept although no manifest states it" for a in plan.protected]
        kept += [f"- {code_span(a)} is still used by {', '.join(users)}: kept although no manifest states it"
                 for a, users in plan.in_use.items()]
        if plan.is_empty:
            matched = len(plan.unchanged)
            noun = "object matches" if matched == 1 else "objects match"
            lines = [f"No changes. {matched} {noun} the manifests."]
            if kept:
                lines.extend(["", *kept])
            return "\n".join(lines) + "\n"
        counts = plan.summary
        lines = [
            "### reconciler plan",
            "",
            "| + create | ~ update | - delete | unchanged |",
            "|---:|---:|---:|---:|",
            f"| {counts['create']} | {counts['update']} | {counts['delete']} | {len(plan.unchanged)} |",
            "",
        ]
        if step_note(plan):
            note = step_note(plan).removeprefix("; plus ")
            lines.extend([f"Plus {note}: a second write to an object counted above.", ""])
        if counts["adopt"]:
            adopt = counts["adopt"]
            lines.extend([f"{adopt} existing {_objects(adopt)} will be adopted into this stack.", ""])
        lines.extend(f"> **{line}**" for line in refusal_lines(plan))
        if plan.refusals or plan.warnings:
            lines.append("")
        lines.extend(version_markdown(plan))
        if kept:
            lines.extend([*kept, ""])
        sections = [[*self.change(change), ""] for change in plan.changes]
        tail: list[str] = []
        if self.cut:
            tail = ["Values marked … are cut to fit; `reconciler plan --format json` shows them whole.", ""]
        return "\n".join(self.fitted(lines, sections, tail, plan.changes)[:-1]) + "\n"

    def fitted(self, head: list[str], sections: list[list[str]], tail: list[str],
               changes: tuple[Change, ...]) -> list[str]:
        """Head, sections and tail, under ``COMMENT_LIMIT`` characters in all.

        The summary table stays first. Sections that do not fit keep only their one-line summary
        (then, if even those do not fit, a count), and a note above them says where the whole
        plan is. Lines are counted with their newline.
        """
        def size(block: list[str]) -> int:
            return sum(len(line) + 1 for line in block)

        whole = [*head, *(line for section in sections for line in section), *tail]
        if size(whole) < COMMENT_LIMIT:
            return whole
        budget = COMMENT_LIMIT - size(head) - size(tail) - 600  # the note, and room to spare
        kept: list[str] = []
        shown = 0
        for section in sections:
            if size(section) > budget - 200 * (len(sections) - shown):  # leave a line per later change
                break
            kept.extend(section)
            budget -= size(section)
            shown += 1
        short_lines: list[str] = []
        for change in changes[shown:]:
            line = f"- {self.summary(change).removeprefix('<details><summary>').removesuffix('</summary>')}"
            if size([line]) > budget - 100:
                break
            short_lines.append(line)
            budget -= size([line])
        left = len(sections) - shown
        unnamed = left - len(short_lines)
        note = [
            f"> **This comment is cut to fit GitHub's {COMMENT_LIMIT:,}-character limit: the details of {left} "
            f"{'change are' if left == 1 else 'changes are'} left out. The whole plan is the `plan.json` this "
            "job saved (`reconciler plan --out plan.json`); `reconciler show plan.json` prints it.**",
            "",
        ]
        rest = [*short_lines, *([f"- … and {unnamed} more"] if unnamed else []), ""]
        return [*head, *note, *kept, *rest, *tail]

    def summary(self, change: Change) -> str:
        """The one line a reviewer sees before opening the section; HTML context, so html-escaped."""
        text = f"<code>{SYMBOLS[change.action]}</code> <b>{html.escape(change.address)}</b>"
        if change.action is not Action.CREATE and isinstance(change.live_id, str):
            text += f" (<code>{html.escape(change.live_id)}</code>)"
        text += f" will be {VERBS[change.action]}"
        if change.step:
            text += f" ({html.escape(change.step)})"
        if change.note:
            text += f": <i>{html.escape(change.note)}</i>"
        return f"<details><summary>{text}</summary>"

    def change(self, change: Change) -> list[str]:
        lines = [self.summary(change), ""]
        if change.file:
            where = change.file if change.line is None else f"{change.file}:{change.line}"
            lines.extend([f"Declared in {code_span(where)}", ""])
        if change.action is not Action.DELETE and change.before is not None:
            # Updates, and candidate versions rebuilt from an older one: both sides are known.
            body = self.updated(change.fields)
        else:
            body = self.single_sided(change)
        lines.extend(body or ["No field to show.", ""])
        lines.append("</details>")
        return lines

    def single_sided(self, change: Change) -> list[str]:
        """New objects, link steps and deletes: one value per field (what is set, or what goes away)."""
        deleting = change.action is Action.DELETE
        rows: list[str] = []
        texts: list[str] = []
        for field in change.fields:
            if not deleting:
                field = created_view(field, self.names)
            value = (field.before if field.before is not None else field.after) if deleting else field.after
            sign = "-" if deleting else "+"
            if isinstance(value, str) and is_long_text(value) and not contains_secret(value, self.secrets):
                texts.extend(self.collapsed(field, [sign + line for line in value.splitlines()]))
            elif is_wide(value, CELL_LIMIT) and not contains_secret(value, self.secrets):
                lines = [sign + line for line in pretty_lines(value)]  # whole: a cut could hide what matters
                texts.extend(self.text_block(field, lines) if len(lines) <= 3 else self.collapsed(field, lines))
            else:
                rows.append(f"| {code_span(field.dotted)} | {self.value(value)} |")
        header = "| field | current value |" if deleting else "| field | value |"
        table = [header, "|---|---|", *rows, ""] if rows else []
        return table + texts

    def updated(self, fields: tuple[FieldChange, ...]) -> list[str]:
        """Changes to something live: before and after per field, a line diff for long text."""
        rows: list[str] = []
        texts: list[str] = []
        for original in fields:
            view = field_view(original.path, original.before, original.after, self.names)
            if view.items is not None:
                texts.extend(self.items(view.dotted, view.items))
                continue
            field = FieldChange(view.path, view.before, view.after)
            secret = contains_secret(field.before, self.secrets) or contains_secret(field.after, self.secrets)
            if not secret and view.whitespace:
                rows.append(f"| {code_span(field.dotted)} | {escape_cell(view.whitespace)} | |")
                continue
            if not secret and _is_text_pair(field.before, field.after):
                lines = line_diff(field.before or "", field.after or "")
                if lines:  # texts that differ only in a trailing newline have no line diff
                    texts.extend(self.text_block(field, lines))
                    continue
            if not secret and (is_wide(field.before, CELL_LIMIT) or is_wide(field.after, CELL_LIMIT)):
                texts.extend(self.text_block(field, value_diff(field.before, field.after)))
                continue  # a cut cell could hide the very difference: the whole values, as lines
            if secret:
                before = "(absent)" if field.before is None else MASK
                after = "null" if field.after is None else MASK
            else:
                before = "(absent)" if field.before is None else self.value(field.before)
                after = code("null") if field.after is None else self.value(field.after)
            rows.append(f"| {code_span(field.dotted)} | {before} | {after} |")
        table = ["| field | before | after |", "|---|---|---|", *rows, ""] if rows else []
        return table + texts

    def items(self, dotted: str, items: tuple[ItemChange, ...]) -> list[str]:
        """A list of objects item by item: one row per field of each added or changed item."""
        rows: list[str] = []
        below: list[str] = []
        for item in items:
            head = f"{escape_cell(ITEM_SYMBOLS[item.status])} {escape_cell(item.label)} ({escape_cell(item.note)})"
            if item.status == "added":
                fields = [FieldChange(f.path, None, f.after) for f in item_leaves(item.after)]
            else:
                fields = list(item.fields)
            if not fields:
                rows.append(f"| {head} | | | |")
            for number, original in enumerate(fields):
                view = field_view(original.path, original.before, original.after, self.names)
                field = FieldChange(view.path, view.before, view.after)
                secret = contains_secret(field.before, self.secrets) or contains_secret(field.after, self.secrets)
                if not secret and (is_long_text(field.before) or is_long_text(field.after)
                                   or is_wide(field.before, CELL_LIMIT) or is_wide(field.after, CELL_LIMIT)):
                    # too long for a cell: whole, below the table, under the item's label
                    whole = FieldChange((f"{dotted} {item.label}", *field.path), field.before, field.after)
                    lines = (line_diff(field.before or "", field.after or "")
                             if _is_text_pair(field.before, field.after)
                             else value_diff(field.before, field.after))
                    below.extend(self.text_block(whole, lines))
                    before = after = "_whole below_"
                else:
                    before = "" if item.status == "added" else (
                        "(absent)" if field.before is None else MASK if secret else self.value(field.before))
                    after = code("null") if field.after is None else MASK if secret else self.value(field.after)
                rows.append(f"| {head if number == 0 else ''} | {code_span(field.dotted)} | {before} | {after} |")
        return [f"{code_span(dotted)}: {item_counts(items)}", "",
                "| item | field | before | after |", "|---|---|---|---|", *rows, "", *below]

    def collapsed(self, field: FieldChange, lines: list[str]) -> list[str]:
        """A new long text, whole, folded under its name and length so the page stays short."""
        count = len(lines)
        summary = f"<code>{html.escape(field.dotted)}</code> ({count} {'line' if count == 1 else 'lines'})"
        return [f"<details><summary>{summary}</summary>", "", *diff_block(lines), "", "</details>", ""]

    def text_block(self, field: FieldChange, lines: list[str]) -> list[str]:
        """A long string as a labelled ``diff`` block; fenced code is literal, so no escaping inside."""
        return [code_span(field.dotted), "", *diff_block(lines), ""]


COUNTED_STEPS = frozenset({"promote", "staged"})
"""Steps the summary counts as the object's change (Plan.summary), so not again as a step."""


def step_note(plan: Plan) -> str:
    """``; plus 1 link step``: second writes of objects already counted, so the counts match the list."""
    steps: dict[str, int] = {}
    for change in plan.changes:
        if change.step and change.step not in COUNTED_STEPS:
            steps[change.step] = steps.get(change.step, 0) + 1
    if not steps:
        return ""
    return "; plus " + ", ".join(f"{n} {step} {'step' if n == 1 else 'steps'}" for step, n in steps.items())


def _objects(count: int) -> str:
    return "object" if count == 1 else "objects"


def refusal_lines(plan: Plan) -> list[str]:
    """What a reviewer must know before approving: warnings, and whether apply will refuse."""
    lines = [f"Warning: {warning}." for warning in plan.warnings]
    if plan.forced:
        return lines + [f"Approved with --force at plan time: {problem}." for problem in plan.refusals]
    return lines + [f"Apply will refuse without --force: {problem}." for problem in plan.refusals]


def render_plan(plan: Plan) -> str:
    """The plan as GitHub-flavoured markdown for a pull-request comment."""
    return MarkdownView(plan.secrets, tool_names(plan.live_ids)).plan(plan)
