"""Canary deploys and their candidate versions.

One ``CanaryDeploy`` manifest becomes several API objects:

- each named candidate in ``spec.versions`` is a non-main version of the assistant, made by an
  assistant update with ``promote_to_main: false`` and ``version_name: <name>``; its desired
  content is the assistant's desired spec with the override on top. A candidate whose live
  version already matches is left alone; one that differs gets a new version (main untouched);
- ``spec.rules`` become the assistant's canary config, with version names turned into ids
  (``main`` is the assistant's main version). No config yet: POST; a different one: PUT (a full
  replacement); a config on a managed assistant without a CanaryDeploy manifest: DELETE, only
  when pruning.

Candidates run after assistant updates and the canary config after candidates, because a
candidate is built on the current main and promoting wipes the canary config.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from reconciler.api.client import TelnyxClient
from reconciler.changes.change import Action, Change
from reconciler.changes.diff import FieldChange, leaves, removed, stated_differences
from reconciler.changes.refs import IdIndex, Pending
from reconciler.errors import ApiNotFound, PromotionRefused, ReconcilerError
from reconciler.kinds.assistant import MAIN_VERSION, AssistantHandler, resolve_references
from reconciler.kinds.base import (
    KindHandler,
    PlanContext,
    confirm_context,
    confirm_desired,
    requires_of,
    without_ignored,
)
from reconciler.model import Resource

VERSION_KIND = "AssistantVersion"
ASSISTANT_LEVEL_FIELDS = frozenset({"tags", "name"})
"""Fields that belong to the assistant, not to one version: a candidate is not rebuilt for them
(a version made before the assistant was renamed keeps the old name)."""
_assistants = AssistantHandler()


def version_address_name(assistant: str, version: str) -> str:
    return f"{assistant}@{version}"


def newest_named_version(
    versions: Sequence[Mapping[str, Any]], name: str, main_id: str | None
) -> Mapping[str, Any] | None:
    """The newest non-main version carrying ``name``: the candidate as it stands."""
    named = [v for v in versions if v.get("version_name") == name and v.get("version_id") != main_id]
    named.sort(key=lambda v: str(v.get("version_created_at") or ""), reverse=True)
    return named[0] if named else None


PROMOTE = "promote"
"""Step of the change that makes a candidate main."""
GATE = "gate"
"""Step of the change that runs a CanaryDeploy's gate suite on its candidates."""
STAGED = "staged"
"""Step of the change that writes a canary config in gated steps (``steps:``)."""


def _served(rule: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The ``{version}`` entries one manifest rule serves (a single version or rollout slots)."""
    serve = rule.get("serve") or {}
    slots = [serve] if "version" in serve else []
    return [*slots, *(slot for slot in serve.get("rollout") or [] if isinstance(slot, Mapping))]


def _main_id(ctx: PlanContext, assistant_name: str) -> str | None:
    live = ctx.live.get("Assistant", assistant_name)
    main_id = live.get("version_id") if live else None
    return main_id if isinstance(main_id, str) else None


def comparable_rules(rules: Any) -> list[dict[str, Any]]:
    """Rules in one full shape, so an absent ``match`` (catch-all) never hides a live one."""
    out: list[dict[str, Any]] = []
    for rule in rules or []:
        serve = rule.get("serve") or {}
        out.append({
            "match": rule.get("match") or [],
            "serve": {"version_id": serve.get("version_id"), "rollout": serve.get("rollout")},
        })
    return out


class AssistantVersionHandler(KindHandler):
    """Executes candidate-version changes; it has no manifests of its own."""

    kind = VERSION_KIND
    level = 2
    listable = False

    def desired_body(self, resource: Resource, ctx: PlanContext) -> dict[str, Any]:
        raise NotImplementedError("candidate versions are planned by CanaryDeploy")

    def comparable(self, live: Mapping[str, Any], ctx: PlanContext) -> dict[str, Any]:
        return _assistants.comparable(live, ctx)

    def confirm(self, client: TelnyxClient, change: Change, ids: IdIndex) -> str | None:
        """A candidate whose answer was lost: the newest version of that name, if it matches."""
        assistant_id = str(ids.resolve(change.live_id))
        if change.step == PROMOTE:  # a lost promote answer: done if that version is main now
            main = client.get_assistant(assistant_id).get("version_id")
            return str(main) if main == change.body["version_id"] else None
        main_id = ids.get(MAIN_VERSION, change.name.split("@", 1)[0])
        versions = client.list_versions(assistant_id)
        found = newest_named_version(
            versions, str(change.body["version_name"]), main_id if isinstance(main_id, str) else None
        )
        if found is None:
            return None
        desired = confirm_desired(change, ids)
        if stated_differences(desired, _assistants.comparable(found, confirm_context(client, "Assistant", desired))):
            return None
        version_id = str(found["version_id"])
        ids.set(VERSION_KIND, change.name, version_id)
        return version_id

    def write(self, client: TelnyxClient, change: Change, ids: IdIndex, idempotency_key: str) -> str | None:
        assistant_id = str(ids.resolve(change.live_id))
        body = ids.resolve(dict(change.body))
        if change.step == PROMOTE:
            client.promote_version(assistant_id, str(body["version_id"]))
            ids.set(MAIN_VERSION, change.name.split("@", 1)[0], str(body["version_id"]))
            return str(body["version_id"])
        answer = client.update_assistant(assistant_id, body)
        version_id = answer.get("version_id")
        assistant_name = change.name.split("@", 1)[0]
        if not isinstance(version_id, str) or version_id == ids.get(MAIN_VERSION, assistant_name):
            # The answer did not show the new version: find it in the versions list instead.
            found = newest_named_version(client.list_versions(assistant_id), body["version_name"], None)
            version_id = str(found["version_id"]) if found else None
        if version_id is None:
            raise ReconcilerError(f"{change.address}: the API did not report the new version's id")
        ids.set(VERSION_KIND, change.name, str(version_id))
        return str(version_id)


class CanaryDeployHandler(KindHandler):
    kind = "CanaryDeploy"
    level = 3
    listable = False

    def desired_body(self, resource: Resource, ctx: PlanContext) -> dict[str, Any]:
        raise NotImplementedError("planned by plan()")

    def comparable(self, live: Mapping[str, Any], ctx: PlanContext) -> dict[str, Any]:
        return {"rules": comparable_rules(live.get("rules"))}

    def plan(self, resource: Resource, ctx: PlanContext) -> list[Change]:
        if isinstance(resource.spec.get("promote"), str):
            return self._plan_promotion(resource, ctx, str(resource.spec["promote"]))
        changes = self._plan_rollout(resource, ctx)
        config = [c for c in changes if c.kind == self.kind]
        if config and resource.spec.get("gate"):
            served = {
                slot.get("version") for rule in resource.spec.get("rules") or [] for slot in _served(rule)
            } - {"main", None}
            gate = self._gate(resource, ctx, sorted(str(name) for name in served), changes)
            if gate is not None and resource.spec.get("steps") and config[0].action is not Action.DELETE:
                return [*[c for c in changes if c.kind != self.kind], self._staged(resource, ctx, config[0], gate)]
            if gate is not None:
                changes = [*[c for c in changes if c.kind != self.kind], gate,
                           *[replace(c, requires=(*c.requires, gate.ref)) for c in config]]
        return changes

    def _staged(self, resource: Resource, ctx: PlanContext, config: Change, gate: Change) -> Change:
        """One change that raises the candidates' weights step by step, gated at every step.

        Each step caps every candidate's rollout weight at the step's value (the stated weights come
        last); the gate runs after each write. A failing step puts the config back as it was before
        the apply (or deletes it, if there was none), so traffic returns to main.
        """
        assistant_name = str(resource.spec["assistant"])
        live = ctx.live.canaries.get(assistant_name)
        steps = [float(s) for s in resource.spec["steps"]]
        body = {
            "rules": config.body["rules"],
            "steps": steps,
            "previous": {"rules": live.get("rules") or []} if live is not None else None,
            "gate": dict(gate.body),
            "gate_requires": list(gate.requires),
        }
        shown = ", ".join(f"{s:g}%" for s in steps)
        return replace(
            config, body=body, step=STAGED, requires=tuple(dict.fromkeys((*config.requires, *gate.requires))),
            note=(f"staged rollout: candidate weights rise through {shown}, then as stated; {gate.note}, at every "
                  "step; on a failure traffic returns to where it was before this apply"),
        )

    def _plan_promotion(self, resource: Resource, ctx: PlanContext, candidate: str) -> list[Change]:
        """Make the tested candidate main, exactly: one promote call, no new version.

        Refused unless the live candidate is what the manifests say (else it is not the version that
        was tested) and the Assistant document already states the candidate's content (else the next
        plan would write main again). The Assistant update that content would otherwise cost is left
        out of the plan by ``fold_promotions`` in the engine.
        """
        assistant_name = str(resource.spec["assistant"])
        where = f"{resource.address}: cannot promote {candidate!r}"
        live_assistant = ctx.live.get("Assistant", assistant_name)
        if live_assistant is None:
            raise PromotionRefused(f"{where}: Assistant/{assistant_name} is not in the account yet")
        main_id = live_assistant.get("version_id")
        main_body = _assistants.desired_body(ctx.resources[("Assistant", assistant_name)], ctx)
        main_view = {k: v for k, v in main_body.items() if k not in ASSISTANT_LEVEL_FIELDS}
        if live_assistant.get("version_name") == candidate:
            before = _assistants.comparable(live_assistant, ctx)
            if not stated_differences(without_ignored(main_view, before, "Assistant/" + assistant_name, ctx), before):
                return []  # promoted already: main is that version and states what the manifests say
        live_version = newest_named_version(ctx.live.versions.get(assistant_name, []), candidate,
                                            main_id if isinstance(main_id, str) else None)
        if live_version is None:
            raise PromotionRefused(f"{where}: Assistant/{assistant_name} has no version of that name; apply the "
                                   "candidate (without promote) and test it first")
        before = _assistants.comparable(live_version, ctx)
        override = resolve_references((resource.spec.get("versions") or {}).get(candidate) or {}, ctx.ids)
        desired = without_ignored({**main_view, **override}, before, "Assistant/" + assistant_name, ctx)
        stale = stated_differences(desired, before)
        if stale:
            fields = ", ".join(sorted({f.dotted for f in stale}))
            raise PromotionRefused(
                f"{where}: the live candidate ({live_version['version_id']}) differs from the manifests ({fields}), "
                "so it is not the version that was tested; apply the change without promote, test it, then promote"
            )
        missing = stated_differences(without_ignored(dict(override), before, "Assistant/" + assistant_name, ctx),
                                     without_ignored(main_view, before, "Assistant/" + assistant_name, ctx))
        if missing:
            fields = ", ".join(sorted({f.dotted for f in missing}))
            raise PromotionRefused(
                f"{where}: Assistant/{assistant_name} must state the candidate's content as main before it is "
                f"promoted ({fields} differ); copy the override into the Assistant document"
            )
        version_id = str(live_version["version_id"])
        assistant_id = ctx.ids.ref("Assistant", assistant_name)
        address_name = version_address_name(assistant_name, candidate)
        promote = Change(
            Action.UPDATE, VERSION_KIND, address_name, assistant_id, {"main_version": main_id},
            {"main_version": version_id}, (FieldChange(("main_version",), main_id, version_id),),
            {"version_id": version_id}, resource.file, resource.line, (self.level, 0), step=PROMOTE,
            note=(f"promote candidate {candidate!r} ({version_id}) of Assistant/{assistant_name} to main: no new "
                  "version is written, and Telnyx removes the canary config"),
        )
        if not resource.spec.get("gate"):
            return [promote]
        gate = self._gate(resource, ctx, [candidate], [], {candidate: version_id})
        return [gate, replace(promote, requires=(gate.ref,))] if gate is not None else [promote]

    def _gate(
        self,
        resource: Resource,
        ctx: PlanContext,
        candidates: list[str],
        planned: list[Change],
        known: Mapping[str, str] | None = None,
    ) -> Change | None:
        """The gate step: the suite must pass on each candidate before traffic widens or it is promoted."""
        if not candidates:
            return None
        gate = dict(resource.spec["gate"])
        assistant_name = str(resource.spec["assistant"])
        tests = sorted(
            name for (kind, name), test in ctx.resources.items()
            if kind == "AssistantTest" and test.spec.get("test_suite") == gate["suite"]
            and test.spec.get("assistant") == assistant_name
        )
        if not tests:
            raise PromotionRefused(
                f"{resource.address}: gate suite {gate['suite']!r} has no AssistantTest document that tests "
                f"Assistant/{assistant_name}"
            )
        versions: dict[str, str | Pending] = {}
        for name in candidates:
            address_name = version_address_name(assistant_name, name)
            pending = next((c for c in planned if c.name == address_name and c.kind == VERSION_KIND), None)
            found = (known or {}).get(name)
            if found is None:
                live_version = newest_named_version(ctx.live.versions.get(assistant_name, []), name,
                                                    _main_id(ctx, assistant_name))
                found = str(live_version["version_id"]) if live_version is not None and pending is None else None
            versions[name] = found if found is not None else Pending(VERSION_KIND, address_name)
        body = {
            "suite": gate["suite"],
            "min_pass_rate": gate.get("min_pass_rate", 1.0),
            "repeats": gate.get("repeats", 1),
            "assistant": assistant_name,
            "candidates": versions,
            "tests": [{"name": name, "test_id": ctx.ids.ref("AssistantTest", name)} for name in tests],
        }
        waits = [c.ref for c in planned if c.kind == VERSION_KIND]
        waits += [f"AssistantTest/{name}" for name in tests if f"AssistantTest/{name}" in ctx.changed]
        rate = f"{body['min_pass_rate']:.0%}"
        return Change(
            Action.UPDATE, self.kind, resource.name, ctx.ids.ref("Assistant", assistant_name), None, None, (), body,
            resource.file, resource.line, (self.level - 1, 1), tuple(waits), step=GATE,
            note=(f"gate: suite {gate['suite']!r} ({len(tests)} tests, {body['repeats']} run(s) each) must pass "
                  f"{rate} on {', '.join(repr(c) for c in candidates)} first"),
        )

    def _plan_rollout(self, resource: Resource, ctx: PlanContext) -> list[Change]:
        assistant_name = str(resource.spec["assistant"])
        assistant_resource = ctx.resources[("Assistant", assistant_name)]
        assistant_id = ctx.ids.ref("Assistant", assistant_name)
        live_assistant = ctx.live.get("Assistant", assistant_name)
        main_id = live_assistant.get("version_id") if live_assistant else None
        assistant_changes = "Assistant/" + assistant_name in ctx.changed
        main_body = _assistants.desired_body(assistant_resource, ctx)
        live_versions = ctx.live.versions.get(assistant_name, [])

        changes: list[Change] = []
        version_ids: dict[str, str | Pending] = {}
        for version_name, override in (resource.spec.get("versions") or {}).items():
            address_name = version_address_name(assistant_name, version_name)
            override_body = resolve_references(override, ctx.ids)
            desired = {k: v for k, v in {**main_body, **override_body}.items() if k not in ASSISTANT_LEVEL_FIELDS}
            live_version = newest_named_version(live_versions, version_name, main_id)
            before = _assistants.comparable(live_version, ctx) if live_version else None
            if before is not None:  # a candidate is the assistant too: its ignore rules hold for it
                desired = without_ignored(desired, before, "Assistant/" + assistant_name, ctx)
            differences = stated_differences(desired, before) if before is not None else None
            if live_version is not None and not differences:
                version_ids[version_name] = str(live_version["version_id"])
                continue
            body = {**override_body, "version_name": version_name, "promote_to_main": False}
            requires = requires_of(body) + (("Assistant/" + assistant_name,) if assistant_changes else ())
            named = {**override_body, "version_name": version_name}
            fields = tuple(differences) if differences else tuple(leaves(named))
            changes.append(
                Change(Action.CREATE, VERSION_KIND, address_name, assistant_id, before, desired, fields, body,
                       resource.file, resource.line, (2, 0), tuple(dict.fromkeys(requires)),
                       note=f"candidate version of Assistant/{assistant_name}; main is not touched")
            )
            version_ids[version_name] = Pending(VERSION_KIND, address_name)

        main_ref: str | Pending | None = main_id
        if assistant_changes or main_id is None:
            main_ref = Pending(MAIN_VERSION, assistant_name)
        rules = [self._rule(rule, version_ids, main_ref) for rule in resource.spec.get("rules") or []]
        body = {"rules": rules}
        desired_view = {"rules": comparable_rules(rules)}
        waits = [c.ref for c in changes]
        if assistant_changes:
            waits.append("Assistant/" + assistant_name)
        requires = tuple(waits)
        live_canary = ctx.live.canaries.get(assistant_name)
        if live_canary is None:
            changes.append(
                Change(Action.CREATE, self.kind, resource.name, assistant_id, None, desired_view,
                       tuple(leaves(body)), body, resource.file, resource.line, (self.level, 0), requires,
                       note=f"canary config of Assistant/{assistant_name}")
            )
            return changes
        before_view = self.comparable(live_canary, ctx)
        differences = stated_differences(desired_view, before_view)
        if differences:
            changes.append(
                Change(Action.UPDATE, self.kind, resource.name, assistant_id, before_view, desired_view,
                       tuple(differences), body, resource.file, resource.line, (self.level, 0), requires,
                       note=f"canary config of Assistant/{assistant_name}")
            )
        return changes

    @staticmethod
    def _rule(
        rule: Mapping[str, Any], versions: Mapping[str, str | Pending], main: str | Pending | None
    ) -> dict[str, Any]:
        def version_id(name: str) -> str | Pending | None:
            return main if name == "main" else versions[name]

        serve = rule.get("serve") or {}
        out_serve: dict[str, Any] = {}
        if "version" in serve:
            out_serve["version_id"] = version_id(serve["version"])
        if "rollout" in serve:
            out_serve["rollout"] = [
                {"version_id": version_id(slot["version"]), "weight": slot["weight"]} for slot in serve["rollout"]
            ]
        out: dict[str, Any] = {"serve": out_serve}
        if rule.get("match"):
            out["match"] = list(rule["match"])
        return out

    def plan_prune(self, assistant_name: str, canary: Mapping[str, Any], ctx: PlanContext) -> Change:
        """Delete the canary config of a managed assistant that no CanaryDeploy manifest claims."""
        before = self.comparable(canary, ctx)
        live_id = ctx.ids.ref("Assistant", assistant_name)
        return Change(Action.DELETE, self.kind, assistant_name, live_id, before, None,
                      tuple(removed(before)), {}, stage=(self.level, 0),
                      note=f"canary config of Assistant/{assistant_name}; main is not touched")

    def confirm(self, client: TelnyxClient, change: Change, ids: IdIndex) -> str | None:
        """A canary write whose answer was lost: done if the live config already is the wanted one."""
        assistant_id = str(ids.resolve(change.live_id))
        current = client.get_canary(assistant_id)
        if change.action is Action.DELETE:
            return assistant_id if current is None else None
        if current is None:
            return None
        wanted = {"rules": comparable_rules(ids.resolve(dict(change.body)).get("rules"))}
        return None if stated_differences(wanted, {"rules": comparable_rules(current.get("rules"))}) else assistant_id

    def write(self, client: TelnyxClient, change: Change, ids: IdIndex, idempotency_key: str) -> str | None:
        assistant_id = str(ids.resolve(change.live_id))
        if change.action is Action.CREATE:
            client.create_canary(assistant_id, ids.resolve(dict(change.body)), idempotency_key)
        elif change.action is Action.UPDATE:
            client.replace_canary(assistant_id, ids.resolve(dict(change.body)))
        else:
            with contextlib.suppress(ApiNotFound):  # no config left: what the delete wanted
                client.delete_canary(assistant_id)
        return assistant_id
