"""Serve the emulator over real HTTP with uvicorn: in a background thread, or blocking for the CLI.

Why: tests, `--local` and `reconciler emulator` all need a real socket (the SDK and our client talk HTTP),
started quickly on a free port and stopped without leaking threads.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, NoReturn

import uvicorn

from reconciler.emulator.app import ApiGate, create_app, faults_report
from reconciler.emulator.routes import API_PREFIX
from reconciler.emulator.run_control import DEFAULT_RUN_SECONDS
from reconciler.emulator.store import Store

STARTUP_TIMEOUT_S = 10.0
PREVIOUS_RUN_WAIT_S = 10.0
"""How long ``--local``'s emulator waits for the state file's lock an earlier one still holds while saving."""


class EmulatorServer:
    """A running emulator on 127.0.0.1 (port 0 picks a free one); use as a context manager."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        state_file: Path | str | None = None,
        latency_ms: int = 0,
        fault_rate: float = 0.0,
        seed: int | None = None,
        fault_kinds: Sequence[str] | None = None,
        retry_after_s: float = 1.0,
        unknown_fields: str = "keep",
        test_run_seconds: float = DEFAULT_RUN_SECONDS,
        rate_limit: float | None = None,
        lock_wait_s: float = 0.0,
    ) -> None:
        """``rate_limit``: requests per second per API key before 429s (ratelimit.py); None: no limit."""
        self.host = host
        self._requested_port = port
        self.store = Store(Path(state_file) if state_file is not None else None, test_run_seconds, lock_wait_s)
        try:
            self.app: ApiGate = create_app(
                api_key=api_key,
                store=self.store,
                latency_ms=latency_ms,
                fault_rate=fault_rate,
                seed=seed,
                fault_kinds=fault_kinds,
                retry_after_s=retry_after_s,
                unknown_fields=unknown_fields,
                rate_limit=rate_limit,
            )
        except BaseException:
            self.store.close()
            raise
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def root_url(self) -> str:
        """http://HOST:PORT, where /_emulator/stats lives."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The API base URL to give the SDK or our client (…/v2)."""
        return self.root_url + API_PREFIX

    def start(self) -> EmulatorServer:
        """Start serving and return once the socket accepts connections."""
        if self._thread is not None:
            raise RuntimeError("emulator already started")
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self._requested_port,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name=f"emulator-{id(self):x}", daemon=True)
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"emulator failed to start on {self.host}:{self._requested_port}")
            time.sleep(0.005)
        self.port = int(server.servers[0].sockets[0].getsockname()[1])
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for its thread; safe to call twice."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            self.store.close()
            return
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT_S)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout=STARTUP_TIMEOUT_S)
        self._server = self._thread = None
        self.store.close()

    def stats(self) -> dict[str, Any]:
        """Request counts: {"total", "writes", "by_route": {"METHOD /v2/template": n}}."""
        return self.app.stats.snapshot()

    def reset_stats(self) -> None:
        """Zero the request and injected-fault counters."""
        self.app.stats.reset()

    def set_faults(
        self,
        rate: float,
        seed: int | None = None,
        latency_ms: int | None = None,
        kinds: Sequence[str] | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        """Change fault injection while serving, e.g. seed an account fault-free, then switch faults on.

        `rate`, `seed` (None: the fixed default) and `kinds` (None: all) are replaced and the outcome
        sequence restarts from the seed; `latency_ms` and `retry_after_s` left as None keep their value.
        Same as `PUT /_emulator/faults`.
        """
        self.app.faults.set_faults(rate, seed=seed, latency_ms=latency_ms, kinds=kinds, retry_after_s=retry_after_s)

    def set_rate_limit(self, per_s: float | None, burst: float | None = None) -> None:
        """A token bucket per API key (None: off); every key starts full. Same as `token_bucket` in
        `PUT /_emulator/faults`."""
        self.app.faults.buckets.configure(per_s, burst)

    def faults(self) -> dict[str, Any]:
        """The fault settings and injected counts by kind, as `GET /_emulator/faults` answers."""
        return faults_report(self.app.faults, self.app.stats)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def run_emulator(
    host: str = "127.0.0.1",
    port: int = 4010,
    api_key: str | None = None,
    state_file: Path | str | None = None,
    latency_ms: int = 0,
    fault_rate: float = 0.0,
    seed: int | None = None,
    *,
    on_ready: Callable[[str], None] | None = None,
    unknown_fields: str = "keep",
    test_run_seconds: float = DEFAULT_RUN_SECONDS,
    rate_limit: float | None = None,
    exit_with_parent: bool = False,
) -> None:
    """Serve until Ctrl-C or SIGTERM. on_ready receives the base URL once the port is bound.

    ``exit_with_parent`` (``--local``'s child): serve until stdin reaches EOF instead, which happens
    when the parent closes its end or dies, even by SIGKILL; SIGINT is ignored, so a Ctrl-C leaves
    the parent to finish its work before it lets the emulator go. Then the state is saved and the
    process ends at once (``_exit_now``): this function does not return.

    Raises ValueError for fault or latency settings out of range, before binding the port.
    """
    stop = threading.Event()

    def _request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, _request_stop)
    previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN) if exit_with_parent else None
    if exit_with_parent:
        threading.Thread(target=_set_at_eof, args=(stop,), name="emulator-parent", daemon=True).start()
    try:
        with EmulatorServer(
            host=host,
            port=port,
            api_key=api_key,
            state_file=state_file,
            # --local's child: an earlier --local run killed with -9 may still be saving (its emulator
            # folds the journal once it sees EOF); wait for it rather than say "in use" at once.
            lock_wait_s=PREVIOUS_RUN_WAIT_S if exit_with_parent else 0.0,
            latency_ms=latency_ms,
            fault_rate=fault_rate,
            seed=seed,
            unknown_fields=unknown_fields,
            test_run_seconds=test_run_seconds,
            rate_limit=rate_limit,
        ) as server:
            if on_ready is not None:
                on_ready(server.base_url)
            try:
                while not stop.wait(0.5):
                    pass
            except KeyboardInterrupt:
                pass
            if exit_with_parent:
                _exit_now(server)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if previous_int is not None:
            signal.signal(signal.SIGINT, previous_int)


def _exit_now(server: EmulatorServer) -> NoReturn:
    """Save the state and release its lock, then end the process without uvicorn's graceful stop.

    Why: the parent waits for this exit at the end of every ``--local`` command, and nobody is left to
    serve (it closed its connections before the pipe, or it is dead), yet uvicorn's stop waits 100-200 ms
    on its ticks and the interpreter's teardown takes about 110 ms more. The store stays locked until
    the exit, so no request still running can write after the state file was released.
    """
    with server.store.closed_for_good():
        for stream in (sys.stdout, sys.stderr):
            with suppress(OSError, ValueError):
                stream.flush()
        os._exit(0)


def _set_at_eof(stop: threading.Event) -> None:
    """Set ``stop`` once stdin has nothing more to give: the parent closed the pipe or is gone."""
    try:
        fd = sys.stdin.fileno()
        while os.read(fd, 65536):
            pass
    except (AttributeError, OSError, ValueError):  # no stdin at all counts as a parent already gone
        pass
    stop.set()
