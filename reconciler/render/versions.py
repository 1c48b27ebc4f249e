"""The version budget of a plan (``Plan.versions``) in each format: text lines, markdown, JSON.

One block per plan, one entry per assistant the apply writes versions of; nothing when it
writes none. It says how many versions the apply adds, how many are kept before and after,
and which existing versions the ten-version cap evicts, each with why apply refuses to evict
it when something protects it.
"""

from __future__ import annotations

from typing import Any

from reconciler.engine.plan import Plan
from reconciler.engine.versions import MAX_VERSIONS, EvictedVersion, VersionBudget

HEADING = f"Assistant versions (Telnyx keeps {MAX_VERSIONS} per assistant; beyond that the oldest go)"


def _count(budget: VersionBudget) -> str:
    noun = "version" if budget.created == 1 else "versions"
    return f"{budget.created} new {noun} ({budget.kept_now} kept -> {budget.kept_after})"


def _details(version: EvictedVersion) -> str:
    details = [version.version_name or "unnamed"]
    if version.created_at:
        details.append(f"created {version.created_at}")
    return ", ".join(details)


def _version(version: EvictedVersion) -> str:
    return f"{version.version_id} ({_details(version)})"


def text_lines(plan: Plan) -> list[str]:
    """The text block, ending in a blank line; empty when the plan writes no version."""
    if not plan.versions:
        return []
    lines = [f"{HEADING}:"]
    for budget in plan.versions:
        evicted = "; evicts " + ", ".join(_version(v) for v in budget.evicted) if budget.evicted else "; none evicted"
        lines.append(f"  {budget.address}: {_count(budget)}{evicted}")
        lines.extend(
            f"      ! {v.version_id} is protected: {v.protected}" for v in budget.evicted if v.protected is not None
        )
    return [*lines, ""]


def markdown_lines(plan: Plan) -> list[str]:
    """A small table, ending in a blank line; empty when the plan writes no version."""
    if not plan.versions:
        return []
    from reconciler.render.markdown import code, code_span, escape_cell  # markdown.py imports this module

    lines = [
        f"**{escape_cell(HEADING)}**",
        "",
        "| assistant | new | kept now | kept after | evicted |",
        "|---|---:|---:|---:|---|",
    ]
    for budget in plan.versions:
        evicted = (
            "<br>".join(
                f"{code(v.version_id)} ({escape_cell(_details(v))})"
                + (f" **protected: {escape_cell(v.protected)}**" if v.protected else "")
                for v in budget.evicted
            )
            or "none"
        )
        lines.append(
            f"| {code_span(budget.address)} | {budget.created} | {budget.kept_now} | {budget.kept_after} | {evicted} |"
        )
    return [*lines, ""]


def versions_document(plan: Plan) -> list[dict[str, Any]]:
    """The JSON ``versions`` key (docs/plan-json.md)."""
    return [
        {
            "address": budget.address,
            "name": budget.name,
            "id": budget.id,
            "kept_now": budget.kept_now,
            "created": budget.created,
            "kept_after": budget.kept_after,
            "evicted": [
                {
                    "version_id": v.version_id,
                    "version_name": v.version_name,
                    "created_at": v.created_at,
                    "protected": v.protected,
                }
                for v in budget.evicted
            ],
        }
        for budget in plan.versions
    ]
