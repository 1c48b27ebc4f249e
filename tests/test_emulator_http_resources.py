"""Raw HTTP for the newer resources: envelopes, status codes, error bodies, routing and persistence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.emulator import EmulatorServer
from tests.conftest import AUTH

WEBHOOK = {"name": "n", "description": "d", "url": "https://x.example.com"}


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def assistant(http: httpx.Client, **fields: Any) -> dict[str, Any]:
    created: dict[str, Any] = ok(http.post("/ai/assistants", json={"name": "a", "instructions": "b", **fields}))
    return created


class TestEnvelopes:
    def test_deletes_have_no_body(self, http: httpx.Client) -> None:
        tool = ok(http.post("/ai/tools", json={"display_name": "t", "type": "webhook", "webhook": WEBHOOK}))
        server = ok(http.post("/ai/mcp_servers", json={"name": "m", "type": "http", "url": "https://m"}))
        owner = assistant(http)
        ok(http.put(f"/ai/assistants/{owner['id']}/canary-deploys", json={"rules": []}))
        for path in (
            f"/ai/tools/{tool['id']}",
            f"/ai/mcp_servers/{server['id']}",
            f"/ai/assistants/{owner['id']}/canary-deploys",
        ):
            response = http.delete(path)
            assert (response.status_code, response.content) == (204, b""), path

    def test_mcp_list_is_a_bare_array(self, http: httpx.Client) -> None:
        assert ok(http.get("/ai/mcp_servers")) == []

    def test_tags_envelope(self, http: httpx.Client) -> None:
        assert ok(http.get("/ai/assistants/tags")) == {"tags": []}

    def test_attach_and_detach_answer_with_the_assistant(self, http: httpx.Client) -> None:
        owner = assistant(http)
        tool = ok(http.post("/ai/tools", json={"display_name": "t", "type": "hangup", "hangup": {}}))
        attached = ok(http.put(f"/ai/assistants/{owner['id']}/tools/{tool['id']}"))
        assert attached["version_id"] == owner["version_id"]
        assert attached["tools"] == [{"type": "hangup", "hangup": {}, "shared": True}]
        detached = ok(http.delete(f"/ai/assistants/{owner['id']}/tools/{tool['id']}"))
        assert "tools" not in detached  # no inline and no shared tools: the field is omitted, as before

    def test_canary_read_shape_is_exact(self, http: httpx.Client) -> None:
        owner = assistant(http)
        rules = [{"match": [], "serve": {"version_id": owner["version_id"]}}]
        canary = ok(http.post(f"/ai/assistants/{owner['id']}/canary-deploys", json={"rules": rules}))
        assert sorted(canary) == ["assistant_id", "created_at", "rules", "updated_at"]
        assert canary["rules"] == rules


class TestErrors:
    def test_unknown_ids_are_404_in_telnyx_shape(self, http: httpx.Client) -> None:
        for path, detail in (
            ("/ai/tools/t-1", "Tool t-1 not found"),
            ("/ai/mcp_servers/m-1", "MCP server m-1 not found"),
            ("/ai/assistants/a-1/canary-deploys", "Assistant a-1 not found"),
        ):
            response = http.get(path)
            assert response.status_code == 404
            assert response.json() == {"errors": [{"code": "10005", "title": "Resource not found", "detail": detail}]}

    def test_detaching_a_tool_that_is_not_attached_is_404(self, http: httpx.Client) -> None:
        owner = assistant(http)
        tool = ok(http.post("/ai/tools", json={"display_name": "t", "type": "hangup", "hangup": {}}))
        response = http.delete(f"/ai/assistants/{owner['id']}/tools/{tool['id']}")
        assert response.status_code == 404
        assert response.json()["errors"][0]["detail"] == (
            f"Tool {tool['id']} is not attached to assistant {owner['id']}"
        )

    def test_unknown_shared_tool_type_is_422(self, http: httpx.Client) -> None:
        response = http.post("/ai/tools", json={"display_name": "t", "type": "sip_refer"})
        assert response.status_code == 422
        assert response.json()["detail"][0]["type"] == "union_tag_invalid"

    @pytest.mark.parametrize(
        ("query", "entry"),
        [
            (
                {"page[size]": "0"},
                {
                    "loc": ["query", "page[size]"],
                    "msg": "Input should be greater than or equal to 1",
                    "type": "greater_than_equal",
                },
            ),
            (
                {"page[size]": "101"},
                {
                    "loc": ["query", "page[size]"],
                    "msg": "Input should be less than or equal to 100",
                    "type": "less_than_equal",
                },
            ),
            (
                {"page[number]": "x"},
                {
                    "loc": ["query", "page[number]"],
                    "msg": "Input should be a valid integer, unable to parse string as an integer",
                    "type": "int_parsing",
                },
            ),
        ],
    )
    def test_page_parameters_are_checked(self, http: httpx.Client, query: dict[str, str], entry: Any) -> None:
        for path in ("/ai/tools", "/ai/mcp_servers"):
            response = http.get(path, params=query)
            assert (response.status_code, response.json()) == (422, {"detail": [entry]})

    def test_add_tag_needs_a_tag(self, http: httpx.Client) -> None:
        owner = assistant(http)
        response = http.post(f"/ai/assistants/{owner['id']}/tags", json={})
        assert response.status_code == 422
        assert response.json() == {"detail": [{"loc": ["body", "tag"], "msg": "Field required", "type": "missing"}]}

    def test_mcp_created_at_must_be_a_date_time(self, http: httpx.Client) -> None:
        server = ok(http.post("/ai/mcp_servers", json={"name": "m", "type": "http", "url": "https://m"}))
        response = http.put(f"/ai/mcp_servers/{server['id']}", json={"created_at": "yesterday"})
        assert response.status_code == 422
        assert response.json() == {
            "detail": [
                {"loc": ["body", "created_at"], "msg": "Input should be a valid datetime", "type": "datetime_parsing"}
            ]
        }


class TestRouting:
    def test_static_tags_path_is_not_an_assistant_id(self, http: httpx.Client) -> None:
        response = http.post("/ai/assistants/tags", json={"name": "x"})
        assert response.status_code == 405
        assert response.headers["allow"] == "GET, HEAD"

    def test_allow_lists_every_method_of_the_path(self, http: httpx.Client) -> None:
        response = http.patch("/ai/mcp_servers/m-1")
        assert response.status_code == 405
        assert response.headers["allow"] == "DELETE, GET, HEAD, PUT"

    def test_stats_use_route_templates(self, http: httpx.Client, emulator: EmulatorServer) -> None:
        owner = assistant(http, tags=["a/b"])
        http.delete(f"/ai/assistants/{owner['id']}/tags/a%2Fb")
        assert emulator.stats()["by_route"]["DELETE /v2/ai/assistants/{assistant_id}/tags/{tag}"] == 1


class TestPersistence:
    def test_library_attachments_and_canary_survive_restart(self, tmp_path: Path) -> None:
        state = tmp_path / "state.json"
        with EmulatorServer(state_file=state) as first, httpx.Client(base_url=first.base_url, headers=AUTH) as c:
            tool = ok(c.post("/ai/tools", json={"display_name": "t", "type": "hangup", "hangup": {}}))
            server = ok(c.post("/ai/mcp_servers", json={"name": "m", "type": "http", "url": "https://m"}))
            owner = assistant(c, tool_ids=[tool["id"]])
            rules = [{"serve": {"version_id": owner["version_id"]}}]
            canary = ok(c.put(f"/ai/assistants/{owner['id']}/canary-deploys", json={"rules": rules}))
        with EmulatorServer(state_file=state) as second, httpx.Client(base_url=second.base_url, headers=AUTH) as c:
            assert ok(c.get(f"/ai/tools/{tool['id']}")) == tool
            assert ok(c.get(f"/ai/mcp_servers/{server['id']}")) == server
            assert ok(c.get(f"/ai/assistants/{owner['id']}")) == owner
            assert ok(c.get(f"/ai/assistants/{owner['id']}/canary-deploys")) == canary
