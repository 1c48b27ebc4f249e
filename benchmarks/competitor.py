"""reconciler against the hand-written httpx script (httpx_script.py), side by side in one run.

For each size: a fresh emulator with the given latency; `reconciler apply` and the script each create
the workload on their own fresh emulator; then, on the account reconciler created, `reconciler plan
--detailed-exitcode` and the script's `--dry-run` take turns `--repeat` times (the median is reported).
Every figure is a child process measured as in run.py (wall, CPU from wait4, calls from the emulator's
counters), and the table gives ratios from this run only, so it holds on a slower or faster machine.

    python benchmarks/competitor.py --sizes 1000 --latency-ms 50 --repeat 3   # reconciler at 16, the script 8 threads
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import workload  # noqa: E402
from run import API_KEY, Measure, machine, run_child  # noqa: E402

from reconciler.emulator import EmulatorServer  # noqa: E402


def median(measures: Sequence[Measure]) -> Measure:
    ordered = sorted(measures, key=lambda m: m.wall_s)
    return ordered[len(ordered) // 2]


def bench(n: int, latency_ms: int, parallelism: int, repeat: int, work: Path, log: Path) -> list[str]:
    base = work / f"n{n}"
    workload.write_manifests(base, n)
    ours = ["reconciler"]
    script = [str(HERE / "httpx_script.py"), "--threads", str(max(1, parallelism // 2))]  # as many writes
    rows: list[str] = []
    with (
        EmulatorServer(api_key=API_KEY, latency_ms=latency_ms) as mine,
        EmulatorServer(api_key=API_KEY, latency_ms=latency_ms) as theirs,
    ):
        conn_ours = ["--base-url", mine.base_url, "--api-key", API_KEY, "--parallelism", str(parallelism)]
        conn_script = ["--base-url", theirs.base_url, "--api-key", API_KEY]
        create_ours = run_child([*ours, "apply", str(base), "--yes", *conn_ours], mine, log)
        create_script = run_child([*script, str(base), *conn_script], theirs, log)
        rows.append(row(n, "apply, creating everything", create_ours, create_script))
        plans_ours: list[Measure] = []
        plans_script: list[Measure] = []
        conn_script = ["--base-url", mine.base_url, "--api-key", API_KEY]  # the same account for both
        for _ in range(repeat):
            plans_ours.append(run_child([*ours, "plan", str(base), "--detailed-exitcode", *conn_ours], mine, log))
            plans_script.append(run_child([*script, str(base), "--dry-run", *conn_script], mine, log))
        rows.append(row(n, f"plan, nothing to change (median of {repeat})", median(plans_ours), median(plans_script)))
    return rows


def row(n: int, scenario: str, ours: Measure, theirs: Measure) -> str:
    return (
        f"| {n} | {scenario} | {ours.calls} / {theirs.calls} | {ours.wall_s:.2f} | {theirs.wall_s:.2f} "
        f"| {theirs.wall_s / ours.wall_s:.2f}x | {ours.cpu_s:.2f} | {theirs.cpu_s:.2f} "
        f"| {ours.exit_code} / {theirs.exit_code} |"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="reconciler vs the hand-written httpx script.")
    parser.add_argument("--sizes", default="1000")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--parallelism", type=int, default=16,
                        help="reconciler --parallelism [16: 16 reads or 8 writes]; the script gets half as threads")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"Machine: {machine()}. Latency {args.latency_ms} ms, parallelism {args.parallelism}.\n")
    print(
        "| N | scenario | calls ours / script | ours wall s | script wall s | script / ours | ours CPU s "
        "| script CPU s | exit ours / script |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory(prefix="bench-competitor-") as tmp:
        log = Path(tmp) / "log.txt"
        for n in (int(s) for s in args.sizes.split(",")):
            for line in bench(n, args.latency_ms, args.parallelism, args.repeat, Path(tmp), log):
                print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
