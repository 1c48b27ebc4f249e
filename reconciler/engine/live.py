"""Read the live account with as few requests as the manifests allow.

One list call per listable kind the manifests need (lists return full objects), all in
parallel; then, only for assistants that a CanaryDeploy manifest targets (or every managed
assistant when pruning), the canary config and the versions list.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from reconciler.api.client import TelnyxClient
from reconciler.kinds import handler_for
from reconciler.model import LiveState, Resource


def index_live(kind: str, items: Iterable[dict[str, Any]]) -> LiveState:
    """Index one kind's live objects by name, remembering every name that is not unique."""
    handler = handler_for(kind)
    items = list(items)
    objects: dict[tuple[str, str], dict[str, Any]] = {}
    ids: dict[tuple[str, str], list[str]] = {}
    for item in items:
        key = (kind, handler.live_name(item))
        ids.setdefault(key, []).append(handler.live_id(item))
        objects.setdefault(key, item)
    duplicates = {key: tuple(found) for key, found in ids.items() if len(found) > 1}
    return LiveState(objects=objects, duplicates=duplicates, lists={kind: items})


def kinds_to_list(resources: Iterable[Resource], extra: Iterable[str] = ()) -> list[str]:
    """Listable kinds the manifests need: their own, plus Tool to recognise attached shared tools."""
    resources = list(resources)
    kinds = {r.kind for r in resources} | set(extra)
    if "CanaryDeploy" in kinds:
        kinds.add("Assistant")
    if any(r.kind == "Assistant" and ("shared_tools" in r.spec or "tool_ids" in r.spec) for r in resources):
        kinds.add("Tool")
    if "AssistantTest" in kinds:
        kinds.add("Assistant")  # a test names its assistant; the id is its destination
    order = ("Tool", "McpServer", "Assistant", "AssistantTest")
    return [k for k in order if k in kinds]


def fetch_live(
    client: TelnyxClient,
    resources: Iterable[Resource],
    parallelism: int = 8,
    prune: bool = False,
    extra_kinds: Iterable[str] = (),
) -> LiveState:
    """List what the manifests need, then read canaries and versions where they matter.

    ``extra_kinds`` adds kinds to list, e.g. those of owned objects a prune may delete.
    """
    resources = list(resources)
    kinds = kinds_to_list(resources, extra_kinds)
    workers = max(1, parallelism)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        listed = list(pool.map(lambda kind: (kind, handler_for(kind).list_live(client)), kinds))
        objects: dict[tuple[str, str], dict[str, Any]] = {}
        duplicates: dict[tuple[str, str], tuple[str, ...]] = {}
        lists: dict[str, list[dict[str, Any]]] = {}
        for kind, items in listed:
            part = index_live(kind, items)
            objects.update(part.objects)
            duplicates.update(part.duplicates)
            lists.update(part.lists)

        with_versions = {str(r.spec["assistant"]) for r in resources if r.kind == "CanaryDeploy"}
        with_canary = set(with_versions)
        if prune:
            with_canary |= {r.name for r in resources if r.kind == "Assistant"}
        targets = sorted(name for name in with_canary if ("Assistant", name) in objects)

        def assistant_id(name: str) -> str:
            return str(objects[("Assistant", name)]["id"])

        # The canary config and the versions of one assistant do not depend on each other: read
        # them as separate tasks so 2c reads take ceil(2c/P) round trips, not 2 * ceil(c/P).
        canary_reads = {name: pool.submit(client.get_canary, assistant_id(name)) for name in targets}
        version_reads = {
            name: pool.submit(client.list_versions, assistant_id(name)) for name in targets if name in with_versions
        }
        canaries = {name: future.result() for name, future in canary_reads.items()}
        versions = {name: future.result() for name, future in version_reads.items()}
    return LiveState(objects, duplicates, lists, canaries, versions)
