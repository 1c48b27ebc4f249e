"""Every performance target of issue 18, measured in one run on this machine and given as a ratio.

    python benchmarks/targets.py                 # the table in docs/performance.md: about 10 minutes on 2 cores
    python benchmarks/targets.py --quick         # smaller sizes: a smoke run of the script itself

A ratio measured in one run holds on a slower or faster CPU, where a number of seconds would not.
Every command runs as a child process measured as in run.py (wall time, CPU from wait4, peak RSS
from the child itself, calls from the emulator's counters); each emulator runs in this process.

1. **plan vs the hand-written script.** One account of N assistants (N = 1000: 100 with a canary),
   50 ms latency; `reconciler plan --detailed-exitcode` (its default `--parallelism 16`: 16 reads in
   flight, 8 writes) and `httpx_script.py --dry-run` (httpx, 8 threads as issue 18 describes it, the
   C YAML loader, the same 201 calls) take turns R times; the medians are compared. The script with
   16 threads is shown too, for information.
2. **plan vs its bound.** bound = the round trips on the critical path x latency (1 list, then
   ceil(2C/P) rounds of canary reads) + the CPU nobody can avoid: starting Python and importing
   yaml and httpx (`python -c "import yaml, httpx"`, median wall), libyaml scanning every
   manifest into events (the least any YAML reader does), and `json.loads` of every body the plan
   receives. Our median wall over that bound.
3. **apply --local** creating N assistants over the same apply against a standalone emulator
   (local.py).
4. **rate limit**: apply creating M assistants under the emulator's token bucket (burst 1): the
   successful requests per second while the API was in use, over the limit (ratelimit.py).
5. **start-up**: `reconciler --version` and `reconciler validate FILE` over
   `python -c "import yaml, httpx"` (startup.py, medians).
6. **memory**: peak RSS of `reconciler plan` on an account of 5000 assistants.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import local  # noqa: E402
import ratelimit  # noqa: E402
import startup  # noqa: E402
import workload  # noqa: E402
from run import API_KEY, Measure, machine, run_child  # noqa: E402

from reconciler.emulator import EmulatorServer  # noqa: E402


@dataclass(frozen=True)
class Target:
    what: str
    measured: str
    ratio: float
    goal: str
    met: bool


def median_of(measures: Sequence[Measure]) -> Measure:
    return sorted(measures, key=lambda m: m.wall_s)[len(measures) // 2]


def seeded(directory: Path, latency_ms: int, parallelism: int, log: Path) -> EmulatorServer:
    """A running emulator holding what `directory` states, answering with the given latency."""
    server = EmulatorServer(api_key=API_KEY)
    server.start()
    created = run_child(["reconciler", "apply", str(directory), "--yes", "--base-url", server.base_url,
                         "--api-key", API_KEY, "--parallelism", "32"], server, log)
    if created.exit_code != 0:
        server.stop()
        raise SystemExit("seeding failed:\n" + log.read_text(errors="replace")[-3000:])
    server.set_faults(0.0, latency_ms=latency_ms)
    return server


def least_cpu(work: Callable[[], object], repeat: int = 3) -> float:
    best = math.inf
    for _ in range(repeat):
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return best


def scan_cpu(directory: Path) -> float:
    """libyaml turning every manifest into events: the least any YAML reader does."""
    texts = [path.read_bytes() for path in sorted(directory.rglob("*.yaml"))]

    def scan() -> None:
        for text in texts:
            parser = yaml.CLoader(text)
            try:
                while parser.check_event():
                    parser.get_event()
            finally:
                parser.dispose()

    return least_cpu(scan)


def decode_cpu(server: EmulatorServer, canary_assistants: set[str]) -> float:
    """`json.loads` of every body a no-change plan receives (the list, each canary's config and versions)."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    bodies: list[bytes] = []
    server.set_faults(0.0, latency_ms=0)
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=120) as http:
        listed = http.get("/ai/assistants").content
        bodies.append(listed)
        for item in json.loads(listed)["data"]:
            if item["name"] in canary_assistants:
                bodies.append(http.get(f"/ai/assistants/{item['id']}/canary-deploys").content)
                bodies.append(http.get(f"/ai/assistants/{item['id']}/versions").content)
    return least_cpu(lambda: [json.loads(body) for body in bodies])


def plan_targets(n: int, latency_ms: int, parallelism: int, repeat: int, baseline: float, work: Path,
                 log: Path) -> list[Target]:
    manifests = work / f"plan-{n}"
    workload.write_manifests(manifests, n)
    canaries = workload.counts(n)[0]
    ours_argv = ["reconciler", "plan", str(manifests), "--detailed-exitcode", "--parallelism", str(parallelism)]
    script_argv = [str(HERE / "httpx_script.py"), str(manifests), "--dry-run", "--threads", "8"]
    script16_argv = [*script_argv[:-1], "16"]
    server = seeded(manifests, latency_ms, parallelism, log)
    try:
        connection = ["--base-url", server.base_url, "--api-key", API_KEY]
        ours: list[Measure] = []
        script: list[Measure] = []
        script16: list[Measure] = []
        run_child([*ours_argv, *connection], server, log)  # warm-up: bytecode caches, the page cache
        run_child([*script_argv, *connection], server, log)
        for _ in range(repeat):
            ours.append(run_child([*ours_argv, *connection], server, log))
            script.append(run_child([*script_argv, *connection], server, log))
            script16.append(run_child([*script16_argv, *connection], server, log))
        if any(m.exit_code != 0 for m in ours + script + script16):
            raise SystemExit("a plan found changes or failed:\n" + log.read_text(errors="replace")[-3000:])
        names = {workload.assistant_name(i) for i in range(n) if workload.has_canary(i)}
        decode = decode_cpu(server, names)
    finally:
        server.stop()
    mine, theirs, theirs16 = median_of(ours), median_of(script), median_of(script16)
    trips = 1 + math.ceil(2 * canaries / parallelism)
    scan = scan_cpu(manifests)
    bound = trips * latency_ms / 1000 + baseline + scan + decode
    speedup = theirs.wall_s / mine.wall_s
    over_bound = mine.wall_s / bound
    return [
        Target(
            f"no-change plan, N = {n}, {latency_ms} ms, vs the httpx script (median of {repeat})",
            f"ours {mine.wall_s:.2f} s ({mine.cpu_s:.2f} s CPU, {mine.calls} calls); "
            f"script {theirs.wall_s:.2f} s ({theirs.cpu_s:.2f} s CPU, {theirs.calls} calls)",
            speedup, "script / ours >= 1.3", speedup >= 1.3,
        ),
        Target(
            "(for information) the same script with 16 threads, as many reads in flight as our plan",
            f"script {theirs16.wall_s:.2f} s ({theirs16.cpu_s:.2f} s CPU)",
            theirs16.wall_s / mine.wall_s, "-", True,
        ),
        Target(
            f"no-change plan, N = {n}, vs network bound + unavoidable CPU",
            f"bound {bound:.2f} s = {trips} round trips x {latency_ms} ms + start-up {baseline:.2f} s "
            f"+ libyaml scan {scan:.2f} s + json.loads {decode:.2f} s",
            over_bound, "ours / bound <= 1.5", over_bound <= 1.5,
        ),
    ]


def local_target(n: int, parallelism: int) -> Target:
    local_wall, local_cpu, remote_wall, _ = local.bench(n, parallelism)
    ratio = local_wall / remote_wall
    return Target(
        f"apply --local creating {n} assistants vs a standalone emulator",
        f"--local {local_wall:.2f} s ({local_cpu:.2f} s CPU); standalone {remote_wall:.2f} s",
        ratio, "local / standalone <= 1.5", ratio <= 1.5,
    )


def rate_targets(n: int, rate: float, latency_ms: int, parallelism: int) -> list[Target]:
    """Burst 1 (the strictest bucket: a request arriving a few ms early finds no token) and burst 5."""
    out = []
    for burst in (1.0, 5.0):
        run = ratelimit.measure(n, rate, latency_ms, parallelism, burst=burst)
        share = run.paced / rate
        ok = run.exit_code == 0 and run.made == n and share >= 0.9
        out.append(Target(
            f"apply under a token bucket of {rate:g}/s, burst {burst:g}, {n} assistants",
            f"{run.paced:.2f}/s while the API was in use; {run.throttled} of {run.requests} requests answered "
            f"429; exit {run.exit_code}, {run.made}/{n} made",
            share, ">= 0.90 of the limit, nothing failed", ok,
        ))
    return out


def startup_targets(runs: int) -> tuple[float, list[Target]]:
    """The baseline's median wall (seconds), and a target per command startup.py holds to it."""
    cmds = startup.measure(runs, HERE.parent, None, bytecode=True)
    baseline = statistics.median(cmds[0].walls)
    out = []
    for command in cmds[1:]:
        if command.target:
            wall = statistics.median(command.walls)
            out.append(Target(f"start-up: `{command.label}` (median of {runs})",
                              f"{wall * 1000:.0f} ms; baseline {baseline * 1000:.0f} ms", wall / baseline,
                              "<= 1.5x `python -c 'import yaml, httpx'`", wall / baseline <= 1.5))
    return baseline, out


def memory_target(n: int, parallelism: int, work: Path, log: Path) -> Target:
    manifests = work / f"memory-{n}"
    workload.write_manifests(manifests, n)
    server = seeded(manifests, 0, parallelism, log)
    try:
        plan = run_child(["reconciler", "plan", str(manifests), "--detailed-exitcode", "--base-url",
                          server.base_url, "--api-key", API_KEY], server, log)
    finally:
        server.stop()
    total = plan.rss_mb + plan.children_rss_mb  # the loading child's pages shared with the command count twice
    return Target(f"peak memory of a no-change plan, N = {n}",
                  f"{plan.rss_mb:.0f} MB RSS + {plan.children_rss_mb:.0f} MB its loading child, exit {plan.exit_code}",
                  total / 300, "command + child < 300 MB", total < 300 and plan.exit_code == 0)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Issue 18's performance targets, as ratios from one run.")
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the script, not the targets")
    parser.add_argument("--repeat", type=int, default=5, help="plan runs per tool (medians) [5]")
    args = parser.parse_args(argv)
    n, local_n, rate_n, memory_n, runs = (1000, 1000, 200, 5000, 15) if not args.quick else (50, 50, 20, 100, 3)
    latency_ms, parallelism = 50, 16  # reconciler's default: 16 requests in flight, writes 8 of them
    print(f"Machine: {machine()}. Started {time.strftime('%Y-%m-%d %H:%M')}.\n", flush=True)
    targets: list[Target] = []
    with tempfile.TemporaryDirectory(prefix="bench-targets-") as tmp:
        work = Path(tmp)
        log = work / "log.txt"
        # Installed packages have their bytecode (pip writes it); this sandbox sets PYTHONDONTWRITEBYTECODE.
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        baseline, startup_rows = startup_targets(runs)
        targets += plan_targets(n, latency_ms, parallelism, args.repeat, baseline, work, log)
        targets += startup_rows
        targets.append(local_target(local_n, parallelism))
        targets += rate_targets(rate_n, 20.0, latency_ms, parallelism)
        targets.append(memory_target(memory_n, parallelism, work, log))
    print("| target | measured | ratio | goal | met |")
    print("|---|---|---:|---|---|")
    for t in targets:
        met = "-" if t.goal == "-" else "yes" if t.met else "**no**"
        print(f"| {t.what} | {t.measured} | {t.ratio:.2f} | {t.goal} | {met} |")
    return 0 if all(t.met for t in targets) else 1


if __name__ == "__main__":
    raise SystemExit(main())
