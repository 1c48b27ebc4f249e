"""Export: live account -> manifests, judged by the round trip (``plan`` on the export: no changes).

Accounts are made two ways: by applying the support-desk example through the CLI, and by hand
through the official SDK (server-filled fields, literal secrets, handoffs in a cycle, a canary
whose versions were made in the portal), as a user adopting an existing account would have them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import telnyx
import yaml

from reconciler.api.client import TelnyxClient
from reconciler.engine.ownership import Ledger, Owned, save_ledger
from reconciler.export import ExportResult, Skipped, adopt, export_account, name_versions
from tests.conftest import TEST_API_KEY
from tests.helpers import REPO, run_cli

DESK = REPO / "examples" / "support-desk"
NO_CHANGES_DESK = "No changes. 10 objects match the manifests."


def client_for(emulator: Any) -> TelnyxClient:
    return TelnyxClient(emulator.base_url, TEST_API_KEY, max_retries=0)


def export(emulator: Any, out: Path, **selection: Any) -> ExportResult:
    with client_for(emulator) as client:
        result = export_account(client, out, **selection)
    assert result.problems == ()
    return result


def flow_advice(out: Path) -> str:
    """validate's and plan's warning about the portal-made flow of Front Desk (a default edge leaving a prompt node)."""
    return (
        f"Warning: {out / 'assistants' / 'Front-Desk.yaml'}:30: Assistant/Front Desk: "
        "spec.conversation_flow.edges[0].condition: a default edge leaves prompt node 'ask'; the API documents "
        "default edges only on tool and speak nodes, so it may refuse this one (use an llm or expression condition)\n"
    )


def plan(emulator: Any, path: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = run_cli(["plan", str(path), "--detailed-exitcode", *extra], emulator.base_url, env=env)
    return result.exit_code, result.output


def apply_desk(emulator: Any) -> None:
    result = run_cli(["apply", str(DESK), "--yes"], emulator.base_url)
    assert result.exit_code == 0, result.output


def live_ids(sdk: telnyx.Telnyx) -> dict[str, str]:
    ids = {a.name: a.id for a in sdk.ai.assistants.list().data}
    ids.update({t.display_name or "": t.id for t in sdk.ai.tools.list()})
    return ids


def files(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())


class TestSupportDesk:
    def test_export_then_plan_shows_no_changes(self, emulator: Any, tmp_path: Path) -> None:
        apply_desk(emulator)
        result = export(emulator, tmp_path)
        assert [(o.kind, o.name, str(o.path)) for o in result.objects] == [
            ("Tool", "create-ticket", "tools/create-ticket.yaml"),
            ("Tool", "lookup-order", "tools/lookup-order.yaml"),
            ("McpServer", "crm", "mcp-servers/crm.yaml"),
            ("Assistant", "support-billing", "assistants/support-billing.yaml"),
            ("Assistant", "support-tech", "assistants/support-tech.yaml"),
            ("Assistant", "support-triage", "assistants/support-triage.yaml"),
            ("CanaryDeploy", "support-triage", "canary-deploys/support-triage.yaml"),
            ("AssistantTest", "billing-question-handoff", "assistant-tests/billing-question-handoff.yaml"),
            ("AssistantTest", "refund-over-limit", "assistant-tests/refund-over-limit.yaml"),
            ("AssistantTest", "refund-within-limit", "assistant-tests/refund-within-limit.yaml"),
        ]
        assert (result.secrets, result.skipped, result.warnings, result.renames) == ((), (), (), ())
        assert files(tmp_path) == sorted([*(str(o.path) for o in result.objects), "secrets.txt"])
        assert plan(emulator, tmp_path) == (0, NO_CHANGES_DESK + "\n")

    def test_exported_files_are_exactly_the_manifests(self, emulator: Any, sdk: telnyx.Telnyx, tmp_path: Path) -> None:
        apply_desk(emulator)
        export(emulator, tmp_path)
        ids = live_ids(sdk)
        url = emulator.base_url
        assert (tmp_path / "tools" / "lookup-order.yaml").read_text() == f"""\
# Exported by `reconciler export` from {url} (Tool {ids["lookup-order"]}).
# Review it before committing: `reconciler plan` on the export shows no changes.
apiVersion: reconciler/v1
kind: Tool
name: lookup-order
spec:
  type: webhook
  timeout_ms: 5000
  webhook:
    name: lookup_order
    description: Look up an order's status, items and delivery date by order number.
    url: https://api.acme-outdoor.example/orders/{{order_id}}
    method: GET
    path_parameters:
      type: object
      properties:
        order_id:
          type: string
          description: The order number, digits only.
      required:
      - order_id
"""
        assert (tmp_path / "assistants" / "support-triage.yaml").read_text() == f"""\
# Exported by `reconciler export` from {url} (Assistant {ids["support-triage"]}).
# Review it before committing: `reconciler plan` on the export shows no changes.
apiVersion: reconciler/v1
kind: Assistant
name: support-triage
spec:
  description: Front door of the support line; routes callers to billing or technical support.
  model: openai/gpt-4o
  instructions: |
    You answer the Acme Outdoor support line.
    Find out what the caller needs in one or two questions.
    Look up orders with lookup_order and the caller's account with get_customer.
    Billing questions (charges, refunds, invoices) go to billing.
    Product problems (setup, defects, warranty) go to tech-support.
    If nobody can help right now, open a ticket with create_ticket and tell the caller.
  greeting: Thanks for calling Acme Outdoor support. What can I help you with?
  tags:
  - support
  - tier-1
  - voice
  voice_settings:
    voice: Telnyx.KokoroTTS.af_heart
  transcription:
    model: deepgram/nova-3
    language: en
  mcp_servers:
  - server: crm
    allowed_tools:
    - get_customer
    - list_orders
  tools:
  - type: handoff
    handoff:
      voice_mode: distinct
      ai_assistants:
      - assistant: support-billing
      - assistant: support-tech
  - type: hangup
    hangup:
      description: End the call once the caller is helped or handed off.
  shared_tools:
  - create-ticket
  - lookup-order
"""
        canary = yaml.safe_load((tmp_path / "canary-deploys" / "support-triage.yaml").read_text())
        assert canary["spec"]["rules"] == [{"serve": {"rollout": [{"version": "concise-prompt", "weight": 10}]}}]
        assert list(canary["spec"]["versions"]) == ["concise-prompt"]
        assert list(canary["spec"]["versions"]["concise-prompt"]) == ["instructions"]
        assert (tmp_path / "secrets.txt").read_text() == (
            "# Environment variables the exported manifests read with ${secret:NAME}.\n"
            "# Set each to the value live in the account before running plan; values are never exported.\n"
        )

    def test_a_second_export_writes_the_same_bytes(self, emulator: Any, tmp_path: Path) -> None:
        apply_desk(emulator)
        export(emulator, tmp_path / "a")
        export(emulator, tmp_path / "b")
        for name in files(tmp_path / "a"):
            assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


LOOKUP = {
    "name": "lookup_order",
    "description": "Find an order.",
    "url": "https://orders.example/orders/{id}",
    "headers": [{"name": "X-Api-Key", "value": "shared-literal-key"}],
    "path_parameters": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
}
SECRETS = {
    "ORDERS_API_PROD_X_API_KEY": "shared-literal-key",
    "FRONT_DESK_WEBHOOK_CHECK_STOCK_AUTHORIZATION": "Bearer s3cr3t",
    "FRONT_DESK_TRANSFER_DESK_SIP_AUTH_PASSWORD": "sip-pass",
    "FRONT_DESK_A2A_PLANNER_X_TOKEN": "a2a-token",
}


def seed_by_hand(sdk: telnyx.Telnyx) -> dict[str, str]:
    """An account made in the portal: every id and default is the server's, nothing from a manifest."""
    server = sdk.ai.mcp_servers.create(name="crm", type="http", url="https://mcp.example/crm", allowed_tools=["a", "b"])
    tool = sdk.ai.tools.create(display_name="Orders API / prod", type="webhook", webhook=LOOKUP)
    hangup = sdk.ai.tools.create(display_name="bye", type="hangup", extra_body={"hangup": {"description": "Bye."}})
    back = sdk.ai.assistants.create(name="Back Office", instructions="Handle returns.", tags=["ops"])
    front = sdk.ai.assistants.create(
        name="Front Desk",
        instructions="Greet callers.\nPrices look like ${price}; never quote {{secret}}.\n",
        greeting="Hello!",
        tags=["support", "voice"],
        dynamic_variables={"price": "10"},
        insight_settings={"insight_group_id": "group-1"},
        telephony_settings={"time_limit_secs": 600},
        messaging_settings={"conversation_inactivity_minutes": 5},
        tool_ids=[tool.id, hangup.id],
        mcp_servers=[{"id": server.id, "allowed_tools": ["a"]}],
        a2a_agents=[{"name": "planner", "url": "https://a2a.example",
                     "headers": [{"name": "X-Token", "value": "a2a-token"}]}],
        tools=[
            {"type": "webhook", "timeout_ms": 3000, "webhook": {
                "name": "check_stock", "description": "Stock.", "url": "https://stock.example",
                "headers": [
                    {"name": "Authorization", "value": "Bearer s3cr3t"},
                    {"name": "X-Ref", "value": "{{#integration_secret}}stock-key{{/integration_secret}}"},
                ]}},
            {"type": "transfer", "transfer": {"targets": [
                {"name": "desk", "to": "+13125550100", "sip_auth_username": "u", "sip_auth_password": "sip-pass"}]}},
            {"type": "function", "function": {"name": "note", "description": "Take a note."}},
            {"type": "handoff", "handoff": {"ai_assistants": [{"id": back.id, "name": "Back Office"}]}},
        ],
        conversation_flow={
            "start_node_id": "ask",
            "nodes": [
                {"id": "ask", "type": "prompt", "instructions": "Ask.", "shared_tool_ids": [tool.id]},
                {"id": "fetch", "type": "tool", "shared_tool_id": tool.id},
            ],
            "edges": [
                {"id": "e1", "start_node_id": "ask", "condition": {"type": "default"},
                 "target": {"type": "assistant", "assistant_id": back.id}},
            ],
        },
    )
    # Back Office hands back to Front Desk (a cycle), and keeps a stale label for a third one.
    other = sdk.ai.assistants.create(name="Night Shift", instructions="After hours.")
    sdk.ai.assistants.update(back.id, tools=[{"type": "handoff", "handoff": {"ai_assistants": [
        {"id": front.id, "name": "Front Desk"}, {"id": other.id, "name": "night (old label)"}]}}])
    short = sdk.ai.assistants.update(front.id, promote_to_main=False, version_name="short", instructions="Be brief.")
    quiet = sdk.ai.assistants.update(front.id, promote_to_main=False, version_name="quiet", greeting="",
                                     tool_ids=[tool.id], tools=[])
    main = sdk.ai.assistants.retrieve(front.id).version_id
    sdk.ai.assistants.canary_deploys.create(front.id, rules=[
        {"match": [{"attribute": "caller_number", "operator": "in", "values": ["+13125550111"]}],
         "serve": {"version_id": main}},
        {"match": [{"attribute": "caller_number", "operator": "starts_with", "values": ["+1312"]}],
         "serve": {"version_id": short.version_id}},
        {"serve": {"rollout": [{"version_id": short.version_id, "weight": 10},
                               {"version_id": quiet.version_id, "weight": 5.5}]}},
    ])
    return {"front": front.id, "back": back.id, "other": other.id, "tool": tool.id, "server": server.id}


class TestHandMadeAccount:
    def test_round_trip_with_secrets_set(self, emulator: Any, sdk: telnyx.Telnyx, tmp_path: Path) -> None:
        seed_by_hand(sdk)
        result = export(emulator, tmp_path)
        assert list(result.secrets) == list(SECRETS)
        assert (tmp_path / "secrets.txt").read_text().splitlines()[2:] == list(SECRETS)
        assert result.warnings == () and result.renames == () and result.skipped == ()
        code, output = plan(emulator, tmp_path, env=SECRETS)
        assert (code, output) == (0, flow_advice(tmp_path) + "No changes. 7 objects match the manifests.\n")

    def test_without_the_secrets_plan_refuses(self, emulator: Any, sdk: telnyx.Telnyx, tmp_path: Path) -> None:
        seed_by_hand(sdk)
        export(emulator, tmp_path)
        code, output = plan(emulator, tmp_path)
        assert code == 1
        assert "environment variable FRONT_DESK_WEBHOOK_CHECK_STOCK_AUTHORIZATION is not set" in output

    def test_no_secret_value_is_written(self, emulator: Any, sdk: telnyx.Telnyx, tmp_path: Path) -> None:
        seed_by_hand(sdk)
        export(emulator, tmp_path)
        text = "".join((tmp_path / name).read_text() for name in files(tmp_path))
        for value in SECRETS.values():
            assert value not in text
        assert TEST_API_KEY not in text

    def test_front_desk_states_what_a_user_chose_and_names_what_is_exported(
        self, emulator: Any, sdk: telnyx.Telnyx, tmp_path: Path
    ) -> None:
        ids = seed_by_hand(sdk)
        export(emulator, tmp_path)
        spec = yaml.safe_load((tmp_path / "assistants" / "Front-Desk.yaml").read_text())["spec"]
        assert list(spec) == [  # the API's order (the SDK sends keys sorted), shared tools last
            "instructions", "a2a_agents", "conversation_flow", "dynamic_variables", "greeting", "insight_settings",
            "mcp_servers", "messaging_settings", "tags", "telephony_settings", "model", "tools", "shared_tools",
        ]
        assert spec["instructions"] == "Greet callers.\nPrices look like $${price}; never quote {{secret}}.\n"
        assert spec["model"] == "meta-llama/Llama-3.3-70B-Instruct"  # a default, but one a user could pick
        assert spec["insight_settings"] == {"insight_group_id": "group-1", "model": "zai-org/GLM-5.3-Flash"}
        assert spec["telephony_settings"] == {"time_limit_secs": 600}
        assert spec["messaging_settings"] == {"conversation_inactivity_minutes": 5}
        assert spec["dynamic_variables"] == {"price": "10"}
        assert spec["mcp_servers"] == [{"server": "crm", "allowed_tools": ["a"]}]
        assert spec["shared_tools"] == ["Orders API / prod", "bye"]
        assert spec["a2a_agents"][0]["headers"] == [
            {"name": "X-Token", "value": "${secret:FRONT_DESK_A2A_PLANNER_X_TOKEN}"}
        ]
        webhook, transfer, function, handoff = spec["tools"]
        assert webhook["webhook"]["headers"] == [
            {"name": "Authorization", "value": "${secret:FRONT_DESK_WEBHOOK_CHECK_STOCK_AUTHORIZATION}"},
            {"name": "X-Ref", "value": "{{#integration_secret}}stock-key{{/integration_secret}}"},
        ]
        assert webhook["webhook"]["method"] == "POST"
        assert transfer == {"type": "transfer", "transfer": {"targets": [
            {"name": "desk", "to": "+13125550100", "sip_auth_username": "u",
             "sip_auth_password": "${secret:FRONT_DESK_TRANSFER_DESK_SIP_AUTH_PASSWORD}"}]}}
        assert function == {"type": "function", "function": {"name": "note", "description": "Take a note."}}
        assert handoff == {"type": "handoff", "handoff": {"ai_assistants": [{"assistant": "Back Office"}]}}
        assert spec["conversation_flow"] == {
            "start_node_id": "ask",
            "nodes": [
                {"id": "ask", "type": "prompt", "instructions": "Ask.", "shared_tools": ["Orders API / prod"]},
                {"id": "fetch", "type": "tool", "shared_tool": "Orders API / prod"},
            ],
            "edges": [{"id": "e1", "start_node_id": "ask", "condition": {"type": "default"},
                       "target": {"type": "assistant", "assistant": "Back Office"}}],
        }
        back = yaml.safe_load((tmp_path / "assistants" / "Back-Office.yaml").read_text())["spec"]
        assert back["tools"][0]["handoff"]["ai_assistants"] == [
            {"assistant": "Front Desk"}, {"id": ids["other"], "name": "night (old label)"}
        ]
        tool = yaml.safe_load((tmp_path / "tools" / "Orders-API-prod.yaml").read_text())
        assert tool["name"] == "Orders API / prod"
        assert tool["spec"]["webhook"]["headers"] == [
            {"name": "X-Api-Key", "value": "${secret:ORDERS_API_PROD_X_API_KEY}"}
        ]

    def test_canary_versions_by_name_with_overrides(self, emulator: Any, sdk: telnyx.Telnyx, tmp_path: Path) -> None:
        seed_by_hand(sdk)
        export(emulator, tmp_path)
        canary = yaml.safe_load((tmp_path / "canary-deploys" / "Front-Desk.yaml").read_text())
        assert canary["name"] == "Front Desk"
        assert canary["spec"] == {
            "assistant": "Front Desk",
            "versions": {
                "short": {"instructions": "Be brief."},
                "quiet": {"greeting": "", "tools": [], "shared_tools": ["Orders API / prod"]},
            },
            "rules": [
                {"match": [{"attribute": "caller_number", "operator": "in", "values": ["+13125550111"]}],
                 "serve": {"version": "main"}},
                {"match": [{"attribute": "caller_number", "operator": "starts_with", "values": ["+1312"]}],
                 "serve": {"version": "short"}},
                {"serve": {"rollout": [{"version": "short", "weight": 10}, {"version": "quiet", "weight": 5.5}]}},
            ],
        }


def exported(result: ExportResult) -> list[tuple[str, str]]:
    return [(o.kind, o.name) for o in result.objects]


class TestSelection:
    """Each selection is its own manifest set: objects left out are referenced by raw id, and it round-trips."""

    def test_by_kind(self, emulator: Any, sdk: telnyx.Telnyx, tmp_path: Path) -> None:
        apply_desk(emulator)
        result = export(emulator, tmp_path, kinds=["Assistant"])
        assert exported(result) == [
            ("Assistant", "support-billing"), ("Assistant", "support-tech"), ("Assistant", "support-triage")
        ]
        assert result.skipped == ()  # canary configs are not even read when CanaryDeploy is not selected
        spec = yaml.safe_load((tmp_path / "assistants" / "support-tech.yaml").read_text())["spec"]
        ids = live_ids(sdk)
        assert spec["tool_ids"] == [ids["create-ticket"]]
        assert spec["mcp_servers"] == [{"id": next(iter(sdk.ai.mcp_servers.list())).id}]
        assert plan(emulator, tmp_path) == (0, "No changes. 3 objects match the manifests.\n")

    def test_tools_only(self, emulator: Any, tmp_path: Path) -> None:
        apply_desk(emulator)
        result = export(emulator, tmp_path, kinds=["Tool", "McpServer"])
        assert exported(result) == [("Tool", "create-ticket"), ("Tool", "lookup-order"), ("McpServer", "crm")]
        assert plan(emulator, tmp_path) == (0, "No changes. 3 objects match the manifests.\n")

    def test_by_name_glob(self, emulator: Any, tmp_path: Path) -> None:
        apply_desk(emulator)
        result = export(emulator, tmp_path, name_glob="support-t*")
        assert exported(result) == [
            ("Assistant", "support-tech"), ("Assistant", "support-triage"), ("CanaryDeploy", "support-triage")
        ]
        assert plan(emulator, tmp_path) == (0, "No changes. 3 objects match the manifests.\n")

    def test_by_tag_takes_the_tools_and_servers_its_assistants_use(self, emulator: Any, tmp_path: Path) -> None:
        apply_desk(emulator)
        result = export(emulator, tmp_path, tag="tech")
        assert exported(result) == [("Tool", "create-ticket"), ("McpServer", "crm"), ("Assistant", "support-tech")]
        assert yaml.safe_load((tmp_path / "assistants" / "support-tech.yaml").read_text())["spec"]["shared_tools"] == [
            "create-ticket"
        ]
        assert plan(emulator, tmp_path) == (0, "No changes. 3 objects match the manifests.\n")

    def test_by_tag_and_kind_canary_follows_its_assistant(self, emulator: Any, tmp_path: Path) -> None:
        apply_desk(emulator)
        result = export(emulator, tmp_path, tag="tier-1", kinds=["Assistant", "CanaryDeploy"])
        assert exported(result) == [("Assistant", "support-triage"), ("CanaryDeploy", "support-triage")]
        assert plan(emulator, tmp_path) == (0, "No changes. 2 objects match the manifests.\n")

    def test_a_canary_without_its_assistant_is_skipped(self, emulator: Any, sdk: telnyx.Telnyx, tmp_path: Path) -> None:
        apply_desk(emulator)
        result = export(emulator, tmp_path, kinds=["CanaryDeploy"])
        assert exported(result) == []
        assert result.skipped == (
            Skipped("CanaryDeploy", "support-triage", live_ids(sdk)["support-triage"],
                    "its Assistant is not exported (a CanaryDeploy needs its Assistant document)"),
        )

    def test_unknown_kind_is_refused(self, emulator: Any, tmp_path: Path) -> None:
        with client_for(emulator) as client, pytest.raises(ValueError, match="unknown kind"):
            export_account(client, tmp_path, kinds=["Assistants"])


class TestNamesTheEngineCannotUse:
    def test_duplicate_names_are_skipped_and_referenced_by_id(
        self, emulator: Any, sdk: telnyx.Telnyx, tmp_path: Path
    ) -> None:
        first = sdk.ai.tools.create(display_name="twin", type="webhook", webhook=LOOKUP | {"headers": []})
        second = sdk.ai.tools.create(display_name="twin", type="hangup", extra_body={"hangup": {}})
        sdk.ai.assistants.create(name="solo", instructions="x", tool_ids=[second.id])
        result = export(emulator, tmp_path)
        reason = f"2 live objects share this name ({first.id}, {second.id}); rename all but one, then export again"
        assert result.skipped == tuple(sorted(  # sorted by kind, name and id: deterministic
            [Skipped("Tool", "twin", first.id, reason), Skipped("Tool", "twin", second.id, reason)],
            key=lambda s: s.id,
        ))
        spec = yaml.safe_load((tmp_path / "assistants" / "solo.yaml").read_text())["spec"]
        assert spec["tool_ids"] == [second.id]
        assert plan(emulator, tmp_path) == (0, "No changes. 1 object matches the manifests.\n")

    def test_a_served_version_without_a_findable_name_gets_one(
        self, emulator: Any, sdk: telnyx.Telnyx, tmp_path: Path
    ) -> None:
        created = sdk.ai.assistants.create(name="a", instructions="main")
        older = sdk.ai.assistants.update(created.id, promote_to_main=False, version_name="try", instructions="one")
        sdk.ai.assistants.update(created.id, promote_to_main=False, version_name="try", instructions="two")
        assert older.version_id is not None
        sdk.ai.assistants.canary_deploys.create(created.id, rules=[{"serve": {"version_id": older.version_id}}])
        with client_for(emulator) as client:
            result = export_account(client, tmp_path)
            generated = "v-" + older.version_id.replace("-", "")[:8]
            assert [(r.version_id, r.live_name, r.name) for r in result.renames] == [
                (older.version_id, "try", generated)
            ]
            canary = yaml.safe_load((tmp_path / "canary-deploys" / "a.yaml").read_text())["spec"]
            assert canary["versions"] == {generated: {"instructions": "one"}}
            code, _ = plan(emulator, tmp_path)
            assert code == 2  # the engine looks candidates up by name: none carries the generated one yet
            assert name_versions(client, result) == 1
        assert plan(emulator, tmp_path) == (0, "No changes. 2 objects match the manifests.\n")
        assert len(sdk.ai.assistants.versions.list(created.id).data) == 3  # renaming made no version


class TestAdopt:
    def test_adopted_objects_are_owned_so_prune_manages_them(
        self, emulator: Any, sdk: telnyx.Telnyx, tmp_path: Path
    ) -> None:
        ids = seed_by_hand(sdk)
        out = tmp_path / "desk"
        result = export(emulator, out)
        ledger = adopt(result, Ledger("desk", (Owned("Tool", "gone", "tool-gone"),)))
        assert sorted((o.kind, o.name, o.id) for o in ledger.objects) == sorted([
            ("Tool", "gone", "tool-gone"),
            ("Tool", "Orders API / prod", ids["tool"]),
            ("Tool", "bye", live_ids(sdk)["bye"]),
            ("McpServer", "crm", ids["server"]),
            ("Assistant", "Front Desk", ids["front"]),
            ("Assistant", "Back Office", ids["back"]),
            ("Assistant", "Night Shift", ids["other"]),
        ])
        project = tmp_path / "reconciler.yaml"
        project.write_text("stack: desk\n")
        save_ledger(ledger, tmp_path / ".reconciler" / "ownership-desk.json")
        config = ["--config", str(project), "--prune"]
        assert plan(emulator, out, *config, env=SECRETS) == (
            0,
            flow_advice(out) + "No changes. 7 objects match the manifests.\n",
        )
        (out / "mcp-servers" / "crm.yaml").unlink()
        front = out / "assistants" / "Front-Desk.yaml"
        front.write_text(front.read_text().replace("- server: crm\n", f"- id: {ids['server']}\n"))
        code, output = plan(emulator, out, *config, env=SECRETS)
        # Front Desk still uses the server (by raw id now): prune keeps it and says why.
        assert code == 0
        assert "  ! McpServer/crm is still used by Assistant/Front Desk: kept although no manifest states it" in output
        saved = json.loads((tmp_path / ".reconciler" / "ownership-desk.json").read_text())
        assert saved["stack"] == "desk"
