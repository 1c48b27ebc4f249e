"""`apply --local` against the same apply on a standalone emulator: what the embedded emulator costs.

Both runs create the benchmark workload's N assistants (workload.py) on an empty account and keep the
emulator's state in a file: `--local` in `.reconciler/local-state.json` of a fresh working directory, the
standalone one (`reconciler emulator --state`, its own process, no latency) in a file of its own. The
ratio local / standalone, measured in one run, is what docs/performance.md reports.

    python benchmarks/local.py --sizes 300,1000

Every child runs this checkout's reconciler (``PYTHONPATH`` names it first) with bytecode cached under a
temporary ``PYTHONPYCACHEPREFIX``, as an installed package has it (this sandbox sets
``PYTHONDONTWRITEBYTECODE``, which would make each start, ``--local``'s emulator child included, compile
every module); a warm-up of 20 assistants, not shown, fills the cache first.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from workload import counts, write_manifests  # noqa: E402

KEY = "KEYbenchmarklocal0123456789"


ENV = dict(os.environ)
ENV["PYTHONPATH"] = os.pathsep.join([str(HERE.parent), *filter(None, [os.environ.get("PYTHONPATH")])])
ENV.pop("PYTHONDONTWRITEBYTECODE", None)


def timed(argv: Sequence[str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one child and its children (its output goes to cwd/output.txt); fails loudly
    unless it exits 0."""
    with (cwd / "output.txt").open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=ENV)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        output = (cwd / "output.txt").read_text(errors="replace")
        raise SystemExit(f"{' '.join(argv)} failed:\n{output[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def standalone(state: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`reconciler emulator --state STATE` on a free port; returns it and its base URL."""
    argv = [sys.executable, "-m", "reconciler", "emulator", "--port", "0", "--api-key", KEY, "--state", str(state)]
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                            env=ENV)
    assert proc.stderr is not None
    line = proc.stderr.readline().decode()
    found = re.search(r"(http://127\.0\.0\.1:\d+/v2)", line)
    if found is None:
        proc.kill()
        raise SystemExit(f"the emulator did not start: {line!r}")
    threading.Thread(target=proc.stderr.read, daemon=True).start()  # drain it, so warnings never block it
    return proc, found.group(1)


def bench(n: int, parallelism: int) -> tuple[float, float, float, float]:
    """(local wall, local CPU, standalone wall, standalone apply CPU) for creating N assistants."""
    with tempfile.TemporaryDirectory(prefix="bench-local-") as tmp:
        work = Path(tmp)
        manifests = work / "manifests"
        write_manifests(manifests, n)
        apply = [
            sys.executable,
            "-m",
            "reconciler",
            "apply",
            str(manifests),
            "--yes",
            "--parallelism",
            str(parallelism),
        ]
        (work / "local").mkdir()
        local_wall, local_cpu = timed([*apply, "--local"], work / "local")
        (work / "remote").mkdir()
        proc, base_url = standalone(work / "state.json")
        try:
            remote_wall, remote_cpu = timed([*apply, "--base-url", base_url, "--api-key", KEY], work / "remote")
        finally:
            proc.terminate()
            proc.wait()
    return local_wall, local_cpu, remote_wall, remote_cpu


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="apply --local vs the same apply on a standalone emulator.")
    parser.add_argument("--sizes", default="300,1000", help="comma-separated assistant counts [300,1000]")
    parser.add_argument("--parallelism", type=int, default=8)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-local-pycache-") as cache:
        ENV["PYTHONPYCACHEPREFIX"] = cache
        bench(20, args.parallelism)  # warm-up: bytecode, the page cache
        report(args.sizes, args.parallelism)
    return 0


def report(sizes: str, parallelism: int) -> None:
    print(
        "| N | writes | apply --local wall s (CPU s) | standalone emulator wall s (apply CPU s) | local / standalone |"
    )
    print("|---:|---:|---:|---:|---:|")
    for n in (int(s) for s in sizes.split(",")):
        local_wall, local_cpu, remote_wall, remote_cpu = bench(n, parallelism)
        canaries = counts(n)[1]
        print(
            f"| {n} | {n + 2 * canaries} | {local_wall:.2f} ({local_cpu:.2f}) | {remote_wall:.2f} ({remote_cpu:.2f}) "
            f"| {local_wall / remote_wall:.2f}x |",
            flush=True,
        )


if __name__ == "__main__":
    raise SystemExit(main())
