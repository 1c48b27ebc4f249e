"""The emulator's token bucket per API key, and the client backing off once per window of 429s."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import httpx
import pytest

from reconciler.api.client import TelnyxClient
from reconciler.api.throttle import AdaptiveLimit
from reconciler.emulator import EmulatorServer
from reconciler.emulator.ratelimit import TokenBuckets, parse_rate
from tests.helpers import API_KEY, REPO

MINIMAL = {"name": "a", "instructions": "b"}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class TestTokenBuckets:
    def test_a_key_gets_its_burst_then_one_token_per_interval(self) -> None:
        clock = Clock()
        buckets = TokenBuckets(clock)
        buckets.configure(10, burst=3)
        assert [buckets.take("k") for _ in range(3)] == [None, None, None]
        assert buckets.take("k") == pytest.approx(0.1)  # the next token in 1/10 s
        assert buckets.take("other") is None  # each key has its own bucket
        clock.now += 0.05
        assert buckets.take("k") == pytest.approx(0.05)
        clock.now += 0.05
        assert buckets.take("k") is None
        assert buckets.as_json() == {"per_s": 10.0, "burst": 3.0, "throttled": 2}
        buckets.configure(None)
        assert buckets.take("k") is None and buckets.as_json() is None

    @pytest.mark.parametrize(("text", "value"), [("20/s", 20.0), ("2.5", 2.5), (" 7 /s ", 7.0)])
    def test_rates_parse(self, text: str, value: float) -> None:
        assert parse_rate(text) == value

    @pytest.mark.parametrize("text", ["", "0/s", "fast", "-1/s", "10/min"])
    def test_bad_rates_are_refused(self, text: str) -> None:
        with pytest.raises(ValueError, match="rate"):
            parse_rate(text)


class TestEmulatorRateLimit:
    def test_an_empty_bucket_is_429_with_retry_after_and_changes_nothing(self) -> None:
        with (
            EmulatorServer(rate_limit=1) as server,
            httpx.Client(base_url=server.base_url, headers={"Authorization": "Bearer k"}) as http,
        ):
            assert http.post("/ai/assistants", json=MINIMAL).status_code == 200
            refused = http.post("/ai/assistants", json=MINIMAL)
            assert refused.status_code == 429
            assert refused.headers["Retry-After"] == "1"
            assert 0 < int(refused.headers["retry-after-ms"]) <= 1000
            assert refused.json()["errors"][0]["code"] == "10011"
            other = httpx.get(server.base_url + "/ai/assistants", headers={"Authorization": "Bearer other"})
            assert (other.status_code, len(other.json()["data"])) == (200, 1)  # another key, its own bucket
            assert server.faults()["token_bucket"] == {"per_s": 1.0, "burst": 1.0, "throttled": 1}

    def test_a_wrong_key_is_401_and_takes_no_bucket(self) -> None:
        """The bucket used to come before the key check: a wrong key got 429, and each bogus key a bucket."""
        with EmulatorServer(api_key="right-key-1", rate_limit=1) as server:
            url = server.base_url + "/ai/assistants"
            wrong = [httpx.get(url, headers={"Authorization": f"Bearer junk-{i}"}).status_code for i in range(20)]
            assert wrong == [401] * 20
            right = [httpx.get(url, headers={"Authorization": h}).status_code
                     for h in ("Bearer right-key-1", "bearer   right-key-1")]
            assert right == [200, 429]  # one key, one bucket, however the header is spaced
            assert len(server.app.faults.buckets._buckets) == 1

    def test_the_faults_control_turns_it_on_and_off(self, emulator: EmulatorServer) -> None:
        url = emulator.root_url + "/_emulator/faults"
        on = httpx.put(url, json={"rate": 0, "token_bucket": {"per_s": 0.5, "burst": 1}})
        assert on.json()["token_bucket"] == {"per_s": 0.5, "burst": 1.0, "throttled": 0}
        auth = {"Authorization": f"Bearer {API_KEY}"}
        codes = [httpx.get(emulator.base_url + "/ai/assistants", headers=auth).status_code for _ in range(3)]
        assert codes == [200, 429, 429]
        assert httpx.put(url, json={"rate": 0}).json()["token_bucket"]["throttled"] == 2  # absent: unchanged
        assert httpx.put(url, json={"rate": 0, "token_bucket": None}).json()["token_bucket"] is None
        assert httpx.get(emulator.base_url + "/ai/assistants", headers=auth).status_code == 200

    def test_the_emulator_command_takes_a_rate_limit(self) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "reconciler", "emulator", "--port", "0", "--rate-limit", "x"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode != 0
        assert "rate limit must read like 20/s (requests per second), got 'x'" in result.stderr


class TestOncePerWindow:
    def test_a_burst_of_429s_to_requests_sent_together_halves_once(self) -> None:
        limit = AdaptiveLimit(8)
        sent_in = limit.epoch
        for _ in range(8):  # eight requests in flight at the old pace, all answered 429
            limit.throttled(sent_in)
        assert limit.limit == 4  # the old code halved eight times, down to 1
        limit.throttled(limit.epoch)  # a request sent after the cut is throttled too: that is news
        assert limit.limit == 2

    def test_retry_after_holds_every_worker(self) -> None:
        clock = Clock()
        limit = AdaptiveLimit(8, clock)
        limit.throttled(limit.epoch, retry_after=0.5)
        assert limit.held_for() == pytest.approx(0.5)
        clock.now += 0.5
        assert limit.held_for() == 0.0

    def test_the_client_waits_out_another_workers_retry_after(self, emulator: EmulatorServer) -> None:
        slept: list[float] = []
        with TelnyxClient(emulator.base_url, API_KEY, sleep=slept.append) as client:
            client.limit.throttled(client.limit.epoch, retry_after=30)
            client.list_assistants()
        assert len(slept) == 1 and 29 < slept[0] <= 30


def test_creates_under_a_token_bucket_all_succeed() -> None:
    """Twenty creates at eight in flight against 10 requests a second, burst 2: none fails for good."""
    with EmulatorServer(rate_limit=10) as server:
        server.set_rate_limit(10, burst=2)
        errors: list[BaseException] = []
        with TelnyxClient(server.base_url, "k", max_connections=8) as client:

            def create(index: int) -> None:
                try:
                    client.create_assistant({"name": f"a{index}", "instructions": "b"})
                except BaseException as exc:
                    errors.append(exc)

            threads = [threading.Thread(target=create, args=(i,)) for i in range(20)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert errors == []
        assert len(server.store.assistants) == 20
        assert server.faults()["token_bucket"]["throttled"] > 0  # the limit was reached


def test_apply_under_a_token_bucket_of_burst_one_is_paced() -> None:
    """apply in its own process (as in benchmarks/ratelimit.py, so the emulator's clock is not shared with
    it) against 25 requests a second saved up one at a time: every write is made, and the pace keeps
    the 429s down. Without a pace the workers started in bursts and about two requests in three were
    refused (41 answers: 83 to 85 429s); with it about 20, most while the first pace is found."""
    names = [f"paced-{index:02d}" for index in range(40)]
    with tempfile.TemporaryDirectory() as tmp, EmulatorServer(api_key=API_KEY, latency_ms=20) as server:
        server.set_rate_limit(25, burst=1)
        for name in names:
            doc = {"apiVersion": "reconciler/v1", "kind": "Assistant", "name": name,
                   "spec": {"instructions": f"Help callers of {name}.", "model": "openai/gpt-4o"}}
            (Path(tmp) / f"{name}.yaml").write_text(json.dumps(doc), encoding="utf-8")
        result = subprocess.run(
            [sys.executable, "-m", "reconciler", "apply", tmp, "--yes", "--parallelism", "8",
             "--base-url", server.base_url, "--api-key", API_KEY],
            capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert len(server.store.assistants) == len(names)
        refused = server.faults()["token_bucket"]["throttled"]
        assert refused <= 40, f"{refused} requests answered 429"


def test_a_paced_request_tells_the_pacer_when_it_went_out() -> None:
    """The client reports when a paced request's last byte was written (httpcore's trace), once per
    request, and not for requests before there is a pace (review finding: nothing checked that the trace
    is attached and heard; the pacer itself is left as it is, only listened to)."""
    with EmulatorServer(api_key=API_KEY) as server, TelnyxClient(server.base_url, API_KEY) as client:
        pacer = client.limit.pacer
        heard: list[float] = []
        told = pacer.sent

        def listened(at: float) -> None:
            heard.append(at)
            told(at)

        pacer.sent = listened  # type: ignore[method-assign]
        client.list_assistants()
        assert heard == []  # no pace yet: nothing traced
        pacer.refused(None, 0.01)  # a pace of 100 a second, as after a first 429
        turn = pacer.due()
        client.list_assistants()
        assert len(heard) == 1 and turn is not None and heard[0] >= turn
