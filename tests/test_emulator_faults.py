"""Fault injection in the emulator: each kind's exact wire behaviour, seeded replay, runtime control, the CLI,
and our client surviving it."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import telnyx

from reconciler.api.client import TelnyxClient
from reconciler.emulator import EmulatorServer
from reconciler.emulator.faults import FAULT_KINDS
from reconciler.errors import ApiUnavailable
from tests.conftest import AUTH, TEST_API_KEY

MINIMAL = {"name": "a", "instructions": "b"}
DISCONNECTED = "Server disconnected without sending a response."
NO_INJECTIONS = dict.fromkeys(FAULT_KINDS, 0)
SERVER_ERROR_BODIES = {
    500: ("Unexpected error", "The server hit an unexpected error (injected by the emulator)"),
    502: ("Bad gateway", "An upstream service answered badly (injected by the emulator)"),
    503: ("Service unavailable", "The service is temporarily unavailable (injected by the emulator)"),
}


def outcome(client: httpx.Client, method: str, path: str, **kwargs: Any) -> int | str:
    """The status code, or the transport error's class name when no response came."""
    try:
        return client.request(method, path, **kwargs).status_code
    except httpx.TransportError as exc:
        return type(exc).__name__


def fresh_outcomes(count: int, **settings: Any) -> tuple[list[int | str], dict[str, Any]]:
    """mixed_outcomes on a new emulator built with `settings`, and its fault report afterwards."""
    with EmulatorServer(**settings) as server, httpx.Client(base_url=server.base_url, headers=AUTH) as client:
        return mixed_outcomes(client, count), server.faults()


def mixed_outcomes(client: httpx.Client, count: int) -> list[int | str]:
    """Alternate list reads and creates, one at a time so arrival order is the sending order."""
    results = []
    for i in range(count):
        if i % 2:
            results.append(outcome(client, "POST", "/ai/assistants", json=MINIMAL))
        else:
            results.append(outcome(client, "GET", "/ai/assistants"))
    return results


class TestKinds:
    def test_rate_limit_is_a_telnyx_429_with_retry_after(self, emulator: EmulatorServer, http: httpx.Client) -> None:
        emulator.set_faults(1.0, kinds=["rate_limit"])
        response = http.post("/ai/assistants", json=MINIMAL)
        assert response.status_code == 429
        assert response.headers["retry-after"] == "1"
        assert response.headers["retry-after-ms"] == "1000"
        assert response.json() == {
            "errors": [
                {
                    "code": "10011",
                    "title": "Too many requests",
                    "detail": "Rate limit exceeded (injected by the emulator)",
                }
            ]
        }
        assert emulator.store.assistants == {}

    def test_retry_after_is_configurable_and_rounds_up_in_seconds(self, emulator: EmulatorServer) -> None:
        emulator.set_faults(1.0, kinds=["rate_limit"], retry_after_s=0.02)
        response = httpx.get(emulator.base_url + "/ai/assistants", headers=AUTH)
        assert (response.status_code, response.headers["retry-after"], response.headers["retry-after-ms"]) == (
            429,
            "1",
            "20",
        )

    def test_server_error_statuses_follow_the_seed(self, emulator: EmulatorServer, http: httpx.Client) -> None:
        emulator.set_faults(1.0, seed=11, kinds=["server_error"])
        model = random.Random(11)  # one kind at rate 1: the draw itself picks 500, 502 or 503 by thirds
        expected = [(500, 502, 503)[int(model.random() * 3)] for _ in range(12)]
        seen = []
        for _ in range(12):
            response = http.put("/ai/mcp_servers/nope", json={})
            title, detail = SERVER_ERROR_BODIES[response.status_code]
            assert response.json() == {"errors": [{"code": "10007", "title": title, "detail": detail}]}
            seen.append(response.status_code)
        assert seen == expected
        assert set(seen) == {500, 502, 503}

    def test_drop_closes_the_connection_and_changes_nothing(
        self, emulator: EmulatorServer, http: httpx.Client
    ) -> None:
        emulator.set_faults(1.0, kinds=["drop"])
        with pytest.raises(httpx.RemoteProtocolError, match=DISCONNECTED):
            http.post("/ai/assistants", json=MINIMAL)
        with pytest.raises(httpx.RemoteProtocolError, match=DISCONNECTED):
            http.get("/ai/assistants")
        assert emulator.store.assistants == {}
        assert emulator.stats()["faults"] == {"drop": 2}

    def test_lost_response_commits_the_write(
        self, emulator: EmulatorServer, http: httpx.Client, sdk: telnyx.Telnyx
    ) -> None:
        emulator.set_faults(1.0, kinds=["lost_response"])
        with pytest.raises(httpx.RemoteProtocolError, match=DISCONNECTED):
            http.post("/ai/assistants", json={"name": "ghost", "instructions": "b"})
        emulator.set_faults(0.0)
        [assistant] = sdk.ai.assistants.list().data
        assert assistant.name == "ghost"
        stats = emulator.stats()
        assert (stats["writes"], stats["faults"]) == (1, {"lost_response": 1})

    def test_lost_response_on_a_read_is_a_drop(self, emulator: EmulatorServer, http: httpx.Client) -> None:
        emulator.set_faults(1.0, kinds=["lost_response"])
        with pytest.raises(httpx.RemoteProtocolError, match=DISCONNECTED):
            http.get("/ai/assistants")
        assert emulator.faults()["injected"] == {**NO_INJECTIONS, "drop": 1}

    def test_lost_response_on_delete_deletes(self, emulator: EmulatorServer, http: httpx.Client) -> None:
        created = http.post("/ai/assistants", json=MINIMAL).json()
        emulator.set_faults(1.0, kinds=["lost_response"])
        with pytest.raises(httpx.RemoteProtocolError):
            http.delete(f"/ai/assistants/{created['id']}", params={"hard_delete": "true"})
        emulator.set_faults(0.0)
        assert http.get(f"/ai/assistants/{created['id']}").status_code == 404

    def test_latency_fault_answers_normally_after_the_delay(self, emulator: EmulatorServer) -> None:
        emulator.set_faults(1.0, kinds=["latency"], latency_ms=5)
        response = httpx.get(emulator.base_url + "/ai/assistants", headers=AUTH)
        assert (response.status_code, response.json()) == (200, {"data": []})
        assert response.elapsed.total_seconds() >= 0.005
        assert emulator.stats()["faults"] == {"latency": 1}

    def test_faults_come_before_auth(self, emulator: EmulatorServer) -> None:
        emulator.set_faults(1.0, kinds=["rate_limit"])
        assert httpx.get(emulator.base_url + "/ai/assistants").status_code == 429

    def test_a_lost_response_still_checks_the_key(self, emulator: EmulatorServer) -> None:
        emulator.set_faults(1.0, kinds=["lost_response"])
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(emulator.base_url + "/ai/assistants", json=MINIMAL, headers={"Authorization": "Bearer bad"})
        assert emulator.store.assistants == {}


class TestDeterminism:
    def test_same_seed_same_outcomes_other_seed_other_outcomes(self) -> None:
        runs = [fresh_outcomes(30, fault_rate=0.5, seed=seed)[0] for seed in (7, 7, 8)]
        assert runs[0] == runs[1]
        assert runs[0] != runs[2]
        assert {200, 429, "RemoteProtocolError"} <= set(runs[0])
        assert any(isinstance(result, int) and result >= 500 for result in runs[0])

    def test_set_faults_restarts_the_sequence(self, emulator: EmulatorServer, http: httpx.Client) -> None:
        emulator.set_faults(0.5, seed=5)
        first = mixed_outcomes(http, 30)
        emulator.set_faults(0.5, seed=5)
        assert mixed_outcomes(http, 30) == first

    def test_no_seed_is_a_fixed_default(self) -> None:
        runs = [fresh_outcomes(12, fault_rate=0.5, seed=seed) for seed in (None, None, 0)]
        assert runs[0] == runs[1] == runs[2]
        assert runs[0][1]["seed"] == 0

    def test_kinds_restrict_the_outcomes(self) -> None:
        seen, report = fresh_outcomes(30, fault_rate=0.5, seed=2, fault_kinds=["rate_limit", "drop"])
        assert set(seen) == {200, 429, "RemoteProtocolError"}
        assert [kind for kind, count in report["injected"].items() if count] == ["rate_limit", "drop"]


class TestScope:
    def test_emulator_routes_are_never_faulted(self, emulator: EmulatorServer) -> None:
        emulator.set_faults(1.0, kinds=["drop"])
        for _ in range(5):
            assert httpx.get(emulator.root_url + "/_emulator/stats").status_code == 200
            assert httpx.get(emulator.root_url + "/_emulator/faults").status_code == 200
        assert httpx.delete(emulator.root_url + "/_emulator/stats").status_code == 200
        assert emulator.stats() == {"total": 0, "writes": 0, "by_route": {}}

    def test_stats_count_faulted_requests_and_faults_by_kind(self, emulator: EmulatorServer) -> None:
        emulator.set_faults(1.0, kinds=["server_error"])
        with httpx.Client(base_url=emulator.base_url, headers=AUTH) as client:
            client.get("/ai/assistants")
            client.post("/ai/assistants", json=MINIMAL)
        assert httpx.get(emulator.root_url + "/_emulator/stats").json() == {
            "total": 2,
            "writes": 1,
            "by_route": {"GET /v2/ai/assistants": 1, "POST /v2/ai/assistants": 1},
            "faults": {"server_error": 2},
        }
        emulator.reset_stats()
        assert emulator.stats() == {"total": 0, "writes": 0, "by_route": {}}
        assert emulator.faults()["injected"] == NO_INJECTIONS


class TestRuntimeControl:
    def test_seed_fault_free_then_switch_on_and_off(self, emulator: EmulatorServer, http: httpx.Client) -> None:
        assert http.post("/ai/assistants", json=MINIMAL).status_code == 200
        emulator.set_faults(1.0, kinds=["rate_limit"])
        assert http.get("/ai/assistants").status_code == 429
        emulator.set_faults(0.0)
        response = http.get("/ai/assistants")
        assert (response.status_code, len(response.json()["data"])) == (200, 1)

    def test_get_reports_settings_and_counts(self, emulator: EmulatorServer) -> None:
        assert httpx.get(emulator.root_url + "/_emulator/faults").json() == {
            "rate": 0.0,
            "seed": 0,
            "kinds": list(FAULT_KINDS),
            "latency_ms": 0,
            "retry_after_s": 1.0,
            "token_bucket": None,
            "injected": NO_INJECTIONS,
        }

    def test_put_switches_faults(self, emulator: EmulatorServer, http: httpx.Client) -> None:
        settings = {"rate": 1, "seed": 9, "kinds": ["drop", "rate_limit"], "latency_ms": 1, "retry_after_s": 0.5}
        response = httpx.put(emulator.root_url + "/_emulator/faults", json=settings)
        expected = {
            "rate": 1.0,
            "seed": 9,
            "kinds": ["rate_limit", "drop"],  # canonical order
            "latency_ms": 1,
            "retry_after_s": 0.5,
            "token_bucket": None,
            "injected": NO_INJECTIONS,
        }
        assert (response.status_code, response.json()) == (200, expected)
        assert {outcome(http, "GET", "/ai/assistants") for _ in range(10)} == {429, "RemoteProtocolError"}
        report = httpx.get(emulator.root_url + "/_emulator/faults").json()
        assert sum(report["injected"].values()) == 10
        off = httpx.put(emulator.root_url + "/_emulator/faults", json={"rate": 0})
        assert off.json()["rate"] == 0.0
        assert off.json()["latency_ms"] == 1  # kept when not sent
        assert off.json()["retry_after_s"] == 0.5
        assert off.json()["seed"] == 0  # back to the default
        assert http.get("/ai/assistants").status_code == 200

    @pytest.mark.parametrize(
        ("settings", "detail"),
        [
            ({"seed": 1}, "send a JSON object with rate and optionally seed, latency_ms, kinds, retry_after_s"),
            ({"rate": 1.5}, "fault_rate must be between 0 and 1, got 1.5"),
            ({"rate": "0.5"}, "fault_rate must be between 0 and 1, got '0.5'"),
            ({"rate": 0.5, "kinds": ["boom"]}, "unknown fault kinds ['boom']; known: " + str(list(FAULT_KINDS))),
            ({"rate": 0.5, "kinds": []}, "kinds must name at least one fault kind (use rate 0 for none)"),
            ({"rate": 0.5, "latency_ms": -1}, "latency_ms must be a non-negative integer, got -1"),
            ({"rate": 0.5, "retry_after_s": 0}, "retry_after_s must be above 0 and at most 60, got 0"),
            ({"rate": 0.5, "jitter": 1}, "unknown fault settings ['jitter']; known: " + str(
                ["kinds", "latency_ms", "rate", "retry_after_s", "seed", "token_bucket"])),
            ({"rate": 0, "token_bucket": {"per_s": 0}},
             "rate_limit must be above 0 and at most 100000 requests per second, got 0"),
            ({"rate": 0, "token_bucket": {"burst": 5}},
             "token_bucket must be null or an object with per_s and optionally burst"),
            ({"rate": 0, "token_bucket": {"per_s": 5, "burst": 0}}, "burst must be between 1 and 1000000, got 0"),
        ],
    )
    def test_put_refuses_bad_settings(self, emulator: EmulatorServer, settings: dict[str, Any], detail: str) -> None:
        response = httpx.put(emulator.root_url + "/_emulator/faults", json=settings)
        assert (response.status_code, response.json()) == (
            400,
            {"errors": [{"code": "10015", "title": "Bad Request", "detail": detail}]},
        )
        assert emulator.faults()["rate"] == 0.0

    def test_constructor_refuses_bad_settings(self) -> None:
        with pytest.raises(ValueError, match=r"fault_rate must be between 0 and 1, got 1\.5"):
            EmulatorServer(fault_rate=1.5)
        with pytest.raises(ValueError, match=r"unknown fault kinds \['nope'\]"):
            EmulatorServer(fault_rate=0.5, fault_kinds=["nope"])


class TestCli:
    def test_emulator_command_serves_faults_like_the_library(self) -> None:
        command = [str(Path(sys.executable).parent / "reconciler"), "emulator", "--fault-rate", "0.5", "--seed", "3",
                   "--port", "0"]
        process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        try:
            assert process.stderr is not None
            line = process.stderr.readline()
            assert line.startswith("Telnyx emulator listening on http://127.0.0.1:"), line
            base_url = line.split()[4]
            with httpx.Client(base_url=base_url, headers=AUTH) as client:
                served = mixed_outcomes(client, 10)
        finally:
            process.terminate()
            process.wait(timeout=10)
        assert fresh_outcomes(10, fault_rate=0.5, seed=3)[0] == served
        assert process.returncode == 0
        assert len(set(served)) > 1

    def test_emulator_command_refuses_a_rate_above_one(self) -> None:
        command = [str(Path(sys.executable).parent / "reconciler"), "emulator", "--fault-rate", "2", "--port", "0"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=30)
        assert result.returncode == 1  # a usage error: 2 is reserved for changes and drift
        assert "--fault-rate" in result.stderr


class TestClientSurvives:
    @staticmethod
    def client(emulator: EmulatorServer) -> TelnyxClient:
        return TelnyxClient(
            emulator.base_url, TEST_API_KEY, backoff_base=0.001, sleep=lambda s: None, max_retries=8, timeout=5
        )

    def test_list_survives_rate_limits_server_errors_and_drops(self, emulator: EmulatorServer) -> None:
        with httpx.Client(base_url=emulator.base_url, headers=AUTH) as http:
            ids = [http.post("/ai/assistants", json={**MINIMAL, "name": f"a{i}"}).json()["id"] for i in range(3)]
        emulator.reset_stats()
        emulator.set_faults(0.5, seed=4, kinds=["rate_limit", "server_error", "drop"])
        with self.client(emulator) as client:
            for _ in range(10):
                assert sorted(a["id"] for a in client.list_assistants()) == sorted(ids)
        injected = emulator.faults()["injected"]
        assert all(injected[kind] > 0 for kind in ("rate_limit", "server_error", "drop")), injected
        assert emulator.stats()["total"] == 10 + sum(injected.values())

    def test_idempotent_create_survives_a_lost_response(self, emulator: EmulatorServer) -> None:
        emulator.set_faults(1.0, kinds=["lost_response"])
        # The first attempt commits and loses its answer; the backoff turns faults off before the retry.
        with TelnyxClient(emulator.base_url, TEST_API_KEY, sleep=lambda s: emulator.set_faults(0.0)) as client:
            created = client.create_assistant(MINIMAL, idempotency_key="once")
        assert list(emulator.store.assistants) == [created["id"]]
        assert emulator.stats()["by_route"] == {"POST /v2/ai/assistants": 2}
        assert emulator.stats()["faults"] == {"lost_response": 1}

    def test_a_plain_post_with_a_lost_response_is_reported_as_unknown(self, emulator: EmulatorServer) -> None:
        with httpx.Client(base_url=emulator.base_url, headers=AUTH) as http:
            assistant_id = http.post("/ai/assistants", json=MINIMAL).json()["id"]
        emulator.set_faults(1.0, kinds=["lost_response"])
        with self.client(emulator) as client, pytest.raises(ApiUnavailable, match="outcome unknown"):
            client.update_assistant(assistant_id, {"greeting": "hi"})
        emulator.set_faults(0.0)
        with httpx.Client(base_url=emulator.base_url, headers=AUTH) as http:
            versions = http.get(f"/ai/assistants/{assistant_id}/versions").json()["data"]
        assert len(versions) == 2  # the update committed although the client never heard back
        assert emulator.stats()["faults"] == {"lost_response": 1}


def test_drop_does_not_leave_the_server_stuck() -> None:
    """After many drops the server still answers promptly on fresh and pooled connections."""
    with EmulatorServer(fault_rate=1.0, fault_kinds=["drop"]) as server:
        with httpx.Client(base_url=server.base_url, headers=AUTH) as client:
            for _ in range(20):
                assert outcome(client, "POST", "/ai/assistants", json=MINIMAL) == "RemoteProtocolError"
            server.set_faults(0.0)
            started = time.monotonic()
            assert client.get("/ai/assistants").json() == {"data": []}
        assert time.monotonic() - started < 2
