"""HTTP errors the emulator answers with, in Telnyx's standard error body, and the one place that renders them.

Why: the store raises these and the app renders them with `error_response`, so business rules never touch
HTTP types and every Telnyx error body (handlers, auth, routing, injected faults) has the same shape.
Only code 10015 (duplicate single-instance tool) is documented for this service; the others are Telnyx's
general codes (10005 not found, 10007 unexpected error, 10009 authentication failed, 10011 rate limited).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from starlette.responses import JSONResponse


class EmulatorHTTPError(Exception):
    """A refusal with a status and one Telnyx-standard error entry."""

    status = 400
    code = "10015"
    title = "Bad Request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def body(self) -> dict[str, Any]:
        return {"errors": [{"code": self.code, "title": self.title, "detail": self.detail}]}


class BadRequest(EmulatorHTTPError):
    """400: the request is well formed but the API refuses it."""


class NotFound(EmulatorHTTPError):
    status = 404
    code = "10005"
    title = "Resource not found"


class Unauthorized(EmulatorHTTPError):
    status = 401
    code = "10009"
    title = "Authentication failed"


class MethodNotAllowed(EmulatorHTTPError):
    """405: the path exists but not with this method (the response also needs an `Allow` header)."""

    status = 405
    title = "Method not allowed"


class PayloadTooLarge(EmulatorHTTPError):
    status = 413
    code = "10013"
    title = "Payload Too Large"


class TooManyRequests(EmulatorHTTPError):
    status = 429
    code = "10011"
    title = "Too many requests"


class ServerError(EmulatorHTTPError):
    """A 5xx; the status picks the title."""

    code = "10007"
    TITLES: ClassVar[Mapping[int, str]] = {500: "Unexpected error", 502: "Bad gateway", 503: "Service unavailable"}

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.title = self.TITLES[status]


class IdempotencyConflict(EmulatorHTTPError):
    """409: an `Idempotency-Key` replay whose first answer names an object that no longer exists."""

    status = 409
    code = "10016"
    title = "Idempotency key already used"


class NotEmulated(EmulatorHTTPError):
    """501: a Telnyx route the emulator does not serve (a missing route is not a missing object).

    The code and title are the emulator's own; Telnyx documents no code for this case.
    """

    status = 501
    code = "10007"
    title = "Not implemented by the emulator"


class DuplicateToolType(BadRequest):
    """400 with code 10015: a single-instance tool type would appear twice on one assistant."""

    title = "Duplicate tool type"


class Unprocessable(Exception):
    """422 in the FastAPI shape the service documents for request validation."""

    def __init__(self, detail: list[dict[str, Any]]) -> None:
        super().__init__("request validation failed")
        self.detail = detail


def error_response(error: EmulatorHTTPError, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The HTTP answer for an error: its status and Telnyx error body, plus any extra headers."""
    return JSONResponse(error.body(), status_code=error.status, headers=headers)
