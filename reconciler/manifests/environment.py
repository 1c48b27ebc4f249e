"""Var files (``--var-file``): what differs between the accounts one manifest set is applied to.

Staging and production usually want the same assistants with a few other values (a voice, a time
limit) and other names, so that both can live side by side or be told apart at a glance. A var
file states exactly that and nothing more::

    name_prefix: stg-          # optional: prepended to the live name of every object of the set
    vars:
      COMPANY: Acme
      TIME_LIMIT: 1200         # scalars only: text, numbers, true/false

Files are merged in the order given: a later file's variables override an earlier file's, and a
later ``name_prefix`` replaces the earlier one. Every problem of every file is reported at once,
as ``FILE:LINE: key: message``, before any manifest is read.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from reconciler.errors import ManifestErrors, ManifestProblem
from reconciler.manifests.files import FileRefused, FileTooLarge, NotText, read_text
from reconciler.manifests.interpolate import format_variable
from reconciler.manifests.yaml_source import YamlDocument, read_yaml
from reconciler.model import JsonPath, format_path

__all__ = ["Environment", "VarFileProblem", "load_environment"]

MAX_VAR_FILE_BYTES = 1024 * 1024
"""Largest var file read (1 MiB); a var file holds a handful of values."""

MAX_PREFIX = 32
"""Longest name prefix: it is added to every live name, so keep it short."""

TOP_LEVEL_KEYS = ("name_prefix", "vars")
_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Environment:
    """Merged var files: ``${var:NAME}`` values, the live-name prefix, and the files they came from."""

    variables: Mapping[str, Any] = field(default_factory=dict)
    name_prefix: str = ""
    files: tuple[str, ...] = ()

    def live_name(self, name: str) -> str:
        """The name an object of the manifests has in this environment's account."""
        return self.name_prefix + name


@dataclass(frozen=True)
class VarFileProblem(ManifestProblem):
    """A var file problem: no manifest object to name, so it prints as ``FILE:LINE: key: message``.

    A problem of the whole file (unreadable, not a mapping) has no key: ``FILE:LINE: message``.
    """

    def __str__(self) -> str:
        where = "" if self.path == "$" else f" {self.path}:"
        return f"{self.file}:{self.line}:{where} {self.message}"


def load_environment(paths: Sequence[str | Path]) -> Environment:
    """Read and merge var files in order; raise ``ManifestErrors`` naming file and line of every problem."""
    variables: dict[str, Any] = {}
    prefix = ""
    problems: list[VarFileProblem] = []
    files: list[str] = []
    for given in paths:
        file = os.fspath(given)
        files.append(file)
        found = _read(file, problems)
        if found is None:
            continue
        document, value = found
        if "name_prefix" in value:
            checked = _check_prefix(value["name_prefix"])
            if checked is None:
                prefix = value["name_prefix"]
            else:
                problems.append(_problem(file, document, ("name_prefix",), checked))
        variables.update(_variables(file, document, value.get("vars"), problems))
    if problems:
        raise ManifestErrors(sorted(problems, key=lambda p: (files.index(p.file), p.line, p.path)))
    return Environment(MappingProxyType(variables), prefix, tuple(files))


def _read(file: str, problems: list[VarFileProblem]) -> tuple[YamlDocument, Mapping[str, Any]] | None:
    """The file's one mapping document, or None after recording why there is none."""

    def fail(line: int, message: str, path: str = "$") -> None:
        problems.append(VarFileProblem(file=file, line=line, message=message, path=path))

    try:
        text = read_text(file, MAX_VAR_FILE_BYTES)
    except FileTooLarge:
        fail(0, f"var file is larger than {MAX_VAR_FILE_BYTES // 2**20} MiB")
        return None
    except NotText as err:
        fail(err.line, str(err))
        return None
    except FileRefused as err:
        fail(0, f"cannot read var file: {err}")
        return None
    parsed = read_yaml(text)
    for issue in [*parsed.issues, *(i for d in parsed.documents for i in d.issues)]:
        fail(issue.line, issue.message, format_path(issue.path))
    if parsed.issues or any(d.issues for d in parsed.documents):
        return None
    if not parsed.documents:
        fail(1, "empty var file; write at least 'vars: {}'")
        return None
    if len(parsed.documents) > 1:
        fail(parsed.documents[1].line, "a var file holds one document; merge them or pass several var files")
        return None
    document = parsed.documents[0]
    if not isinstance(document.value, dict):
        fail(document.line, "a var file must be a mapping with 'vars' and optionally 'name_prefix'")
        return None
    for key in document.value:
        if key not in TOP_LEVEL_KEYS:
            close = difflib.get_close_matches(key, TOP_LEVEL_KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            allowed = " and ".join(repr(k) for k in TOP_LEVEL_KEYS)
            fail(document.lines[(key,)], f"unknown key {key!r}{hint}; a var file holds only {allowed}", key)
    return document, document.value


def _check_prefix(value: Any) -> str | None:
    """Why ``value`` is not a usable name prefix, or None when it is."""
    rule = f"letters, digits, '.', '_' and '-', starting with a letter or digit, at most {MAX_PREFIX} characters"
    if not isinstance(value, str):
        return f"name_prefix must be text ({rule}), not {_describe(value)}"
    if value and (len(value) > MAX_PREFIX or not _PREFIX.fullmatch(value)):
        return f"{value!r} is not allowed: use {rule}"
    return None


def _variables(
    file: str, document: YamlDocument, value: Any, problems: list[VarFileProblem]
) -> dict[str, Any]:
    """The valid variables of one file; a problem for each name or value that cannot be used."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        message = f"vars must be a mapping of NAME: value, not {_describe(value)}"
        problems.append(_problem(file, document, ("vars",), message))
        return {}
    found: dict[str, Any] = {}
    for name, item in value.items():
        at: JsonPath = ("vars", name)
        if not _NAME.fullmatch(name):
            message = f"variable name {name!r} is not allowed: start with a letter or '_', then letters, digits, '_'"
            problems.append(_problem(file, document, at, message))
        elif isinstance(item, str | int | float) and not (isinstance(item, float) and not math.isfinite(item)):
            found[name] = item
        else:
            message = f"{name} is {_describe(item)}; a variable is text, a number or true/false"
            if item is None:
                message += " (write '' for empty text)"
            problems.append(_problem(file, document, at, message))
    return found


def _describe(value: Any) -> str:
    if value is None:
        return "empty (null)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"{format_variable(value)!r}"


def _problem(file: str, document: YamlDocument, path: JsonPath, message: str) -> VarFileProblem:
    line = document.lines.get(path, document.line)
    return VarFileProblem(file=file, line=line, message=message, path=format_path(path))
