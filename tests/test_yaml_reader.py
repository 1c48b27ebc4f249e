"""The event reader (``read_yaml``) gives exactly what the node reader (``_read_nodes``) gives.

The node reader composes PyYAML nodes and builds them; it is the definition of the result, and the
event reader must match it value for value (types and key order included), line for line and
problem for problem, on every committed YAML file and on a set of tricky inputs. Where the event
reader cannot mirror a step (syntax errors, exceeded limits, merge keys, odd keys), it leaves the
file to the node reader; the tests also pin that it does not leave ordinary manifests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.manifests import yaml_source
from reconciler.manifests.yaml_source import MAX_DEPTH, MAX_DOCUMENTS, MAX_STRING, MAX_VALUES, YamlFile, read_yaml

ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted(
    path
    for folder in (ROOT / "examples", ROOT / "tests" / "data")
    for path in folder.rglob("*")
    if path.suffix in (".yaml", ".yml") and path.is_file()
)
GOOD = [path for path in CORPUS if "bad" not in path.relative_to(ROOT).parts]

pytestmark = pytest.mark.skipif(yaml_source._CParser is None, reason="libyaml is not installed")


def summary(result: YamlFile) -> Any:
    """Everything the rest of the project reads, with values as repr (types, key order, nan alike)."""
    return (
        [(repr(doc.value), doc.line, doc.lines, doc.issues) for doc in result.documents],
        result.issues,
    )


def assert_same(text: str) -> None:
    """Equal results; a file the event reader leaves is the node reader's by construction, so not read twice."""
    if not falls_back(text):
        assert summary(read_yaml(text)) == summary(yaml_source._read_nodes(text))


def falls_back(text: str) -> bool:
    try:
        yaml_source._EventReader(text).read()
    except yaml_source._Fallback:
        return True
    return False


def test_the_corpus_is_found() -> None:
    assert len(CORPUS) > 100
    assert len(GOOD) > 30


@pytest.mark.parametrize("path", CORPUS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_committed_yaml_file_reads_the_same(path: Path) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        pytest.skip("not UTF-8: the loader refuses it before YAML sees it")
    assert_same(text)


@pytest.mark.parametrize("path", GOOD, ids=lambda path: str(path.relative_to(ROOT)))
def test_good_files_are_read_from_events_without_falling_back(path: Path) -> None:
    assert not falls_back(path.read_text(encoding="utf-8"))


ENVELOPE = "apiVersion: reconciler/v1\nkind: Assistant\nname: a\nspec:\n"

TRICKY = {
    "anchors": ENVELOPE + "  base: &b {x: 1, y: [a, b]}\n  copy: *b\n  list: [*b, *b]\n  s: &s text\n  t: *s\n",
    "nested-aliases": "a: &a [1, 2]\nb: &b [*a, *a]\nc: [*b, *b, *b]\n",
    "anchor-in-duplicate-value": "a: 1\na: &x [1, 2]\nb: *x\n",
    "alias-to-open-anchor-in-duplicate": "top: &x {a: 1, a: *x}\n",
    "anchored-issue-repeats": "a: &x {k: 1, k: 2, t: !!binary aGk=}\nb: *x\nc: [*x]\n",
    "merge": "base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n",
    "merge-list": "a: &a {x: 1}\nb: &b {x: 2, z: 3}\nm: {<<: [*a, *b], w: 0}\n",
    "merge-after-keys": "a: &a {x: 1}\nm:\n  y: 2\n  <<: *a\n",
    "merge-of-scalar": "a: &a 1\nm: {<<: *a}\n",
    "merge-tag-key": "a: &a {x: 1}\nm: {!!merge k: *a}\n",
    "merge-as-value": "a: <<\n",
    "quoted-merge-key": "'<<': 1\n",
    "duplicate-keys": ENVELOPE + "  model: a\n  model: b\n  tools: [1]\n  tools:\n    - x: 1\n      x: 2\n",
    "duplicate-key-nested-value": "a: 1\na:\n  b: [1, {c: 2}]\n  d: &q 3\ne: *q\n",
    "block-scalars": "a: |\n  line 1\n  line 2\nb: >-\n  folded\n  text\n\nc: |+\n  keep\n\nd: x\n",
    "crlf": "a: 1\r\nb:\r\n  - x\r\n  - y\r\nc: |\r\n  two\r\n  lines\r\n",
    "cr-only": "a: 1\rb:\r  - x\r  - y\rc: 'q'\r",
    "tabs-in-values": "a: 'tab\there'\nb: \"esc\\t\"\nc: x\ty\n",
    "unicode": "名前: 値\nemoji: '🙂'\nescaped: \"\\u00e9\\U0001F600\"\nnbsp: \"a\u00a0b\"\n",
    "lone-surrogate-escape": 'a: "\\ud800"\n"\\udc00": 1\n',
    "long-string": "a: " + "x" * (MAX_STRING + 1) + "\nb: ok\n",
    "long-key": "x" * 1025 + ": 1\n",  # libyaml refuses a simple key past 1024 characters
    "long-explicit-key": "? " + "x" * (MAX_STRING + 1) + "\n: 1\n",
    "string-at-limit": "a: " + "y" * MAX_STRING + "\n",
    "yaml11-keys": "on: 1\noff: 2\nyes: 3\n200: 4\n1.5: 5\nnull: 6\n~: 7\ntrue: 8\n0o17: 9\n",
    "yaml11-values": (
        "a: on\nb: Off\nc: YES\nd: no\ne: 0o17\nf: 017\ng: 1_000\nh: 0x1F\ni: 0b101\nj: 1:30\nk: -0\n"
        "l: +12\nm: 1.5e3\nn: .inf\no: -.Inf\np: .nan\nq: 1_0.5\nr: 2001-12-14\ns: 2001-12-14t21:59:43.10-05:00\n"
        "t: ~\nu: null\nv: Null\nw: ''\nx:\ny: =\nz: 190:20:30.15\n"
    ),
    "huge-integer": "a: " + "9" * 5000 + "\nb: 1\n",
    "tags": "a: !!str 12\nb: !!int '7'\nc: !!float '1'\nd: ! 12\ne: !custom x\nf: !!binary aGk=\ng: !!set {a}\n"
    "h: !!omap [a: 1]\ni: !!seq [1]\nj: !!map {k: v}\nk: !!null ''\nl: !!bool 'yes'\nm: !!timestamp 2001-01-01\n",
    "tagged-keys": "!!str a: 1\n!!int 2: 3\n! c: 4\n",
    "str-tagged-keys": "!!str a: 1\n!!str 200: 2\n",
    "many-alias-values": "a: &a [" + ", ".join(["x"] * 1000) + "]\nb: [*a, *a, *a, *a, *a]\n",
    "key-is-list": "[a, b]: 1\nc: 2\n",
    "key-is-mapping": "{a: 1}: 1\nc: 2\n",
    "alias-key": "a: &k name\n*k : 2\n",
    "complex-key": "? a\n: 1\n? |\n  block key\n: 2\n",
    "empty-documents": "---\n---\n# c\n---\na: 1\n--- ~\n--- null\n...\n---\nb: 2\n",
    "multiple-documents": "---\na: 1\n---\n- x\n- y\n---\nplain\n---\n42\n---\n!!null\n",
    "root-scalars": "--- 'quoted'\n--- |\n  block\n--- 3.5\n--- true\n",
    "explicit-document-end": "a: 1\n...\n---\nb: 2\n...\n",
    "directives": "%YAML 1.1\n---\na: 1\n",
    "flow-styles": "a: {b: [1, {c: d}], e: []}\nf: {}\ng: [[], [[]]]\n",
    "comments-everywhere": "# top\na: 1 # trailing\n# between\nb:\n  # inside\n  - x # item\n",
    "interpolation": ENVELOPE + "  instructions: 'Hi ${env:NAME}'\n  m: $${literal}\n",
    "passthrough": ENVELOPE + "  x-passthrough:\n    new_field: 1\n  tools:\n    - x-passthrough: {a: 1}\n",
    "syntax-error-later": "a: 1\n---\nb: [\n",
    "syntax-error-first": "a: 'open\n",
    "tab-indent": "a:\n\tb: 1\n",
    "undefined-alias": "a: *nope\n",
    "duplicate-anchor": "a: &x 1\nb: &x 2\n",
    "anchor-across-documents": "a: &x 1\n---\nb: *x\n",
    "self-alias": "a: &x\n  b: *x\n",
    "self-alias-in-list": "a: &x [1, *x]\n",
    "alias-bomb": "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(5)),
    "deep-flow": "[" * 10_000,
    "deep-block": "".join("  " * i + f"k{i}:\n" for i in range(MAX_DEPTH + 5)) + "  " * (MAX_DEPTH + 5) + "v\n",
    "at-depth-limit": "".join("  " * i + f"k{i}:\n" for i in range(MAX_DEPTH)) + "  " * MAX_DEPTH + "v\n",
    "values-at-limit": "- a\n" * (MAX_VALUES - 1),
    "too-many-documents": "---\na: 1\n" * (MAX_DOCUMENTS + 1),
    "documents-at-limit": "---\na: 1\n" * MAX_DOCUMENTS,
    "nul": "a: 1\nb: \x00\n",
    "control-character": "a: 1\nb: \x07\n",
    "bom": "\ufeffa: 1\n",
    "nan-in-list": "- .nan\n- .NaN\n",
}


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_tricky_inputs_read_the_same(name: str) -> None:
    assert_same(TRICKY[name])


OWN = [
    "anchors", "nested-aliases", "anchor-in-duplicate-value", "alias-to-open-anchor-in-duplicate",
    "anchored-issue-repeats", "duplicate-keys", "duplicate-key-nested-value", "block-scalars", "crlf", "cr-only",
    "tabs-in-values", "unicode", "long-string", "long-explicit-key", "string-at-limit", "yaml11-keys", "yaml11-values",
    "huge-integer", "tags", "complex-key", "empty-documents", "multiple-documents", "root-scalars",
    "explicit-document-end", "directives", "flow-styles", "comments-everywhere", "quoted-merge-key",
    "merge-as-value", "values-at-limit", "documents-at-limit", "at-depth-limit", "interpolation", "passthrough",
    "bom", "nan-in-list", "str-tagged-keys", "many-alias-values",
]  # fmt: skip
"""Inputs the event reader reads itself (problems inside a document are its own work)."""


@pytest.mark.parametrize("name", OWN)
def test_the_event_reader_itself_reads_these(name: str) -> None:
    """Problems inside a document (duplicates, tags, long strings) are the event reader's own work."""
    assert not falls_back(TRICKY[name])


LEFT = [
    "merge", "merge-list", "merge-after-keys", "merge-of-scalar", "merge-tag-key", "key-is-list", "key-is-mapping",
    "alias-key", "tagged-keys", "syntax-error-later", "syntax-error-first", "tab-indent", "undefined-alias",
    "duplicate-anchor", "anchor-across-documents", "self-alias", "self-alias-in-list", "alias-bomb", "deep-flow",
    "deep-block", "too-many-documents", "nul", "control-character", "lone-surrogate-escape", "long-key",
]  # fmt: skip
"""Inputs the event reader leaves to the node reader."""


def test_every_tricky_input_is_listed_once() -> None:
    assert sorted(OWN + LEFT) == sorted(TRICKY)


@pytest.mark.parametrize("name", LEFT)
def test_the_event_reader_leaves_these_to_the_node_reader(name: str) -> None:
    """Where it leaves, ``read_yaml`` is the node reader by construction: its words, its lines."""
    assert falls_back(TRICKY[name])


def test_the_file_budget_sends_the_file_to_the_node_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three documents of 20 values each pass a budget of 50 values per file (1,000,000 in truth)."""
    monkeypatch.setattr(yaml_source, "MAX_FILE_VALUES", 50)
    assert falls_back("---\n" + "- a\n" * 19 + "---\n" + "- b\n" * 19 + "---\n" + "- c\n" * 19)
    assert not falls_back("---\n" + "- a\n" * 19 + "---\n" + "- b\n" * 19)


def test_a_million_items_stop_the_event_reader_before_they_are_built() -> None:
    """Composer-style counting: the event reader gives up at the 100,001st node, not at the end."""
    reader = yaml_source._EventReader("a:\n" + "  - a\n" * 1_000_000)
    with pytest.raises(yaml_source._Fallback):
        reader.read()
    assert reader.nodes == MAX_VALUES + 1


# A differential property: documents glued from fragments that touch every branch of the readers.
FRAGMENTS = st.sampled_from(
    [
        "a: 1\n", "a: 2\n", "b: x\n", "on: yes\n", "200: '200'\n", "c: &x [1, 2]\n", "d: *x\n",
        "e: &y {k: v, k: w}\n", "f: *y\n", "g: [*y, *x]\n", "h: |\n  block ${env:A}\n", "i: 0o17\n",
        "j: .nan\n", "k: !!binary aGk=\n", "x-passthrough: {z: 1}\n", "l:\n  - 1\n  - a: b\n", "m: {<<: *y}\n",
        "---\n", "--- ~\n", "n: 'q\\t'\n", "o: \"\\ud800\"\n", "p: 2001-12-14\n", "q: 1_000\n",
        "r: [a, [b, {c: *x}]]\n", "s: =\n", "t: ! 12\n",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(FRAGMENTS, max_size=12), st.sampled_from(["\n", "\r\n", "\r"]))
def test_glued_fragments_read_the_same(fragments: list[str], newline: str) -> None:
    assert_same("".join(fragments).replace("\n", newline))


# The flags that let the loader skip its walks: exact when the event reader sets them.


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        yield from value
        for item in value.values():
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


@pytest.mark.parametrize("name", [str(path.relative_to(ROOT)) for path in GOOD] + OWN)
def test_the_flags_are_false_only_when_there_is_nothing_to_do(name: str) -> None:
    text = TRICKY[name] if name in TRICKY else (ROOT / name).read_text(encoding="utf-8")
    for doc in read_yaml(text).documents:
        if not doc.has_interpolation:
            assert not any("${" in string for string in _strings(doc.value))
        if not doc.has_passthrough:
            assert "x-passthrough" not in set(_keys(doc.value))


@pytest.mark.parametrize(
    ("text", "interpolation", "passthrough"),
    [
        ("a: plain\nb: [1, {c: d}]\n", False, False),
        ("a: {b: [x, 'Hi ${env:NAME}']}\n", True, False),
        ("a: $${literal}\n", True, False),
        ("a: |\n  ${secret:K}\n", True, False),
        ("${env:A}: key only\n", False, False),
        ("a: &s 'x ${var:V}'\n", True, False),
        ("a: !custom '${env:A}'\n", True, False),
        ("spec:\n  tools:\n    - x-passthrough: {a: 1}\n", False, True),
        ("a: x-passthrough\n", False, False),
        ("a: &p {x-passthrough: {b: 1}}\nc: *p\n", False, True),
    ],
)
def test_the_flags_of_a_document(text: str, interpolation: bool, passthrough: bool) -> None:
    (doc,) = read_yaml(text).documents
    assert (doc.has_interpolation, doc.has_passthrough) == (interpolation, passthrough)


def test_the_flags_stay_true_when_the_node_reader_reads_the_file() -> None:
    """Merge keys go to the node reader, which does not track them: every walk still runs."""
    (doc,) = read_yaml("a: &a {x: 1}\nb: {<<: *a}\n").documents
    assert (doc.has_interpolation, doc.has_passthrough) == (True, True)


def test_each_document_has_its_own_flags() -> None:
    first, second = read_yaml("a: '${env:A}'\n---\nx-passthrough: {}\n").documents
    assert (first.has_interpolation, first.has_passthrough) == (True, False)
    assert (second.has_interpolation, second.has_passthrough) == (False, True)


@pytest.mark.parametrize(("scalar", "message"), [
    ("!!float abc", "'abc' is not a valid !!float"),
    ("!!bool maybe", "'maybe' is not a valid !!bool"),
    ("!!int abc", "'abc' is not a valid !!int"),
    ("!!float .inf", ".inf is not a JSON number"),
])
def test_a_tag_its_text_does_not_fit_is_a_problem_not_a_crash(scalar: str, message: str) -> None:
    """Both readers: a ValueError or KeyError used to escape from the tagged scalar (a traceback)."""
    text = f"a: 1\nb: {scalar}\n"
    for result in (read_yaml(text), yaml_source._read_nodes(text)):
        assert result.documents[0].issues == [yaml_source.YamlIssue(2, message, ("b",))]
