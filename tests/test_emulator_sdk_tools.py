"""The official SDK, strict validation on, drives shared tools, MCP servers and attaching tools to assistants."""

from __future__ import annotations

import re
from typing import Any, ClassVar

import pytest
import telnyx

from tests.conftest import body, payload

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
LOOKUP: dict[str, Any] = {
    "name": "lookup_order",
    "description": "Find an order by id.",
    "url": "https://api.example.com/orders/{id}",
}


def webhook_tool(sdk: telnyx.Telnyx, name: str = "Lookup", **fields: Any) -> str:
    created = sdk.ai.tools.create(display_name=name, type="webhook", webhook=LOOKUP, **fields)
    return created.id


def hangup_tool(sdk: telnyx.Telnyx) -> str:
    return sdk.ai.tools.create(display_name="Bye", type="hangup", extra_body={"hangup": {}}).id


def tools_of(sdk: telnyx.Telnyx, assistant_id: str) -> list[dict[str, Any]]:
    read: dict[str, Any] = payload(sdk.ai.assistants.with_raw_response.retrieve(assistant_id))
    return list(read.get("tools", []))


class TestSharedToolCrud:
    def test_create_reads_the_payload_back_as_tool_definition(self, sdk: telnyx.Telnyx) -> None:
        created = sdk.ai.tools.create(display_name="Lookup", type="webhook", timeout_ms=4000, webhook=LOOKUP)
        assert UUID4.match(created.id)
        assert (created.type, created.display_name, created.timeout_ms) == ("webhook", "Lookup", 4000)
        assert created.tool_definition == LOOKUP
        assert isinstance(created.created_at, str)
        raw = payload(sdk.ai.tools.with_raw_response.retrieve(created.id))
        assert sorted(raw) == ["created_at", "display_name", "id", "timeout_ms", "tool_definition", "type"]
        assert "webhook" not in raw

    def test_timeout_defaults_to_5000(self, sdk: telnyx.Telnyx) -> None:
        assert sdk.ai.tools.retrieve(webhook_tool(sdk)).timeout_ms == 5000

    def test_update_is_partial(self, sdk: telnyx.Telnyx) -> None:
        tool_id = webhook_tool(sdk)
        renamed = sdk.ai.tools.update(tool_id, display_name="Find order")
        assert (renamed.display_name, renamed.tool_definition, renamed.timeout_ms) == ("Find order", LOOKUP, 5000)
        moved = sdk.ai.tools.update(tool_id, webhook={**LOOKUP, "url": "https://b.example.com/{id}"})
        assert moved.display_name == "Find order"
        assert moved.tool_definition["url"] == "https://b.example.com/{id}"

    def test_delete_then_retrieve_is_404(self, sdk: telnyx.Telnyx) -> None:
        tool_id = webhook_tool(sdk)
        sdk.ai.tools.delete(tool_id)
        with pytest.raises(telnyx.NotFoundError) as caught:
            sdk.ai.tools.retrieve(tool_id)
        assert body(caught.value)["errors"][0]["detail"] == f"Tool {tool_id} not found"

    def test_definition_must_be_a_valid_inline_tool(self, sdk: telnyx.Telnyx) -> None:
        with pytest.raises(telnyx.UnprocessableEntityError) as caught:
            sdk.ai.tools.create(display_name="x", type="webhook", webhook={"name": "n", "description": "d"})
        assert body(caught.value) == {
            "detail": [{"loc": ["body", "webhook", "url"], "msg": "Field required", "type": "missing"}]
        }

    def test_idempotency_key_creates_once(self, sdk: telnyx.Telnyx) -> None:
        first = sdk.ai.tools.create(display_name="a", type="webhook", webhook=LOOKUP, idempotency_key="k1")
        again = sdk.ai.tools.create(display_name="a", type="webhook", webhook=LOOKUP, idempotency_key="k1")
        assert again == first
        assert [t.id for t in sdk.ai.tools.list()] == [first.id]


class TestSharedToolList:
    def test_auto_paging_walks_every_page_in_creation_order(self, sdk: telnyx.Telnyx) -> None:
        ids = [webhook_tool(sdk, f"t{n}") for n in range(7)]
        page = sdk.ai.tools.list(page_size=3)
        assert page.meta is not None
        assert (page.meta.page_number, page.meta.total_pages) == (1, 3)
        assert [t.id for t in page] == ids

    def test_meta_counts(self, sdk: telnyx.Telnyx) -> None:
        for n in range(5):
            webhook_tool(sdk, f"t{n}")
        body = payload(sdk.ai.tools.with_raw_response.list(page_number=2, page_size=2))
        assert len(body["data"]) == 2
        assert body["meta"] == {"page_number": 2, "page_size": 2, "total_pages": 3, "total_results": 5}

    def test_filters_match_exactly(self, sdk: telnyx.Telnyx) -> None:
        lookup = webhook_tool(sdk, "Lookup")
        webhook_tool(sdk, "Lookup order")
        bye = hangup_tool(sdk)
        assert [t.id for t in sdk.ai.tools.list(filter_name="Lookup")] == [lookup]
        assert [t.id for t in sdk.ai.tools.list(filter_type="hangup")] == [bye]

    def test_empty_list(self, sdk: telnyx.Telnyx) -> None:
        body = payload(sdk.ai.tools.with_raw_response.list())
        assert body == {"data": [], "meta": {"page_number": 1, "page_size": 20, "total_pages": 0, "total_results": 0}}


class TestMcpServers:
    def test_crud_round_trip(self, sdk: telnyx.Telnyx) -> None:
        created = sdk.ai.mcp_servers.create(name="crm", type="http", url="https://mcp.example.com")
        assert UUID4.match(created.id)
        assert (created.api_key_ref, created.allowed_tools) == (None, None)
        assert sdk.ai.mcp_servers.retrieve(created.id) == created
        sdk.ai.mcp_servers.delete(created.id)
        with pytest.raises(telnyx.NotFoundError):
            sdk.ai.mcp_servers.retrieve(created.id)

    def test_put_replaces_optional_fields_and_keeps_required_ones(self, sdk: telnyx.Telnyx) -> None:
        created = sdk.ai.mcp_servers.create(
            name="crm", type="http", url="https://mcp.example.com", api_key_ref="crm-key", allowed_tools=["a"]
        )
        replaced = sdk.ai.mcp_servers.update(created.id, url="https://new.example.com")
        assert (replaced.name, replaced.type, replaced.url) == ("crm", "http", "https://new.example.com")
        assert (replaced.api_key_ref, replaced.allowed_tools) == (None, None)
        assert (replaced.id, replaced.created_at) == (created.id, created.created_at)

    def test_list_pages_until_empty(self, sdk: telnyx.Telnyx) -> None:
        ids = [sdk.ai.mcp_servers.create(name=f"m{n}", type="http", url=f"https://m{n}").id for n in range(5)]
        assert [m.id for m in sdk.ai.mcp_servers.list(page_size=2)] == ids
        raw = payload(sdk.ai.mcp_servers.with_raw_response.list(page_number=3, page_size=2))
        assert [m["id"] for m in raw] == ids[4:]
        assert payload(sdk.ai.mcp_servers.with_raw_response.list(page_number=4, page_size=2)) == []

    def test_type_and_url_filters(self, sdk: telnyx.Telnyx) -> None:
        sse = sdk.ai.mcp_servers.create(name="a", type="sse", url="https://a").id
        sdk.ai.mcp_servers.create(name="b", type="http", url="https://b")
        assert [m.id for m in sdk.ai.mcp_servers.list(type="sse")] == [sse]
        assert [m.id for m in sdk.ai.mcp_servers.list(url="https://a")] == [sse]

    def test_idempotency_key_creates_once(self, sdk: telnyx.Telnyx) -> None:
        first = sdk.ai.mcp_servers.create(name="a", type="sse", url="https://a", idempotency_key="k")
        assert sdk.ai.mcp_servers.create(name="a", type="sse", url="https://a", idempotency_key="k") == first
        assert len(list(sdk.ai.mcp_servers.list())) == 1


class TestAttachedTools:
    def test_tool_ids_merge_after_inline_tools_without_ids(self, sdk: telnyx.Telnyx) -> None:
        lookup = webhook_tool(sdk, timeout_ms=3000)
        created = sdk.ai.assistants.create(
            name="a", instructions="b", tool_ids=[lookup], tools=[{"type": "hangup", "hangup": {}}]
        )
        assert tools_of(sdk, created.id) == [
            {"type": "hangup", "hangup": {}, "shared": False},
            {"type": "webhook", "webhook": {**LOOKUP, "method": "POST"}, "timeout_ms": 3000, "shared": True},
        ]
        raw = payload(sdk.ai.assistants.with_raw_response.retrieve(created.id))
        assert "tool_ids" not in raw

    def test_merged_view_on_list_and_versions_too(self, sdk: telnyx.Telnyx) -> None:
        created = sdk.ai.assistants.create(name="a", instructions="b", tool_ids=[hangup_tool(sdk)])
        listed = payload(sdk.ai.assistants.with_raw_response.list())["data"][0]["tools"]
        versions = payload(sdk.ai.assistants.versions.with_raw_response.list(created.id))["data"]
        assert listed == versions[0]["tools"] == [{"type": "hangup", "hangup": {}, "shared": True}]

    def test_attach_and_detach_edit_main_without_a_version(self, sdk: telnyx.Telnyx) -> None:
        created = sdk.ai.assistants.create(name="a", instructions="b")
        bye = hangup_tool(sdk)
        sdk.ai.assistants.tools.add(bye, assistant_id=created.id)
        assert tools_of(sdk, created.id) == [{"type": "hangup", "hangup": {}, "shared": True}]
        sdk.ai.assistants.tools.remove(bye, assistant_id=created.id)
        assert tools_of(sdk, created.id) == []
        assert len(sdk.ai.assistants.versions.list(created.id).data) == 1

    def test_update_tool_ids_replaces_the_set(self, sdk: telnyx.Telnyx) -> None:
        first, second = webhook_tool(sdk, "one"), hangup_tool(sdk)
        created = sdk.ai.assistants.create(name="a", instructions="b", tool_ids=[first])
        sdk.ai.assistants.update(created.id, tool_ids=[second])
        assert [t["type"] for t in tools_of(sdk, created.id)] == ["hangup"]
        sdk.ai.assistants.update(created.id, instructions="c")
        assert [t["type"] for t in tools_of(sdk, created.id)] == ["hangup"]

    def test_deleting_a_shared_tool_detaches_it(self, sdk: telnyx.Telnyx) -> None:
        bye = hangup_tool(sdk)
        created = sdk.ai.assistants.create(name="a", instructions="b", tool_ids=[bye])
        sdk.ai.tools.delete(bye)
        assert tools_of(sdk, created.id) == []

    def test_unknown_tool_id_is_404(self, sdk: telnyx.Telnyx) -> None:
        created = sdk.ai.assistants.create(name="a", instructions="b")
        with pytest.raises(telnyx.NotFoundError):
            sdk.ai.assistants.tools.add("nope", assistant_id=created.id)
        with pytest.raises(telnyx.NotFoundError) as caught:
            sdk.ai.assistants.create(name="a", instructions="b", tool_ids=["nope"])
        assert body(caught.value)["errors"][0] == {
            "code": "10005",
            "title": "Resource not found",
            "detail": "Tool nope not found",
        }


class TestSingleInstanceRule:
    DUPLICATE: ClassVar[dict[str, str]] = {
        "code": "10015",
        "title": "Duplicate tool type",
        "detail": "Tool type 'hangup' may appear only once per assistant (inline and shared together)",
    }
    HANGUP: ClassVar[list[Any]] = [{"type": "hangup", "hangup": {}}]

    def test_inline_plus_shared_on_create(self, sdk: telnyx.Telnyx) -> None:
        with pytest.raises(telnyx.BadRequestError) as caught:
            sdk.ai.assistants.create(name="a", instructions="b", tools=self.HANGUP, tool_ids=[hangup_tool(sdk)])
        assert body(caught.value) == {"errors": [self.DUPLICATE]}

    def test_twice_inline_on_update(self, sdk: telnyx.Telnyx) -> None:
        created = sdk.ai.assistants.create(name="a", instructions="b")
        with pytest.raises(telnyx.BadRequestError) as caught:
            sdk.ai.assistants.update(created.id, tools=self.HANGUP * 2)
        assert body(caught.value) == {"errors": [self.DUPLICATE]}
        assert len(sdk.ai.assistants.versions.list(created.id).data) == 1

    def test_attach(self, sdk: telnyx.Telnyx) -> None:
        created = sdk.ai.assistants.create(name="a", instructions="b", tools=self.HANGUP)
        with pytest.raises(telnyx.BadRequestError) as caught:
            sdk.ai.assistants.tools.add(hangup_tool(sdk), assistant_id=created.id)
        assert body(caught.value) == {"errors": [self.DUPLICATE]}

    def test_version_update(self, sdk: telnyx.Telnyx) -> None:
        created = sdk.ai.assistants.create(name="a", instructions="b", tools=self.HANGUP)
        candidate = sdk.ai.assistants.update(created.id, promote_to_main=False, instructions="c")
        assert candidate.version_id is not None
        with pytest.raises(telnyx.BadRequestError) as caught:
            sdk.ai.assistants.versions.update(
                candidate.version_id, assistant_id=created.id, tool_ids=[hangup_tool(sdk)]
            )
        assert body(caught.value) == {"errors": [self.DUPLICATE]}

    def test_multi_instance_types_may_repeat(self, sdk: telnyx.Telnyx) -> None:
        created = sdk.ai.assistants.create(
            name="a", instructions="b", tool_ids=[webhook_tool(sdk, "one"), webhook_tool(sdk, "two")]
        )
        assert [t["type"] for t in tools_of(sdk, created.id)] == ["webhook", "webhook"]
