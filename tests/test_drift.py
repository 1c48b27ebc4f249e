"""Drift reports: read off a plan, so drift and plan always agree; shown as text, markdown and JSON.

Unit tests build Plans by hand; end-to-end tests apply the support-desk example with the CLI,
change the account with the official SDK, and build the plan with the library API as the
``drift`` command does.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import telnyx
import yaml

from reconciler.api.client import TelnyxClient
from reconciler.changes.change import Action, Change
from reconciler.changes.diff import FieldChange, leaves
from reconciler.changes.refs import Pending
from reconciler.engine.drift import DriftField, DriftObject, DriftReport, DriftStatus, drift_report
from reconciler.engine.live import fetch_live
from reconciler.engine.plan import Plan, build_plan
from reconciler.manifests.loader import load_resources
from reconciler.render.drift import CELL_LIMIT, DIFF_WIDTH, drift_document, render_drift, render_text
from tests.conftest import TEST_API_KEY
from tests.helpers import REPO, run_cli

DESK = REPO / "examples" / "support-desk"
SECRET = "sk-live-drift-secret-7"
FORMATS = ("text", "markdown", "json")


def change(action: Action, kind: str, name: str, *fields: FieldChange, live_id: str | Pending | None = None,
           step: str = "", requires: tuple[str, ...] = (), before: Mapping[str, Any] | None = None) -> Change:
    """A plan change with only what drift reads filled in."""
    if before is None and action is not Action.CREATE and not step:
        before = {}
    return Change(action, kind, name, live_id, before, None if action is Action.DELETE else {}, tuple(fields), {},
                  requires=requires, step=step)


def plan_of(*changes: Change, unchanged: tuple[str, ...] = (), secrets: frozenset[str] = frozenset()) -> Plan:
    return Plan(changes=changes, unchanged=unchanged, secrets=secrets)


def every_format(report: DriftReport) -> str:
    return "".join(render_drift(report, f) for f in FORMATS)


# -- unit: from plan to report ---------------------------------------------------------------


class TestFromAPlan:
    def test_an_empty_plan_is_in_sync_and_counts_what_matches(self) -> None:
        """No change means no drift; the objects the plan left alone are the in-sync count."""
        report = drift_report(plan_of(unchanged=("Tool/a", "Assistant/b")))
        assert report.in_sync
        assert report.summary == {"missing": 0, "changed": 0, "extra": 0, "in_sync": 2}
        assert render_text(report) == "No drift: 2 objects match the manifests.\n"

    def test_create_is_missing_update_is_changed_delete_is_extra(self) -> None:
        """Each action maps to one status; update fields read live = before, desired = after."""
        report = drift_report(plan_of(
            change(Action.CREATE, "Tool", "t", *leaves({"type": "webhook"})),
            change(Action.UPDATE, "Assistant", "a", FieldChange(("model",), "x/old", "x/new"), live_id="a-1"),
            change(Action.DELETE, "McpServer", "m", live_id="m-1"),
            unchanged=("Assistant/b",),
        ))
        assert report.objects == (
            DriftObject("Tool", "t", DriftStatus.MISSING, None),
            DriftObject("Assistant", "a", DriftStatus.CHANGED, "a-1", (DriftField(("model",), "x/old", "x/new"),)),
            DriftObject("McpServer", "m", DriftStatus.EXTRA, "m-1"),
        )
        assert not report.in_sync
        assert (report.missing, report.changed, report.extra) == (1, 1, 1)
        assert report.summary == {"missing": 1, "changed": 1, "extra": 1, "in_sync": 1}

    def test_a_link_step_belongs_to_its_missing_object(self) -> None:
        """Create-then-link is one missing assistant, not a missing one and a changed one."""
        report = drift_report(plan_of(
            change(Action.CREATE, "Assistant", "a", *leaves({"name": "a"})),
            change(Action.UPDATE, "Assistant", "a", *leaves({"tools": [{"type": "handoff"}]}),
                   live_id=Pending("Assistant", "a"), step="link"),
        ))
        assert report.objects == (DriftObject("Assistant", "a", DriftStatus.MISSING, None),)

    def test_a_missing_candidate_version_is_drift_of_its_canary_deploy(self) -> None:
        """The candidate's fields appear under versions.NAME, without the version bookkeeping."""
        version = change(Action.CREATE, "AssistantVersion", "a@short",
                         *leaves({"instructions": "Be brief.", "version_name": "short"}), live_id="a-1")
        canary = change(Action.UPDATE, "CanaryDeploy", "c",
                        FieldChange(("rules", 0, "serve", "version_id"), "v-1", Pending("AssistantVersion", "a@short")),
                        live_id="a-1", requires=(version.ref,))
        report = drift_report(plan_of(version, canary))
        assert report.objects == (DriftObject("CanaryDeploy", "c", DriftStatus.CHANGED, "a-1", (
            DriftField(("versions", "short", "instructions"), None, "Be brief."),
            DriftField(("rules", 0, "serve", "version_id"), "v-1", Pending("AssistantVersion", "a@short")),
        )),)

    def test_a_changed_candidate_of_a_missing_canary_adds_nothing_to_it(self) -> None:
        version = change(Action.CREATE, "AssistantVersion", "a@short",
                         FieldChange(("instructions",), "old", "new"), live_id="a-1", before={"instructions": "old"})
        canary = change(Action.CREATE, "CanaryDeploy", "c", live_id="a-1", requires=(version.ref,))
        assert drift_report(plan_of(version, canary)).objects == (
            DriftObject("CanaryDeploy", "c", DriftStatus.MISSING, None),)

    def test_a_candidate_no_rule_waits_for_is_reported_on_its_own(self) -> None:
        """Rules that never name the candidate do not change: the version is its own object."""
        version = change(Action.CREATE, "AssistantVersion", "a@spare",
                         FieldChange(("instructions",), "old", "new"), live_id="a-1", before={"instructions": "old"})
        assert drift_report(plan_of(version)).objects == (DriftObject(
            "AssistantVersion", "a@spare", DriftStatus.CHANGED, "a-1",
            (DriftField(("versions", "spare", "instructions"), "old", "new"),)),)

    def test_the_counts_agree_with_the_plan_summary(self) -> None:
        plan = plan_of(
            change(Action.CREATE, "Tool", "t"),
            change(Action.CREATE, "Assistant", "a"),
            change(Action.UPDATE, "Assistant", "a", live_id=Pending("Assistant", "a"), step="link"),
            change(Action.UPDATE, "McpServer", "m", FieldChange(("url",), "u1", "u2"), live_id="m-1"),
            change(Action.DELETE, "Tool", "old", live_id="t-9"),
        )
        report = drift_report(plan)
        assert plan.summary == {"create": report.missing, "update": report.changed, "delete": report.extra, "adopt": 0}


class TestSecrets:
    SECRETS = frozenset({SECRET})

    def report(self) -> DriftReport:
        return drift_report(plan_of(
            change(Action.UPDATE, "Tool", "crm", *[
                FieldChange(("webhook", "headers", 0, "value"), "Bearer old-token", f"Bearer {SECRET}"),
                FieldChange(("webhook", "headers"), [{"value": SECRET}], []),
                FieldChange(("webhook", "url"), "https://a.example", "https://b.example"),
            ], live_id="t-1"),
            secrets=self.SECRETS,
        ))

    def test_both_sides_of_a_field_holding_a_secret_are_masked(self) -> None:
        """Whichever side holds it, neither is shown: the other may be an old value of the secret."""
        fields = self.report().objects[0].fields
        assert fields == (
            DriftField(("webhook", "headers", 0, "value"), "(sensitive)", "(sensitive)", True),
            DriftField(("webhook", "headers"), "(sensitive)", "(sensitive)", True),
            DriftField(("webhook", "url"), "https://a.example", "https://b.example", False),
        )

    def test_no_format_shows_the_secret(self) -> None:
        out = every_format(self.report())
        assert SECRET not in out
        assert "old-token" not in out
        assert '"live": "(sensitive)"' in out

    def test_absent_stays_absent_when_the_other_side_is_secret(self) -> None:
        report = drift_report(plan_of(
            change(Action.UPDATE, "Tool", "crm", FieldChange(("webhook", "headers"), None, [{"value": SECRET}]),
                   live_id="t-1"),
            secrets=self.SECRETS,
        ))
        assert report.objects[0].fields == (DriftField(("webhook", "headers"), None, "(sensitive)", True),)
        assert "          live:    (absent)\n          desired: (sensitive)\n" in render_text(report)


# -- unit: the views -------------------------------------------------------------------------

INSTRUCTIONS_LIVE = "Answer calls.\nBe kind.\nHang up politely.\n"
INSTRUCTIONS_WANT = "Answer calls.\nBe brief.\nHang up politely.\n"


def sample() -> DriftReport:
    """One object of each status, a long text, a Pending id and awkward characters for markdown."""
    return drift_report(plan_of(
        change(Action.CREATE, "Tool", "lookup"),
        change(Action.UPDATE, "Assistant", "desk", *[
            FieldChange(("instructions",), INSTRUCTIONS_LIVE, INSTRUCTIONS_WANT),
            FieldChange(("greeting",), "Hi | `there`", "Hello"),
            FieldChange(("tool_ids",), ["t-1"], ["t-1", Pending("Tool", "lookup")]),
            FieldChange(("description",), "x", None),
        ], live_id="a-1"),
        change(Action.DELETE, "Tool", "old", live_id="t-9"),
        unchanged=("McpServer/crm",),
    ))


class TestTextView:
    def test_one_block_per_object_with_live_and_desired(self) -> None:
        assert render_text(sample()) == (
            "The live account differs from the manifests:\n"
            "\n"
            "  missing  Tool/lookup\n"
            "      in the manifests, not in the account\n"
            "\n"
            "  changed  Assistant/desk (a-1)\n"
            "      instructions (- live, + desired):\n"
            "          @@ -1,3 +1,3 @@\n"
            "           Answer calls.\n"
            "          -Be kind.\n"
            "          +Be brief.\n"
            "           Hang up politely.\n"
            "      greeting:\n"
            '          live:    "Hi | `there`"\n'
            '          desired: "Hello"\n'
            "      shared_tools:\n"
            '          live:    ["t-1"]\n'
            '          desired: ["t-1", "lookup"]\n'
            "      description:\n"
            '          live:    "x"\n'
            "          desired: null\n"
            "\n"
            "  extra    Tool/old (t-9)\n"
            "      in the account and owned by this stack, not in the manifests\n"
            "\n"
            "To keep what Assistant/desk serves now, write its live spec into the manifests with\n"
            "`reconciler export --kind Assistant --name 'desk' --out DIR`; to restore the manifests, apply.\n"
            "\n"
            "Drift: 1 missing, 1 changed, 1 extra; 1 in sync.\n"
        )

    def test_colour_only_when_asked(self) -> None:
        assert "\x1b[" not in render_text(sample())
        coloured = render_text(sample(), color=True)
        assert "\x1b[33mchanged\x1b[0m" in coloured
        assert "\x1b[31m-Be kind.\x1b[0m" in coloured

    def test_protected_objects_are_listed_but_are_not_drift(self) -> None:
        report = drift_report(Plan(changes=(), unchanged=("Tool/a",), protected=("Tool/keep",)))
        assert report.in_sync
        assert render_text(report) == (
            "No drift: 1 object matches the manifests.\n"
            "  ! Tool/keep is protected: kept although no manifest states it\n"
        )


class TestMarkdownView:
    def test_summary_line_then_a_table_per_object(self) -> None:
        assert render_drift(sample(), "markdown") == (
            "**Drift**: 1 missing, 1 changed, 1 extra; 1 in sync.\n"
            "\n"
            "### missing: `Tool/lookup`\n"
            "\n"
            "In the manifests, not in the account.\n"
            "\n"
            "### changed: `Assistant/desk` (`a-1`)\n"
            "\n"
            "| field | live | desired |\n"
            "| --- | --- | --- |\n"
            "| `instructions` | _line diff below_ | _line diff below_ |\n"
            '| `greeting` | ``"Hi \\| `there`"`` | `"Hello"` |\n'
            '| `shared_tools` | `["t-1"]` | `["t-1", "lookup"]` |\n'
            '| `description` | `"x"` | `null` |\n'
            "\n"
            "<details><summary><code>instructions</code> (- live, + desired)</summary>\n"
            "\n"
            "```diff\n"
            "@@ -1,3 +1,3 @@\n"
            " Answer calls.\n"
            "-Be kind.\n"
            "+Be brief.\n"
            " Hang up politely.\n"
            "```\n"
            "\n"
            "</details>\n"
            "\n"
            "### extra: `Tool/old` (`t-9`)\n"
            "\n"
            "In the account and owned by this stack, not in the manifests.\n"
        )

    def test_in_sync(self) -> None:
        report = drift_report(plan_of(unchanged=("Tool/a",)))
        assert render_drift(report, "markdown") == "**No drift**: 1 object matches the manifests.\n"

    def test_nothing_is_wider_than_a_page(self) -> None:
        """Cells are cut; diff lines longer than the page continue on the next line, marker kept."""
        long_line = "word " * 60
        report = drift_report(plan_of(change(Action.UPDATE, "Assistant", "a", *[
            FieldChange(("tags",), ["x" * 300], ["y" * 300]),
            FieldChange(("tool_ids",), [Pending("Tool", "a-very-long-tool-name-" * 4)], []),
            FieldChange(("instructions",), "short\n", long_line + "\n"),
        ], live_id="a-1")))
        lines = render_drift(report, "markdown").splitlines()
        rows = [line for line in lines if line.startswith(("| `tags`", "| `shared_tools`"))]
        assert len(rows) == 2
        assert all(len(row) < 2 * CELL_LIMIT + 30 for row in rows)
        assert any(line.startswith('+  "yyyy') for line in lines)  # too wide for a cell: whole, as lines
        start = lines.index("```diff", next(i for i, line in enumerate(lines) if "<code>instructions</code>" in line))
        diff = lines[start + 1: lines.index("```", start)]
        assert max(len(line) for line in diff) <= DIFF_WIDTH
        assert [line[:1] for line in diff] == ["@", "-", "+", "+", "+", "+"]
        assert "".join(line[1:] for line in diff[2:]) == long_line

    def test_a_fence_longer_than_any_backtick_run_in_the_diff(self) -> None:
        report = drift_report(plan_of(change(Action.UPDATE, "Assistant", "a",
                                             FieldChange(("instructions",), "a\n```\nb\n", "a\n```\nc\n"),
                                             live_id="a-1")))
        assert "````diff\n" in render_drift(report, "markdown")


class TestJsonView:
    def test_the_documented_shape(self) -> None:
        assert drift_document(sample()) == {
            "format_version": 1,
            "in_sync": False,
            "summary": {"missing": 1, "changed": 1, "extra": 1, "in_sync": 1},
            "objects": [
                {"address": "Tool/lookup", "kind": "Tool", "name": "lookup", "status": "missing", "id": None,
                 "fields": []},
                {"address": "Assistant/desk", "kind": "Assistant", "name": "desk", "status": "changed", "id": "a-1",
                 "fields": [
                     {"path": "instructions", "live": INSTRUCTIONS_LIVE, "desired": INSTRUCTIONS_WANT,
                      "sensitive": False},
                     {"path": "greeting", "live": "Hi | `there`", "desired": "Hello", "sensitive": False},
                     {"path": "tool_ids", "live": ["t-1"], "desired": ["t-1", "(known after apply: Tool/lookup)"],
                      "sensitive": False,
                      "names": {"path": "shared_tools", "live": ["t-1"], "desired": ["t-1", "lookup"]}},
                     {"path": "description", "live": "x", "desired": None, "sensitive": False},
                 ]},
                {"address": "Tool/old", "kind": "Tool", "name": "old", "status": "extra", "id": "t-9", "fields": []},
            ],
            "protected": [],
        }
        assert json.loads(render_drift(sample(), "json")) == drift_document(sample())


# -- end to end against the emulator ---------------------------------------------------------


def drift_of(paths: list[Path], emulator: Any, env: Mapping[str, str] | None = None,
             prune: bool = False) -> DriftReport:
    """What ``reconciler drift`` computes: manifests, live state, plan, report."""
    resources = load_resources(paths, env or {})
    with TelnyxClient(emulator.base_url, TEST_API_KEY) as client:
        live = fetch_live(client, resources, prune=prune)
    return drift_report(build_plan(resources, live, prune=prune))


def apply_ok(path: Path, emulator: Any, env: Mapping[str, str] | None = None) -> None:
    result = run_cli(["apply", str(path), "--yes"], emulator.base_url, env=env)
    assert result.exit_code == 0, result.output


def assistant_named(sdk: telnyx.Telnyx, name: str) -> Any:
    return next(a for a in sdk.ai.assistants.list().data if a.name == name)


@pytest.fixture
def desk(tmp_path: Path) -> Path:
    target = tmp_path / "support-desk"
    shutil.copytree(DESK, target)
    return target


class TestAgainstTheEmulator:
    def test_right_after_apply_the_account_is_in_sync(self, emulator: Any) -> None:
        apply_ok(DESK, emulator)
        report = drift_of([DESK], emulator)
        assert report.in_sync
        assert render_text(report) == "No drift: 10 objects match the manifests.\n"
        assert drift_document(report) == {
            "format_version": 1, "in_sync": True,
            "summary": {"missing": 0, "changed": 0, "extra": 0, "in_sync": 10}, "objects": [], "protected": [],
        }

    def test_a_stated_field_changed_by_hand_is_named_in_every_format(self, emulator: Any, sdk: telnyx.Telnyx) -> None:
        apply_ok(DESK, emulator)
        triage = assistant_named(sdk, "support-triage")
        sdk.ai.assistants.update(triage.id, voice_settings={"voice": "Telnyx.KokoroTTS.af_bella"})
        report = drift_of([DESK], emulator)

        assert render_drift(report, "text") == (
            "The live account differs from the manifests:\n"
            "\n"
            f"  changed  Assistant/support-triage ({triage.id})\n"
            "      voice_settings.voice:\n"
            '          live:    "Telnyx.KokoroTTS.af_bella"\n'
            '          desired: "Telnyx.KokoroTTS.af_heart"\n'
            "\n"
            "To keep what Assistant/support-triage serves now, write its live spec into the manifests with\n"
            "`reconciler export --kind Assistant --name 'support-triage' --out DIR`; to restore the manifests, apply.\n"
            "\n"
            "Drift: 0 missing, 1 changed, 0 extra; 9 in sync.\n"
        )
        assert render_drift(report, "markdown") == (
            "**Drift**: 0 missing, 1 changed, 0 extra; 9 in sync.\n"
            "\n"
            f"### changed: `Assistant/support-triage` (`{triage.id}`)\n"
            "\n"
            "| field | live | desired |\n"
            "| --- | --- | --- |\n"
            '| `voice_settings.voice` | `"Telnyx.KokoroTTS.af_bella"` | `"Telnyx.KokoroTTS.af_heart"` |\n'
        )
        assert json.loads(render_drift(report, "json")) == {
            "format_version": 1,
            "in_sync": False,
            "summary": {"missing": 0, "changed": 1, "extra": 0, "in_sync": 9},
            "objects": [{
                "address": "Assistant/support-triage", "kind": "Assistant", "name": "support-triage",
                "status": "changed", "id": triage.id,
                "fields": [{"path": "voice_settings.voice", "live": "Telnyx.KokoroTTS.af_bella",
                            "desired": "Telnyx.KokoroTTS.af_heart", "sensitive": False}],
            }],
            "protected": [],
        }

    def test_fields_the_manifest_does_not_state_are_not_drift(self, emulator: Any, sdk: telnyx.Telnyx) -> None:
        """A top-level field and a nested one that no manifest mentions, changed in the portal."""
        apply_ok(DESK, emulator)
        triage = assistant_named(sdk, "support-triage")
        sdk.ai.assistants.update(triage.id, dynamic_variables={"tier": "gold"},
                                 voice_settings={"voice": "Telnyx.KokoroTTS.af_heart", "voice_speed": 1.2})
        changed = sdk.ai.assistants.retrieve(triage.id)  # the edit landed: "in sync" below is not trivial
        assert changed.dynamic_variables == {"tier": "gold"}
        assert changed.voice_settings.voice_speed == 1.2
        assert drift_of([DESK], emulator).in_sync

    def test_a_shared_tool_deleted_by_hand_is_missing(self, emulator: Any, sdk: telnyx.Telnyx) -> None:
        """The tool is missing, and so are its attachments: exactly what plan would put back."""
        apply_ok(DESK, emulator)
        tool = next(t for t in sdk.ai.tools.list() if t.display_name == "create-ticket")
        sdk.ai.tools.delete(tool.id)
        report = drift_of([DESK], emulator)
        assert [(o.address, o.status.value) for o in report.objects] == [
            ("Tool/create-ticket", "missing"),
            ("Assistant/support-billing", "changed"),
            ("Assistant/support-tech", "changed"),
            ("Assistant/support-triage", "changed"),
            ("CanaryDeploy/triage-concise-prompt", "changed"),
        ]
        text = render_text(report)
        assert text.startswith(
            "The live account differs from the manifests:\n"
            "\n"
            "  missing  Tool/create-ticket\n"
            "      in the manifests, not in the account\n"
            "\n"
        )
        tech = report.objects[2]
        assert [(f.dotted, f.live, f.desired) for f in tech.fields] == [
            ("tool_ids", None, [Pending("Tool", "create-ticket")])]
        assert text.endswith("Drift: 1 missing, 4 changed, 0 extra; 5 in sync.\n")

    def test_a_changed_candidate_override_is_drift_of_the_canary_deploy(self, emulator: Any, desk: Path) -> None:
        apply_ok(desk, emulator)
        path = desk / "canary.yaml"
        document = yaml.safe_load(path.read_text())
        document["spec"]["versions"]["concise-prompt"]["instructions"] = "Route calls.\n"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        report = drift_of([desk], emulator)
        [canary] = report.objects
        assert (canary.address, canary.status) == ("CanaryDeploy/triage-concise-prompt", DriftStatus.CHANGED)
        assert [f.dotted for f in canary.fields] == [
            "versions.concise-prompt.instructions", "rules[0].serve.rollout[0].version_id"]
        text = render_text(report)
        assert "      versions.concise-prompt.instructions (- live, + desired):\n" in text
        assert "          +Route calls.\n" in text
        assert ('          desired: (known after apply: AssistantVersion/support-triage@concise-prompt)\n'
                in text)

    def test_with_prune_an_unclaimed_canary_config_is_extra(self, emulator: Any, desk: Path,
                                                            sdk: telnyx.Telnyx) -> None:
        apply_ok(desk, emulator)
        (desk / "canary.yaml").unlink()
        assert drift_of([desk], emulator).in_sync
        triage = assistant_named(sdk, "support-triage")
        report = drift_of([desk], emulator, prune=True)
        assert report.objects == (DriftObject("CanaryDeploy", "support-triage", DriftStatus.EXTRA, triage.id),)
        assert render_text(report).endswith(
            f"  extra    CanaryDeploy/support-triage ({triage.id})\n"
            "      in the account and owned by this stack, not in the manifests\n"
            "\n"
            "Drift: 0 missing, 0 changed, 1 extra; 9 in sync.\n"
        )


class TestSecretsEndToEnd:
    @pytest.fixture
    def manifests(self, tmp_path: Path) -> Path:
        path = tmp_path / "tool.yaml"
        path.write_text(
            "apiVersion: reconciler/v1\nkind: Tool\nname: crm-lookup\nspec:\n  type: webhook\n  webhook:\n"
            "    name: crm_lookup\n    description: Find the caller in the CRM.\n"
            "    url: https://crm.example/lookup\n    headers:\n"
            "      - name: Authorization\n        value: Bearer ${secret:CRM_TOKEN}\n"
        )
        return path

    def test_a_secret_never_appears_in_any_format(self, emulator: Any, sdk: telnyx.Telnyx, manifests: Path) -> None:
        env = {"CRM_TOKEN": SECRET}
        apply_ok(manifests, emulator, env)
        assert drift_of([manifests], emulator, env).in_sync

        tool = next(t for t in sdk.ai.tools.list() if t.display_name == "crm-lookup")
        sdk.ai.tools.update(tool.id, webhook={
            "name": "crm_lookup", "description": "Find the caller in the CRM.", "url": "https://crm.example/lookup",
            "headers": [{"name": "Authorization", "value": f"Bearer {SECRET}"}, {"name": "X-Extra", "value": "1"}],
        })
        report = drift_of([manifests], emulator, env)
        [obj] = report.objects
        assert obj.fields == (DriftField(("webhook", "headers"), "(sensitive)", "(sensitive)", True),)
        for output_format in FORMATS:
            out = render_drift(report, output_format)
            assert SECRET not in out
            assert "(sensitive)" in out

        sdk.ai.tools.update(tool.id, webhook={
            "name": "crm_lookup", "description": "Find the caller in the CRM.", "url": "https://crm.example/lookup",
            "headers": [{"name": "Authorization", "value": "Bearer rotated-by-hand"}],
        })
        report = drift_of([manifests], emulator, env)
        out = every_format(report)
        assert SECRET not in out and "rotated-by-hand" not in out
        assert ("      webhook.headers[0].value:\n"
                "          live:    (sensitive)\n"
                "          desired: (sensitive)\n") in render_text(report)
