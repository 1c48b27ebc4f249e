"""Idempotency keys expire after IDEMPOTENCY_WINDOW_SECONDS; expired ones are deleted by a scan that runs
at most once per IDEMPOTENCY_SWEEP_SECONDS, and an expired key not yet deleted is never replayed."""

from __future__ import annotations

import pytest

from reconciler.emulator import state
from reconciler.emulator.state import IDEMPOTENCY_SWEEP_SECONDS as SWEEP
from reconciler.emulator.state import IDEMPOTENCY_WINDOW_SECONDS as WINDOW
from reconciler.emulator.store import Store


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(state.time, "time", fake)
    return fake


def keyed_create(store: Store, key: str) -> str:
    status, body = store.once(key, lambda: (200, store.create_assistant({"name": key, "instructions": "i"})))
    assert status == 200
    return str(body["id"])


def test_expired_keys_are_deleted_by_a_sweep_at_most_once_a_minute(clock: Clock) -> None:
    store = Store()
    start = clock.now
    keyed_create(store, "a")
    clock.now = start + WINDOW + 10  # "a" expired; the last sweep was long ago
    keyed_create(store, "b")
    assert set(store._idempotency) == {"b"}
    clock.now = start + WINDOW + 20  # too soon for another sweep
    keyed_create(store, "c")
    clock.now = start + 2 * WINDOW + 15  # "b" expired, "c" not; a minute since the last sweep has passed
    keyed_create(store, "d")
    assert set(store._idempotency) == {"c", "d"}


def test_an_expired_key_not_yet_swept_is_not_replayed(clock: Clock) -> None:
    store = Store()
    start = clock.now
    first = keyed_create(store, "k")
    clock.now = start + WINDOW - 30
    keyed_create(store, "other")  # sweeps; "k" is not expired yet
    clock.now = start + WINDOW + 1  # "k" expired 1 s ago; the last sweep was 31 s ago
    assert "k" in store._idempotency
    store._idempotency["stale"] = {"status": 200, "body": {}, "at": start - WINDOW}
    again = keyed_create(store, "k")
    assert "stale" in store._idempotency  # no scan this soon after the last one
    assert again != first
    assert keyed_create(store, "k") == again  # and the new answer is what the key replays now
    assert clock.now - start - (WINDOW - 30) < SWEEP


def test_a_clock_set_back_still_sweeps(clock: Clock) -> None:
    store = Store()
    start = clock.now
    keyed_create(store, "a")
    clock.now = start + WINDOW + 10
    keyed_create(store, "b")  # sweep at start + WINDOW + 10
    store._idempotency["old"] = {"status": 200, "body": {}, "at": start - WINDOW}
    clock.now = start + WINDOW  # 10 s back
    keyed_create(store, "c")
    assert "old" not in store._idempotency
