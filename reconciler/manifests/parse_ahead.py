"""Load the manifests in a forked child while the command imports, reads the account and plans.

Why: a plan is CPU-bound and every thread of it shares one GIL, so reading and validating YAML
delayed the account's reads and everything after them. A child forked at the start of the command
loads every file on the second core, canary files first, and streams back what each file holds:
its resources (without line maps, read again from the file when needed, as after any load) or its
problems with their lines. The command takes them as they arrive, so the reads start as early as
before and no longer wait for the GIL.

Everything stays as without it: each file is loaded by the same code (``loader.load_alone``), and
ordering, cross-document checks and messages are the command's. A file the child could not load,
or every file after the child died, is loaded by the command itself.

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
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from reconciler.errors import ManifestProblem
from reconciler.manifests.discovery import manifest_files
from reconciler.manifests.files import file_size

if TYPE_CHECKING:
    from reconciler.manifests.loader import FileLoad

__all__ = ["MIN_BYTES", "ParseAhead"]

MIN_BYTES = 512 * 1024
"""Trees smaller than this are parsed in the command's own process: a fork would cost more than it saves."""

_HEADER = struct.Struct("!Q")


class ParseAhead:
    """The child loading ``files`` and the thread draining its pipe; use ``start`` to make one."""

    def __init__(self, paths: tuple[str, ...], var_files: tuple[str, ...], files: list[str],
                 problems: list[ManifestProblem], pid: int, read_fd: int) -> None:
        self.paths = paths
        self.var_files = var_files
        self.files = files
        self.problems = problems
        self._pid = pid
        self._read_fd: int | None = read_fd
        self.delivered = 0  # files the child loaded and the command took
        self._frames: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._drain = threading.Thread(target=self._drain_pipe, name="parse-ahead", daemon=True)
        self._drain.start()

    @classmethod
    def start(cls, paths: Sequence[str | Path], environ: Mapping[str, str], var_files: Sequence[str | Path] = (),
              config: Path | None = None, *, force: bool = False) -> ParseAhead | None:
        """Fork the loading child, or None where that is not safe or not worth it (``force``: tests).

        ``environ``, ``var_files`` and ``config`` (the project file, None: found as ``load_project``
        finds it) are those the command loads with: the child interpolates and checks as it would.
        """
        if not force and (sys.platform != "linux" or threading.active_count() != 1):
            return None
        problems: list[ManifestProblem] = []
        files = manifest_files(paths, problems)
        if not force and sum(map(file_size, files)) < MIN_BYTES:
            return None
        for stream in (sys.stdout, sys.stderr):
            stream.flush()  # nothing buffered is written twice (the child never flushes; it ends with _exit)
        try:
            read_fd, write_fd = os.pipe()
        except OSError:  # out of file descriptors: load in this process
            return None
        try:
            pid = os.fork()
        except OSError:  # a process limit, no memory to copy the page tables: load in this process
            os.close(read_fd)
            os.close(write_fd)
            return None
        if pid == 0:  # the child
            os.close(read_fd)
            # Only its pipe: an inherited descriptor would keep the stack's lock (a flock) or a pipe the
            # command closes to say it is done open for as long as the child lives.
            os.closerange(3, write_fd)
            os.closerange(write_fd + 1, os.sysconf("SC_OPEN_MAX"))
            _serve(files, environ, [Path(v) for v in var_files], config, write_fd)
        os.close(write_fd)
        return cls(tuple(os.fspath(p) for p in paths), tuple(os.fspath(v) for v in var_files), files, problems,
                   pid, read_fd)

    def results(self) -> Iterator[tuple[int, str, FileLoad | None]]:
        """Each file's position, path and what loading it found, in the order the child sends them.

        A file the child left to the parent comes with None, and so does every file it never sent.
        """
        left = dict(enumerate(self.files))
        while (frame := self._frames.get()) is not None:
            try:
                position, loaded = pickle.loads(frame)
                file = left.pop(position)
            except Exception:  # never expected; if it happens, the command loads the rest itself
                break
            if loaded is not None:
                self.delivered += 1
            yield position, file, loaded
        self.close()  # the child is done: reap it now, not when the command ends
        yield from ((position, file, None) for position, file in left.items())

    def close(self) -> None:
        """Stop the child if it still runs, and reap it; safe to call twice."""
        if self._read_fd is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, signal.SIGKILL)  # it holds nothing: no file it writes, no lock
        with contextlib.suppress(ChildProcessError):  # already reaped elsewhere
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


def _serve(files: list[str], environ: Mapping[str, str], var_files: list[Path], config: Path | None,
           write_fd: int) -> None:
    """The child: load each file and send it, then end without running any of the parent's exit code."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends it at once; the parent reports
        from reconciler.manifests.discovery import canaries_first, read_manifest
        from reconciler.manifests.environment import load_environment
        from reconciler.manifests.loader import load_alone
        from reconciler.manifests.project import load_project

        environment = load_environment(var_files) if var_files else None
        project = load_project(config)
        with open(write_fd, "wb", buffering=1 << 20) as pipe:
            for position, file, read in canaries_first(files, kept_chars=0):  # memory counts twice here
                try:
                    text = read if read is not None else read_manifest(file)
                    loaded = load_alone(file, text, position, environ, environment, project)
                    frame = pickle.dumps((position, loaded), protocol=pickle.HIGHEST_PROTOCOL)
                except Exception:  # the parent loads it again, and reports what it finds as it always did
                    frame = pickle.dumps((position, None), protocol=pickle.HIGHEST_PROTOCOL)
                pipe.write(_HEADER.pack(len(frame)))
                pipe.write(frame)
    except BaseException:  # a bad var or project file, a closed pipe: the parent loads what was not sent
        code = 1
    finally:
        os._exit(code)
