"""Response bodies decoded as they arrive: the same values as ``json.loads``, whatever the chunking,
and a cut or garbled body is a retry or a clear error, never a partial list.

The client is exercised against a small raw HTTP server here, because the emulator always sends
whole, valid bodies: this server can cut one off halfway or answer with text.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.api.client import TelnyxClient
from reconciler.api.json_body import STREAMING, NotJson, StreamRefused, TooDeep, decode_json, loads_json
from reconciler.errors import ApiError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63) + 1, 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


def chunked(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(body)) for c in cuts})
    edges = [0, *points, len(body)]
    return [body[a:b] for a, b in itertools.pairwise(edges)]


def test_the_compiled_parser_is_installed() -> None:
    # Without it bodies are read whole again: correct, but the memory saving is gone.
    assert STREAMING


# Within what yajl parses (|n| < 2**63): beyond it the client reads the body again whole, tested below.
@settings(max_examples=200, deadline=None)
@given(value=json_values, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=6))
def test_any_chunking_decodes_to_what_json_loads_gives(value: Any, cuts: list[int]) -> None:
    body = json.dumps(value, ensure_ascii=False).encode()
    assert decode_json(chunked(body, cuts)) == json.loads(body)


def test_a_chunk_boundary_inside_a_multibyte_character_and_a_long_string() -> None:
    body = json.dumps({"data": [{"instructions": "é€😀" * 5000}]}, ensure_ascii=False).encode()
    assert decode_json(body[i : i + 7] for i in range(0, len(body), 7)) == json.loads(body)


@pytest.mark.parametrize("chunks", [[], [b""], [b"", b"  \n"], [b"\r\n"]])
def test_an_empty_body_is_none(chunks: list[bytes]) -> None:
    assert decode_json(chunks) is None


@pytest.mark.parametrize("body", [b"[1] [2]", b'{"data": [', b"nope", b'{"a": 1}}', b"[1,]"])
def test_anything_but_one_json_value_is_refused(body: bytes) -> None:
    with pytest.raises(NotJson):
        decode_json([body])


@pytest.mark.parametrize("body", [b"-9223372036854775808", b'{"n": 92233720368547758070}', b"[1e400]"])
def test_numbers_only_the_streaming_parser_refuses_are_left_to_json_loads(body: bytes) -> None:
    with pytest.raises(StreamRefused):
        decode_json([body])
    assert loads_json(body) == json.loads(body)


# -- the client against a server that misbehaves ---------------------------------------------------

ASSISTANTS = {"data": [{"id": f"assistant-{i}", "name": f"a{i}", "instructions": "x" * 4000} for i in range(50)]}


class RawServer:
    """Answers each GET with the next scripted (status, content type, body, bytes actually sent)."""

    def __init__(self, script: list[tuple[int, str, bytes, int]]) -> None:
        self.script = list(script)
        self.requests = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.script:
            conn, _ = self.sock.accept()
            with conn:
                while self.script and self._answer(conn):
                    pass

    def _answer(self, conn: socket.socket) -> bool:
        """One exchange on a kept-alive connection; False once the connection is closed."""
        request = b""
        while b"\r\n\r\n" not in request:
            data = conn.recv(65536)
            if not data:
                return False
            request += data
        self.requests += 1
        status, kind, body, sent = self.script.pop(0)
        head = (
            f"HTTP/1.1 {status} X\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        conn.sendall(head + body[:sent])
        return sent == len(body)  # a cut body ends the connection mid-way

    def close(self) -> None:
        self.sock.close()


def client_for(server: RawServer) -> TelnyxClient:
    return TelnyxClient(f"http://127.0.0.1:{server.port}/v2", "test-key", backoff_base=0.0, max_connections=1)


def test_a_body_cut_off_halfway_is_read_again_not_returned_in_part() -> None:
    body = json.dumps(ASSISTANTS).encode()
    server = RawServer([(200, "application/json", body, len(body) // 2), (200, "application/json", body, len(body))])
    try:
        with client_for(server) as client:
            items = client.list_assistants()
    finally:
        server.close()
    assert items == ASSISTANTS["data"]
    assert server.requests == 2


def test_a_body_the_streaming_parser_refuses_is_read_again_whole() -> None:
    body = b'{"data": [{"id": "assistant-1", "name": "big", "counter": 92233720368547758070}]}'
    server = RawServer([(200, "application/json", body, len(body))] * 2)
    try:
        with client_for(server) as client:
            items = client.list_assistants()
            assert client.request_count == 2
    finally:
        server.close()
    assert items == json.loads(body)["data"]
    assert server.requests == 2


def test_a_body_that_is_not_json_is_a_clear_error() -> None:
    page = (200, "text/html", b"<html>maintenance</html>", 24)
    server = RawServer([page, page])  # the streaming parser refuses it, json.loads has the last word
    try:
        with client_for(server) as client, pytest.raises(ApiError) as raised:
            client.list_assistants()
    finally:
        server.close()
    assert str(raised.value).startswith("GET /ai/assistants")
    assert "the response is not JSON" in str(raised.value)
    assert server.requests == 2


def _pieces(body: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_a_large_list_decodes_from_small_pieces() -> None:
    body = json.dumps(ASSISTANTS).encode()
    assert decode_json(_pieces(body, 1000)) == ASSISTANTS


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


@settings(max_examples=200, deadline=None)
@given(value=json_values, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=6))
def test_the_depth_guard_counts_nesting_like_the_value_has_whatever_the_chunking(
    value: Any, cuts: list[int]
) -> None:
    """Brackets and escaped quotes inside strings never count; a limit equal to the depth passes."""
    body = json.dumps(value, ensure_ascii=False).encode()
    depth = _depth(value)
    assert decode_json(chunked(body, cuts), max_depth=depth) == json.loads(body)
    if depth:
        with pytest.raises(TooDeep, match=rf"^nesting is deeper than {depth - 1} levels$"):
            decode_json(chunked(body, cuts), max_depth=depth - 1)


@pytest.mark.parametrize("text", ['"[[[["', '"\\\\"', '"\\"[["', '"a\\\\\\"{"'])
def test_brackets_in_strings_and_escapes_do_not_count(text: str) -> None:
    body = f'[{text}, {{"k{text[1:-1]}": [{text}]}}]'.encode()  # three levels
    for size in range(1, 6):
        pieces = [body[i : i + size] for i in range(0, len(body), size)]
        assert decode_json(pieces, max_depth=3) == json.loads(body)
        with pytest.raises(TooDeep):
            decode_json(pieces, max_depth=2)


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(st.text(alphabet='\\"[]{}a', max_size=12), min_size=1, max_size=4),
       size=st.integers(min_value=1, max_value=9))
def test_runs_of_backslashes_and_quotes_cut_anywhere_never_count(texts: list[str], size: int) -> None:
    """Escapes are paired left to right across chunk boundaries (a run of backslashes split in two)."""
    value: Any = [texts, {text: [text] for text in texts}]  # three levels
    body = json.dumps(value).encode()
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    assert decode_json(pieces, max_depth=3) == value
    with pytest.raises(TooDeep):
        decode_json(pieces, max_depth=2)


def test_four_hundred_thousand_brackets_stop_at_the_limit() -> None:
    with pytest.raises(TooDeep, match=r"^nesting is deeper than 64 levels$"):
        decode_json([b"[" * 400_000])
    with pytest.raises(TooDeep):
        loads_json(b"[" * 400_000)
