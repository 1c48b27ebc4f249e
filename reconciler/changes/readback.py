"""Fields a write sent that the API did not keep, and the memory that stops planning them again.

Why: Telnyx answers every write with the object as stored. A field it does not know (one sent
through ``x-passthrough``, or one a newer API dropped) is silently left out, so the next plan
sees it missing, plans the same update, and every apply spends one of the ten versions Telnyx
keeps. ``not_kept`` compares what was sent with the answer; ``NotKeptLedger`` remembers those
fields per object (in ``.reconciler/not-kept.json`` beside the project file, like the ownership
ledger, so every directory a project is planned from shares it), so they are reported once, on
the apply that found them, and later plans leave them out instead of sending them again.
Changing the field's value in the manifest sends it again (and checks again); removing it ends
the matter.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from reconciler.model import JsonPath, copy_json, format_path

__all__ = ["LEDGER_FILE", "WRITE_ONLY", "NotKeptLedger", "not_kept", "report_not_kept", "without_paths"]

LEDGER_FILE = Path(".reconciler") / "not-kept.json"
"""The file without a project file; with one, ``Project.not_kept_file`` (the same, beside it)."""
WRITE_ONLY = frozenset({"tool_ids", "promote_to_main", "version_name"})
"""Top-level request fields the API never echoes (it shows their effect instead)."""


def not_kept(sent: Any, stored: Any, path: JsonPath = ()) -> list[JsonPath]:
    """Paths of keys in ``sent`` that ``stored`` (the write's answer) does not have at all.

    Only absent keys count: a value the server normalised or filled in is the server's business.
    Lists are followed item by item as far as both go (the answer may append, e.g. shared tools).
    """
    return list(_missing(sent, stored, path))


def _missing(sent: Any, stored: Any, path: JsonPath) -> Iterator[JsonPath]:
    if isinstance(sent, Mapping) and isinstance(stored, Mapping):
        for key, value in sent.items():
            if not path and key in WRITE_ONLY:
                continue
            if key not in stored:
                if value is not None:  # null clears: absent is what it asked for
                    yield (*path, key)
            else:
                yield from _missing(value, stored[key], (*path, key))
    elif isinstance(sent, list) and isinstance(stored, list):
        for index, (item, kept) in enumerate(zip(sent, stored, strict=False)):
            yield from _missing(item, kept, (*path, index))


def value_at(node: Any, path: JsonPath) -> Any:
    for part in path:
        listed = isinstance(part, int) and isinstance(node, list) and part < len(node)
        if listed or (isinstance(part, str) and isinstance(node, Mapping) and part in node):
            node = node[part]
        else:
            return None
    return node


def without_paths(body: Mapping[str, Any], paths: list[JsonPath]) -> dict[str, Any]:
    """A copy of ``body`` without the given paths (what to plan once they are known not to stick)."""
    out: Any = copy_json(dict(body))  # may hold Pending ids of objects this plan creates
    for path in paths:
        node = out
        for part in path[:-1]:
            node = value_at(node, (part,))
        if isinstance(node, dict):
            node.pop(path[-1], None)
    result: dict[str, Any] = out
    return result


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


class NotKeptLedger:
    """Per object address: the fields the API did not keep, each with the value that was sent.

    Stored as ``{"Assistant/name": {"[\"voice_settings\", \"knob\"]": "<value as JSON>"}}``.
    """

    def __init__(self, path: Path = LEDGER_FILE) -> None:
        self.path = path
        self._data: dict[str, dict[str, str]] | None = None

    def _load(self) -> dict[str, dict[str, str]]:
        """The file's content, read once per instance (a plan asks once per assistant, several times)."""
        if self._data is None:
            self._data = {}
            if self.path.is_file():
                try:
                    data = json.loads(self.path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    data = {}
                self._data = data if isinstance(data, dict) else {}
        return self._data

    def record(self, address: str, sent: Mapping[str, Any], paths: list[JsonPath]) -> None:
        data = self._load()
        entry = data.setdefault(address, {})
        for path in paths:
            entry[json.dumps(list(path))] = _key(value_at(sent, path))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")

    def known(self, address: str, desired: Mapping[str, Any]) -> list[JsonPath]:
        """The recorded paths of ``address`` that ``desired`` still sets to the very value that was sent."""
        found: list[JsonPath] = []
        for raw, value in self._load().get(address, {}).items():
            path: JsonPath = tuple(json.loads(raw))
            current = value_at(desired, path)
            if current is not None and _key(current) == value:
                found.append(path)
        return sorted(found, key=format_path)


_log = logging.getLogger("reconciler")


def report_not_kept(
    address: str, sent: Mapping[str, Any], stored: Mapping[str, Any], ledger_file: Path = LEDGER_FILE
) -> list[JsonPath]:
    """After a write: warn once about each field the answer lacks and remember it (the engine hook)."""
    paths = not_kept(sent, stored)
    if paths:
        NotKeptLedger(ledger_file).record(address, sent, paths)
        for path in paths:
            _log.warning(
                "%s: spec.%s was sent but the API did not keep it; later plans leave it out "
                "while its value stays the same (remembered in %s)",
                address,
                format_path(path),
                ledger_file,
            )
    return paths
