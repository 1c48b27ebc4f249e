"""Read YAML text into plain JSON-like values, remembering the line of every node.

PyYAML's constructors forget positions and silently keep the last of two equal keys, so we
compose nodes with ``SafeLoader`` and build the values ourselves. That is where line numbers,
duplicate-key refusal and the bound on alias expansion (an "alias bomb" expands to billions of
values from a few hundred bytes) live. Keys are always strings: a key's source text is kept, so
``on:`` or ``200:`` stay the keys the author wrote.

Every limit below turns an input that would exhaust the stack, memory or patience into one
problem with a line: the composer is bounded too (nesting, nodes, documents), because PyYAML builds
a whole document's node graph before we see it and composes nested nodes recursively.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.manifests.files import line_at
from reconciler.model import MAX_DEPTH, JsonPath

MAX_VALUES = 100_000
"""Most values one document may hold or expand to; real manifests stay far below."""

MAX_FILE_VALUES = 1_000_000
"""Most values all documents of one file may expand to, so a file of many alias bombs stays cheap."""

MAX_DOCUMENTS = 1_000
"""Most ``---`` documents in one file (empty ones included)."""

MAX_STRING = 1_000_000
"""Longest string (value or key) in characters; instructions are far shorter in practice."""

_TAG = "tag:yaml.org,2002:"


@dataclass(frozen=True)
class YamlIssue:
    """A problem found while reading: 1-based line, path from the document root, message."""

    line: int
    message: str
    path: JsonPath = ()


@dataclass
class YamlDocument:
    """One non-empty document: its value, the line of every key and item, and its issues."""

    value: Any
    line: int
    lines: dict[JsonPath, int] = field(default_factory=dict)
    issues: list[YamlIssue] = field(default_factory=list)


@dataclass
class YamlFile:
    """Every document of a file, plus the issue that stopped reading it, if any."""

    documents: list[YamlDocument] = field(default_factory=list)
    issues: list[YamlIssue] = field(default_factory=list)


class _Abort(Exception):
    """Stops building a document (or reading a file) that cannot be turned into values."""

    def __init__(self, issue: YamlIssue) -> None:
        super().__init__(issue.message)
        self.issue = issue


class _StopFile(_Abort):
    """Stops reading the rest of a file: its budget is spent, so every later document would fail too."""


class _BoundedComposer(Composer):
    """A composer that refuses too many documents, too many nodes and deep nesting.

    Without it, 10,000 ``[`` overflow Python's stack and a few megabytes of ``- a`` lines become a
    node graph of a gigabyte before any check of ours runs.
    """

    def _start_counting(self) -> None:
        self.documents = 0
        self.nodes = 0
        self.depth = 0
        self.document_line = 1

    def _next_line(self) -> int:
        """Line where the next event starts."""
        event = self.peek_event()  # type: ignore[attr-defined]  # from the parser it is mixed with
        return int(event.start_mark.line) + 1

    def compose_document(self) -> Node | None:
        self.document_line = self._next_line()
        self.documents += 1
        if self.documents > MAX_DOCUMENTS:
            raise _Abort(
                YamlIssue(self.document_line, f"more than {MAX_DOCUMENTS} documents in one file; split it up")
            )
        self.nodes = 0
        return super().compose_document()

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if not self.check_event(AliasEvent):  # type: ignore[attr-defined]
            self.nodes += 1
            if self.nodes > MAX_VALUES:
                message = f"document has more than {MAX_VALUES} values; split it into smaller documents"
                raise _Abort(YamlIssue(self.document_line, message))
            if self.depth > MAX_DEPTH:
                line = self._next_line()
                raise _Abort(YamlIssue(line, f"nesting is deeper than {MAX_DEPTH} levels"))
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _BoundedLoader(_BoundedComposer, yaml.SafeLoader):
    """The pure-Python reader: slower, and the one whose error messages the project documents."""

    def __init__(self, stream: str) -> None:
        yaml.SafeLoader.__init__(self, stream)
        self._start_counting()


_CParser: Any = getattr(yaml, "CLoader", None) and getattr(yaml.cyaml, "CParser", None)  # libyaml builds only
_FastLoader: Any = _BoundedLoader
if _CParser is not None:

    class _LibyamlLoader(_BoundedComposer, _CParser, SafeConstructor, yaml.resolver.Resolver):  # type: ignore[misc]
        """libyaml's scanner and parser (C) under our bounded composer: several times faster.

        Only the events come from C; nodes are still composed here, so every limit holds.
        """

        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
            self._start_counting()

    _FastLoader = _LibyamlLoader


def read_yaml(text: str) -> YamlFile:
    """Parse every ``---`` document of ``text``; empty documents are skipped.

    Reading stops at the first syntax error or exceeded limit; documents before it are kept.
    Valid text goes through libyaml; anything it refuses is read again by the pure-Python reader,
    so problems are always described in the same words.
    """
    fast = _read(text, _FastLoader)
    return fast if not fast.issues else _read(text, _BoundedLoader)


def _read(text: str, loader_class: Any) -> YamlFile:
    result = YamlFile()
    loader: Any = None
    budget = _Budget()
    try:
        loader = loader_class(text)
        while loader.check_node():
            node = loader.get_node()
            if node is None or _is_null(node):
                continue
            result.documents.append(_build_document(node, budget))
    except _Abort as stop:
        result.issues.append(stop.issue)
    except yaml.MarkedYAMLError as err:
        result.issues.append(_syntax_issue(err))
    except yaml.reader.ReaderError as err:
        line = line_at(text, err.position)
        code = err.character if isinstance(err.character, int) else ord(err.character)
        result.issues.append(YamlIssue(line, f"invalid YAML: character U+{code:04X} is not allowed"))
    except Exception:  # libyaml refuses some input differently; the Python reader decides then
        if loader_class is _BoundedLoader:
            raise
        result.issues.append(YamlIssue(1, "unreadable"))
    finally:
        if loader is not None:
            loader.dispose()
    return result


@dataclass
class _Budget:
    """Values left for the rest of one file."""

    values: int = MAX_FILE_VALUES


def _syntax_issue(err: yaml.MarkedYAMLError) -> YamlIssue:
    """PyYAML's problem at its line, plus the context (e.g. where a quote was opened) when elsewhere."""
    mark = err.problem_mark or err.context_mark
    line = mark.line + 1 if mark is not None else 1
    message = err.problem or err.context or "unreadable YAML"
    if err.problem and err.context and err.context_mark is not None:
        context_line = err.context_mark.line + 1
        if context_line != line:
            message += f" ({err.context} on line {context_line})"
    for needle, hint in _HINTS:
        if needle in message:
            message += f"; {hint}"
            break
    return YamlIssue(line, f"invalid YAML: {message}")


_HINTS = (
    ("'\\t'", "indent with spaces, YAML does not allow tabs there"),
    ("expected <block end>", "check this line's indentation"),
    ("mapping values are not allowed here", "check this line's indentation, or quote a value that contains ': '"),
)
"""PyYAML's words for the usual slips, and what to do about them."""


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _TAG + "null"


def _build_document(root: Node, budget: _Budget) -> YamlDocument:
    builder = _Builder(budget)
    line = root.start_mark.line + 1
    builder.lines[()] = line
    try:
        value = builder.build(root, (), 0)
    except _StopFile:
        raise
    except _Abort as stop:
        builder.issues.append(stop.issue)
        value = _envelope(root)
    return YamlDocument(value=value, line=line, lines=builder.lines, issues=builder.issues)


def _envelope(root: Node) -> dict[str, str] | None:
    """The plain kind and name of a document that could not be built, so its problem names the object."""
    if not isinstance(root, MappingNode):
        return None
    return {
        key.value: value.value
        for key, value in root.value
        if isinstance(key, ScalarNode) and key.value in ("kind", "name") and isinstance(value, ScalarNode)
    }


class _Builder:
    """Turns one document's node graph into values, counting every value it makes."""

    def __init__(self, budget: _Budget) -> None:
        self.lines: dict[JsonPath, int] = {}
        self.issues: list[YamlIssue] = []
        self.count = 0
        self.budget = budget
        self.scalars = SafeConstructor()

    def build(self, node: Node, path: JsonPath, depth: int) -> Any:
        self.count += 1
        self.budget.values -= 1
        if self.budget.values < 0:
            raise _StopFile(
                YamlIssue(
                    self.lines[()],
                    f"the documents of this file expand to more than {MAX_FILE_VALUES} values; "
                    "are aliases (*name) nested inside each other?",
                )
            )
        if self.count > MAX_VALUES:
            raise _Abort(
                YamlIssue(
                    self.lines[()],
                    f"document expands to more than {MAX_VALUES} values; "
                    "are aliases (*name) nested inside each other?",
                )
            )
        if depth > MAX_DEPTH:
            raise _Abort(
                YamlIssue(
                    _line(node), f"nesting is deeper than {MAX_DEPTH} levels; does an alias contain itself?"
                )
            )
        if isinstance(node, MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, SequenceNode):
            return self._sequence(node, path, depth)
        assert isinstance(node, ScalarNode)
        return self._scalar(node, path)

    def _sequence(self, node: SequenceNode, path: JsonPath, depth: int) -> list[Any]:
        if node.tag != _TAG + "seq":
            self._unsupported(node, path)
        items = []
        for index, item in enumerate(node.value):
            self.lines[(*path, index)] = _line(item)
            items.append(self.build(item, (*path, index), depth + 1))
        return items

    def _mapping(self, node: MappingNode, path: JsonPath, depth: int) -> dict[str, Any]:
        if node.tag != _TAG + "map":
            self._unsupported(node, path)
        result: dict[str, Any] = {}
        # Merge keys (``<<: *base``) first, the earliest source winning, then explicit keys over them.
        merges = [value for key, value in node.value if key.tag == _TAG + "merge"]
        for source in reversed([s for value in merges for s in self._merge_sources(value, path)]):
            # Through build, so a mapping that merges itself meets the depth limit and merges are counted.
            result.update(self.build(source, path, depth + 1))
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                continue
            key = self._key(key_node, path)
            if key is None:
                continue
            line = _line(key_node)
            if key in seen:
                self.issues.append(
                    YamlIssue(line, f"duplicate key '{key}' (first set on line {seen[key]})", path)
                )
                continue
            seen[key] = line
            self.lines[(*path, key)] = line
            result[key] = self.build(value_node, (*path, key), depth + 1)
        return result

    def _merge_sources(self, value: Node, path: JsonPath) -> Iterator[MappingNode]:
        candidates = value.value if isinstance(value, SequenceNode) else [value]
        for candidate in candidates:
            if not isinstance(candidate, MappingNode):
                raise _Abort(YamlIssue(_line(candidate), "a merge key (<<) must refer to mappings", path))
            yield candidate

    def _key(self, node: Node, path: JsonPath) -> str | None:
        """The key's text; None (and an issue) for a list or mapping used as a key."""
        if not isinstance(node, ScalarNode):
            what = "a list" if isinstance(node, SequenceNode) else "a mapping"
            self.issues.append(YamlIssue(_line(node), f"mapping keys must be plain strings, not {what}", path))
            return None
        self._check_length(node, path)
        # The same few dozen keys repeat in every manifest: one shared string each, not one per use.
        return sys.intern(str(node.value))

    def _check_length(self, node: ScalarNode, path: JsonPath) -> None:
        if len(node.value) > MAX_STRING:
            message = f"a string of {len(node.value)} characters; the limit is {MAX_STRING}"
            self.issues.append(YamlIssue(_line(node), message, path))
        text = str(node.value)
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as err:
                code = ord(text[err.start])
                message = f"\\u{code:04x} is a lone surrogate, not a character; it cannot be sent as UTF-8"
                self.issues.append(YamlIssue(_line(node), message, path))

    def _scalar(self, node: ScalarNode, path: JsonPath) -> Any:
        kind = node.tag.removeprefix(_TAG)
        self._check_length(node, path)
        if kind in ("str", "timestamp"):
            return node.value  # timestamps stay text: JSON has no date type
        if kind == "null":
            return None
        if kind == "bool":
            return self.scalars.construct_yaml_bool(node)
        if kind == "int":
            try:
                return self.scalars.construct_yaml_int(node)
            except ValueError:  # Python refuses to parse integers of more than 4300 digits
                self.issues.append(YamlIssue(_line(node), f"an integer of {len(node.value)} digits is too large", path))
                return None
        if kind == "float":
            number = self.scalars.construct_yaml_float(node)
            if not math.isfinite(number):
                self.issues.append(YamlIssue(_line(node), f"{node.value} is not a JSON number", path))
            return number
        self._unsupported(node, path)
        return node.value

    def _unsupported(self, node: Node, path: JsonPath) -> None:
        self.issues.append(
            YamlIssue(_line(node), f"unsupported YAML tag {node.tag.replace(_TAG, '!!')}", path)
        )


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1
