"""The terminal view of a plan and of an apply result.

Colour only when asked for (the CLI asks on a tty without ``NO_COLOR``); every value that holds
a secret is shown as ``(sensitive)``.
"""

from __future__ import annotations

from collections.abc import Iterable

import click

from reconciler.changes.diff import FieldChange
from reconciler.changes.items import ItemChange
from reconciler.engine.apply import ApplyResult, Outcome, Status
from reconciler.engine.plan import Action, Change, Plan
from reconciler.redact import MASK, contains_secret
from reconciler.render.fieldview import created_view, field_view, item_counts, item_leaves, tool_names
from reconciler.render.markdown import VERBS, refusal_lines, step_note
from reconciler.render.values import DIFF_COLOURS, is_long_text, is_wide, line_diff, pretty_lines, short, value_diff
from reconciler.render.versions import text_lines as version_lines

SYMBOLS = {
    Action.CREATE: ("+", "green"), Action.UPDATE: ("~", "yellow"), Action.DELETE: ("-", "red"),
    Action.ADOPT: ("&", "cyan"),
}
ITEM_SYMBOLS = {"added": ("+", "green"), "removed": ("-", "red"), "changed": ("~", "yellow"),
                "moved": ("~", "yellow")}


EXPLAINED_STEPS = frozenset({"gate", "promote", "staged"})
"""Steps whose note says what happens (a gate's suite, a promotion writing no version)."""

class TextView:
    """Renders to a list of lines; ``color`` decides whether ANSI styles are added."""

    def __init__(self, color: bool = False) -> None:
        self.color = color
        self.names: dict[str, str] = {}

    def _style(self, text: str, fg: str | None = None, bold: bool = False) -> str:
        return click.style(text, fg=fg, bold=bold) if self.color else text

    def plan(self, plan: Plan) -> str:
        kept = [f"  ! {address} is protected: kept although no manifest states it" for address in plan.protected]
        kept += [f"  ! {address} is still used by {', '.join(users)}: kept although no manifest states it"
                 for address, users in plan.in_use.items()]
        if plan.is_empty:
            matched = len(plan.unchanged)
            noun = "object matches" if matched == 1 else "objects match"
            return "\n".join([f"No changes. {matched} {noun} the manifests.", *kept]) + "\n"
        self.names = tool_names(plan.live_ids)
        lines = ["reconciler will make these changes:", ""]
        for change in plan.changes:
            lines.extend(self._change(change, plan.secrets))
            lines.append("")
        if kept:
            lines.extend([*kept, ""])
        lines.extend(version_lines(plan))
        lines.append(self._summary(plan))
        lines.extend(refusal_lines(plan))
        return "\n".join(lines) + "\n"

    def _summary(self, plan: Plan) -> str:
        counts = plan.summary
        text = (
            f"Plan: {counts['create']} to create, {counts['update']} to update, "
            f"{counts['delete']} to delete"
        )
        if counts["adopt"]:
            text += f", {counts['adopt']} to adopt"
        if plan.unchanged:
            text += f", {len(plan.unchanged)} unchanged"
        text += step_note(plan)
        return self._style(text + ".", bold=True)

    def _change(self, change: Change, secrets: frozenset[str]) -> list[str]:
        symbol, colour = SYMBOLS[change.action]
        head = f"  {self._style(symbol, fg=colour)} {self._style(change.address, bold=True)} will be "
        head += VERBS[change.action]
        if change.step:
            head += f" ({change.step})"
        if change.action is not Action.CREATE and isinstance(change.live_id, str):
            head += f" ({change.live_id})"
        lines = [head]
        if change.note and (change.action is Action.ADOPT or change.step in EXPLAINED_STEPS):
            lines.append(f"      # {change.note}")
        # A second write (link step) of an object created moments before has no before: like a
        # create, it shows what it sets.
        if change.action is Action.CREATE or (change.action is Action.UPDATE and change.before is None):
            for field in change.fields:
                lines.extend(self._created_field(field, secrets))
        elif change.action in (Action.UPDATE, Action.ADOPT):
            for field in change.fields:
                lines.extend(self._updated_field(field, secrets))
        return lines

    def _created_field(self, field: FieldChange, secrets: frozenset[str], indent: str = "      ") -> list[str]:
        field = created_view(field, self.names)
        value = field.after
        if contains_secret(value, secrets):
            return [f"{indent}{field.dotted} = {MASK}"]
        if isinstance(value, str) and is_long_text(value):
            # The whole text: a reviewer approves every line of a new prompt, not its first three.
            return [f"{indent}{field.dotted} = <<", *(f"{indent}    {line}" for line in value.splitlines())]
        if is_wide(value):
            return [f"{indent}{field.dotted} = <<", *(f"{indent}    {line}" for line in pretty_lines(value))]
        return [f"{indent}{field.dotted} = {short(value)}"]

    def _updated_field(self, field: FieldChange, secrets: frozenset[str], indent: str = "      ") -> list[str]:
        tilde = self._style("~", fg="yellow")
        view = field_view(field.path, field.before, field.after, self.names)
        if view.items is not None:
            return self._items(view.dotted, view.items, secrets, indent)
        if contains_secret(field.before, secrets) or contains_secret(field.after, secrets):
            return [f"{indent}{tilde} {view.dotted}: {MASK} -> {MASK}"]
        if view.whitespace:
            return [f"{indent}{tilde} {view.dotted}: {view.whitespace}"]
        if isinstance(view.before, str) and isinstance(view.after, str) and (
            is_long_text(view.before) or is_long_text(view.after)
        ):
            out = [f"{indent}{tilde} {view.dotted}:"]
            for line in line_diff(view.before, view.after):
                fg = DIFF_COLOURS.get(line[:1])
                out.append(f"{indent}    " + (self._style(line, fg=fg) if fg else line))
            return out
        if is_wide(view.before) or is_wide(view.after):  # cut, the difference could hide: lines instead
            out = [f"{indent}{tilde} {view.dotted}:"]
            for line in value_diff(view.before, view.after):
                fg = DIFF_COLOURS.get(line[:1])
                out.append(f"{indent}    " + (self._style(line, fg=fg) if fg else line))
            return out
        before = "(absent)" if view.before is None else short(view.before)
        after = "null" if view.after is None else short(view.after)
        return [f"{indent}{tilde} {view.dotted}: {before} -> {after}"]

    def _items(self, dotted: str, items: tuple[ItemChange, ...], secrets: frozenset[str], indent: str) -> list[str]:
        """A list of objects item by item: each added, removed, moved or changed item, fields inside."""
        out = [f"{indent}{self._style('~', fg='yellow')} {dotted}: {item_counts(items)}"]
        inner = indent + "    "
        for item in items:
            symbol, colour = ITEM_SYMBOLS[item.status]
            out.append(f"{inner}{self._style(symbol, fg=colour)} {item.label} ({item.note})")
            if item.status == "added":
                for leaf in item_leaves(item.after):
                    out.extend(self._created_field(leaf, secrets, inner + "    "))
            elif item.status == "changed":
                for change in item.fields:
                    out.extend(self._updated_field(change, secrets, inner + "    "))
        return out

    def result(self, result: ApplyResult) -> str:
        lines = [self.outcome(o) for o in result.outcomes]
        applied, failed = result.count(Status.APPLIED), result.count(Status.FAILED)
        skipped = result.count(Status.SKIPPED)
        summary = f"Apply: {applied} applied, {failed} failed, {skipped} skipped."
        style = "green" if result.ok else "red"
        lines.append(self._style(summary, fg=style, bold=True))
        return "\n".join(lines) + "\n"

    def outcome(self, outcome: Outcome) -> str:
        change = outcome.change
        colour = {Status.APPLIED: "green", Status.FAILED: "red", Status.SKIPPED: "yellow"}[outcome.status]
        text = f"  {self._style(outcome.status.value, fg=colour)}  {change.action.value} {change.address}"
        if change.step:
            text += f" ({change.step})"
        if outcome.live_id:
            text += f" ({outcome.live_id})"
        if outcome.message:
            text += f": {outcome.message}"
        return text


def render_plan(plan: Plan, color: bool = False) -> str:
    return TextView(color).plan(plan)


def render_result(result: ApplyResult, color: bool = False) -> str:
    return TextView(color).result(result)


def render_outcomes(outcomes: Iterable[Outcome], color: bool = False) -> list[str]:
    view = TextView(color)
    return [view.outcome(o) for o in outcomes]
