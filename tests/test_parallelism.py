"""``--parallelism N`` bounds the requests in flight (design.md): reads use all N, writes half.

Measured at the emulator: with a latency of L seconds a worker cannot send two requests within L,
so the most requests that arrive within any window shorter than L is the number in flight; and
every worker starts at once when the work is queued, so that most is reached.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from reconciler.emulator import EmulatorServer
from tests.conftest import TEST_API_KEY
from tests.helpers import run_cli

LATENCY_MS = 400
WINDOW_S = 0.2

ASSISTANT = "apiVersion: reconciler/v1\nkind: Assistant\nname: a{i}\nspec:\n  instructions: Help {i}.\n"
CANARY = """apiVersion: reconciler/v1
kind: CanaryDeploy
name: c{i}
spec:
  assistant: a{i}
  versions:
    short:
      instructions: Short {i}.
  rules:
    - serve:
        rollout:
          - version: short
            weight: 10
"""


def most_within(times: list[float], window: float) -> int:
    times = sorted(times)
    return max((sum(1 for t in times[i:] if t - start < window) for i, start in enumerate(times)), default=0)


def arrivals(server: EmulatorServer) -> list[float]:
    """Record when each request reaches the emulator (through its token bucket, set too wide to refuse)."""
    seen: list[float] = []
    buckets = server.app.faults.buckets
    server.set_rate_limit(100_000, burst=100_000)
    take = buckets.take

    def timed(key: str) -> Any:
        seen.append(time.monotonic())
        return take(key)

    buckets.take = timed  # type: ignore[method-assign]
    return seen


def test_reads_use_all_of_parallelism_and_writes_half(tmp_path: Path) -> None:
    for i in range(8):
        (tmp_path / f"a{i}.yaml").write_text(ASSISTANT.format(i=i), encoding="utf-8")
        (tmp_path / f"c{i}.yaml").write_text(CANARY.format(i=i), encoding="utf-8")
    with EmulatorServer(api_key=TEST_API_KEY) as server:
        seen = arrivals(server)
        assert run_cli(["apply", str(tmp_path), "--yes", "--parallelism", "6"], server.base_url).exit_code == 0
        server.set_faults(0.0, latency_ms=LATENCY_MS)
        seen.clear()
        result = run_cli(["apply", str(tmp_path), "--yes", "--parallelism", "6"], server.base_url)
        assert result.exit_code == 0, result.output  # nothing to change: only the plan's 1 + 16 reads
        # At most N at once is the property; the first burst reaching the emulator within the window
        # shows the bound is used (one straggler of a loaded machine is allowed, not a seventh).
        assert len(seen) == 17 and most_within(seen, WINDOW_S) in (5, 6)
        for i in range(8):  # eight updates: writes go three at a time
            (tmp_path / f"a{i}.yaml").write_text(ASSISTANT.format(i=i).replace("Help", "Hello"), encoding="utf-8")
        seen.clear()
        result = run_cli(["apply", str(tmp_path), "--yes", "--parallelism", "6"], server.base_url)
        assert result.exit_code == 0, result.output
        writes = seen[17 + 8:]  # after the plan's reads and the version budget's 8 versions lists
        assert len(writes) >= 8 and most_within(writes, WINDOW_S) in (2, 3)  # all 6 for writes gave 4
