"""The exception tree, drawn once so every caller knows what to catch.

    ReconcilerError                 anything the CLI turns into exit 1 with a one-line message
    ├── ConfigError                 bad flags or environment (no API key, bad base URL)
    ├── ManifestError               one problem in one manifest document; see ``ManifestProblem``
    │   └── ManifestErrors          several problems, all reported at once
    ├── IdentityError               live state is ambiguous (two live objects share a managed name),
    │                               or another stack owns an object a manifest names
    ├── ConcurrentChange            an object moved between plan and write; the write was not sent
    ├── ApiError                    the API answered with an error status
    │   ├── ApiAuthError            401 / 403
    │   ├── ApiNotFound             404
    │   └── ApiValidationError      400 / 422 (the body was refused)
    └── ApiUnavailable              no usable answer after retries (connection, timeout, 429, 5xx)

Messages never contain the API key: the client builds them from the response body and the
request's method and path only.
"""

from __future__ import annotations

from dataclasses import dataclass


class ReconcilerError(Exception):
    """Base class: the CLI prints ``str(err)`` and exits 1."""


class ConfigError(ReconcilerError):
    """Flags or environment are unusable."""


@dataclass(frozen=True)
class ManifestProblem:
    """One validation finding, printed as ``FILE:LINE: Kind/name: json.path: message``."""

    file: str
    line: int
    message: str
    kind: str | None = None
    name: str | None = None
    path: str = "$"

    def __str__(self) -> str:
        obj = f"{self.kind or '?'}/{self.name or '?'}"
        return f"{self.file}:{self.line}: {obj}: {self.path}: {self.message}"


class ManifestError(ReconcilerError):
    """A single manifest problem."""

    def __init__(self, problem: ManifestProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class ManifestErrors(ManifestError):
    """Every problem found in a manifest set; validation never stops at the first."""

    def __init__(self, problems: list[ManifestProblem]) -> None:
        ReconcilerError.__init__(self, "\n".join(str(p) for p in problems))
        self.problems = problems
        self.problem = problems[0]


class IdentityError(ReconcilerError):
    """Live state cannot be matched to manifests without guessing."""


class PromotionRefused(ReconcilerError):
    """A promotion that would not make main exactly the version that was tested."""


class ConcurrentChange(ReconcilerError):
    """An object changed in the account between plan and write; the write was not sent."""


class ApiError(ReconcilerError):
    """The API answered with an error status."""

    def __init__(self, method: str, path: str, status: int, message: str) -> None:
        super().__init__(f"{method} {path} failed with HTTP {status}: {message}")
        self.method = method
        self.path = path
        self.status = status
        self.detail = message


class ApiAuthError(ApiError):
    """The key is missing, wrong or lacks permission."""


class ApiNotFound(ApiError):
    """The object does not exist (any more)."""


class ApiValidationError(ApiError):
    """The API refused the request body."""


class ApiUnavailable(ReconcilerError):
    """No usable answer after every retry."""

