"""The client against a hostile server: every limit ends the command with exit 1 and one error line.

The server (``tests/hostile.py``) is real HTTP on 127.0.0.1; the CLI runs in-process as a user
would run it. Figures (time, memory) are in docs/reliability.md. The cases that are about time run
the CLI as its own process with the default limits, and assert only generous upper bounds (time
and peak memory) that the code before those limits could not meet.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Finished:
    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_mib: float
    requests: list[str]


CHILD = """
import sys
from pathlib import Path

peak = Path(sys.argv.pop(1))
try:
    from reconciler.cli import main

    main(sys.argv[1:], prog_name="reconciler")
finally:  # VmHWM is this program's own peak: ru_maxrss from wait4 would include the parent's (vfork, exec)
    status = Path("/proc/self/status")
    lines = status.read_text().splitlines() if status.exists() else []
    peak.write_text(next((line.split()[1] for line in lines if line.startswith("VmHWM:")), "0"))
"""


def run_process(mode: str, args: list[str], tmp_path: Path, timeout_s: float = 20.0) -> Finished:
    """``reconciler ARGS`` as its own process against the hostile server; past ``timeout_s`` it is
    killed and the test fails (``TimeoutExpired``)."""
    peak = tmp_path / "peak-kib"
    with HostileServer(mode) as server:
        env = {**os.environ, "NO_COLOR": "1", "TELNYX_BASE_URL": server.base_url, "TELNYX_API_KEY": KEY}
        env = {name: value for name, value in env.items() if not name.startswith("RECONCILER_")}  # the defaults
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-c", CHILD, str(peak), *args], env=env, capture_output=True,
                              text=True, timeout=timeout_s, check=False)
        seconds = time.monotonic() - started
        return Finished(done.returncode, done.stdout, done.stderr, seconds, int(peak.read_text()) / 1024,
                        server.requests)


SLOW = (r"Error: GET /ai/assistants: the server sent \d+ bytes? of {what} in 3 s, under the minimum of 1024 bytes "
        r"per 3 s \(RECONCILER_MIN_TRANSFER_BYTES, RECONCILER_TRANSFER_WINDOW\); giving up\n")


@pytest.mark.parametrize(("mode", "what"), [("drip", "the body"), ("trickle", "the body"),
                                            ("slow-headers", "its response headers")])
def test_a_trickling_server_is_given_up_on_at_the_default_limits(mode: str, what: str, tmp_path: Path) -> None:
    """Below 1 KiB in 3 s an attempt ends, and it is tried once more: about 7 s, where the time per
    request alone allowed five attempts of 30 s. The bounds here are generous, for a busy machine."""
    finished = run_process(mode, ["plan", str(QUICKSTART)], tmp_path)
    assert (finished.code, finished.stdout) == (1, "")
    assert re.fullmatch(SLOW.format(what=what), finished.stderr), finished.stderr
    assert finished.requests == ["GET /v2/ai/assistants", "GET /v2/ai/assistants"]
    assert finished.seconds < 20
    assert finished.peak_mib < 300


def test_a_server_may_think_longer_than_the_transfer_window_before_it_answers() -> None:
    """The minimum rate counts from the first byte of the answer, not from the request."""
    code, out, err, requests = run("think", ["plan", str(QUICKSTART)], env={"RECONCILER_TRANSFER_WINDOW": "0.5"})
    assert code == 0, err
    assert "Plan:" in out
    assert requests.count("GET /v2/ai/assistants") == 1


def test_a_list_item_without_id_is_the_servers_fault() -> None:
    code, out, err, _ = run("no-id", ["plan", str(QUICKSTART)])
    assert (code, out) == (1, "")
    assert err == "Error: GET /ai/assistants failed with HTTP 200: list item 0 has no id\n"


@pytest.mark.parametrize("setting", ["RECONCILER_MAX_PAGES=0", "RECONCILER_DEADLINE=nan",
                                     "RECONCILER_MAX_DEPTH=1.5", "RECONCILER_MIN_TRANSFER_BYTES=0.5",
                                     "RECONCILER_TRANSFER_WINDOW=0"])
def test_a_bad_limit_setting_is_a_usage_error(setting: str, tmp_path: Path) -> None:
    name, value = setting.split("=")
    code, _, err, requests = run("no-id", ["plan", str(QUICKSTART)], env={name: value})
    assert code == 1
    whole = name not in ("RECONCILER_DEADLINE", "RECONCILER_TRANSFER_WINDOW")
    kind = "a positive whole number" if whole else "a positive number"
    assert err == f"Error: {name} must be {kind}, not {value!r}\n"
    assert requests == []


def test_a_non_ascii_api_key_is_refused_without_printing_it() -> None:
    code, _, err, requests = run("no-id", ["plan", str(QUICKSTART)], env={"TELNYX_API_KEY": "clé-secrète-9"})
    assert code == 1
    assert err == ("Error: the API key has a character an HTTP header cannot carry (non-ASCII, a space or a "
                   "control character); check --api-key / TELNYX_API_KEY\n")
    assert requests == []
