"""The stack lock: one apply (or ``export --adopt``, ``import --adopt``) of a stack at a time.

Two runs of one stack that overlap both plan against the same live state, both create, and the
last one to write the ownership ledger drops what the other recorded. The lock serialises them:
it is taken before live state is read and held until the ledger is written, so the plan is always
computed under the lock.

The lock file sits beside the ledger (``ownership-<stack>.json`` -> ``ownership-<stack>.lock``).
The lock itself is an OS advisory lock (``flock``) on that file: the OS drops it when the holder
exits, however it exits, so a crashed run never leaves a stuck lock. The file also carries who
holds it (user, host, pid, start time, command), only to say so in the refusal; a later holder
overwrites it. A stack with no ``stack:`` has no ledger and takes no lock.
"""

from __future__ import annotations

import errno
import fcntl
import getpass
import json
import os
import re
import socket
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from reconciler.errors import ReconcilerError

POLL_SECONDS = 0.1
_DURATION = re.compile(r"(\d{1,7})(s|m|h)?")
_UNIT = {None: 1, "s": 1, "m": 60, "h": 3600}


class StackLocked(ReconcilerError):
    """Another run holds the stack lock (and did not release it within --lock-timeout)."""


def parse_duration(text: str) -> float:
    """``90`` or ``90s`` -> 90.0, ``5m`` -> 300.0, ``1h`` -> 3600.0; anything else is a ValueError."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration: use seconds (90) or a whole number with s, m or h "
                         "(30s, 5m, 1h)")
    return float(int(match.group(1)) * _UNIT[match.group(2)])


def lock_path(ledger_path: Path) -> Path:
    """The lock file of the stack whose ownership ledger is ``ledger_path``."""
    return ledger_path.with_suffix(".lock")


@dataclass(frozen=True)
class Holder:
    """Who holds the lock, as written into the lock file."""

    user: str
    host: str
    pid: int
    started: str
    command: str = ""

    @classmethod
    def me(cls, command: str) -> Holder:
        started = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        return cls(_user(), socket.gethostname(), os.getpid(), started, command)

    def is_stale(self) -> bool:
        """True when it names this host and a process that no longer runs."""
        return self.host == socket.gethostname() and not _running(self.pid)

    def describe(self) -> str:
        what = f"{self.command} " if self.command else ""
        return f"{what}by {self.user} on {self.host}, pid {self.pid}, since {self.started}"


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (some containers)
        return f"uid {os.getuid()}"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def read_holder(path: Path) -> Holder | None:
    """The holder info in a lock file, or None when it has none (free, or its holder is starting)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Holder(str(data["user"]), str(data["host"]), int(data["pid"]), str(data["started"]),
                      str(data.get("command", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _refusal(stack: str, path: Path, waited: float | None) -> StackLocked:
    holder = None
    for _ in range(10):  # a holder that has just taken the lock writes its info a moment later
        holder = read_holder(path)
        if holder is not None:
            break
        time.sleep(0.05)
    who = holder.describe() if holder is not None else "by a run that left no holder info"
    stale = ""
    if holder is not None and holder.is_stale():
        stale = (f" (stale holder info: pid {holder.pid} is not running, yet a process still holds "
                 "the file locked, e.g. one it started)")
    after = (f"; gave up after waiting {waited:g}s" if waited
             else "; try again later, or wait with --lock-timeout DURATION")
    return StackLocked(f"stack {stack!r} is locked: {who}{stale}; lock file {path}{after}")


@contextmanager
def stack_lock(stack: str, path: Path, timeout: float = 0.0, command: str = "",
               poll: float = POLL_SECONDS) -> Iterator[Holder]:
    """Hold the lock of ``stack`` (lock file ``path``) for the block; wait up to ``timeout`` seconds.

    Raises StackLocked naming the holder when it is still held after ``timeout`` (0: fail at once).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        deadline = time.monotonic() + timeout
        while not _try_flock(fd):
            if time.monotonic() >= deadline:
                raise _refusal(stack, path, timeout)
            time.sleep(min(poll, max(0.0, deadline - time.monotonic())))
        holder = Holder.me(command)
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(asdict(holder)) + "\n").encode(), 0)
        try:
            yield holder
        finally:
            os.ftruncate(fd, 0)  # free again: no holder info left behind on a clean exit
    finally:
        os.close(fd)  # closing the last descriptor releases the flock


def lock_for(stack: str | None, ledger_path: Path | None, timeout: float,
             command: str) -> AbstractContextManager[Holder | None]:
    """The stack lock beside its ledger; no stack means no ledger to protect, so no lock."""
    if not stack or ledger_path is None:
        return nullcontext()
    return stack_lock(stack, lock_path(ledger_path), timeout, command)
