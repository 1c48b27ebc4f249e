"""The Telnyx AI API request/response structure, as self-contained JSON Schemas.

Why: the emulator answers 422 for bodies the real API refuses, and the manifest schemas are built from the
same request shapes. Both read `api_schema.json`, derived by `scripts/derive_api_schema.py` from the shared
OpenAPI subset plus SDK-newer additions. Errors come back in the FastAPI shape the service documents.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import FormatChecker
from jsonschema.exceptions import ValidationError

from reconciler.api.jsonschema_ext import SchemaValidator

__all__ = ["component", "known_only", "validate_request"]

SCHEMA_FILE = Path(__file__).with_name("api_schema.json")
_COMPONENT_PREFIX = "#/components/schemas/"
_DEFS_PREFIX = "#/$defs/"
JSON = dict[str, Any]


@cache
def _components() -> dict[str, JSON]:
    data = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    schemas: dict[str, JSON] = data["components"]["schemas"]
    return schemas


def _normalise(node: Any, refs: set[str]) -> Any:
    """Rewrite refs to $defs, turn OpenAPI 3.0 `nullable` into a null type, and collect referenced names."""
    if isinstance(node, list):
        return [_normalise(item, refs) for item in node]
    if not isinstance(node, dict):
        return node
    out: JSON = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str) and value.startswith(_COMPONENT_PREFIX):
            name = value.removeprefix(_COMPONENT_PREFIX)
            refs.add(name)
            out[key] = _DEFS_PREFIX + name
        elif key == "properties" and isinstance(value, dict):
            out[key] = {prop: _normalise(sub, refs) for prop, sub in value.items()}
        elif key not in ("nullable", "discriminator"):
            out[key] = _normalise(value, refs)
    if node.get("nullable") is True:
        out = _allow_null(out)
    return out


def _allow_null(schema: JSON) -> JSON:
    kind = schema.get("type")
    if isinstance(kind, str):
        schema = {**schema, "type": [kind, "null"]}
        if "enum" in schema and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
        return schema
    if isinstance(kind, list):
        return schema if "null" in kind else {**schema, "type": [*kind, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


@cache
def _bundled(name: str) -> JSON:
    components = _components()
    if name not in components:
        raise KeyError(f"unknown API schema component: {name}")
    seen: set[str] = set()
    root_refs: set[str] = set()
    root = _normalise(components[name], root_refs)
    defs: dict[str, JSON] = {}
    pending = sorted(root_refs)
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        found: set[str] = set()
        defs[current] = _normalise(components[current], found)
        pending.extend(sorted(found - seen))
    schema: JSON = {"$schema": "https://json-schema.org/draft/2020-12/schema", **root}
    if defs:
        schema["$defs"] = dict(sorted(defs.items()))
    return schema


def component(name: str) -> JSON:
    """A self-contained draft 2020-12 schema for one component; references bundled under `$defs`."""
    return copy.deepcopy(_bundled(name))


# The formats the request components use (the service parses them, so malformed values are 422s).
FORMATS = FormatChecker(formats=())
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$")


def _is_uri(value: object) -> bool:
    """An absolute URI (RFC 3986: scheme, colon, then only URI characters and %-escapes)."""
    return not isinstance(value, str) or _URI.match(value) is not None


def _is_date_time(value: object) -> bool:
    """An RFC 3339 date-time: a full date, a time and an offset (Z or +hh:mm)."""
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", value):
        return False
    datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    return True


FORMATS.checks("uri")(_is_uri)
FORMATS.checks("date-time", raises=ValueError)(_is_date_time)


@cache
def _validator(name: str) -> SchemaValidator:
    schema = _bundled(name)
    SchemaValidator.check_schema(schema)
    return SchemaValidator(schema, format_checker=FORMATS)


def _is_date_time_or_false(value: object) -> bool:
    try:
        return _is_date_time(value)
    except ValueError:
        return False


@cache
def _fast_check(name: str) -> Callable[[Any], bool] | None:
    """A compiled (Rust) validity check of a component, with the same two formats, when jsonschema-rs is
    installed.

    The Python validator cost about 4 of the emulator's 4.5 ms per assistant create, and made it the
    bottleneck of every create benchmark; the compiled check takes microseconds. It only answers
    "valid or not": a body it refuses goes through the Python validator, which alone says what is wrong
    (the 422 messages are documented and tested) and whether the body is valid after all. It can only be
    stricter than the Python one, never laxer: formats other than uri and date-time are accepted as the
    Python checker ignores them, its ``$`` does not match before a final newline, and its ``multipleOf``
    has no tolerance for binary floating point.
    """
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - optional speed-up
        return None
    formats: dict[str, Callable[[Any], bool]] = {"uri": _is_uri, "date-time": _is_date_time_or_false}
    schema = _bundled(name)
    for unchecked in _formats(schema) - set(formats):
        formats[unchecked] = lambda value: True
    check: Callable[[Any], bool] = jsonschema_rs.validator_for(schema, validate_formats=True, formats=formats).is_valid
    return check


def _formats(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["format"]} if isinstance(node.get("format"), str) else set()
        return found.union(*(_formats(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_formats(v) for v in node))
    return set()


def validate_request(name: str, body: object) -> list[JSON]:
    """FastAPI-style `{"loc", "msg", "type"}` entries for each way body breaks the component; [] if valid."""
    fast = _fast_check(name)
    if fast is not None and fast(body):
        return []
    validator = _validator(name)
    entries: list[JSON] = []
    for error in sorted(validator.iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path]):
        for leaf in _leaves(error):
            entries.extend(_to_entries(leaf))
    return entries


def _leaves(error: ValidationError) -> Iterator[ValidationError]:
    """Descend into the union branch the body meant (by `type` discriminator, or the non-null branch)."""
    if error.validator not in ("oneOf", "anyOf") or not error.context:
        yield error
        return
    branches = error.validator_value
    chosen = _chosen_branch(branches, error.instance)
    if chosen is None:
        yield error
        return
    inner = [e for e in error.context if e.schema_path and e.schema_path[0] == chosen]
    if not inner:
        yield error
        return
    for sub in inner:
        yield from _leaves(sub)


def _chosen_branch(branches: Sequence[Any], instance: object) -> int | None:
    candidates = [i for i, branch in enumerate(branches) if not _is_null_schema(branch)]
    if len(candidates) == 1:
        return candidates[0]
    if isinstance(instance, dict) and isinstance(instance.get("type"), str):
        for i, branch in enumerate(branches):
            tag = _discriminator_values(branch)
            if instance["type"] in tag:
                return i
    return None


def _is_null_schema(branch: Any) -> bool:
    return isinstance(branch, dict) and branch.get("type") == "null"


def _discriminator_values(branch: Any) -> list[Any]:
    if not isinstance(branch, dict):
        return []
    if "$ref" in branch:
        branch = _components().get(branch["$ref"].removeprefix(_DEFS_PREFIX), {})
    prop = branch.get("properties", {}).get("type", {})
    if "const" in prop:
        return [prop["const"]]
    values: list[Any] = prop.get("enum", [])
    return values


_TYPE_NAMES = {
    "string": ("string_type", "Input should be a valid string"),
    "integer": ("int_type", "Input should be a valid integer"),
    "number": ("float_type", "Input should be a valid number"),
    "boolean": ("bool_type", "Input should be a valid boolean"),
    "array": ("list_type", "Input should be a valid list"),
    "object": ("dict_type", "Input should be a valid dictionary"),
    "null": ("none_required", "Input should be None"),
}


def _to_entries(error: ValidationError) -> list[JSON]:
    loc: list[str | int] = ["body", *error.absolute_path]
    kind, msg = _describe(error)
    if error.validator == "required":
        # jsonschema reports one error per missing field, worded "'<field>' is a required property".
        missing = error.message.split(" is a required property")[0].strip("'\"")
        return [{"loc": [*loc, missing], "msg": msg, "type": kind}]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extras = sorted(k for k in error.instance if k not in allowed)
        return [{"loc": [*loc, extra], "msg": msg, "type": kind} for extra in extras]
    return [{"loc": loc, "msg": msg, "type": kind}]


def _describe(error: ValidationError) -> tuple[str, str]:
    value = error.validator_value
    match error.validator:
        case "required":
            return "missing", "Field required"
        case "type":
            wanted = [t for t in ([value] if isinstance(value, str) else value) if t != "null"] or ["null"]
            return _TYPE_NAMES.get(wanted[0], ("type_error", error.message))
        case "enum" | "const":
            options = value if error.validator == "enum" else [value]
            shown = [repr(o) if o is not None else "None" for o in options]
            listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]
            return "enum", f"Input should be {listed}"
        case "minimum":
            return "greater_than_equal", f"Input should be greater than or equal to {value}"
        case "maximum":
            return "less_than_equal", f"Input should be less than or equal to {value}"
        case "exclusiveMinimum":
            return "greater_than", f"Input should be greater than {value}"
        case "exclusiveMaximum":
            return "less_than", f"Input should be less than {value}"
        case "minLength":
            return "string_too_short", f"String should have at least {value} characters"
        case "maxLength":
            return "string_too_long", f"String should have at most {value} characters"
        case "pattern":
            return "string_pattern_mismatch", f"String should match pattern '{value}'"
        case "minItems":
            return "too_short", f"List should have at least {value} items"
        case "maxItems":
            return "too_long", f"List should have at most {value} items"
        case "additionalProperties":
            return "extra_forbidden", "Extra inputs are not permitted"
        case "format" if value == "uri":
            return "url_parsing", "Input should be a valid URL"
        case "format" if value == "date-time":
            return "datetime_parsing", "Input should be a valid datetime"
        case "uniqueItems":
            return "unique_items", "List should have unique items"
        case "oneOf" | "anyOf":
            tags = [tag for branch in value for tag in _discriminator_values(branch)]
            instance = error.instance
            if tags and isinstance(instance, dict) and "type" in instance:
                expected = ", ".join(repr(tag) for tag in tags)
                return (
                    "union_tag_invalid",
                    f"Input tag {instance['type']!r} found using 'type' does not match any of the "
                    f"expected tags: {expected}",
                )
            return "union_invalid", "Input does not match any of the accepted shapes"
        case _:
            return "value_error", error.message


def known_only(name: str, body: Any) -> Any:
    """``body`` without the keys the component does not declare, at any depth (a strict server's view).

    The API schema is open, so the emulator normally stores unknown keys; a server built on strict
    models drops them instead. Free-form objects (no ``properties``) keep every key; a union follows
    the branch the value meant (its ``type`` tag, else the first branch of its JSON type).
    """
    schema = _bundled(name)
    return _prune(body, schema, schema.get("$defs", {}))


def _prune(value: Any, schema: Any, defs: dict[str, JSON]) -> Any:
    while isinstance(schema, dict) and "$ref" in schema:
        schema = defs.get(str(schema["$ref"]).removeprefix(_DEFS_PREFIX), {})
    if not isinstance(schema, dict):
        return value
    branches = schema.get("oneOf") or schema.get("anyOf")
    if isinstance(branches, list):
        return _prune(value, _branch_for(value, branches, defs), defs)
    if isinstance(value, dict) and isinstance(schema.get("properties"), dict):
        props: dict[str, Any] = schema["properties"]
        extra = schema.get("additionalProperties")
        out: JSON = {}
        for key, sub in value.items():
            if key in props:
                out[key] = _prune(sub, props[key], defs)
            elif isinstance(extra, dict):
                out[key] = _prune(sub, extra, defs)
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_prune(item, schema["items"], defs) for item in value]
    return value


def _branch_for(value: Any, branches: list[Any], defs: dict[str, JSON]) -> Any:
    def resolved(branch: Any) -> Any:
        while isinstance(branch, dict) and "$ref" in branch:
            branch = defs.get(str(branch["$ref"]).removeprefix(_DEFS_PREFIX), {})
        return branch

    if isinstance(value, dict) and "type" in value:
        for branch in branches:
            prop = (resolved(branch).get("properties") or {}).get("type", {})
            if value["type"] == prop.get("const") or value["type"] in (prop.get("enum") or []):
                return branch
    wanted = "object" if isinstance(value, dict) else "array" if isinstance(value, list) else None
    for branch in branches:
        kind = resolved(branch).get("type")
        if wanted is not None and (kind == wanted or (isinstance(kind, list) and wanted in kind)):
            return branch
    return {}
