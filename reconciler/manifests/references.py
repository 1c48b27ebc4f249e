"""References by name between manifest documents, and the checks that need the whole manifest set.

Manifests name the objects they depend on (``shared_tools: [lookup-order]``) where the API wants
ids. ``references`` lists every such name with its path inside ``spec``: the loader uses it to
refuse names that no document defines, and the engine uses the same list to put ids in their place,
so both always agree on what is a reference. ``check_references`` holds the other rules that one
document cannot check alone (unknown names, one CanaryDeploy per assistant) plus a canary's own
version and weight rules.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.errors import ManifestProblem
from reconciler.model import JsonPath, Resource, format_path

__all__ = ["MAIN_VERSION", "Reference", "check_references", "references"]

MAIN_VERSION = "main"
"""The version name a canary rule uses for the assistant's main version."""


@dataclass(frozen=True)
class Reference:
    """One by-name reference: where it sits in ``spec``, the kind it points at, and the name."""

    path: JsonPath
    kind: str
    name: str


def references(kind: str, spec: Mapping[str, Any]) -> list[Reference]:
    """Every by-name reference of one document's ``spec``, in document order.

    Tool and McpServer documents reference nothing. A CanaryDeploy references its assistant, then
    whatever its version overrides reference (the same forms as an Assistant spec); its version
    names are internal to the document and not listed. Values of the wrong shape are skipped, so
    this is safe on a spec that failed validation.
    """
    if kind == "Assistant":
        return list(_assistant(spec, ()))
    if kind == "CanaryDeploy":
        return list(_canary(spec))
    if kind == "AssistantTest" and isinstance(spec.get("assistant"), str):
        return [Reference(("assistant",), "Assistant", spec["assistant"])]
    return []


def _canary(spec: Mapping[str, Any]) -> Iterator[Reference]:
    for key, value in spec.items():
        if key == "assistant" and isinstance(value, str):
            yield Reference(("assistant",), "Assistant", value)
        elif key == "versions" and isinstance(value, Mapping):
            for version, override in value.items():
                if isinstance(override, Mapping):
                    yield from _assistant(override, ("versions", version))


def _assistant(spec: Mapping[str, Any], at: JsonPath) -> Iterator[Reference]:
    for key, value in spec.items():
        if key == "shared_tools":
            yield from _names(value, (*at, key), "Tool")
        elif key == "mcp_servers":
            for i, entry in _items(value):
                yield from _name(entry, "server", (*at, key, i), "McpServer")
        elif key == "tools":
            for i, tool in _items(value):
                if tool.get("type") == "handoff" and isinstance(tool.get("handoff"), Mapping):
                    for j, target in _items(tool["handoff"].get("ai_assistants")):
                        yield from _name(target, "assistant", (*at, key, i, "handoff", "ai_assistants", j), "Assistant")
        elif key == "conversation_flow" and isinstance(value, Mapping):
            yield from _flow(value, (*at, key))


def _flow(flow: Mapping[str, Any], at: JsonPath) -> Iterator[Reference]:
    for key, value in flow.items():
        if key == "nodes":
            for i, node in _items(value):
                node_type = node.get("type", "prompt")
                if node_type == "prompt":
                    yield from _names(node.get("shared_tools"), (*at, key, i, "shared_tools"), "Tool")
                elif node_type == "tool":
                    yield from _name(node, "shared_tool", (*at, key, i), "Tool")
        elif key == "edges":
            for i, edge in _items(value):
                target = edge.get("target")
                if isinstance(target, Mapping) and target.get("type") == "assistant":
                    yield from _name(target, "assistant", (*at, key, i, "target"), "Assistant")


def _items(value: Any) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """(index, item) for the mapping items of a list; anything else yields nothing."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, Mapping):
                yield index, item


def _names(value: Any, at: JsonPath, kind: str) -> Iterator[Reference]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, str):
                yield Reference((*at, index), kind, item)


def _name(entry: Mapping[str, Any], key: str, at: JsonPath, kind: str) -> Iterator[Reference]:
    if isinstance(entry.get(key), str):
        yield Reference((*at, key), kind, entry[key])


def check_references(resources: Sequence[Resource], defined: Collection[tuple[str, str]]) -> list[ManifestProblem]:
    """Problems of schema-valid resources that need the whole manifest set.

    ``defined`` holds the (kind, name) of every document read, valid or not, so that a reference
    to a document with its own problems is not also reported as unknown.
    """
    names: dict[str, list[str]] = {}
    for kind, name in defined:
        names.setdefault(kind, []).append(name)
    problems: list[ManifestProblem] = []
    for resource in resources:
        for ref in references(resource.kind, resource.spec):
            if (ref.kind, ref.name) not in defined:
                known = sorted(names.get(ref.kind, []))
                message = f"no {ref.kind} named {ref.name!r} in the manifests{_suggest(ref.name, known)}"
                problems.append(_problem(resource, ref.path, message))
        if resource.kind == "CanaryDeploy":
            problems.extend(_canary_problems(resource))
    problems.extend(_one_canary_per_assistant(resources))
    return problems


def _canary_problems(resource: Resource) -> Iterator[ManifestProblem]:
    """Rule versions must name a candidate (or main); one rollout's weights must leave main a share."""
    spec = resource.spec
    candidates = list(spec.get("versions", {}))
    steps = spec.get("steps")
    if isinstance(steps, list) and steps:
        if not spec.get("gate"):
            yield _problem(resource, ("steps",), "a staged rollout needs a gate: each step waits for it to pass")
        numbers = [s for s in steps if isinstance(s, int | float) and not isinstance(s, bool)]
        if numbers != sorted(set(numbers)):
            yield _problem(resource, ("steps",), "steps must rise: each weight above the one before")
    if isinstance(spec.get("promote"), str) and spec["promote"] not in candidates:
        promoted = spec["promote"]
        message = (f"no candidate named {promoted!r}{_suggest(promoted, candidates)} to promote; "
                   f"use one of: {', '.join(candidates)}")
        yield _problem(resource, ("promote",), message)
    for i, rule in _items(spec.get("rules")):
        serve = rule.get("serve")
        if not isinstance(serve, Mapping):
            continue
        at: JsonPath = ("rules", i, "serve")
        if isinstance(serve.get("version"), str):
            yield from _unknown_version(resource, serve["version"], (*at, "version"), candidates)
        weights = []
        for j, slot in _items(serve.get("rollout")):
            if isinstance(slot.get("version"), str):
                yield from _unknown_version(resource, slot["version"], (*at, "rollout", j, "version"), candidates)
            if isinstance(slot.get("weight"), int | float) and not isinstance(slot.get("weight"), bool):
                weights.append(slot["weight"])
        total = math.fsum(weights)
        if weights and total >= 100:
            message = f"rollout weights sum to {total:g}; they must sum to less than 100 (main serves the rest)"
            yield _problem(resource, (*at, "rollout"), message)


def _unknown_version(
    resource: Resource, version: str, at: JsonPath, candidates: list[str]
) -> Iterator[ManifestProblem]:
    if version != MAIN_VERSION and version not in candidates:
        choices = ", ".join([MAIN_VERSION, *candidates])
        message = f"no version named {version!r}{_suggest(version, candidates)}; use one of: {choices}"
        yield _problem(resource, at, message)


def _one_canary_per_assistant(resources: Sequence[Resource]) -> Iterator[ManifestProblem]:
    """Telnyx keeps one canary configuration per assistant: two documents would overwrite each other."""
    first: dict[str, Resource] = {}
    for resource in resources:
        assistant = resource.spec.get("assistant") if resource.kind == "CanaryDeploy" else None
        if not isinstance(assistant, str):
            continue
        earlier = first.setdefault(assistant, resource)
        if earlier is not resource:
            message = (
                f"Assistant {assistant!r} already has {earlier.address} ({earlier.file}:{earlier.line}); "
                "at most one CanaryDeploy per assistant"
            )
            yield _problem(resource, ("assistant",), message)


def _problem(resource: Resource, spec_path: JsonPath, message: str) -> ManifestProblem:
    return ManifestProblem(
        file=resource.file,
        line=resource.line_of(spec_path),
        message=message,
        kind=resource.kind,
        name=resource.name,
        path=format_path(("spec", *spec_path)),
    )


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
