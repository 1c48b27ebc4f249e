"""The emulator over raw HTTP: auth, error bodies, idempotency, the version cap, stats and persistence."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.emulator import EmulatorServer
from reconciler.emulator.state import read_state
from tests.conftest import AUTH

MINIMAL = {"name": "a", "instructions": "b"}


def create(http: httpx.Client, **fields: Any) -> dict[str, Any]:
    response = http.post("/ai/assistants", json={**MINIMAL, **fields})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class TestAuth:
    def test_missing_key_is_401_in_telnyx_shape(self, emulator: EmulatorServer) -> None:
        response = httpx.get(emulator.base_url + "/ai/assistants")
        assert response.status_code == 401
        assert response.json() == {
            "errors": [
                {
                    "code": "10009",
                    "title": "Authentication failed",
                    "detail": "Missing or malformed Authorization header; send 'Bearer <API key>'",
                }
            ]
        }

    @pytest.mark.parametrize(
        "header", ["Bearer", "Basic abc", "Token test-key-not-secret", "test-key-not-secret"]
    )
    def test_malformed_header_is_401(self, emulator: EmulatorServer, header: str) -> None:
        response = httpx.get(emulator.base_url + "/ai/assistants", headers={"Authorization": header})
        assert response.status_code == 401

    def test_wrong_key_is_401(self, emulator: EmulatorServer) -> None:
        response = httpx.post(
            emulator.base_url + "/ai/assistants", json=MINIMAL, headers={"Authorization": "Bearer other"}
        )
        assert response.status_code == 401
        assert response.json()["errors"][0]["detail"] == "The API key is not valid"
        assert emulator.store.assistants == {}

    def test_any_key_works_without_a_configured_key(self) -> None:
        with EmulatorServer() as server:
            response = httpx.get(server.base_url + "/ai/assistants", headers={"Authorization": "Bearer x"})
        assert response.status_code == 200
        assert response.json() == {"data": []}


class TestErrors:
    def test_unknown_assistant_is_404(self, http: httpx.Client) -> None:
        response = http.get("/ai/assistants/assistant-nope")
        assert response.status_code == 404
        assert response.json() == {
            "errors": [
                {
                    "code": "10005",
                    "title": "Resource not found",
                    "detail": "Assistant assistant-nope not found",
                }
            ]
        }

    def test_unknown_version_is_404(self, http: httpx.Client) -> None:
        assistant = create(http)
        response = http.get(f"/ai/assistants/{assistant['id']}/versions/v-nope")
        assert response.status_code == 404
        assert (
            response.json()["errors"][0]["detail"]
            == f"Version v-nope of assistant {assistant['id']} not found"
        )

    def test_unknown_route_is_404(self, http: httpx.Client) -> None:
        response = http.get("/ai/nothing-here")
        assert response.status_code == 404
        assert response.json()["errors"][0]["code"] == "10005"

    def test_schema_violation_is_422_with_loc(self, http: httpx.Client) -> None:
        body = {
            **MINIMAL,
            "tools": [{"type": "hangup", "hangup": {}}, {"type": "retrieval", "retrieval": {}}],
        }
        response = http.post("/ai/assistants", json=body)
        assert response.status_code == 422
        assert response.json() == {
            "detail": [
                {
                    "loc": ["body", "tools", 1, "retrieval", "bucket_ids"],
                    "msg": "Field required",
                    "type": "missing",
                }
            ]
        }

    def test_update_is_validated_too(self, http: httpx.Client) -> None:
        assistant = create(http)
        response = http.post(f"/ai/assistants/{assistant['id']}", json={"promote_to_main": "yes"})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "promote_to_main"]

    def test_non_json_body_is_422(self, http: httpx.Client) -> None:
        response = http.post(
            "/ai/assistants", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422
        assert response.json() == {
            "detail": [{"loc": ["body", 1], "msg": "JSON decode error", "type": "json_invalid"}]
        }

    def test_empty_body_is_422(self, http: httpx.Client) -> None:
        response = http.post("/ai/assistants", content=b"")
        assert response.status_code == 422
        assert response.json() == {"detail": [{"loc": ["body"], "msg": "Field required", "type": "missing"}]}

    def test_bad_hard_delete_flag_is_422(self, http: httpx.Client) -> None:
        assistant = create(http)
        response = http.delete(f"/ai/assistants/{assistant['id']}", params={"hard_delete": "maybe"})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "hard_delete"]


class TestIdempotency:
    def test_same_key_replays_first_response(self, http: httpx.Client, emulator: EmulatorServer) -> None:
        headers = {"Idempotency-Key": "create-a-1"}
        first = http.post("/ai/assistants", json=MINIMAL, headers=headers)
        again = http.post("/ai/assistants", json={**MINIMAL, "name": "different"}, headers=headers)
        assert first.status_code == again.status_code == 200
        assert again.json() == first.json()
        assert len(http.get("/ai/assistants").json()["data"]) == 1

    def test_different_keys_create_twice(self, http: httpx.Client) -> None:
        http.post("/ai/assistants", json=MINIMAL, headers={"Idempotency-Key": "k1"})
        http.post("/ai/assistants", json=MINIMAL, headers={"Idempotency-Key": "k2"})
        assert len(http.get("/ai/assistants").json()["data"]) == 2

    def test_a_refused_create_replays_its_refusal(self, http: httpx.Client) -> None:
        headers = {"Idempotency-Key": "bad-1"}
        first = http.post("/ai/assistants", json={"name": "a"}, headers=headers)
        again = http.post("/ai/assistants", json=MINIMAL, headers=headers)
        assert first.status_code == again.status_code == 422
        assert again.json() == first.json()
        assert http.get("/ai/assistants").json() == {"data": []}

    def test_concurrent_retries_create_once(self, http: httpx.Client, emulator: EmulatorServer) -> None:
        headers = {**AUTH, "Idempotency-Key": "race"}

        def post(_: int) -> tuple[int, str]:
            response = httpx.post(emulator.base_url + "/ai/assistants", json=MINIMAL, headers=headers)
            return response.status_code, response.json()["id"]

        with ThreadPoolExecutor(8) as pool:  # unlike bare threads, map() re-raises a failed request here
            results = list(pool.map(post, range(8)))
        assert [status for status, _ in results] == [200] * 8
        assert len({assistant_id for _, assistant_id in results}) == 1
        assert len(emulator.store.assistants) == 1


class TestVersionCap:
    def versions(self, http: httpx.Client, assistant_id: str) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = http.get(f"/ai/assistants/{assistant_id}/versions").json()["data"]
        return data

    def test_at_most_ten_versions_oldest_evicted(self, http: httpx.Client) -> None:
        assistant = create(http, instructions="v0")
        for n in range(1, 12):
            http.post(f"/ai/assistants/{assistant['id']}", json={"instructions": f"v{n}"}).raise_for_status()
        kept = self.versions(http, assistant["id"])
        assert [v["instructions"] for v in kept] == [f"v{n}" for n in range(11, 1, -1)]

    def test_main_is_never_evicted(self, http: httpx.Client) -> None:
        """Eleven non-promoted candidates: the oldest candidates go, main (the first version) stays."""
        assistant = create(http, instructions="main")
        for n in range(1, 12):
            body = {"instructions": f"c{n}", "promote_to_main": False}
            http.post(f"/ai/assistants/{assistant['id']}", json=body).raise_for_status()
        kept = self.versions(http, assistant["id"])
        assert len(kept) == 10
        assert [v["instructions"] for v in kept] == [f"c{n}" for n in range(11, 2, -1)] + ["main"]
        assert http.get(f"/ai/assistants/{assistant['id']}").json()["version_id"] == assistant["version_id"]

    def test_canary_targets_are_never_evicted(self, http: httpx.Client, emulator: EmulatorServer) -> None:
        """Versions named by the canary config (pinned or in a rollout) survive eviction."""
        assistant = create(http, instructions="v0")
        ids = []
        for n in range(1, 3):
            body = {"instructions": f"c{n}", "promote_to_main": False}
            ids.append(http.post(f"/ai/assistants/{assistant['id']}", json=body).json()["version_id"])
        emulator.store.assistants[assistant["id"]].canary = {
            "rules": [
                {
                    "match": [{"attribute": "x", "operator": "in", "values": ["1"]}],
                    "serve": {"version_id": ids[0]},
                },
                {"match": [], "serve": {"rollout": [{"version_id": ids[1], "weight": 10}]}},
            ]
        }
        for n in range(3, 13):
            http.post(f"/ai/assistants/{assistant['id']}", json={"instructions": f"v{n}"}).raise_for_status()
        kept = [v["instructions"] for v in self.versions(http, assistant["id"])]
        assert kept == [f"v{n}" for n in range(12, 4, -1)] + ["c2", "c1"]

    def test_promote_clears_the_canary(self, http: httpx.Client, emulator: EmulatorServer) -> None:
        assistant = create(http)
        candidate = http.post(f"/ai/assistants/{assistant['id']}", json={"promote_to_main": False}).json()
        record = emulator.store.assistants[assistant["id"]]
        record.canary = {"rules": [{"serve": {"version_id": candidate["version_id"]}}]}
        response = http.post(f"/ai/assistants/{assistant['id']}/versions/{candidate['version_id']}/promote")
        assert response.status_code == 200
        assert response.json()["version_id"] == candidate["version_id"]
        assert record.canary is None

    def test_refusals_for_main(self, http: httpx.Client) -> None:
        assistant = create(http)
        path = f"/ai/assistants/{assistant['id']}/versions/{assistant['version_id']}"
        update = http.post(path, json={"greeting": "x"})
        delete = http.delete(path)
        assert (update.status_code, delete.status_code) == (400, 400)
        assert update.json()["errors"][0]["code"] == "10015"
        assert delete.json()["errors"][0]["detail"] == (
            f"Version {assistant['version_id']} is the main version and cannot be deleted"
        )

    def test_version_delete_is_204_without_body(self, http: httpx.Client) -> None:
        assistant = create(http)
        candidate = http.post(f"/ai/assistants/{assistant['id']}", json={"promote_to_main": False}).json()
        response = http.delete(f"/ai/assistants/{assistant['id']}/versions/{candidate['version_id']}")
        assert (response.status_code, response.content) == (204, b"")


class TestStats:
    def test_counts_by_method_and_route_template(self, http: httpx.Client, emulator: EmulatorServer) -> None:
        assistant = create(http)
        http.get(f"/ai/assistants/{assistant['id']}")
        http.get(f"/ai/assistants/{assistant['id']}")
        http.post(f"/ai/assistants/{assistant['id']}", json={"greeting": "x"})
        http.get("/ai/assistants")
        httpx.get(emulator.base_url + "/ai/assistants")  # 401s are requests too
        stats = httpx.get(emulator.root_url + "/_emulator/stats").json()
        assert stats == {
            "total": 6,
            "writes": 2,
            "by_route": {
                "GET /v2/ai/assistants": 2,
                "GET /v2/ai/assistants/{assistant_id}": 2,
                "POST /v2/ai/assistants": 1,
                "POST /v2/ai/assistants/{assistant_id}": 1,
            },
        }
        assert emulator.stats() == stats

    def test_reset(self, http: httpx.Client, emulator: EmulatorServer) -> None:
        create(http)
        reset = httpx.delete(emulator.root_url + "/_emulator/stats")
        assert reset.json() == {"total": 0, "writes": 0, "by_route": {}}
        http.get("/ai/assistants")
        assert emulator.stats()["total"] == 1
        emulator.reset_stats()
        assert emulator.stats() == {"total": 0, "writes": 0, "by_route": {}}


class TestPersistence:
    def test_each_write_saves_the_state_file_once_and_a_replay_not_at_all(self, tmp_path: Path) -> None:
        with EmulatorServer(state_file=tmp_path / "state.json") as server, httpx.Client(
            base_url=server.base_url, headers=AUTH
        ) as client:
            keyed = {"Idempotency-Key": "once"}
            created = client.post("/ai/assistants", json=MINIMAL, headers=keyed)
            assert (created.status_code, server.store.saves) == (200, 1)
            replay = client.post("/ai/assistants", json=MINIMAL, headers=keyed)
            assert (replay.json(), server.store.saves) == (created.json(), 1)
            client.get("/ai/assistants").raise_for_status()
            assert server.store.saves == 1
            imported = client.post("/ai/assistants/import", json={"provider": "vapi", "api_key_ref": "provider_key"})
            assert (len(imported.json()["data"]), server.store.saves) == (3, 2)
            # saved after the import (in the journal beside the state file: read_state reads both)
            assert len(read_state(tmp_path / "state.json")["assistants"]) == 4

    def test_state_survives_restart(self, tmp_path: Path) -> None:
        state = tmp_path / "nested" / "state.json"
        with EmulatorServer(api_key="k", state_file=state) as first:
            client = httpx.Client(base_url=first.base_url, headers={"Authorization": "Bearer k"})
            created = client.post("/ai/assistants", json=MINIMAL, headers={"Idempotency-Key": "once"}).json()
            client.post(f"/ai/assistants/{created['id']}", json={"greeting": "hi", "promote_to_main": False})
            client.close()
        assert json.loads(state.read_text())["format"] == 1
        # no temp files left behind; the lock file stays so a later emulator locks the same inode
        assert sorted(p.name for p in state.parent.iterdir()) == ["state.json", "state.json.lock"]
        with EmulatorServer(api_key="k", state_file=state) as second:
            client = httpx.Client(base_url=second.base_url, headers={"Authorization": "Bearer k"})
            assert client.get(f"/ai/assistants/{created['id']}").json() == created
            assert len(client.get(f"/ai/assistants/{created['id']}/versions").json()["data"]) == 2
            replay = client.post("/ai/assistants", json=MINIMAL, headers={"Idempotency-Key": "once"})
            assert replay.json() == created
            assert len(client.get("/ai/assistants").json()["data"]) == 1
            client.close()

    def test_soft_delete_keeps_the_record_hard_delete_does_not(self, tmp_path: Path) -> None:
        state = tmp_path / "state.json"
        with EmulatorServer(state_file=state) as server:
            client = httpx.Client(base_url=server.base_url, headers={"Authorization": "Bearer k"})
            soft = client.post("/ai/assistants", json=MINIMAL).json()["id"]
            hard = client.post("/ai/assistants", json=MINIMAL).json()["id"]
            client.delete(f"/ai/assistants/{soft}").raise_for_status()
            client.delete(f"/ai/assistants/{hard}", params={"hard_delete": "true"}).raise_for_status()
            client.close()
        document = json.loads(state.read_text())
        assert document["assistants"] == []
        assert [a["id"] for a in document["deleted_assistants"]] == [soft]


class TestConfiguration:
    def test_latency_is_added(self) -> None:
        with EmulatorServer(latency_ms=150) as server:
            response = httpx.get(server.base_url + "/ai/assistants", headers={"Authorization": "Bearer k"})
        assert response.status_code == 200
        assert response.elapsed.total_seconds() >= 0.15

    def test_stop_leaves_no_thread(self) -> None:
        before = set(threading.enumerate())
        server = EmulatorServer().start()
        server.stop()
        server.stop()
        assert set(threading.enumerate()) == before
