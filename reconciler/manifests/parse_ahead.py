"""Parse the manifests in a forked child while the command imports, reads the account and validates.

Why: a plan is CPU-bound and every thread of it shares one GIL, so reading YAML (the largest part of
loading) delayed everything else. A child forked at the start of the command parses every file on
the second core, canary files first, and streams each file's documents back; the command validates
them as they arrive. The child does nothing but read, parse and write to its pipe: no imports, no
output, no network, and it ends with ``os._exit``.

Everything stays as without it: the parent still validates, orders and words every problem. Line
maps are not sent (they cost more to send than to read again); a problem's line is found by reading
its file again, as for any resource after loading. A file the child could not read or parse, or
every file after the child died, is loaded by the parent as before.

It forks only on Linux, with no other thread running (a fork copies none, and a lock one of them
held would stay held), and only for trees large enough to be worth a process.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import signal
import struct
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from reconciler.errors import ManifestProblem
from reconciler.manifests.discovery import canaries_first, manifest_files, read_manifest
from reconciler.manifests.yaml_source import YamlFile, read_yaml

__all__ = ["MIN_BYTES", "ParseAhead", "Parsed"]

MIN_BYTES = 512 * 1024
"""Trees smaller than this are parsed in the command's own process: a fork would cost more than it saves."""

_HEADER = struct.Struct("!Q")


@dataclass(frozen=True)
class Parsed:
    """A file the child parsed: its documents without line maps, and whether its text was blank."""

    yaml: YamlFile
    blank: bool


class ParseAhead:
    """The child parsing ``files`` and the thread draining its pipe; use ``start`` to make one."""

    def __init__(self, paths: tuple[str, ...], files: list[str], problems: list[ManifestProblem],
                 pid: int, read_fd: int) -> None:
        self.paths = paths
        self.files = files
        self.problems = problems
        self._pid = pid
        self._read_fd: int | None = read_fd
        self._frames: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._drain = threading.Thread(target=self._drain_pipe, name="parse-ahead", daemon=True)
        self._drain.start()

    @classmethod
    def start(cls, paths: Sequence[str | Path], *, force: bool = False) -> ParseAhead | None:
        """Fork the parsing child, or None where that is not safe or not worth it (``force``: tests)."""
        if not force and (sys.platform != "linux" or threading.active_count() != 1):
            return None
        problems: list[ManifestProblem] = []
        files = manifest_files(paths, problems)
        if not force and _size(files) < MIN_BYTES:
            return None
        read_fd, write_fd = os.pipe()
        for stream in (sys.stdout, sys.stderr):
            stream.flush()  # nothing buffered is written twice (the child never flushes; it ends with _exit)
        pid = os.fork()
        if pid == 0:  # the child
            os.close(read_fd)
            _serve(files, write_fd)
        os.close(write_fd)
        return cls(tuple(os.fspath(p) for p in paths), files, problems, pid, read_fd)

    def results(self) -> Iterator[tuple[int, str, Parsed | None]]:
        """Each file's position, path and parse, in the order the child sends them (canaries first).

        A file the child left to the parent comes with None, and so does every file it never sent.
        """
        left = dict(enumerate(self.files))
        while (frame := self._frames.get()) is not None:
            position, parsed = pickle.loads(frame)
            file = left.pop(position)
            yield position, file, parsed
        yield from ((position, file, None) for position, file in left.items())

    def close(self) -> None:
        """Stop the child if it still runs, and reap it; safe to call twice."""
        if self._read_fd is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, signal.SIGKILL)  # it holds nothing: no file it writes, no lock
        os.waitpid(self._pid, 0)
        self._drain.join()
        self._read_fd = None

    def __enter__(self) -> ParseAhead:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _drain_pipe(self) -> None:
        """Move frames from the pipe to the queue, so the child never waits for the command to read them."""
        assert self._read_fd is not None
        with open(self._read_fd, "rb", buffering=1 << 20) as pipe:
            try:
                while len(header := pipe.read(_HEADER.size)) == _HEADER.size:
                    (length,) = _HEADER.unpack(header)
                    frame = pipe.read(length)
                    if len(frame) != length:
                        break  # the child died mid-frame
                    self._frames.put(frame)
            finally:
                self._frames.put(None)


def _serve(files: list[str], write_fd: int) -> None:
    """The child: parse each file and send it, then end without running any of the parent's exit code."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends it at once; the parent reports
        with open(write_fd, "wb", buffering=1 << 20) as pipe:
            for position, file, read in canaries_first(files):
                text = read if read is not None else read_manifest(file)
                parsed = _parsed(text) if isinstance(text, str) else None
                frame = pickle.dumps((position, parsed), protocol=pickle.HIGHEST_PROTOCOL)
                pipe.write(_HEADER.pack(len(frame)))
                pipe.write(frame)
    except BaseException:  # whatever happens, the parent loads what was not sent
        code = 1
    finally:
        os._exit(code)


def _parsed(text: str) -> Parsed | None:
    """The file's documents with line maps dropped, or None to let the parent parse it (and word why)."""
    try:
        parsed = read_yaml(text)
    except Exception:  # the parent parses it again and reports as it always did
        return None
    for document in parsed.documents:
        document.lines = {}
    return Parsed(parsed, not text.strip())


def _size(files: list[str]) -> int:
    total = 0
    for file in files:
        try:
            total += os.stat(file).st_size
        except OSError:
            continue
    return total
