"""Spacing request starts at the rate the API allows, learned from its 429s.

Why: against a token bucket that saves up little (burst 1), bounding the requests in flight is not
enough. The workers still start in bursts; all but the first of a burst find the bucket empty, each
429 costs a round trip, and the concurrency cut that follows leaves too few requests in flight to
use the tokens (at one in flight and 50 ms a request, a 20/s limit gave 14/s). A pace spaces the
starts so that most requests arrive when a token is there.

Nothing is paced until the API answers 429 (``rate`` is None): a plan that is never refused is never
slowed. The first 429 sets the pace to the faster of two guesses: one request per Retry-After (a
token bucket's Retry-After is the time to its next token, at most one interval, so this is at or
above its rate) and the rate of answers over the last ``WINDOW`` seconds. The other 429s of that
first burst can only lower it, down to that rate of answers. From then on a 429 to a request that
waited its turn cuts the pace by ``CUT``, once per window like AdaptiveLimit's halving (only a
request started since the last cut cuts again), and every other answer raises it by ``RAISE``. So
the pace probes up to where requests start being refused and steps back: it settles just under the
limit, whatever the limit and however unevenly the requests arrive, and follows a limit that moves.
Against a server whose limit is gone the pace grows until it is dropped (``UNPACED_ABOVE``).

Each request reserves the next free start, ``1 / rate`` after the one before; a start nobody took
is not saved up. A request that goes out late (its thread woke late, its write was slow) pushes the
next start back to ``1 / rate`` after it went out (``sent``): the bucket counts from when requests
arrive, not from when they were due. So the client lets one request at a time wait for its turn and
takes the start only when it is due (``due``), rather than reserving starts ahead. Deterministic for
tests: the clock is injected and nothing here sleeps.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW = 1.0
"""Seconds of answers the first guess measures."""
CUT = 0.05
"""A window of 429s to paced requests cuts the pace by this fraction."""
RAISE = 0.0025
"""Any other answer raises the pace by this fraction."""
UNPACED_ABOVE = 10_000.0
"""Requests a second past which a pace is no pace."""


class Pacer:
    """Starts ``1 / rate`` seconds apart once a 429 has set a rate: each request reserves the next."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate: float | None = None  # requests a second; None: not paced
        self._clock = clock
        self._lock = threading.Lock()
        self._next = 0.0  # the next start free
        self._answers: deque[float] = deque()  # when each answer of the last WINDOW came
        self._floor = 0.0  # the answers' rate when the first 429 came
        self._cut_at = 0.0  # when the pace was last cut: only a request started since cuts it again

    def due(self) -> float | None:
        """When the next request may start (now at the earliest), reserving nothing; None when nothing
        is paced. It can move later while a request waits for it (``sent``, ``hold``)."""
        if self.rate is None:
            return None
        with self._lock:
            return None if self.rate is None else max(self._clock(), self._next)

    def reserve(self) -> float | None:
        """The clock time at which this request may start, or None when nothing is paced (start now)."""
        if self.rate is None:
            return None  # no 429 yet: no lock, no wait
        with self._lock:
            now = self._clock()
            if self.rate is None:
                return None
            at = max(now, self._next)  # a start nobody took is not saved up
            self._next = at + 1.0 / self.rate
            return at

    def sent(self, at: float) -> None:
        """The request started last went out (its last byte written) at the clock time ``at``: the next
        start is due ``1 / rate`` after that when it went out late, not ``1 / rate`` after its turn.
        Against a bucket that saves up one token, a start on time after one that went out late arrives
        less than an interval after it and is refused."""
        with self._lock:
            if self.rate is not None:
                self._next = max(self._next, at + 1.0 / self.rate)

    def spaces(self, delay: float) -> bool:
        """Whether the pace already keeps starts ``delay`` seconds apart: a Retry-After that short
        (a token bucket's time to its next token) asks for nothing the pace does not do."""
        rate = self.rate
        return rate is not None and delay <= 1.0 / rate

    def hold(self, until: float) -> None:
        """The server said to come back at ``until`` (a clock time): no start reserved from now on
        comes before it."""
        with self._lock:
            self._next = max(self._next, until)

    def answered(self) -> None:
        """An answer other than 429 (it took a token, whatever its status): raise the pace a little."""
        with self._lock:
            now = self._clock()
            self._answers.append(now)
            while self._answers[0] <= now - WINDOW:
                self._answers.popleft()
            if self.rate is not None:
                self._set(self.rate * (1 + RAISE))

    def refused(self, start: float | None, retry_after: float | None) -> None:
        """A 429, with the server's Retry-After (seconds, or None), to a request that started at the
        reserved time ``start`` (None: it was sent before there was a pace)."""
        with self._lock:
            # A token bucket's Retry-After is at most one interval; a longer one (60 s) is a pause, which
            # the hold takes care of: as a pace it would space requests a minute apart for good.
            guess = 1 / retry_after if retry_after is not None and 0 < retry_after <= WINDOW else None
            if self.rate is None:
                now = self._clock()
                self._floor = sum(1 for at in self._answers if at > now - WINDOW) / WINDOW
                if guess is not None or self._floor > 0:
                    self._next = max(self._next, now)  # a hold set with this 429 (its Retry-After) stays
                    self._set(max(guess or 0.0, self._floor))
            elif start is not None and start >= self._cut_at:  # once per window, as AdaptiveLimit halves
                self._cut_at = self._clock()
                self._set(self.rate * (1 - CUT))
            elif start is None and guess is not None:  # the rest of the burst the pace came from
                self._set(min(self.rate, max(guess, self._floor)))

    def _set(self, rate: float) -> None:
        self.rate = rate if rate <= UNPACED_ABOVE else None
