"""The emulator's route table: every path it serves, in matching order.

Why: one list that both the Starlette app and the stats counter (route templates) read. Static segments
come before the `{assistant_id}` routes they would otherwise be taken for (`/ai/assistants/tags`).
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconciler.emulator import handlers as h
from reconciler.emulator import library as lib
from reconciler.emulator.errors import NotEmulated

API_PREFIX = "/v2"
# Static segments under /ai/assistants that are never an assistant id.
RESERVED_SEGMENTS = ("tags", "deleted", "tests", "import")


class AssistantIdConvertor(Convertor[str]):
    """Any single path segment except the reserved static ones, so `POST /ai/assistants/tags` is a 405."""

    regex = "(?!(?:" + "|".join(RESERVED_SEGMENTS) + ")(?:/|$))[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


class TestIdConvertor(Convertor[str]):
    """Any single path segment but `test-suites`, so `PUT /ai/assistants/tests/test-suites` is a 405."""

    regex = "(?!test-suites(?:/|$))[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("assistant_id", AssistantIdConvertor())
register_url_convertor("test_id", TestIdConvertor())
ASSISTANT = "/ai/assistants/{assistant_id:assistant_id}"
VERSION = ASSISTANT + "/versions/{version_id}"
TESTS = "/ai/assistants/tests"
TEST = TESTS + "/{test_id:test_id}"
SUITE_RUNS = TESTS + "/test-suites/{suite_name:path}/runs"  # a suite name may hold "/"


def _api(path: str) -> str:
    return API_PREFIX + path


API_ROUTES = [
    Route(_api("/ai/assistants"), h.list_assistants, methods=["GET"]),
    Route(_api("/ai/assistants"), h.create_assistant, methods=["POST"]),
    Route(_api("/ai/assistants/tags"), h.list_tags, methods=["GET"]),
    Route(_api("/ai/assistants/import"), h.import_assistants, methods=["POST"]),
    Route(_api(TESTS), h.list_tests, methods=["GET"]),
    Route(_api(TESTS), h.create_test, methods=["POST"]),
    Route(_api(TESTS + "/test-suites"), h.list_test_suites, methods=["GET"]),
    Route(_api(SUITE_RUNS), h.list_suite_runs, methods=["GET"]),
    Route(_api(SUITE_RUNS), h.trigger_suite_runs, methods=["POST"]),
    Route(_api(TEST), h.get_test, methods=["GET"]),
    Route(_api(TEST), h.update_test, methods=["PUT"]),
    Route(_api(TEST), h.delete_test, methods=["DELETE"]),
    Route(_api(TEST + "/runs"), h.list_test_runs, methods=["GET"]),
    Route(_api(TEST + "/runs"), h.trigger_test_run, methods=["POST"]),
    Route(_api(TEST + "/runs/{run_id}"), h.get_test_run, methods=["GET"]),
    Route(_api(ASSISTANT), h.get_assistant, methods=["GET"]),
    Route(_api(ASSISTANT), h.update_assistant, methods=["POST"]),
    Route(_api(ASSISTANT), h.delete_assistant, methods=["DELETE"]),
    Route(_api(ASSISTANT + "/versions"), h.list_versions, methods=["GET"]),
    Route(_api(VERSION), h.get_version, methods=["GET"]),
    Route(_api(VERSION), h.update_version, methods=["POST"]),
    Route(_api(VERSION), h.delete_version, methods=["DELETE"]),
    Route(_api(VERSION + "/promote"), h.promote_version, methods=["POST"]),
    Route(_api(ASSISTANT + "/tags"), h.add_tag, methods=["POST"]),
    Route(_api(ASSISTANT + "/tags/{tag:path}"), h.remove_tag, methods=["DELETE"]),
    Route(_api(ASSISTANT + "/tools/{tool_id}"), h.attach_tool, methods=["PUT"]),
    Route(_api(ASSISTANT + "/tools/{tool_id}"), h.detach_tool, methods=["DELETE"]),
    Route(_api(ASSISTANT + "/canary-deploys"), h.get_canary, methods=["GET"]),
    Route(_api(ASSISTANT + "/canary-deploys"), h.create_canary, methods=["POST"]),
    Route(_api(ASSISTANT + "/canary-deploys"), h.replace_canary, methods=["PUT"]),
    Route(_api(ASSISTANT + "/canary-deploys"), h.delete_canary, methods=["DELETE"]),
    Route(_api("/ai/tools"), lib.list_tools, methods=["GET"]),
    Route(_api("/ai/tools"), lib.create_tool, methods=["POST"]),
    Route(_api("/ai/tools/{tool_id}"), lib.get_tool, methods=["GET"]),
    Route(_api("/ai/tools/{tool_id}"), lib.update_tool, methods=["PATCH"]),
    Route(_api("/ai/tools/{tool_id}"), lib.delete_tool, methods=["DELETE"]),
    Route(_api("/ai/mcp_servers"), lib.list_mcp_servers, methods=["GET"]),
    Route(_api("/ai/mcp_servers"), lib.create_mcp_server, methods=["POST"]),
    Route(_api("/ai/mcp_servers/{mcp_server_id}"), lib.get_mcp_server, methods=["GET"]),
    Route(_api("/ai/mcp_servers/{mcp_server_id}"), lib.replace_mcp_server, methods=["PUT"]),
    Route(_api("/ai/mcp_servers/{mcp_server_id}"), lib.delete_mcp_server, methods=["DELETE"]),
]


# Telnyx AI routes (from the official SDK's resources) that the emulator does not serve. They answer
# 501 naming the route, so a client never mistakes "not emulated" for "no such object" (a 404).
UNEMULATED_ASSISTANT_PATHS = (
    "/ai/assistants/deleted",
    ASSISTANT + "/chat",
    ASSISTANT + "/chat/sms",
    ASSISTANT + "/chat/whatsapp",
    ASSISTANT + "/clone",
    ASSISTANT + "/deleted",
    ASSISTANT + "/instructions/enhance",
    ASSISTANT + "/restore",
    ASSISTANT + "/scheduled_events",
    ASSISTANT + "/scheduled_events/{event_id}",
    ASSISTANT + "/texml",
    ASSISTANT + "/tools/{tool_id}/test",
)
UNEMULATED_FAMILIES = (
    "anthropic", "audio", "avatars", "clusters", "collections", "conversation_histories", "conversations",
    "embeddings", "fine_tuning", "integrations", "knowledge", "memory", "missions", "openai", "summarize",
    "typesafe",
)  # fmt: skip
ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE"]


async def not_emulated(request: Request) -> Response:
    """501 naming the method and path: Telnyx serves it, the emulator does not."""
    raise NotEmulated(f"{request.method} {request.url.path} is a Telnyx API route that the emulator does not emulate")


UNEMULATED_PATHS = (
    *UNEMULATED_ASSISTANT_PATHS,
    *(path for family in UNEMULATED_FAMILIES for path in (f"/ai/{family}", f"/ai/{family}/{{rest:path}}")),
)
API_ROUTES += [Route(_api(path), not_emulated, methods=ANY_METHOD) for path in UNEMULATED_PATHS]
