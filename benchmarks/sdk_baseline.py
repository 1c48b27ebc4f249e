"""The script a user would write without telnyx-reconciler: the official SDK, one manifest at a time.

What it does, exactly (this is the baseline the benchmark compares against):

1. Read every ``*.yaml`` under DIR with ``yaml.safe_load`` (no schema check, no interpolation).
2. For each Assistant manifest, in file order, sequentially:
   - find the assistant by name: ``client.ai.assistants.list()`` and a linear search of ``data`` for
     ``assistant.name == name``
     (``--lookup per-manifest``, the default and the obvious script: one full list per manifest;
     ``--lookup once`` lists once up front and keeps a name -> assistant dict up to date);
   - not found: ``assistants.create(name=..., **spec)``;
   - found: compare only the fields the manifest states (a nested subset check, so server-filled
     defaults are not differences) and, if any differ, ``assistants.update(id, **changed fields)``.
3. For each CanaryDeploy manifest, sequentially: find the assistant the same way;
   ``assistants.versions.list(id)``; for each candidate version, the newest non-main version with
   that ``version_name``; if missing or the fields its override states differ, ``assistants.update(id, **spec,
   **override, version_name=..., promote_to_main=False)`` and take the new ``version_id`` from the
   answer; then ``canary_deploys.retrieve(id)`` (404 means none) and ``create`` or ``update`` it
   when its rules differ.

``--dry-run`` does every read and comparison but no write, and prints what it would change (the
SDK script's equivalent of ``plan`` and ``drift``). SDK retries are left at their default.
The script prints one summary line: ``created=.. updated=.. unchanged=.. canary_writes=..``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import telnyx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare import _rule, by_kind, changed_fields, stated_differs


def load(directory: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    paths = sorted(directory.rglob("*.yaml"))
    return by_kind(doc for path in paths for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")))


class Finder:
    """Find an assistant by name: a fresh list each time, or one list kept up to date."""

    def __init__(self, client: telnyx.Telnyx, once: bool) -> None:
        self.client = client
        self.cache: dict[str, dict[str, Any]] | None = None
        if once:
            self.cache = {a.name: a.to_dict() for a in self.client.ai.assistants.list().data}

    def find(self, name: str) -> dict[str, Any] | None:
        if self.cache is not None:
            return self.cache.get(name)
        for assistant in self.client.ai.assistants.list().data:  # the SDK's typed models
            if assistant.name == name:
                return assistant.to_dict()  # the raw JSON field names, to compare with the manifest
        return None

    def remember(self, assistant: dict[str, Any]) -> None:
        if self.cache is not None:
            self.cache[assistant["name"]] = assistant


def sync_assistants(client: telnyx.Telnyx, finder: Finder, manifests: list[dict[str, Any]], dry_run: bool,
                    tally: dict[str, int]) -> None:
    for doc in manifests:
        name, spec = doc["name"], doc["spec"]
        live = finder.find(name)
        if live is None:
            tally["created"] += 1
            if dry_run:
                print(f"would create {name}")
            else:
                finder.remember(client.ai.assistants.create(name=name, **spec).to_dict())
            continue
        changed = changed_fields(spec, live)
        if not changed:
            tally["unchanged"] += 1
            continue
        tally["updated"] += 1
        if dry_run:
            print(f"would update {name}: {', '.join(sorted(changed))}")
        else:
            finder.remember(client.ai.assistants.update(live["id"], **changed).to_dict())


def sync_canaries(client: telnyx.Telnyx, finder: Finder, manifests: list[dict[str, Any]],
                  assistants: dict[str, dict[str, Any]], dry_run: bool, tally: dict[str, int]) -> None:
    for doc in manifests:
        spec = doc["spec"]
        live = finder.find(spec["assistant"])
        if live is None:
            print(f"{doc['name']}: assistant {spec['assistant']} not found")
            continue
        assistant_id = live["id"]
        base = assistants[spec["assistant"]]["spec"]
        versions = [v.to_dict() for v in client.ai.assistants.versions.list(assistant_id).data]
        version_ids: dict[str, str] = {"main": live["version_id"]}
        for version_name, override in spec["versions"].items():
            named = [v for v in versions if v.get("version_name") == version_name
                     and v.get("version_id") != live["version_id"]]
            newest = max(named, key=lambda v: str(v.get("version_created_at")), default=None)
            if newest is not None and not stated_differs(override, newest):
                version_ids[version_name] = str(newest["version_id"])
                continue
            tally["canary_writes"] += 1
            if dry_run:
                print(f"would write version {version_name} of {spec['assistant']}")
                version_ids[version_name] = "(new)"
                continue
            made = client.ai.assistants.update(assistant_id, **{**base, **override},
                                               version_name=version_name, promote_to_main=False)
            version_ids[version_name] = str(made.version_id)
        rules = [_rule(rule, version_ids) for rule in spec["rules"]]
        try:
            current: dict[str, Any] | None = client.ai.assistants.canary_deploys.retrieve(assistant_id).to_dict()
        except telnyx.NotFoundError:
            current = None
        if current is not None and not stated_differs(rules, current.get("rules")):
            continue
        tally["canary_writes"] += 1
        if dry_run:
            print(f"would {'create' if current is None else 'update'} canary of {spec['assistant']}")
        elif current is None:
            client.ai.assistants.canary_deploys.create(assistant_id, rules=rules)  # type: ignore[arg-type]
        else:
            client.ai.assistants.canary_deploys.update(assistant_id, rules=rules)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--lookup", choices=["per-manifest", "once"], default="per-manifest")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    assistants, canaries = load(args.directory)
    tally = {"created": 0, "updated": 0, "unchanged": 0, "canary_writes": 0}
    with telnyx.Telnyx(api_key=args.api_key, base_url=args.base_url) as client:
        finder = Finder(client, once=args.lookup == "once")
        sync_assistants(client, finder, assistants, args.dry_run, tally)
        by_name = {doc["name"]: doc for doc in assistants}
        sync_canaries(client, finder, canaries, by_name, args.dry_run, tally)
    print(" ".join(f"{k}={v}" for k, v in tally.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
