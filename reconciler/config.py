"""Where to connect: flags, environment, or the embedded emulator behind ``--local``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from reconciler.api.limits import Limits
from reconciler.errors import ConfigError

if TYPE_CHECKING:  # the client imports httpx: only a command that connects pays for it (issue 18)
    from reconciler.api.client import TelnyxClient

LOCAL_STATE = Path(".reconciler") / "local-state.json"
LOCAL_API_KEY = "local-emulator-key"
LOCAL_START_TIMEOUT_S = 30.0
"""How long ``--local`` waits for its emulator's URL: Python's start, the emulator's imports, loading its state."""
LOCAL_STOP_TIMEOUT_S = 30.0
"""How long ``--local`` waits for its emulator to stop: folding a large journal into the state file takes a while."""
DEFAULT_PARALLELISM = 16
"""Requests in flight at most (``--parallelism``); writes use half (``Connection.write_parallelism``).

Measured: a no-change plan of 1000 assistants at 50 ms waits on 200 canary reads, 25 round trips at
8 in flight and 13 at 16 (3.4-3.9 s against 2.6-3.2 s end to end), while 8 writes at once kept an
apply within 1.35x of its bound. A read changes nothing, so more of them at once risk no more than
a 429, which halves the number in flight."""


@dataclass(frozen=True)
class Connection:
    """Resolved connection settings; ``repr`` never shows the key."""

    base_url: str
    api_key: str | None = field(repr=False)
    local: bool = False
    parallelism: int = DEFAULT_PARALLELISM
    limits: Limits = field(default_factory=Limits)
    emulator: LocalEmulator | None = field(default=None, repr=False, compare=False)
    """``--local``'s emulator when the command started it early (``open_client`` starts one otherwise)."""

    @property
    def write_parallelism(self) -> int:
        """Writes in flight at most: half of ``parallelism`` (reads use all of it); 1 stays 1."""
        return max(1, self.parallelism // 2)

    @property
    def account(self) -> str:
        """A non-secret name for the account: the API host and a short digest of the key.

        Saved plans and ledgers record it so that they refuse another account. The digest is
        one-way and cut to 12 hex digits, so it identifies a key without revealing it; a key
        rotation therefore looks like another account (plan again).
        """
        import hashlib  # OpenSSL's start costs 5-10 ms: only a command that names the account pays (issue 18)

        if self.local:
            return "local emulator"
        parts = urlsplit(self.base_url)
        host = f"{parts.hostname}:{parts.port}" if parts.port else (parts.hostname or "?")  # never userinfo
        key = hashlib.sha256(f"reconciler-account:{self.api_key or ''}".encode()).hexdigest()[:12]
        return f"{host} key:{key}"

    @classmethod
    def resolve(
        cls, base_url: str | None, api_key: str | None, local: bool, parallelism: int,
        limits: Limits | None = None, emulator: LocalEmulator | None = None,
    ) -> Connection:
        """Flags win over ``TELNYX_BASE_URL`` / ``TELNYX_API_KEY``, which win over defaults."""
        from reconciler.api.client import DEFAULT_BASE_URL

        return cls(
            base_url=base_url or os.environ.get("TELNYX_BASE_URL") or DEFAULT_BASE_URL,
            api_key=api_key or os.environ.get("TELNYX_API_KEY"),
            local=local,
            parallelism=max(1, parallelism),
            limits=limits if limits is not None else Limits.from_env(),
            emulator=emulator if local else None,
        )


@contextmanager
def open_client(connection: Connection) -> Iterator[TelnyxClient]:
    """A client for the connection; with ``--local`` the emulator runs for the client's lifetime."""
    if connection.local:
        emulator = connection.emulator  # started by the command, or else now: first, to overlap the imports
        if emulator is None or emulator.closed:
            emulator = LocalEmulator()
        try:
            from reconciler.api.client import TelnyxClient

            with TelnyxClient(emulator.base_url(), LOCAL_API_KEY, max_connections=connection.parallelism,
                              limits=connection.limits) as client:
                yield client
        except BaseException:
            emulator.close(failing=True)
            raise
        emulator.close()
        return
    from reconciler.api.client import TelnyxClient

    with TelnyxClient(
        connection.base_url,
        connection.api_key or "",
        max_connections=connection.parallelism,
        limits=connection.limits,
    ) as client:
        yield client


class LocalEmulator:
    """``--local``'s emulator: ``reconciler emulator --exit-with-parent`` in a child process.

    Why a process: in a thread of ours the emulator's CPU and the client's shared one GIL (issue 18,
    ``apply --local`` up to 1.76x a standalone emulator). The child stops, saving its state and releasing
    the state file's lock, when its stdin reaches EOF: when ``close`` closes the pipe, or when this process
    dies in any way, SIGKILL included. It has its own process group, so a Ctrl-C in the terminal reaches
    only us, and the emulator serves until we are done handling it. Its stderr goes to an
    unnamed temporary file: it never mixes with our output or blocks on a full pipe, and a start-up error
    (a damaged or locked state file) is read back from it for the message.
    """

    def __init__(self) -> None:
        import subprocess
        import sys
        import tempfile
        import threading

        LOCAL_STATE.parent.mkdir(parents=True, exist_ok=True)
        # -P: the working directory is not put first on the path, or a user's own reconciler/ (or any
        # package of that name where the command runs) would be imported and run instead of ours.
        argv = [sys.executable, "-P", "-m", "reconciler", "emulator", "--host", "127.0.0.1", "--port", "0",
                "--api-key", LOCAL_API_KEY, "--state", str(LOCAL_STATE), "--exit-with-parent"]
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close(), which open_client always calls
        try:
            self._child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._errors,
                                           process_group=0)
        except OSError as exc:
            self._errors.close()
            raise ConfigError(f"--local: cannot start the embedded emulator: {exc}") from None
        self._line = b""
        self._arrived = threading.Event()
        self._reader = threading.Thread(target=self._read, name="local-emulator", daemon=True)
        self._reader.start()
        self._reported = False  # a failure already raised as ConfigError is not reported again on close
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def _read(self) -> None:
        """The ready line, then the rest of stdout (nothing is expected), so the child never blocks on it."""
        stdout = self._child.stdout
        assert stdout is not None
        self._line = stdout.readline()
        self._arrived.set()
        stdout.read()

    def base_url(self) -> str:
        """Wait for the child's ready line; ConfigError with its own message if it stopped instead."""
        import subprocess

        arrived = self._arrived.wait(LOCAL_START_TIMEOUT_S)
        line = self._line.decode(errors="replace").strip()
        if line.startswith("http://"):
            return line
        self._reported = True
        if not arrived:
            self._child.kill()
            raise ConfigError(f"--local: the embedded emulator did not start within {LOCAL_START_TIMEOUT_S:.0f} s")
        try:
            status = self._wait()
        except subprocess.TimeoutExpired:  # it closed its stdout but lives on: not ours any more
            self._child.kill()
            raise ConfigError("--local: the embedded emulator closed its output without starting") from None
        raise ConfigError(f"--local: {self._failure(status) or 'the embedded emulator exited without starting'}")

    def close(self, failing: bool = False) -> None:
        """Close the child's stdin and wait for it to save and stop; kill it only if it does not.

        A child that failed is an error (ConfigError), or a warning on stderr when ``failing``: an
        exception of the command is on its way and is the one to show. A second call does nothing.
        """
        import subprocess
        import sys

        if self._closed:
            return
        self._closed = True
        child = self._child
        assert child.stdin is not None
        with suppress(OSError):
            child.stdin.close()  # the child's cue to stop
        stopped_late = False
        try:
            problem = self._failure(self._wait())
        except subprocess.TimeoutExpired:
            stopped_late = True
            child.kill()
            child.wait()
            problem = (f"the embedded emulator did not stop within {LOCAL_STOP_TIMEOUT_S:.0f} s and was killed "
                       f"(its journal keeps every write it acknowledged)")
        finally:
            self._reader.join(LOCAL_STOP_TIMEOUT_S)
            assert child.stdout is not None
            child.stdout.close()
            self._errors.close()
        if not problem or self._reported:
            return
        self._reported = True
        if failing or stopped_late:  # the command's own error is the one to show; a late stop lost nothing
            from reconciler.redact import known, mask_text

            sys.stderr.write(mask_text(f"Warning: --local: {problem}", known()) + "\n")  # the child's last words
            return
        raise ConfigError(f"--local: {problem}")

    def _wait(self) -> int:
        return self._child.wait(LOCAL_STOP_TIMEOUT_S)

    def _failure(self, status: int) -> str:
        """'' for a clean exit; else the child's ``Error:`` message, or the last line it printed."""
        if status == 0:
            return ""
        self._errors.seek(0)
        lines = [line.strip() for line in self._errors.read().decode(errors="replace").splitlines() if line.strip()]
        said = next((line.removeprefix("Error: ") for line in reversed(lines) if line.startswith("Error: ")), None)
        if said is not None:
            return said
        if status < 0:
            import signal

            with suppress(ValueError):
                return f"the embedded emulator was killed by {signal.Signals(-status).name}"
        last = f": {lines[-1]}" if lines else ""
        return f"the embedded emulator failed (exit status {status}){last}"
