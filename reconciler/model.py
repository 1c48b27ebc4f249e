"""Desired-state values shared by the loader, the engine and the renderers.

A ``Resource`` is one manifest document after parsing, interpolation and schema validation.
It remembers where each field came from (``SourceMap``) so that every later error can still
name file and line, and which values were secrets so that no output ever shows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JsonPath = tuple[str | int, ...]
"""A path into a JSON value: keys and list indexes from the root of ``spec``."""

API_VERSION = "reconciler/v1"
KINDS = ("Assistant", "Tool", "McpServer", "CanaryDeploy")


def format_path(path: JsonPath) -> str:
    """Render a path the way validation messages show it: ``spec.tools[0].webhook.url``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "$"


@dataclass(frozen=True)
class SourceMap:
    """Line numbers of a document's nodes, keyed by path from the document root."""

    file: str
    lines: Mapping[JsonPath, int] = field(default_factory=dict)

    def line_of(self, path: JsonPath) -> int:
        """The line of ``path``, or of its nearest ancestor that has one."""
        probe = tuple(path)
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return self.lines.get((), 1)


@dataclass(frozen=True)
class Resource:
    """One desired object: ``kind``/``name`` plus its ``spec`` in the API's request shape.

    ``spec`` is interpolated; ``template`` is the same spec with only ``${var:...}`` filled in
    (environment and secret references stay raw), which is what a saved plan's digest covers.
    ``secrets`` holds the interpolated values of ``${secret:...}`` references, used only to mask
    them in output.
    """

    kind: str
    name: str
    spec: Mapping[str, Any]
    file: str
    line: int
    source: SourceMap
    template: Mapping[str, Any] = field(default_factory=dict)
    secrets: frozenset[str] = frozenset()

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.name)

    @property
    def address(self) -> str:
        return f"{self.kind}/{self.name}"

    def line_of(self, spec_path: JsonPath) -> int:
        """Line of a path inside ``spec``."""
        return self.source.line_of(("spec", *spec_path))
