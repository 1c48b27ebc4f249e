"""``-v`` / ``--log-level``: one stderr line per API request, never a secret; request ids and the /v2 hint in errors."""

from __future__ import annotations

import re
from typing import Any

import httpx

from reconciler.api.client import TelnyxClient
from reconciler.errors import ApiNotFound
from tests.helpers import API_KEY, REPO, run_cli

DESK = REPO / "examples" / "support-desk"
LINE = re.compile(r"^reconciler\.http: (GET|POST|PATCH|PUT|DELETE) /ai/\S+ \d{3} \d+ ms retry=\d+")


def test_verbose_writes_one_line_per_request_and_no_secret(emulator: Any) -> None:
    result = run_cli(["-v", "plan", str(DESK)], emulator.base_url)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("reconciler.http:")]
    assert lines and all(LINE.match(line) for line in lines), lines[:3]
    assert API_KEY not in result.stderr and API_KEY not in result.stdout


def test_log_level_info_is_the_same_and_nothing_without_it(emulator: Any) -> None:
    verbose = run_cli(["--log-level", "info", "plan", str(DESK)], emulator.base_url)
    assert "reconciler.http: GET /ai/assistants" in verbose.stderr
    quiet = run_cli(["plan", str(DESK)], emulator.base_url)
    assert "reconciler.http" not in quiet.stderr


def test_a_base_url_without_v2_gets_a_hint(emulator: Any) -> None:
    result = run_cli(["plan", str(DESK)], emulator.base_url.removesuffix("/v2"))
    assert result.exit_code == 1
    assert "the base URL should end in /v2" in result.stderr


def test_a_token_in_the_base_urls_query_is_never_shown(emulator: Any) -> None:
    """The /v2 hint names the base URL: without its query, which may carry a token (seen by a review)."""
    token = "S3cretTokenXYZ123"
    result = run_cli(["-v", "plan", str(DESK)], emulator.base_url.removesuffix("/v2") + f"?token={token}")
    assert result.exit_code == 1
    assert "the base URL should end in /v2 (it is http://127.0.0.1:" in result.stderr
    assert token not in result.output


def test_api_errors_name_the_request_id() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"errors": [{"detail": "gone"}]}, headers={"x-request-id": "req-42"})

    client = TelnyxClient("https://api.example/v2", "k" * 24)
    client._http = httpx.Client(base_url="https://api.example/v2", transport=httpx.MockTransport(answer))
    try:
        client.request("GET", "/ai/assistants/x")
    except ApiNotFound as exc:
        assert "(request id req-42)" in str(exc)
        assert "should end in /v2" not in str(exc)  # this base URL has it
    else:
        raise AssertionError("a 404 must raise")
    finally:
        client.close()


def test_a_retry_wait_is_logged_with_its_reason(caplog: Any) -> None:
    """A long Retry-After used to look like a hang: each wait is one line."""
    answers = iter([httpx.Response(429, headers={"retry-after": "2"}), httpx.Response(200, json={"data": []})])

    def answer(request: httpx.Request) -> httpx.Response:
        return next(answers)

    client = TelnyxClient("https://api.example/v2", "k" * 24, sleep=lambda seconds: None)
    client._http = httpx.Client(base_url="https://api.example/v2", transport=httpx.MockTransport(answer))
    try:
        with caplog.at_level("INFO", logger="reconciler.http"):
            client.request("GET", "/ai/tools")
    finally:
        client.close()
    messages = [record.getMessage() for record in caplog.records]
    assert messages[0].startswith("GET /ai/tools 429 ") and messages[0].endswith("retry=0")
    assert messages[1] == "GET /ai/tools: HTTP 429, retrying in 2.0 s (Retry-After)"
    assert messages[2].startswith("GET /ai/tools 200 ") and messages[2].endswith("retry=1")
