"""CPU-only micro benchmark: load + validate + diff N assistants (8 KB instructions each), no network.

    python benchmarks/cpu.py                 # sizes 1000,5000
    python benchmarks/cpu.py --sizes 1000 --out cpu.md

Setup (not measured): write the manifests (``workload.py``), apply them to an in-process emulator
with no latency, and save what ``fetch_live`` reads (assistants list, canary configs, versions) as
JSON. Measured, in a fresh child process per size so peak RSS is that run's alone:

  live    decode the saved JSON as it is read and index it into a ``LiveState`` (what fetch_live does)
  load    ``load_resources``: read YAML, interpolate, JSON-Schema validate, check references
  diff    ``build_plan`` against the live state (must find no change)

CPU seconds are ``time.process_time`` per phase; peak RSS is the child's own VmHWM (``peak.py``); the
tracemalloc peak (Python allocations only) comes from a second child run with tracemalloc on,
because tracing slows the code it measures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import workload  # noqa: E402
from peak import own_peak_mb  # noqa: E402

from reconciler.api.json_body import decode_json  # noqa: E402
from reconciler.engine.live import index_live  # noqa: E402
from reconciler.model import LiveState  # noqa: E402

API_KEY = "bench-key"
CHILD_TIMEOUT_S = 1800.0


def seed(directory: Path, live_file: Path) -> None:
    """Apply the manifests to a fresh emulator, then save what a plan reads from it."""
    from reconciler.api.client import TelnyxClient
    from reconciler.emulator import EmulatorServer
    from reconciler.engine.apply import apply_plan
    from reconciler.engine.live import fetch_live
    from reconciler.engine.plan import build_plan
    from reconciler.manifests.loader import load_resources

    resources = load_resources([directory], os.environ)
    with EmulatorServer(api_key=API_KEY) as server, TelnyxClient(server.base_url, API_KEY,
                                                                 max_connections=16) as client:
        plan = build_plan(resources, fetch_live(client, resources, 16))
        result = apply_plan(client, plan, parallelism=16)
        if not result.ok:
            raise SystemExit(f"seeding failed: {[o.message for o in result.outcomes if o.message][:3]}")
        live = fetch_live(client, resources, 16)
    payload = {"lists": dict(live.lists), "canaries": dict(live.canaries), "versions": dict(live.versions)}
    live_file.write_text(json.dumps(payload), encoding="utf-8")


def live_from(payload: dict[str, Any]) -> LiveState:
    objects: dict[tuple[str, str], dict[str, Any]] = {}
    duplicates: dict[tuple[str, str], tuple[str, ...]] = {}
    lists: dict[str, list[dict[str, Any]]] = {}
    for kind, items in payload["lists"].items():
        part = index_live(kind, items)
        objects.update(part.objects)
        duplicates.update(part.duplicates)
        lists.update(part.lists)
    return LiveState(objects, duplicates, lists, payload["canaries"], payload["versions"])


def measure(directory: Path, live_file: Path, trace: bool) -> dict[str, float]:
    """The measured part, run in a child: CPU per phase, peak RSS, optionally the tracemalloc peak."""
    from reconciler.engine.plan import build_plan
    from reconciler.manifests.loader import load_resources

    if trace:
        tracemalloc.start()
    t0 = time.process_time()
    with live_file.open("rb") as stream:  # decoded as it is read, like the client decodes a response
        live = live_from(decode_json(iter(lambda: stream.read(1 << 16), b"")))
    t1 = time.process_time()
    resources = load_resources([directory], os.environ)
    t2 = time.process_time()
    plan = build_plan(resources, live)
    t3 = time.process_time()
    if not plan.is_empty:
        raise SystemExit(f"expected no change, got {plan.summary}")
    out = {"live_s": t1 - t0, "load_s": t2 - t1, "diff_s": t3 - t2, "total_s": t3 - t0,
           "rss_mb": own_peak_mb(), "resources": len(resources)}
    if trace:
        out["traced_mb"] = tracemalloc.get_traced_memory()[1] / 1024 / 1024
    return out


def child(directory: Path, live_file: Path, trace: bool) -> dict[str, float]:
    argv = [sys.executable, __file__, "--child", str(directory), str(live_file)] + (["--trace"] if trace else [])
    done = subprocess.run(argv, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False)
    if done.returncode != 0:
        raise SystemExit(f"measurement failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="CPU and memory of load + validate + diff, no network.")
    parser.add_argument("--sizes", default="1000,5000")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--child", nargs=2, type=Path, metavar=("DIR", "LIVE_JSON"), help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child[0], args.child[1], args.trace)))
        return 0
    lines = ["| N assistants (+ canaries) | live JSON -> LiveState CPU s | load + validate CPU s | diff CPU s | "
             "total CPU s | peak RSS MB | tracemalloc peak MB |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    with tempfile.TemporaryDirectory(prefix="reconciler-cpu-") as tmp:
        for n in (int(s) for s in args.sizes.split(",") if s.strip()):
            directory, live_file = Path(tmp) / f"n{n}", Path(tmp) / f"live-{n}.json"
            print(f"  N={n}: seeding ...", file=sys.stderr, flush=True)
            workload.write_manifests(directory, n)
            seed(directory, live_file)
            print(f"  N={n}: measuring ...", file=sys.stderr, flush=True)
            plain, traced = child(directory, live_file, False), child(directory, live_file, True)
            canaries, _ = workload.counts(n)
            lines.append(
                f"| {n} (+{canaries}) | {plain['live_s']:.2f} | {plain['load_s']:.2f} | {plain['diff_s']:.2f} | "
                f"{plain['total_s']:.2f} | {plain['rss_mb']:.0f} | {traced['traced_mb']:.0f} |"
            )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
