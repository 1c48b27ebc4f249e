"""Golden files for the three plan views, and the JSON view against its published schema.

One hand-made plan (no network, fixed ids) holds every kind of change a reviewer meets: creates,
updates with a long multi-line ``instructions`` diff and nested fields, a ``(link)`` step, a
candidate version, a canary config, deletes, a protected object and a secret that must never
show. It is rendered as text, markdown and JSON and compared byte for byte with
``tests/golden/plan.txt``, ``plan.md`` and ``plan.json``.

After an intended change to a view, rewrite the files and review their diff like code::

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_render_golden.py

The end-to-end tests run the CLI against the emulator and check the structure of the markdown
and JSON it prints, and that the JSON validates against ``docs/plan.schema.json``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from reconciler.changes.change import Action, Change
from reconciler.changes.diff import FieldChange
from reconciler.changes.refs import Pending
from reconciler.engine.plan import Plan
from reconciler.render import render_plan_as
from tests.helpers import REPO, run_cli

GOLDEN = Path(__file__).resolve().parent / "golden"
SCHEMA = REPO / "docs" / "plan.schema.json"
DESK = REPO / "examples" / "support-desk"
SECRET = "sk-live-7f3a9c1e"

TRIAGE_ID = "assistant-5b1f7f2c-0d6e-4a8b-9c3e-2f4a6b8c0d1e"
TRIAGE_BEFORE = """You answer the Acme Outdoor support line.
Find out what the caller needs in one or two questions.
Look up orders with lookup_order.
Billing questions go to billing.
Product problems go to tech-support.
Be brief and friendly.
"""
TRIAGE_AFTER = """You answer the Acme Outdoor support line.
Find out what the caller needs in one or two questions.
Look up orders with lookup_order and the caller's account with get_customer.
Billing questions go to billing.
Product problems go to tech-support.
If nobody can help right now, open a ticket with create_ticket.
Be brief and friendly.
"""
BILLING_INSTRUCTIONS = """You handle billing for Acme Outdoor: charges, refunds up to $200, invoices.
Check the order with lookup_order before discussing any charge.
Refunds above $200 need a supervisor: say so and open a ticket.
Never read a full card number aloud.
Anything that is not about billing goes back to support-triage.
"""
TECH_INSTRUCTIONS = "You fix product problems for Acme Outdoor.\nAsk for the order number first.\n"
LOOKUP_ID = "tool-1a2b3c4d"
WEBHOOK_BEFORE = {"type": "webhook", "webhook": {"name": "lookup_order", "url": "https://acme.example/v1/orders",
                                                 "method": "POST", "description": "Find an order"}}
WEBHOOK_AFTER = {"type": "webhook", "webhook": {"name": "lookup_order", "url": "https://acme.example/v2/orders",
                                                "description": "Find an order"}}
HANGUP = {"type": "hangup", "hangup": {"description": "End the call"}}
TRANSFER = {"type": "transfer", "transfer": {"targets": [{"name": "desk", "to": "+15550100"}], "from": "+15550199"}}
FUNCTION = {"type": "function", "function": {"name": "check_warranty", "description": "Is the product covered?"}}
CONCISE = "You route calls on the Acme Outdoor support line. Ask at most one question.\nOrders: lookup_order."


def _f(path: str, before: Any, after: Any) -> FieldChange:
    """A field change from a dotted path with ``[n]`` indexes, as the diff engine would make it."""
    parts: list[str | int] = []
    for key, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        parts.append(int(index) if index else key)
    return FieldChange(tuple(parts), before, after)


def golden_plan() -> Plan:
    """Every shape of change, built by hand so the golden files never depend on the emulator."""
    tool = Pending("Tool", "crm-lookup")
    billing = Pending("Assistant", "support-billing")
    candidate = Pending("AssistantVersion", "support-triage@concise-prompt")
    changes = (
        Change(
            Action.CREATE, "Tool", "crm-lookup", None, None, {}, (
                _f("display_name", None, "crm-lookup"),
                _f("type", None, "webhook"),
                _f("webhook.description", None, "Find a customer by phone | email; returns `id` & <b>tier</b>"),
                _f("webhook.url", None, "https://crm.acme-outdoor.example/api/v2/customers/lookup"
                                        "?fields=id,name,tier,open_tickets"),
                _f("webhook.headers[0].name", None, "Authorization"),
                _f("webhook.headers[0].value", None, f"Bearer {SECRET}"),
            ), {}, "manifests/tools.yaml", 1, (0, 0),
        ),
        Change(
            Action.CREATE, "Assistant", "support-billing", None, None, {}, (
                _f("name", None, "support-billing"),
                _f("model", None, "openai/gpt-4o"),
                _f("instructions", None, BILLING_INSTRUCTIONS),
                _f("tool_ids", None, [tool]),
            ), {}, "manifests/billing.yaml", 1, (1, 0), ("Tool/crm-lookup",),
        ),
        Change(
            Action.UPDATE, "Assistant", "support-triage", TRIAGE_ID, {}, {}, (
                _f("instructions", TRIAGE_BEFORE, TRIAGE_AFTER),
                _f("greeting", "Thanks for calling Acme Outdoor support. I can help with orders, billing and "
                               "product problems. What do you need?", "Thanks for calling Acme Outdoor support. "
                               "I can help with orders, billing and product problems. What can I do for you?"),
                _f("description", "Front door of the support line.", None),
                _f("voice_settings.voice", "Telnyx.KokoroTTS.af_heart", "Telnyx.KokoroTTS.af_bella"),
                _f("transcription.language", None, "en"),
                _f("tools[0].handoff.ai_assistants[0].id", "assistant-0a0a", billing),
                _f("tool_ids", [LOOKUP_ID], [LOOKUP_ID, tool]),
            ), {}, "manifests/triage.yaml", 1, (1, 0), ("Tool/crm-lookup",),
        ),
        Change(
            Action.UPDATE, "Assistant", "support-tech", "assistant-9e8d7c6b", {}, {}, (
                _f("instructions", TECH_INSTRUCTIONS.replace("first.", "first.  "), TECH_INSTRUCTIONS),
                _f("tools", [WEBHOOK_BEFORE, HANGUP, TRANSFER], [WEBHOOK_AFTER, FUNCTION, HANGUP]),
            ), {}, "manifests/tech.yaml", 1, (1, 0),
        ),
        Change(
            Action.UPDATE, "AssistantTest", "refund-policy", "test-4d5e6f", {}, {}, (
                _f("rubric", [{"name": "polite", "criteria": "Greets the caller"},
                              {"name": "limit", "criteria": "Offers refunds up to $100"}],
                   [{"name": "limit", "criteria": "Offers refunds up to $200"},
                    {"name": "polite", "criteria": "Greets the caller"},
                    {"name": "escalates", "criteria": "Sends larger refunds to a supervisor"}]),
            ), {}, "manifests/tests.yaml", 1, (2, 0),
        ),
        Change(
            Action.UPDATE, "Assistant", "support-billing", billing, None, {}, (
                _f("tools[0].type", None, "handoff"),
                _f("tools[0].handoff.ai_assistants[0].id", None, TRIAGE_ID),
                _f("tools[0].handoff.ai_assistants[0].name", None, "support-triage"),
            ), {}, "manifests/billing.yaml", 1, (1, 1), ("Assistant/support-billing",), step="link",
            note="handoffs linked once every assistant they name exists",
        ),
        Change(
            Action.CREATE, "AssistantVersion", "support-triage@concise-prompt", TRIAGE_ID, None, {}, (
                _f("instructions", None, CONCISE),
                _f("version_name", None, "concise-prompt"),
            ), {}, "manifests/canary.yaml", 2, (2, 0), ("Assistant/support-triage",),
            note="candidate version of Assistant/support-triage; main is not touched",
        ),
        Change(
            Action.UPDATE, "CanaryDeploy", "triage-concise-prompt", TRIAGE_ID, {}, {}, (
                _f("rules[0].serve.rollout[0].version_id", "version-1c2d", candidate),
                _f("rules[0].serve.rollout[0].weight", 5, 10),
            ), {}, "manifests/canary.yaml", 2, (3, 0), ("AssistantVersion/support-triage@concise-prompt",),
            note="canary config of Assistant/support-triage",
        ),
        Change(
            Action.DELETE, "CanaryDeploy", "support-tech", "assistant-9e8d7c6b", {}, None, (
                _f("rules[0].serve.version_id", "version-77aa", None),
            ), {}, stage=(4, 0), note="canary config of Assistant/support-tech; main is not touched",
        ),
        Change(
            Action.DELETE, "Tool", "old-faq", "tool-3c4d5e6f", {}, None, (
                _f("display_name", "old-faq", None),
                _f("type", "retrieval", None),
            ), {}, stage=(5, 0),
        ),
    )
    return Plan(
        changes=changes,
        unchanged=("McpServer/crm",),
        live_ids={("Tool", "lookup-order"): LOOKUP_ID, ("Assistant", "support-triage"): TRIAGE_ID},
        secrets=frozenset({SECRET}),
        protected=("Assistant/keep-me",),
    )


@pytest.mark.parametrize(("output_format", "filename"), [("text", "plan.txt"), ("markdown", "plan.md"),
                                                         ("json", "plan.json")])
def test_each_view_matches_its_golden_file(output_format: str, filename: str) -> None:
    """Byte for byte; UPDATE_GOLDEN=1 rewrites the file instead of comparing."""
    rendered = render_plan_as(golden_plan(), output_format)
    path = GOLDEN / filename
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
    assert rendered == path.read_text(encoding="utf-8")


def test_rendering_twice_gives_the_same_bytes() -> None:
    """No clock, no set order, no id() leaks into any view."""
    for output_format in ("text", "markdown", "json"):
        assert render_plan_as(golden_plan(), output_format) == render_plan_as(golden_plan(), output_format)


def test_no_view_shows_the_secret() -> None:
    """The secret is in a field of the plan; every view masks it."""
    for output_format in ("text", "markdown", "json"):
        rendered = render_plan_as(golden_plan(), output_format)
        assert SECRET not in rendered
        assert "(sensitive)" in rendered


def _schema() -> Draft202012Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _errors(document: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _schema().iter_errors(document)]


class TestPlanSchema:
    def test_the_golden_json_is_valid(self) -> None:
        """Every shape of change in one document, against docs/plan.schema.json."""
        assert _errors(json.loads(render_plan_as(golden_plan(), "json"))) == []

    def test_the_schema_rejects_what_the_format_never_holds(self) -> None:
        """A schema that accepts anything proves nothing: an unknown action and a missing key fail."""
        document = json.loads(render_plan_as(golden_plan(), "json"))
        document["changes"][0]["action"] = "replace"
        del document["summary"]["delete"]
        document["format_version"] = 2
        errors = _errors(document)
        assert len(errors) == 3, errors

    def test_an_empty_plan_is_valid(self) -> None:
        assert _errors(json.loads(render_plan_as(Plan(changes=()), "json"))) == []


class TestEndToEnd:
    """``reconciler plan examples/support-desk`` against a fresh emulator: 8 objects, 10 changes."""

    def test_markdown_has_the_summary_row_and_one_section_per_change(self, emulator: Any) -> None:
        result = run_cli(["plan", str(DESK), "--format", "markdown"], emulator.base_url)
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert lines[0] == "### reconciler plan"
        assert lines[2:5] == [
            "| + create | ~ update | - delete | unchanged |",
            "|---:|---:|---:|---:|",
            "| 11 | 0 | 0 | 0 |",
        ]
        summaries = [line for line in lines if line.startswith("<details><summary>") and "</b>" in line]
        assert len(summaries) == 13
        prompts = [line for line in lines if line.startswith("<details><summary><code>")
                   and "</b>" not in line]  # each new long text folded inside its change
        assert lines.count("</details>") == 13 + len(prompts)
        assert summaries[0] == "<details><summary><code>+</code> <b>McpServer/crm</b> will be created</summary>"
        assert summaries[6] == (
            "<details><summary><code>~</code> <b>Assistant/support-billing</b> will be updated (link): "
            "<i>handoffs linked once every assistant they name exists</i></summary>"
        )
        # multi-line instructions: 3 assistants, 2 tests, the candidate; and 3 one-line values too wide
        # for a cell (two descriptions, a rubric criterion), shown whole instead of cut
        assert lines.count("```diff") == 9

    def test_json_counts_and_validates_against_the_schema(self, emulator: Any) -> None:
        result = run_cli(["plan", str(DESK), "--format", "json"], emulator.base_url)
        assert result.exit_code == 0, result.output
        document = json.loads(result.stdout)
        assert list(document)[:4] == ["format_version", "summary", "changes", "unchanged"]
        assert document["format_version"] == 1
        assert document["summary"] == {"create": 11, "update": 0, "delete": 0, "adopt": 0}
        assert len(document["changes"]) == 13
        assert [c["step"] for c in document["changes"]].count("link") == 2
        assert _errors(document) == []

    def test_json_after_apply_is_an_empty_valid_plan(self, emulator: Any) -> None:
        assert run_cli(["apply", str(DESK), "--yes"], emulator.base_url).exit_code == 0
        result = run_cli(["plan", str(DESK), "--format", "json"], emulator.base_url)
        document = json.loads(result.stdout)
        assert document["summary"] == {"create": 0, "update": 0, "delete": 0, "adopt": 0}
        assert (document["changes"], len(document["unchanged"])) == ([], 10)
        assert _errors(document) == []
        markdown = run_cli(["plan", str(DESK), "--format", "markdown"], emulator.base_url)
        assert markdown.stdout == "No changes. 10 objects match the manifests.\n"


@pytest.mark.parametrize(("output_format", "filename"), [("text", "drift.txt"), ("markdown", "drift.md"),
                                                         ("json", "drift.json")])
def test_each_drift_view_matches_its_golden_file(output_format: str, filename: str) -> None:
    """The drift the golden plan repairs: list items, whitespace only, shared tool names, masked secrets."""
    from reconciler.engine.drift import drift_report
    from reconciler.render.drift import render_drift

    rendered = render_drift(drift_report(golden_plan()), output_format)
    assert SECRET not in rendered
    path = GOLDEN / filename
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(rendered, encoding="utf-8")
    assert rendered == path.read_text(encoding="utf-8")


def test_oversized_markdown_matches_its_golden_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cut comment, at a 6,000-character limit so the file stays readable: table first, the
    sections that fit, one line per change left out, and the pointer to the whole plan."""
    from reconciler.render import markdown

    monkeypatch.setattr(markdown, "COMMENT_LIMIT", 6000)
    rendered = render_plan_as(golden_plan(), "markdown")
    assert len(rendered) < 6000
    path = GOLDEN / "plan-cut.md"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(rendered, encoding="utf-8")
    assert rendered == path.read_text(encoding="utf-8")
