"""Convergence as a property: from any half-applied start, apply reaches the manifests and stays there.

For every generated scenario (``tests/strategies.py``): a fresh emulator is seeded with the official
SDK (leftovers of an interrupted apply, plus hand-made objects outside the managed names), the
manifests are written to a project directory with ``stack: prop``, and then

- ``apply --yes`` (or, in half the examples, ``plan --out`` then ``apply --plan``) exits 0 and
  ``plan --detailed-exitcode`` exits 0;
- a second ``apply --yes`` sends no write at all;
- every managed name exists exactly once per kind, and what the SDK reads back is what the
  manifests state (checked here field by field, not by asking the engine's own diff);
- the hand-made objects are exactly as they were (their full SDK dicts, versions included), the
  stack's ownership ledger holds exactly the managed objects, and ``plan --prune`` is empty too.

The fault variants switch on injected faults after seeding (20% of requests, every kind; and 30%
dropped connections or lost responses) and allow a bounded number of apply attempts; once one
succeeds the same checks run with faults off, plus: no more candidate versions than attempts, and
the canary config points at a version that exists. The fault seed and ``--parallelism`` are drawn
by Hypothesis, so a failure replays (exactly with parallelism 1).

Examples: ``RECONCILER_PROPERTY_EXAMPLES`` (default 15 per property, kept small for CI); a failing
example is printed as its manifests (YAML), seed and hand-made objects.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import telnyx
import yaml
from click.testing import Result
from hypothesis import HealthCheck, event, example, given, note, settings
from hypothesis import strategies as st

from reconciler.emulator import EmulatorServer
from tests.helpers import API_KEY, run_cli
from tests.strategies import CANDIDATE, HandMade, Json, Scenario, Seed, document, scenarios, tool_spec

EXAMPLES = int(os.environ.get("RECONCILER_PROPERTY_EXAMPLES", "15"))
MAX_ATTEMPTS = 8
FAULT_KINDS = ("latency", "rate_limit", "server_error", "drop", "lost_response")

property_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# -- running the emulator and the CLI ------------------------------------------------------------


@contextmanager
def account() -> Iterator[tuple[EmulatorServer, telnyx.Telnyx]]:
    """A fresh emulator per example and the strict SDK on it (the fixtures are per test, not per example)."""
    with EmulatorServer(api_key=API_KEY) as server, telnyx.Telnyx(
        api_key=API_KEY, base_url=server.base_url, max_retries=0, _strict_response_validation=True
    ) as sdk:
        yield server, sdk


@contextmanager
def project(scenario: Scenario) -> Iterator[Path]:
    """A project directory: ``reconciler.yaml`` (stack prop) and one manifest file per document.

    The rewrite threshold is off: a starting state where 10 or more owned objects exist and most
    differ from the manifests is refused by design (``updates.max_fraction``, tests/test_pruning.py);
    these properties are about converging, so they approve it as ``--force`` would.
    """
    with tempfile.TemporaryDirectory(prefix="prop-") as tmp:
        root = Path(tmp)
        (root / "reconciler.yaml").write_text("stack: prop\nupdates:\n  max_fraction: 1.0\n", encoding="utf-8")
        manifests = root / "manifests"
        manifests.mkdir()
        for index, doc in enumerate(scenario.documents):
            text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
            (manifests / f"{index:02d}-{doc['kind']}-{doc['name']}.yaml").write_text(text, encoding="utf-8")
        yield root


def cli(root: Path, server: EmulatorServer, command: str, *extra: str) -> Result:
    return run_cli([command, str(root / "manifests"), "--config", str(root / "reconciler.yaml"), *extra],
                   server.base_url)


def converged(root: Path, server: EmulatorServer) -> None:
    """plan is empty (with --prune too: nothing is left to delete), and a second apply sends no write."""
    planned = cli(root, server, "plan", "--detailed-exitcode")
    assert planned.exit_code == 0, f"plan after apply is not empty:\n{planned.output}"
    pruning = cli(root, server, "plan", "--detailed-exitcode", "--prune")
    assert pruning.exit_code == 0, f"plan --prune after apply is not empty:\n{pruning.output}"
    writes = server.stats()["writes"]
    again = cli(root, server, "apply", "--yes")
    assert again.exit_code == 0, again.output
    assert server.stats()["writes"] == writes, f"a second apply wrote:\n{again.output}"


# -- the starting state --------------------------------------------------------------------------


def spec_of(scenario: Scenario, kind: str, name: str) -> Json:
    return next(d["spec"] for d in scenario.documents if d["kind"] == kind and d["name"] == name)


def seed_account(sdk: telnyx.Telnyx, scenario: Scenario) -> dict[tuple[str, str], str]:
    """Create the leftovers of an interrupted apply; return their ids by (kind, name)."""
    ids: dict[tuple[str, str], str] = {}
    seed = scenario.seed
    for name, state in seed.tools.items():
        spec = spec_of(scenario, "Tool", name)
        hook = dict(spec["webhook"])
        if state == "other":
            hook.update(description="an older description", url=hook["url"] + "/v0")
        extra = {"timeout_ms": spec["timeout_ms"]} if "timeout_ms" in spec else {}
        ids[("Tool", name)] = sdk.ai.tools.create(display_name=name, type="webhook", webhook=hook, **extra).id
    for name, state in seed.mcp_servers.items():
        spec = spec_of(scenario, "McpServer", name)
        url = spec["url"] + ("/old" if state == "other" else "")
        extra = {"allowed_tools": spec["allowed_tools"]} if "allowed_tools" in spec and state == "same" else {}
        ids[("McpServer", name)] = sdk.ai.mcp_servers.create(name=name, type="http", url=url, **extra).id
    for name, state in seed.assistants.items():
        spec = spec_of(scenario, "Assistant", name)
        if state == "other":
            created = sdk.ai.assistants.create(name=name, instructions="Instructions of an older apply.",
                                               tags=["legacy"], voice_settings={"voice": "Telnyx.Other.voice"})
        else:
            body = request_without_handoffs(spec, ids)
            if state == "retagged":
                body["tags"] = ["legacy", *spec.get("tags", [])[:1]]
            created = sdk.ai.assistants.create(name=name, **body)
        ids[("Assistant", name)] = created.id
    for name, state in seed.tests.items():
        spec = spec_of(scenario, "AssistantTest", name)
        body = {k: v for k, v in spec.items() if k != "assistant"}
        if state == "other":
            body.update(instructions="An older scenario.", rubric=[{"name": "old", "criteria": "older criteria"}])
        created = sdk.ai.assistants.tests.create(name=name, destination=ids[("Assistant", spec["assistant"])], **body)
        ids[("AssistantTest", name)] = created.test_id
    canary = scenario.of_kind("CanaryDeploy")
    if seed.candidate is not None:
        assistant_id = ids[("Assistant", canary[0]["spec"]["assistant"])]
        version = sdk.ai.assistants.update(assistant_id, instructions=seed.candidate, promote_to_main=False,
                                           version_name=CANDIDATE)
        assert version.version_id is not None
        if seed.canary_weight is not None:
            sdk.ai.assistants.canary_deploys.create(
                assistant_id, rules=[{"serve": {"rollout": [{"version_id": version.version_id,
                                                              "weight": seed.canary_weight}]}}])
    return ids


def request_without_handoffs(spec: Json, ids: dict[tuple[str, str], str]) -> Json:
    """An assistant spec in request shape as a first, interrupted apply would have sent it:
    no handoffs yet, and references only to what existed."""
    body = {k: v for k, v in spec.items() if k not in ("shared_tools", "mcp_servers", "tools")}
    tools = [t for t in spec.get("tools", []) if t["type"] != "handoff"]
    if tools:
        body["tools"] = tools
    tool_ids = [ids[("Tool", t)] for t in spec.get("shared_tools", []) if ("Tool", t) in ids]
    if tool_ids:
        body["tool_ids"] = tool_ids
    servers = [{"id": ids[("McpServer", m["server"])], **{k: v for k, v in m.items() if k != "server"}}
               for m in spec.get("mcp_servers", []) if ("McpServer", m["server"]) in ids]
    if servers:
        body["mcp_servers"] = servers
    return body


def make_hand_made(sdk: telnyx.Telnyx, scenario: Scenario, ids: dict[tuple[str, str], str]) -> list[tuple[str, str]]:
    """Objects made in the portal with names outside the pool; returns (kind, id) of each."""
    made: list[tuple[str, str]] = []
    for name, target in scenario.hand_made.assistants:
        extra: Json = {}
        if target is not None:
            handoff = {"ai_assistants": [{"id": ids[("Assistant", target)], "name": target}]}
            extra["tools"] = [{"type": "handoff", "handoff": handoff}]
        created = sdk.ai.assistants.create(name=name, instructions=f"{name}: made by hand.", tags=["support"],
                                           **extra)
        made.append(("Assistant", created.id))
    for name in scenario.hand_made.tools:
        hook: Json = {"name": name.replace("-", "_"), "description": "made by hand", "url": f"https://hand.example/{name}"}
        made.append(("Tool", sdk.ai.tools.create(display_name=name, type="webhook", webhook=hook).id))
    for name in scenario.hand_made.copies:  # a portal copy of a managed tool: same content, other name
        spec = spec_of(scenario, "Tool", name)
        extra = {"timeout_ms": spec["timeout_ms"]} if "timeout_ms" in spec else {}
        copy = sdk.ai.tools.create(display_name=f"hand-copy-of-{name}", type="webhook", webhook=spec["webhook"],
                                   **extra)
        made.append(("Tool", copy.id))
    for name in scenario.hand_made.mcp_servers:
        made.append(("McpServer", sdk.ai.mcp_servers.create(name=name, type="http", url="https://hand.example").id))
    seeded = sorted(n for (kind, n) in ids if kind == "Assistant")
    for name in scenario.hand_made.tests:
        if seeded:
            test = sdk.ai.assistants.tests.create(name=name, destination=ids[("Assistant", seeded[0])],
                                                  instructions="made by hand", rubric=[{"name": "r", "criteria": "c"}])
            made.append(("AssistantTest", test.test_id))
    return made


def snapshot(sdk: telnyx.Telnyx, made: list[tuple[str, str]]) -> list[Any]:
    """Full SDK dicts of the hand-made objects (an assistant with all its versions)."""
    out: list[Any] = []
    for kind, object_id in made:
        if kind == "Assistant":
            out.append(sdk.ai.assistants.retrieve(object_id).to_dict())
            out.append([v.to_dict() for v in sdk.ai.assistants.versions.list(object_id).data])
        elif kind == "Tool":
            out.append(sdk.ai.tools.retrieve(object_id).to_dict())
        elif kind == "AssistantTest":
            out.append(sdk.ai.assistants.tests.retrieve(object_id).to_dict())
        else:
            out.append(sdk.ai.mcp_servers.retrieve(object_id).to_dict())
    return out


# -- what the account must look like afterwards ------------------------------------------------


def live_by_kind(sdk: telnyx.Telnyx) -> dict[str, list[Json]]:
    return {
        "Assistant": [a.to_dict() for a in sdk.ai.assistants.list().data],
        "Tool": [t.to_dict() for t in sdk.ai.tools.list()],
        "McpServer": [m.to_dict() for m in sdk.ai.mcp_servers.list()],
        "AssistantTest": [t.to_dict() for t in sdk.ai.assistants.tests.list()],
    }


def name_of(kind: str, obj: Json) -> str:
    return str(obj["display_name"] if kind == "Tool" else obj["name"])


def assert_no_duplicates(live: dict[str, list[Json]]) -> None:
    for kind, objects in live.items():
        repeated = {n: c for n, c in Counter(name_of(kind, o) for o in objects).items() if c > 1}
        assert not repeated, f"duplicate {kind} names: {repeated}"


def assert_matches_manifests(sdk: telnyx.Telnyx, scenario: Scenario, live: dict[str, list[Json]]) -> None:
    """Read back with the SDK and compare with the manifests, independently of the engine's diff."""
    found = {kind: {name_of(kind, o): o for o in objects} for kind, objects in live.items()}
    for doc in scenario.of_kind("Tool"):
        tool = found["Tool"][doc["name"]]
        stated = doc["spec"]["webhook"]
        assert {k: tool["tool_definition"].get(k) for k in stated} == stated, doc["name"]
        if "timeout_ms" in doc["spec"]:
            assert tool["timeout_ms"] == doc["spec"]["timeout_ms"]
    for doc in scenario.of_kind("McpServer"):
        server = found["McpServer"][doc["name"]]
        assert server["url"] == doc["spec"]["url"]
        if "allowed_tools" in doc["spec"]:
            assert server["allowed_tools"] == doc["spec"]["allowed_tools"]
    for doc in scenario.of_kind("Assistant"):
        assert_assistant(doc, found)
    for doc in scenario.of_kind("AssistantTest"):
        test, spec = found["AssistantTest"][doc["name"]], doc["spec"]
        assert test["destination"] == found["Assistant"][spec["assistant"]]["id"], doc["name"]
        assert {k: test.get(k) for k in spec if k != "assistant"} == {k: v for k, v in spec.items() if k != "assistant"}
    for doc in scenario.of_kind("CanaryDeploy"):
        assistant = found["Assistant"][doc["spec"]["assistant"]]
        config: Json = sdk.ai.assistants.canary_deploys.retrieve(assistant["id"]).to_dict()
        rules = config["rules"]
        assert len(rules) == len(doc["spec"]["rules"])
        if len(rules) == 2:  # the pinned callers stay on the main version
            assert rules[0]["match"] == doc["spec"]["rules"][0]["match"]
            assert rules[0]["serve"]["version_id"] == assistant["version_id"]
        [slot] = rules[-1]["serve"]["rollout"]
        assert slot["weight"] == doc["spec"]["rules"][-1]["serve"]["rollout"][0]["weight"]
        versions = {v.version_id: v for v in sdk.ai.assistants.versions.list(assistant["id"]).data}
        assert slot["version_id"] in versions, "the canary points at a version that does not exist"
        served = versions[slot["version_id"]]
        assert served.version_name == CANDIDATE
        assert served.version_id != assistant["version_id"]
        assert served.instructions == doc["spec"]["versions"][CANDIDATE]["instructions"]


def assert_assistant(doc: Json, found: dict[str, dict[str, Json]]) -> None:
    spec, live = doc["spec"], found["Assistant"][doc["name"]]
    where = f"Assistant/{doc['name']}"
    for key in ("instructions", "greeting", "description"):
        if key in spec:
            assert live.get(key) == spec[key], f"{where}: {key}"
    if "voice_settings" in spec:
        assert live["voice_settings"]["voice"] == spec["voice_settings"]["voice"], where
    # Every assistant of the stack carries its ownership tag (docs/pruning.md) besides the stated ones.
    assert "reconciler-stack=prop" in (live.get("tags") or []), where
    stated = sorted(tag for tag in live.get("tags") or [] if tag != "reconciler-stack=prop")
    if "tags" in spec:
        assert stated == sorted(spec["tags"]), where
    for key, value in spec.get("dynamic_variables", {}).items():
        assert live["dynamic_variables"].get(key) == value, f"{where}: dynamic_variables.{key}"
    tools = live.get("tools") or []
    inline = [t for t in tools if not t.get("shared")]
    wanted = spec.get("tools", [])
    assert [t["type"] for t in inline] == [t["type"] for t in wanted], where
    for have, want in zip(inline, wanted, strict=True):
        if want["type"] == "handoff":
            targets = have["handoff"]["ai_assistants"]
            assert [t["name"] for t in targets] == [t["assistant"] for t in want["handoff"]["ai_assistants"]]
            assert [t["id"] for t in targets] == [found["Assistant"][t["name"]]["id"] for t in targets], where
        elif want["type"] == "transfer":
            assert have["transfer"]["targets"] == want["transfer"]["targets"], where
        else:
            kind = want["type"]
            assert {k: have[kind].get(k) for k in want[kind]} == want[kind], f"{where}: {kind}"
    shared = sorted(t["webhook"]["name"] for t in tools if t.get("shared"))
    assert shared == sorted(f"{name}_call" for name in spec.get("shared_tools", [])), where
    servers = live.get("mcp_servers") or []
    wanted_servers = [found["McpServer"][m["server"]]["id"] for m in spec.get("mcp_servers", [])]
    if wanted_servers:
        assert [m["id"] for m in servers] == wanted_servers, where


def assert_ledger_owns_exactly_the_manifests(root: Path, scenario: Scenario, live: dict[str, list[Json]]) -> None:
    """The stack's ledger names every managed object by its live id, and nothing made by hand."""
    ledger = json.loads((root / ".reconciler" / "ownership-prop.json").read_text(encoding="utf-8"))
    assert ledger["stack"] == "prop"
    owned = sorted((o["kind"], o["name"], o["id"]) for o in ledger["objects"])
    ids = {(kind, name_of(kind, o)): str(o.get("id") or o["test_id"])  # a test's id is test_id
           for kind, objects in live.items() for o in objects}
    expected = sorted((d["kind"], d["name"], ids[(d["kind"], d["name"])])
                      for d in scenario.documents if d["kind"] != "CanaryDeploy")
    assert owned == expected


def candidate_versions(sdk: telnyx.Telnyx, scenario: Scenario) -> int:
    canary = scenario.of_kind("CanaryDeploy")
    if not canary:
        return 0
    name = canary[0]["spec"]["assistant"]
    return sum(
        1
        for assistant in sdk.ai.assistants.list().data
        if assistant.name == name
        for v in sdk.ai.assistants.versions.list(assistant.id).data
        if v.version_name == CANDIDATE
    )


def describe(scenario: Scenario) -> None:
    """Print a failing example readably: the manifests, the seed and the hand-made objects."""
    note("manifests:\n" + yaml.safe_dump_all(scenario.documents, sort_keys=False, allow_unicode=True))
    note(f"seed: {scenario.seed}")
    note(f"hand-made: {scenario.hand_made}")


# -- the properties ------------------------------------------------------------------------------


@property_settings
@given(scenario=scenarios(), saved=st.booleans())
def test_apply_converges_from_any_half_applied_start(scenario: Scenario, saved: bool) -> None:
    """apply (of the manifests, or of a plan saved by ``plan --out``) reaches the manifests, plan is
    then empty, a second apply writes nothing, and nothing outside the stack's names changes."""
    describe(scenario)
    with account() as (server, sdk), project(scenario) as root:
        ids = seed_account(sdk, scenario)
        made = make_hand_made(sdk, scenario, ids)
        before = snapshot(sdk, made)
        candidates_before = candidate_versions(sdk, scenario)

        if saved:
            plan_file = str(root / "plan.json")
            planned = cli(root, server, "plan", "--out", plan_file)
            assert planned.exit_code == 0, planned.output
            applied = run_cli(["apply", "--plan", plan_file, "--yes", "--config", str(root / "reconciler.yaml")],
                              server.base_url)
        else:
            applied = cli(root, server, "apply", "--yes")
        assert applied.exit_code == 0, applied.output
        converged(root, server)

        live = live_by_kind(sdk)
        assert_no_duplicates(live)
        assert_matches_manifests(sdk, scenario, live)
        assert_ledger_owns_exactly_the_manifests(root, scenario, live)
        assert candidate_versions(sdk, scenario) <= candidates_before + 1
        assert snapshot(sdk, made) == before, "a hand-made object changed"


def converges_through_faults(scenario: Scenario, fault_seed: int, parallelism: int, rate: float,
                             kinds: tuple[str, ...]) -> None:
    """Seed fault-free, switch faults on, apply until one succeeds (at most MAX_ATTEMPTS), then check
    with faults off."""
    describe(scenario)
    with account() as (server, sdk), project(scenario) as root:
        ids = seed_account(sdk, scenario)
        made = make_hand_made(sdk, scenario, ids)
        before = snapshot(sdk, made)
        candidates_before = candidate_versions(sdk, scenario)

        # With --parallelism 1 the seeded fault sequence meets the same requests on replay; with 8,
        # arrival order (and so which request fails) may differ between runs. A short Retry-After
        # keeps 429s cheap.
        server.set_faults(rate, seed=fault_seed, kinds=kinds, retry_after_s=0.05)
        outputs: list[str] = []
        for _attempt in range(MAX_ATTEMPTS):
            result = cli(root, server, "apply", "--yes", "--parallelism", str(parallelism))
            assert result.exit_code in (0, 1), result.output
            outputs.append(result.output)
            if result.exit_code == 0:
                break
        injected = server.faults()["injected"]
        server.set_faults(0.0)
        attempts = len(outputs)
        event(f"apply attempts: {attempts}")
        for kind in kinds:
            event(f"{kind} injected: {'yes' if injected.get(kind) else 'no'}")
        assert result.exit_code == 0, f"no success in {MAX_ATTEMPTS} applies; last:\n{outputs[-1]}"

        converged(root, server)
        live = live_by_kind(sdk)
        assert_no_duplicates(live)
        assert_matches_manifests(sdk, scenario, live)
        assert_ledger_owns_exactly_the_manifests(root, scenario, live)
        assert candidate_versions(sdk, scenario) <= candidates_before + attempts
        assert snapshot(sdk, made) == before, "a hand-made object changed"


@property_settings
@given(scenario=scenarios(), fault_seed=st.integers(0, 2**32 - 1), parallelism=st.sampled_from([1, 1, 8]))
def test_apply_converges_through_injected_faults(scenario: Scenario, fault_seed: int, parallelism: int) -> None:
    """With 20% of requests failing in every way the emulator knows (a lost response included),
    repeated applies get there without duplicates, and nothing outside the stack changes."""
    converges_through_faults(scenario, fault_seed, parallelism, 0.2, FAULT_KINDS)


# Found by this property: tools created in the same apply as a candidate version whose answer is
# lost. The confirm compared the planned tool_ids (new ids last) with the sorted ones read back and
# wrote the version again. Ids are random, so without the fix this failed about every other run.
LOST_CANDIDATE_WITH_NEW_TOOLS = Scenario(
    documents=[
        document("Tool", "lookup", tool_spec("lookup", "0", None, method=None)),
        document("Tool", "notify", tool_spec("notify", "0", None, method=None)),
        document("Tool", "ticket", tool_spec("ticket", "0", None, method=None)),
        document("McpServer", "crm", {"type": "http", "url": "https://mcp.example/_"}),
        document("Assistant", "alpha", {"instructions": "0", "shared_tools": ["lookup", "notify"]}),
        document("Assistant", "bravo", {"instructions": "0"}),
        document("Assistant", "charlie", {"instructions": "0", "tools": [
            {"type": "webhook", "webhook": {"name": "charlie_hook_0", "description": "0",
                                            "url": "https://hooks.example/charlie/0/_"}},
            {"type": "hangup", "hangup": {"description": "0"}},
            {"type": "transfer", "transfer": {"targets": [{"to": "+13125550100", "name": "_"}]}},
            {"type": "handoff", "handoff": {"ai_assistants": [
                {"assistant": "alpha"}, {"assistant": "bravo"}, {"assistant": "charlie"}]}},
        ]}),
        document("CanaryDeploy", "rollout", {
            "assistant": "alpha", "versions": {CANDIDATE: {"instructions": "O"}},
            "rules": [{"serve": {"rollout": [{"version": CANDIDATE, "weight": 1}]}}],
        }),
    ],
    seed=Seed(assistants={"alpha": "same"}),
    hand_made=HandMade(),
)


@property_settings
@given(scenario=scenarios(), fault_seed=st.integers(0, 2**32 - 1), parallelism=st.sampled_from([1, 1, 8]))
@example(scenario=LOST_CANDIDATE_WITH_NEW_TOOLS, fault_seed=0, parallelism=1)
def test_apply_converges_through_ambiguous_writes(scenario: Scenario, fault_seed: int, parallelism: int) -> None:
    """The hard cases more often: 30% of requests dropped or committed with the answer lost."""
    converges_through_faults(scenario, fault_seed, parallelism, 0.3, ("drop", "lost_response"))


# -- bugs the property found, kept as plain examples ---------------------------------------------


def test_a_shared_webhook_tool_without_a_method_converges() -> None:
    """The Tool reads back without `method`, the assistant's view of it with `method: POST`: still one tool."""
    scenario = Scenario(
        documents=[
            document("Tool", "lookup", tool_spec("lookup", "Look it up.", None, method=None)),
            document("Assistant", "bravo", {"instructions": "Help.", "shared_tools": ["lookup"]}),
        ],
        seed=Seed(),
        hand_made=HandMade(),
    )
    with account() as (server, _sdk), project(scenario) as root:
        applied = cli(root, server, "apply", "--yes")
        assert applied.exit_code == 0, applied.output
        converged(root, server)


def test_a_hand_made_copy_of_a_managed_shared_tool_does_not_block_convergence() -> None:
    """An attached shared tool is matched to the managed Tool, not to a portal copy with the same content."""
    spec = tool_spec("lookup", "Look it up.", None)
    scenario = Scenario(
        documents=[
            document("Tool", "lookup", spec),
            document("Assistant", "bravo", {"instructions": "Help.", "shared_tools": ["lookup"]}),
        ],
        seed=Seed(),
        hand_made=HandMade(),
    )
    with account() as (server, sdk), project(scenario) as root:
        copy = sdk.ai.tools.create(display_name="hand-copy", type="webhook", webhook=spec["webhook"])
        before = sdk.ai.tools.retrieve(copy.id).to_dict()
        applied = cli(root, server, "apply", "--yes")
        assert applied.exit_code == 0, applied.output
        converged(root, server)
        assert sdk.ai.tools.retrieve(copy.id).to_dict() == before
