"""Derive reconciler/api/api_schema.json from the installed official SDK (``telnyx``).

Why: the request schemas must follow the API as the SDK knows it, not a hand-patched snapshot.
Each request body the reconciler or the emulator handles is generated from the SDK's ``TypedDict``
params (``telnyx/types/ai/**``): every field, its type, ``Literal`` values, ``Required`` and
``Optional``. The SDK types carry no numeric bounds, patterns or formats, so those come from the
vendored OpenAPI subset (structure only, never its prose), copied onto the same field wherever
the two agree on the path; the subset also lends its component names, so ``$defs`` stay readable.
Components no request reaches (response shapes) are kept from the subset as they are.

    python scripts/derive_api_schema.py            # after upgrading telnyx: this file and the manifest schemas
    python scripts/derive_api_schema.py --check    # exit 1, listing the differences, if either is stale

The second step, ``scripts/build_manifest_schemas.py`` (the manifest schemas from this file), runs
as part of the first.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import importlib.util
import json
import sys
import types
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import typing_extensions

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "vendor" / "telnyx-openapi" / "ai-subset.json"
TARGET = ROOT / "reconciler" / "api" / "api_schema.json"

NOT_IN_SDK = "x-not-in-sdk"
"""Marks a property the subset has and the installed SDK does not (kept typed for the emulator)."""
PROSE_KEYS = frozenset({"description", "example", "examples", "title"})
CONSTRAINT_KEYS = (
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength",
    "pattern", "format", "minItems", "maxItems", "uniqueItems",
)  # fmt: skip
Schema = dict[str, Any]
SDK_TYPES = "telnyx.types.ai"

# Request components and the SDK params each is generated from (module under telnyx.types.ai, class).
ROOTS: dict[str, tuple[str, str]] = {
    "CreateAssistantRequest": ("assistant_create_params", "AssistantCreateParams"),
    "UpdateAssistantRequestWithPromotion": ("assistant_update_params", "AssistantUpdateParams"),
    "UpdateAssistantRequest": ("assistants.version_update_params", "VersionUpdateParams"),
    "CreateSharedToolRequest": ("tool_create_params", "ToolCreateParams"),
    "UpdateSharedToolRequest": ("tool_update_params", "ToolUpdateParams"),
    "CreateMCPServerRequest": ("mcp_server_create_params", "McpServerCreateParams"),
    "UpdateMCPServerRequest": ("mcp_server_update_params", "McpServerUpdateParams"),
    "CanaryDeployRequest": ("assistants.canary_deploy_create_params", "CanaryDeployCreateParams"),
    "ImportAssistantsRequest": ("assistant_imports_params", "AssistantImportsParams"),
    "AddTagRequest": ("assistants.tag_add_params", "TagAddParams"),
    "CreateAssistantTestRequest": ("assistants.test_create_params", "TestCreateParams"),
    "UpdateAssistantTestRequest": ("assistants.test_update_params", "TestUpdateParams"),
    "TriggerTestRunRequest": ("assistants.tests.run_trigger_params", "RunTriggerParams"),
    "TriggerTestSuiteRunsRequest": ("assistants.tests.test_suites.run_trigger_params", "RunTriggerParams"),
}
# The inline tool list, a type alias rather than a TypedDict: an array of the SDK's tool union.
TOOLS_ROOT = ("AssistantTools", "assistant_tool_param", "AssistantToolParam")
# Params fields that are not body fields: a header and path parameters.
NOT_BODY = frozenset({"idempotency_key", "assistant_id"})

# Names for SDK classes the OpenAPI subset has no component for ("module.Class" -> component).
NAMES: dict[str, str] = {
    "assistant_tool_param.Function": "FunctionTool",
    "assistant_tool_param.Vision": "VisionTool",
    "assistant_tool_param.UpdateDynamicVariables": "UpdateDynamicVariablesTool",
    "avatar_settings_request_param.AvatarSettingsRequestParam": "AvatarSettings",
    "transcription_settings_param.Challenger": "TranscriptionChallenger",
    "transcription_settings_param.FallbackModel": "TranscriptionFallbackModel",
    "assistant_a2_a_agent_param.AssistantA2AAgentParam": "A2AAgent",
    "delegation_settings_param.DelegationSettingsParam": "DelegationSettings",
    "websocket_settings_param.WebsocketSettingsParam": "WebsocketSettings",
    "assistants.test_create_params.Rubric": "TestRubricItem",
    "assistants.test_update_params.Rubric": "TestRubricItemUpdate",
}

# Constraints an SDK docstring states that its types cannot: (component, field, keywords set on it).
DOCUMENTED: list[tuple[str, str, Schema]] = [
    # insight_settings_param.py, model: "Must be zai-org/GLM-5.3-Flash or meta-llama/Llama-3.3-70B-Instruct;
    # any other model returns 422" (null allowed: Optional[str]).
    ("InsightSettings", "model", {"enum": ["zai-org/GLM-5.3-Flash", "meta-llama/Llama-3.3-70B-Instruct", None]}),
    # transcription_settings_param.py, fallback_models: "Up to 3 streaming models".
    ("TranscriptionSettings", "fallback_models", {"maxItems": 3}),
    # update_dynamic_variables_tool_params_param.py: updatable_variables "At least one is required";
    # name "Must match ^[a-zA-Z0-9_-]+$"; a variable's name "Must match ^[a-zA-Z0-9._-]+$".
    ("UpdateDynamicVariablesToolParamsParam", "updatable_variables", {"minItems": 1}),
    ("UpdateDynamicVariablesToolParamsParam", "name", {"pattern": "^[a-zA-Z0-9_-]+$"}),
    ("UpdatableVariable", "name", {"pattern": "^[a-zA-Z0-9._-]+$"}),
]

# The read shape of an assistant (a response, kept from the subset) gains the request fields the
# subset predates, so reads of new fields are known to the emulator's response checks.
READ_SHAPE = "inference-embedding_Assistant"
READ_SHAPE_SKIPS = frozenset({"tool_ids", "promote_to_main", "version_name", "name"})


# -- the OpenAPI subset ---------------------------------------------------------------------------


def strip_prose(node: Any) -> Any:
    """Drop vendor prose, keeping structure. A property literally named like a prose key is kept."""
    if isinstance(node, list):
        return [strip_prose(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: Schema = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: strip_prose(sub) for name, sub in value.items()}
        elif key not in PROSE_KEYS:
            out[key] = strip_prose(value)
    return out


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _ref_name(node: Any) -> str | None:
    if isinstance(node, dict) and isinstance(node.get("$ref"), str):
        return str(node["$ref"]).rsplit("/", 1)[-1]
    return None


# -- SDK types to JSON Schema ---------------------------------------------------------------------


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and typing_extensions.is_typeddict(tp)


def _class_key(cls: type) -> str:
    return f"{cls.__module__.removeprefix(SDK_TYPES + '.')}.{cls.__qualname__}"


class SdkConverter:
    """Turns SDK param types into JSON Schema; every TypedDict becomes one component."""

    def __init__(self) -> None:
        self.components: dict[str, Schema] = {}
        self.names: dict[str, str] = {}  # class key -> component name

    def component_name(self, cls: type) -> str:
        key = _class_key(cls)
        if key not in self.names:
            name = NAMES.get(key, cls.__name__)
            taken = set(self.names.values())
            if name in taken:
                name = key.replace(".", "_")
            self.names[key] = name
            self.components[name] = {}  # placeholder against recursion
            self.components[name] = self.typeddict(cls)
        return self.names[key]

    def typeddict(self, cls: type, skip: frozenset[str] = frozenset()) -> Schema:
        hints = typing.get_type_hints(cls, include_extras=True)
        total = getattr(cls, "__total__", True)
        properties: Schema = {}
        required: list[str] = []
        for field, hint in hints.items():
            if field in skip:
                continue
            key, is_required = field, total
            inner = hint
            while True:
                origin = typing_extensions.get_origin(inner)
                if origin in (typing_extensions.Required, typing.Required):
                    is_required, inner = True, typing_extensions.get_args(inner)[0]
                elif origin in (typing_extensions.NotRequired, typing.NotRequired):
                    is_required, inner = False, typing_extensions.get_args(inner)[0]
                elif origin is typing.Annotated:
                    for meta in getattr(inner, "__metadata__", ()):
                        alias = getattr(meta, "alias", None)
                        if isinstance(alias, str):
                            key = alias
                    inner = typing_extensions.get_args(inner)[0]
                else:
                    break
            properties[key] = self.convert(inner)
            if is_required:
                required.append(key)
        schema: Schema = {"type": "object", "properties": dict(sorted(properties.items()))}
        if required:
            schema["required"] = sorted(required)
        return schema

    def convert(self, tp: Any) -> Schema:
        tp = _evaluated(tp)
        origin = typing_extensions.get_origin(tp)
        args = typing_extensions.get_args(tp)
        if origin in (typing_extensions.Required, typing_extensions.NotRequired, typing.Annotated):
            return self.convert(args[0])
        if tp is str:
            return {"type": "string"}
        if tp is bool:
            return {"type": "boolean"}
        if tp is int:
            return {"type": "integer"}
        if tp is float:
            return {"type": "number"}
        if tp is object or tp is Any:
            return {}
        if tp is type(None):
            return {"type": "null"}
        if origin is typing.Literal or origin is typing_extensions.Literal:
            values = list(args)
            kinds = sorted({_json_type(v) for v in values})
            return {"type": kinds[0] if len(kinds) == 1 else kinds, "enum": values}
        if origin is typing.Union or origin is types.UnionType:
            return self.union(args)
        if _is_typeddict(tp):
            return ref(self.component_name(tp))
        if origin in (dict, Mapping) or origin is getattr(typing, "Dict", None):
            value = args[1] if len(args) == 2 else object
            schema: Schema = {"type": "object"}
            if value is not object:
                schema["additionalProperties"] = self.convert(value)
            return schema
        if origin in (list, tuple, Iterable, Sequence) or getattr(origin, "__name__", "") == "SequenceNotStr":
            return {"type": "array", "items": self.convert(args[0]) if args else {}}
        if isinstance(tp, type) and tp.__module__ == "datetime":
            return {"type": "string", "format": "date-time"}
        raise TypeError(f"no JSON Schema for SDK type {tp!r}")

    def union(self, args: Sequence[Any]) -> Schema:
        args = [_evaluated(a) for a in args]
        nullable = type(None) in args
        members = [a for a in args if a is not type(None)]
        if all(typing_extensions.get_origin(m) in (typing.Literal, typing_extensions.Literal) for m in members):
            values = [v for m in members for v in typing_extensions.get_args(m)]
            merged = self.convert(typing.Literal[tuple(values)])
            return _nullable(merged) if nullable else merged
        schema: Schema
        if set(members) == {str, datetime.datetime}:  # a timestamp the SDK also takes as text
            schema = {"type": "string", "format": "date-time"}
        elif len(members) == 1:
            schema = self.convert(members[0])
        else:
            converted = [self.convert(m) for m in members]
            plain = [c for c in converted if set(c) == {"type"} and isinstance(c["type"], str)]
            if len(plain) == len(converted):
                schema = {"type": [c["type"] for c in converted]}
            else:
                keyword = "oneOf" if all(_is_typeddict(m) for m in members) else "anyOf"
                schema = {keyword: converted}
        return _nullable(schema) if nullable else schema


def _evaluated(tp: Any) -> Any:
    """The class behind the SDK's lazy ``ForwardRef("__import__(module).Class")`` references."""
    if isinstance(tp, typing.ForwardRef):
        return eval(tp.__forward_arg__, {})
    return tp


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string" if isinstance(value, str) else "null"


def _nullable(schema: Schema) -> Schema:
    kind = schema.get("type")
    if isinstance(kind, str) and "$ref" not in schema:
        out = {**schema, "type": [kind, "null"]}
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        return out
    if isinstance(kind, list):
        return schema if "null" in kind else {**schema, "type": [*kind, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


# -- lending constraints and names from the subset ------------------------------------------------


class Overlay:
    """Walks an SDK schema and the subset's schema for the same body side by side.

    Where both have the field: the subset's bounds, patterns and formats are copied onto the SDK's
    (the SDK wins on everything it states: fields, types, enums, required); where both name a
    component, the pairing is recorded so the SDK component can take the subset's name.
    """

    def __init__(self, sdk: dict[str, Schema], vendor: dict[str, Schema]) -> None:
        self.sdk = sdk
        self.vendor = vendor
        self.pairs: dict[str, set[str]] = {}
        self._seen: set[tuple[str, str]] = set()

    def _resolve(self, node: Schema, pool: dict[str, Schema]) -> tuple[Schema, str | None]:
        name = _ref_name(node)
        return (pool.get(name, {}), name) if name else (node, None)

    def walk(self, sdk_node: Schema, vendor_node: Schema) -> None:
        sdk_node, sdk_name = self._resolve(_non_null(sdk_node), self.sdk)
        vendor_node, vendor_name = self._resolve(_non_null(vendor_node), self.vendor)
        vendor_node = _merged_all_of(vendor_node, self.vendor)
        if sdk_name and vendor_name:
            self.pairs.setdefault(sdk_name, set()).add(vendor_name)
            if (sdk_name, vendor_name) in self._seen:
                return
            self._seen.add((sdk_name, vendor_name))
        if "properties" in sdk_node and "properties" in vendor_node:
            for field, sub in list(sdk_node["properties"].items()):
                if field in vendor_node["properties"]:
                    self.walk(sub, vendor_node["properties"][field])
            for field, sub in vendor_node["properties"].items():
                if field not in sdk_node["properties"]:
                    # Older API surface the SDK dropped (webhook.timeout_ms): still typed for the
                    # emulator, which must refuse a wrong type as Telnyx would; marked so manifests,
                    # which follow the SDK, leave it out.
                    sdk_node["properties"][field] = {**sub, NOT_IN_SDK: True}
            sdk_node["properties"] = dict(sorted(sdk_node["properties"].items()))
            if vendor_node.get("additionalProperties") is False:
                sdk_node["additionalProperties"] = False
            return
        if "items" in sdk_node and "items" in vendor_node:
            self.walk(sdk_node["items"], vendor_node["items"])
        sdk_union = sdk_node.get("oneOf") or sdk_node.get("anyOf")
        vendor_union = vendor_node.get("oneOf") or vendor_node.get("anyOf")
        if sdk_union and vendor_union:
            tagged = {tag: branch for branch in vendor_union for tag in self._tags(branch, self.vendor)}
            for branch in sdk_union:
                for tag in self._tags(branch, self.sdk):
                    if tag in tagged:
                        self.walk(branch, tagged[tag])
            return
        if _types(sdk_node) and _types(sdk_node) == _types(vendor_node):
            for key in CONSTRAINT_KEYS:
                if key in vendor_node and key not in sdk_node:
                    sdk_node[key] = vendor_node[key]

    def _tags(self, branch: Schema, pool: dict[str, Schema]) -> list[Any]:
        node, _ = self._resolve(branch, pool)
        node = _merged_all_of(node, pool)
        prop = node.get("properties", {}).get("type", {})
        if "const" in prop:
            return [prop["const"]]
        return [v for v in prop.get("enum", []) if v is not None]


def _non_null(node: Schema) -> Schema:
    union = node.get("anyOf") or node.get("oneOf")
    if isinstance(union, list):
        rest = [b for b in union if b != {"type": "null"}]
        if len(rest) == 1 and len(rest) < len(union):
            return dict(rest[0])
    return node


def _merged_all_of(node: Schema, pool: dict[str, Schema]) -> Schema:
    """An ``allOf`` of object schemas seen as one object (the subset's update-with-promotion shape)."""
    if "allOf" not in node:
        return node
    merged: Schema = {"type": "object", "properties": dict(node.get("properties", {}))}
    for part in node["allOf"]:
        name = _ref_name(part)
        part = pool.get(name, {}) if name else part
        merged["properties"].update(_merged_all_of(part, pool).get("properties", {}))
    return merged


def _types(node: Schema) -> set[str]:
    kind = node.get("type")
    if isinstance(kind, str):
        return {kind} - {"null"}
    if isinstance(kind, list):
        return set(kind) - {"null"}
    return set()


def _rename(node: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(node, list):
        return [_rename(item, renames) for item in node]
    if not isinstance(node, dict):
        return node
    out: Schema = {}
    for key, value in node.items():
        name = _ref_name(node) if key == "$ref" else None
        out[key] = ref(renames.get(name, name))["$ref"] if name else _rename(value, renames)
    return out


def _reachable(roots: Iterable[str], pool: Mapping[str, Schema]) -> set[str]:
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in seen or name not in pool:
            continue
        seen.add(name)
        pending.extend(_refs(pool[name]))
    return seen


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        name = _ref_name(node)
        if name:
            yield name
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


# -- derivation -----------------------------------------------------------------------------------


def sdk_components() -> dict[str, Schema]:
    """The request components as the installed SDK defines them, with SDK class names."""
    converter = SdkConverter()
    roots: dict[str, Schema] = {}
    for name, (module, cls_name) in ROOTS.items():
        cls = getattr(importlib.import_module(f"{SDK_TYPES}.{module}"), cls_name)
        roots[name] = converter.typeddict(cls, skip=NOT_BODY)
    tools_name, module, alias = TOOLS_ROOT
    union = getattr(importlib.import_module(f"{SDK_TYPES}.{module}"), alias)
    roots[tools_name] = {"type": "array", "items": converter.convert(union)}
    overlap = set(roots) & set(converter.components)
    if overlap:
        raise ValueError(f"SDK classes named like request roots: {sorted(overlap)}")
    return {**converter.components, **roots}


def derive(spec: Schema) -> Schema:
    """Return {"components": {"schemas": ...}}: SDK request shapes, subset constraints, subset responses."""
    vendor: dict[str, Schema] = strip_prose(spec["components"]["schemas"])
    sdk = sdk_components()
    overlay = Overlay(sdk, vendor)
    for root in [*ROOTS, TOOLS_ROOT[0]]:
        if root in vendor:
            overlay.walk(ref(root), ref(root))
    renames: dict[str, str] = {}
    claimed = set(ROOTS) | {TOOLS_ROOT[0]} | set(NAMES.values())
    for sdk_name, vendor_names in sorted(overlay.pairs.items()):
        if sdk_name in claimed or len(vendor_names) != 1:
            continue
        (vendor_name,) = vendor_names
        if vendor_name not in claimed and vendor_name not in set(renames.values()):
            renames[sdk_name] = vendor_name
    generated = {renames.get(name, name): _rename(schema, renames) for name, schema in sdk.items()}
    for component, field, keywords in DOCUMENTED:
        generated[component]["properties"][field].update(keywords)
    schemas = {name: schema for name, schema in vendor.items() if name not in generated}
    schemas.update(generated)
    read = schemas.get(READ_SHAPE)
    if read is not None:
        for field, value in generated["CreateAssistantRequest"]["properties"].items():
            if field not in read["properties"] and field not in READ_SHAPE_SKIPS:
                read["properties"][field] = value
    used = _reachable(schemas, schemas)
    return {
        "x-source": f"telnyx {_sdk_version()} types (structure) + telnyx-openapi ai-subset.json (constraints)",
        "components": {"schemas": {name: schemas[name] for name in sorted(schemas) if name in used}},
    }


def relaxed_required(spec: Schema) -> list[tuple[str, str]]:
    """(component, field) pairs the subset requires and the SDK makes optional, e.g. a transfer's ``from``."""
    vendor: dict[str, Schema] = spec["components"]["schemas"]
    derived = derive(spec)["components"]["schemas"]
    pairs: list[tuple[str, str]] = []
    for name in sorted(set(vendor) & set(derived)):
        if name == READ_SHAPE or "properties" not in derived[name]:
            continue
        kept = set(derived[name].get("required", []))
        pairs.extend((name, field) for field in vendor[name].get("required", []) if field not in kept)
    return pairs


def __getattr__(name: str) -> Any:
    """``RELAXED_REQUIRED``, computed from the installed SDK on first use (tests/test_schemathesis.py)."""
    if name == "RELAXED_REQUIRED":
        return relaxed_required(json.loads(SOURCE.read_text(encoding="utf-8")))
    raise AttributeError(name)


def _sdk_version() -> str:
    from telnyx import __version__

    return str(__version__)


def render(derived: Schema) -> str:
    return json.dumps(derived, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def differences(old: Any, new: Any, path: str = "") -> list[str]:
    """Readable differences between two schema documents: one line per added, removed or changed value."""
    if isinstance(old, dict) and isinstance(new, dict):
        lines: list[str] = []
        for key in sorted(set(old) | set(new)):
            here = f"{path}/{key}"
            if key not in new:
                lines.append(f"- {here} (only in the committed file)")
            elif key not in old:
                lines.append(f"+ {here} (only in the SDK)")
            else:
                lines.extend(differences(old[key], new[key], here))
        return lines
    if old != new:
        return [f"~ {path or '/'}: {json.dumps(old, sort_keys=True)[:80]} -> {json.dumps(new, sort_keys=True)[:80]}"]
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--check", action="store_true", help="exit 1 and list differences if the file is stale")
    args = parser.parse_args(argv)
    derived = derive(json.loads(args.source.read_text(encoding="utf-8")))
    text = render(derived)
    if args.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else "{}"
        if current != text:
            print(f"{TARGET.relative_to(ROOT)} is stale; run scripts/derive_api_schema.py", file=sys.stderr)
            for line in differences(json.loads(current), derived):
                print(line, file=sys.stderr)
            return 1
        return _manifest_schemas(["--check"])
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return _manifest_schemas([])


def _manifest_schemas(argv: list[str]) -> int:
    """Run scripts/build_manifest_schemas.py (the manifest schemas follow this file)."""
    path = ROOT / "scripts" / "build_manifest_schemas.py"
    spec = importlib.util.spec_from_file_location("build_manifest_schemas", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return int(module.main(argv))


if __name__ == "__main__":
    raise SystemExit(main())
