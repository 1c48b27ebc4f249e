"""HTTP errors the emulator answers with, in Telnyx's standard error body.

Why: the store raises these and the app renders them, so business rules never touch HTTP types.
Only code 10015 (duplicate single-instance tool) is documented for this service; the others are Telnyx's
general codes (10005 not found, 10009 authentication failed).
"""

from __future__ import annotations

from typing import Any


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


class DuplicateToolType(BadRequest):
    """400 with code 10015: a single-instance tool type would appear twice on one assistant."""

    title = "Duplicate tool type"


class Unprocessable(Exception):
    """422 in the FastAPI shape the service documents for request validation."""

    def __init__(self, detail: list[dict[str, Any]]) -> None:
        super().__init__("request validation failed")
        self.detail = detail
