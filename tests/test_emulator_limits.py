"""The emulator's own edges: a body limit, depth-safe parsing, one emulator per state file, and a
damaged state file refused with a message (by ``reconciler emulator`` and by ``--local``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reconciler.emulator import EmulatorServer
from reconciler.emulator.app import MAX_BODY_BYTES
from reconciler.emulator.state import StateFileError
from tests.conftest import AUTH
from tests.helpers import QUICKSTART, run_cli

SCRIPT = Path(sys.executable).parent / "reconciler"


def streamed_past_the_limit(start: bytes) -> Iterator[bytes]:
    """A JSON body in 64 KiB chunks (no Content-Length) whose string runs past ``MAX_BODY_BYTES``."""
    yield start + b'"'
    for _ in range(MAX_BODY_BYTES // 65536 + 2):
        yield b"x" * 65536
    yield b'"}'


class TestBodies:
    def test_a_body_over_the_limit_is_413_and_changes_nothing(self, tmp_path: Path) -> None:
        state = tmp_path / "state.json"
        with EmulatorServer(state_file=state) as server, httpx.Client(base_url=server.base_url,
                                                                       headers=AUTH) as client:
            body = b'{"name": "big", "instructions": "' + b"x" * (MAX_BODY_BYTES + 10) + b'"}'
            response = client.post("/ai/assistants", content=body, headers={"Content-Type": "application/json"})
            assert response.status_code == 413
            assert response.json() == {"errors": [{"code": "10013", "title": "Payload Too Large",
                                                   "detail": "the request body is larger than 2097152 bytes"}]}
            assert client.get("/ai/assistants").json()["data"] == []
            assert server.store.saves == 0

    def test_a_streamed_body_over_the_limit_is_413(self, emulator: EmulatorServer) -> None:
        chunks = streamed_past_the_limit(b'{"name": "big", "instructions": ')
        with httpx.Client(base_url=emulator.base_url, headers=AUTH) as client:
            response = client.post("/ai/assistants", content=chunks, headers={"Content-Type": "application/json"})
        assert response.status_code == 413

    def test_a_100k_deep_body_is_422_not_500(self, emulator: EmulatorServer) -> None:
        body = b'{"name": "deep", "instructions": "x", "dynamic_variables": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        with httpx.Client(base_url=emulator.base_url, headers=AUTH) as client:
            response = client.post("/ai/assistants", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 422
        assert response.json() == {"detail": [{"loc": ["body"], "msg": "JSON nesting is deeper than 64 levels",
                                               "type": "json_invalid"}]}


class TestFaultSettingsBody:
    """``PUT /_emulator/faults`` is outside /v2 but reads its body with the same limits."""

    def test_a_body_over_the_limit_is_413_and_changes_nothing(self, emulator: EmulatorServer) -> None:
        body = b'{"rate": 1, "pad": "' + b"x" * MAX_BODY_BYTES + b'"}'
        response = httpx.put(emulator.root_url + "/_emulator/faults", content=body)
        assert response.status_code == 413
        assert response.json() == {"errors": [{"code": "10013", "title": "Payload Too Large",
                                               "detail": "the request body is larger than 2097152 bytes"}]}
        assert emulator.faults()["rate"] == 0.0

    def test_a_streamed_body_over_the_limit_is_413(self, emulator: EmulatorServer) -> None:
        chunks = streamed_past_the_limit(b'{"rate": 1, "pad": ')
        response = httpx.put(emulator.root_url + "/_emulator/faults", content=chunks)
        assert response.status_code == 413
        assert emulator.faults()["rate"] == 0.0

    def test_a_100k_deep_body_is_400_not_500(self, emulator: EmulatorServer) -> None:
        body = b'{"rate": 1, "kinds": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        response = httpx.put(emulator.root_url + "/_emulator/faults", content=body)
        assert (response.status_code, response.json()) == (400, {"errors": [{
            "code": "10015", "title": "Bad Request", "detail": "JSON nesting is deeper than 64 levels"}]})
        assert emulator.faults()["rate"] == 0.0

    def test_a_body_that_is_not_json_is_still_400(self, emulator: EmulatorServer) -> None:
        response = httpx.put(emulator.root_url + "/_emulator/faults", content=b"{rate")
        assert response.status_code == 400
        assert response.json()["errors"][0]["detail"] == (
            "send a JSON object with rate and optionally seed, latency_ms, kinds, retry_after_s")


class TestStateFile:
    def test_a_second_emulator_on_one_state_file_fails_at_start(self, tmp_path: Path) -> None:
        state = tmp_path / "state.json"
        with EmulatorServer(state_file=state), pytest.raises(StateFileError, match=r"in use by another emulator"):
            EmulatorServer(state_file=state)
        with EmulatorServer(state_file=state):  # released on stop
            pass

    def test_a_closed_emulator_leaves_the_lock_file_so_two_later_ones_still_exclude_each_other(
        self, tmp_path: Path
    ) -> None:
        """Deleting the lock file on close let a third emulator lock a new file while a second held the old one."""
        state = tmp_path / "state.json"
        with EmulatorServer(state_file=state):
            pass
        assert (tmp_path / "state.json.lock").exists()
        with EmulatorServer(state_file=state), pytest.raises(StateFileError, match=r"in use by another emulator"):
            EmulatorServer(state_file=state)

    def test_a_fifo_as_state_file_is_a_message_not_a_hang(self, tmp_path: Path) -> None:
        state = tmp_path / "state.json"
        os.mkfifo(state)
        with pytest.raises(StateFileError, match=r"cannot read the state file: not a regular file: it is a named pipe"):
            EmulatorServer(state_file=state)

    def test_the_emulator_command_refuses_a_state_file_in_use(self, tmp_path: Path) -> None:
        state = tmp_path / "state.json"
        with EmulatorServer(state_file=state):
            result = subprocess.run([str(SCRIPT), "emulator", "--port", "0", "--state", str(state)],
                                    capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 1
        assert result.stderr == (f"Error: {state} is in use by another emulator (locked through state.json.lock)\n")

    @pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"format": 1, "assistants": [{"no": "id"}]}'])
    def test_a_damaged_state_file_is_a_message(self, content: str, tmp_path: Path) -> None:
        state = tmp_path / "state.json"
        state.write_text(content)
        result = subprocess.run([str(SCRIPT), "emulator", "--port", "0", "--state", str(state)],
                                capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 1
        assert result.stderr.startswith(f"Error: {state}: ")
        assert "Traceback" not in result.stderr

    def test_a_damaged_local_state_is_a_message(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(tmp_path)
        (tmp_path / ".reconciler").mkdir()
        (tmp_path / ".reconciler" / "local-state.json").write_text("{not json")
        result = run_cli(["plan", str(QUICKSTART), "--local"])
        assert result.exit_code == 1
        assert result.stderr == ("Error: --local: .reconciler/local-state.json: not an emulator state file "
                                 "(JSONDecodeError); move it away to start empty\n")
