"""The adaptive concurrency bound, and the client's use of it and of parallel page reads."""

from __future__ import annotations

import threading
import time
from typing import Any

from reconciler.api.client import TelnyxClient
from reconciler.api.throttle import AdaptiveLimit
from tests.helpers import API_KEY


class TestAdaptiveLimit:
    def test_a_429_halves_and_successes_grow_it_back_one_step_at_a_time(self) -> None:
        limit = AdaptiveLimit(8)
        limit.throttled()
        assert limit.limit == 4
        limit.throttled()
        limit.throttled()
        limit.throttled()
        assert limit.limit == 1
        limit.succeeded()
        assert limit.limit == 2
        for _ in range(2):
            limit.succeeded()
        assert limit.limit == 3
        for _ in range(100):
            limit.succeeded()
        assert limit.limit == 8  # never above the ceiling

    def test_never_more_in_flight_than_the_limit(self) -> None:
        limit = AdaptiveLimit(3)
        limit.throttled()  # down to 1
        peak = [0]
        current = [0]
        guard = threading.Lock()

        def work() -> None:
            with limit:
                with guard:
                    current[0] += 1
                    peak[0] = max(peak[0], current[0])
                time.sleep(0.005)
                with guard:
                    current[0] -= 1

        threads = [threading.Thread(target=work) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert peak[0] == 1


def test_paged_lists_read_every_page_once(emulator: Any, sdk: Any) -> None:
    for index in range(230):
        sdk.ai.tools.create(display_name=f"tool-{index:03d}", type="webhook",
                            webhook={"name": f"t{index}", "description": "d", "url": "https://x.example"})
    emulator.reset_stats()
    with TelnyxClient(emulator.base_url, API_KEY, max_connections=4) as client:
        tools = client.list_tools()
    assert sorted(t["display_name"] for t in tools) == [f"tool-{i:03d}" for i in range(230)]
    assert emulator.stats()["by_route"] == {"GET /v2/ai/tools": 3}
