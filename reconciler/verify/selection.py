"""Which tests run, on which assistant version, and whether the account holds what they test.

A test result is only worth something if it tested what the manifests say. So before anything
runs, the plan for the same manifests must show no change to the chosen tests, to the assistants
they talk to (for ``--version main``) or to the named candidate versions: otherwise this refuses
and says to apply first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.changes.change import Change
from reconciler.errors import ReconcilerError
from reconciler.kinds.canary import VERSION_KIND, newest_named_version, version_address_name
from reconciler.model import Resource
from reconciler.verify import MAIN
from reconciler.verify.results import TestTarget


class SelectionError(ReconcilerError):
    """Nothing to run, or the account does not hold what the manifests say."""


@dataclass(frozen=True)
class Selection:
    suite: str | None = None
    assistant: str | None = None
    version: str = MAIN


def chosen_tests(resources: Iterable[Resource], selection: Selection) -> list[Resource]:
    """The AssistantTest documents the filters keep, in name order."""
    tests = [r for r in resources if r.kind == "AssistantTest"]
    if not tests:
        raise SelectionError("no AssistantTest documents in the given paths; nothing to test")
    kept = [
        r for r in tests
        if (selection.suite is None or r.spec.get("test_suite") == selection.suite)
        and (selection.assistant is None or r.spec.get("assistant") == selection.assistant)
    ]  # fmt: skip
    if not kept:
        wanted = " and ".join(
            f"{flag} {value!r}" for flag, value in (("--suite", selection.suite), ("--assistant", selection.assistant))
            if value is not None
        )  # fmt: skip
        suites = sorted({str(r.spec["test_suite"]) for r in tests if r.spec.get("test_suite")})
        assistants = sorted({str(r.spec["assistant"]) for r in tests if r.spec.get("assistant")})
        raise SelectionError(
            f"no AssistantTest matches {wanted}; suites: {', '.join(suites) or 'none'}; "
            f"assistants: {', '.join(assistants) or 'none'}"
        )
    if selection.version != MAIN:
        raw = [r.address for r in kept if not isinstance(r.spec.get("assistant"), str)]
        if raw:
            raise SelectionError(
                f"--version {selection.version} needs tests that name their assistant; "
                f"{', '.join(raw)} state a raw destination"
            )
    return sorted(kept, key=lambda r: r.name)


def unapplied(changes: Sequence[Change], tests: Sequence[Resource], version: str) -> list[str]:
    """Planned changes to what these tests would run against: each is a reason to apply first."""
    watched = {t.address for t in tests}
    for test in tests:
        assistant = test.spec.get("assistant")
        if isinstance(assistant, str):
            watched.add(f"Assistant/{assistant}")
            if version != MAIN:
                watched.add(f"{VERSION_KIND}/{version_address_name(assistant, version)}")
    return [
        f"{c.address} ({c.action.value}{': ' + ', '.join(_fields(c)) if _fields(c) else ''})"
        for c in changes
        if c.address in watched
    ]


def _fields(change: Change) -> list[str]:
    """The top-level fields a change touches (the first few)."""
    return sorted({str(f.path[0]) for f in change.fields if f.path})[:5]


def targets(
    tests: Sequence[Resource],
    live_ids: Mapping[tuple[str, str], str],
    selection: Selection,
    versions_of: Callable[[str], Sequence[Mapping[str, Any]]],
    main_version_of: Callable[[str], str | None],
) -> list[TestTarget]:
    """Each test with its live id and the version id to run it on.

    ``versions_of`` and ``main_version_of`` read an assistant's kept versions and its main version id
    (called once per assistant, only for ``--version`` other than main). The version is the newest
    non-main version carrying the candidate's name, or a version whose id is exactly ``--version``.
    """
    found: dict[str, str | None] = {}
    missing: list[str] = []
    out = []
    for test in tests:
        test_id = live_ids.get(("AssistantTest", test.name))
        assistant = test.spec.get("assistant")
        assistant = assistant if isinstance(assistant, str) else None
        version_id: str | None = None
        if selection.version != MAIN and assistant is not None:
            if assistant not in found:
                found[assistant] = _candidate(assistant, live_ids, selection.version, versions_of, main_version_of)
            version_id = found[assistant]
            if version_id is None:
                missing.append(assistant)
        if test_id is None:
            raise SelectionError(f"{test.address} is not in the account; run reconciler apply first")
        limit = test.spec.get("max_duration_seconds")
        out.append(
            TestTarget(
                test.name,
                test_id,
                _suite(test),
                assistant,
                selection.version,
                version_id,
                limit if isinstance(limit, int) else None,
            )
        )
    if missing:
        names = ", ".join(f"Assistant/{a}" for a in sorted(set(missing)))
        raise SelectionError(
            f"no version {selection.version!r} on {names}: state it as a candidate in a CanaryDeploy "
            "(spec.versions) and apply, or pass a version id"
        )
    return out


def _suite(test: Resource) -> str | None:
    suite = test.spec.get("test_suite")
    return suite if isinstance(suite, str) else None


def _candidate(
    assistant: str,
    live_ids: Mapping[tuple[str, str], str],
    version: str,
    versions_of: Callable[[str], Sequence[Mapping[str, Any]]],
    main_version_of: Callable[[str], str | None],
) -> str | None:
    assistant_id = live_ids.get(("Assistant", assistant))
    if assistant_id is None:
        raise SelectionError(f"Assistant/{assistant} is not in the account; run reconciler apply first")
    versions = versions_of(assistant_id)
    exact = next((v for v in versions if v.get("version_id") == version), None)
    if exact is not None:
        return version
    named = newest_named_version(versions, version, main_version_of(assistant_id))
    return str(named["version_id"]) if named is not None else None
