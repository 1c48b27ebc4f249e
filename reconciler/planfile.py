"""Saved plans: ``plan --out FILE`` and ``apply --plan FILE``.

A saved plan is the JSON view of the plan (docs/plan-json.md) plus a ``saved`` section: the
manifest paths, a digest of every manifest before interpolation, a fingerprint of what the plan
depends on in the account (per object its id and the fields the manifests state; every object
it deletes), the account it was made against and the stack's ledger. It never holds a secret
value: ``apply --plan`` loads the manifests again (secrets come from the environment, as for any
apply), refuses if the account, the ledger, a manifest or a fingerprint differs from what was
reviewed, recomputes the plan, checks it is the very plan in the file, and applies that. A plan
made with ``--force`` carries that approval past the safety thresholds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler import __version__
from reconciler.changes.change import Action, Change
from reconciler.changes.diff import FieldChange
from reconciler.changes.refs import Pending
from reconciler.engine.fingerprint import digest
from reconciler.engine.plan import Plan
from reconciler.engine.versions import BUDGET_READ, EvictedVersion, VersionBudget
from reconciler.errors import ConfigError, ReconcilerError
from reconciler.manifests.files import FileRefused, read_json
from reconciler.model import Resource
from reconciler.render.json import FORMAT_VERSION, plan_document


class PlanOutdated(ReconcilerError):
    """The manifests or the account changed since the plan was saved."""


@dataclass(frozen=True)
class SavedPlan:
    paths: tuple[str, ...]
    prune: bool
    var_files: tuple[str, ...]
    manifests: Mapping[str, str]
    live: Mapping[str, str]
    document: Mapping[str, Any]
    account: str | None = None
    ledger: str | None = None
    targets: tuple[str, ...] = ()
    """``--target`` addresses the plan was made with (apply --plan plans the same subset)."""
    select_tags: tuple[str, ...] = ()


def manifest_digests(resources: Sequence[Resource]) -> dict[str, str]:
    """One digest per manifest, over its uninterpolated spec (so secrets never enter it)."""
    return {r.address: digest([r.kind, r.name, r.template]) for r in resources}


def save(
    plan: Plan, path: Path, paths: Sequence[str], resources: Sequence[Resource], prune: bool,
    var_files: Sequence[str] = (), account: str | None = None, ledger: str | None = None,
    targets: Sequence[str] = (), select_tags: Sequence[str] = (),
) -> None:
    document = plan_document(plan)
    document["saved"] = {
        "reconciler_version": __version__,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "paths": list(paths),
        "var_files": list(var_files),
        "options": {"prune": prune},
        "manifests": manifest_digests(resources),
        "live": dict(plan.live_fingerprints),
        "account": account,
        "ledger": ledger,
    }
    if targets or select_tags:
        document["saved"]["selection"] = {"targets": list(targets), "select_tags": list(select_tags)}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load(path: Path) -> SavedPlan:
    document = read_plan_file(path)
    saved = document.get("saved")
    if not isinstance(saved, dict) or document.get("format_version") != FORMAT_VERSION:
        raise ConfigError(f"{path}: not a saved plan (write one with 'reconciler plan --out {path}')")
    check_saved_section(path, saved)
    return SavedPlan(
        paths=tuple(saved.get("paths") or ()),
        prune=bool((saved.get("options") or {}).get("prune")),
        var_files=tuple(saved.get("var_files") or ()),
        manifests=saved.get("manifests") or {},
        live=saved.get("live") or {},
        document={k: v for k, v in document.items() if k != "saved"},
        account=saved.get("account"),
        ledger=saved.get("ledger"),
        targets=tuple((saved.get("selection") or {}).get("targets") or ()),
        select_tags=tuple((saved.get("selection") or {}).get("select_tags") or ()),
    )


MAX_PLAN_BYTES = 64 * 1024 * 1024
"""Largest saved plan read (64 MiB)."""


def read_plan_file(path: Path) -> dict[str, Any]:
    """The saved plan's JSON object: a regular file, bounded in size and depth, no key twice."""
    try:
        document = read_json(path, MAX_PLAN_BYTES)
    except FileRefused as err:
        text = str(err)
        where = f"{path}:{text}" if text[:1].isdigit() else f"{path}: {text}"
        raise ConfigError(f"{where} (not a saved plan)") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: not a saved plan (write one with 'reconciler plan --out {path}')")
    return document


def check_saved_section(path: Path, saved: Mapping[str, Any]) -> None:
    """Refuse a ``saved`` section of the wrong shape with the field's name, not a traceback later."""

    def strings(value: Any) -> bool:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)

    def string_map(value: Any) -> bool:
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())

    rules: list[tuple[str, Any, str]] = [
        ("paths", strings, "a list of paths"),
        ("var_files", strings, "a list of paths"),
        ("options", lambda v: isinstance(v, dict) and isinstance(v.get("prune", False), bool), "{prune: bool}"),
        ("manifests", string_map, "a mapping of address to digest"),
        ("live", string_map, "a mapping of id to fingerprint"),
        ("selection", lambda v: isinstance(v, dict) and all(strings(v.get(k, [])) for k in ("targets", "select_tags")),
         "{targets: [...], select_tags: [...]}"),
    ]
    for key, ok, what in rules:
        if key in saved and saved[key] is not None and not ok(saved[key]):
            raise ConfigError(f"{path}: saved.{key} must be {what} (not a saved plan written by reconciler)")


def _differences(saved: Mapping[str, str], now: Mapping[str, str]) -> list[str]:
    return sorted(key for key in set(saved) | set(now) if saved.get(key) != now.get(key))


def check(saved: SavedPlan, resources: Sequence[Resource], plan: Plan, account: str | None = None,
          ledger: str | None = None) -> None:
    """Refuse, naming what moved, if anything the plan depends on changed since it was saved."""
    if saved.account is not None and saved.account != account:
        raise PlanOutdated(
            f"the plan was made against account {saved.account}, but this apply is connected to {account}; "
            "plan again against this account"
        )
    if saved.ledger != ledger:
        raise PlanOutdated(
            "the stack's ownership ledger changed since the plan was saved (lost, restored or written by "
            "another apply), so the objects it may prune differ; run plan again"
        )
    changed = _differences(saved.manifests, manifest_digests(resources))
    if changed:
        raise PlanOutdated(
            "the manifests changed since the plan was saved: " + ", ".join(changed) + "; run plan again"
        )
    # What only the version budget read depends on the plan: one side alone is no move (a changed
    # plan shows below), both sides differing is.
    moved = [
        key for key in _differences(saved.live, plan.live_fingerprints)
        if not key.endswith(BUDGET_READ) or (key in saved.live and key in plan.live_fingerprints)
    ]
    if moved:
        raise PlanOutdated(
            "the live account changed since the plan was saved: " + ", ".join(moved) + "; run plan again"
        )
    # A plan saved before the version budget existed has no "versions" key: it reviewed none.
    if plan_document(plan) != {"versions": [], **saved.document}:
        raise PlanOutdated("the plan computed now differs from the saved plan; run plan again")


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_PENDING = re.compile(r"\(known after apply: ([A-Za-z]+)/(.+)\)")


def _pending(value: Any) -> Any:
    """Ids known only after apply, saved as their readable string, as ``Pending`` again."""
    if isinstance(value, str):
        found = _PENDING.fullmatch(value)
        return Pending(found.group(1), found.group(2)) if found else value
    if isinstance(value, list):
        return [_pending(item) for item in value]
    if isinstance(value, dict):
        return {key: _pending(item) for key, item in value.items()}
    return value


def plan_from_document(document: Mapping[str, Any]) -> Plan:
    """A saved plan's changes as a ``Plan`` again, for ``reconciler show`` (no account needed).

    Values are as saved (secrets already ``(sensitive)``, pending ids their readable string); tool
    names come back from each field's ``names``. Fields the renderers never read stay empty.
    """
    changes: list[Change] = []
    names: dict[tuple[str, str], str] = {}
    for entry in document.get("changes") or []:
        fields = []
        for item in entry.get("fields") or []:
            path = tuple(int(i) if i else k for k, i in _PATH_PART.findall(str(item.get("path", ""))))
            fields.append(FieldChange(path, _pending(item.get("before")), _pending(item.get("after"))))
            named = item.get("names")
            if isinstance(named, dict):
                for side in ("before", "after"):
                    ids, shown = item.get(side), named.get(side)
                    if isinstance(ids, str) and isinstance(shown, str):
                        ids, shown = [ids], [shown]
                    if isinstance(ids, list) and isinstance(shown, list) and len(ids) == len(shown):
                        # (kind is not kept in the file; the views only map id -> name)
                        names.update({("", str(n)): str(i) for i, n in zip(ids, shown, strict=True) if i != n})
        action = Action(entry.get("action", "update"))
        source = entry.get("source") or {}
        changes.append(Change(
            action, str(entry.get("kind")), str(entry.get("name")), entry.get("id"),
            None if action is Action.CREATE or entry.get("step") else {}, None if action is Action.DELETE else {},
            tuple(fields), {}, source.get("file"), source.get("line"), step=entry.get("step") or "",
            note=entry.get("note") or "", requires=tuple(entry.get("requires") or ()),
        ))
    return Plan(
        changes=tuple(changes), unchanged=tuple(document.get("unchanged") or ()),
        live_ids=names, protected=tuple(document.get("protected") or ()),
        in_use={k: tuple(v) for k, v in (document.get("in_use") or {}).items()},
        refusals=tuple(document.get("refusals") or ()), forced=bool(document.get("forced")),
        warnings=tuple(document.get("warnings") or ()),
        versions=tuple(_budget(entry) for entry in document.get("versions") or [] if isinstance(entry, Mapping)),
    )


def _budget(entry: Mapping[str, Any]) -> VersionBudget:
    """One assistant's version budget as the saved plan's ``versions`` key holds it."""
    evicted = tuple(
        EvictedVersion(str(v.get("version_id")), v.get("version_name"), v.get("created_at"), v.get("protected"))
        for v in entry.get("evicted") or [] if isinstance(v, Mapping)
    )
    return VersionBudget(str(entry.get("name")), entry.get("id"), int(entry.get("kept_now") or 0),
                         int(entry.get("created") or 0), int(entry.get("kept_after") or 0), evicted)
