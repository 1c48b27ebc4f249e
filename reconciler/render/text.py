"""The terminal view of a plan and of an apply result.

Colour only when asked for (the CLI asks on a tty without ``NO_COLOR``); every value that holds
a secret is shown as ``(sensitive)``.
"""

from __future__ import annotations

from collections.abc import Iterable

import click

from reconciler.changes.diff import FieldChange
from reconciler.engine.apply import ApplyResult, Outcome, Status
from reconciler.engine.plan import Action, Change, Plan
from reconciler.redact import MASK, contains_secret
from reconciler.render.markdown import VERBS, refusal_lines
from reconciler.render.values import DIFF_COLOURS, is_long_text, line_diff, short
from reconciler.render.versions import text_lines as version_lines

SYMBOLS = {
    Action.CREATE: ("+", "green"), Action.UPDATE: ("~", "yellow"), Action.DELETE: ("-", "red"),
    Action.ADOPT: ("&", "cyan"),
}
CREATE_PREVIEW_LINES = 3


EXPLAINED_STEPS = frozenset({"gate", "promote", "staged"})
"""Steps whose note says what happens (a gate's suite, a promotion writing no version)."""

class TextView:
    """Renders to a list of lines; ``color`` decides whether ANSI styles are added."""

    def __init__(self, color: bool = False) -> None:
        self.color = color

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

    def _created_field(self, field: FieldChange, secrets: frozenset[str]) -> list[str]:
        value = field.after
        if contains_secret(value, secrets):
            return [f"      {field.dotted} = {MASK}"]
        if isinstance(value, str) and is_long_text(value):
            text_lines = value.splitlines()
            out = [f"      {field.dotted} = <<"]
            out += [f"          {line}" for line in text_lines[:CREATE_PREVIEW_LINES]]
            if len(text_lines) > CREATE_PREVIEW_LINES:
                out.append(f"          … ({len(text_lines) - CREATE_PREVIEW_LINES} more lines)")
            return out
        return [f"      {field.dotted} = {short(value)}"]

    def _updated_field(self, field: FieldChange, secrets: frozenset[str]) -> list[str]:
        tilde = self._style("~", fg="yellow")
        if contains_secret(field.before, secrets) or contains_secret(field.after, secrets):
            return [f"      {tilde} {field.dotted}: {MASK} -> {MASK}"]
        if isinstance(field.before, str) and isinstance(field.after, str) and (
            is_long_text(field.before) or is_long_text(field.after)
        ):
            out = [f"      {tilde} {field.dotted}:"]
            for line in line_diff(field.before, field.after):
                fg = DIFF_COLOURS.get(line[:1])
                out.append("          " + (self._style(line, fg=fg) if fg else line))
            return out
        before = "(absent)" if field.before is None else short(field.before)
        after = "null" if field.after is None else short(field.after)
        return [f"      {tilde} {field.dotted}: {before} -> {after}"]

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
