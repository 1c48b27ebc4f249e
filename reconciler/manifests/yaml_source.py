"""Read YAML text into plain JSON-like values, remembering the line of every node.

PyYAML's constructors forget positions and silently keep the last of two equal keys, so we
compose nodes with ``SafeLoader`` and build the values ourselves. That is where line numbers,
duplicate-key refusal and the bound on alias expansion (an "alias bomb" expands to billions of
values from a few hundred bytes) live. Keys are always strings: a key's source text is kept, so
``on:`` or ``200:`` stay the keys the author wrote.

Every limit below turns an input that would exhaust the stack, memory or patience into one
problem with a line: the composer is bounded too (nesting, nodes, documents), because PyYAML builds
a whole document's node graph before we see it and composes nested nodes recursively.

Two readers give that same result. The event reader (``_EventReader``, used whenever libyaml is
installed) builds values straight from libyaml's events, with no node graph, and checks the same
limits as events arrive; the node reader (``_read_nodes``: compose, then build) is the definition,
and reads every file the event reader leaves to it (any problem that stops reading, merge keys, odd
keys), so every message is the node reader's. On 1100 benchmark manifests (10.6 MB) the event
reader takes 0.55x the CPU of the node reader and 0.83-0.87x that of ``yaml.load_all`` with
``CSafeLoader`` (``benchmarks/yaml_reader.py``, best of 9 on a busy two-core machine).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from sys import intern
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
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
    has_interpolation: bool = True
    """False only when no string value contains ``${`` (interpolation has nothing to do)."""
    has_passthrough: bool = True
    """False only when no key is ``x-passthrough`` (lifting it has nothing to do)."""


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
    Valid text goes through libyaml's events, built straight into values (``_EventReader``); a file
    it leaves (an error, a limit, a merge key or an odd key) is read again from nodes, and anything
    libyaml refuses by the pure-Python reader, so problems are always described in the same words.
    """
    if _CParser is not None:
        try:
            return _EventReader(text).read()
        except _Fallback:
            pass
    return _read_nodes(text)


def _read_nodes(text: str) -> YamlFile:
    """The node reader: compose each document (bounded), then build it; the definition of the result."""
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


def typed_scalar(kind: str, value: str, line: int, path: JsonPath, issues: list[YamlIssue]) -> Any:
    """The value of a ``bool``, ``int`` or ``float`` scalar (both readers); text its tag does not fit
    (``!!float abc``, ``!!bool maybe``) is a problem with its line, not a crash."""
    node = ScalarNode(_TAG + kind, value)
    try:
        if kind == "bool":
            return _CONSTRUCTOR.construct_yaml_bool(node)
        if kind == "int":
            return _CONSTRUCTOR.construct_yaml_int(node)
        number = _CONSTRUCTOR.construct_yaml_float(node)
    except (KeyError, ValueError):
        digits = value.replace("_", "").lstrip("+-")
        if kind == "int" and digits.isdigit():  # Python refuses to parse integers of more than 4300 digits
            issues.append(YamlIssue(line, f"an integer of {len(value)} digits is too large", path))
        else:
            issues.append(YamlIssue(line, f"{value!r} is not a valid !!{kind}", path))
        return None
    if not math.isfinite(number):
        issues.append(YamlIssue(line, f"{value} is not a JSON number", path))
    return number


def string_issues(text: str, line: int, path: JsonPath) -> Iterator[YamlIssue]:
    """A string too long to hold, or one UTF-8 cannot carry (a lone surrogate from an escape)."""
    if len(text) > MAX_STRING:
        yield YamlIssue(line, f"a string of {len(text)} characters; the limit is {MAX_STRING}", path)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as err:
            code = ord(text[err.start])
            yield YamlIssue(line, f"\\u{code:04x} is a lone surrogate, not a character; it cannot be sent as UTF-8",
                            path)


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
        self.issues.extend(string_issues(str(node.value), _line(node), path))

    def _scalar(self, node: ScalarNode, path: JsonPath) -> Any:
        kind = node.tag.removeprefix(_TAG)
        self._check_length(node, path)
        if kind in ("str", "timestamp"):
            return node.value  # timestamps stay text: JSON has no date type
        if kind == "null":
            return None
        if kind in ("bool", "int", "float"):
            return typed_scalar(kind, str(node.value), _line(node), path, self.issues)
        self._unsupported(node, path)
        return node.value

    def _unsupported(self, node: Node, path: JsonPath) -> None:
        self.issues.append(
            YamlIssue(_line(node), f"unsupported YAML tag {node.tag.replace(_TAG, '!!')}", path)
        )


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


# The event reader: libyaml's events built straight into values, no node graph.
#
# It must give exactly what the node reader gives, so it only handles what it can mirror step by
# step (the node reader's ``_Builder`` visits a document in event order, except for merge keys) and
# leaves the whole file to the node reader otherwise: any syntax error, any exceeded limit (so the
# messages stay the node reader's), a merge key, an alias or a list or mapping used as a key.
# Limits are checked as events arrive, before anything is built from them: composer-style counts of
# nodes, nesting and documents, and the builder's own counts of values (aliases expanded).
# An alias replays the events recorded since its anchor, so it is built again, lines and problems
# included, as the node reader builds an aliased node again at each use.


class _Fallback(Exception):
    """The event reader leaves this file to the node reader."""


_SCALAR_TAG = _TAG + "str"
_SEQ_TAG = _TAG + "seq"
_MAP_TAG = _TAG + "map"
_PASSTHROUGH = "x-passthrough"
_MAX_REPLAYED = 20_000
"""Events an alias may replay per file before the node reader takes over (and stops a bomb itself)."""
_RESOLVER: Any = yaml.resolver.Resolver()
_IMPLICIT = yaml.resolver.Resolver.yaml_implicit_resolvers
_RESOLVED_FIRST = frozenset(first for first in _IMPLICIT if first)
"""First characters of plain scalars that may resolve to something else than a string."""
_WILDCARD = None in _IMPLICIT
_RESOLVED: dict[str, str] = {}
"""Tags of short plain scalars already resolved (the resolver only reads the text of a plain one)."""
_CACHED_LENGTH = 32
_CACHED_VALUES = 10_000
_CONSTRUCTOR = SafeConstructor()
_TYPED = {_TAG + kind: kind for kind in ("bool", "int", "float")}


class _EventReader:
    """Reads one file from libyaml's events; raises ``_Fallback`` where the node reader must decide."""

    def __init__(self, text: str) -> None:
        self.parser = _CParser(text)
        self.get_event = self.parser.get_event
        self.result = YamlFile()
        self.budget = MAX_FILE_VALUES
        self.replayed = 0
        # Per document: composer-style counts, anchors and the events recorded since the first one.
        self.nodes = 0
        self.depth = 0
        self.anchors: dict[str, list[int]] = {}
        self.open_anchors: list[tuple[str, int]] = []
        self.recorded: list[Any] | None = None
        # Per document being built.
        self.next: Any = self._pull
        self.lines: dict[JsonPath, int] = {}
        self.issues: list[YamlIssue] = []
        self.count = 0
        self.interpolation = False
        self.passthrough = False

    def read(self) -> YamlFile:
        parser = self.parser
        try:
            parser.get_event()  # stream start
            documents = 0
            while parser.get_event().__class__ is not StreamEndEvent:  # a document start
                documents += 1
                if documents > MAX_DOCUMENTS:
                    raise _Fallback
                self._document()
                parser.get_event()  # document end
        except _Fallback:
            raise
        except Exception as err:  # a syntax error, or anything else libyaml refuses
            raise _Fallback from err
        finally:
            parser.dispose()
        return self.result

    def _document(self) -> None:
        self.nodes = 0
        self.depth = 0
        self.anchors = {}
        self.open_anchors = []
        self.recorded = None
        self.next = self._pull
        root = self._pull()
        line = int(root.start_mark.line) + 1
        if root.__class__ is ScalarEvent and self._tag(root) == _TAG + "null":
            return
        self.lines = {(): line}
        self.issues = []
        self.count = 0
        self.interpolation = False
        self.passthrough = False
        value = self._build(root, (), 0)
        self.result.documents.append(
            YamlDocument(
                value=value,
                line=line,
                lines=self.lines,
                issues=self.issues,
                has_interpolation=self.interpolation,
                has_passthrough=self.passthrough,
            )
        )

    def _pull(self) -> Any:
        """The next event from libyaml, counted and recorded as the node reader's composer would."""
        event = self.get_event()
        cls = event.__class__
        if cls is ScalarEvent and event.anchor is None:  # the most common event, in short
            self.nodes += 1
            if self.nodes > MAX_VALUES or self.depth > MAX_DEPTH:
                raise _Fallback
            if self.recorded is not None:
                self.recorded.append(event)
            return event
        if cls is ScalarEvent or cls is MappingStartEvent or cls is SequenceStartEvent:
            self.nodes += 1
            if self.nodes > MAX_VALUES or self.depth > MAX_DEPTH:
                raise _Fallback
            anchor = event.anchor
            if anchor is not None:
                if anchor in self.anchors:
                    raise _Fallback  # a duplicate anchor: a composer error
                if self.recorded is None:
                    self.recorded = []
                start = len(self.recorded)
                if cls is ScalarEvent:
                    self.anchors[anchor] = [start, start + 1]
                else:
                    self.anchors[anchor] = [start, -1]
                    self.open_anchors.append((anchor, self.depth))
            if cls is not ScalarEvent:
                self.depth += 1
        elif cls is AliasEvent:
            if event.anchor not in self.anchors:
                raise _Fallback  # an undefined alias: a composer error
        elif cls is MappingEndEvent or cls is SequenceEndEvent:
            self.depth -= 1
            if self.recorded is not None:
                self.recorded.append(event)
                open_anchors = self.open_anchors
                if open_anchors and open_anchors[-1][1] == self.depth:  # the anchored node ends here
                    self.anchors[open_anchors.pop()[0]][1] = len(self.recorded)
                return event
        if self.recorded is not None:
            self.recorded.append(event)
        return event

    def _skip(self, event: Any) -> None:
        """Consume the rest of a node that is not built (the value of a duplicate key)."""
        cls = event.__class__
        if cls is not MappingStartEvent and cls is not SequenceStartEvent:
            return
        next_event = self.next
        depth = 1
        while depth:
            cls = next_event().__class__
            if cls is MappingStartEvent or cls is SequenceStartEvent:
                depth += 1
            elif cls is MappingEndEvent or cls is SequenceEndEvent:
                depth -= 1

    def _replay(self, alias: Any) -> Any:
        """The events of an alias's anchor; up to the alias itself while the anchor is still open."""
        assert self.recorded is not None
        start, end = self.anchors[alias.anchor]
        return self.recorded[start : len(self.recorded) if end < 0 else end]

    def _build(self, event: Any, path: JsonPath, depth: int) -> Any:
        cls = event.__class__
        if cls is AliasEvent:
            events = self._replay(event)
            self.replayed += len(events)
            if self.replayed > _MAX_REPLAYED:
                raise _Fallback  # many expansions: likely an alias bomb, which the node reader words
            outer = self.next
            self.next = iter(events[1:]).__next__
            try:
                return self._build(events[0], path, depth)
            finally:
                self.next = outer
        self.count += 1
        self.budget -= 1
        if self.count > MAX_VALUES or self.budget < 0 or depth > MAX_DEPTH:
            raise _Fallback  # the node reader stops this document or file, in its words
        if cls is ScalarEvent:
            return self._scalar(event, path)
        if cls is MappingStartEvent:
            return self._mapping(event, path, depth)
        return self._sequence(event, path, depth)

    def _line_of(self, event: Any) -> int:
        if event.__class__ is AliasEvent:
            event = self._replay(event)[0]
        return int(event.start_mark.line) + 1

    def _sequence(self, start: Any, path: JsonPath, depth: int) -> list[Any]:
        tag = start.tag
        if tag is not None and tag != "!" and tag != _SEQ_TAG:
            self._unsupported(tag, start, path)
        next_event = self.next
        lines = self.lines
        items: list[Any] = []
        index = 0
        while True:
            event = next_event()
            if event.__class__ is SequenceEndEvent:
                return items
            item_path = (*path, index)
            lines[item_path] = self._line_of(event)
            items.append(self._build(event, item_path, depth + 1))
            index += 1

    def _mapping(self, start: Any, path: JsonPath, depth: int) -> dict[str, Any]:
        tag = start.tag
        if tag is not None and tag != "!" and tag != _MAP_TAG:
            self._unsupported(tag, start, path)
        next_event = self.next
        lines = self.lines
        result: dict[str, Any] = {}
        while True:
            event: Any = next_event()
            cls = event.__class__
            if cls is not ScalarEvent:
                if cls is MappingEndEvent:
                    return result
                raise _Fallback  # a list, mapping or alias as a key
            key = event.value
            tag = event.tag
            if tag is None:
                if key == "<<" and event.implicit[0]:
                    raise _Fallback  # a merge key: merged before the explicit keys
            elif tag != _SCALAR_TAG:
                raise _Fallback  # a tagged key: only '!!str' is mirrored here
            line = event.start_mark.line + 1
            if len(key) > MAX_STRING or not key.isascii():
                self._check_length(key, line, path)
            key = intern(key)
            if key == _PASSTHROUGH:
                self.passthrough = True
            if key in result:
                first = lines[(*path, key)]
                self.issues.append(YamlIssue(line, f"duplicate key '{key}' (first set on line {first})", path))
                self._skip(next_event())
                continue
            key_path = (*path, key)
            lines[key_path] = line
            event = next_event()
            if event.__class__ is ScalarEvent:  # most values: counted here, without a call to _build
                self.count += 1
                self.budget -= 1
                if self.count > MAX_VALUES or self.budget < 0 or depth >= MAX_DEPTH:
                    raise _Fallback
                value = event.value
                if event.tag is None and value.isascii() and len(value) <= MAX_STRING and (
                    not event.implicit[0] or (value and value[0] not in _RESOLVED_FIRST and not _WILDCARD)
                ):  # a string for sure (quoted, block, or plain and not like a number, bool or null)
                    if "${" in value:
                        self.interpolation = True
                    result[key] = value
                else:
                    result[key] = self._scalar(event, key_path)
            else:
                result[key] = self._build(event, key_path, depth + 1)

    def _tag(self, event: Any) -> str:
        """The scalar's tag as the composer resolves it."""
        tag = event.tag
        if tag is None:
            if not event.implicit[0]:
                return _SCALAR_TAG
            value = event.value
            if value and value[0] not in _RESOLVED_FIRST and not _WILDCARD:
                return _SCALAR_TAG
            if len(value) <= _CACHED_LENGTH:  # the same few plain words (true, 1, null) recur
                cached = _RESOLVED.get(value)
                if cached is None:
                    cached = _RESOLVED[value] = str(_RESOLVER.resolve(ScalarNode, value, (True, False)))
                    if len(_RESOLVED) > _CACHED_VALUES:
                        _RESOLVED.clear()
                return cached
        elif tag != "!":
            return str(tag)
        return str(_RESOLVER.resolve(ScalarNode, event.value, event.implicit))

    def _scalar(self, event: Any, path: JsonPath) -> Any:
        value = event.value
        if len(value) > MAX_STRING or not value.isascii():
            self._check_length(value, int(event.start_mark.line) + 1, path)
        tag = self._tag(event)
        if tag == _SCALAR_TAG or tag == _TAG + "timestamp":
            if "${" in value:
                self.interpolation = True
            return value
        if tag == _TAG + "null":
            return None
        if tag in _TYPED:
            return typed_scalar(_TYPED[tag], value, int(event.start_mark.line) + 1, path, self.issues)
        self._unsupported(tag, event, path)
        if "${" in value:
            self.interpolation = True
        return value

    def _check_length(self, text: str, line: int, path: JsonPath) -> None:
        if len(text) > MAX_STRING or not text.isascii():  # the usual string needs no closer look
            self.issues.extend(string_issues(text, line, path))

    def _unsupported(self, tag: str, event: Any, path: JsonPath) -> None:
        line = int(event.start_mark.line) + 1
        self.issues.append(YamlIssue(line, f"unsupported YAML tag {tag.replace(_TAG, '!!')}", path))
