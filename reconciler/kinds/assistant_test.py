"""Assistant tests: ``/ai/assistants/tests``.

Identity is the test ``name``; the live id is ``test_id``. A manifest names the assistant it
tests (``assistant: support-billing``), which is sent as ``destination``: the assistant's id.
A test that reaches its assistant some other way (a phone number) states ``destination`` itself.
Updates are PUT with only the changed fields (every field of the update request is optional).
Tests are written after assistants (they need the id) and deleted before them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.api.client import TelnyxClient
from reconciler.changes.change import Change
from reconciler.kinds.base import KindHandler, PlanContext
from reconciler.model import Resource

WRITABLE = (
    "name",
    "destination",
    "instructions",
    "rubric",
    "telnyx_conversation_channel",
    "max_duration_seconds",
    "test_suite",
    "description",
)
"""The fields of the create request; everything else a test carries is the server's."""


class AssistantTestHandler(KindHandler):
    kind = "AssistantTest"
    level = 2

    def list_live(self, client: TelnyxClient) -> list[dict[str, Any]]:
        return client.list_assistant_tests()

    def live_id(self, live: Mapping[str, Any]) -> str:
        return str(live["test_id"])

    def desired_body(self, resource: Resource, ctx: PlanContext) -> dict[str, Any]:
        spec = dict(resource.spec)
        assistant = spec.pop("assistant", None)
        if isinstance(assistant, str):
            spec["destination"] = ctx.ids.ref("Assistant", assistant)
        return {"name": resource.name, **spec}

    def comparable(self, live: Mapping[str, Any], ctx: PlanContext) -> dict[str, Any]:
        return {key: live[key] for key in WRITABLE if live.get(key) is not None}

    def read(self, client: TelnyxClient, live_id: str) -> dict[str, Any]:
        return client.get_assistant_test(live_id)

    def create(self, client: TelnyxClient, body: Mapping[str, Any], idempotency_key: str) -> dict[str, Any]:
        return client.create_assistant_test(body, idempotency_key=idempotency_key)

    def update(
        self, client: TelnyxClient, live_id: str, body: Mapping[str, Any], change: Change
    ) -> dict[str, Any] | None:
        return client.update_assistant_test(live_id, body)

    def delete(self, client: TelnyxClient, live_id: str) -> None:
        client.delete_assistant_test(live_id)

