"""Manifest files: safe file names, deterministic YAML, a header that says where it came from.

YAML keeps the API's key order (not sorted) so a file reads like the portal, multi-line text is a
``|`` block so a prompt diff in review is line by line, and no anchors or aliases are emitted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from reconciler.model import API_VERSION

DIRECTORIES = {
    "Assistant": "assistants",
    "Tool": "tools",
    "McpServer": "mcp-servers",
    "CanaryDeploy": "canary-deploys",
    "AssistantTest": "assistant-tests",
}
MAX_STEM = 100


class _Dumper(yaml.SafeDumper):
    """Block style everywhere, ``|`` for multi-line strings, never an alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def dump_document(kind: str, name: str, spec: Mapping[str, Any], header: str) -> str:
    """One manifest document as text, starting with its header comment."""
    body = yaml.dump(
        {"apiVersion": API_VERSION, "kind": kind, "name": name, "spec": dict(spec)},
        Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=2**30,
    )
    return header + body


def public_url(base_url: str) -> str:
    """The base URL without user info, query or fragment: where, never who."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def header(base_url: str, kind: str, live_id: str) -> str:
    what = f"the canary config of assistant {live_id}" if kind == "CanaryDeploy" else f"{kind} {live_id}"
    return (
        f"# Exported by `reconciler export` from {public_url(base_url)} ({what}).\n"
        "# Review it before committing: `reconciler plan` on the export shows no changes.\n"
    )


def safe_stem(name: str) -> str:
    """A portable file name stem: letters, digits, ``.``, ``_`` and ``-``; never hidden, never empty."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-") or "unnamed"
    return stem[:MAX_STEM].rstrip(".-") or "unnamed"


def file_names(kind: str, names: Iterable[str]) -> dict[str, str]:
    """``name -> relative path``; stems that collide (ignoring case) get ``-2``, ``-3`` in name order."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in sorted(set(names)):
        stem = safe_stem(name)
        candidate, n = stem, 2
        while candidate.lower() in used:
            candidate, n = f"{stem}-{n}", n + 1
        used.add(candidate.lower())
        out[name] = f"{DIRECTORIES[kind]}/{candidate}.yaml"
    return out


def secrets_text(names: Iterable[str]) -> str:
    lines = [
        "# Environment variables the exported manifests read with ${secret:NAME}.",
        "# Set each to the value live in the account before running plan; values are never exported.",
        *names,
    ]
    return "\n".join(lines) + "\n"


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
