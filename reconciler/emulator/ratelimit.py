"""A token bucket per API key: the emulator's load-dependent 429s (`--rate-limit`, `/_emulator/faults`).

Why: the fault injector's 429s are drawn at random, whatever the load, so a client that backs off gains
nothing against them. A token bucket answers 429 only when a key sends faster than its rate, with a
Retry-After saying when the next token comes, like a real API's limiter; a client's throughput under it
is then the measure of how well it backs off (benchmarks/ratelimit.py).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

RATE_LIMIT_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/s)?\s*$")


def parse_rate(text: str) -> float:
    """``"20/s"`` or ``"20"`` -> 20.0 requests per second (ValueError unless above 0 and at most 100000)."""
    found = RATE_LIMIT_PATTERN.match(text)
    if found is None:
        raise ValueError(f"rate limit must read like 20/s (requests per second), got {text!r}")
    return checked_rate(float(found.group(1)))


def checked_rate(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 100_000:
        raise ValueError(f"rate_limit must be above 0 and at most 100000 requests per second, got {value!r}")
    return float(value)


class TokenBuckets:
    """``per_s`` tokens a second per key, at most ``burst`` saved up (default: one second's worth)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.per_s: float | None = None
        self.burst = 0.0
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self.throttled = 0  # 429s answered since the limit was set

    def configure(self, per_s: float | None, burst: float | None = None) -> None:
        """Set (or with None remove) the limit; every key starts with a full bucket."""
        if per_s is not None:
            per_s = checked_rate(per_s)
            if burst is None:
                burst = max(1.0, per_s)
            if isinstance(burst, bool) or not isinstance(burst, int | float) or not 1 <= burst <= 1_000_000:
                raise ValueError(f"burst must be between 1 and 1000000, got {burst!r}")
        with self._lock:
            self.per_s = per_s
            self.burst = float(burst) if per_s is not None and burst is not None else 0.0
            self._buckets.clear()
            self.throttled = 0

    def take(self, key: str) -> float | None:
        """Spend one token of key: None when there was one, else the seconds until there will be."""
        with self._lock:
            per_s = self.per_s
            if per_s is None:
                return None
            now = self._clock()
            tokens, at = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * per_s)
            if tokens >= 1 - 1e-9:  # float dust from the refill must not cost a token
                self._buckets[key] = (tokens - 1, now)
                return None
            self._buckets[key] = (tokens, now)
            self.throttled += 1
            return (1 - tokens) / per_s

    def as_json(self) -> dict[str, Any] | None:
        with self._lock:
            if self.per_s is None:
                return None
            return {"per_s": self.per_s, "burst": self.burst, "throttled": self.throttled}
