"""The comparison both hand-written scripts make (sdk_baseline.py, httpx_script.py), without the SDK."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def by_kind(docs: Iterable[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The Assistant and the CanaryDeploy documents, in order (each script parses with its own loader)."""
    assistants: list[dict[str, Any]] = []
    canaries: list[dict[str, Any]] = []
    for doc in docs:
        if doc and doc.get("kind") == "Assistant":
            assistants.append(doc)
        elif doc and doc.get("kind") == "CanaryDeploy":
            canaries.append(doc)
    return assistants, canaries


def stated_differs(want: Any, have: Any) -> bool:
    """True when a value the manifest states is not what the live object holds (dict keys: subset)."""
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return True
        return any(stated_differs(v, have.get(k)) for k, v in want.items())
    if isinstance(want, list):
        if not isinstance(have, list) or len(want) != len(have):
            return True
        return any(stated_differs(w, h) for w, h in zip(want, have, strict=True))
    return bool(want != have)


def changed_fields(spec: dict[str, Any], have: dict[str, Any]) -> dict[str, Any]:
    """The stated fields whose live value differs; tags compare as a set (the API keeps them sorted)."""
    out = {}
    for key, want in spec.items():
        live = have.get(key)
        if key == "tags" and isinstance(want, list) and isinstance(live, list):
            want, live = sorted(set(want)), sorted(set(live))  # as reconciler compares them
        if stated_differs(want, live):
            out[key] = spec[key]
    return out


def _rule(rule: dict[str, Any], version_ids: dict[str, str]) -> dict[str, Any]:
    out = {k: v for k, v in rule.items() if k != "serve"}
    serve = rule["serve"]
    if "version" in serve:
        out["serve"] = {"version_id": version_ids[serve["version"]]}
    else:
        out["serve"] = {
            "rollout": [{"version_id": version_ids[s["version"]], "weight": s["weight"]} for s in serve["rollout"]]
        }
    return out
