"""The emulator's own CPU per read: the assistant list, one assistant, a versions list, a canary config.

    python benchmarks/emulator_render.py                          # 1000 assistants, both modes
    python benchmarks/emulator_render.py -n 200 --versions 3 --repeat 20
    python benchmarks/emulator_render.py --mode asgi              # the app alone, no sockets

Seeding: the store is filled directly (``Store.create_assistant`` and ``update_assistant``, the calls the
HTTP handlers make) with the ``workload.py`` assistants (about 8 KB of instructions each); every
assistant gets ``--versions`` extra, unpromoted versions (each with its own 8 KB of instructions), and
every tenth a canary config serving the newest of them. Seeding through the store skips HTTP, so it
takes seconds instead of a ``reconciler apply``.

What is measured, per mode (each a median of ``--repeat`` rounds after one warm-up round):

  asgi    the ASGI app (the gate, routing, the handler, the response body) called directly in this
          process with an in-memory request; CPU from ``time.process_time()``. Nothing else runs, so
          this is the app's CPU exactly, without uvicorn's HTTP parsing and socket writes.
  server  a real ``EmulatorServer`` (uvicorn in a thread of this process) read over HTTP by an httpx
          client in the main thread; CPU of the emulator's thread alone, from
          ``/proc/self/task/<tid>/stat`` (Linux; clock ticks, usually 10 ms, so rounds are sized to
          take many ticks). This includes uvicorn's share.

Reported: milliseconds of CPU per call of each route, and the response size.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import workload  # noqa: E402

from reconciler.emulator import EmulatorServer  # noqa: E402
from reconciler.emulator.app import create_app  # noqa: E402
from reconciler.emulator.store import Store  # noqa: E402

API_KEY = "bench-key"
CANARY_EVERY = 10


def seed(store: Store, n: int, versions: int) -> list[str]:
    """n assistants with ``versions`` extra versions each; every tenth gets a canary. Their ids."""
    ids: list[str] = []
    for index in range(n):
        created = store.create_assistant({"name": workload.assistant_name(index), **workload.assistant_spec(index)})
        assistant_id = created["id"]
        newest = created["version_id"]
        for revision in range(1, versions + 1):
            body = {"instructions": workload.instructions(index, revision), "promote_to_main": False}
            newest = store.update_assistant(assistant_id, body)["version_id"]
        if index % CANARY_EVERY == 0 and newest != created["version_id"]:
            store.replace_canary(
                assistant_id, {"rules": [{"serve": {"rollout": [{"version_id": newest, "weight": 10}]}}]}
            )
        ids.append(assistant_id)
    return ids


def routes(ids: list[str]) -> dict[str, list[str]]:
    """Per route name, the paths one round reads (the single-object routes cycle through the account)."""
    sample = ids[:: max(1, len(ids) // 100)][:100]
    canaries = [i for n, i in enumerate(ids) if n % CANARY_EVERY == 0][:100]
    return {
        "GET /ai/assistants": ["/v2/ai/assistants"],
        "GET /ai/assistants/{id}": [f"/v2/ai/assistants/{i}" for i in sample],
        "GET /ai/assistants/{id}/versions": [f"/v2/ai/assistants/{i}/versions" for i in sample],
        "GET /ai/assistants/{id}/canary-deploys": [f"/v2/ai/assistants/{i}/canary-deploys" for i in canaries],
    }


async def _asgi_get(app: Any, path: str) -> int:
    """One GET through the ASGI app; the size of the body it answered."""
    scope = {
        "type": "http", "http_version": "1.1", "method": "GET", "scheme": "http", "path": path,
        "raw_path": path.encode(), "root_path": "", "query_string": b"", "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 1), "headers": [(b"authorization", f"Bearer {API_KEY}".encode())],
    }  # fmt: skip
    size = 0
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal size, status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            size += len(message.get("body", b""))

    await app(scope, receive, send)
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}")
    return size


def measure_asgi(store: Store, paths: dict[str, list[str]], repeat: int) -> dict[str, tuple[float, int]]:
    app = create_app(api_key=API_KEY, store=store)
    loop = asyncio.new_event_loop()
    try:

        def one_round(batch: list[str]) -> int:
            return sum(loop.run_until_complete(_asgi_get(app, p)) for p in batch) // len(batch)

        return _rounds(paths, repeat, one_round, time.process_time)
    finally:
        loop.close()


def _thread_cpu(tid: int) -> Callable[[], float]:
    tick = os.sysconf("SC_CLK_TCK")

    def cpu() -> float:
        fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick  # utime, stime (fields 14 and 15 of stat)

    return cpu


def measure_server(server: EmulatorServer, paths: dict[str, list[str]], repeat: int) -> dict[str, tuple[float, int]]:
    with server, httpx.Client(base_url=server.root_url, headers={"Authorization": f"Bearer {API_KEY}"}) as http:
        thread = server._thread
        assert thread is not None and thread.native_id is not None
        cpu = _thread_cpu(thread.native_id)

        def one_round(batch: list[str]) -> int:
            sizes = []
            for path in batch:
                response = http.get(path)
                response.raise_for_status()
                sizes.append(len(response.content))
            return sum(sizes) // len(sizes)

        return _rounds(paths, repeat, one_round, cpu, min_batch_cpu=0.5)


def _rounds(
    paths: dict[str, list[str]],
    repeat: int,
    one_round: Callable[[list[str]], int],
    clock: Callable[[], float],
    min_batch_cpu: float = 0.0,
) -> dict[str, tuple[float, int]]:
    """Per route: (median CPU ms per call, bytes per response). A round repeats its paths until it has
    used ``min_batch_cpu`` seconds, so a coarse clock still resolves it."""
    results: dict[str, tuple[float, int]] = {}
    for name, batch in paths.items():
        one_round(batch)  # warm-up: the first read may render what later reads reuse
        per_call: list[float] = []
        size = 0
        for _ in range(repeat):
            calls = 0
            start = clock()
            while True:
                size = one_round(batch)
                calls += len(batch)
                used = clock() - start
                if used >= min_batch_cpu:
                    break
            per_call.append(used / calls * 1000)
        results[name] = (statistics.median(per_call), size)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The emulator's CPU per read of assistants, versions, canaries.")
    parser.add_argument("-n", type=int, default=1000, help="assistants (default 1000)")
    parser.add_argument("--versions", type=int, default=2, help="extra versions per assistant (default 2)")
    parser.add_argument("--repeat", type=int, default=5, help="measured rounds per route (median; default 5)")
    parser.add_argument("--mode", choices=("asgi", "server", "both"), default="both")
    args = parser.parse_args(argv)
    started = time.monotonic()
    server = EmulatorServer(api_key=API_KEY)  # seeded before it starts; the asgi mode shares its store
    ids = seed(server.store, args.n, args.versions)
    print(f"Seeded {args.n} assistants with {args.versions} extra versions each in {time.monotonic() - started:.1f} s.")
    paths = routes(ids)
    modes = ("asgi", "server") if args.mode == "both" else (args.mode,)
    print("\n| mode | route | CPU ms per call | response KB |")
    print("|---|---|---:|---:|")
    for mode in modes:
        if mode == "asgi":
            results = measure_asgi(server.store, paths, args.repeat)
        else:
            results = measure_server(server, paths, args.repeat)
        for name, (ms, size) in results.items():
            print(f"| {mode} | {name} | {ms:.2f} | {size / 1024:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
