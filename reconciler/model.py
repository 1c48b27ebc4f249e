"""Values every stage shares: what the manifests want, and what the account holds.

A ``Resource`` is one manifest document after parsing, interpolation and schema validation.
It remembers where each field came from (``SourceMap``) so that every later error can still
name file and line, and which values were secrets so that no output ever shows them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

JsonPath = tuple[str | int, ...]
"""A path into a JSON value: keys and list indexes from the root of ``spec``."""

API_VERSION = "reconciler/v1"
KINDS = ("Assistant", "Tool", "McpServer", "CanaryDeploy", "AssistantTest")
UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""Characters that would break a one-line message or a name on a terminal: controls and line separators."""

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects accepted anywhere: manifests, var files, ``reconciler.yaml``,
saved plans, the API's answers (the default of ``RECONCILER_MAX_DEPTH``) and the emulator's requests.
Real documents stay far below; deeper is refused before a parser could exhaust memory or the stack."""


def copy_json(value: Any) -> Any:
    """A copy of a JSON-like value whose dicts and lists can be changed without touching ``value``.

    Manifests and API answers hold only dicts, lists and immutable scalars (and ``Pending`` ids,
    which are immutable too), so this is what ``copy.deepcopy`` gives, at a fifth of its cost:
    no memo, no dispatch table. Depth is bounded everywhere by ``MAX_DEPTH``.
    """
    kind = type(value)
    if kind is dict:
        return {key: copy_json(item) for key, item in value.items()}
    if kind is list:
        return [copy_json(item) for item in value]
    return value


def format_path(path: JsonPath) -> str:
    """Render a path the way validation messages show it: ``spec.tools[0].webhook.url``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "$"


class SourceMap:
    """Line numbers of a document's nodes, keyed by path from the document root.

    A map can be deferred: it holds only how to read the lines again (``reread``), and reads them
    the first time a line is asked for. The loader keeps the full map while it checks a document
    and hands deferred ones to the engine, because line maps of thousands of manifests would cost
    more memory than the manifests themselves, and after loading a line is needed only to report
    a problem.
    """

    __slots__ = ("_lines", "_reread", "file", "root_line")

    def __init__(
        self,
        file: str,
        lines: Mapping[JsonPath, int] | None = None,
        *,
        reread: Callable[[], Mapping[JsonPath, int]] | None = None,
        root_line: int = 1,
    ) -> None:
        self.file = file
        self._lines = lines
        self._reread = reread
        self.root_line = root_line

    @property
    def lines(self) -> Mapping[JsonPath, int]:
        if self._lines is None:
            self._lines = self._reread() if self._reread is not None else {}
            self._reread = None
        return self._lines

    def deferred(self, reread: Callable[[], Mapping[JsonPath, int]]) -> SourceMap:
        """The same map without its lines in memory; ``reread`` gives them back when needed."""
        return SourceMap(self.file, reread=reread, root_line=self.line_of(()))

    def line_of(self, path: JsonPath) -> int:
        """The line of ``path``, or of its nearest ancestor that has one."""
        lines = self.lines
        probe = tuple(path)
        while probe:
            if probe in lines:
                return lines[probe]
            probe = probe[:-1]
        return lines.get((), self.root_line)


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
    source: SourceMap = field(compare=False)  # follows from file and line, so not compared
    template: Mapping[str, Any] = field(default_factory=dict)
    secrets: frozenset[str] = frozenset()
    previous_names: tuple[str, ...] = ()
    """Names the object had before a rename in git (``previous_names:``): plan renames, never replaces."""
    warnings: tuple[str, ...] = field(default=(), compare=False)  # e.g. fields sent through x-passthrough

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.name)

    @property
    def address(self) -> str:
        return f"{self.kind}/{self.name}"

    def line_of(self, spec_path: JsonPath) -> int:
        """Line of a path inside ``spec``."""
        return self.source.line_of(("spec", *spec_path))


@dataclass(frozen=True)
class LiveState:
    """Live objects by ``(kind, name)``; names held by several live objects keep all their ids."""

    objects: Mapping[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    duplicates: Mapping[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    lists: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)
    canaries: Mapping[str, dict[str, Any] | None] = field(default_factory=dict)
    """Canary config by assistant name; only for assistants that were read."""
    versions: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Versions by assistant name; only for assistants with a CanaryDeploy manifest."""

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        return self.objects.get((kind, name))

    def listed(self, kind: str) -> list[dict[str, Any]]:
        """Every live object of a kind that was listed (empty if the kind was not read)."""
        return self.lists.get(kind, [])
