"""An assistant's tools as one set: inline tools plus attached shared tools.

Why: two rules span both kinds. Reads merge shared tools into `tools` after the inline ones, flagged
`shared: true` and without ids (telnyx-ai-api.md 4 and gotcha 6); and every tool type except function,
webhook and client_side_tool may appear at most once across both (400, code 10015).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from reconciler.emulator import defaults
from reconciler.emulator.errors import DuplicateToolType

MULTI_INSTANCE_TYPES = frozenset({"function", "webhook", "client_side_tool"})
JSON = dict[str, Any]


def as_assistant_tool(shared: JSON) -> JSON:
    """A shared tool in the inline tool shape: {"type": t, t: definition}, plus timeout_ms for webhooks."""
    kind = shared["type"]
    tool: JSON = {"type": kind, kind: shared["tool_definition"]}
    if kind == "webhook" and shared.get("timeout_ms") is not None:
        tool["timeout_ms"] = shared["timeout_ms"]
    return tool


def read_view(inline: list[Any] | None, shared: list[JSON]) -> list[Any] | None:
    """`tools` as reads show it; None (field omitted) when there are neither inline nor shared tools."""
    if inline is None and not shared:
        return None
    merged = defaults.read_tools(list(inline or []))
    for tool in defaults.read_tools([as_assistant_tool(s) for s in shared]):
        merged.append({**tool, "shared": True})
    return merged


def check_single_instance(inline: list[Any] | None, shared: list[JSON]) -> None:
    """Raise DuplicateToolType when a single-instance type occurs more than once across both kinds."""
    kinds = [t.get("type") for t in inline or [] if isinstance(t, dict)]
    kinds += [s["type"] for s in shared]
    repeated = sorted(str(k) for k, n in Counter(kinds).items() if n > 1 and k not in MULTI_INSTANCE_TYPES)
    if repeated:
        raise DuplicateToolType(
            f"Tool type {repeated[0]!r} may appear only once per assistant (inline and shared together)"
        )
