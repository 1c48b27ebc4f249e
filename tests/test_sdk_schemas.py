"""The request and manifest schemas follow the installed official SDK, and manifests are closed.

A new `telnyx` release is one command away from new schemas (`python scripts/derive_api_schema.py`);
the first test here fails, listing every difference, until that command has been run and committed.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import telnyx
import yaml

from reconciler.emulator import EmulatorServer
from reconciler.manifests.loader import load_resources
from reconciler.manifests.schema import manifest_schema

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "vendor" / "telnyx-openapi" / "ai-subset.json"


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SEVEN_FIELDS = [
    ("inference-embedding_InterruptionSettings", "interrupt_prediction_threshold"),
    ("ToolNodeReq", "message"),
    ("TransferTransferTargetsTargetsList", "extension"),
    ("TransferTransferTargetsTargetsList", "message"),
    ("TransferTransferTargetsTargetsList", "sip_auth_username"),
    ("TransferTransferTargetsTargetsList", "sip_auth_password"),
    ("InferenceEmbeddingTransferToolParams", "warm_transfer_acceptance"),
]
ASSISTANT_ONLY = {"ToolNodeReq", "inference-embedding_InterruptionSettings"}
"""Definitions only an Assistant manifest has (a Tool has no flow nodes or interruption settings)."""

class TestGeneratedFromTheSdk:
    def test_committed_api_schema_is_what_the_installed_sdk_gives(self) -> None:
        """On failure the message lists each difference: + only in the SDK, - only committed, ~ changed."""
        derive = _script("derive_api_schema")
        fresh = derive.derive(json.loads(SOURCE.read_text(encoding="utf-8")))
        committed = json.loads((ROOT / "reconciler" / "api" / "api_schema.json").read_text(encoding="utf-8"))
        assert derive.differences(committed, fresh) == []

    def test_committed_manifest_schemas_follow(self) -> None:
        build = _script("build_manifest_schemas")
        derive = _script("derive_api_schema")
        for filename, schema in build.build_all().items():
            committed = json.loads((ROOT / "reconciler" / "schemas" / filename).read_text(encoding="utf-8"))
            assert (filename, derive.differences(committed, schema)) == (filename, [])

    def test_differences_are_readable(self) -> None:
        derive = _script("derive_api_schema")
        old = {"a": {"keep": 1, "gone": 2, "moved": "x"}}
        new = {"a": {"keep": 1, "moved": "y", "added": True}}
        assert derive.differences(old, new) == [
            "+ /a/added (only in the SDK)",
            "- /a/gone (only in the committed file)",
            '~ /a/moved: "x" -> "y"',
        ]

    def test_the_source_names_the_sdk_version(self) -> None:
        committed = json.loads((ROOT / "reconciler" / "api" / "api_schema.json").read_text(encoding="utf-8"))
        assert committed["x-source"].startswith(f"telnyx {telnyx.__version__} types")

    @pytest.mark.parametrize(
        ("kind", "definition", "field"),
        [(kind, definition, field) for kind in ("Assistant", "Tool") for definition, field in SEVEN_FIELDS
         if kind == "Assistant" or definition not in ASSISTANT_ONLY],
    )
    def test_the_seven_fields_the_old_schema_missed_are_declared(self, kind: str, definition: str, field: str) -> None:
        assert field in manifest_schema(kind)["$defs"][definition]["properties"]

    def test_webhook_timeout_ms_is_gone_from_the_payload_and_kept_on_the_tool(self) -> None:
        for kind in ("Assistant", "Tool"):
            defs = manifest_schema(kind)["$defs"]
            assert "timeout_ms" not in defs["WebhookToolParams"]["properties"]
        assert "timeout_ms" in manifest_schema("Assistant")["$defs"]["inference-embedding_WebhookTool"]["properties"]


SEVEN_FIELDS = """\
apiVersion: reconciler/v1
kind: Assistant
name: seven
spec:
  instructions: Transfer with care.
  interruption_settings:
    interrupt_prediction_threshold: 0.4
  telephony_settings:
    disable_dtmf: false
  tools:
    - type: transfer
      transfer:
        targets:
          - name: desk
            to: sip:desk@pbx.example.com
            extension: "1234"
            message: A caller about billing.
            sip_auth_username: desk
            sip_auth_password: ${secret:SIP_PASSWORD}
        warm_transfer_acceptance:
          enabled: true
"""


class TestNewFieldsEndToEnd:
    def test_a_manifest_with_the_seven_fields_validates_and_the_emulator_keeps_them(
        self, tmp_path: Path, emulator: EmulatorServer, sdk: telnyx.Telnyx
    ) -> None:
        (tmp_path / "seven.yaml").write_text(SEVEN_FIELDS, encoding="utf-8")
        (resource,) = load_resources([tmp_path], {"SIP_PASSWORD": "sip-pass-not-secret"})
        created = sdk.ai.assistants.create(name=resource.name, **resource.spec)
        read = sdk.ai.assistants.retrieve(created.id).to_dict()
        assert read["interruption_settings"] == {"interrupt_prediction_threshold": 0.4}
        target = read["tools"][0]["transfer"]["targets"][0]
        assert {k: target[k] for k in ("extension", "message", "sip_auth_username")} == {
            "extension": "1234",
            "message": "A caller about billing.",
            "sip_auth_username": "desk",
        }
        assert read["tools"][0]["transfer"]["warm_transfer_acceptance"] == {"enabled": True}

    def test_a_flow_tool_node_message_validates(self, tmp_path: Path) -> None:
        document: dict[str, Any] = {
            "apiVersion": "reconciler/v1",
            "kind": "Assistant",
            "name": "flow",
            "spec": {
                "instructions": "x",
                "conversation_flow": {
                    "start_node_id": "look",
                    "nodes": [{"id": "look", "type": "tool", "shared_tool_id": "t-1", "message": "One moment."}],
                },
            },
        }
        (tmp_path / "flow.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
        (resource,) = load_resources([tmp_path], {})
        assert resource.spec["conversation_flow"]["nodes"][0]["message"] == "One moment."
