"""Request counters for GET /_emulator/stats.

Why: tests and benchmarks assert how many calls (and writes) a plan or apply made, e.g. that a second
apply sends no write. Counts are keyed by method and route template so ids do not fragment them. Injected faults are
counted by kind on top (the request itself still counts in `by_route`, and a write in `writes` whatever
happened to it: the counters say what was received).
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # not counted as writes; faults.py uses the same set


class RequestStats:
    """Thread-safe counters: the server thread writes, test threads read and reset."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_route: Counter[str] = Counter()
        self._total = 0
        self._writes = 0
        self._faults: Counter[str] = Counter()

    def record(self, method: str, route: str) -> None:
        with self._lock:
            self._total += 1
            if method not in READ_METHODS:
                self._writes += 1
            self._by_route[f"{method} {route}"] += 1

    def record_fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def faults(self, kinds: tuple[str, ...]) -> dict[str, int]:
        """Injected faults for every kind in `kinds`, zeros included."""
        with self._lock:
            return {kind: self._faults[kind] for kind in kinds}

    def snapshot(self) -> dict[str, Any]:
        """`faults` appears only once a fault was injected, so fault-free runs keep the plain shape."""
        with self._lock:
            snapshot: dict[str, Any] = {
                "total": self._total,
                "writes": self._writes,
                "by_route": dict(sorted(self._by_route.items())),
            }
            if self._faults:
                snapshot["faults"] = dict(sorted(self._faults.items()))
            return snapshot

    def reset(self) -> None:
        with self._lock:
            self._by_route.clear()
            self._total = 0
            self._writes = 0
            self._faults.clear()
