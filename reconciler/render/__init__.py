"""Views of plans and apply results: one module per output format, none of them computes."""

from __future__ import annotations

from reconciler.engine.plan import Plan


def render_plan_as(plan: Plan, output_format: str, color: bool = False) -> str:
    """The plan in ``text``, ``markdown`` or ``json``."""
    if output_format == "json":
        from reconciler.render import json as json_view

        return json_view.render_plan(plan)
    if output_format == "markdown":
        from reconciler.render import markdown

        return markdown.render_plan(plan)
    from reconciler.render import text

    return text.render_plan(plan, color=color)
