"""Request counters for GET /_emulator/stats.

Why: tests and benchmarks assert how many calls (and writes) a plan or apply made, e.g. that a second
apply sends no write. Counts are keyed by method and route template so ids do not fragment them.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class RequestStats:
    """Thread-safe counters: the server thread writes, test threads read and reset."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_route: Counter[str] = Counter()
        self._total = 0
        self._writes = 0

    def record(self, method: str, route: str) -> None:
        with self._lock:
            self._total += 1
            if method not in READ_METHODS:
                self._writes += 1
            self._by_route[f"{method} {route}"] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self._total,
                "writes": self._writes,
                "by_route": dict(sorted(self._by_route.items())),
            }

    def reset(self) -> None:
        with self._lock:
            self._by_route.clear()
            self._total = 0
            self._writes = 0
