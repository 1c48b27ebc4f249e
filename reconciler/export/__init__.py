"""Export: write manifests for what is live, so an account made in the portal can move to git.

    export_account(client, out_dir)  read every kind, select, write one file per object
    adopt(result, ledger)            record the exported objects in a stack's ownership ledger
    name_versions(client, result)    give served canary versions the names the export used

The contract is the round trip: on any account, ``plan`` over the exported directory shows no
changes (with the secret variables set to the live values, and after ``name_versions`` when a
served canary version had no name the engine can find it by). Reading is the engine's own
``comparable`` views, so the export states exactly what ``plan`` will compare.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.api.client import TelnyxClient
from reconciler.changes.change import Action
from reconciler.changes.refs import IdIndex
from reconciler.engine.ownership import Ledger, updated_ledger
from reconciler.errors import ManifestErrors
from reconciler.kinds import handler_for
from reconciler.kinds.base import PlanContext
from reconciler.manifests.loader import load_resources
from reconciler.model import KINDS, UNPRINTABLE, LiveState, Resource, SourceMap

from .canary import CanaryExport, VersionRename, canary_export
from .spec import Names, SecretNamer, assistant_plain, mcp_spec, secret_assistant_spec, test_spec, tool_spec
from .writer import dump_document, file_names, header, secrets_text, write_text

__all__ = [
    "ExportResult", "ExportedObject", "Skipped", "VersionRename", "adopt", "export_account", "name_versions",
]

SECRETS_FILE = "secrets.txt"


@dataclass(frozen=True)
class ExportedObject:
    """One written manifest: ``id`` is the live object's (the assistant's, for a CanaryDeploy)."""

    kind: str
    name: str
    id: str
    path: Path
    """Relative to the export directory."""


@dataclass(frozen=True)
class Skipped:
    """A selected live object no manifest could describe, and why."""

    kind: str
    name: str
    id: str
    reason: str


@dataclass(frozen=True)
class ExportResult:
    out_dir: Path
    objects: tuple[ExportedObject, ...] = ()
    secrets: tuple[str, ...] = ()
    """Names of the ``${secret:NAME}`` variables the manifests read (never their values)."""
    skipped: tuple[Skipped, ...] = ()
    warnings: tuple[str, ...] = ()
    renames: tuple[VersionRename, ...] = ()
    """Served canary versions that got a generated name; ``name_versions`` applies them."""
    problems: tuple[str, ...] = ()
    """Validation problems of the written files (a bug or a shape the manifests cannot state)."""

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _Live:
    tools: list[dict[str, Any]]
    mcp_servers: list[dict[str, Any]]
    assistants: list[dict[str, Any]]
    tests: list[dict[str, Any]] = field(default_factory=list)
    canaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _name_problem(name: str) -> str | None:
    if not name:
        return "it has no name"
    if len(name) > 255:
        return "its name is longer than 255 characters"
    if name != name.strip() or UNPRINTABLE.search(name):
        return "its name has leading or trailing whitespace or control characters"
    return None


def _unique(kind: str, items: list[dict[str, Any]], skipped: list[Skipped]) -> dict[str, dict[str, Any]]:
    """Objects by name; names held by several objects (or unusable ones) are skipped, all of them."""
    handler = handler_for(kind)
    by_name: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_name.setdefault(handler.live_name(item), []).append(item)
    out: dict[str, dict[str, Any]] = {}
    for name, found in by_name.items():
        problem = _name_problem(name)
        if problem is None and len(found) > 1:
            ids = ", ".join(handler.live_id(o) for o in found)
            problem = f"{len(found)} live objects share this name ({ids}); rename all but one, then export again"
        if problem is not None:
            skipped.extend(Skipped(kind, name, handler.live_id(o), problem) for o in found)
        else:
            out[name] = found[0]
    return out


def _matches(name: str, name_glob: str | None) -> bool:
    return name_glob is None or fnmatch.fnmatchcase(name, name_glob)


def _context(live: _Live, tools: Mapping[str, dict[str, Any]]) -> PlanContext:
    """The view ``plan`` will have: every live Tool listed, the exported ones managed."""
    ids = IdIndex()
    resources: dict[tuple[str, str], Resource] = {}
    for name, tool in tools.items():
        ids.set("Tool", name, str(tool["id"]))
        resources[("Tool", name)] = Resource("Tool", name, {}, "", 0, SourceMap(""))
    return PlanContext(LiveState(lists={"Tool": live.tools}), ids, resources)


def _read(client: TelnyxClient, parallelism: int) -> _Live:
    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
        tools = pool.submit(client.list_tools)
        servers = pool.submit(client.list_mcp_servers)
        assistants = pool.submit(client.list_assistants)
        tests = pool.submit(client.list_assistant_tests)
        return _Live(tools.result(), servers.result(), assistants.result(), tests.result())


def _read_canaries(client: TelnyxClient, live: _Live, assistants: Iterable[dict[str, Any]], parallelism: int) -> None:
    """Canary config of each assistant, and its versions where there is one."""

    def read(assistant: dict[str, Any]) -> tuple[str, dict[str, Any] | None, list[dict[str, Any]]]:
        assistant_id = str(assistant["id"])
        canary = client.get_canary(assistant_id)
        versions = client.list_versions(assistant_id) if canary is not None else []
        return str(assistant["name"]), canary, versions

    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
        for name, canary, versions in pool.map(read, list(assistants)):
            if canary is not None:
                live.canaries[name] = canary
                live.versions[name] = versions


def _used_ids(assistant: Mapping[str, Any], ctx: PlanContext) -> tuple[set[str], set[str]]:
    """Tool and MCP server ids one assistant (or version) uses, as the engine sees them."""
    view = handler_for("Assistant").comparable(assistant, ctx)
    tools = {str(i) for i in view.get("tool_ids") or []}
    flow = view.get("conversation_flow") if isinstance(view.get("conversation_flow"), dict) else {}
    for node in (flow or {}).get("nodes") or []:
        if isinstance(node, dict):
            tools.update(str(i) for i in node.get("shared_tool_ids") or [])
            if node.get("shared_tool_id"):
                tools.add(str(node["shared_tool_id"]))
    servers = {str(e.get("id")) for e in view.get("mcp_servers") or [] if isinstance(e, dict)}
    return tools, servers


def export_account(
    client: TelnyxClient,
    out_dir: Path,
    *,
    kinds: Sequence[str] | None = None,
    name_glob: str | None = None,
    tag: str | None = None,
    assistant_ids: Collection[str] | None = None,
    parallelism: int = 8,
) -> ExportResult:
    """Write a manifest per selected live object under ``out_dir``, plus ``secrets.txt``.

    Selection: ``kinds`` (default all), ``name_glob`` on names (a CanaryDeploy answers to its
    assistant's name), ``tag`` on assistants; with a tag, tools and MCP servers are exported only
    when a selected assistant (or one of its served versions) uses them. ``assistant_ids``
    selects assistants by id the same way (what ``reconciler import`` just imported). Objects that
    are not exported are referenced by raw id.
    """
    wanted = set(kinds or KINDS)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ValueError(f"unknown kind(s) {', '.join(sorted(unknown))}; expected {', '.join(KINDS)}")
    skipped: list[Skipped] = []
    warnings: list[str] = []
    live = _read(client, parallelism)
    all_tools = _unique("Tool", live.tools, skipped)
    all_servers = _unique("McpServer", live.mcp_servers, skipped)
    all_assistants = _unique("Assistant", live.assistants, skipped)
    all_tests = _unique("AssistantTest", live.tests, skipped)

    chosen = {
        n: a for n, a in all_assistants.items()
        if _matches(n, name_glob) and (tag is None or tag in (a.get("tags") or []))
        and (assistant_ids is None or str(a.get("id")) in assistant_ids)
    }
    if "CanaryDeploy" in wanted:
        _read_canaries(client, live, chosen.values(), parallelism)
    assistants = chosen if "Assistant" in wanted else {}
    tools = {n: t for n, t in all_tools.items() if "Tool" in wanted and _matches(n, name_glob)}
    servers = {n: s for n, s in all_servers.items() if "McpServer" in wanted and _matches(n, name_glob)}
    tests = {n: t for n, t in all_tests.items() if "AssistantTest" in wanted and _matches(n, name_glob)}
    if tag is not None or assistant_ids is not None:
        tested = {str(a["id"]) for a in chosen.values()}
        tests = {n: t for n, t in tests.items() if t.get("destination") in tested}
        ctx = _context(live, tools)
        used_tools: set[str] = set()
        used_servers: set[str] = set()
        for name, assistant in assistants.items():
            for obj in [assistant, *live.versions.get(name, [])]:
                found_tools, found_servers = _used_ids(obj, ctx)
                used_tools |= found_tools
                used_servers |= found_servers
        tools = {n: t for n, t in tools.items() if str(t["id"]) in used_tools}
        servers = {n: s for n, s in servers.items() if str(s["id"]) in used_servers}

    ctx = _context(live, tools)
    names = Names(
        tools={str(t["id"]): n for n, t in tools.items()},
        mcp_servers={str(s["id"]): n for n, s in servers.items()},
        assistants={str(a["id"]): n for n, a in assistants.items()},
    )
    namer = SecretNamer()
    documents: list[tuple[str, str, str, dict[str, Any]]] = []  # kind, name, id, spec
    renames: list[VersionRename] = []
    for name in sorted(tools):
        documents.append(("Tool", name, str(tools[name]["id"]), tool_spec(tools[name], ctx, namer)))
    for name in sorted(servers):
        documents.append(("McpServer", name, str(servers[name]["id"]), mcp_spec(servers[name])))
    for name in sorted(assistants):
        assistant = assistants[name]
        plain = assistant_plain(assistant, ctx, names, warnings.append)
        documents.append(("Assistant", name, str(assistant["id"]), secret_assistant_spec(plain, namer, name)))
        canary = live.canaries.get(name)
        if canary is None:
            continue
        exported: CanaryExport = canary_export(
            assistant, canary, live.versions.get(name, []), plain, ctx, names, warnings.append
        )
        if exported.spec is None:
            skipped.append(Skipped("CanaryDeploy", name, str(assistant["id"]), str(exported.problem)))
            continue
        versions = {
            version: secret_assistant_spec(override, namer, name, version)
            for version, override in exported.overrides.items()
        }
        documents.append(("CanaryDeploy", name, str(assistant["id"]), {**exported.spec, "versions": versions}))
        renames.extend(exported.renames)
    for name in sorted(tests):
        documents.append(("AssistantTest", name, str(tests[name]["test_id"]), test_spec(tests[name], names)))
    for name in sorted(set(chosen) - set(assistants)):
        if name in live.canaries:
            skipped.append(Skipped("CanaryDeploy", name, str(chosen[name]["id"]),
                                   "its Assistant is not exported (a CanaryDeploy needs its Assistant document)"))

    written = _write(client.base_url, out_dir, documents, namer.names)
    problems = _validate(out_dir, written, namer.names)
    return ExportResult(
        out_dir=out_dir,
        objects=tuple(written),
        secrets=tuple(namer.names),
        skipped=tuple(sorted(skipped, key=lambda s: (s.kind, s.name, s.id))),
        warnings=tuple(warnings),
        renames=tuple(renames),
        problems=tuple(problems),
    )


def _write(
    base_url: str, out_dir: Path, documents: list[tuple[str, str, str, dict[str, Any]]], secrets: list[str]
) -> list[ExportedObject]:
    paths = {kind: file_names(kind, [d[1] for d in documents if d[0] == kind]) for kind in KINDS}
    written: list[ExportedObject] = []
    for kind, name, live_id, spec in documents:
        relative = Path(paths[kind][name])
        write_text(out_dir / relative, dump_document(kind, name, spec, header(base_url, kind, live_id)))
        written.append(ExportedObject(kind, name, live_id, relative))
    write_text(out_dir / SECRETS_FILE, secrets_text(secrets))
    return written


def _validate(out_dir: Path, written: list[ExportedObject], secrets: list[str]) -> list[str]:
    """Load what was written with the project's own loader: an export that does not validate is a bug."""
    if not written:
        return []
    environ = dict.fromkeys(secrets, "placeholder")
    try:
        load_resources([out_dir / o.path for o in written], environ)
    except ManifestErrors as exc:
        return [str(p) for p in exc.problems]
    return []


def adopt(result: ExportResult, ledger: Ledger) -> Ledger:
    """The stack's ledger with every exported object owned, so ``--prune`` may manage it later.

    CanaryDeploys are not ledger objects: a canary config is pruned through its assistant.
    """
    found = [(Action.UPDATE, o.kind, o.name, o.id) for o in result.objects]
    return updated_ledger(ledger, (), {}, found)


def name_versions(client: TelnyxClient, result: ExportResult) -> int:
    """Set ``version_name`` on each served version the export renamed; returns how many.

    A version update edits that version in place (no new version, main untouched), so this only
    lets ``plan`` find the candidate by the name the CanaryDeploy gives it.
    """
    for rename in result.renames:
        client.request(
            "POST", f"/ai/assistants/{rename.assistant_id}/versions/{rename.version_id}",
            body={"version_name": rename.name}, repeatable=True,
        )
    return len(result.renames)
