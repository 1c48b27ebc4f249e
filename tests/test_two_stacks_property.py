"""Two stacks in one account, under random portal edits: ownership is never shared or lost.

Hypothesis draws a sequence of steps: applies and prunes of stack A or B (each over a random
subset of its own names, sometimes naming one of the other stack's names), and portal edits
(create a hand-made object, delete, rename or edit any live object). After every step:

- no live object is in both stacks' ledgers, and no assistant carries two stacks' tags;
- nothing outside a stack is ever deleted: every object a step removes was in the ledger of
  the stack that ran it (or was deleted by the portal step itself);
- after a successful apply, a plan of the same manifests is empty.

Examples: ``RECONCILER_PROPERTY_EXAMPLES`` (default 15), as for the other properties.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from hypothesis import given, note
from hypothesis import strategies as st

from reconciler.emulator import EmulatorServer
from tests.helpers import API_KEY, run_cli
from tests.test_convergence import property_settings
from tests.test_pruning import assistant, tool

NAMES = {"A": ("a-bot", "a-desk", "a-tool"), "B": ("b-bot", "b-tool")}


@dataclass(frozen=True)
class Apply:
    stack: str
    names: tuple[str, ...]
    prune: bool


@dataclass(frozen=True)
class Portal:
    action: str  # create | delete | rename | edit
    pick: int


def documents(names: tuple[str, ...]) -> str:
    return "".join(tool(n) if n.endswith("-tool") else assistant(n) for n in names)


steps = st.lists(
    st.one_of(
        st.builds(Apply, st.sampled_from(["A", "B"]),
                  st.lists(st.sampled_from([*NAMES["A"], *NAMES["B"]]), min_size=1, max_size=3, unique=True)
                  .map(tuple), st.booleans()),
        st.builds(Portal, st.sampled_from(["create", "delete", "rename", "edit"]), st.integers(0, 20)),
    ),
    min_size=2, max_size=7,
)


def live(http: httpx.Client) -> dict[tuple[str, str], dict[str, Any]]:
    objects = {("Assistant", a["id"]): a for a in http.get("/ai/assistants").json()["data"]}
    objects |= {("Tool", t["id"]): t for t in http.get("/ai/tools", params={"page[size]": 100}).json()["data"]}
    return objects


def ledger(root: Path, stack: str) -> set[tuple[str, str]]:
    path = root / ".reconciler" / f"ownership-{stack}.json"
    if not path.exists():
        return set()
    return {(o["kind"], o["id"]) for o in json.loads(path.read_text())["objects"]}


def portal(http: httpx.Client, step: Portal, counter: list[int]) -> None:
    objects = sorted(live(http))
    counter[0] += 1
    if step.action == "create" or not objects:
        http.post("/ai/assistants", json={"name": f"hand-{counter[0]}", "instructions": "x"}).raise_for_status()
        return
    kind, object_id = objects[step.pick % len(objects)]
    route = f"/ai/assistants/{object_id}" if kind == "Assistant" else f"/ai/tools/{object_id}"
    if step.action == "delete":
        http.delete(route)  # a 400 (still referenced) is fine: the portal refused it
    elif step.action == "rename":
        key = "name" if kind == "Assistant" else "display_name"
        (http.post if kind == "Assistant" else http.patch)(route, json={key: f"renamed-{counter[0]}"})
    elif kind == "Assistant":
        http.post(route, json={"instructions": f"edited {counter[0]}"})


@property_settings
@given(steps)
def test_two_stacks_never_share_or_lose_an_object(sequence: list[Apply | Portal]) -> None:
    with tempfile.TemporaryDirectory(prefix="stacks-") as tmp, EmulatorServer(api_key=API_KEY) as server, \
            httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {API_KEY}"}) as http:
        root = Path(tmp)
        for stack in ("A", "B"):
            (root / f"{stack}.yaml").write_text(f"stack: {stack}\n")
            (root / stack).mkdir()
        counter = [0]
        for step in sequence:
            note(repr(step))
            before = live(http)
            if isinstance(step, Portal):
                portal(http, step, counter)
                continue
            owned_before = ledger(root, step.stack)
            (root / step.stack / "all.yaml").write_text(documents(step.names))
            args = [str(root / step.stack), "--config", str(root / f"{step.stack}.yaml")]
            applied = run_cli(["apply", *args, "--yes", "--force", *(["--prune"] if step.prune else [])],
                              server.base_url)
            note(applied.output)
            after = live(http)
            vanished = set(before) - set(after)
            assert vanished <= owned_before, f"deleted objects stack {step.stack} never owned: {vanished}"
            a, b = ledger(root, "A"), ledger(root, "B")
            assert not (a & b & set(after)), "one live object in two ledgers"
            for obj in after.values():
                tags = [t for t in obj.get("tags") or [] if t.startswith("reconciler-stack=")]
                assert len(tags) <= 1, f"two stacks' tags on one assistant: {tags}"
            if applied.exit_code == 0:
                planned = run_cli(["plan", *args, "--detailed-exitcode"], server.base_url)
                assert planned.exit_code == 0, f"plan after apply is not empty:\n{planned.output}"
