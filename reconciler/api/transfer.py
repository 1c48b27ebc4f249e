"""Bounds on one attempt's transfer, kept on every read from the socket.

httpx bounds each read from the socket, not their sum: a server that sends a byte just before
every read timeout keeps an attempt alive as long as it likes, in its headers or in its body. So
the client's connections read through ``WatchedStream``, which asks the ``Watch`` of the attempt
running on this thread how long the next read may wait:

- never past the attempt's end (the time per request, ``--request-timeout``): before the first
  byte of the answer this is the only bound, since a server may take that long to think;
- from the first byte on, every ``transfer_window`` seconds must bring ``min_transfer_bytes``
  (1 KiB in 3 s by default), or the attempt ends with ``TooSlow``. The window starts again when
  the headers are complete, so slow headers and a slow body are each named for what they are.

A thread runs one attempt at a time and httpcore reads on the thread that sends, so the watch is
found in a thread-local. Connections read outside an attempt (none today) are not bounded here.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore

from reconciler.api.http import httpx

__all__ = ["AttemptTimedOut", "TooSlow", "Watch", "watch_connections", "watching"]


class AttemptTimedOut(httpx.TimeoutException):
    """One attempt took longer than the time per request; retried like any timeout."""


class TooSlow(httpx.TimeoutException):
    """The answer arrived slower than the minimum transfer rate; retried once at most."""


class Watch:
    """The time and rate bounds of one attempt (see the module docstring)."""

    def __init__(self, until: float, min_bytes: int, window: float) -> None:
        self.until = until
        self.min_bytes = min_bytes
        self.window = window
        self.headers_done = False
        self._started: float | None = None  # when the current window began; None before the first byte
        self._bytes = 0  # received in the current window

    def restart(self) -> None:
        """A new request within the same attempt (its time is not renewed)."""
        self.headers_done, self._started, self._bytes = False, None, 0

    def headers_received(self) -> None:
        self.headers_done, self._started, self._bytes = True, time.monotonic(), 0

    def next_wait(self) -> float:
        """How long the next read may wait; raises when a bound is already broken."""
        now = time.monotonic()
        if now >= self.until:
            raise AttemptTimedOut("the answer took longer than the time per request")
        if self._started is None:
            return self.until - now
        end = self._started + self.window
        if now >= end:
            if self._bytes < self.min_bytes:
                what = "the body" if self.headers_done else "its response headers"
                sent = f"{self._bytes} byte" if self._bytes == 1 else f"{self._bytes} bytes"
                raise TooSlow(
                    f"the server sent {sent} of {what} in {self.window:g} s, under the minimum of "
                    f"{self.min_bytes} bytes per {self.window:g} s (RECONCILER_MIN_TRANSFER_BYTES, "
                    "RECONCILER_TRANSFER_WINDOW); giving up"
                )
            self._started, self._bytes, end = now, 0, now + self.window
        return min(self.until, end) - now

    def received(self, count: int) -> None:
        if self._started is None:
            self._started = time.monotonic()
        self._bytes += count


_local = threading.local()


@contextmanager
def watching(watch: Watch) -> Iterator[Watch]:
    """Reads on this thread keep ``watch``'s bounds while the block runs."""
    previous: Watch | None = getattr(_local, "watch", None)
    _local.watch = watch
    try:
        yield watch
    finally:
        _local.watch = previous


def _current() -> Watch | None:
    watch: Watch | None = getattr(_local, "watch", None)
    return watch


class WatchedStream(httpcore.NetworkStream):
    """A connection whose reads and writes keep the bounds of the attempt on this thread."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        watch = _current()
        if watch is None:
            return self._stream.read(max_bytes, timeout)
        while True:
            wait = watch.next_wait()
            try:
                data = self._stream.read(max_bytes, wait if timeout is None else min(timeout, wait))
            except httpcore.ReadTimeout:
                if timeout is not None and timeout <= wait:
                    raise  # the read timeout httpx asked for
                continue  # the watch's own bound came first: next_wait says whether the attempt ends
            watch.received(len(data))
            return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        watch = _current()
        if watch is not None:
            left = watch.until - time.monotonic()
            if left <= 0:
                raise AttemptTimedOut("the request took longer than the time per request to send")
            timeout = left if timeout is None else min(timeout, left)
        self._stream.write(buffer, timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return WatchedStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class WatchedBackend(httpcore.NetworkBackend):
    """Opens connections as the wrapped backend does, each behind a ``WatchedStream``."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        return WatchedStream(self._backend.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        return WatchedStream(self._backend.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def watch_connections(client: httpx.Client) -> None:
    """Put every connection ``client`` opens, directly or through a proxy, behind a ``WatchedStream``.

    httpx offers no public way to give its default transport (and the proxy transports it builds
    from the environment) a network backend, so this reaches the backend of each transport's
    httpcore pool. Where an httpx version keeps them elsewhere nothing changes: the time per
    request is still checked between body chunks, and tests/test_hostile_server.py fails.
    """
    transports = [getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, httpcore.NetworkBackend):
            setattr(pool, "_network_backend", WatchedBackend(backend))  # noqa: B010 (a private attribute)
