"""A live canary config as a CanaryDeploy manifest: the versions its rules serve, by name.

The engine finds a candidate as the newest non-main version carrying its ``version_name``
(``newest_named_version``), so a served version keeps its own name only when that lookup finds
exactly it; otherwise it gets a generated name (``v-<first 8 characters of its id>``) and is listed
as a rename, which ``name_versions`` can carry out so the next plan finds it. Each version's
override is the top-level fields where it differs from main, compared in manifest form; a field
main states and the version lacks is cleared in the override (``[]`` for lists, ``null`` else).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from reconciler.kinds.base import PlanContext
from reconciler.kinds.canary import ASSISTANT_LEVEL_FIELDS, newest_named_version
from reconciler.manifests.references import MAIN_VERSION

from .spec import Names, assistant_plain

MAX_VERSION_NAME = 50
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class VersionRename:
    """A served version whose live ``version_name`` the engine cannot find it by."""

    assistant: str
    assistant_id: str
    version_id: str
    live_name: str | None
    name: str


@dataclass(frozen=True)
class CanaryExport:
    """The canary document's plain spec (secrets literal) and what it took to name its versions."""

    spec: dict[str, Any] | None
    overrides: dict[str, dict[str, Any]]
    renames: tuple[VersionRename, ...]
    problem: str | None = None


def served_version_ids(rules: Any) -> list[str]:
    """Version ids the rules serve, in first-seen order."""
    found: dict[str, None] = {}
    for rule in rules or []:
        serve = (rule or {}).get("serve") or {}
        if serve.get("version_id"):
            found.setdefault(str(serve["version_id"]), None)
        for slot in serve.get("rollout") or []:
            if slot.get("version_id"):
                found.setdefault(str(slot["version_id"]), None)
    return list(found)


def _usable(name: Any) -> TypeGuard[str]:
    return (
        isinstance(name, str) and 0 < len(name) <= MAX_VERSION_NAME and name != MAIN_VERSION
        and name == name.strip() and not _CONTROL.search(name)
    )


def _generated(version_id: str, taken: set[str]) -> str:
    base = "v-" + re.sub(r"[^A-Za-z0-9]", "", version_id)[:8]
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def name_served_versions(
    served: Sequence[str], versions: Sequence[Mapping[str, Any]], main_id: str | None
) -> tuple[dict[str, str], list[tuple[str, str | None, str]], str | None]:
    """Manifest name per served version id, the renames needed, or a problem."""
    by_id = {str(v.get("version_id")): v for v in versions}
    names: dict[str, str] = {}
    renames: list[tuple[str, str | None, str]] = []
    taken: set[str] = set()
    pending: list[str] = []
    for version_id in served:
        if version_id == main_id:
            names[version_id] = MAIN_VERSION
            continue
        version = by_id.get(version_id)
        if version is None:
            return {}, [], f"its rules serve version {version_id}, which is not in the versions list"
        live_name = version.get("version_name")
        if (
            _usable(live_name) and live_name not in taken
            and newest_named_version(versions, live_name, main_id) is version
        ):
            names[version_id] = live_name
            taken.add(live_name)
        else:
            pending.append(version_id)
    # Names other versions carry are avoided too, so a generated name never finds another version.
    taken |= {str(v.get("version_name")) for v in versions if isinstance(v.get("version_name"), str)}
    for version_id in pending:
        name = _generated(version_id, taken)
        taken.add(name)
        names[version_id] = name
        live_name = by_id[version_id].get("version_name")
        renames.append((version_id, live_name if isinstance(live_name, str) else None, name))
    return names, renames, None


def canary_export(
    assistant: Mapping[str, Any],
    canary: Mapping[str, Any],
    versions: Sequence[Mapping[str, Any]],
    main_plain: Mapping[str, Any],
    ctx: PlanContext,
    names: Names,
    warn: Callable[[str], None],
) -> CanaryExport:
    """The CanaryDeploy for one assistant's live config, or the reason it cannot be written."""
    assistant_name = str(assistant.get("name"))
    main_id = assistant.get("version_id") if isinstance(assistant.get("version_id"), str) else None
    served = served_version_ids(canary.get("rules"))
    version_names, renames, problem = name_served_versions(served, versions, main_id)
    if problem is not None:
        return CanaryExport(None, {}, (), problem)
    candidates = [vid for vid in served if version_names[vid] != MAIN_VERSION]
    if not candidates:
        return CanaryExport(None, {}, (), "its rules serve only the main version, which a CanaryDeploy cannot state "
                            "(it needs at least one candidate version)")
    by_id = {str(v.get("version_id")): v for v in versions}
    overrides: dict[str, dict[str, Any]] = {}
    for version_id in candidates:
        version = by_id[version_id]
        if version.get("name") != assistant.get("name"):
            warn(f"CanaryDeploy/{assistant_name}: version {version_names[version_id]} carries another assistant name "
                 f"({version.get('name')!r}); a version override cannot state a name, so plan will rebuild it")
        plain = assistant_plain(version, ctx, names, warn)
        overrides[version_names[version_id]] = version_override(main_plain, plain)
    rules = [_rule(rule, version_names) for rule in canary.get("rules") or []]
    spec = {"assistant": assistant_name, "versions": overrides, "rules": rules}
    assistant_id = str(assistant.get("id"))
    return CanaryExport(
        spec, overrides,
        tuple(VersionRename(assistant_name, assistant_id, vid, old, new) for vid, old, new in renames),
    )


def version_override(main: Mapping[str, Any], version: Mapping[str, Any]) -> dict[str, Any]:
    """Top-level fields where ``version`` differs from ``main`` (both in manifest form)."""
    out: dict[str, Any] = {}
    for key, value in version.items():
        if key not in ASSISTANT_LEVEL_FIELDS and main.get(key) != value:
            out[key] = value
    for key, value in main.items():
        if key not in ASSISTANT_LEVEL_FIELDS and key not in version:
            out[key] = [] if isinstance(value, list) else None
    return out


def _rule(rule: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if rule.get("match"):
        out["match"] = [
            {k: v for k, v in clause.items() if v is not None} if isinstance(clause, dict) else clause
            for clause in rule["match"]
        ]
    serve = rule.get("serve") or {}
    if serve.get("version_id"):
        out["serve"] = {"version": names[str(serve["version_id"])]}
    else:
        out["serve"] = {
            "rollout": [
                {"version": names[str(slot["version_id"])], "weight": slot.get("weight")}
                for slot in serve.get("rollout") or []
            ]
        }
    return out
