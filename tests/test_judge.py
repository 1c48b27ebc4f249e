"""The emulator's deterministic judge of test runs (reconciler/emulator/judge.py), on plain data."""

from __future__ import annotations

from typing import Any

from reconciler.emulator.judge import answer_text, conversation_seconds, judge, terms, timed_out, unreachable

JSON = dict[str, Any]


def item(name: str, criteria: str) -> JSON:
    return {"name": name, "criteria": criteria}


class TestTerms:
    def test_double_quotes_and_backticks_in_order(self) -> None:
        assert terms('Says "refund policy", then `order id` and "30 days".') == ["refund policy", "order id", "30 days"]

    def test_blank_and_unclosed_quotes_are_not_terms(self) -> None:
        assert terms('an empty "" term, a `  ` blank one and an "unclosed one') == []

    def test_plain_prose_has_no_terms(self) -> None:
        assert terms("Is polite and helpful.") == []


class TestAnswerText:
    def test_instructions_greeting_tool_names_shared_tools_and_mcp_servers(self) -> None:
        config = {
            "instructions": "Help with orders.",
            "greeting": "Welcome to Acme.",
            "model": "not-searched",
            "tools": [
                {"type": "webhook", "webhook": {"name": "lookup_order", "description": "Find an order", "url": "u"}},
                {"type": "handoff", "handoff": {"ai_assistants": [{"id": "assistant-x", "name": "Billing desk"}]}},
                {"type": "transfer", "transfer": {"targets": [{"name": "Human agent", "to": "+15550100"}]}},
            ],
        }
        shared = [{"type": "function", "display_name": "Refund tool", "tool_definition": {"name": "refund_it"}}]
        text = answer_text(config, shared, ["Catalog MCP"]).splitlines()
        assert text == [
            "Help with orders.",
            "Welcome to Acme.",
            "webhook",
            "lookup_order",
            "Find an order",
            "handoff",
            "Billing desk",
            "transfer",
            "Human agent",
            "function",
            "Refund tool",
            "refund_it",
            "Catalog MCP",
        ]

    def test_other_fields_are_not_searched(self) -> None:
        config = {"instructions": "x", "model": "secret-model", "tools": [{"type": "webhook", "webhook": {"url": "u"}}]}
        assert "secret-model" not in answer_text(config)
        assert "u" not in answer_text(config).splitlines()


class TestJudge:
    def test_every_term_found_passes(self) -> None:
        verdict = judge([item("Refunds", 'Mentions "refund policy" and `30 days`')], "Our refund policy is 30 days.")
        assert verdict.status == "passed"
        assert verdict.detail_status == [{"name": "Refunds", "status": "passed"}]
        assert 'PASS Refunds: found "refund policy", "30 days"' in verdict.logs

    def test_matching_ignores_case(self) -> None:
        assert judge([item("Brand", 'Says "ACME Corp"')], "welcome to acme corp").status == "passed"
        assert judge([item("Brand", "Says `acme corp`")], "WELCOME TO ACME CORP").status == "passed"

    def test_a_missing_term_fails_the_item_and_is_named_in_the_logs(self) -> None:
        rubric = [item("Refunds", 'Says "refund" and "store credit"'), item("Greeting", 'Says "hello"')]
        verdict = judge(rubric, "Hello! We refund within 30 days.")
        assert verdict.status == "failed"
        assert verdict.detail_status == [
            {"name": "Refunds", "status": "failed"},
            {"name": "Greeting", "status": "passed"},
        ]
        assert 'FAIL Refunds: missing "store credit"' in verdict.logs.splitlines()
        assert "result: failed (1 of 2 rubric items passed)" in verdict.logs

    def test_every_missing_term_is_named(self) -> None:
        verdict = judge([item("A", 'Says "one", "two" and "three"')], "two")
        assert 'FAIL A: missing "one", "three"' in verdict.logs

    def test_an_item_without_quoted_terms_passes_and_says_nothing_was_checked(self) -> None:
        verdict = judge([item("Tone", "Is empathetic and calm.")], "")
        assert verdict.status == "passed"
        assert "PASS Tone: no quoted term, nothing the emulator could check" in verdict.logs

    def test_shared_tool_names_count(self) -> None:
        shared = [{"type": "webhook", "display_name": "CRM", "tool_definition": {"name": "create_ticket"}}]
        answer = answer_text({"instructions": "Be brief."}, shared)
        assert judge([item("Ticket", "Uses `create_ticket`")], answer).status == "passed"
        assert judge([item("Ticket", "Uses `create_ticket`")], answer_text({"instructions": "x"})).status == "failed"

    def test_mcp_server_names_count(self) -> None:
        answer = answer_text({"instructions": "x"}, [], ["Inventory MCP"])
        assert judge([item("Stock", 'Checks "inventory mcp"')], answer).status == "passed"


class TestTimeout:
    def test_conversation_length_is_twenty_plus_ten_per_item(self) -> None:
        assert (conversation_seconds(1), conversation_seconds(3)) == (30, 50)

    def test_a_limit_below_the_conversation_is_an_error_naming_the_limit(self) -> None:
        rubric = [item("A", 'Says "hi"'), item("B", "anything")]
        verdict = judge(rubric, "hi", max_duration_seconds=39)
        assert verdict.status == "error"
        assert verdict.detail_status == [{"name": "A", "status": "error"}, {"name": "B", "status": "error"}]
        assert verdict.logs.startswith("timeout:")
        assert "max_duration_seconds 39" in verdict.logs
        assert "40 s" in verdict.logs

    def test_a_limit_equal_to_the_conversation_is_enough(self) -> None:
        assert judge([item("A", 'Says "hi"')], "hi", max_duration_seconds=30).status == "passed"

    def test_timeout_comes_before_the_terms(self) -> None:
        assert judge([item("A", 'Says "absent"')], "", max_duration_seconds=1).status == "error"

    def test_a_scripted_timeout_says_who_forced_it(self) -> None:
        verdict = timed_out([item("A", "x")], None, "scripted")
        assert verdict.logs.startswith("timeout:")
        assert "no max_duration_seconds" in verdict.logs
        assert "(scripted)" in verdict.logs


class TestUnreachable:
    def test_every_item_errors_and_the_logs_say_why(self) -> None:
        verdict = unreachable([item("A", "x")], "+15551234567")
        assert verdict.status == "error"
        assert verdict.detail_status == [{"name": "A", "status": "error"}]
        assert "reaches assistants only by id" in verdict.logs
        assert "'+15551234567'" in verdict.logs
