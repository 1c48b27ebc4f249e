"""The project file, ``reconciler.yaml``: stack name, pruning safety, protection, ignore rules.

    stack: support-desk               # ownership scope; two stacks can share one account
    ownership_file: .reconciler/ownership-support-desk.json   # default shown
    prune:
      max_delete_fraction: 0.3        # refuse to delete more than this share of managed objects
      min_managed: 10                 # below this many managed objects the fraction does not apply
    updates:                          # every apply, pruning or not
      max_fraction: 0.3               # refuse to rewrite more than this share, without --force
      min_managed: 10
    protect:                          # never deleted by --prune (Kind/name, * and ? wildcards)
      - Assistant/support-triage
    ignore:                           # fields the console owns: never a change in plan or drift
      - target: Assistant/*
        fields: [greeting, voice_settings.voice, "tools[*].webhook.url"]

It is read from ``--config FILE``, else ``reconciler.yaml`` in the current directory, else
defaults apply (no stack: nothing is ever pruned except canary configs of managed assistants).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reconciler.errors import ConfigError
from reconciler.manifests.jsonschema_ext import SchemaValidator

DEFAULT_FILE = Path("reconciler.yaml")

_TARGET = r"^(Assistant|Tool|McpServer|CanaryDeploy|\*)/.+$"
_TARGET_HELP = "(Kind: Assistant, Tool, McpServer, CanaryDeploy or *; name may use * and ?)"
_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "stack": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"},
        "ownership_file": {"type": "string", "minLength": 1},
        "prune": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "max_delete_fraction": {"type": "number", "minimum": 0, "maximum": 1},
                "max_update_fraction": {"type": "number", "minimum": 0, "maximum": 1},
                "min_managed": {"type": "integer", "minimum": 0},
            },
        },
        "updates": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "max_fraction": {"type": "number", "minimum": 0, "maximum": 1},
                "min_managed": {"type": "integer", "minimum": 0},
            },
        },
        "protect": {"type": "array", "items": {"type": "string", "pattern": _TARGET}},
        "ignore": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["target", "fields"],
                "properties": {
                    "target": {"type": "string", "pattern": _TARGET},
                    "fields": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
                },
            },
        },
    },
}


@dataclass(frozen=True)
class PruneSettings:
    max_delete_fraction: float = 0.3
    max_update_fraction: float = 0.3
    """``updates.max_fraction``; ``prune.max_update_fraction`` is its older spelling."""
    min_managed: int = 10
    update_min_managed: int = 10
    update_setting: str = "updates.max_fraction"
    """Where the update threshold was read from, for the refusal message."""


@dataclass(frozen=True)
class IgnoreRule:
    target: str
    fields: tuple[str, ...]

    def applies_to(self, address: str) -> bool:
        return fnmatch.fnmatchcase(address, self.target)


@dataclass(frozen=True)
class Project:
    stack: str | None = None
    ownership_file: Path | None = None
    prune: PruneSettings = field(default_factory=PruneSettings)
    protect: tuple[str, ...] = ()
    ignore: tuple[IgnoreRule, ...] = ()
    source: Path | None = None

    def is_protected(self, address: str) -> bool:
        return any(fnmatch.fnmatchcase(address, pattern) for pattern in self.protect)

    def ignored_fields(self, address: str) -> list[str]:
        return [f for rule in self.ignore if rule.applies_to(address) for f in rule.fields]


_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\*|\d+)\]")


def parse_field_path(text: str) -> tuple[str | int, ...]:
    """``tools[*].webhook.url`` -> ("tools", "*", "webhook", "url"); ``*`` matches any list item."""
    parts: list[str | int] = []
    for name, index in _SEGMENT.findall(text):
        if name:
            parts.append(name)
        else:
            parts.append(index if index == "*" else int(index))
    return tuple(parts)


def load_project(path: Path | None = None) -> Project:
    """Read the project file; an explicit path must exist, the default one may not."""
    if path is None:
        if not DEFAULT_FILE.is_file():
            return Project()
        path = DEFAULT_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the project file: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    errors = sorted(SchemaValidator(_SCHEMA).iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        lines = []
        for error in errors:
            where = ".".join(str(p) for p in error.absolute_path) or "$"
            message = error.message
            if error.validator == "pattern" and error.schema.get("pattern") == _TARGET:
                message = f"{error.instance!r} is not Kind/name {_TARGET_HELP}"
            lines.append(f"{path}: {where}: {message}")
        raise ConfigError("\n".join(lines))
    stack = data.get("stack")
    ownership = data.get("ownership_file")
    base = path.parent
    ownership_file = base / ownership if ownership else (
        base / ".reconciler" / f"ownership-{stack}.json" if stack else None
    )
    prune_data = dict(data.get("prune") or {})
    updates = data.get("updates") or {}
    legacy = "max_update_fraction" in prune_data and "max_fraction" not in updates
    prune = PruneSettings(
        max_delete_fraction=prune_data.get("max_delete_fraction", 0.3),
        max_update_fraction=prune_data["max_update_fraction"] if legacy else updates.get("max_fraction", 0.3),
        min_managed=prune_data.get("min_managed", 10),
        update_min_managed=updates["min_managed"] if "min_managed" in updates else prune_data.get("min_managed", 10),
        update_setting="prune.max_update_fraction" if legacy else "updates.max_fraction",
    )
    return Project(
        stack=stack,
        ownership_file=ownership_file,
        prune=prune,
        protect=tuple(data.get("protect") or ()),
        ignore=tuple(IgnoreRule(r["target"], tuple(r["fields"])) for r in data.get("ignore") or ()),
        source=path,
    )
