"""apply under the emulator's token bucket: how close to the limit its throughput comes, and what fails.

An in-process emulator limits the API key to R requests a second (`EmulatorServer(rate_limit=R)`, burst 1,
so no saved-up tokens flatter the result) with the given latency; `reconciler apply` creates the benchmark
workload's N assistants (1 + 1.2N calls). Throughput is the successful requests over the apply's wall
time; the target is at least 90% of R with no request failing for good (exit 0, every write made).

    python benchmarks/ratelimit.py --n 200 --rate 20 --latency-ms 50
    CHILD_PYTHONPATH=/path/to/other/tree python benchmarks/ratelimit.py   # the same against another tree
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from workload import counts, write_manifests  # noqa: E402

from reconciler.emulator import EmulatorServer  # noqa: E402

KEY = "KEYbenchmarkratelimit0123456789"


@dataclass(frozen=True)
class RateRun:
    """One apply under the bucket: what happened and how fast the API was used."""

    exit_code: int
    made: int
    tail: str
    requests: int
    throttled: int
    wall: float
    span: float
    """Seconds from the first token taken to the last: the API traffic."""
    paced: float
    """Requests a second past the burst, over that span."""

    @property
    def succeeded(self) -> int:
        return self.requests - self.throttled


def measure(n: int, rate: float, latency_ms: int, parallelism: int, burst: float) -> RateRun:
    """`reconciler apply` creating the workload's N assistants against an emulator limited to `rate`."""
    env = dict(os.environ)
    if os.environ.get("CHILD_PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["CHILD_PYTHONPATH"]
    with (
        tempfile.TemporaryDirectory(prefix="bench-ratelimit-") as tmp,
        EmulatorServer(api_key=KEY, latency_ms=latency_ms, rate_limit=rate) as server,
    ):
        server.set_rate_limit(rate, burst=burst)
        buckets = server.app.faults.buckets
        taken: list[float] = []  # when each request got its token: the span of the API traffic
        take = buckets.take

        def timed_take(key: str) -> float | None:
            wait = take(key)
            if wait is None:
                taken.append(time.monotonic())
            return wait

        buckets.take = timed_take  # type: ignore[method-assign]
        work = Path(tmp)
        write_manifests(work / "manifests", n)
        argv = [sys.executable, "-m", "reconciler", "apply", str(work / "manifests"), "--yes",
                "--parallelism", str(parallelism), "--base-url", server.base_url, "--api-key", KEY]
        start = time.perf_counter()
        with (work / "output.txt").open("wb") as out:
            code = subprocess.run(
                argv, cwd=work, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, check=False
            ).returncode
        wall = time.perf_counter() - start
        stats, bucket = server.stats(), server.faults()["token_bucket"]
        made = len(server.store.assistants)
        tail = (work / "output.txt").read_text(errors="replace").strip().splitlines()[-1:]
    span = taken[-1] - taken[0]
    return RateRun(code, made, tail[0] if tail else "", stats["total"], bucket["throttled"], wall, span,
                   (len(taken) - burst) / span)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="reconciler apply under a token-bucket rate limit.")
    parser.add_argument("--n", type=int, default=200, help="assistants to create [200]")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second per key [20]")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--parallelism", type=int, default=16, help="reconciler --parallelism [16: 8 writes]")
    parser.add_argument("--burst", type=float, default=1.0, help="tokens a key can save up [1]")
    args = parser.parse_args(argv)
    run = measure(args.n, args.rate, args.latency_ms, args.parallelism, args.burst)
    canaries = counts(args.n)[0]
    print(
        f"apply creating {args.n} assistants (+{2 * canaries} canary writes) at {args.rate:g}/s, "
        f"{args.latency_ms} ms, parallelism {args.parallelism}"
    )
    print(f"exit {run.exit_code}; assistants made {run.made}/{args.n}; {run.tail}")
    print(
        f"requests {run.requests} ({run.throttled} answered 429), {run.succeeded} succeeded; apply wall "
        f"{run.wall:.2f} s (start-up and loading included: {run.succeeded / run.wall / args.rate:.0%} of the limit)"
    )
    print(
        f"API traffic: first to last token {run.span:.2f} s, {run.paced:.2f}/s past the burst = "
        f"{run.paced / args.rate:.0%} of the limit"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
