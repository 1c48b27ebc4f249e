"""Canary deploys (`/ai/assistants/{id}/canary-deploys`): ordered routing rules over versions.

Why: the reconciler's canary workflow depends on these rules being checked the way the SDK documents them.
Each rule's `serve` names exactly one of `version_id` or `rollout`, rollout weights sum to less than 100
(both 422, the FastAPI validation shape, as a model validator would answer), and every version named must
be a version of this assistant (400). POST refuses a second config (400); PUT sets the config whether or
not one exists (the docs' advice is "use PUT"); GET and DELETE need one (404).
"""

from __future__ import annotations

import copy
from typing import Any

from reconciler.emulator.errors import BadRequest, NotFound, Unprocessable
from reconciler.emulator.state import Assistant, StoreCore, json_bytes, now_iso

JSON = dict[str, Any]


def _clean_rule(rule: JSON) -> JSON:
    """Only the documented fields; absent `match` stays absent and `serve` keeps just the set key."""
    serve = rule["serve"]
    cleaned: JSON = {}
    if rule.get("match") is not None:
        cleaned["match"] = [
            {"attribute": c["attribute"], "operator": c["operator"], "values": list(c["values"])} for c in rule["match"]
        ]
    if serve.get("version_id") is not None:
        cleaned["serve"] = {"version_id": serve["version_id"]}
    else:
        cleaned["serve"] = {
            "rollout": [{"version_id": s["version_id"], "weight": s["weight"]} for s in serve["rollout"]]
        }
    return cleaned


def _shape_problems(rules: list[JSON]) -> list[JSON]:
    problems: list[JSON] = []
    for index, rule in enumerate(rules):
        serve = rule["serve"]
        loc: list[str | int] = ["body", "rules", index, "serve"]
        chosen = [k for k in ("version_id", "rollout") if serve.get(k) is not None]
        if len(chosen) != 1:
            problems.append({"loc": loc, "msg": "Set exactly one of version_id and rollout", "type": "value_error"})
        elif chosen == ["rollout"] and sum(s["weight"] for s in serve["rollout"]) >= 100:
            problems.append(
                {
                    "loc": [*loc, "rollout"],
                    "msg": "Rollout weights must sum to less than 100; the rest goes to main",
                    "type": "value_error",
                }
            )
    return problems


class CanaryOps(StoreCore):
    """At most one canary config per assistant, stored on the assistant record."""

    def _checked_rules(self, assistant: Assistant, body: JSON) -> list[JSON]:
        rules: list[JSON] = body.get("rules") or []
        problems = _shape_problems(rules)
        if problems:
            raise Unprocessable(problems)
        cleaned = [_clean_rule(r) for r in rules]
        known = {v.version_id for v in assistant.versions}
        for rule in cleaned:
            serve = rule["serve"]
            named = [serve["version_id"]] if "version_id" in serve else [s["version_id"] for s in serve["rollout"]]
            for version_id in named:
                if version_id not in known:
                    raise BadRequest(f"Version {version_id} is not a version of assistant {assistant.id}")
        return cleaned

    def _canary(self, assistant: Assistant) -> JSON:
        if assistant.canary is None:
            raise NotFound(f"Assistant {assistant.id} has no canary deploy")
        return assistant.canary

    @staticmethod
    def _show(assistant: Assistant, canary: JSON) -> JSON:
        return {
            "assistant_id": assistant.id,
            "rules": copy.deepcopy(canary["rules"]),
            "created_at": canary["created_at"],
            "updated_at": canary["updated_at"],
        }

    def get_canary(self, assistant_id: str) -> JSON:
        with self._lock:
            assistant = self._get(assistant_id)
            return self._show(assistant, self._canary(assistant))

    def get_canary_json(self, assistant_id: str) -> bytes:
        """``json_bytes(get_canary(...))``, cached with the assistant's other bodies (StoreCore._rendered_entry)
        and only for the config dict it was rendered from."""
        with self._lock:
            assistant = self._get(assistant_id)
            canary = self._canary(assistant)
            entry = self._rendered_entry(assistant_id)
            if entry is not None and entry.canary is not None and entry.canary[0] is canary:
                return entry.canary[1]
            body = json_bytes(self._show(assistant, canary))
            if entry is not None:
                entry.canary = (canary, body)
            return body

    def create_canary(self, assistant_id: str, body: JSON) -> JSON:
        with self._writing():
            assistant = self._get(assistant_id)
            if assistant.canary is not None:
                raise BadRequest(f"Assistant {assistant_id} already has a canary deploy; use PUT to change it")
            rules = self._checked_rules(assistant, body)
            stamp = now_iso()
            assistant.canary = {"rules": rules, "created_at": stamp, "updated_at": stamp}
            return self._show(assistant, assistant.canary)

    def replace_canary(self, assistant_id: str, body: JSON) -> JSON:
        """Replace all rules, creating the config when there is none; created_at stays, updated_at moves."""
        with self._writing():
            assistant = self._get(assistant_id)
            rules = self._checked_rules(assistant, body)
            stamp = now_iso()
            created = assistant.canary["created_at"] if assistant.canary else stamp
            assistant.canary = {"rules": rules, "created_at": created, "updated_at": stamp}
            return self._show(assistant, assistant.canary)

    def delete_canary(self, assistant_id: str) -> None:
        with self._writing():
            assistant = self._get(assistant_id)
            self._canary(assistant)
            assistant.canary = None
