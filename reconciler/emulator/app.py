"""The emulator's ASGI app: the route table behind a gate for auth, stats and latency; error bodies.

Why: cross-cutting HTTP behaviour lives here; handlers (handlers.py, library.py) translate requests to
store calls, and the Telnyx error shapes are rendered in one place.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from reconciler.emulator.errors import EmulatorHTTPError, NotFound, Unauthorized, Unprocessable
from reconciler.emulator.routes import API_PREFIX, API_ROUTES
from reconciler.emulator.stats import RequestStats
from reconciler.emulator.store import Store

STATS_PATH = "/_emulator/stats"
_CONVERTER = re.compile(r"\{(\w+):\w+\}")  # "{tag:path}" is counted as "{tag}"
JSON = dict[str, Any]


async def get_stats(request: Request) -> Response:
    stats: RequestStats = request.app.state.stats
    return JSONResponse(stats.snapshot())


async def reset_stats(request: Request) -> Response:
    stats: RequestStats = request.app.state.stats
    stats.reset()
    return JSONResponse(stats.snapshot())


ROUTES = [
    *API_ROUTES,
    Route(STATS_PATH, get_stats, methods=["GET"]),
    Route(STATS_PATH, reset_stats, methods=["DELETE"]),
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


class ApiGate:
    """Counts /v2 requests, adds the configured latency, then enforces `Authorization: Bearer <key>`."""

    def __init__(
        self, app: ASGIApp, store: Store, stats: RequestStats, api_key: str | None, latency_ms: int
    ) -> None:
        self.app = app
        self.store = store
        self.stats = stats
        self.api_key = api_key
        self.latency_s = latency_ms / 1000

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        self.stats.record(scope["method"], route_template(scope))
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)
        refusal = self._refusal(scope)
        if refusal is not None:
            await JSONResponse(refusal.body(), status_code=refusal.status)(scope, receive, send)
            return
        await self.app(scope, receive, send)

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
    return JSONResponse(exc.body(), status_code=exc.status)


async def _unprocessable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Unprocessable)
    return JSONResponse({"detail": exc.detail}, status_code=422)


async def _not_found(request: Request, exc: Exception) -> Response:
    error = NotFound(f"No route for {request.url.path}")
    return JSONResponse(error.body(), status_code=error.status)


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    """405 with the `Allow` header HTTP requires, listing the path's methods."""
    error = {
        "code": "10015",
        "title": "Method not allowed",
        "detail": f"{request.method} is not allowed here",
    }
    allowed = sorted({m for r in ROUTES if r.matches(request.scope)[0] is not Match.NONE for m in r.methods or ()})
    return JSONResponse({"errors": [error]}, status_code=405, headers={"Allow": ", ".join(allowed)})


def create_app(
    *,
    api_key: str | None = None,
    store: Store | None = None,
    latency_ms: int = 0,
    fault_rate: float = 0.0,
    seed: int | None = None,
) -> ApiGate:
    """Build the ASGI app: the gate in front of the routes, with `.stats` and `.store` on it.

    `fault_rate` and `seed` are accepted already; injecting faults comes with the reliability work.
    """
    if fault_rate < 0 or fault_rate > 1:
        raise ValueError(f"fault_rate must be between 0 and 1, got {fault_rate}")
    if fault_rate > 0:
        raise ValueError("fault injection arrives with the reliability work")
    if latency_ms < 0:
        raise ValueError(f"latency_ms must not be negative, got {latency_ms}")
    del seed  # reserved for the fault injector's random generator
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
    app.state.store = store if store is not None else Store()
    app.state.stats = stats
    return ApiGate(app, app.state.store, stats, api_key, latency_ms)
