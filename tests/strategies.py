"""Hypothesis strategies for the convergence property: a desired manifest set and a messy start.

A ``Scenario`` is plain data, so a failing example prints as something a person can read and
replay: the manifests (as dicts, written to YAML by the test), how far an earlier, interrupted
apply got (``Seed``: which managed objects already exist, and with which values), and objects
made by hand outside the pool of managed names, which no apply may touch.

Names come from small fixed pools so that references, handoff cycles and leftovers collide
often; hand-made objects use the ``hand-`` prefix, which no pool name has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

ASSISTANT_POOL = ("alpha", "bravo", "charlie", "delta")
TOOL_POOL = ("lookup", "notify", "ticket")
MCP_POOL = ("crm",)
TEST_POOL = ("refund-test", "handoff-test")
CANARY_NAME = "rollout"
CANDIDATE = "candidate"
PINNED_CALLER = "+13125550199"
VOICES = ("Telnyx.KokoroTTS.af_heart", "Telnyx.KokoroTTS.am_michael", "Telnyx.KokoroTTS.af_bella")
TAGS = ("support", "billing", "voice", "vip")
VARIABLE_KEYS = ("company", "tier", "region")
API_VERSION = "reconciler/v1"

Json = dict[str, Any]

# Text an assistant might carry: letters, digits, punctuation, accents, a newline, {{templates}}.
# No "$": "${" starts an interpolation, which is another test's business.
_ALPHABET = st.characters(
    codec="utf-8",
    exclude_characters="$",
    exclude_categories=("Cs", "Cc", "Co", "Cn", "Zl", "Zp"),
) | st.sampled_from("\n ")
texts = st.text(_ALPHABET, min_size=1, max_size=40).filter(lambda s: s.strip() != "")
"""Free text; never blank (a blank instruction is a different question than convergence)."""
words = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)


def webhook(name: str, url_tail: str, description: str) -> Json:
    """A webhook payload; ``name`` and ``url_tail`` keep payloads of different tools apart."""
    return {"name": name, "description": description, "url": f"https://hooks.example/{url_tail}"}


@st.composite
def inline_webhooks(draw: st.DrawFn, owner: str) -> list[Json]:
    count = draw(st.integers(0, 2))
    return [
        {"type": "webhook", "webhook": webhook(f"{owner}_hook_{i}", f"{owner}/{i}/{draw(words)}", draw(texts))}
        for i in range(count)
    ]


hangups = st.builds(lambda d: {"type": "hangup", "hangup": {"description": d}}, texts)
transfers = st.builds(
    lambda number, label: {"type": "transfer", "transfer": {"targets": [{"to": number, "name": label}]}},
    st.sampled_from(["+13125550100", "+13125550101", "+442071838750"]),
    words,
)


@st.composite
def assistant_specs(draw: st.DrawFn, name: str, others: list[str], tools: list[str], mcp: list[str]) -> Json:
    """One assistant's spec; ``others`` are the assistants it may hand off to (itself included)."""
    spec: Json = {"instructions": draw(texts)}
    if draw(st.booleans()):
        spec["greeting"] = draw(texts)
    if draw(st.booleans()):
        spec["description"] = draw(texts)
    if draw(st.booleans()):
        spec["voice_settings"] = {"voice": draw(st.sampled_from(VOICES))}
    tags = draw(st.lists(st.sampled_from(TAGS), unique=True, max_size=len(TAGS)))
    if tags:  # an empty list equals absent: it states nothing
        spec["tags"] = tags
    variables = draw(st.dictionaries(st.sampled_from(VARIABLE_KEYS), words, max_size=2))
    if variables:
        spec["dynamic_variables"] = variables
    inline = draw(inline_webhooks(name))
    single = draw(st.lists(st.sampled_from(["hangup", "transfer"]), unique=True, max_size=2))
    for kind in single:  # hangup and transfer at most once each: the single-instance rule
        inline.append(draw(hangups if kind == "hangup" else transfers))
    targets = draw(st.lists(st.sampled_from(others), unique=True, max_size=len(others))) if others else []
    if targets:
        inline.append({"type": "handoff", "handoff": {"ai_assistants": [{"assistant": t} for t in targets]}})
    if inline:
        spec["tools"] = draw(st.permutations(inline))
    shared = draw(st.lists(st.sampled_from(tools), unique=True, max_size=len(tools))) if tools else []
    if shared:
        spec["shared_tools"] = shared
    with_mcp: bool = draw(st.booleans())
    if mcp and with_mcp:
        entry: Json = {"server": mcp[0]}
        if draw(st.booleans()):
            entry["allowed_tools"] = draw(st.lists(st.sampled_from(["get_customer", "add_note"]), min_size=1,
                                                   unique=True))
        spec["mcp_servers"] = [entry]
    return spec


def tool_spec(name: str, description: str, timeout_ms: int | None, method: str | None = "POST") -> Json:
    """A shared webhook tool; ``method: None`` leaves the method to the server's default."""
    hook = webhook(f"{name}_call", f"tools/{name}", description)
    if method is not None:
        hook["method"] = method
    spec: Json = {"type": "webhook", "webhook": hook}
    if timeout_ms is not None:
        spec["timeout_ms"] = timeout_ms
    return spec


def document(kind: str, name: str, spec: Json) -> Json:
    return {"apiVersion": API_VERSION, "kind": kind, "name": name, "spec": spec}


@dataclass(frozen=True)
class HandMade:
    """Objects made in the portal, outside the pool; ``handoff_to`` names a seeded pool assistant."""

    assistants: tuple[tuple[str, str | None], ...] = ()
    tools: tuple[str, ...] = ()
    mcp_servers: tuple[str, ...] = ()
    copies: tuple[str, ...] = ()
    """Managed tools a hand-made Tool copies (same type and payload, another display_name)."""
    tests: tuple[str, ...] = ()
    """Assistant tests made in the portal; each talks to the first seeded pool assistant, if any."""


@dataclass(frozen=True)
class Seed:
    """How far an earlier apply got: per managed name, ``same`` (desired values, no handoffs),
    ``retagged`` (the same, other tags; assistants only) or ``other`` (other values); names not
    listed do not exist yet."""

    tools: dict[str, str] = field(default_factory=dict)
    mcp_servers: dict[str, str] = field(default_factory=dict)
    assistants: dict[str, str] = field(default_factory=dict)
    tests: dict[str, str] = field(default_factory=dict)
    """Assistant tests (only of seeded assistants): ``same`` or ``other``."""
    candidate: str | None = None
    """Instructions of a leftover candidate version on the canary's assistant, if any."""
    canary_weight: int | None = None
    """Weight of a leftover canary config pointing at that candidate, if any."""


@dataclass(frozen=True)
class Scenario:
    documents: list[Json]
    seed: Seed
    hand_made: HandMade

    def of_kind(self, kind: str) -> list[Json]:
        return [d for d in self.documents if d["kind"] == kind]


@st.composite
def desired_documents(draw: st.DrawFn) -> list[Json]:
    """1-4 assistants, 0-3 shared tools, 0-1 MCP server, optionally a canary deploy."""
    assistants = draw(st.lists(st.sampled_from(ASSISTANT_POOL), min_size=1, max_size=4, unique=True))
    tools = draw(st.lists(st.sampled_from(TOOL_POOL), max_size=3, unique=True))
    mcp = draw(st.lists(st.sampled_from(MCP_POOL), max_size=1, unique=True))
    documents = [
        document("Tool", name, tool_spec(name, draw(texts), draw(st.none() | st.integers(1000, 30000)),
                                         draw(st.sampled_from([None, "GET", "POST"]))))
        for name in tools
    ]
    for name in mcp:
        spec: Json = {"type": "http", "url": f"https://mcp.example/{draw(words)}"}
        if draw(st.booleans()):
            spec["allowed_tools"] = draw(st.lists(st.sampled_from(["get_customer", "add_note", "list_orders"]),
                                                  min_size=1, unique=True))
        documents.append(document("McpServer", name, spec))
    for name in assistants:
        documents.append(document("Assistant", name, draw(assistant_specs(name, assistants, tools, mcp))))
    for name in draw(st.lists(st.sampled_from(TEST_POOL), max_size=2, unique=True)):
        spec = {
            "assistant": draw(st.sampled_from(assistants)),
            "instructions": draw(texts),
            "rubric": draw(st.lists(st.fixed_dictionaries({"name": words, "criteria": texts}), min_size=1,
                                    max_size=3, unique_by=lambda item: item["name"])),
        }
        if draw(st.booleans()):
            spec["test_suite"] = draw(st.sampled_from(["smoke", "billing"]))
        if draw(st.booleans()):
            spec["max_duration_seconds"] = draw(st.integers(1, 3600))
        documents.append(document("AssistantTest", name, spec))
    if draw(st.booleans()):
        target = draw(st.sampled_from(assistants))
        rules: list[Json] = [{"serve": {"rollout": [{"version": CANDIDATE, "weight": draw(st.integers(1, 99))}]}}]
        if draw(st.booleans()):  # callers from one number stay on main
            rules.insert(0, {"match": [{"attribute": "caller_number", "operator": "in", "values": [PINNED_CALLER]}],
                             "serve": {"version": "main"}})
        documents.append(document("CanaryDeploy", CANARY_NAME, {
            "assistant": target,
            "versions": {CANDIDATE: {"instructions": draw(texts)}},
            "rules": rules,
        }))
    return documents


states = st.sampled_from(["absent", "same", "other"])
assistant_states = st.sampled_from(["absent", "same", "other", "retagged"])
"""``retagged``: like ``same`` but with other tags, so a tags-only difference takes the tag endpoints."""


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """Desired manifests, a half-applied start for them, and hand-made objects around them."""
    documents = draw(desired_documents())
    names = {kind: [d["name"] for d in documents if d["kind"] == kind] for kind in ("Tool", "McpServer", "Assistant")}

    def seeded(kind: str) -> dict[str, str]:
        picked = {name: draw(assistant_states if kind == "Assistant" else states) for name in names[kind]}
        return {name: state for name, state in picked.items() if state != "absent"}

    tools, mcp, assistants = seeded("Tool"), seeded("McpServer"), seeded("Assistant")
    candidate = weight = None
    canary = [d for d in documents if d["kind"] == "CanaryDeploy"]
    if canary and canary[0]["spec"]["assistant"] in assistants and draw(st.booleans()):
        candidate = draw(texts)
        weight = draw(st.none() | st.integers(1, 99))
    tests = {
        d["name"]: draw(st.sampled_from(["absent", "same", "other"]))
        for d in documents if d["kind"] == "AssistantTest" and d["spec"]["assistant"] in assistants
    }
    seed = Seed(tools, mcp, assistants, {n: s for n, s in tests.items() if s != "absent"}, candidate, weight)

    hand_names = draw(st.lists(st.sampled_from(["hand-one", "hand-two"]), unique=True))
    hand_assistants = tuple(
        (name, draw(st.none() | st.sampled_from(sorted(assistants))) if assistants else None) for name in hand_names
    )
    hand = HandMade(
        assistants=hand_assistants,
        tools=tuple(draw(st.lists(st.sampled_from(["hand-tool", "hand-hook"]), unique=True))),
        mcp_servers=tuple(draw(st.lists(st.just("hand-mcp"), max_size=1))),
        copies=tuple(draw(st.lists(st.sampled_from(names["Tool"]), unique=True))) if names["Tool"] else (),
        tests=tuple(draw(st.lists(st.just("hand-test"), max_size=1))) if assistants else (),
    )
    return Scenario(documents, seed, hand)


__all__ = [
    "ASSISTANT_POOL",
    "CANARY_NAME",
    "CANDIDATE",
    "MCP_POOL",
    "TEST_POOL",
    "TOOL_POOL",
    "HandMade",
    "Json",
    "Scenario",
    "Seed",
    "desired_documents",
    "document",
    "scenarios",
    "texts",
    "tool_spec",
    "webhook",
    "words",
]
