"""The emulator's ASGI app: the route table behind a gate for stats, latency, faults and auth; error bodies.

Why: cross-cutting HTTP behaviour lives here; handlers (handlers.py, library.py) translate requests to
store calls, and the Telnyx error shapes are rendered in one place.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from reconciler.api.json_body import NotJson, loads_json
from reconciler.emulator import run_control
from reconciler.emulator.errors import (
    BadRequest,
    EmulatorHTTPError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    Unprocessable,
    error_response,
)
from reconciler.emulator.faults import FAULT_KINDS, FaultInjector, make_config
from reconciler.emulator.parsing import MAX_BODY_BYTES, control_json, too_large
from reconciler.emulator.ratelimit import TokenBuckets
from reconciler.emulator.routes import API_PREFIX, API_ROUTES
from reconciler.emulator.stats import RequestStats
from reconciler.emulator.store import Store

STATS_PATH = "/_emulator/stats"
FAULTS_PATH = "/_emulator/faults"
TEST_RUNS_PATH = "/_emulator/test-runs"
FAULT_SETTINGS = frozenset({"rate", "seed", "latency_ms", "kinds", "retry_after_s", "token_bucket"})
_CONVERTER = re.compile(r"\{(\w+):\w+\}")  # "{tag:path}" is counted as "{tag}"
JSON = dict[str, Any]


async def get_stats(request: Request) -> Response:
    stats: RequestStats = request.app.state.stats
    return JSONResponse(stats.snapshot())


async def reset_stats(request: Request) -> Response:
    stats: RequestStats = request.app.state.stats
    stats.reset()
    return JSONResponse(stats.snapshot())


def faults_report(faults: FaultInjector, stats: RequestStats) -> JSON:
    """The fault settings in force and how many faults of each kind were injected since the last reset."""
    return {**faults.config.as_json(), "token_bucket": faults.buckets.as_json(), "injected": stats.faults(FAULT_KINDS)}


async def get_faults(request: Request) -> Response:
    return JSONResponse(faults_report(request.app.state.faults, request.app.state.stats))


async def put_faults(request: Request) -> Response:
    """Same meaning as EmulatorServer.set_faults: `rate` is required, absent keys take its defaults."""
    try:
        settings = await control_json(request)  # 413 past the body limit, 400 past the depth limit
    except ValueError:
        raise BadRequest("send a JSON object with rate and optionally seed, latency_ms, kinds, retry_after_s") from None
    if not isinstance(settings, dict) or "rate" not in settings:
        raise BadRequest("send a JSON object with rate and optionally seed, latency_ms, kinds, retry_after_s")
    unknown = sorted(set(settings) - FAULT_SETTINGS)
    if unknown:
        raise BadRequest(f"unknown fault settings {unknown}; known: {sorted(FAULT_SETTINGS)}")
    faults: FaultInjector = request.app.state.faults
    try:
        bucket = settings.get("token_bucket")  # absent: unchanged; null: off; {"per_s", "burst"?}: on
        if bucket is not None and (not isinstance(bucket, dict) or set(bucket) - {"burst"} != {"per_s"}):
            raise ValueError("token_bucket must be null or an object with per_s and optionally burst")
        limit = (bucket["per_s"], bucket.get("burst")) if bucket else (None, None)
        TokenBuckets().configure(*limit)  # refuse a bad one before anything changes
        faults.set_faults(
            settings["rate"],
            seed=settings.get("seed"),
            latency_ms=settings.get("latency_ms"),
            kinds=settings.get("kinds"),
            retry_after_s=settings.get("retry_after_s"),
        )
        if "token_bucket" in settings:
            faults.buckets.configure(*limit)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    return JSONResponse(faults_report(faults, request.app.state.stats))


def _run_control(request: Request) -> run_control.RunControl:
    control: run_control.RunControl = request.app.state.store.run_control
    return control


async def get_test_runs(request: Request) -> Response:
    return JSONResponse(_run_control(request).as_json())


async def put_test_runs(request: Request) -> Response:
    """Replace the test-run settings (run_control.parse_settings); 413 past 64 KiB, 400 for anything invalid."""
    limit = run_control.MAX_BODY_BYTES
    length = request.headers.get("content-length", "0")
    if not length.isdigit() or int(length) > limit:
        raise PayloadTooLarge(f"the test-run settings are larger than {limit} bytes")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise PayloadTooLarge(f"the test-run settings are larger than {limit} bytes")
    try:
        settings = loads_json(raw, run_control.MAX_BODY_DEPTH)
    except NotJson as exc:
        raise BadRequest(
            f"the test-run settings are not a JSON object (at most {run_control.MAX_BODY_DEPTH} levels deep): {exc}"
        ) from None
    try:
        return JSONResponse(_run_control(request).set(settings))
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


async def reset_test_runs(request: Request) -> Response:
    return JSONResponse(_run_control(request).reset())


ROUTES = [
    *API_ROUTES,
    Route(STATS_PATH, get_stats, methods=["GET"]),
    Route(STATS_PATH, reset_stats, methods=["DELETE"]),
    Route(FAULTS_PATH, get_faults, methods=["GET"]),
    Route(FAULTS_PATH, put_faults, methods=["PUT"]),
    Route(TEST_RUNS_PATH, get_test_runs, methods=["GET"]),
    Route(TEST_RUNS_PATH, put_test_runs, methods=["PUT"]),
    Route(TEST_RUNS_PATH, reset_test_runs, methods=["DELETE"]),
]


# -- cross-cutting behaviour -----------------------------------------------------------------------


def route_template(scope: Scope) -> str:
    """The matching route's path template (ids stay placeholders), or the raw path when none matches."""
    for route in ROUTES:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return _CONVERTER.sub(r"{\1}", route.path)
    path: str = scope["path"]
    return path


def _limited(receive: Receive, limit: int) -> Receive:
    """``receive`` that stops a streamed body as soon as it passes ``limit``: the handler reading it
    meets ``PayloadTooLarge``, which the app answers like any refusal (413)."""
    seen = 0

    async def limited() -> Any:
        nonlocal seen
        message = await receive()
        if message.get("type") == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise too_large()
        return message

    return limited


class ApiGate:
    """For /v2 requests: count, draw the fault decision, delay, play the fault, then check the bearer key.

    Faults come before auth so an injected failure looks like the network or the edge failing; a
    `lost_response` runs auth and the handler like any request and only loses the answer.
    """

    def __init__(self, app: ASGIApp, stats: RequestStats, api_key: str | None, faults: FaultInjector) -> None:
        self.app = app
        self.stats = stats
        self.api_key = api_key
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        self.stats.record(scope["method"], route_template(scope))
        decision = self.faults.decide(scope["method"])  # before any await: arrival order
        if decision.kind is not None:
            self.stats.record_fault(decision.kind)
        if decision.delay_s > 0:
            await asyncio.sleep(decision.delay_s)
        if decision.kind is None and self._refusal(scope) is None:  # a wrong key is a 401, and gets no bucket
            raw = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
            token = " ".join(raw.split()[1:])  # "Bearer  k" and "bearer k" are one key
            refusal = await self.faults.limited(token, receive)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.faults.play(decision, self._authorised, scope, receive, send)

    async def _authorised(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self._refusal(scope)
        if refusal is not None:
            await error_response(refusal)(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            await error_response(too_large())(scope, receive, send)
            return
        await self.app(scope, _limited(receive, MAX_BODY_BYTES), send)

    def _refusal(self, scope: Scope) -> Unauthorized | None:
        headers = dict(scope["headers"])
        value = headers.get(b"authorization", b"").decode("latin-1").strip()
        scheme, _, token = value.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return Unauthorized("Missing or malformed Authorization header; send 'Bearer <API key>'")
        if self.api_key is not None and token != self.api_key:
            return Unauthorized("The API key is not valid")
        return None


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, EmulatorHTTPError)
    return error_response(exc)


async def _unprocessable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Unprocessable)
    return JSONResponse({"detail": exc.detail}, status_code=422)


async def _not_found(request: Request, exc: Exception) -> Response:
    return error_response(NotFound(f"No route for {request.url.path}"))


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    """405 with the `Allow` header HTTP requires, listing the path's methods."""
    allowed = sorted({m for r in ROUTES if r.matches(request.scope)[0] is not Match.NONE for m in r.methods or ()})
    error = MethodNotAllowed(f"{request.method} is not allowed here")
    return error_response(error, {"Allow": ", ".join(allowed)})


def create_app(
    *,
    api_key: str | None = None,
    store: Store | None = None,
    latency_ms: int = 0,
    fault_rate: float = 0.0,
    seed: int | None = None,
    fault_kinds: Sequence[str] | None = None,
    retry_after_s: float = 1.0,
    unknown_fields: str = "keep",
    rate_limit: float | None = None,
) -> ApiGate:
    """Build the ASGI app: the gate in front of the routes, with `.stats` and `.faults` on it.

    ``unknown_fields="drop"`` makes the store leave out keys the request schema does not declare.

    Raises ValueError for settings out of range (a rate outside 0..1, negative latency, unknown kinds).
    """
    faults = FaultInjector(make_config(fault_rate, seed, fault_kinds, latency_ms, retry_after_s))
    faults.buckets.configure(rate_limit)
    stats = RequestStats()
    app = Starlette(
        routes=ROUTES,
        exception_handlers={
            EmulatorHTTPError: _http_error,
            Unprocessable: _unprocessable,
            404: _not_found,
            405: _method_not_allowed,
        },
    )
    if unknown_fields not in ("keep", "drop"):
        raise ValueError(f"unknown_fields must be 'keep' or 'drop', not {unknown_fields!r}")
    app.state.store = store if store is not None else Store()
    app.state.store.unknown_fields = unknown_fields
    app.state.stats = stats
    app.state.faults = faults
    return ApiGate(app, stats, api_key, faults)
