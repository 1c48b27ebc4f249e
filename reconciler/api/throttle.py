"""An adaptive bound on concurrent requests: halve on 429, grow back one step at a time.

``--parallelism`` is the ceiling. When the API answers 429 the allowed concurrency halves
(multiplicative decrease); after as many successes in a row as the current limit it grows by
one (additive increase), so a burst of rate limiting slows every worker at once and the pace
recovers once the 429s stop.
"""

from __future__ import annotations

import threading


class AdaptiveLimit:
    def __init__(self, ceiling: int) -> None:
        self.ceiling = max(1, ceiling)
        self.limit = self.ceiling
        self._in_flight = 0
        self._successes = 0
        self._cond = threading.Condition()

    def __enter__(self) -> AdaptiveLimit:
        with self._cond:
            while self._in_flight >= self.limit:
                self._cond.wait()
            self._in_flight += 1
        return self

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()

    def throttled(self) -> None:
        """The API said 429: halve the allowed concurrency."""
        with self._cond:
            self.limit = max(1, self.limit // 2)
            self._successes = 0

    def succeeded(self) -> None:
        """One more success: after ``limit`` in a row, allow one more request in flight."""
        with self._cond:
            if self.limit >= self.ceiling:
                return
            self._successes += 1
            if self._successes >= self.limit:
                self.limit += 1
                self._successes = 0
                self._cond.notify_all()
