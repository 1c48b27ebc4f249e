"""Seeded, replayable fault injection for /v2 requests (design.md section 5).

Why: the client's retry policy (reconciler/client.py) must be tested against the failures a real API
produces — throttling, 5xx, dropped connections and, worst of all, writes that commit but lose their
answer — and a failing test must be replayable, so every decision comes from one seeded generator.

One `random.Random(seed)` draw per /v2 request, in arrival order, decides everything about that
request: whether it fails (draw < rate), which enabled kind, and the kind's detail (the latency
jitter, the 5xx status). The same seed and the same request order therefore give the same outcomes.
"""

from __future__ import annotations

import asyncio
import math
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reconciler.emulator.errors import ServerError, TooManyRequests, error_response
from reconciler.emulator.ratelimit import TokenBuckets
from reconciler.emulator.stats import READ_METHODS

LATENCY = "latency"
RATE_LIMIT = "rate_limit"
SERVER_ERROR = "server_error"
DROP = "drop"
LOST_RESPONSE = "lost_response"
FAULT_KINDS: tuple[str, ...] = (LATENCY, RATE_LIMIT, SERVER_ERROR, DROP, LOST_RESPONSE)

DEFAULT_SEED = 0  # seed=None still gives a reproducible run
JITTER_MS = 20  # the `latency` fault adds up to this much on top of latency_ms
SERVER_ERROR_STATUSES = (500, 502, 503)
_DISCONNECT_SPINS = 100  # event-loop turns to wait for uvicorn to notice a closed transport

_SERVER_ERROR_DETAILS = {
    500: "The server hit an unexpected error (injected by the emulator)",
    502: "An upstream service answered badly (injected by the emulator)",
    503: "The service is temporarily unavailable (injected by the emulator)",
}


class ConnectionDropped(Exception):
    """Raised when the server under the app exposes no transport to close (not uvicorn, e.g. a TestClient)."""


@dataclass(frozen=True)
class FaultConfig:
    """What the injector does now; `kinds` is never empty and `seed` is the effective one."""

    rate: float = 0.0
    seed: int = DEFAULT_SEED
    kinds: tuple[str, ...] = FAULT_KINDS
    latency_ms: int = 0
    retry_after_s: float = 1.0

    def as_json(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "seed": self.seed,
            "kinds": list(self.kinds),
            "latency_ms": self.latency_ms,
            "retry_after_s": self.retry_after_s,
        }


@dataclass(frozen=True)
class Decision:
    """The outcome drawn for one request: `kind` None means no fault; `delay_s` always applies."""

    kind: str | None
    delay_s: float
    status: int = 0


def make_config(
    rate: float,
    seed: int | None = None,
    kinds: Sequence[str] | None = None,
    latency_ms: int = 0,
    retry_after_s: float = 1.0,
) -> FaultConfig:
    """Validate settings (ValueError with a readable message) and fill the defaults."""
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise ValueError(f"fault_rate must be between 0 and 1, got {rate!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    if isinstance(latency_ms, bool) or not isinstance(latency_ms, int) or latency_ms < 0:
        raise ValueError(f"latency_ms must be a non-negative integer, got {latency_ms!r}")
    if (
        isinstance(retry_after_s, bool)
        or not isinstance(retry_after_s, int | float)
        or not 0 < retry_after_s <= 60
    ):
        raise ValueError(f"retry_after_s must be above 0 and at most 60, got {retry_after_s!r}")
    if kinds is None:
        chosen = FAULT_KINDS
    else:
        if isinstance(kinds, str) or not all(isinstance(k, str) for k in kinds):
            raise ValueError("kinds must be a list of fault kind names")
        unknown = sorted(set(kinds) - set(FAULT_KINDS))
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; known: {list(FAULT_KINDS)}")
        if not kinds:
            raise ValueError("kinds must name at least one fault kind (use rate 0 for none)")
        chosen = tuple(k for k in FAULT_KINDS if k in kinds)  # canonical order keeps draws stable
    return FaultConfig(
        rate=float(rate),
        seed=DEFAULT_SEED if seed is None else seed,
        kinds=chosen,
        latency_ms=latency_ms,
        retry_after_s=float(retry_after_s),
    )


class FaultInjector:
    """Draws one decision per /v2 request and plays it out around the rest of the app."""

    def __init__(self, config: FaultConfig) -> None:
        self._lock = threading.Lock()
        self._config = config
        self._rng = random.Random(config.seed)
        self.buckets = TokenBuckets()  # the load-dependent 429s (ratelimit.py), off until configured

    @property
    def config(self) -> FaultConfig:
        with self._lock:
            return self._config

    def configure(self, config: FaultConfig, *, reseed: bool = True) -> None:
        """Swap the settings; a reseed restarts the outcome sequence from `config.seed`."""
        with self._lock:
            self._config = config
            if reseed:
                self._rng = random.Random(config.seed)

    def set_faults(
        self,
        rate: float,
        seed: int | None = None,
        latency_ms: int | None = None,
        kinds: Sequence[str] | None = None,
        retry_after_s: float | None = None,
    ) -> FaultConfig:
        """Replace rate, seed and kinds (None: the defaults) and restart the sequence; None keeps the rest."""
        current = self.config
        config = make_config(
            rate,
            seed,
            kinds,
            current.latency_ms if latency_ms is None else latency_ms,
            current.retry_after_s if retry_after_s is None else retry_after_s,
        )
        self.configure(config)
        return config

    def decide(self, method: str) -> Decision:
        """One draw, in arrival order; a read never gets `lost_response` (it becomes a `drop`)."""
        with self._lock:
            config = self._config
            base_s = config.latency_ms / 1000
            if config.rate <= 0:
                return Decision(None, base_s)
            draw = self._rng.random()
        if draw >= config.rate:
            return Decision(None, base_s)
        scaled = draw / config.rate * len(config.kinds)  # in [0, len(kinds))
        index = min(int(scaled), len(config.kinds) - 1)
        detail = scaled - index  # in [0, 1), independent of which kind was picked
        kind = config.kinds[index]
        if kind == LATENCY:
            return Decision(kind, base_s + detail * JITTER_MS / 1000)
        if kind == SERVER_ERROR:
            status = SERVER_ERROR_STATUSES[min(int(detail * 3), 2)]
            return Decision(kind, base_s, status)
        if kind == LOST_RESPONSE and method in READ_METHODS:
            return Decision(DROP, base_s)
        return Decision(kind, base_s)

    async def play(self, decision: Decision, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        """Run `app` as the decision says (the delay has been applied already)."""
        kind = decision.kind
        if kind is None or kind == LATENCY:
            await app(scope, receive, send)
        elif kind == RATE_LIMIT:
            await _drain(receive)
            await self._rate_limited()(scope, receive, send)
        elif kind == SERVER_ERROR:
            await _drain(receive)
            error = ServerError(decision.status, _SERVER_ERROR_DETAILS[decision.status])
            await error_response(error)(scope, receive, send)
        elif kind == DROP:
            await _drain(receive)
            await drop_connection(send)
        else:  # LOST_RESPONSE: the write runs and commits; only its answer is lost
            await app(scope, receive, _swallow)
            await drop_connection(send)

    def _rate_limited(self) -> JSONResponse:
        """429 in Telnyx's error shape; Retry-After in whole seconds plus retry-after-ms for precision."""
        return too_many_requests(self.config.retry_after_s, "Rate limit exceeded (injected by the emulator)")

    async def limited(self, key: str, receive: Receive) -> JSONResponse | None:
        """The 429 to answer when key's token bucket is empty (the body is read first), else None."""
        wait = self.buckets.take(key)
        if wait is None:
            return None
        await _drain(receive)
        return too_many_requests(wait, "Rate limit exceeded: this API key sends faster than the emulator's limit")


def too_many_requests(wait: float, detail: str) -> JSONResponse:
    """429 with Retry-After in whole seconds (at least 1) and retry-after-ms (at least 1) for precision."""
    headers = {"Retry-After": str(max(1, math.ceil(wait))), "retry-after-ms": str(max(1, math.ceil(wait * 1000)))}
    return error_response(TooManyRequests(detail), headers)


async def _drain(receive: Receive) -> None:
    """Read the request body so the connection is in a clean state whatever we answer."""
    for _ in range(1_000_000):  # bounded: one message per chunk of the body
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def _swallow(message: Message) -> None:
    """A `send` that discards the response of a write whose answer is to be lost."""


async def drop_connection(send: Send) -> None:
    """Close the client's connection without sending a byte of response.

    Why this way: uvicorn answers an exception raised before `http.response.start` with a 500, and
    one raised after it with a half-sent response, so neither is a silent drop. Its `send` is a bound
    method of the request cycle, which holds the connection's transport; closing that makes the client
    see the peer hang up (httpx: RemoteProtocolError "Server disconnected without sending a
    response"). We then let the loop turn until uvicorn has seen the disconnect, so it neither sends
    a 500 on the closed socket nor logs a complaint.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(transport, "close"):
        raise ConnectionDropped("fault injection dropped the connection")
    transport.close()
    for _ in range(_DISCONNECT_SPINS):
        if getattr(cycle, "disconnected", True):
            return
        await asyncio.sleep(0)
