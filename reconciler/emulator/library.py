"""HTTP handlers for the shared tools library (`/ai/tools`) and MCP servers (`/ai/mcp_servers`).

Why: the two org-level collections have their own envelopes (telnyx-ai-api.md 1.1-1.2): tools list as
`{data, meta}` and MCP servers as a bare array; single objects are bare and deletes carry no body.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from reconciler.emulator.parsing import idempotent_create, json_body, page_query, store_of


async def list_tools(request: Request) -> Response:
    page = page_query(request)
    query = request.query_params
    return JSONResponse(store_of(request).list_tools(page, query.get("filter[name]"), query.get("filter[type]")))


async def create_tool(request: Request) -> Response:
    store = store_of(request)
    return await idempotent_create(request, "POST /ai/tools", "CreateSharedToolRequest", store.create_tool)


async def get_tool(request: Request) -> Response:
    return JSONResponse(store_of(request).get_tool(request.path_params["tool_id"]))


async def update_tool(request: Request) -> Response:
    body = await json_body(request, "UpdateSharedToolRequest")
    return JSONResponse(store_of(request).update_tool(request.path_params["tool_id"], body))


async def delete_tool(request: Request) -> Response:
    store_of(request).delete_tool(request.path_params["tool_id"])
    return Response(status_code=204)


async def list_mcp_servers(request: Request) -> Response:
    page = page_query(request)
    query = request.query_params
    return JSONResponse(store_of(request).list_mcp_servers(page, query.get("type"), query.get("url")))


async def create_mcp_server(request: Request) -> Response:
    store = store_of(request)
    return await idempotent_create(request, "POST /ai/mcp_servers", "CreateMCPServerRequest", store.create_mcp_server)


async def get_mcp_server(request: Request) -> Response:
    return JSONResponse(store_of(request).get_mcp_server(request.path_params["mcp_server_id"]))


async def replace_mcp_server(request: Request) -> Response:
    body = await json_body(request, "UpdateMCPServerRequest")
    return JSONResponse(store_of(request).replace_mcp_server(request.path_params["mcp_server_id"], body))


async def delete_mcp_server(request: Request) -> Response:
    store_of(request).delete_mcp_server(request.path_params["mcp_server_id"])
    return Response(status_code=204)
