"""The client's hard limits: what a hostile or broken server can cost, at most.

    limit                    default     flag / setting
    time per request         30 s        --request-timeout / RECONCILER_REQUEST_TIMEOUT
      (connect + headers + body of one attempt; connecting alone at most 5 s)
    minimum transfer rate    1 KiB / 3 s RECONCILER_MIN_TRANSFER_BYTES / RECONCILER_TRANSFER_WINDOW
      (from the first byte of an answer, for its headers and then for its body; retried once)
    time per command         600 s       --deadline / RECONCILER_DEADLINE
      (every request and retry of one command; no attempt starts after it)
    response body, received  64 MiB      RECONCILER_MAX_DOWNLOAD_BYTES  (bytes on the wire, compressed)
    response body, decoded   64 MiB      RECONCILER_MAX_RESPONSE_BYTES  (after gzip/deflate/brotli)
    nesting depth            64          RECONCILER_MAX_DEPTH
    pages per list           200         RECONCILER_MAX_PAGES   (a page loop also stops when the
                                                                 server repeats a page)

An account of 5000 assistants with 8 KB instructions answers with about 50 MB: the size limits
leave room for that and stop a gzip bomb after 64 MiB of output. Each limit ends the command with
exit 1 and a message naming the limit and how to raise it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from reconciler.errors import ConfigError
from reconciler.model import MAX_DEPTH

__all__ = ["Limits"]

_ENV = {
    "request_timeout": "RECONCILER_REQUEST_TIMEOUT",
    "deadline": "RECONCILER_DEADLINE",
    "max_download_bytes": "RECONCILER_MAX_DOWNLOAD_BYTES",
    "max_response_bytes": "RECONCILER_MAX_RESPONSE_BYTES",
    "max_depth": "RECONCILER_MAX_DEPTH",
    "max_pages": "RECONCILER_MAX_PAGES",
    "min_transfer_bytes": "RECONCILER_MIN_TRANSFER_BYTES",
    "transfer_window": "RECONCILER_TRANSFER_WINDOW",
}


@dataclass(frozen=True)
class Limits:
    request_timeout: float = 30.0
    deadline: float = 600.0
    max_download_bytes: int = 64 * 1024 * 1024
    max_response_bytes: int = 64 * 1024 * 1024
    max_depth: int = MAX_DEPTH
    max_pages: int = 200
    min_transfer_bytes: int = 1024
    transfer_window: float = 3.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: float | None) -> Limits:
        """Defaults, then ``RECONCILER_*`` settings, then flags (``overrides`` that are not None)."""
        env = os.environ if environ is None else environ
        values: dict[str, float | int] = {}
        for item in fields(cls):
            raw: object = overrides.get(item.name)
            source = "--" + item.name.replace("_", "-")
            if raw is None and _ENV[item.name] in env:
                raw, source = env[_ENV[item.name]], _ENV[item.name]
            if raw is None:
                continue
            values[item.name] = _positive(raw, item.type == "int" or item.type is int, source)
        return cls(**values)  # type: ignore[arg-type]


def _positive(raw: object, integer: bool, source: str) -> float | int:
    try:
        number = float(str(raw).strip())
    except ValueError:
        raise ConfigError(f"{source} must be a positive number, not {str(raw)[:40]!r}") from None
    if not math.isfinite(number) or number <= 0 or (integer and number != int(number)):
        kind = "a positive whole number" if integer else "a positive number"
        raise ConfigError(f"{source} must be {kind}, not {str(raw)[:40]!r}")
    return int(number) if integer else number
