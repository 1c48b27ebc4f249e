"""Replace ``${env:NAME}`` and ``${secret:NAME}`` in the string values of a manifest.

Both read the given environment mapping; secrets differ only in that their values are collected so
every output can mask them. ``$${`` stands for a literal ``${``. Anything else that starts with
``${`` is an error rather than text passed through, so a typo never reaches the API unnoticed.
A result longer than the loader's string limit is refused too: a line of ``${env:BIG}`` repeated
would otherwise multiply a large variable into gigabytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.model import JsonPath
from reconciler.yaml_source import MAX_STRING

PREFIXES = ("env", "secret")
_TOKEN = re.compile(r"\$\$\{|\$\{([^{}]*)\}|\$\{")
_REFERENCE = re.compile(r"([A-Za-z][A-Za-z0-9_-]*):([A-Za-z_][A-Za-z0-9_]*)")


@dataclass
class Interpolation:
    """The interpolated value, the secret values used, and one message per bad reference."""

    value: Any = None
    secrets: set[str] = field(default_factory=set)
    problems: list[tuple[JsonPath, str]] = field(default_factory=list)


def interpolate(value: Any, environ: Mapping[str, str], path: JsonPath = ()) -> Interpolation:
    """Interpolate every string inside ``value``; ``path`` prefixes the paths of problems."""
    result = Interpolation()
    result.value = _walk(value, environ, path, result)
    return result


def _walk(value: Any, environ: Mapping[str, str], path: JsonPath, out: Interpolation) -> Any:
    if isinstance(value, str):
        return _expand(value, environ, path, out)
    if isinstance(value, dict):
        return {key: _walk(item, environ, (*path, key), out) for key, item in value.items()}
    if isinstance(value, list):
        return [_walk(item, environ, (*path, index), out) for index, item in enumerate(value)]
    return value


def _expand(text: str, environ: Mapping[str, str], path: JsonPath, out: Interpolation) -> str:
    if "${" not in text:
        return text
    pieces: list[str] = []
    size = 0
    last = 0
    for match in _TOKEN.finditer(text):
        pieces.append(text[last : match.start()])
        last = match.end()
        token = match.group(0)
        if token == "$${":
            pieces.append("${")
        elif match.group(1) is None:
            out.problems.append((path, "unterminated '${' (write '$${' for a literal '${')"))
            pieces.append(token)
        else:
            pieces.append(_resolve(token, match.group(1), environ, path, out))
        size += len(pieces[-2]) + len(pieces[-1])
        if size > MAX_STRING:
            return _too_long(text, path, out)
    pieces.append(text[last:])
    if size + len(pieces[-1]) > MAX_STRING:
        return _too_long(text, path, out)
    return "".join(pieces)


def _too_long(text: str, path: JsonPath, out: Interpolation) -> str:
    """Refuse the value; the raw text is kept so later checks skip it like any failed reference."""
    out.problems.append((path, f"longer than {MAX_STRING} characters once variables are filled in"))
    return text


def _resolve(token: str, body: str, environ: Mapping[str, str], path: JsonPath, out: Interpolation) -> str:
    reference = _REFERENCE.fullmatch(body)
    if reference is None:
        out.problems.append(
            (path, f"malformed reference '{token}': expected ${{env:NAME}} or ${{secret:NAME}}")
        )
        return token
    prefix, name = reference.groups()
    if prefix not in PREFIXES:
        out.problems.append(
            (path, f"unknown reference '{token}': only ${{env:NAME}} and ${{secret:NAME}} are supported")
        )
        return token
    if name not in environ:
        out.problems.append((path, f"environment variable {name} is not set (needed by '{token}')"))
        return token
    resolved = environ[name]
    if prefix == "secret" and resolved:
        out.secrets.add(resolved)
    return resolved
