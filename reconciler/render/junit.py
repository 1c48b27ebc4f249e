"""Test results as JUnit XML, the format CI test reporters read (GitHub, GitLab, Jenkins).

One ``<testsuite>`` per assistant test suite (tests without one share ``(no suite)``), one
``<testcase>`` per test with its rubric in ``<system-out>``. A failed rubric is a ``<failure>``;
an error or a timeout is an ``<error>`` whose ``type`` says which, so reporters count them apart.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from reconciler.verify.results import Outcome, RunResult, TestReport

NO_SUITE = "(no suite)"
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters XML 1.0 cannot hold at all, even escaped (a run's logs may contain them)."""


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def render_junit(report: TestReport, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S")
    root = ET.Element(
        "testsuites", {"name": "reconciler test", **_counts(report.results)}, time=f"{report.seconds:.3f}"
    )
    suites: dict[str, list[RunResult]] = {}
    for result in report.results:
        suites.setdefault(result.target.suite or NO_SUITE, []).append(result)
    for index, (name, results) in enumerate(sorted(suites.items())):
        attributes = {"name": _xml(name), **_counts(results), "skipped": "0", "id": str(index), "timestamp": stamp}
        suite = ET.SubElement(root, "testsuite", attributes, time=f"{sum(r.seconds for r in results):.3f}")
        for result in results:
            _case(suite, name, result)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _counts(results: list[RunResult] | tuple[RunResult, ...]) -> dict[str, str]:
    failures = sum(1 for r in results if r.outcome is Outcome.FAILED)
    errors = sum(1 for r in results if r.outcome in (Outcome.ERROR, Outcome.TIMEOUT))
    return {"tests": str(len(results)), "failures": str(failures), "errors": str(errors)}


def _case(suite: ET.Element, suite_name: str, result: RunResult) -> None:
    target = result.target
    classname = f"{suite_name}.{target.assistant or 'destination'}"
    case = ET.SubElement(
        suite, "testcase", name=_xml(target.name), classname=_xml(classname), time=f"{result.seconds:.3f}"
    )
    if result.outcome is Outcome.FAILED:
        ET.SubElement(case, "failure", message=_xml(result.reason), type="rubric").text = _xml(_rubric(result))
    elif result.outcome in (Outcome.ERROR, Outcome.TIMEOUT):
        ET.SubElement(case, "error", message=_xml(result.reason), type=result.outcome.value).text = (
            _xml(result.logs) or None
        )
    out = [
        f"AssistantTest/{target.name} ({target.test_id}) on {target.assistant or 'its destination'} "
        f"@ {target.version}" + (f" ({target.version_id})" if target.version_id else ""),
        f"run {result.run_id or '-'}: {result.status}",
        _rubric(result),
    ]
    ET.SubElement(case, "system-out").text = _xml("\n".join(line for line in out if line))


def _rubric(result: RunResult) -> str:
    return "\n".join(f"{item.name}: {item.status}" for item in result.rubric)
