"""An adaptive bound on concurrent requests: halve once per window of 429s, grow back one step at a time.

``--parallelism`` is the ceiling. When the API answers 429 the allowed concurrency halves
(multiplicative decrease); after as many successes in a row as the current limit it grows by
one (additive increase), so a burst of rate limiting slows every worker at once and the pace
recovers once the 429s stop.

Once per window, not once per response: the requests in flight when the limit was cut were all sent
at the old pace, so their 429s say nothing new. Each request notes the ``epoch`` (the number of cuts so
far) it was sent in, and only a 429 to a request sent since the last cut cuts again. Halving on every
429 made one burst of 8 throttled answers drop the limit from 8 to 1. A 429's Retry-After also holds
every worker back (``held_for``), not only the one that got it: the others would spend requests into
the same empty bucket.

Once a 429 has set a pace (``pacer``, api/pacing.py) the pace is what a 429 cuts, not the concurrency:
at one request in flight and 50 ms a request no pace above 20 a second can be kept. A Retry-After no
longer than the pace's interval holds nobody: the pace already spaces the starts that far apart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from reconciler.api.pacing import Pacer


class AdaptiveLimit:
    def __init__(self, ceiling: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ceiling = max(1, ceiling)
        self.limit = self.ceiling
        self.epoch = 0  # cuts so far; a request remembers the one it was sent in
        self._in_flight = 0
        self._successes = 0
        self._hold_until = 0.0
        self._clock = clock
        self.pacer = Pacer(clock)  # the pace of request starts, once a 429 has come (api/pacing.py)
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

    def throttled(self, epoch: int | None = None, retry_after: float | None = None) -> None:
        """The API said 429 to a request sent in ``epoch`` (None: count it as new): halve the allowed
        concurrency (while there is no pace) unless a cut was already made since that request was
        sent; hold everyone back until ``retry_after`` seconds from now (unless the pace does)."""
        with self._cond:
            if retry_after is not None and retry_after > 0 and not self.pacer.spaces(retry_after):
                self._hold_until = max(self._hold_until, self._clock() + retry_after)
                self.pacer.hold(self._hold_until)
            if epoch is not None and epoch != self.epoch:
                return
            if self.pacer.rate is None:  # with a pace, the pace is cut instead (api/pacing.py)
                self.limit = max(1, self.limit // 2)
                self._successes = 0
            self.epoch += 1

    def held_for(self) -> float:
        """Seconds until the server's last Retry-After has passed (0 when it has)."""
        with self._cond:
            return max(0.0, self._hold_until - self._clock())

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
