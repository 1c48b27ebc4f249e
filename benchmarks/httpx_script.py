"""The best script a competent engineer writes in an afternoon: httpx, 8 threads, the C YAML loader.

Kept honest against `reconciler plan` / `apply`: the same calls and the same result on the benchmark
workload. It does what sdk_baseline.py does (the same nested subset comparison, the same candidate
version and canary rules), but with one list up front, raw JSON over one httpx client, and every
independent call of a stage on a pool of ``--threads`` workers:

1. read every ``*.yaml`` under DIR with ``yaml.load_all(Loader=CSafeLoader)`` (no schema check);
2. ``GET /ai/assistants`` once;
3. assistants, in parallel: create the missing ones (``POST /ai/assistants``), update those whose
   stated fields differ (``POST /ai/assistants/{id}`` with the changed fields);
4. canaries, in parallel: for each CanaryDeploy whose assistant existed, ``GET .../versions`` and
   ``GET .../canary-deploys`` as two independent tasks; then write a candidate version that is
   missing or different, then create or update the canary config when its rules differ.

No retries, no Idempotency-Keys, no ownership ledger, no lock, no drift report: the script a user
writes, not a tool. ``--dry-run`` does every read and comparison and no write (its plan). It prints
one summary line: ``created=.. updated=.. unchanged=.. canary_writes=..``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare import _rule, by_kind, changed_fields, stated_differs

JSON = dict[str, Any]


def load(directory: Path) -> tuple[list[JSON], list[JSON]]:
    def docs() -> Iterator[Any]:
        for path in sorted(directory.rglob("*.yaml")):
            with path.open("rb") as handle:
                yield from yaml.load_all(handle, Loader=yaml.CSafeLoader)

    return by_kind(docs())


class Api:
    def __init__(self, base_url: str, api_key: str, threads: int) -> None:
        limits = httpx.Limits(max_connections=threads, max_keepalive_connections=threads)
        headers = {"Authorization": f"Bearer {api_key}"}
        self.http = httpx.Client(base_url=base_url, headers=headers, limits=limits, timeout=60)

    def call(self, method: str, path: str, body: JSON | None = None) -> Any:
        response = self.http.request(method, path, json=body)
        if response.status_code == 404 and method == "GET":
            return None
        response.raise_for_status()
        payload = response.json()
        return payload.get("data", payload) if isinstance(payload, dict) else payload


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    assistant_docs, canary_docs = load(args.directory)
    tally = {"created": 0, "updated": 0, "unchanged": 0, "canary_writes": 0}
    api = Api(args.base_url, args.api_key, args.threads)
    with api.http, ThreadPoolExecutor(max_workers=args.threads) as pool:
        live = {a["name"]: a for a in api.call("GET", "/ai/assistants")}

        def sync_assistant(doc: JSON) -> None:
            name, spec = doc["name"], doc["spec"]
            have = live.get(name)
            if have is None:
                tally["created"] += 1
                if not args.dry_run:
                    live[name] = api.call("POST", "/ai/assistants", {"name": name, **spec})
                return
            changed = changed_fields(spec, have)
            if not changed:
                tally["unchanged"] += 1
                return
            tally["updated"] += 1
            if not args.dry_run:
                api.call("POST", f"/ai/assistants/{have['id']}", changed)

        existed = {doc["spec"]["assistant"] for doc in canary_docs if doc["spec"]["assistant"] in live}
        run_all(pool, [lambda d=doc: sync_assistant(d) for doc in assistant_docs])  # type: ignore[misc]
        bases = {doc["name"]: doc["spec"] for doc in assistant_docs}
        reads: dict[tuple[str, str], Any] = {}

        def read(name: str, what: str) -> None:
            assistant_id = live[name]["id"]
            path = f"/ai/assistants/{assistant_id}/{what}"
            reads[name, what] = api.call("GET", path)

        tasks = [lambda n=name, w=what: read(n, w) for name in existed for what in ("versions", "canary-deploys")]
        run_all(pool, tasks)  # type: ignore[arg-type]

        def sync_canary(doc: JSON) -> None:
            spec = doc["spec"]
            name = spec["assistant"]
            have = live.get(name)
            if have is None:
                return
            assistant_id = have["id"]
            versions = reads.get((name, "versions")) or []
            current = reads.get((name, "canary-deploys"))
            version_ids = {"main": have.get("version_id", "")}
            for version_name, override in spec["versions"].items():
                named = [
                    v
                    for v in versions
                    if v.get("version_name") == version_name and v.get("version_id") != have.get("version_id")
                ]
                newest = max(named, key=lambda v: str(v.get("version_created_at")), default=None)
                if newest is not None and not stated_differs(override, newest):
                    version_ids[version_name] = str(newest["version_id"])
                    continue
                tally["canary_writes"] += 1
                version_ids[version_name] = "(new)"
                if not args.dry_run:
                    body = {**bases[name], **override, "version_name": version_name, "promote_to_main": False}
                    version_ids[version_name] = str(
                        api.call("POST", f"/ai/assistants/{assistant_id}", body)["version_id"]
                    )
            rules = [_rule(rule, version_ids) for rule in spec["rules"]]
            if current is not None and not stated_differs(rules, current.get("rules")):
                return
            tally["canary_writes"] += 1
            if not args.dry_run:
                method = "POST" if current is None else "PUT"
                api.call(method, f"/ai/assistants/{assistant_id}/canary-deploys", {"rules": rules})

        run_all(pool, [lambda d=doc: sync_canary(d) for doc in canary_docs])  # type: ignore[misc]
    print(" ".join(f"{k}={v}" for k, v in tally.items()))
    return 0


def run_all(pool: ThreadPoolExecutor, tasks: list[Callable[[], None]]) -> None:
    for future in [pool.submit(task) for task in tasks]:
        future.result()


if __name__ == "__main__":
    raise SystemExit(main())
