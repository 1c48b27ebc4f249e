"""The manifest JSON Schemas, and validation that reports every error with file and line.

The schemas are generated files (``scripts/build_manifest_schemas.py``) shipped inside the package;
this module only loads them and turns jsonschema's findings into ``ManifestProblem`` values a person
can act on: the line of the offending key, the unknown field's name, the allowed values.
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.api.write_rules import Violation, assistant_advisories, assistant_violations, tool_violations
from reconciler.errors import ManifestProblem
from reconciler.model import KINDS, JsonPath, SourceMap, format_path

if TYPE_CHECKING:  # jsonschema costs about 0.1 s to import: only a document the compiled check refuses needs it
    from jsonschema.exceptions import ValidationError

    from reconciler.api.jsonschema_ext import SchemaValidator

__all__ = [
    "PASSTHROUGH",
    "SCHEMA_FILES",
    "all_schemas",
    "document_warnings",
    "hatch_listed",
    "lift_passthrough",
    "manifest_kinds",
    "manifest_schema",
    "passthrough_warnings",
    "validate_document",
]

SCHEMA_FILES: dict[str, str] = {
    "Assistant": "assistant.schema.json",
    "Tool": "tool.schema.json",
    "McpServer": "mcp-server.schema.json",
    "AssistantTest": "assistant-test.schema.json",
    "CanaryDeploy": "canary-deploy.schema.json",
}
"""Kinds that have a schema, and its file under ``reconciler/schemas``."""

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
"""Read as files, like ``api_schema.json``: importlib.resources costs 15-25 ms to import (issue 18)."""

_ENUM_SHOWN = 6
MOVED = {("webhook", "timeout_ms"): " (the API moved it to the tool: set timeout_ms next to type)"}
"""(parent key, field): the hint for a field the API moved elsewhere, instead of a spelling guess."""


def manifest_kinds() -> list[str]:
    """Kinds that have a schema, in the contract's order (the order the docs list them)."""
    return [kind for kind in KINDS if kind in SCHEMA_FILES]


def manifest_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of one kind's manifest documents (a copy; callers may change it)."""
    return copy.deepcopy(_load(kind))


def all_schemas() -> dict[str, dict[str, Any]]:
    """Every manifest schema by kind, for ``reconciler schema`` without a kind."""
    return {kind: manifest_schema(kind) for kind in manifest_kinds()}


@cache
def _load(kind: str) -> dict[str, Any]:
    if kind not in SCHEMA_FILES:
        raise KeyError(f"no schema for kind {kind!r}; known kinds: {', '.join(manifest_kinds())}")
    text = (SCHEMA_DIR / SCHEMA_FILES[kind]).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator(kind: str) -> SchemaValidator:
    from reconciler.api.jsonschema_ext import SchemaValidator

    return SchemaValidator(_load(kind))


@cache
def _fast_check(kind: str) -> Callable[[Any], bool] | None:
    """A compiled (Rust) validity check, when jsonschema-rs is installed.

    Validating with the Python library costs about 1 ms per assistant, most of a large plan's CPU.
    The compiled check only answers "valid or not"; a document it refuses (or cannot judge) goes
    through the Python validator, whose messages the project documents, so it alone decides what is
    wrong and whether a document is valid after all (its float-tolerant ``multipleOf``, say).
    """
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - optional speed-up
        return None
    check: Callable[[Any], bool] = jsonschema_rs.validator_for(_load(kind)).is_valid
    return check


def validate_document(
    document: Mapping[str, Any], kind: str, source: SourceMap, name: str | None = None, passthrough: bool = True
) -> list[ManifestProblem]:
    """Every schema error of one document, located at the nearest line the source map knows.

    A document the schema accepts is then held to the API's write rules (``reconciler.api.write_rules``),
    the checks Telnyx makes on write that a schema cannot state. ``passthrough=False`` says the document
    holds no ``x-passthrough`` key (the reader knows), so the walks looking for one are skipped.
    """
    problems = _schema_problems(document, kind, source, name)
    if problems:
        return problems
    return _rule_problems(document, kind, source, name, passthrough)


PASSTHROUGH = "x-passthrough"
"""The key of an escape hatch: inside any spec object, a mapping of fields the schema does not know
yet (Telnyx added them after our SDK release). They are sent in the enclosing object as written,
and ``validate`` warns about each instead of refusing it."""


def _passthrough_fields(node: Any, path: JsonPath = ()) -> Iterator[tuple[JsonPath, Mapping[str, Any], Any]]:
    """(path of the enclosing object, the x-passthrough mapping, the enclosing object) at every depth."""
    if isinstance(node, Mapping):
        extra = node.get(PASSTHROUGH)
        if isinstance(extra, Mapping):
            yield path, extra, node
        for key, value in node.items():
            if key != PASSTHROUGH:
                yield from _passthrough_fields(value, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _passthrough_fields(item, (*path, index))


def lift_passthrough(spec: Any) -> Any:
    """``spec`` with every ``x-passthrough`` mapping merged into the object that holds it (what is sent)."""
    if isinstance(spec, Mapping):
        lifted = {k: lift_passthrough(v) for k, v in spec.items() if k != PASSTHROUGH}
        extra = spec.get(PASSTHROUGH)
        if isinstance(extra, Mapping):
            lifted.update({k: v for k, v in extra.items() if k not in lifted})
        return lifted
    if isinstance(spec, list):
        return [lift_passthrough(item) for item in spec]
    return spec


def hatch_listed(
    document: Mapping[str, Any], listed: Sequence[JsonPath]
) -> tuple[Mapping[str, Any], dict[JsonPath, JsonPath]]:
    """``document`` with each listed field moved under ``x-passthrough`` in the object that holds it.

    ``listed`` holds paths inside ``spec`` (a project's ``passthrough:`` list), where ``*`` is any
    list item or map entry. Returns the document to validate and, for each field moved, its path
    from the document root and the listed path it fits; ``document`` itself is not changed. A field
    already under its object's ``x-passthrough`` stays beside it, so the usual clash is reported.
    """
    spec = document.get("spec")
    if not listed or not isinstance(spec, Mapping):
        return document, {}
    spec = copy.deepcopy(dict(spec))
    moved: dict[JsonPath, JsonPath] = {}
    for field in listed:
        *parents, key = field
        if not isinstance(key, str) or key == PASSTHROUGH:
            continue
        for path, holder in _holders(spec, tuple(parents), ("spec",)):
            hatch = holder.setdefault(PASSTHROUGH, {}) if key in holder else None
            if isinstance(hatch, dict) and key not in hatch:
                hatch[key] = holder.pop(key)
                moved.setdefault((*path, key), field)
    return {**document, "spec": spec}, moved


def _holders(node: Any, parents: JsonPath, path: JsonPath) -> Iterator[tuple[JsonPath, dict[str, Any]]]:
    """(path, object) of every object at ``parents`` below ``node``; ``*`` follows every item or entry."""
    if not parents:
        if isinstance(node, dict):
            yield path, node
        return
    part, rest = parents[0], parents[1:]
    if isinstance(node, list):
        indexes = range(len(node)) if part == "*" else [part] if isinstance(part, int) and part < len(node) else []
        for index in indexes:
            yield from _holders(node[index], rest, (*path, index))
    elif isinstance(node, dict):
        keys = [k for k in node if k != PASSTHROUGH] if part == "*" else [part] if part in node else []
        for key in keys:
            yield from _holders(node[key], rest, (*path, key))


def _problem(
    source: SourceMap, kind: str, name: str | None, path: JsonPath, line_path: JsonPath, message: str
) -> ManifestProblem:
    """One problem at ``path``, located at the line of ``line_path`` (where the YAML states it)."""
    return ManifestProblem(file=source.file, line=source.line_of(line_path), message=message, kind=kind, name=name,
                           path=format_path(path))


def passthrough_warnings(
    document: Mapping[str, Any], kind: str, source: SourceMap, name: str | None = None,
    listed: Mapping[JsonPath, str] | None = None,
) -> list[ManifestProblem]:
    """One warning per field sent through ``x-passthrough``: it is sent unchecked.

    ``listed`` maps the fields ``hatch_listed`` moved there to where the project lists them.
    """
    warnings = []
    for path, extra, _ in _passthrough_fields(document.get("spec"), ("spec",)):
        for key in extra:
            field = (*path, key)
            if listed and field in listed:
                message = (f"not checked against the {kind} schema; sent as written because {listed[field]} "
                           "lists it under passthrough")
                warnings.append(_problem(source, kind, name, field, field, message))
            else:
                message = f"not in the {kind} schema; sent as written because it is under {PASSTHROUGH}"
                warnings.append(_problem(source, kind, name, field, (*path, PASSTHROUGH, key), message))
    return sorted(warnings, key=lambda w: (w.line, w.path))


def document_warnings(
    document: Mapping[str, Any], kind: str, source: SourceMap, name: str | None = None,
    listed: Mapping[JsonPath, str] | None = None, passthrough: bool = True,
) -> list[ManifestProblem]:
    """What ``validate`` warns about in a valid document: passthrough fields and write-rule advice
    (``assistant_advisories``), for an assistant and for each candidate version of a CanaryDeploy.
    ``passthrough=False``: the document holds no ``x-passthrough`` key, nothing to look for or lift."""
    warnings = passthrough_warnings(document, kind, source, name, listed) if passthrough else []
    spec = document.get("spec")
    configs: list[tuple[JsonPath, Any]] = []
    if kind == "Assistant":
        configs = [(("spec",), spec)]
    elif kind == "CanaryDeploy" and isinstance(spec, Mapping) and isinstance(spec.get("versions"), Mapping):
        # An override's top-level field replaces the assistant's whole, so its flow is judged alone.
        configs = [(("spec", "versions", version), override) for version, override in spec["versions"].items()]
    for at, config in configs:
        if isinstance(config, Mapping):
            for advice in assistant_advisories(lift_passthrough(config) if passthrough else config):
                where = (*at, *advice.path)
                warnings.append(_problem(source, kind, name, where, where, advice.message))
    return sorted(warnings, key=lambda w: (w.line, w.path))


def _passthrough_problems(
    document: Mapping[str, Any], kind: str, source: SourceMap, name: str | None
) -> Iterator[ManifestProblem]:
    """A passthrough field may not shadow a field set beside it."""
    for path, extra, holder in _passthrough_fields(document.get("spec"), ("spec",)):
        for key in extra:
            if key in holder:
                yield _problem(source, kind, name, (*path, key), (*path, PASSTHROUGH, key),
                               f"'{key}' is set both here and under {PASSTHROUGH}; keep one")


def _rule_problems(
    document: Mapping[str, Any], kind: str, source: SourceMap, name: str | None, passthrough: bool = True
) -> list[ManifestProblem]:
    spec = document.get("spec")
    if not isinstance(spec, Mapping):
        return []
    if passthrough:
        clashes = sorted(set(_passthrough_problems(document, kind, source, name)), key=lambda p: (p.line, p.path))
        if clashes:
            return clashes
        spec = lift_passthrough(spec)
    violations: list[Violation] = []
    if kind == "Assistant":
        violations = assistant_violations(spec)
    elif kind == "Tool" and isinstance(spec.get("type"), str):
        payload = spec.get(spec["type"])
        violations = tool_violations(spec["type"], payload if isinstance(payload, Mapping) else {})
    problems = {_problem(source, kind, name, ("spec", *v.path), ("spec", *v.path), v.message) for v in violations}
    return sorted(problems, key=lambda p: (p.line, p.path, p.message))


def _schema_problems(
    document: Mapping[str, Any], kind: str, source: SourceMap, name: str | None
) -> list[ManifestProblem]:
    fast = _fast_check(kind)
    if fast is not None:
        try:
            if fast(document):
                return []
        except (ValueError, TypeError, OverflowError):  # a value the compiled check cannot take
            pass
    problems = set()
    for error in _validator(kind).iter_errors(document):
        for path, line_path, message in _explain(error):
            problems.add(_problem(source, kind, name, path, line_path, message))
    return sorted(problems, key=lambda p: (p.line, p.path, p.message))


def _explain(error: ValidationError) -> Iterator[tuple[JsonPath, JsonPath, str]]:
    """(path shown, path whose line is used, message) for one jsonschema error."""
    path: JsonPath = tuple(error.absolute_path)
    if _about_a_key(error) and isinstance(error.instance, str):
        # propertyNames judges a key without stepping into it; the key's own line is the useful one.
        path = (*path, error.instance)
    validator = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    if validator in ("oneOf", "anyOf") and error.context:
        yield from _explain_union(error, path)
    elif validator == "additionalProperties" and isinstance(error.instance, dict):
        known = sorted(schema.get("properties", {}))
        hatch = {PASSTHROUGH} if schema.get("patternProperties") else set()
        for extra in sorted(set(error.instance) - set(known) - hatch):
            hint = MOVED.get((str(path[-1]) if path else "", extra)) or _suggest(extra, known)
            yield path, (*path, extra), f"unknown field '{extra}'{hint}"
    elif validator in ("not", "pattern") and "errorMessage" in schema:
        yield path, path, str(schema["errorMessage"])
    elif validator == "type":
        names = " or ".join(f"'{t}'" for t in _types(error.validator_value))
        yield path, path, f"{_show(error.instance)} is not of type {names}"
    elif validator == "enum":
        yield path, path, _enum_message(error.instance, list(error.validator_value))
    elif validator == "const":
        yield path, path, f"must be {_show(error.validator_value)}, got {_show(error.instance)}"
    elif validator == "minLength" and error.validator_value == 1:
        yield path, path, "must not be empty"
    elif validator in ("minLength", "maxLength"):
        relation = "shorter" if validator == "minLength" else "longer"
        yield path, path, f"is {relation} than {error.validator_value} characters"
    elif validator == "uniqueItems" and isinstance(error.instance, list):
        for index, first in _repeats(error.instance):
            yield (*path, index), (*path, index), f"{_show(error.instance[index])} is listed twice (first at [{first}])"
    elif validator in _BOUNDS:
        yield path, path, f"{_show(error.instance)} must be {_BOUNDS[validator]} {_show(error.validator_value)}"
    elif validator == "minItems" and error.validator_value == 1:
        yield path, path, "must not be empty"
    elif validator == "minProperties" and error.validator_value == 1:
        yield path, path, "must have at least one entry"
    elif error.schema is False:
        yield path, path, "is not allowed here"
    else:
        yield path, path, error.message


def _explain_union(error: ValidationError, path: JsonPath) -> Iterator[tuple[JsonPath, JsonPath, str]]:
    """Explain the branch the author evidently meant: one whose type matched the value."""
    context = list(error.context or [])
    mismatched = [e for e in context if e.validator == "type" and tuple(e.absolute_path) == path]
    meant = [e for e in context if e not in mismatched]
    if meant:
        from jsonschema.exceptions import best_match

        yield from _explain(best_match(meant))
        return
    names = sorted({t for e in mismatched for t in _types(e.validator_value)})
    wanted = " or ".join(f"'{t}'" for t in names)
    yield path, path, f"{_show(error.instance)} is not of type {wanted}"


_BOUNDS = {
    "minimum": "at least",
    "maximum": "at most",
    "exclusiveMinimum": "greater than",
    "exclusiveMaximum": "less than",
}


def _about_a_key(error: ValidationError) -> bool:
    """Whether the error judged a mapping key (under ``propertyNames``) rather than a value."""
    schema_path = list(error.absolute_schema_path)
    return any(
        part == "propertyNames" and (i == 0 or schema_path[i - 1] != "properties")
        for i, part in enumerate(schema_path)
    )


def _repeats(items: list[Any]) -> Iterator[tuple[int, int]]:
    """(index, index of its first occurrence) for every item equal to an earlier one."""
    for index, item in enumerate(items):
        for earlier in range(index):
            if items[earlier] == item:
                yield index, earlier
                break


def _types(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _enum_message(instance: Any, allowed: list[Any]) -> str:
    shown = ", ".join(_show(v) for v in allowed[:_ENUM_SHOWN])
    if len(allowed) > _ENUM_SHOWN:
        shown += f", ... ({len(allowed)} values)"
    texts = [v for v in allowed if isinstance(v, str)]
    hint = _suggest(instance, texts) if isinstance(instance, str) else ""
    return f"{_show(instance)} is not one of {shown}{hint}"


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _show(value: Any, limit: int = 60) -> str:
    """A value the way a YAML author recognises it: 'text', 12, true, null."""
    if isinstance(value, str):
        text = repr(value)
    elif value is None or isinstance(value, bool | dict | list):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
