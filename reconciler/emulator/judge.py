"""The emulator's deterministic judge of assistant test runs: quoted terms against an assistant's text.

Why: a real test run is an LLM conversation graded by an LLM; the emulator has neither, but a client
still needs runs that pass and fail for reasons it controls. So a rubric item names the words it
expects, and the judge looks for them in what the target assistant version says about itself:

1. The terms of a rubric item are the phrases in double quotes ("...") or backticks (`...`) in its criteria.
2. The item passes when every term occurs, ignoring case, in the version's answer text (`answer_text`);
   the logs name each missing term. An item with no term passes, and the logs say nothing was checked.
3. The answer text: instructions, greeting, each tool's type and every name and description in it
   (inline and attached shared tools), and the names of attached MCP servers.
4. The simulated conversation lasts 20 + 10 x (rubric items) seconds; a smaller max_duration_seconds
   makes the run an `error` whose logs start with `timeout:`. A run passes when every item passes.

Everything here is a pure function of plain data; the store decides when to call it (at trigger time).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

BASE_SECONDS = 20
SECONDS_PER_ITEM = 10
TERM = re.compile(r'"([^"]*)"|`([^`]*)`')
NAMED_KEYS = frozenset({"name", "display_name", "description"})
"""Keys whose string values inside a tool count as its names and descriptions."""


@dataclass(frozen=True)
class Verdict:
    """A finished run's outcome: status passed|failed|error, one detail per rubric item, the logs."""

    status: str
    detail_status: list[JSON] = field(default_factory=list)
    logs: str = ""

    def as_json(self) -> JSON:
        return {"status": self.status, "detail_status": [dict(d) for d in self.detail_status], "logs": self.logs}


def terms(criteria: str) -> list[str]:
    """The quoted ("...") and backticked (`...`) phrases of a criteria text, in order; blanks skipped."""
    found = (double or tick for double, tick in TERM.findall(criteria))
    return [term for term in found if term.strip()]


def conversation_seconds(rubric_items: int) -> int:
    """How long the emulator's simulated test conversation lasts."""
    return BASE_SECONDS + SECONDS_PER_ITEM * rubric_items


def _named_strings(node: Any) -> Iterator[str]:
    """Every string under a key in NAMED_KEYS, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in NAMED_KEYS and isinstance(value, str):
                yield value
            else:
                yield from _named_strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _named_strings(item)


def tool_text(tool: JSON) -> list[str]:
    """A tool's type, then every name and description inside it (inline or shared tool shape)."""
    kind = tool.get("type")
    return [*([kind] if isinstance(kind, str) else []), *_named_strings(tool)]


def answer_text(config: JSON, shared_tools: Iterable[JSON] = (), mcp_server_names: Iterable[str] = ()) -> str:
    """What the judge searches: one line per piece of text the version carries (see the module doc)."""
    lines = [str(config[key]) for key in ("instructions", "greeting") if isinstance(config.get(key), str)]
    for tool in config.get("tools") or []:
        if isinstance(tool, dict):
            lines.extend(tool_text(tool))
    for shared in shared_tools:
        lines.extend(tool_text(shared))
    lines.extend(mcp_server_names)
    return "\n".join(lines)


def _quoted(values: Iterable[str]) -> str:
    return ", ".join(f'"{v}"' for v in values)


def _names(rubric: list[JSON]) -> list[str]:
    return [str(item.get("name", "")) for item in rubric]


def all_items(rubric: list[JSON], status: str) -> list[JSON]:
    """The same status for every rubric item."""
    return [{"name": name, "status": status} for name in _names(rubric)]


def timed_out(rubric: list[JSON], limit: int | None, scripted_by: str | None = None) -> Verdict:
    """Every item `error`; logs start with `timeout:` and name the limit (and who forced it, if scripted)."""
    shown = f"max_duration_seconds {limit}" if limit is not None else "the default limit (no max_duration_seconds)"
    if scripted_by is not None:
        logs = f"timeout: the run went past {shown} ({scripted_by})"
    else:
        needed = conversation_seconds(len(rubric))
        logs = (
            f"timeout: the simulated conversation takes {needed} s ({BASE_SECONDS} + {SECONDS_PER_ITEM} x "
            f"{len(rubric)} rubric items), longer than {shown}"
        )
    return Verdict("error", all_items(rubric, "error"), logs)


def unreachable(rubric: list[JSON], destination: str) -> Verdict:
    """A destination the emulator cannot call: every item `error`, and logs that say why."""
    logs = (
        f"error: the emulator reaches assistants only by id; destination {destination!r} is not an "
        "assistant in this emulator, so no conversation took place"
    )
    return Verdict("error", all_items(rubric, "error"), logs)


def judge(rubric: list[JSON], answer: str, max_duration_seconds: int | None = None) -> Verdict:
    """The verdict of the rules in the module doc on one rubric and one answer text."""
    limit = max_duration_seconds
    if limit is not None and limit < conversation_seconds(len(rubric)):
        return timed_out(rubric, limit)
    haystack = answer.casefold()
    details: list[JSON] = []
    lines: list[str] = []
    for item in rubric:
        name = str(item.get("name", ""))
        wanted = terms(str(item.get("criteria", "")))
        missing = [term for term in wanted if term.casefold() not in haystack]
        if not wanted:
            lines.append(f"PASS {name}: no quoted term, nothing the emulator could check")
        elif missing:
            lines.append(f"FAIL {name}: missing {_quoted(missing)}")
        else:
            lines.append(f"PASS {name}: found {_quoted(wanted)}")
        details.append({"name": name, "status": "failed" if missing else "passed"})
    passed = sum(d["status"] == "passed" for d in details)
    status = "passed" if passed == len(details) else "failed"
    lines.append(f"result: {status} ({passed} of {len(details)} rubric items passed)")
    return Verdict(status, details, "\n".join(lines))
