"""The project file, ``reconciler.yaml``: stack, pruning safety, protection, ignore, passthrough, rollback targets.

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
    passthrough:                      # fields Telnyx added before the schema knows them: sent
      - target: Assistant/*           # as written, unchecked, with a warning (like x-passthrough)
        fields: [voice_settings.warmth, "tools[*].webhook.retry_policy"]
    keep_versions:                    # rollback targets: apply refuses to let the 10-version cap
      - Assistant/support-triage@v-1  # evict them without --force (Assistant/NAME@VERSION ID or NAME)

It is read from ``--config FILE``, else ``reconciler.yaml`` in the current directory, else
defaults apply (no stack: nothing is ever pruned except canary configs of managed assistants).
Files the reconciler keeps for a project (the ownership ledger, ``not-kept.json``) live in
``.reconciler/`` beside the project file, wherever the command runs from.
"""

from __future__ import annotations

import difflib
import fnmatch
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.errors import ConfigError
from reconciler.manifests.files import FileRefused, FileTooLarge, NotText, read_text
from reconciler.manifests.yaml_source import read_yaml
from reconciler.model import UNPRINTABLE, JsonPath

MAX_PROJECT_BYTES = 1024 * 1024
"""Largest project file read (1 MiB); it holds a stack name and a few rules."""

DEFAULT_FILE = Path("reconciler.yaml")
NOT_KEPT_FILE = Path(".reconciler") / "not-kept.json"
"""Fields the API did not keep (``reconciler.changes.readback``), relative to the project file's directory."""

_TARGET = r"^(Assistant|Tool|McpServer|CanaryDeploy|AssistantTest|\*)/.+$"
_TARGET_HELP = "(Kind: Assistant, Tool, McpServer, CanaryDeploy, AssistantTest or *; name may use * and ?)"
_KEEP_VERSION = r"^Assistant/[^@]+@.+$"
_KEEP_VERSION_HELP = "Assistant/NAME@VERSION (a version id or version name; NAME may use * and ?)"
_SPEC_FIELD = r"^([^.\[\]]+(\[(\*|\d+)\])*\.)*[^.\[\]]+$"
_SPEC_FIELD_HELP = "a field path inside spec, ending in a field name (voice_settings.warmth, tools[*].webhook.retry)"
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
        "keep_versions": {"type": "array", "items": {"type": "string", "pattern": _KEEP_VERSION}},
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
        "passthrough": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["target", "fields"],
                "properties": {
                    "target": {"type": "string", "pattern": _TARGET},
                    "fields": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "string",
                            "pattern": _SPEC_FIELD,
                            "not": {"pattern": r"(^|\.)x-passthrough(\.|\[|$)"},
                        },
                    },
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
class FieldRule:
    """Fields of the objects whose ``Kind/name`` the ``target`` glob matches."""

    target: str
    fields: tuple[str, ...]

    def applies_to(self, address: str) -> bool:
        return fnmatch.fnmatchcase(address, self.target)


class IgnoreRule(FieldRule):
    """Fields the console owns: never compared, their live values sent back."""


class PassthroughRule(FieldRule):
    """Fields sent unchecked, with a warning (a field Telnyx added before our schema knows it)."""


@dataclass(frozen=True)
class Project:
    stack: str | None = None
    ownership_file: Path | None = None
    prune: PruneSettings = field(default_factory=PruneSettings)
    protect: tuple[str, ...] = ()
    ignore: tuple[IgnoreRule, ...] = ()
    passthrough: tuple[PassthroughRule, ...] = ()
    keep_versions: tuple[str, ...] = ()
    """``Assistant/NAME@VERSION`` rollback targets the version cap must not evict without --force."""
    source: Path | None = None
    lines: dict[JsonPath, int] = field(default_factory=dict, compare=False, repr=False)
    """Line of every key and item of the project file, for messages."""

    def is_protected(self, address: str) -> bool:
        return any(fnmatch.fnmatchcase(address, pattern) for pattern in self.protect)

    def keeps_version(self, assistant: str, version_id: str, version_name: str | None) -> str | None:
        """Where a ``keep_versions`` entry declares this version of ``Assistant/assistant`` a rollback
        target (``FILE:LINE``, or ``the project``), or None when none does."""
        for i, entry in enumerate(self.keep_versions):
            target, _, version = entry.partition("@")
            if fnmatch.fnmatchcase(f"Assistant/{assistant}", target) and version in (version_id, version_name):
                line = self.lines.get(("keep_versions", i), 1)
                return f"{self.source}:{line}" if self.source is not None else "the project"
        return None

    def ignored_fields(self, address: str) -> list[str]:
        return [f for rule in self.ignore if rule.applies_to(address) for f in rule.fields]

    @property
    def not_kept_file(self) -> Path:
        """Where apply remembers fields the API did not keep: beside the project file, like the ledger."""
        return (self.source.parent if self.source is not None else Path()) / NOT_KEPT_FILE

    def passthrough_fields(self, *addresses: str) -> dict[JsonPath, str]:
        """The passthrough fields (paths inside spec) of an object known by any of ``addresses``,
        each with the ``FILE:LINE`` of its entry, for the warning."""
        found: dict[JsonPath, str] = {}
        for i, rule in enumerate(self.passthrough):
            if any(rule.applies_to(address) for address in addresses):
                for j, text in enumerate(rule.fields):
                    line = self.lines.get(("passthrough", i, "fields", j), 1)
                    where = f"{self.source}:{line}" if self.source is not None else "the project"
                    found.setdefault(parse_field_path(text), where)
        return found

    def unmatched(self, addresses: Iterable[str]) -> list[str]:
        """A warning for each protect, ignore, passthrough or keep_versions pattern that matches none of
        ``addresses``: a typo there would otherwise protect (or ignore) nothing without a word."""
        known = list(addresses)
        patterns: list[tuple[JsonPath, str]] = [(("protect", i), p) for i, p in enumerate(self.protect)]
        patterns += [(("ignore", i, "target"), r.target) for i, r in enumerate(self.ignore)]
        patterns += [(("passthrough", i, "target"), r.target) for i, r in enumerate(self.passthrough)]
        patterns += [(("keep_versions", i), entry.partition("@")[0]) for i, entry in enumerate(self.keep_versions)]
        warnings = []
        for where, pattern in patterns:
            if not any(fnmatch.fnmatchcase(a, pattern) for a in known):
                line = self.lines.get(where, 1)
                warnings.append(
                    f"{self.source}:{line}: {_where(where)}: {pattern!r} matches no manifest and no live object"
                )
        return warnings


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
    """Read the project file; an explicit path must exist, the default one may not.

    It is read like a manifest (``yaml_source``): bounded, duplicate keys refused, every problem
    as ``FILE:LINE: field: message``.
    """
    if path is None:
        if not DEFAULT_FILE.exists() and not DEFAULT_FILE.is_symlink():
            return Project()
        path = DEFAULT_FILE
    data, lines = _read(path)
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
        passthrough=tuple(PassthroughRule(r["target"], tuple(r["fields"])) for r in data.get("passthrough") or ()),
        keep_versions=tuple(data.get("keep_versions") or ()),
        source=path,
        lines=lines,
    )


def _read(path: Path) -> tuple[dict[str, Any], dict[JsonPath, int]]:
    """The checked mapping of the project file, or ``ConfigError`` listing every problem with its line."""
    try:
        text = read_text(path, MAX_PROJECT_BYTES)
    except FileTooLarge:
        raise ConfigError(f"{path}: the project file is larger than {MAX_PROJECT_BYTES // 2**20} MiB") from None
    except NotText as err:
        raise ConfigError(f"{path}:{err.line}: {err}") from None
    except FileRefused as err:
        raise ConfigError(f"{path}: cannot read the project file: {err}") from None
    parsed = read_yaml(text)
    issues = [*parsed.issues, *(i for d in parsed.documents for i in d.issues)]
    if issues:
        raise ConfigError("\n".join(_line(path, i.line, _where(i.path), i.message) for i in issues))
    if len(parsed.documents) > 1:
        raise ConfigError(_line(path, parsed.documents[1].line, "$", "a project file holds one document"))
    if not parsed.documents:
        return {}, {}
    document = parsed.documents[0]
    data = document.value
    if not isinstance(data, dict):
        raise ConfigError(_line(path, document.line, "$", "the project file must be a mapping (stack, prune, ...)"))

    def line_of(where: JsonPath) -> int:
        while where and where not in document.lines:
            where = where[:-1]
        return document.lines.get(where, document.line)

    from reconciler.api.jsonschema_ext import SchemaValidator  # jsonschema costs 0.1 s to import: only when used

    errors = sorted(SchemaValidator(_SCHEMA).iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    lines = []
    for error in errors:
        at = tuple(error.absolute_path)
        message = error.message
        if error.validator == "pattern" and error.schema.get("pattern") == _TARGET:
            message = f"{error.instance!r} is not Kind/name {_TARGET_HELP}"
        if error.validator == "pattern" and error.schema.get("pattern") == _KEEP_VERSION:
            message = f"{error.instance!r} is not {_KEEP_VERSION_HELP}"
        if error.validator == "pattern" and error.schema.get("pattern") == _SPEC_FIELD:
            message = f"{error.instance!r} is not {_SPEC_FIELD_HELP}"
        if error.validator == "not" and at[:1] == ("passthrough",):
            message = f"{error.instance!r}: list the field itself, not a path through x-passthrough"
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = list(error.schema.get("properties", {}))
            for key in error.instance:
                if key not in known:
                    close = difflib.get_close_matches(str(key), known, n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    at_key = (*at, key)
                    lines.append(_line(path, line_of(at_key), _where(at_key), f"unknown key{hint}"))
            continue
        lines.append(_line(path, line_of(at), _where(at), message))
    for key, value in (data.get("prune") or {}).items() if isinstance(data.get("prune"), dict) else ():
        if isinstance(value, float) and not math.isfinite(value):
            lines.append(_line(path, line_of(("prune", key)), f"prune.{key}", f"{value} is not a finite number"))
    if lines:
        raise ConfigError("\n".join(lines))
    return data, document.lines


def _where(path: JsonPath) -> str:
    return ".".join(str(p) for p in path) or "$"


def _line(path: Path, line: int, where: str, message: str) -> str:
    """One problem on one line: control characters in a quoted value are escaped."""
    text = f"{path}:{line}: {where}: {message}"
    return UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], text)
