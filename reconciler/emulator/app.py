"""The emulator's HTTP surface: Starlette routes, Telnyx envelopes, errors, auth, stats and latency.

Why: this module only translates HTTP to store calls and back. Envelopes follow telnyx-ai-api.md 1.1:
bare single objects, `{"data": [...]}` for assistant and version lists, OpenAI-style delete bodies.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from reconciler.api_schema import validate_request
from reconciler.emulator.errors import EmulatorHTTPError, NotFound, Unauthorized
from reconciler.emulator.stats import RequestStats
from reconciler.emulator.store import Store

API_PREFIX = "/v2"
STATS_PATH = "/_emulator/stats"
JSON = dict[str, Any]


class Unprocessable(Exception):
    """422 in the FastAPI shape the service documents for request validation."""

    def __init__(self, detail: list[JSON]) -> None:
        super().__init__("request validation failed")
        self.detail = detail


async def _json_body(request: Request, component: str) -> JSON:
    """The parsed body, or Unprocessable if it is not JSON or the API schema rejects it."""
    return _parse_body(await request.body(), component)


def _parse_body(raw: bytes, component: str) -> JSON:
    try:
        body = json.loads(raw) if raw.strip() else None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        pos = err.pos if isinstance(err, json.JSONDecodeError) else err.start
        raise Unprocessable(
            [{"loc": ["body", pos], "msg": "JSON decode error", "type": "json_invalid"}]
        ) from err
    if body is None:
        raise Unprocessable([{"loc": ["body"], "msg": "Field required", "type": "missing"}])
    problems = validate_request(component, body)
    if problems:
        raise Unprocessable(problems)
    assert isinstance(body, dict)  # every request component is an object schema
    return body


def _bool_query(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "false").lower()
    if raw in ("true", "1", "yes", "on"):
        return True
    if raw in ("false", "0", "no", "off"):
        return False
    raise Unprocessable(
        [{"loc": ["query", name], "msg": "Input should be a valid boolean", "type": "bool_parsing"}]
    )


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


# -- handlers --------------------------------------------------------------------------------------


async def list_assistants(request: Request) -> Response:
    return JSONResponse({"data": _store(request).list_assistants()})


async def create_assistant(request: Request) -> Response:
    store = _store(request)
    key = request.headers.get("idempotency-key")
    if key is None:
        body = await _json_body(request, "CreateAssistantRequest")
        return JSONResponse(store.create_assistant(body))
    raw = await request.body()

    def run() -> tuple[int, Any]:
        return _outcome(lambda: store.create_assistant(_parse_body(raw, "CreateAssistantRequest")))

    status, payload = store.once(f"POST /ai/assistants {key}", run)
    return JSONResponse(payload, status_code=status)


def _outcome(action: Callable[[], JSON]) -> tuple[int, Any]:
    """Status and body of an action, errors included, so an idempotent replay can repeat either."""
    try:
        return 200, action()
    except EmulatorHTTPError as err:
        return err.status, err.body()
    except Unprocessable as err:
        return 422, {"detail": err.detail}


async def get_assistant(request: Request) -> Response:
    return JSONResponse(_store(request).get_assistant(request.path_params["assistant_id"]))


async def update_assistant(request: Request) -> Response:
    body = await _json_body(request, "UpdateAssistantRequestWithPromotion")
    return JSONResponse(_store(request).update_assistant(request.path_params["assistant_id"], body))


async def delete_assistant(request: Request) -> Response:
    hard = _bool_query(request, "hard_delete")
    return JSONResponse(_store(request).delete_assistant(request.path_params["assistant_id"], hard))


async def list_versions(request: Request) -> Response:
    return JSONResponse({"data": _store(request).list_versions(request.path_params["assistant_id"])})


async def get_version(request: Request) -> Response:
    params = request.path_params
    return JSONResponse(_store(request).get_version(params["assistant_id"], params["version_id"]))


async def update_version(request: Request) -> Response:
    params = request.path_params
    body = await _json_body(request, "UpdateAssistantRequest")
    return JSONResponse(_store(request).update_version(params["assistant_id"], params["version_id"], body))


async def delete_version(request: Request) -> Response:
    params = request.path_params
    _store(request).delete_version(params["assistant_id"], params["version_id"])
    return Response(status_code=204)


async def promote_version(request: Request) -> Response:
    params = request.path_params
    return JSONResponse(_store(request).promote_version(params["assistant_id"], params["version_id"]))


async def get_stats(request: Request) -> Response:
    stats: RequestStats = request.app.state.stats
    return JSONResponse(stats.snapshot())


async def reset_stats(request: Request) -> Response:
    stats: RequestStats = request.app.state.stats
    stats.reset()
    return JSONResponse(stats.snapshot())


def _api(path: str) -> str:
    return API_PREFIX + path


ROUTES = [
    Route(_api("/ai/assistants"), list_assistants, methods=["GET"]),
    Route(_api("/ai/assistants"), create_assistant, methods=["POST"]),
    Route(_api("/ai/assistants/{assistant_id}"), get_assistant, methods=["GET"]),
    Route(_api("/ai/assistants/{assistant_id}"), update_assistant, methods=["POST"]),
    Route(_api("/ai/assistants/{assistant_id}"), delete_assistant, methods=["DELETE"]),
    Route(_api("/ai/assistants/{assistant_id}/versions"), list_versions, methods=["GET"]),
    Route(_api("/ai/assistants/{assistant_id}/versions/{version_id}"), get_version, methods=["GET"]),
    Route(_api("/ai/assistants/{assistant_id}/versions/{version_id}"), update_version, methods=["POST"]),
    Route(_api("/ai/assistants/{assistant_id}/versions/{version_id}"), delete_version, methods=["DELETE"]),
    Route(
        _api("/ai/assistants/{assistant_id}/versions/{version_id}/promote"), promote_version, methods=["POST"]
    ),
    Route(STATS_PATH, get_stats, methods=["GET"]),
    Route(STATS_PATH, reset_stats, methods=["DELETE"]),
]


# -- cross-cutting behaviour -----------------------------------------------------------------------


def route_template(scope: Scope) -> str:
    """The matching route's path template (ids stay placeholders), or the raw path when none matches."""
    for route in ROUTES:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route.path
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
    error = {
        "code": "10015",
        "title": "Method not allowed",
        "detail": f"{request.method} is not allowed here",
    }
    return JSONResponse({"errors": [error]}, status_code=405)


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
