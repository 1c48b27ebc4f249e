"""What one test run found, in terms a report can print without knowing the API.

The API's run statuses are ``pending|starting|running`` (not finished) and ``passed|failed|error``.
A run that ran past its time limit is reported by Telnyx as ``error``; its logs say ``timeout``, and
a run this command gave up waiting for is a timeout too. Both are told apart from other errors,
because the fix differs (a longer limit, or a faster assistant).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

FINAL_STATUSES = frozenset({"passed", "failed", "error", "timeout"})
"""A run is over only in one of these: an in-progress status we never saw (``queued``) keeps the wait going,
bounded by ``--timeout`` and ``max_duration_seconds``."""


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    TIMEOUT = "timeout"


@dataclass(frozen=True)
class RubricResult:
    name: str
    status: str


@dataclass(frozen=True)
class TestTarget:
    """One test to run: its manifest name, live id, and what it talks to."""

    __test__ = False  # not a pytest class, whatever its name

    name: str
    test_id: str
    suite: str | None
    assistant: str | None
    """The Assistant document it names, None for a raw destination."""
    version: str
    """``main`` or the candidate's name, as the user asked."""
    version_id: str | None
    """Sent as destination_version_id; None runs on the main version."""
    max_duration_seconds: int | None = None


@dataclass(frozen=True)
class RunResult:
    """A finished (or abandoned) run of one test."""

    target: TestTarget
    run_id: str | None
    outcome: Outcome
    status: str
    """The last status Telnyx reported."""
    rubric: tuple[RubricResult, ...] = ()
    logs: str = ""
    seconds: float = 0.0
    reason: str = ""
    """Why, when the outcome is not ``passed``: one line."""


@dataclass(frozen=True)
class TestReport:
    __test__ = False

    results: tuple[RunResult, ...]
    seconds: float = 0.0
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.outcome is Outcome.PASSED for r in self.results)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)


def is_finished(run: Mapping[str, Any]) -> bool:
    return str(run.get("status", "")) in FINAL_STATUSES


def rubric_of(run: Mapping[str, Any]) -> tuple[RubricResult, ...]:
    items = run.get("detail_status")
    if not isinstance(items, Sequence) or isinstance(items, str):
        return ()
    return tuple(
        RubricResult(str(item.get("name", "?")), str(item.get("status", "?")))
        for item in items
        if isinstance(item, Mapping)
    )


def classify(run: Mapping[str, Any]) -> tuple[Outcome, str]:
    """The outcome of a finished run and the one-line reason when it did not pass."""
    status = str(run.get("status", ""))
    logs = str(run.get("logs") or "")
    rubric = rubric_of(run)
    if status == "passed":
        return Outcome.PASSED, ""
    if status == "failed":
        failed = [item.name for item in rubric if item.status == "failed"]
        return Outcome.FAILED, ("rubric failed: " + ", ".join(failed)) if failed else first_line(logs) or "failed"
    if status == "timeout" or logs.lower().startswith("timeout"):
        return Outcome.TIMEOUT, first_line(logs) or "the conversation ran past its time limit"
    if status == "error":
        return Outcome.ERROR, first_line(logs) or "the run ended in an error"
    return Outcome.ERROR, f"unexpected run status {status!r}"


def first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= 200 else line[:199] + "…"
