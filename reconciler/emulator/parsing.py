"""Request parsing for the emulator's handlers: JSON bodies, query flags, pages, idempotent creates.

Why: every handler validates the same way, answering 422 in the FastAPI shape the service documents, and
every create that takes an `Idempotency-Key` replays its first answer (errors included) the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from reconciler.api.api_schema import validate_request
from reconciler.api.json_body import DepthGuard, TooDeep, loads_json
from reconciler.emulator.errors import BadRequest, EmulatorHTTPError, PayloadTooLarge, Unprocessable
from reconciler.emulator.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from reconciler.emulator.store import Store
from reconciler.model import MAX_DEPTH

JSON = dict[str, Any]


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def json_body(request: Request, component: str, *, optional: bool = False) -> JSON:
    """The parsed body, or Unprocessable if it is not JSON or the API schema rejects it.

    ``optional``: an empty body means ``{}`` (the trigger routes' body is optional).
    """
    return parse_body(await request.body(), component, optional=optional)


MAX_BODY_BYTES = 2 * 1024 * 1024
"""Largest request body accepted (2 MiB); a larger one is answered 413 before it is read whole."""


def too_large() -> PayloadTooLarge:
    return PayloadTooLarge(f"the request body is larger than {MAX_BODY_BYTES} bytes")


async def control_json(request: Request) -> Any:
    """The JSON value of a body sent to an ``/_emulator/...`` control route, read within the limits of /v2.

    Control routes are outside the gate that bounds /v2 bodies, so this bounds them the same way:
    ``PayloadTooLarge`` (413) past ``MAX_BODY_BYTES``, as soon as a streamed body passes it;
    ``BadRequest`` (400) past ``MAX_DEPTH``, before ``json.loads`` could recurse; ``NotJson``
    (a ValueError) for anything that is not one JSON value, for the route to say what it expects.
    """
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
        raise too_large()
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise too_large()
    try:
        return loads_json(bytes(raw), MAX_DEPTH)
    except TooDeep:
        raise BadRequest(f"JSON nesting is deeper than {MAX_DEPTH} levels") from None


def parse_body(raw: bytes, component: str, *, optional: bool = False) -> JSON:
    """The validated body of a /v2 request; nesting past ``MAX_DEPTH`` is a 422, not a RecursionError and a 500.

    ``optional``: an empty body means ``{}``.
    """
    if optional and not raw.strip():
        raw = b"{}"
    try:
        DepthGuard(MAX_DEPTH).feed(raw)
        body = json.loads(raw) if raw.strip() else None
    except TooDeep:
        msg = f"JSON nesting is deeper than {MAX_DEPTH} levels"
        raise Unprocessable([{"loc": ["body"], "msg": msg, "type": "json_invalid"}]) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        pos = err.pos if isinstance(err, json.JSONDecodeError) else err.start
        raise Unprocessable([{"loc": ["body", pos], "msg": "JSON decode error", "type": "json_invalid"}]) from err
    if body is None:
        raise Unprocessable([{"loc": ["body"], "msg": "Field required", "type": "missing"}])
    problems = validate_request(component, body)
    if problems:
        raise Unprocessable(problems)
    assert isinstance(body, dict)  # every request component is an object schema
    return body


def bool_query(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "false").lower()
    if raw in ("true", "1", "yes", "on"):
        return True
    if raw in ("false", "0", "no", "off"):
        return False
    raise Unprocessable([{"loc": ["query", name], "msg": "Input should be a valid boolean", "type": "bool_parsing"}])


def _int_query(request: Request, name: str, default: int, low: int, high: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    loc = ["query", name]
    try:
        value = int(raw.strip())
    except ValueError:
        msg = "Input should be a valid integer, unable to parse string as an integer"
        raise Unprocessable([{"loc": loc, "msg": msg, "type": "int_parsing"}]) from None
    if value < low:
        msg = f"Input should be greater than or equal to {low}"
        raise Unprocessable([{"loc": loc, "msg": msg, "type": "greater_than_equal"}])
    if high is not None and value > high:
        msg = f"Input should be less than or equal to {high}"
        raise Unprocessable([{"loc": loc, "msg": msg, "type": "less_than_equal"}])
    return value


def page_query(request: Request) -> Page:
    """`page[number]` (default 1, >= 1) and `page[size]` (default 20, 1..100)."""
    return Page(
        number=_int_query(request, "page[number]", 1, 1, None),
        size=_int_query(request, "page[size]", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
    )


def outcome(action: Callable[[], Any], status: int = 200) -> tuple[int, Any]:
    """Status and body of an action, errors included, so an idempotent replay can repeat either."""
    try:
        return status, action()
    except EmulatorHTTPError as err:
        return err.status, err.body()
    except Unprocessable as err:
        return 422, {"detail": err.detail}


async def idempotent_create(
    request: Request,
    scope: str,
    component: str,
    create: Callable[[JSON], Any],
    *,
    status: int = 200,
    optional: bool = False,
) -> Response:
    """Run create on the validated body; with an `Idempotency-Key`, at most once per key and scope.

    ``status`` is the success status (201 where the API documents it); ``optional`` lets an empty
    body stand for ``{}``.
    """
    store = store_of(request)
    key = request.headers.get("idempotency-key")
    if key is None:
        return JSONResponse(create(await json_body(request, component, optional=optional)), status_code=status)
    raw = await request.body()

    def run() -> tuple[int, Any]:
        return outcome(lambda: create(parse_body(raw, component, optional=optional)), status)

    answered, payload = store.once(f"{scope} {key}", run)
    return JSONResponse(payload, status_code=answered)
