"""End-to-end benchmark: reconciler vs. a plain SDK script, against the emulator behind a set latency.

    python benchmarks/run.py                          # sizes 100,1000 at 50 ms (about 5 minutes on 2 cores)
    python benchmarks/run.py --sizes 100,1000,5000 --latency-ms 50 --out results.md
    python benchmarks/run.py --quick                  # smoke run: 20 assistants, 10 ms

Exit status 1 when a run exited unexpectedly or made other calls than the documented formula.

How it measures: the emulator runs in this process (its own port, a background thread); every tool
run is a child process (``reconciler ...`` or ``python benchmarks/sdk_baseline.py ...``, started
through ``peak.py``); its wall time and CPU time (user + system) come from ``os.wait4`` on that
child alone, its peak RSS from the child's own VmHWM (wait4's ``ru_maxrss`` would include this
process's size, see ``peak.py``). API calls are the delta of the emulator's request counters.
The emulator shares the machine's cores with the child.

Scenarios, per size N (manifests from ``workload.py``; 10% carry a CanaryDeploy):
  create   apply to an empty account
  plan     plan with nothing to change (``--detailed-exitcode`` must exit 0)
  drift    drift with nothing drifted (must exit 0)
  update   apply after editing the instructions of 10% of the assistants (none with a canary)
The SDK script runs the same scenarios on a second, fresh emulator; it has no plan or drift, so
its ``--dry-run`` (all reads and comparisons, no writes) stands for both.

The SDK script's per-manifest lookup lists every assistant once per manifest, so it costs O(N^2)
bytes (1000 assistants: about 15 minutes for its three runs). By default it runs only up to
``--sdk-per-manifest-max`` (100); larger sizes use the list-once variant alone. ``--sdk-lookup none``
measures reconciler only (e.g. for 5000).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import workload  # noqa: E402

from reconciler.emulator import EmulatorServer  # noqa: E402

API_KEY = "bench-key"
RUN_TIMEOUT_S = 3600.0
"""A child still running after this is killed: every run is bounded."""
SCENARIOS = ("create", "plan", "drift", "update")


@dataclass(frozen=True)
class Measure:
    calls: int
    writes: int
    wall_s: float
    cpu_s: float
    rss_mb: float
    exit_code: int
    children_rss_mb: float = 0.0
    """The largest peak of a process the program forked (``peak.py``): with ``rss_mb``, an upper bound."""


def _peak(measure: Measure) -> str:
    """Peak RSS for the tables: the program's, plus the child it forked to load manifests when it did."""
    extra = f" + {measure.children_rss_mb:.0f}" if measure.children_rss_mb >= 1 else ""
    return f"{measure.rss_mb:.0f}{extra}"


def run_child(argv: Sequence[str], server: EmulatorServer, log: Path) -> Measure:
    """Run one program (``reconciler`` or a script) to completion in a child process.

    CPU time comes from wait4, peak memory from the child itself (``peak.py``: wait4's ru_maxrss
    would report this process's size, emulator included), calls from the emulator's counters.
    """
    before = server.stats()
    env = {**os.environ, "NO_COLOR": "1"}
    peak_file = log.with_name("peak.txt")
    peak_file.unlink(missing_ok=True)
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(argv)}\n".encode())
        out.flush()
        start = time.perf_counter()
        launch = [sys.executable, str(HERE / "peak.py"), str(peak_file), *argv]
        proc = subprocess.Popen(launch, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        timer = threading.Timer(RUN_TIMEOUT_S, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    after = server.stats()
    peaks = peak_file.read_text(encoding="ascii").split()
    return Measure(
        calls=after["total"] - before["total"],
        writes=after["writes"] - before["writes"],
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        rss_mb=float(peaks[0]),
        children_rss_mb=float(peaks[1]) if len(peaks) > 1 else 0.0,
        exit_code=proc.returncode,
    )


@dataclass(frozen=True)
class Expect:
    """What a scenario should cost: API calls by formula and the critical-path lower bound."""

    calls: int
    round_trips: int


def expected(scenario: str, n: int, parallelism: int) -> Expect:
    """Our calls and round trips for the workload (1 candidate version per canary, no shared tools/MCP).

    plan reads: 1 assistants list + 2 per canary assistant (canary config, versions), those 2C
    spread over P workers after the list. apply create: the list (the account is empty, so no
    canary reads), then N creates, C candidate versions and C canary configs, stage by stage.
    apply update: the plan's reads, a versions list per updated assistant (the version budget,
    after those reads), then for each of the U updates a read of the assistant right before its
    write (the check that it did not move since the plan) and the write.
    """
    canaries, updated = workload.counts(n)
    writers = max(1, parallelism // 2)  # reads use all of --parallelism, writes half of it
    reads = 1 + 2 * canaries
    read_trips = 1 + math.ceil(2 * canaries / parallelism)
    if scenario in ("plan", "drift"):
        return Expect(reads, read_trips)
    if scenario == "create":
        trips = 1 + math.ceil(n / writers) + 2 * math.ceil(canaries / writers)
        return Expect(1 + n + 2 * canaries, trips)
    return Expect(reads + 3 * updated,
                  read_trips + math.ceil(updated / parallelism) + 2 * math.ceil(updated / writers))


def sdk_expected(scenario: str, n: int, lookup: str) -> int:
    """The SDK script's calls: it is sequential, so each call is a round trip."""
    canaries, updated = workload.counts(n)
    finds = (n + canaries) if lookup == "per-manifest" else 1
    reads = finds + 2 * canaries  # + versions list and canary retrieve per canary
    if scenario == "create":
        return reads + n + 2 * canaries
    if scenario == "update":
        return reads + updated
    return reads


@dataclass(frozen=True)
class Row:
    n: int
    scenario: str
    ours: Measure
    sdk: dict[str, Measure]
    expect: Expect


def bench_size(n: int, latency_ms: int, parallelism: int, lookups: Sequence[str], work: Path,
               log: Path) -> list[Row]:
    """Every scenario for one size: ours on one emulator, then each SDK variant on a fresh one."""
    base, updated = work / f"n{n}" / "base", work / f"n{n}" / "updated"
    workload.write_manifests(base, n)
    workload.write_manifests(updated, n, updated=True)
    reconciler = "reconciler"
    ours: dict[str, Measure] = {}
    with EmulatorServer(api_key=API_KEY, latency_ms=latency_ms) as server:
        conn = ["--base-url", server.base_url, "--api-key", API_KEY, "--parallelism", str(parallelism)]
        steps = {
            "create": ["apply", str(base), "--yes"],
            "plan": ["plan", str(base), "--detailed-exitcode"],
            "drift": ["drift", str(base)],
            "update": ["apply", str(updated), "--yes"],
        }
        for scenario in SCENARIOS:
            print(f"  N={n} ours {scenario} ...", file=sys.stderr, flush=True)
            ours[scenario] = run_child([reconciler, *steps[scenario], *conn], server, log)
    sdk: dict[str, dict[str, Measure]] = {s: {} for s in SCENARIOS}
    script = [str(HERE / "sdk_baseline.py")]
    for lookup in lookups:
        with EmulatorServer(api_key=API_KEY, latency_ms=latency_ms) as server:
            conn = ["--base-url", server.base_url, "--api-key", API_KEY, "--lookup", lookup]
            for scenario, target, extra in (("create", base, []), ("plan", base, ["--dry-run"]),
                                            ("update", updated, [])):
                print(f"  N={n} sdk ({lookup}) {scenario} ...", file=sys.stderr, flush=True)
                sdk[scenario][lookup] = run_child([*script, str(target), *conn, *extra], server, log)
            sdk["drift"][lookup] = sdk["plan"][lookup]
    return [Row(n, s, ours[s], sdk[s], expected(s, n, parallelism)) for s in SCENARIOS]


TITLES = {
    "create": "apply, creating everything (empty account)",
    "plan": "plan, nothing to change",
    "drift": "drift, nothing drifted",
    "update": "apply, updating 10% of the assistants",
}
EXPECTED_EXIT = {"create": 0, "plan": 0, "drift": 0, "update": 0}


def render(rows: Sequence[Row], latency_ms: int, parallelism: int, lookups: Sequence[str]) -> str:
    """One markdown table per scenario: ours vs each SDK variant, ratios, and our lower bound."""
    out: list[str] = []
    for scenario in SCENARIOS:
        out.append(f"### {TITLES[scenario]}\n")
        if scenario == "drift" and lookups:
            out.append("The SDK script has no drift; its rows are the same `--dry-run` as for plan.\n")
        out.append("| N | tool | API calls (writes) | expected calls | wall s | CPU s | "
                   "peak RSS MB (+ loading child) | wall vs ours | lower bound s | wall / bound |")
        out.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for row in (r for r in rows if r.scenario == scenario):
            m, bound = row.ours, row.expect.round_trips * latency_ms / 1000
            flag = "" if m.exit_code == EXPECTED_EXIT[scenario] else f" (exit {m.exit_code}!)"
            out.append(
                f"| {row.n} | reconciler{flag} | {m.calls} ({m.writes}) | {row.expect.calls} | {m.wall_s:.2f} | "
                f"{m.cpu_s:.2f} | {_peak(m)} | 1.0x | {bound:.2f} ({row.expect.round_trips} RT) | "
                f"{m.wall_s / bound:.1f}x |"
            )
            for lookup in lookups:
                if lookup not in row.sdk:
                    continue
                s = row.sdk[lookup]
                sflag = "" if s.exit_code == 0 else f" (exit {s.exit_code}!)"
                calls = sdk_expected(scenario, row.n, lookup)
                floor = calls * latency_ms / 1000
                out.append(
                    f"| {row.n} | SDK script, lookup {lookup}{sflag} | {s.calls} ({s.writes}) | {calls} | "
                    f"{s.wall_s:.2f} | {s.cpu_s:.2f} | {_peak(s)} | {s.wall_s / m.wall_s:.1f}x slower | "
                    f"{floor:.2f} (sequential) | {s.wall_s / floor:.1f}x |"
                )
        out.append("")
    out.append(f"Latency {latency_ms} ms per request; reconciler `--parallelism {parallelism}`. "
               "RT = round trips on the critical path; lower bound = RT x latency.")
    return "\n".join(out) + "\n"


def machine() -> str:
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return (f"{os.cpu_count()} cores, {mem_kb / 1024 / 1024:.1f} GiB RAM, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="reconciler vs. a plain SDK script against the emulator.")
    parser.add_argument("--sizes", default="100,1000", help="comma-separated assistant counts [100,1000]")
    parser.add_argument("--latency-ms", type=int, default=50, help="emulator latency per request [50]")
    parser.add_argument("--parallelism", type=int, default=16,
                        help="reconciler --parallelism [16, its default: 16 reads or 8 writes at once]")
    parser.add_argument("--sdk-lookup", choices=["per-manifest", "once", "both", "none"], default="both",
                        help="how the SDK script finds an assistant by name [both]")
    parser.add_argument("--sdk-per-manifest-max", type=int, default=100,
                        help="run the O(N^2) per-manifest lookup only up to this size [100]")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20 assistants at 10 ms")
    parser.add_argument("--out", type=Path, default=None, help="also write the tables (markdown) here")
    args = parser.parse_args(argv)
    sizes = [20] if args.quick else [int(s) for s in args.sizes.split(",") if s.strip()]
    latency = 10 if args.quick else args.latency_ms
    lookups = {"both": ["per-manifest", "once"], "none": []}.get(args.sdk_lookup, [args.sdk_lookup])
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="reconciler-bench-") as tmp:
        work = Path(tmp)
        log = work / "children.log"
        try:
            for n in sizes:
                here = [lk for lk in lookups if lk != "per-manifest" or n <= args.sdk_per_manifest_max]
                rows.extend(bench_size(n, latency, args.parallelism, here, work, log))
                partial = render(rows, latency, args.parallelism, lookups)
                print(f"results so far:\n{partial}", file=sys.stderr, flush=True)
                if args.out is not None:  # keep what is done even if a later size is stopped
                    args.out.write_text(partial, encoding="utf-8")
        finally:
            failed = [r for r in rows if r.ours.exit_code != EXPECTED_EXIT[r.scenario]
                      or any(m.exit_code for m in r.sdk.values())]
            if failed:
                tail = log.read_text(errors="replace")[-4000:]
                print(f"some runs exited unexpectedly; end of the children's output:\n{tail}", file=sys.stderr)
    header = f"Machine: {machine()}. Sizes {', '.join(map(str, sizes))}.\n\n"
    text = header + render(rows, latency, args.parallelism, lookups)
    print(text)
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
    # A table that does not measure what it says is no result: a run that failed, or made other
    # calls than the documented formula, fails the benchmark.
    off = [f"N={r.n} {r.scenario}: {r.ours.calls} calls, formula {r.expect.calls}"
           for r in rows if r.ours.calls != r.expect.calls]
    for line in off:
        print(f"unexpected call count: {line}", file=sys.stderr)
    return 1 if failed or off else 0


if __name__ == "__main__":
    sys.exit(main())
