"""The API's write rules: `validate` refuses each one offline, and the emulator refuses the same body.

Each rule has a manifest under tests/data/bad/rule-*.yaml whose `# expect:` header is the exact
`validate` output (test_loader.py and test_cli_validate_schema.py hold it to that). Here the same
spec goes to the emulator through the official SDK, which must answer with the status the SDK's
docstrings give and an error naming the same field with the same message: one rule set, two judges.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import telnyx
import yaml

from reconciler.api.write_rules import assistant_advisories, assistant_violations, internal_host, tool_violations
from reconciler.manifests.loader import load_resources
from tests.conftest import body
from tests.test_loader import DATA, expected_lines

RULE_CASES = sorted(p.name for p in (DATA / "bad").glob("rule-*.yaml"))
BAD_REQUEST_CASES = {  # the SDK documents these as 400; the rest are 422 (FastAPI value_error)
    "rule-pii-messaging.yaml",
    "rule-linden-auto.yaml",
    "rule-linden-auto-beta.yaml",
    "rule-linden-multi.yaml",
}


def _expected(case: str) -> tuple[list[str | int], str]:
    """(path inside the request body, message) from the fixture's single `# expect:` line."""
    (line,) = expected_lines(DATA / "bad" / case)
    match = re.fullmatch(r"[^:]+:\d+: \w+/[^:]+: spec\.(\S+): (.*)", line)
    assert match is not None, line
    dotted, message = match.groups()
    path: list[str | int] = []
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", dotted):
        path.append(int(part[1:-1]) if part.startswith("[") else part)
    return path, message


def _send(sdk: telnyx.Telnyx, document: dict[str, Any]) -> None:
    spec = document["spec"]
    if document["kind"] == "Tool":
        sdk.ai.tools.create(display_name=document["name"], **spec)
    else:
        sdk.ai.assistants.create(name=document["name"], **spec)


@pytest.mark.parametrize("case", RULE_CASES)
def test_the_emulator_refuses_what_validate_refuses(case: str, sdk: telnyx.Telnyx, http: httpx.Client) -> None:
    document = yaml.safe_load((DATA / "bad" / case).read_text(encoding="utf-8"))
    path, message = _expected(case)
    with pytest.raises(telnyx.APIStatusError) as raised:
        _send(sdk, document)
    if case in BAD_REQUEST_CASES:
        assert raised.value.status_code == 400
        assert body(raised.value) == {
            "errors": [
                {
                    "code": "10015",
                    "title": "Bad Request",
                    "detail": ".".join(str(p) for p in path) + ": " + message,
                }
            ]
        }
    else:
        assert raised.value.status_code == 422
        assert body(raised.value) == {
            "detail": [{"loc": ["body", *path], "msg": f"Value error, {message}", "type": "value_error"}]
        }
    assert http.get("/ai/assistants").json() == {"data": []}
    assert http.get("/ai/tools").json()["data"] == []


class TestRulesOnUpdates:
    """The rules judge the configuration a write leaves behind, not only the fields it sends."""

    def test_adding_a_pay_tool_to_an_assistant_without_disable_dtmf_is_refused(self, sdk: telnyx.Telnyx) -> None:
        created = sdk.ai.assistants.create(name="pay", instructions="x")
        with pytest.raises(telnyx.UnprocessableEntityError) as raised:
            sdk.ai.assistants.update(created.id, tools=[{"type": "pay", "pay": {"connector_name": "c"}}])
        assert body(raised.value)["detail"][0]["loc"] == ["body", "telephony_settings", "disable_dtmf"]
        assert len(sdk.ai.assistants.versions.list(created.id).data) == 1

    def test_a_pay_tool_with_disable_dtmf_is_accepted_and_dropping_the_flag_later_is_not(
        self, sdk: telnyx.Telnyx
    ) -> None:
        created = sdk.ai.assistants.create(
            name="pay",
            instructions="x",
            telephony_settings={"disable_dtmf": True},
            tools=[{"type": "pay", "pay": {"connector_name": "c"}}],
        )
        with pytest.raises(telnyx.UnprocessableEntityError):
            sdk.ai.assistants.update(created.id, telephony_settings={"disable_dtmf": False})

    def test_attaching_a_shared_pay_tool_needs_disable_dtmf(self, sdk: telnyx.Telnyx) -> None:
        tool = sdk.ai.tools.create(display_name="pay", type="pay", pay={"connector_name": "c"})
        assistant = sdk.ai.assistants.create(name="a", instructions="x")
        with pytest.raises(telnyx.UnprocessableEntityError) as raised:
            sdk.ai.assistants.tools.add(tool.id, assistant_id=assistant.id)
        assert body(raised.value)["detail"] == [
            {
                "loc": ["body", "telephony_settings", "disable_dtmf"],
                "msg": f"Value error, must be true when a pay tool is configured (tool_ids ({tool.id}))",
                "type": "value_error",
            }
        ]


class TestRuleDetails:
    @pytest.mark.parametrize(
        ("host", "internal"),
        [
            ("localhost", True),
            ("api.localhost", True),
            ("printer.local", True),
            ("127.0.0.1", True),
            ("10.1.2.3", True),
            ("172.16.0.1", True),
            ("192.168.0.1", True),
            ("169.254.1.1", True),
            ("[::1]", True),
            ("[fd00::1]", True),
            ("0.0.0.0", True),
            ("agents.example.com", False),
            ("8.8.8.8", False),
        ],
    )
    def test_internal_hosts(self, host: str, internal: bool) -> None:
        assert internal_host(host) is internal

    def test_a_valid_configuration_breaks_no_rule(self) -> None:
        config = {
            "instructions": "x",
            "enabled_features": ["telephony"],
            "privacy_settings": {"pii_redaction": "redact"},
            "websocket_settings": {"enabled": True, "url": "wss://events.example.com/ws"},
            "a2a_agents": [{"name": "billing", "url": "https://agents.example.com/{{tenant}}/card.json"}],
            "transcription": {
                "model": "deepgram/flux",
                "language": "en",
                "settings": {"eot_threshold": 0.7, "eager_eot_threshold": 0.7},
                "fallback_models": [{"model": "deepgram/nova-3"}, {"model": "deepgram/nova-2"}],
            },
            "delegation_settings": {"mode": "client"},
        }
        assert assistant_violations(config) == []

    def test_a_websocket_url_must_be_a_websocket_url(self) -> None:
        config = {"websocket_settings": {"enabled": True, "url": "https://events.example.com"}}
        assert [v.message for v in assistant_violations(config)] == ["must be a ws:// or wss:// URL"]

    def test_a_placeholder_in_an_a2a_host_is_refused(self) -> None:
        config = {"a2a_agents": [{"name": "a", "url": "https://{{tenant}}.example.com"}]}
        assert [v.message for v in assistant_violations(config)] == [
            "the host may not contain a {{...}} placeholder"
        ]

    def test_a_tool_node_with_edges_needs_exactly_one_default_edge(self) -> None:
        flow = {
            "start_node_id": "look",
            "nodes": [{"id": "look", "type": "tool", "shared_tool_id": "t"}, {"id": "next", "instructions": "x"}],
            "edges": [
                {"id": "e1", "start_node_id": "look", "condition": {"type": "llm", "prompt": "p"},
                 "target": {"type": "node", "node_id": "next"}},
            ],
        }  # fmt: skip
        assert [(v.path, v.message) for v in assistant_violations({"conversation_flow": flow})] == [
            (
                ("conversation_flow", "nodes", 0),
                "a tool node with outgoing edges needs exactly one default edge, not 0",
            )
        ]

    def test_a_pay_tool_on_a_flow_node_counts(self) -> None:
        flow = {"start_node_id": "n", "nodes": [{"id": "n", "type": "tool", "shared_tool_id": "tool-pay"}]}
        violations = assistant_violations({"conversation_flow": flow}, {"tool-pay": "pay"}.get)
        assert [v.message for v in violations] == [
            "must be true when a pay tool is configured (conversation_flow.nodes[0])"
        ]

    def test_shared_tool_payload_rules(self) -> None:
        payload = {"name": "n", "description": "d", "updatable_variables": [{"name": "ok"}, {"name": "telnyx_x"}]}
        assert [v.path for v in tool_violations("update_dynamic_variables", payload)] == [
            ("update_dynamic_variables", "updatable_variables", 1, "name")
        ]


class TestDefaultEdgeAdvice:
    """A default edge leaving a prompt node: the SDK calls it invalid, but manifests in use have one
    (tests/data/good/billing.yaml, the reference's example), so validate warns and nothing refuses it."""

    FLOW: ClassVar[dict[str, Any]] = {
        "start_node_id": "ask",
        "nodes": [{"id": "ask", "instructions": "Ask."}, {"id": "bye", "type": "speak", "message": "Bye."}],
        "edges": [
            {"id": "e1", "start_node_id": "ask", "condition": {"type": "default"},
             "target": {"type": "node", "node_id": "bye"}},
        ],
    }  # fmt: skip

    def test_it_is_advice_not_a_violation(self) -> None:
        config = {"conversation_flow": self.FLOW}
        assert assistant_violations(config) == []
        assert [(v.path, v.message) for v in assistant_advisories(config)] == [
            (
                ("conversation_flow", "edges", 0, "condition"),
                "a default edge leaves prompt node 'ask'; the API documents default edges only on tool and speak "
                "nodes, so it may refuse this one (use an llm or expression condition)",
            )
        ]

    def test_default_edges_from_tool_and_speak_nodes_are_fine(self) -> None:
        flow = {**self.FLOW, "edges": [{**self.FLOW["edges"][0], "start_node_id": "bye"}]}
        assert assistant_advisories({"conversation_flow": flow}) == []

    def test_validate_warns_about_the_good_manifests_flow(self) -> None:
        loaded = {r.address: r for r in load_resources([DATA / "good"], {"ORDERS_TOKEN": "t0ken"})}
        assert loaded["Assistant/billing"].warnings == (
            f"{DATA / 'good' / 'billing.yaml'}:42: Assistant/billing: spec.conversation_flow.edges[1].condition: "
            "a default edge leaves prompt node 'ask'; the API documents default edges only on tool and speak "
            "nodes, so it may refuse this one (use an llm or expression condition)",
        )
        assert [a for a, r in loaded.items() if r.warnings] == ["Assistant/billing"]

    def test_a_canary_versions_flow_is_judged_too(self, tmp_path: Path) -> None:
        (tmp_path / "a.yaml").write_text(
            "apiVersion: reconciler/v1\nkind: Assistant\nname: a\nspec:\n  instructions: x\n---\n"
            "apiVersion: reconciler/v1\nkind: CanaryDeploy\nname: c\nspec:\n  assistant: a\n  versions:\n"
            f"    flowing:\n      conversation_flow: {json.dumps(self.FLOW)}\n"
            "  rules:\n    - serve: {version: flowing}\n",
            encoding="utf-8",
        )
        (_, canary) = load_resources([tmp_path], {})
        assert [w.split(": ", 3)[2] for w in canary.warnings] == [
            "spec.versions.flowing.conversation_flow.edges[0].condition"
        ]

    def test_the_emulator_stores_it(self, sdk: telnyx.Telnyx) -> None:
        created = sdk.ai.assistants.create(name="a", instructions="x", conversation_flow=self.FLOW)
        assert sdk.ai.assistants.retrieve(created.id).to_dict()["conversation_flow"]["edges"][0]["condition"] == {
            "type": "default"
        }
