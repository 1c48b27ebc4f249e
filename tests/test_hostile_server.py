"""The client against a hostile server: every limit ends the command with exit 1 and one error line.

The server (``tests/hostile.py``) is real HTTP on 127.0.0.1; the CLI runs in-process as a user
would run it. Figures (time, memory) are in docs/reliability.md; tests do not assert durations.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import QUICKSTART, run_cli
from tests.hostile import HostileServer
from tests.test_loader import DATA

KEY = "hostile-test-key-1234"
GOOD = DATA / "good"
GOOD_WARNING = (
    f"Warning: {GOOD / 'billing.yaml'}:42: Assistant/billing: spec.conversation_flow.edges[1].condition: a default "
    "edge leaves prompt node 'ask'; the API documents default edges only on tool and speak nodes, so it may refuse "
    "this one (use an llm or expression condition)\n"
)
"""What plan says about tests/data/good before it reads the account: its flow has such an edge."""


def run(mode: str, args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str, list[str]]:
    with HostileServer(mode) as server:
        result = run_cli(args, env={"TELNYX_BASE_URL": server.base_url, "TELNYX_API_KEY": KEY,
                                    "ORDERS_TOKEN": "t0ken", **(env or {})})
        return result.exit_code, result.stdout, result.stderr, server.requests


def test_deep_nesting_is_refused_before_it_is_built() -> None:
    code, out, err, _ = run("deep-array", ["plan", str(QUICKSTART)])
    assert (code, out) == (1, "")
    assert err == "Error: GET /ai/assistants: the response nests deeper than 64 levels (RECONCILER_MAX_DEPTH)\n"


def test_a_gzip_bomb_stops_at_the_decoded_size_limit() -> None:
    code, out, err, _ = run("gzip-bomb", ["plan", str(QUICKSTART)],
                            env={"RECONCILER_MAX_RESPONSE_BYTES": str(16 << 20)})
    assert (code, out) == (1, "")
    assert err == ("Error: GET /ai/assistants: the response is larger than 16777216 bytes once decoded "
                   "(RECONCILER_MAX_RESPONSE_BYTES)\n")


def test_a_gzip_bomb_stops_at_the_default_limit() -> None:
    code, _, err, _ = run("gzip-bomb", ["plan", str(QUICKSTART)])
    assert code == 1
    assert err == ("Error: GET /ai/assistants: the response is larger than 67108864 bytes once decoded "
                   "(RECONCILER_MAX_RESPONSE_BYTES)\n")


def test_the_received_size_is_bounded_too() -> None:
    code, _, err, _ = run("gzip-bomb", ["plan", str(QUICKSTART)], env={"RECONCILER_MAX_DOWNLOAD_BYTES": "1000"})
    assert code == 1
    assert err == "Error: GET /ai/assistants: more than 1000 bytes received (RECONCILER_MAX_DOWNLOAD_BYTES)\n"


def test_fifty_million_pages_are_refused_before_page_two() -> None:
    code, out, err, requests = run("total-pages", ["plan", str(GOOD)])
    assert (code, out) == (1, "")
    assert err == GOOD_WARNING + ("Error: GET /ai/tools: the list has 50000000 pages; at most 200 are read "
                                  "(RECONCILER_MAX_PAGES)\n")
    assert requests.count("GET /v2/ai/tools") == 1


def test_an_mcp_server_list_that_repeats_its_page_stops() -> None:
    code, out, err, requests = run("mcp-same-page", ["plan", str(GOOD)])
    assert (code, out) == (1, "")
    assert err == GOOD_WARNING + "Error: GET /ai/mcp_servers: page 2 repeats page 1; the server ignores page[number]\n"
    assert requests.count("GET /v2/ai/mcp_servers") == 2


def test_an_endless_mcp_server_list_stops_at_the_page_limit() -> None:
    code, _, err, requests = run("mcp-endless", ["plan", str(GOOD)], env={"RECONCILER_MAX_PAGES": "5"})
    assert code == 1
    assert err == GOOD_WARNING + ("Error: GET /ai/mcp_servers: the list has more than 5 pages; at most 5 are read "
                                  "(RECONCILER_MAX_PAGES)\n")
    assert requests.count("GET /v2/ai/mcp_servers") == 5


def test_a_trickled_body_is_bounded_by_the_time_per_request_and_the_deadline() -> None:
    """One byte every 0.3 s never trips a read timeout of 1 s: only the total time per request does."""
    code, out, err, requests = run("trickle", ["plan", str(QUICKSTART), "--request-timeout", "1",
                                               "--deadline", "2.5"])
    assert (code, out) == (1, "")
    assert err == "Error: GET /ai/assistants: the command reached its deadline of 2.5 s (--deadline)\n"
    assert requests == ["GET /v2/ai/assistants", "GET /v2/ai/assistants"]


def test_a_list_item_without_id_is_the_servers_fault() -> None:
    code, out, err, _ = run("no-id", ["plan", str(QUICKSTART)])
    assert (code, out) == (1, "")
    assert err == "Error: GET /ai/assistants failed with HTTP 200: list item 0 has no id\n"


@pytest.mark.parametrize("setting", ["RECONCILER_MAX_PAGES=0", "RECONCILER_DEADLINE=nan",
                                     "RECONCILER_MAX_DEPTH=1.5"])
def test_a_bad_limit_setting_is_a_usage_error(setting: str, tmp_path: Path) -> None:
    name, value = setting.split("=")
    code, _, err, requests = run("no-id", ["plan", str(QUICKSTART)], env={name: value})
    assert code == 1
    kind = "a positive whole number" if name != "RECONCILER_DEADLINE" else "a positive number"
    assert err == f"Error: {name} must be {kind}, not {value!r}\n"
    assert requests == []


def test_a_non_ascii_api_key_is_refused_without_printing_it() -> None:
    code, _, err, requests = run("no-id", ["plan", str(QUICKSTART)], env={"TELNYX_API_KEY": "clé-secrète-9"})
    assert code == 1
    assert err == ("Error: the API key has a character an HTTP header cannot carry (non-ASCII, a space or a "
                   "control character); check --api-key / TELNYX_API_KEY\n")
    assert requests == []
