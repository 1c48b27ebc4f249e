"""Test results as text (a terminal or CI log), markdown (a PR comment) and JSON (scripts)."""

from __future__ import annotations

import json
from typing import Any

from reconciler.render.markdown import escape_cell
from reconciler.verify.results import Outcome, RunResult, TestReport

MARKS = {Outcome.PASSED: "✓", Outcome.FAILED: "✗", Outcome.ERROR: "!", Outcome.TIMEOUT: "⏱"}
WORDS = {Outcome.PASSED: "passed", Outcome.FAILED: "failed", Outcome.ERROR: "error", Outcome.TIMEOUT: "timed out"}
COLORS = {Outcome.PASSED: "32", Outcome.FAILED: "31", Outcome.ERROR: "31", Outcome.TIMEOUT: "33"}


LOG_LINES = 10
"""Most lines of a run's logs shown under a test that did not pass (all of them are in JSON)."""


def log_excerpt(logs: str) -> list[str]:
    lines = [line if len(line) <= 200 else line[:199] + "…" for line in logs.strip().splitlines()]
    if len(lines) > LOG_LINES:
        return [*lines[:LOG_LINES], f"… {len(lines) - LOG_LINES} more in the run's logs (--format json)"]
    return lines


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def summary(report: TestReport) -> str:
    """``3 tests: 2 passed, 1 failed.`` (outcomes with no test left out)."""
    parts = [f"{report.count(o)} {WORDS[o]}" for o in Outcome if report.count(o)]
    return f"{plural(len(report.results), 'test')}: {', '.join(parts)} ({report.seconds:.1f} s)."


def _target(result: RunResult) -> str:
    target = result.target
    where = f"Assistant/{target.assistant}" if target.assistant else "its destination"
    return f"{where} @ {target.version}"


def render_text(report: TestReport, color: bool = False) -> str:
    def paint(outcome: Outcome, text: str) -> str:
        return f"\033[{COLORS[outcome]}m{text}\033[0m" if color else text

    width = max((len(r.target.name) for r in report.results), default=0)
    lines = []
    for result in report.results:
        mark = paint(result.outcome, f"{MARKS[result.outcome]} {WORDS[result.outcome]:<9}")
        suite = f"  [{result.target.suite}]" if result.target.suite else ""
        lines.append(
            f"{mark} AssistantTest/{result.target.name:<{width}}  on {_target(result)}{suite}  {result.seconds:.1f} s"
        )
        if result.outcome is not Outcome.PASSED:
            for item in result.rubric:
                lines.append(f"      {'✓' if item.status == 'passed' else '✗'} {item.name}: {item.status}")
            if result.reason:
                lines.append(f"      {result.reason}")
            lines.extend(f"      | {line}" for line in log_excerpt(result.logs))
    lines.append("")
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


def render_markdown(report: TestReport) -> str:
    head = "✅ all tests passed" if report.passed else "❌ some tests did not pass"
    lines = [
        f"### Assistant tests: {head}",
        "",
        summary(report),
        "",
        "| | Test | Suite | Runs on | Result |",
        "|---|---|---|---|---|",
    ]
    for result in report.results:
        lines.append(
            f"| {MARKS[result.outcome]} | `{escape_cell(result.target.name)}` "
            f"| {escape_cell(result.target.suite or '')} | {escape_cell(_target(result))} "
            f"| {escape_cell(WORDS[result.outcome])} |"
        )
    details = [r for r in report.results if r.outcome is not Outcome.PASSED]
    for result in details:
        lines += [
            "",
            f"<details><summary>{MARKS[result.outcome]} {escape_cell(result.target.name)}: "
            f"{escape_cell(result.reason or WORDS[result.outcome])}</summary>",
            "",
        ]
        for item in result.rubric:
            lines.append(f"- {'✓' if item.status == 'passed' else '✗'} {escape_cell(item.name)}: {item.status}")
        if result.logs:
            lines += ["", "```text", result.logs.replace("```", "'''")[:4000], "```"]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def as_json(report: TestReport) -> dict[str, Any]:
    return {
        "passed": report.passed,
        "summary": {o.value: report.count(o) for o in Outcome},
        "seconds": round(report.seconds, 3),
        "results": [
            {
                "test": r.target.name,
                "test_id": r.target.test_id,
                "suite": r.target.suite,
                "assistant": r.target.assistant,
                "version": r.target.version,
                "version_id": r.target.version_id,
                "run_id": r.run_id,
                "outcome": r.outcome.value,
                "status": r.status,
                "reason": r.reason,
                "rubric": [{"name": i.name, "status": i.status} for i in r.rubric],
                "logs": r.logs,
                "seconds": round(r.seconds, 3),
            }
            for r in report.results
        ],
    }


def render_json(report: TestReport) -> str:
    return json.dumps(as_json(report), indent=2, ensure_ascii=False) + "\n"
