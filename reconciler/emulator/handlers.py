"""HTTP handlers for assistants, versions, tags, attached tools, canary deploys and assistant tests.

Why: handlers only translate HTTP to store calls and back. Envelopes follow telnyx-ai-api.md 1.1 and 11:
bare single objects, `{"data": [...]}` for assistant and version lists, `{"tags": [...]}` for tags,
`{data, meta}` for tests and runs, a bare array for a suite trigger, and no body for deletes other than
the assistant's OpenAI-style one. Test creates and run triggers answer 201, as the OpenAPI subset says.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from reconciler.emulator.parsing import bool_query, idempotent_create, json_body, page_query, store_of


def json_response(body: bytes) -> Response:
    """A 200 of already encoded JSON (the store's cached reads): the same bytes and headers a
    ``JSONResponse`` of the decoded value would send."""
    return Response(body, media_type=JSONResponse.media_type)


async def list_assistants(request: Request) -> Response:
    return json_response(store_of(request).list_assistants_json())


async def create_assistant(request: Request) -> Response:
    store = store_of(request)
    return await idempotent_create(request, "POST /ai/assistants", "CreateAssistantRequest", store.create_assistant)


async def import_assistants(request: Request) -> Response:
    """`{"data": [...]}` of the imported assistants; `Idempotency-Key` replays the first answer."""
    store = store_of(request)
    scope = "POST /ai/assistants/import"
    return await idempotent_create(request, scope, "ImportAssistantsRequest", store.import_assistants)


async def get_assistant(request: Request) -> Response:
    """The runtime-only query flag is checked (422 when not a boolean) and otherwise ignored."""
    bool_query(request, "fetch_dynamic_variables_from_webhook")
    return json_response(store_of(request).get_assistant_json(request.path_params["assistant_id"]))


async def update_assistant(request: Request) -> Response:
    body = await json_body(request, "UpdateAssistantRequestWithPromotion")
    return JSONResponse(store_of(request).update_assistant(request.path_params["assistant_id"], body))


async def delete_assistant(request: Request) -> Response:
    hard = bool_query(request, "hard_delete")
    return JSONResponse(store_of(request).delete_assistant(request.path_params["assistant_id"], hard))


# -- versions --------------------------------------------------------------------------------------


async def list_versions(request: Request) -> Response:
    return json_response(store_of(request).list_versions_json(request.path_params["assistant_id"]))


async def get_version(request: Request) -> Response:
    """`include_mcp_servers` is accepted (and checked) but mcp_servers are always included."""
    bool_query(request, "include_mcp_servers")
    params = request.path_params
    return json_response(store_of(request).get_version_json(params["assistant_id"], params["version_id"]))


async def update_version(request: Request) -> Response:
    params = request.path_params
    body = await json_body(request, "UpdateAssistantRequest")
    return JSONResponse(store_of(request).update_version(params["assistant_id"], params["version_id"], body))


async def delete_version(request: Request) -> Response:
    params = request.path_params
    store_of(request).delete_version(params["assistant_id"], params["version_id"])
    return Response(status_code=204)


async def promote_version(request: Request) -> Response:
    params = request.path_params
    return JSONResponse(store_of(request).promote_version(params["assistant_id"], params["version_id"]))


# -- tags ------------------------------------------------------------------------------------------


async def list_tags(request: Request) -> Response:
    return JSONResponse(store_of(request).all_tags())


async def add_tag(request: Request) -> Response:
    body = await json_body(request, "AddTagRequest")
    return JSONResponse(store_of(request).add_tag(request.path_params["assistant_id"], body["tag"]))


async def remove_tag(request: Request) -> Response:
    """The server decodes the percent-encoded path, so `{tag}` arrives decoded (slashes included)."""
    params = request.path_params
    return JSONResponse(store_of(request).remove_tag(params["assistant_id"], params["tag"]))


# -- shared tools on an assistant ------------------------------------------------------------------


async def attach_tool(request: Request) -> Response:
    params = request.path_params
    return JSONResponse(store_of(request).attach_tool(params["assistant_id"], params["tool_id"]))


async def detach_tool(request: Request) -> Response:
    params = request.path_params
    return JSONResponse(store_of(request).detach_tool(params["assistant_id"], params["tool_id"]))


# -- canary deploys --------------------------------------------------------------------------------


async def get_canary(request: Request) -> Response:
    return json_response(store_of(request).get_canary_json(request.path_params["assistant_id"]))


async def create_canary(request: Request) -> Response:
    assistant_id = request.path_params["assistant_id"]
    store = store_of(request)
    return await idempotent_create(
        request,
        f"POST /ai/assistants/{assistant_id}/canary-deploys",
        "CanaryDeployRequest",
        lambda body: store.create_canary(assistant_id, body),
    )


async def replace_canary(request: Request) -> Response:
    body = await json_body(request, "CanaryDeployRequest")
    return JSONResponse(store_of(request).replace_canary(request.path_params["assistant_id"], body))


async def delete_canary(request: Request) -> Response:
    store_of(request).delete_canary(request.path_params["assistant_id"])
    return Response(status_code=204)


# -- assistant tests, suites and runs --------------------------------------------------------------


async def list_tests(request: Request) -> Response:
    query = request.query_params
    page = page_query(request)
    found = store_of(request).list_tests(
        page, query.get("test_suite"), query.get("telnyx_conversation_channel"), query.get("destination")
    )
    return JSONResponse(found)


async def create_test(request: Request) -> Response:
    store = store_of(request)
    scope = "POST /ai/assistants/tests"
    return await idempotent_create(request, scope, "CreateAssistantTestRequest", store.create_test, status=201)


async def get_test(request: Request) -> Response:
    return JSONResponse(store_of(request).get_test(request.path_params["test_id"]))


async def update_test(request: Request) -> Response:
    body = await json_body(request, "UpdateAssistantTestRequest")
    return JSONResponse(store_of(request).update_test(request.path_params["test_id"], body))


async def delete_test(request: Request) -> Response:
    store_of(request).delete_test(request.path_params["test_id"])
    return Response(status_code=204)


async def list_test_suites(request: Request) -> Response:
    return JSONResponse(store_of(request).list_suites())


async def trigger_test_run(request: Request) -> Response:
    test_id = request.path_params["test_id"]
    store = store_of(request)
    return await idempotent_create(
        request,
        f"POST /ai/assistants/tests/{test_id}/runs",
        "TriggerTestRunRequest",
        lambda body: store.trigger_run(test_id, body),
        status=201,
        optional=True,
    )


async def list_test_runs(request: Request) -> Response:
    page = page_query(request)
    found = store_of(request).list_runs(request.path_params["test_id"], page, request.query_params.get("status"))
    return JSONResponse(found)


async def get_test_run(request: Request) -> Response:
    params = request.path_params
    return JSONResponse(store_of(request).get_run(params["test_id"], params["run_id"]))


async def trigger_suite_runs(request: Request) -> Response:
    """A bare JSON array of runs, one per test of the suite."""
    suite = request.path_params["suite_name"]
    store = store_of(request)
    return await idempotent_create(
        request,
        f"POST /ai/assistants/tests/test-suites/{suite}/runs",
        "TriggerTestSuiteRunsRequest",
        lambda body: store.trigger_suite(suite, body),
        status=201,
        optional=True,
    )


async def list_suite_runs(request: Request) -> Response:
    query = request.query_params
    page = page_query(request)
    found = store_of(request).list_suite_runs(
        request.path_params["suite_name"], page, query.get("status"), query.get("test_suite_run_id")
    )
    return JSONResponse(found)
