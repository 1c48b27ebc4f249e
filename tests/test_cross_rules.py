"""Write rules that need more than one document: pay tools attached by name.

The single-file cases are fixtures under tests/data/bad (`cross-pay-*.yaml`, checked line for line
by test_loader.py and test_cli_validate_schema.py). Here: the same rule across files, what is not
reported twice, and that the emulator refuses the bodies validate refuses.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import telnyx

from reconciler.errors import ManifestErrors
from reconciler.manifests.loader import load_resources
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
