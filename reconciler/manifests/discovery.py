"""Which files a command reads as manifests, in which order, and their text.

Why a module of its own: ``parse_ahead`` forks before the loader and the schemas are imported, and it
needs exactly this (the file list, the canaries-first order, the bounded read) and nothing heavier.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from reconciler.errors import ManifestProblem
from reconciler.manifests.files import FileRefused, read_text

__all__ = ["MAX_FILE_BYTES", "Ordered", "canaries_first", "in_order", "manifest_files", "read_manifest"]

SUFFIXES = (".yaml", ".yml")

MAX_FILE_BYTES = 10 * 1024 * 1024
"""Largest manifest file read (10 MiB); larger ones are refused without being parsed."""

KEPT_TEXT_CHARS = 8 * 1024 * 1024
"""Text of other files ``canaries_first`` keeps from its first reading; past it they are read again."""

Ordered = tuple[int, str, "str | FileRefused | None"]
"""A file's position among all files, its path, and its text or refusal (None: not read yet)."""


def manifest_files(paths: Sequence[str | Path], problems: list[ManifestProblem]) -> list[str]:
    """Files named directly, plus ``*.yaml``/``*.yml`` under directories (sorted, hidden ones skipped).

    Paths keep the spelling the user gave; a file reached twice is read once.
    """
    files: list[str] = []
    seen: set[Path] = set()
    for given in paths:
        text = os.fspath(given)
        if os.path.isdir(text):
            found = sorted(_walk(text), key=lambda f: Path(f).parts)
            if not found:
                problems.append(ManifestProblem(text, 0, "no *.yaml or *.yml files in this directory"))
        elif os.path.lexists(text):
            found = [text]  # a FIFO, a device or a link loop: reading it says which
        else:
            problems.append(ManifestProblem(text, 0, "no such file or directory"))
            continue
        for file in found:
            real = Path(os.path.realpath(file))  # never raises, even on a symbolic link loop
            if real not in seen:
                seen.add(real)
                files.append(file)
    return files


def _walk(directory: str) -> Iterator[str]:
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.endswith(SUFFIXES) and not name.startswith("."):
                yield os.path.join(root, name)


def in_order(files: Sequence[str]) -> Iterator[Ordered]:
    return ((position, file, None) for position, file in enumerate(files))


def canaries_first(files: Sequence[str], kept_chars: int = KEPT_TEXT_CHARS) -> list[Ordered]:
    """The files with their positions, those that mention CanaryDeploy first.

    Why: a canary's reads (its config and versions) are what a plan waits for longest, and they can
    start only once its manifest is loaded; in a tree of ``assistants/`` and ``canaries/`` the
    canaries come last, and the reads started when loading was all but done. Loading them first
    lets the reads run while the rest loads. Resources and messages keep the order of the files
    (the loader's ``finish``). The first reading's text is kept, up to ``kept_chars`` of other files.
    """
    first: list[Ordered] = []
    rest: list[Ordered] = []
    kept = 0
    for position, file in enumerate(files):
        read = read_manifest(file)
        if isinstance(read, str) and "CanaryDeploy" in read:
            first.append((position, file, read))
        elif isinstance(read, str) and kept + len(read) > kept_chars:
            rest.append((position, file, None))
        else:
            kept += len(read) if isinstance(read, str) else 0
            rest.append((position, file, read))
    return first + rest


def read_manifest(file: str) -> str | FileRefused:
    """A manifest's text, or why it cannot be read (the loader words the message)."""
    try:
        return read_text(file, MAX_FILE_BYTES)
    except FileRefused as err:
        return err
