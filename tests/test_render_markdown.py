"""The markdown view (``plan --format markdown``), behaviour by behaviour, on small hand-made plans.

The whole layout is pinned by tests/golden/plan.md; these tests each prove one promise: what
an empty plan says, that nothing from a value becomes markup, that long text is a line diff,
that long single-line values are cut, and that secrets never show.
"""

from __future__ import annotations

from typing import Any

from reconciler.changes.change import Action, Change
from reconciler.changes.diff import FieldChange
from reconciler.changes.refs import Pending
from reconciler.engine.plan import Plan
from reconciler.render.markdown import COMMENT_LIMIT, code_span, escape_cell, fence_for, render_plan


def create(*fields: tuple[str, Any], name: str = "a", secrets: frozenset[str] = frozenset()) -> Plan:
    """A plan with one create of Assistant/``name`` setting ``fields``."""
    changes = tuple(FieldChange((path,), None, value) for path, value in fields)
    return Plan(changes=(Change(Action.CREATE, "Assistant", name, None, None, {}, changes, {}),), secrets=secrets)


def update(*fields: tuple[str, Any, Any], secrets: frozenset[str] = frozenset()) -> Plan:
    changes = tuple(FieldChange((path,), before, after) for path, before, after in fields)
    change = Change(Action.UPDATE, "Assistant", "a", "assistant-1", {}, {}, changes, {})
    return Plan(changes=(change,), secrets=secrets)


def section(plan: Plan) -> list[str]:
    """The lines between the summary line and ``</details>`` of the only change."""
    lines = render_plan(plan).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("<details>"))
    return lines[start + 1: lines.index("</details>")]


class TestEmptyPlan:
    def test_one_line_with_the_count_of_matching_objects(self) -> None:
        plan = Plan(changes=(), unchanged=("Assistant/a", "Tool/b"))
        assert render_plan(plan) == "No changes. 2 objects match the manifests.\n"

    def test_singular(self) -> None:
        plan = Plan(changes=(), unchanged=("Assistant/a",))
        assert render_plan(plan) == "No changes. 1 object matches the manifests.\n"

    def test_protected_objects_are_still_listed(self) -> None:
        plan = Plan(changes=(), protected=("Tool/keep",))
        assert render_plan(plan) == (
            "No changes. 0 objects match the manifests.\n\n"
            "- `Tool/keep` is protected: kept although no manifest states it\n"
        )


class TestLayout:
    def test_heading_summary_table_then_one_section_per_change(self) -> None:
        plan = Plan(
            changes=(
                Change(Action.CREATE, "Tool", "t", None, None, {}, (FieldChange(("type",), None, "hangup"),), {}),
                Change(Action.DELETE, "Tool", "old", "tool-9", {}, None, (FieldChange(("type",), "hangup", None),), {}),
            ),
            unchanged=("Assistant/a",),
        )
        assert render_plan(plan) == (
            "### reconciler plan\n"
            "\n"
            "| + create | ~ update | - delete | unchanged |\n"
            "|---:|---:|---:|---:|\n"
            "| 1 | 0 | 1 | 1 |\n"
            "\n"
            "<details><summary><code>+</code> <b>Tool/t</b> will be created</summary>\n"
            "\n"
            "| field | value |\n"
            "|---|---|\n"
            '| `type` | <code>"hangup"</code> |\n'
            "\n"
            "</details>\n"
            "\n"
            "<details><summary><code>-</code> <b>Tool/old</b> (<code>tool-9</code>) will be deleted</summary>\n"
            "\n"
            "| field | current value |\n"
            "|---|---|\n"
            '| `type` | <code>"hangup"</code> |\n'
            "\n"
            "</details>\n"
        )

    def test_summary_line_carries_step_id_and_note(self) -> None:
        change = Change(Action.UPDATE, "CanaryDeploy", "c", "assistant-1", {}, {},
                        (FieldChange(("rules",), [], [1]),), {}, step="link", note="canary <config> & more")
        [summary] = [line for line in render_plan(Plan(changes=(change,))).splitlines() if "<summary>" in line]
        assert summary == (
            "<details><summary><code>~</code> <b>CanaryDeploy/c</b> (<code>assistant-1</code>) will be updated"
            " (link): <i>canary &lt;config&gt; &amp; more</i></summary>"
        )

    def test_a_candidate_version_rebuilt_from_an_older_one_shows_both_sides(self) -> None:
        """Its fields are the differences from the live version of that name, so before matters."""
        change = Change(Action.CREATE, "AssistantVersion", "a@short", "assistant-1", {"model": "x"}, {"model": "y"},
                        (FieldChange(("model",), "x", "y"),), {})
        assert section(Plan(changes=(change,)))[1:4] == [
            "| field | before | after |", "|---|---|---|", '| `model` | <code>"x"</code> | <code>"y"</code> |',
        ]

    def test_the_manifest_file_and_line_are_named(self) -> None:
        change = Change(Action.CREATE, "Tool", "t", None, None, {}, (FieldChange(("type",), None, "hangup"),), {},
                        file="manifests/tools.yaml", line=12)
        assert section(Plan(changes=(change,)))[:2] == ["", "Declared in `manifests/tools.yaml:12`"]

    def test_an_id_known_only_after_apply_reads_as_such(self) -> None:
        lines = section(create(("tool_ids", [Pending("Tool", "t")]), ("id", Pending("Tool", "t"))))
        assert '| `shared_tools` | <code>\\["t"]</code> |' in lines  # the name the manifest used
        assert "| `id` | <code>(known after apply: Tool/t)</code> |" in lines

    def test_same_plan_same_bytes(self) -> None:
        plan = update(("instructions", "a\nb\n", "a\nc\n"), ("model", "x", "y"))
        assert render_plan(plan) == render_plan(plan)


class TestEscaping:
    def test_pipes_backticks_and_html_in_a_value_stay_text(self) -> None:
        [row] = [line for line in section(create(("description", "a | `b` <img src=x> & c"))) if "description" in line]
        assert row == '| `description` | <code>"a \\| \\`b\\` &lt;img src=x&gt; &amp; c"</code> |'

    def test_emphasis_links_and_strike_through_are_escaped(self) -> None:
        assert escape_cell("*bold* [link](http://x) ~~gone~~ _em_") == (
            "\\*bold\\* \\[link](http://x) \\~\\~gone\\~\\~ \\_em\\_"
        )

    def test_underscores_inside_words_are_left_alone(self) -> None:
        assert escape_cell("lookup_order") == "lookup_order"

    def test_a_path_is_a_code_span_that_no_backtick_closes(self) -> None:
        assert code_span("tools[0].name") == "`tools[0].name`"
        assert code_span("a`b") == "``a`b``"
        assert code_span("`a|b`") == "`` `a\\|b` ``"

    def test_a_value_cannot_close_its_diff_fence(self) -> None:
        text = "line one\n```\n<script>alert(1)</script>\nline four"
        assert section(create(("instructions", text))) == [
            "",
            "<details><summary><code>instructions</code> (4 lines)</summary>",
            "",
            "````diff",
            "+line one",
            "+```",
            "+<script>alert(1)</script>",
            "+line four",
            "````",
            "",
        ]
        assert fence_for(["``````"]) == "```````"


class TestLongValues:
    def test_an_update_of_long_text_is_a_unified_diff_with_context(self) -> None:
        before = "one\ntwo\nthree\nfour\nfive\nsix\n"
        after = "one\ntwo\nthree\nFOUR\nfive\nsix\n"
        assert section(update(("instructions", before, after))) == [
            "",
            "`instructions`",
            "",
            "```diff",
            "@@ -2,5 +2,5 @@",
            " two",
            " three",
            "-four",
            "+FOUR",
            " five",
            " six",
            "```",
            "",
        ]

    def test_a_new_long_text_is_shown_whole_as_added_lines(self) -> None:
        assert section(create(("greeting", "Hello.\nHow can I help?"))) == [
            "", "<details><summary><code>greeting</code> (2 lines)</summary>", "",
            "```diff", "+Hello.", "+How can I help?", "```", "",
        ]

    def test_short_fields_come_first_in_a_table_and_long_text_after_it(self) -> None:
        lines = section(update(("instructions", "a\nb", "a\nc"), ("model", "x", "y")))
        assert lines[:5] == ["", "| field | before | after |", "|---|---|---|",
                             '| `model` | <code>"x"</code> | <code>"y"</code> |', ""]
        assert lines[5] == "`instructions`"

    def test_a_value_too_wide_for_a_cell_is_shown_whole_as_lines(self) -> None:
        """A cut cell can hide the very thing that changed: wide values leave the table, whole."""
        value = ["x" * 40, "y" * 40]
        lines = section(create(("list", value)))
        assert not [line for line in lines if "`list` |" in line]
        assert "<details><summary><code>list</code> (4 lines)</summary>" in lines
        assert f'+  "{"x" * 40}",' in lines and f'+  "{"y" * 40}"' in lines
        assert "cut to fit" not in render_plan(create(("list", value)))

    def test_a_long_value_inside_a_list_item_is_shown_whole_below_its_table(self) -> None:
        before = [{"name": "a", "criteria": "short"}]
        after = [{"name": "a", "criteria": "z" * 120}, {"name": "b"}]
        lines = render_plan(update(("rubric", before, after))).splitlines()
        assert '| \\~ "a" (changed) | `criteria` | _whole below_ | _whole below_ |' in lines
        start = lines.index('`rubric "a".criteria`')
        assert lines[start + 2: start + 6] == ["```diff", "@@ -1 +1 @@", "-short", "+" + "z" * 120]
        assert "cut to fit" not in "\n".join(lines)

    def test_an_update_of_a_wide_value_is_a_line_diff(self) -> None:
        before = {"url": "https://a.example/" + "p" * 80, "method": "POST"}
        after = {"url": "https://a.example/" + "q" * 80, "method": "POST"}
        lines = section(update(("webhook", before, after)))
        assert f'-  "url": "https://a.example/{"p" * 80}",' in lines
        assert f'+  "url": "https://a.example/{"q" * 80}",' in lines

    def test_no_footer_when_nothing_was_cut(self) -> None:
        assert "cut to fit" not in render_plan(create(("model", "openai/gpt-4o")))

    def test_absent_and_cleared_values(self) -> None:
        lines = section(update(("greeting", None, "hi"), ("description", "old", None)))
        assert '| `greeting` | (absent) | <code>"hi"</code> |' in lines
        assert '| `description` | <code>"old"</code> | <code>null</code> |' in lines


class TestSecrets:
    SECRET = "s3cr3t-value"

    def test_a_created_field_holding_a_secret_is_sensitive(self) -> None:
        plan = create(("header", f"Bearer {self.SECRET}"), secrets=frozenset({self.SECRET}))
        assert "| `header` | (sensitive) |" in section(plan)
        assert self.SECRET not in render_plan(plan)

    def test_an_updated_secret_masks_both_sides_and_gets_no_diff(self) -> None:
        long_before = "line\n" * 3 + self.SECRET
        plan = update(("instructions", long_before, "line\n" * 4), ("token", None, self.SECRET),
                      secrets=frozenset({self.SECRET}))
        lines = section(plan)
        assert "| `instructions` | (sensitive) | (sensitive) |" in lines
        assert "| `token` | (absent) | (sensitive) |" in lines
        assert "```diff" not in lines
        assert self.SECRET not in render_plan(plan)

    def test_a_secret_inside_a_nested_value_masks_the_whole_value(self) -> None:
        plan = create(("headers", [{"name": "x", "value": self.SECRET}]), secrets=frozenset({self.SECRET}))
        assert "| `headers` | (sensitive) |" in section(plan)


class TestCommentLimit:
    """A PR comment holds at most 65,536 characters: a bigger plan keeps its table and says where the rest is."""

    @staticmethod
    def big_plan(count: int, prompt_lines: int) -> Plan:
        prompt = "\n".join(f"Line {n} of a long prompt that a reviewer reads." for n in range(prompt_lines))
        return Plan(changes=tuple(
            Change(Action.CREATE, "Assistant", f"a-{n:04}", None, None, {},
                   (FieldChange(("instructions",), None, prompt),), {}) for n in range(count)))

    def test_an_oversized_plan_is_cut_with_a_pointer_to_the_whole_plan(self) -> None:
        rendered = render_plan(self.big_plan(200, 40))
        assert len(rendered) < COMMENT_LIMIT
        lines = rendered.splitlines()
        assert lines[4] == "| 200 | 0 | 0 | 0 |"  # the summary table first
        assert any("`reconciler show plan.json`" in line and "left out" in line for line in lines)
        assert "- <code>+</code> <b>Assistant/a-0199</b> will be created" in lines  # every change still named
        assert rendered.count("</details>") % 2 == 0  # no section is cut in half

    def test_a_huge_number_of_changes_ends_with_a_count(self) -> None:
        rendered = render_plan(self.big_plan(3000, 2))
        assert len(rendered) < COMMENT_LIMIT
        assert rendered.rstrip().splitlines()[-1].startswith("- … and ")

    def test_a_plan_that_fits_is_not_cut(self) -> None:
        rendered = render_plan(self.big_plan(3, 5))
        assert "left out" not in rendered
