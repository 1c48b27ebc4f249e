"""The bounds of one attempt (``api/transfer.py``) on a clock the test moves by hand."""

from __future__ import annotations

import pytest

from reconciler.api import transfer
from reconciler.api.transfer import AttemptTimedOut, TooSlow, Watch


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(transfer.time, "monotonic", fake)
    return fake


def test_before_the_first_byte_only_the_time_per_request_counts(clock: Clock) -> None:
    watch = Watch(until=130.0, min_bytes=1024, window=3.0)
    clock.now = 125.0  # thinking for 25 s is allowed
    assert watch.next_wait() == 5.0
    clock.now = 130.0
    with pytest.raises(AttemptTimedOut):
        watch.next_wait()


def test_slow_headers_end_the_attempt_after_one_window(clock: Clock) -> None:
    watch = Watch(until=130.0, min_bytes=1024, window=3.0)
    watch.received(17)  # the status line
    assert watch.next_wait() == 3.0
    clock.now += 1.0
    watch.received(1)
    assert watch.next_wait() == 2.0
    clock.now += 2.0
    with pytest.raises(
        TooSlow,
        match=r"^the server sent 18 bytes of its response headers in 3 s, under the minimum "
        r"of 1024 bytes per 3 s \(RECONCILER_MIN_TRANSFER_BYTES, "
        r"RECONCILER_TRANSFER_WINDOW\); giving up$",
    ):
        watch.next_wait()


def test_a_window_with_enough_bytes_starts_the_next(clock: Clock) -> None:
    watch = Watch(until=130.0, min_bytes=1024, window=3.0)
    watch.headers_received()
    watch.received(4096)
    clock.now += 3.5
    assert watch.next_wait() == 3.0  # a fresh window from now
    clock.now += 3.0
    with pytest.raises(TooSlow, match=r"^the server sent 0 bytes of the body in 3 s"):
        watch.next_wait()


def test_the_body_is_counted_afresh_after_the_headers(clock: Clock) -> None:
    watch = Watch(until=130.0, min_bytes=1024, window=3.0)
    watch.received(2000)  # headers, at once
    clock.now += 1.0
    watch.headers_received()
    watch.received(1)
    clock.now += 3.0
    with pytest.raises(TooSlow, match=r"^the server sent 1 byte of the body in 3 s"):
        watch.next_wait()


def test_a_window_never_reaches_past_the_time_per_request(clock: Clock) -> None:
    watch = Watch(until=101.0, min_bytes=1024, window=3.0)
    watch.headers_received()
    assert watch.next_wait() == 1.0
