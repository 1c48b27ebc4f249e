"""The pace of request starts learned from 429s (api/pacing.py), and how AdaptiveLimit uses it.

Deterministic: an injected clock, no sleeps. The last test runs the pacer against the emulator's own
token bucket (on the same fake clock) with arrivals that come up to 2 ms late.
"""

from __future__ import annotations

import random

import pytest

from reconciler.api.pacing import CUT, RAISE, Pacer
from reconciler.api.throttle import AdaptiveLimit
from reconciler.emulator.ratelimit import TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_nothing_is_paced_before_a_429() -> None:
    pacer = Pacer(Clock())
    for _ in range(100):
        assert pacer.reserve() is None
        pacer.answered()
    assert pacer.rate is None


def test_the_first_429_paces_at_one_request_per_retry_after() -> None:
    clock = Clock()
    pacer = Pacer(clock)
    pacer.refused(None, 0.05)  # a token bucket's next token is 50 ms away: 20 a second
    assert pacer.rate == pytest.approx(20)
    starts = [pacer.reserve() for _ in range(3)]
    assert starts == pytest.approx([100.0, 100.05, 100.1])  # reserved back to back, 1/20 s apart
    clock.now = 105.0
    assert pacer.reserve() == 105.0  # a start nobody took is not saved up


def test_the_answers_rate_is_a_guess_too() -> None:
    """A Retry-After in whole seconds says little; the answers of the last second say more."""
    clock = Clock()
    pacer = Pacer(clock)
    for _ in range(30):
        clock.now += 0.02
        pacer.answered()
    pacer.refused(None, 1.0)
    assert pacer.rate == pytest.approx(30)  # 30 answers in the last second, not 1 a second


def test_the_rest_of_the_first_burst_narrows_the_guess() -> None:
    pacer = Pacer(Clock())
    pacer.refused(None, 0.01)  # the first 429 came just before a token: 100 a second is too fast
    assert pacer.rate == pytest.approx(100)
    pacer.refused(None, 0.04)  # requests sent before the pace, answered 429 after it was set
    pacer.refused(None, 0.02)
    assert pacer.rate == pytest.approx(25)  # the longest Retry-After is nearest to the interval


def test_each_429_to_a_paced_request_cuts_and_each_answer_raises() -> None:
    pacer = Pacer(Clock())
    pacer.refused(None, 0.05)
    start = pacer.reserve()
    pacer.refused(start, 0.01)
    assert pacer.rate == pytest.approx(20 * (1 - CUT))
    pacer.answered()
    assert pacer.rate == pytest.approx(20 * (1 - CUT) * (1 + RAISE))


def test_the_pace_is_cut_once_per_window() -> None:
    """Requests started at the old pace say nothing new when they are refused after the cut."""
    clock = Clock()
    pacer = Pacer(clock)
    pacer.refused(None, 0.05)
    early = [pacer.reserve() for _ in range(3)]
    clock.now += 0.2
    for start in early:  # three in flight at 20 a second, all refused: one cut
        pacer.refused(start, 0.01)
    assert pacer.rate == pytest.approx(20 * (1 - CUT))
    pacer.refused(pacer.reserve(), 0.01)  # started after the cut: that is news
    assert pacer.rate == pytest.approx(20 * (1 - CUT) ** 2)


def test_a_long_retry_after_is_a_pause_not_a_pace() -> None:
    """Retry-After: 60 with no answers to go on would have paced one request a minute for good."""
    pacer = Pacer(Clock())
    pacer.refused(None, 60.0)
    assert pacer.rate is None and pacer.reserve() is None


def test_a_429_to_a_request_from_before_the_cut_leaves_the_pace() -> None:
    """Only the first burst's 429s (sent before any pace) may lower the pace to their Retry-After."""
    clock = Clock()
    pacer = Pacer(clock)
    pacer.refused(None, 0.05)
    old = pacer.reserve()
    clock.now += 0.1
    pacer.refused(pacer.reserve(), 0.01)  # a cut: 20 -> 19
    pacer.refused(old, 1.0)  # started before that cut: says nothing new, and 1/s is no guess
    assert pacer.rate == pytest.approx(20 * (1 - CUT))


def test_without_429s_the_pace_grows_until_it_is_dropped() -> None:
    pacer = Pacer(Clock())
    pacer.refused(None, 0.05)
    for _ in range(3000):
        pacer.answered()
    assert pacer.rate is None and pacer.reserve() is None


def test_a_long_retry_after_holds_every_start_a_short_one_is_the_pace() -> None:
    clock = Clock()
    pacer = Pacer(clock)
    pacer.refused(None, 0.05)
    assert pacer.spaces(0.05) and not pacer.spaces(2.0)
    pacer.hold(clock.now + 2.0)
    assert pacer.reserve() == pytest.approx(102.0)


class TestAdaptiveLimitWithAPace:
    def test_a_429_cuts_the_pace_not_the_concurrency(self) -> None:
        """Once paced, halving the requests in flight only costs throughput: at one in flight and
        50 ms a request no pace above 20 a second can be kept."""
        limit = AdaptiveLimit(8, Clock())
        limit.throttled(limit.epoch, retry_after=0.05)  # the first: halves, as before
        limit.pacer.refused(None, 0.05)
        assert limit.limit == 4
        limit.throttled(limit.epoch, retry_after=0.05)
        assert limit.limit == 4

    def test_a_retry_after_within_the_pace_holds_nobody(self) -> None:
        clock = Clock()
        limit = AdaptiveLimit(8, clock)
        limit.pacer.refused(None, 0.05)
        limit.throttled(limit.epoch, retry_after=0.04)  # the pace spaces starts 50 ms apart anyway
        assert limit.held_for() == 0.0
        limit.throttled(limit.epoch, retry_after=3.0)
        assert limit.held_for() == pytest.approx(3.0)
        assert limit.pacer.reserve() == pytest.approx(103.0)



def _offer(buckets: TokenBuckets, pacer: Pacer, start: float | None) -> bool:
    """A request reaching the bucket now: the pacer hears the answer; True when it was taken."""
    wait = buckets.take("key")
    if wait is None:
        pacer.answered()
    else:
        pacer.refused(start, wait)
    return wait is None


def test_against_a_token_bucket_the_pace_settles_just_under_it() -> None:
    """One request at a time, always one waiting, each arriving 0 to 2 ms after its start (the jitter
    of a network and a machine), against 20 a second saved up one at a time: after the first second,
    few 429s and over 90% of the limit. The jitter sets the ceiling: two starts must arrive at least
    50 ms apart, so a pace that allows 2 ms of it can be at most 1 / 52 ms, 96% of the limit."""
    clock = Clock()
    buckets = TokenBuckets(clock)
    buckets.configure(20, burst=1)
    pacer = Pacer(clock)
    jitter = random.Random(5)
    outcomes: list[tuple[float, bool]] = []
    while clock.now < 160.0:
        start = pacer.reserve()
        sent = max(clock.now, start) if start is not None else clock.now
        clock.now = sent + jitter.uniform(0, 0.002)
        outcomes.append((clock.now, _offer(buckets, pacer, start)))
        clock.now = max(clock.now, sent + 0.001)  # the next request is ready a millisecond later
    settled = [ok for at, ok in outcomes if at > 101.0]
    answered = sum(settled)
    assert answered / 59.0 >= 0.9 * 20  # 92% of the limit (1082 answers in 59 s)
    assert len(settled) - answered <= 0.06 * len(settled)  # and one request in 20 refused (53 of 1135)


def test_a_request_that_went_out_late_pushes_the_next_start_back() -> None:
    """The bucket counts from when requests arrive: after one that went out 4 ms late, the next due on
    time would arrive 46 ms after it, and a bucket of one token refuses it."""
    clock = Clock()
    pacer = Pacer(clock)
    pacer.refused(None, 0.05)  # 20 a second
    assert pacer.reserve() == 100.0
    assert pacer.due() == pytest.approx(100.05)
    clock.now = 100.004
    pacer.sent(100.004)  # its thread woke late, or its write was slow
    assert pacer.due() == pytest.approx(100.054)
    pacer.sent(100.001)  # an earlier departure moves nothing forward
    assert pacer.due() == pytest.approx(100.054)
    clock.now = 100.2
    assert pacer.due() == 100.2  # due now at the earliest: nothing is reserved by asking


def paced_against_a_bucket(chained: bool, seed: int) -> tuple[float, float]:
    """One request waiting for its turn at a time, as the client does; four in five go out within a
    millisecond of their turn, one in five 3 to 8 ms late (a thread that woke late, a slow write), and
    each arrives up to half a millisecond after it went out, at 20 a second saved up one at a time.
    The share of the limit used and of the requests refused, after the first second."""
    clock = Clock()
    buckets = TokenBuckets(clock)
    buckets.configure(20, burst=1)
    pacer = Pacer(clock)
    draw = random.Random(seed)
    outcomes: list[tuple[float, bool]] = []
    while clock.now < 160.0:
        due = pacer.due()
        clock.now = max(clock.now, due) if due is not None else clock.now
        start = pacer.reserve()
        went = clock.now + (draw.uniform(0, 0.001) if draw.random() < 0.8 else draw.uniform(0.003, 0.008))
        if chained and start is not None:
            pacer.sent(went)
        clock.now = went + draw.uniform(0, 0.0005)
        outcomes.append((clock.now, _offer(buckets, pacer, start)))
    settled = [ok for at, ok in outcomes if at > 101.0]
    return sum(settled) / 59.0 / 20, (len(settled) - sum(settled)) / len(settled)


def test_counting_the_pace_from_departures_keeps_it_near_the_limit() -> None:
    """Late departures: paced from their turns, an on-time start after a late one is refused, the pace
    is cut for it and settles at 85% of the limit; paced from when each went out, at 91% (both with
    the one refusal in twenty the cuts and raises settle at)."""
    for seed in range(3):
        used, refused = paced_against_a_bucket(chained=True, seed=seed)
        assert used >= 0.9 and refused <= 0.05
        assert paced_against_a_bucket(chained=False, seed=seed)[0] < 0.87


def test_the_first_429_keeps_the_hold_its_retry_after_set() -> None:
    """The client holds everything for a long Retry-After, then tells the pacer of the 429: the pace that
    begins must not start before the hold ends (it restarted at 'now', and only the client's own check of
    the hold kept requests back)."""
    clock = Clock()
    pacer = Pacer(clock)
    pacer.hold(103.0)  # what AdaptiveLimit.throttled does with a Retry-After of 3 s, before any pace
    pacer.refused(None, 0.05)
    assert pacer.due() == 103.0
    assert pacer.reserve() == 103.0
