"""Write rules that need more than one document: pay tools attached by name, candidate versions.

The single-file cases are fixtures under tests/data/bad (`cross-pay-*.yaml`, `canary-rule-*.yaml`,
checked line for line by test_loader.py and test_cli_validate_schema.py). Here: the same rules
across files, what is not reported twice, that validate builds a candidate the way apply does, and
that the emulator refuses the bodies validate refuses.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import telnyx

from reconciler.changes.refs import IdIndex
from reconciler.engine.plan import build_plan
from reconciler.errors import ManifestErrors
from reconciler.kinds.assistant import resolve_references
from reconciler.kinds.canary import ASSISTANT_LEVEL_FIELDS, VERSION_KIND
from reconciler.manifests.cross_rules import candidate_spec
from reconciler.manifests.loader import load_resources
from reconciler.model import LiveState
from tests.conftest import body
from tests.helpers import run_cli

PAY_TOOL = """\
apiVersion: reconciler/v1
kind: Tool
name: take-card
spec:
  type: pay
  pay:
    connector_name: stripe-main
"""

CASHIER = """\
apiVersion: reconciler/v1
kind: Assistant
name: cashier
spec:
  instructions: Take card payments.
{extra}"""


def problems(directory: Path) -> list[str]:
    with pytest.raises(ManifestErrors) as caught:
        load_resources([directory], {})
    return [str(p) for p in caught.value.problems]


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


class TestPayToolsAttachedByName:
    def test_validate_names_the_assistant_and_the_tool_in_its_own_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        write(tmp_path, {"tools.yaml": "# shared tools\n" + PAY_TOOL,
                         "cashier.yaml": CASHIER.format(extra="  telephony_settings:\n    time_limit_secs: 600\n"
                                                             "  shared_tools: [take-card]\n")})  # fmt: skip
        monkeypatch.chdir(tmp_path)
        result = run_cli(["validate", "tools.yaml", "cashier.yaml"])
        assert result.exit_code == 1
        assert result.stderr.splitlines() == [
            "cashier.yaml:6: Assistant/cashier: spec.telephony_settings.disable_dtmf: must be true when a pay "
            "tool is configured (shared_tools[0]: Tool/take-card at tools.yaml:2)"
        ]

    def test_a_prompt_nodes_shared_tools_count_too(self, tmp_path: Path) -> None:
        flow = (
            "  conversation_flow:\n"
            "    start_node_id: ask\n"
            "    nodes:\n"
            "      - {id: ask, instructions: Ask for the amount., shared_tools: [take-card]}\n"
            "    edges: []\n"
        )
        write(tmp_path, {"a.yaml": PAY_TOOL + "---\n" + CASHIER.format(extra=flow)})
        assert problems(tmp_path) == [
            f"{tmp_path / 'a.yaml'}:12: Assistant/cashier: spec.telephony_settings.disable_dtmf: must be true "
            f"when a pay tool is configured (conversation_flow.nodes[0].shared_tools[0]: Tool/take-card at "
            f"{tmp_path / 'a.yaml'}:1)"
        ]

    def test_disable_dtmf_makes_it_valid(self, tmp_path: Path) -> None:
        extra = "  telephony_settings: {disable_dtmf: true}\n  shared_tools: [take-card]\n"
        write(tmp_path, {"a.yaml": PAY_TOOL + "---\n" + CASHIER.format(extra=extra)})
        assert [r.address for r in load_resources([tmp_path], {})] == ["Tool/take-card", "Assistant/cashier"]

    def test_an_inline_pay_tool_is_reported_once(self, tmp_path: Path) -> None:
        """The document's own check names the inline tool; the attached one adds no second line."""
        extra = "  shared_tools: [take-card]\n  tools:\n    - {type: pay, pay: {connector_name: c}}\n"
        write(tmp_path, {"a.yaml": PAY_TOOL + "---\n" + CASHIER.format(extra=extra)})
        assert problems(tmp_path) == [
            f"{tmp_path / 'a.yaml'}:12: Assistant/cashier: spec.telephony_settings.disable_dtmf: must be true "
            "when a pay tool is configured (tools[0])"
        ]

    def test_the_emulator_refuses_the_same_flow_node(self, sdk: telnyx.Telnyx) -> None:
        tool = sdk.ai.tools.create(display_name="take-card", type="pay", pay={"connector_name": "stripe-main"})
        with pytest.raises(telnyx.UnprocessableEntityError) as raised:
            sdk.ai.assistants.create(
                name="cashier",
                instructions="Take card payments.",
                conversation_flow={
                    "start_node_id": "ask",
                    "nodes": [{"id": "ask", "type": "prompt", "instructions": "Ask.", "shared_tool_ids": [tool.id]}],
                    "edges": [],
                },
            )
        assert body(raised.value)["detail"][0]["loc"] == ["body", "telephony_settings", "disable_dtmf"]


CANARY = """\
apiVersion: reconciler/v1
kind: CanaryDeploy
name: cashier-canary
spec:
  assistant: cashier
  versions:
    v2:
{override}  rules:
    - serve: {{version: v2}}
"""


class TestCandidateVersions:
    def test_an_override_attaching_a_pay_tool_names_the_version(self, tmp_path: Path) -> None:
        canary = CANARY.format(override="      shared_tools: [take-card]\n")
        write(tmp_path, {"a.yaml": PAY_TOOL, "b.yaml": CASHIER.format(extra=""), "c.yaml": canary})
        assert problems(tmp_path) == [
            f"{tmp_path / 'c.yaml'}:7: CanaryDeploy/cashier-canary: spec.versions.v2: in this candidate version, "
            "telephony_settings.disable_dtmf: must be true when a pay tool is configured (shared_tools[0]: "
            f"Tool/take-card at {tmp_path / 'a.yaml'}:1) (neither this override nor Assistant/cashier sets "
            "telephony_settings)"
        ]

    def test_an_override_turning_dtmf_back_on_is_reported_at_its_field(self, tmp_path: Path) -> None:
        cashier = CASHIER.format(extra="  telephony_settings: {disable_dtmf: true}\n  shared_tools: [take-card]\n")
        canary = CANARY.format(override="      telephony_settings:\n        disable_dtmf: false\n")
        write(tmp_path, {"a.yaml": PAY_TOOL, "b.yaml": cashier, "c.yaml": canary})
        assert problems(tmp_path) == [
            f"{tmp_path / 'c.yaml'}:9: CanaryDeploy/cashier-canary: spec.versions.v2.telephony_settings.disable_dtmf: "
            f"must be true when a pay tool is configured (shared_tools[0]: Tool/take-card at {tmp_path / 'a.yaml'}:1)"
        ]

    def test_what_the_assistant_breaks_is_reported_on_the_assistant_only(self, tmp_path: Path) -> None:
        cashier = CASHIER.format(extra="  shared_tools: [take-card]\n")
        canary = CANARY.format(override="      greeting: Hello.\n")
        write(tmp_path, {"a.yaml": PAY_TOOL, "b.yaml": cashier, "c.yaml": canary})
        assert problems(tmp_path) == [
            f"{tmp_path / 'b.yaml'}:4: Assistant/cashier: spec.telephony_settings.disable_dtmf: must be true when "
            f"a pay tool is configured (shared_tools[0]: Tool/take-card at {tmp_path / 'a.yaml'}:1)"
        ]

    def test_an_override_that_fixes_the_assistants_field_is_fine(self, tmp_path: Path) -> None:
        """Only the assistant is wrong here: its candidate states the flag."""
        cashier = CASHIER.format(extra="  shared_tools: [take-card]\n")
        canary = CANARY.format(override="      telephony_settings: {disable_dtmf: true}\n")
        write(tmp_path, {"a.yaml": PAY_TOOL, "b.yaml": cashier, "c.yaml": canary})
        assert [p.split(": ")[1] for p in problems(tmp_path)] == ["Assistant/cashier"]

    def test_validate_builds_the_candidate_apply_sends(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """``candidate_spec`` (manifest shape) and kinds/canary.py (request shape) merge alike, shared tools too."""
        monkeypatch.chdir(tmp_path)
        hangup = "apiVersion: reconciler/v1\nkind: Tool\nname: bye\nspec: {type: hangup, hangup: {}}\n"
        cashier = CASHIER.format(extra="  greeting: Hi.\n  tags: [a]\n  tool_ids: [tool-raw]\n"
                                       "  shared_tools: [bye]\n")  # fmt: skip
        canary = CANARY.format(override="      greeting: Hello.\n      shared_tools: [bye]\n").replace(
            "  rules:", "    v3:\n      tool_ids: [tool-other]\n      tags: [b]\n  rules:"
        )
        write(tmp_path, {"a.yaml": hangup, "b.yaml": cashier, "c.yaml": canary})
        resources = load_resources([tmp_path], {})
        by_name = {r.address: r for r in resources}
        plan = build_plan(resources, LiveState())
        candidates = {c.name: c.after for c in plan.changes if c.kind == VERSION_KIND}
        assert set(candidates) == {"cashier@v2", "cashier@v3"}
        for version, override in by_name["CanaryDeploy/cashier-canary"].spec["versions"].items():
            merged = resolve_references(candidate_spec(by_name["Assistant/cashier"].spec, override), IdIndex())
            expected = {k: v for k, v in merged.items() if k not in ASSISTANT_LEVEL_FIELDS}
            assert candidates[f"cashier@{version}"] == expected

    def test_the_emulator_refuses_the_same_version_update(self, sdk: telnyx.Telnyx) -> None:
        assistant = sdk.ai.assistants.create(
            name="texting", instructions="Answer texts.", enabled_features=["telephony", "messaging"]
        )
        with pytest.raises(telnyx.BadRequestError):
            sdk.ai.assistants.update(
                assistant.id, promote_to_main=False, version_name="private",
                privacy_settings={"pii_redaction": "redact"},
            )  # fmt: skip
        assert len(sdk.ai.assistants.versions.list(assistant.id).data) == 1
