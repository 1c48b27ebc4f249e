"""Opening the files a user names: regular files only, read with a size bound, never blocking.

Manifests, var files, ``reconciler.yaml`` and saved plans all come through ``read_text`` (which
reads with ``read_regular``), so each refuses the same things with the same words. A named pipe
would block the first ``read`` until something writes to it (every command hung before printing
anything), and ``/dev/zero`` never ends: both are refused from ``fstat`` before a byte is read.
The file is opened with ``O_NONBLOCK`` so even opening a FIFO without a writer returns at once.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from typing import Any

from reconciler.model import MAX_DEPTH

__all__ = ["FileRefused", "FileTooLarge", "NotText", "file_size", "line_at", "read_json", "read_regular", "read_text"]


class FileRefused(Exception):
    """The path cannot be read as a regular file; ``str()`` says why in a few words, without the path."""


class FileTooLarge(FileRefused):
    """More bytes than the limit: ``line`` is the line where the limit is passed, ``size`` the file's size."""

    def __init__(self, limit: int, line: int, size: int) -> None:
        super().__init__(f"larger than {limit // 2**20} MiB")
        self.line = line
        self.size = size


class NotText(FileRefused):
    """Binary data or bytes that are not UTF-8, found on ``line``; ``str()`` says which."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def read_regular(path: str | os.PathLike[str], limit: int) -> bytes:
    """At most ``limit + 1`` bytes of a regular file (so the caller can tell "too large").

    Raises ``FileRefused`` for anything else than a readable regular file.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        raise FileRefused(_reason(err)) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            what = next((name for test, name in _KINDS if test(mode)), "not a file")
            raise FileRefused(f"not a regular file: it is {what}")
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    except OSError as err:
        raise FileRefused(_reason(err)) from None
    finally:
        os.close(fd)


def read_text(path: str | os.PathLike[str], limit: int, language: str = "YAML") -> str:
    """The text of a regular file of at most ``limit`` bytes, decoded as UTF-8 (a BOM is dropped).

    Raises ``FileTooLarge`` past the limit, ``NotText`` for a NUL byte ("binary data, not
    ``language`` text") or bytes that are not UTF-8, and ``FileRefused`` when the path cannot be
    read as a regular file at all; each caller words the message for its kind of file.
    """
    raw = read_regular(path, limit)
    if len(raw) > limit:
        raise FileTooLarge(limit, line_at(raw, limit), max(file_size(path), len(raw)))
    nul = raw.find(b"\0")
    if nul >= 0:
        raise NotText(line_at(raw, nul), f"binary data (a NUL byte), not {language} text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise NotText(line_at(raw, err.start), f"not UTF-8 text (byte 0x{raw[err.start]:02x})") from None


def file_size(path: str | os.PathLike[str]) -> int:
    """The file's size in bytes, 0 when it cannot be looked at."""
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _reason(err: OSError) -> str:
    """The OS's words, without the path (the caller names the file)."""
    if err.errno == errno.ELOOP:
        return f"{err.strerror} (a symbolic link loop)"
    return str(err.strerror or err)


def line_at(data: str | bytes, position: int) -> int:
    """1-based line of ``position``, counting ``\\r\\n``, ``\\r`` and ``\\n`` each as one line break like YAML."""
    if isinstance(data, bytes):
        lf, cr, crlf = data.count(b"\n", 0, position), data.count(b"\r", 0, position), data.count(b"\r\n", 0, position)
    else:
        lf, cr, crlf = data.count("\n", 0, position), data.count("\r", 0, position), data.count("\r\n", 0, position)
    return lf + cr - crlf + 1


def read_json(path: str | os.PathLike[str], limit: int) -> Any:
    """The one JSON value of a regular file of at most ``limit`` bytes.

    Refused (``FileRefused``, with a ``LINE: message`` text where there is a line): too large, not
    UTF-8, not JSON, a key twice in one object, nesting deeper than ``MAX_DEPTH``, NaN or
    Infinity, a lone surrogate.
    """
    try:
        text = read_text(path, limit, "JSON")
    except NotText as err:
        raise FileRefused(f"{err.line}: {err}") from None
    try:
        value = json.loads(text, object_pairs_hook=_unique, parse_constant=_no_constant)
    except json.JSONDecodeError as err:
        raise FileRefused(f"{line_at(text, err.pos)}: not JSON: {err.msg}") from None
    except RecursionError:
        raise FileRefused(f"nesting is deeper than {MAX_DEPTH} levels") from None
    except ValueError as err:  # from the hooks below
        raise FileRefused(str(err)) from None
    _check_depth(value)
    return value


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r} in one object")
        result[key] = value
    return result


def _check_text(text: str) -> None:
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise FileRefused("a lone surrogate (\\ud800-\\udfff) is not Unicode text") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_depth(value: Any) -> None:
    """Iteratively, so a deep value cannot exhaust the stack here either."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise FileRefused(f"nesting is deeper than {MAX_DEPTH} levels")
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, dict):
            stack.extend((k, depth + 1) for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
