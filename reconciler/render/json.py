"""The machine-readable view of a plan: ``--format json``, documented in docs/plan-json.md.

The document is stable (``format_version``); a new key may appear, none changes meaning.
Secret values are replaced by ``(sensitive)`` and their field carries ``"sensitive": true``;
ids known only after apply read ``(known after apply: Kind/name)``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from reconciler.changes.change import Change
from reconciler.changes.diff import FieldChange
from reconciler.changes.items import ItemChange
from reconciler.changes.refs import Pending
from reconciler.engine.apply import ApplyResult, Status
from reconciler.engine.plan import Plan
from reconciler.redact import MASK, contains_secret, mask_text
from reconciler.render.fieldview import field_view, item_leaves, tool_names
from reconciler.render.versions import versions_document

FORMAT_VERSION = 1


def plain(value: Any) -> Any:
    """A JSON-ready copy: ``Pending`` ids become their readable string (shared by the JSON views)."""
    if isinstance(value, Pending):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def field_document(field: FieldChange, secrets: frozenset[str],
                   names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """One field; a secret on either side masks both sides, and ``null`` stays ``null`` (absent).

    Three optional keys say how a reviewer reads it: ``names`` (tool ids as the manifest's
    ``shared_tools`` names), ``whitespace_only`` and ``items`` (a list of objects item by item).
    """
    sensitive = contains_secret(field.before, secrets) or contains_secret(field.after, secrets)
    document: dict[str, Any] = {
        "path": field.dotted,
        "before": MASK if sensitive and field.before is not None else plain(field.before),
        "after": MASK if sensitive and field.after is not None else plain(field.after),
        "sensitive": sensitive,
    }
    view = field_view(field.path, field.before, field.after, names or {})
    if view.path != field.path:
        document["names"] = {"path": view.dotted, "before": plain(view.before), "after": plain(view.after)}
    elif view.whitespace and not sensitive:
        document["whitespace_only"] = view.whitespace
    elif view.items is not None:
        document["items"] = [item_document(item, secrets) for item in view.items]
    return document


def item_document(item: ItemChange, secrets: frozenset[str]) -> dict[str, Any]:
    """One item of a list field: its status, label, index and, when changed, its fields."""
    inside = item_leaves(item.after) if item.status == "added" else list(item.fields)
    return {
        "status": item.status,
        "label": item.label,
        "index": item.index,
        "moved_from": item.moved_from,
        "fields": [field_document(f, secrets) for f in inside] if item.status in ("added", "changed") else [],
    }


def change_document(change: Change, secrets: frozenset[str],
                    names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """One change; ``id`` only when it is a real id now, never a placeholder a script might send."""
    return {
        "address": change.address,
        "kind": change.kind,
        "name": change.name,
        "action": change.action.value,
        "step": change.step or None,
        "id": change.live_id if isinstance(change.live_id, str) else None,
        "source": {"file": change.file, "line": change.line} if change.file else None,
        "fields": [field_document(f, secrets, names) for f in change.fields],
        "requires": list(change.requires),
        "note": change.note or None,
    }


def plan_document(plan: Plan) -> dict[str, Any]:
    """The plan as a JSON-ready dict, keys in the documented order."""
    return {
        "format_version": FORMAT_VERSION,
        "summary": plan.summary,
        "changes": [change_document(c, plan.secrets, tool_names(plan.live_ids)) for c in plan.changes],
        "unchanged": list(plan.unchanged),
        "protected": list(plan.protected),
        "in_use": {address: list(users) for address, users in plan.in_use.items()},
        "refusals": list(plan.refusals),
        "forced": plan.forced,
        "warnings": list(plan.warnings),
        "versions": versions_document(plan),
    }


def render_plan(plan: Plan) -> str:
    """Two-space indented JSON, non-ASCII kept as is, ending in a newline."""
    return json.dumps(plan_document(plan), indent=2, ensure_ascii=False) + "\n"


def result_document(result: ApplyResult, secrets: frozenset[str]) -> dict[str, Any]:
    """An apply's outcome per change, for programs: ``apply --format json``."""
    return {
        "format_version": FORMAT_VERSION,
        "ok": result.ok,
        "summary": {status.value: result.count(status) for status in Status},
        "outcomes": [
            {
                "address": o.change.address,
                "action": o.change.action.value,
                "step": o.change.step or None,
                "status": o.status.value,
                "id": o.live_id,
                "message": mask_text(o.message, secrets) or None,
            }
            for o in result.outcomes
        ],
    }


def render_result(result: ApplyResult, secrets: frozenset[str] = frozenset()) -> str:
    return json.dumps(result_document(result, secrets), indent=2, ensure_ascii=False) + "\n"
