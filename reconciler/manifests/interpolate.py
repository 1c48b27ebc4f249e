"""Replace ``${env:NAME}``, ``${secret:NAME}`` and ``${var:NAME}`` in the string values of a manifest.

``env`` and ``secret`` read the given environment mapping; secrets differ only in that their values
are collected so every output can mask them. ``var`` reads the variables of the var files
(``environment``), so one manifest set can serve several accounts. ``$${`` stands for a literal
``${``. Anything else that starts with ``${`` is an error rather than text passed through, so a typo
never reaches the API unnoticed. A result longer than the loader's string limit is refused too: a
line of ``${env:BIG}`` repeated would otherwise multiply a large variable into gigabytes.

Only ``${var:NAME}`` may change a value's type: when a string is exactly that reference and the
variable is a number or a boolean, the value becomes that number or boolean, so
``time_limit_secs: ${var:TIME_LIMIT}`` passes an integer schema. Environment variables are always
text, so env and secret references stay strings.

Besides the value, the result holds a ``template``: the input with only ``${var:...}`` filled in.
Var values are configuration, not secrets, so a saved plan's digest over the template notices
when a var file changes, while env and secret values never enter it. Interpolating the template
again with the same environment gives the value.

A subtree without any reference is returned as it is, not copied: value and template then share
it, which halves the memory of a large manifest set (5000 assistants with 8 KB instructions).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.manifests.yaml_source import MAX_STRING
from reconciler.model import JsonPath
from reconciler.redact import MIN_SECRET_LENGTH, too_short

PREFIXES = ("env", "secret", "var")
_TOKEN = re.compile(r"\$\$\{|\$\{([^{}]*)\}|\$\{")
_REFERENCE = re.compile(r"([A-Za-z][A-Za-z0-9_-]*):([A-Za-z_][A-Za-z0-9_]*)")
_WHOLE_VAR = re.compile(r"\$\{var:([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass
class Interpolation:
    """The interpolated value, its var-only template, the secret values used, one message per bad reference."""

    value: Any = None
    template: Any = None
    secrets: set[str] = field(default_factory=set)
    problems: list[tuple[JsonPath, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Context:
    environ: Mapping[str, str]
    variables: Mapping[str, Any] | None
    var_files: tuple[str, ...]


def interpolate(
    value: Any,
    environ: Mapping[str, str],
    path: JsonPath = (),
    *,
    variables: Mapping[str, Any] | None = None,
    var_files: Sequence[str] = (),
) -> Interpolation:
    """Interpolate every string inside ``value``; ``path`` prefixes the paths of problems.

    ``variables`` are the var-file values for ``${var:NAME}`` (None: no var file was given);
    ``var_files`` names the files read, for the message about a variable none of them defines.
    """
    result = Interpolation()
    context = _Context(environ, variables, tuple(var_files))
    result.value, result.template = _walk(value, context, path, result)
    return result


def format_variable(value: Any) -> str:
    """A var value as text inside a longer string: YAML's spelling of booleans, Python's of numbers."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _walk(value: Any, context: _Context, path: JsonPath, out: Interpolation) -> tuple[Any, Any]:
    if isinstance(value, str):
        return _expand(value, context, path, out)
    if isinstance(value, dict):
        pairs = {key: _walk(item, context, (*path, key), out) for key, item in value.items()}
        if all(v is item and t is item for (v, t), item in zip(pairs.values(), value.values(), strict=True)):
            return value, value  # nothing to fill in: share the parsed value instead of two copies
        return {k: v for k, (v, _) in pairs.items()}, {k: t for k, (_, t) in pairs.items()}
    if isinstance(value, list):
        items = [_walk(item, context, (*path, index), out) for index, item in enumerate(value)]
        if all(v is item and t is item for (v, t), item in zip(items, value, strict=True)):
            return value, value
        return [v for v, _ in items], [t for _, t in items]
    return value, value


def _expand(text: str, context: _Context, path: JsonPath, out: Interpolation) -> tuple[Any, Any]:
    if "${" not in text:
        return text, text
    whole = _WHOLE_VAR.fullmatch(text)
    if whole is not None and context.variables is not None:
        typed = context.variables.get(whole.group(1))
        if isinstance(typed, int | float):  # bool is an int too
            return typed, typed
    pieces: list[str] = []
    templates: list[str] = []
    size = 0
    last = 0
    for match in _TOKEN.finditer(text):
        plain = text[last : match.start()]
        pieces.append(plain)
        templates.append(plain)
        last = match.end()
        token = match.group(0)
        if token == "$${":
            pieces.append("${")
            templates.append(token)
        elif match.group(1) is None:
            out.problems.append((path, "unterminated '${' (write '$${' for a literal '${')"))
            pieces.append(token)
            templates.append(token)
        else:
            resolved, is_var = _resolve(token, match.group(1), context, path, out)
            pieces.append(resolved)
            # A var value is literal text: escape any '${' in it so the template reads back the same.
            templates.append(resolved.replace("${", "$${") if is_var else token)
        size += len(pieces[-2]) + len(pieces[-1])
        if size > MAX_STRING:
            return _too_long(text, path, out)
    pieces.append(text[last:])
    templates.append(text[last:])
    if size + len(pieces[-1]) > MAX_STRING:
        return _too_long(text, path, out)
    return "".join(pieces), "".join(templates)


def _too_long(text: str, path: JsonPath, out: Interpolation) -> tuple[str, str]:
    """Refuse the value; the raw text is kept so later checks skip it like any failed reference."""
    out.problems.append((path, f"longer than {MAX_STRING} characters once variables are filled in"))
    return text, text


def _supported(context: _Context) -> str:
    """The forms to suggest: ``${var:NAME}`` only once a var file makes it usable."""
    if context.variables is None:
        return "${env:NAME} and ${secret:NAME}"
    return "${env:NAME}, ${secret:NAME} and ${var:NAME}"


def _resolve(token: str, body: str, context: _Context, path: JsonPath, out: Interpolation) -> tuple[str, bool]:
    """The text for one reference, and whether it came from a var file."""
    reference = _REFERENCE.fullmatch(body)
    if reference is None:
        expected = _supported(context).replace(" and ", " or ")
        out.problems.append((path, f"malformed reference '{token}': expected {expected}"))
        return token, False
    prefix, name = reference.groups()
    if prefix not in PREFIXES:
        out.problems.append((path, f"unknown reference '{token}': only {_supported(context)} are supported"))
        return token, False
    if prefix == "var":
        return _variable(token, name, context, path, out)
    if name not in context.environ:
        out.problems.append((path, f"environment variable {name} is not set (needed by '{token}')"))
        return token, False
    resolved = context.environ[name]
    if prefix == "secret" and resolved:
        out.secrets.add(resolved)
        if too_short(resolved):
            out.problems.append((path, f"secret {name} is shorter than {MIN_SECRET_LENGTH} characters: "
                                       f"too short to mask safely in output (needed by '{token}')"))
            return token, False
    return resolved, False


def _variable(token: str, name: str, context: _Context, path: JsonPath, out: Interpolation) -> tuple[str, bool]:
    if context.variables is None or name not in context.variables:
        if context.var_files:
            where = f"not defined in the var files read ({', '.join(context.var_files)})"
        else:
            where = "not defined: no var file was read (pass --var-file FILE)"
        out.problems.append((path, f"variable {name} is {where} (needed by '{token}')"))
        return token, False
    return format_variable(context.variables[name]), True
