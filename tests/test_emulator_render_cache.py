"""The emulator's cached reads: every assistant, version and canary body is byte-for-byte what an uncached
render would answer, after any sequence of writes (state.py, ``StoreCore._rendered_entry``)."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.responses import JSONResponse

from reconciler.emulator.app import ApiGate, create_app
from reconciler.emulator.state import Tracked
from reconciler.emulator.store import Store
from tests.test_emulator_journal import every_kind_of_write


@dataclass
class Answer:
    status_code: int
    headers: dict[str, str]
    content: bytes
    text: str = ""

    def json(self) -> Any:
        return json.loads(self.content)


class Client:
    """Requests to the emulator's ASGI app in this thread, without sockets (a few hundred per test)."""

    def __init__(self, app: ApiGate) -> None:
        self.app = app

    def request(self, method: str, path: str, body: Any = None) -> Answer:
        raw = json.dumps(body).encode() if body is not None else b""
        path = "/v2" + path
        headers = [(b"authorization", b"Bearer render-cache"), (b"content-length", str(len(raw)).encode())]
        scope = {
            "type": "http", "http_version": "1.1", "method": method, "scheme": "http", "path": path,
            "raw_path": path.encode(), "root_path": "", "query_string": b"", "server": ("emulator", 80),
            "client": ("127.0.0.1", 1), "headers": headers,
        }  # fmt: skip
        start: dict[str, Any] = {}
        content = bytearray()

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": raw, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                content.extend(message.get("body", b""))

        asyncio.run(self.app(scope, receive, send))
        found = {k.decode(): v.decode() for k, v in start["headers"]}
        return Answer(start["status"], found, bytes(content), content.decode(errors="replace"))

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post(self, path: str, json: Any = None) -> Answer:
        return self.request("POST", path, json if json is not None else {})

    def put(self, path: str, json: Any = None) -> Answer:
        return self.request("PUT", path, json)

    def patch(self, path: str, json: Any = None) -> Answer:
        return self.request("PATCH", path, json)

    def delete(self, path: str) -> Answer:
        return self.request("DELETE", path)


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def client(store: Store) -> Client:
    return Client(create_app(store=store))


def uncached(store: Store) -> dict[str, bytes]:
    """Every cached route's body as the emulator answered before the cache: a JSONResponse of the render."""
    bodies = {"/ai/assistants": JSONResponse({"data": store.list_assistants()}).body}
    for assistant_id, assistant in store.assistants.items():
        path = f"/ai/assistants/{assistant_id}"
        bodies[path] = JSONResponse(store.get_assistant(assistant_id)).body
        bodies[path + "/versions"] = JSONResponse({"data": store.list_versions(assistant_id)}).body
        for version in assistant.versions:
            bodies[f"{path}/versions/{version.version_id}"] = JSONResponse(
                store.get_version(assistant_id, version.version_id)
            ).body
        if assistant.canary is not None:
            bodies[path + "/canary-deploys"] = JSONResponse(store.get_canary(assistant_id)).body
    return bodies


def check(client: Client, store: Store) -> int:
    """Read every cached route twice (the second from the cache) and compare with the uncached bodies."""
    expected = uncached(store)
    for _ in range(2):
        for path, body in expected.items():
            response = client.get(path)
            assert response.status_code == 200, (path, response.text)
            assert response.content == body, path
            assert response.headers["content-type"] == "application/json"
            assert response.headers["content-length"] == str(len(body))
    return len(expected)


def ok(response: Any) -> Any:
    assert response.status_code in (200, 201, 204), response.text
    return response.json() if response.content else None


def tool_body(name: str, kind: str = "webhook") -> dict[str, Any]:
    if kind == "webhook":
        return {"type": "webhook", "display_name": name, "webhook": {"name": name, "description": "d",
                "url": "https://example.com/hook"}}  # fmt: skip
    return {"type": kind, "display_name": name, kind: {"description": "end"}}


def test_reads_equal_uncached_renders_after_every_kind_of_write(client: Client, store: Store) -> None:
    """Each write is followed by a full read, so any body it should have invalidated is in the cache."""
    hook = ok(client.post("/ai/tools", json=tool_body("lookup")))["id"]
    hangup = ok(client.post("/ai/tools", json=tool_body("bye", "hangup")))["id"]
    first = ok(client.post("/ai/assistants", json={"name": "a", "instructions": "x" * 9000, "tool_ids": [hook]}))
    second = ok(client.post("/ai/assistants", json={"name": "b", "instructions": "é ✓ \u2028", "tags": ["t"]}))
    a, b = first["id"], second["id"]
    check(client, store)
    writes: list[Callable[[], Any]] = [
        lambda: client.post(f"/ai/assistants/{a}", json={"greeting": "hi", "promote_to_main": False}),
        lambda: client.post(f"/ai/assistants/{a}", json={"instructions": "promoted"}),
        lambda: client.post(f"/ai/assistants/{b}/tags", json={"tag": "new"}),
        lambda: client.delete(f"/ai/assistants/{b}/tags/t"),
        lambda: client.put(f"/ai/assistants/{b}/tools/{hook}"),
        lambda: client.put(f"/ai/assistants/{b}/tools/{hangup}"),
        lambda: client.patch(f"/ai/tools/{hook}", json={"display_name": "renamed", "timeout_ms": 900}),
        lambda: client.delete(f"/ai/assistants/{b}/tools/{hangup}"),
        lambda: client.post(f"/ai/assistants/{a}/versions/{first['version_id']}", json={"version_name": "old"}),
        lambda: client.post(
            f"/ai/assistants/{a}/canary-deploys",
            json={"rules": [{"serve": {"rollout": [{"version_id": first["version_id"], "weight": 5}]}}]},
        ),
        lambda: client.put(
            f"/ai/assistants/{a}/canary-deploys",
            json={"rules": [{"serve": {"version_id": first["version_id"]}}]},
        ),
        lambda: client.delete(f"/ai/tools/{hook}"),  # detached from every version of a and b
        lambda: client.post(f"/ai/assistants/{a}/versions/{first['version_id']}/promote"),  # clears the canary
        lambda: client.post("/ai/assistants/import", json={"provider": "vapi", "api_key_ref": "k"}),
        lambda: client.post("/ai/assistants/import", json={"provider": "vapi", "api_key_ref": "k"}),  # overwrite
        lambda: client.post(f"/ai/assistants/{a}", json={"tags": ["x"], "promote_to_main": False}),
        lambda: client.delete(f"/ai/assistants/{b}"),
    ]
    for write in writes:
        ok(write())
        check(client, store)


def test_failed_writes_leave_no_stale_body(client: Client, store: Store) -> None:
    hangup = ok(client.post("/ai/tools", json=tool_body("bye", "hangup")))["id"]
    made = ok(
        client.post(
            "/ai/assistants", json={"name": "a", "instructions": "i", "tools": [{"type": "hangup", "hangup": {}}]}
        )
    )
    check(client, store)
    assert client.put(f"/ai/assistants/{made['id']}/tools/{hangup}").status_code == 400  # a second hangup
    assert client.delete(f"/ai/assistants/{made['id']}/versions/{made['version_id']}").status_code == 400
    check(client, store)


def test_a_randomised_mix_of_writes(client: Client, store: Store) -> None:
    """150 seeded writes of every kind, a full comparison after each tenth and partial reads between."""
    rng = random.Random(18)
    tools = [ok(client.post("/ai/tools", json=tool_body(f"t{n}")))["id"] for n in range(3)]
    ids = [ok(client.post("/ai/assistants", json={"name": f"a{n}", "instructions": f"i{n}"}))["id"] for n in range(4)]

    def some_version(assistant_id: str) -> str:
        return str(rng.choice(store.assistants[assistant_id].versions).version_id)

    for step in range(150):
        if not ids:
            ids.append(ok(client.post("/ai/assistants", json={"name": "again", "instructions": "i"}))["id"])
        target = rng.choice(ids)
        path = f"/ai/assistants/{target}"
        kind = rng.randrange(12)
        if kind == 0:
            ids.append(
                ok(
                    client.post("/ai/assistants", json={"name": f"n{step}", "instructions": "i", "tool_ids": tools[:1]})
                )["id"]
            )
        elif kind == 1:
            client.post(path, json={"instructions": f"s{step}", "promote_to_main": rng.random() < 0.5})
        elif kind == 2:
            client.post(f"{path}/tags", json={"tag": rng.choice("abc")})
        elif kind == 3:
            client.delete(f"{path}/tags/{rng.choice('abc')}")
        elif kind == 4:
            client.put(f"{path}/tools/{rng.choice(tools)}")
        elif kind == 5:
            client.delete(f"{path}/tools/{rng.choice(tools)}")
        elif kind == 6:
            client.patch(f"/ai/tools/{rng.choice(tools)}", json={"display_name": f"d{step}"})
        elif kind == 7:
            client.post(f"{path}/versions/{some_version(target)}", json={"greeting": f"g{step}"})
        elif kind == 8:
            client.post(f"{path}/versions/{some_version(target)}/promote")
        elif kind == 9:
            rule = {"serve": {"rollout": [{"version_id": some_version(target), "weight": rng.randrange(1, 50)}]}}
            client.put(f"{path}/canary-deploys", json={"rules": [rule]})
        elif kind == 10:
            client.delete(f"{path}/versions/{some_version(target)}")
        elif rng.random() < 0.3:
            client.delete(path)
            ids.remove(target)
        for read in rng.sample(sorted(uncached(store)), k=min(3, len(store.assistants))):
            client.get(read)  # fill the cache between writes
        if step % 10 == 9:
            check(client, store)
    check(client, store)


def test_cached_reads_are_reused_and_render_nothing(client: Client, store: Store, monkeypatch: Any) -> None:
    for n in range(3):
        ok(client.post("/ai/assistants", json={"name": f"a{n}", "instructions": "x" * 100}))
    first = client.get("/ai/assistants").content
    renders: list[str] = []
    original = store._render
    monkeypatch.setattr(store, "_render", lambda a, v: renders.append(a.id) or original(a, v))
    assert client.get("/ai/assistants").content == first
    assert renders == []
    (one, *_) = store.assistants
    ok(client.post(f"/ai/assistants/{one}/tags", json={"tag": "t"}))
    client.get("/ai/assistants")
    assert renders[-1:] == [one]  # only the changed assistant was rendered again (the tag answer aside)


def test_a_change_from_outside_a_write_needs_forget_renders(client: Client, store: Store) -> None:
    made = ok(client.post("/ai/assistants", json={"name": "a", "instructions": "before"}))
    check(client, store)
    store.assistants[made["id"]].main.config["instructions"] = "after"
    store.forget_renders()
    assert client.get(f"/ai/assistants/{made['id']}").json()["instructions"] == "after"
    check(client, store)


def test_a_canary_config_replaced_from_outside_is_not_served_stale(client: Client, store: Store) -> None:
    made = ok(client.post("/ai/assistants", json={"name": "a", "instructions": "i"}))
    rules = {"rules": [{"serve": {"version_id": made["version_id"]}}]}
    ok(client.post(f"/ai/assistants/{made['id']}/canary-deploys", json=rules))
    check(client, store)
    record = store.assistants[made["id"]]
    assert record.canary is not None
    record.canary = {**record.canary, "updated_at": "later"}
    assert client.get(f"/ai/assistants/{made['id']}/canary-deploys").json()["updated_at"] == "later"


def test_a_collection_replaced_by_a_plain_dict_is_not_cached(client: Client, store: Store) -> None:
    made = ok(client.post("/ai/assistants", json={"name": "a", "instructions": "before"}))
    check(client, store)
    store.assistants = dict(store.assistants)
    store.assistants[made["id"]].main.config["instructions"] = "after"  # no marks on a plain dict
    assert client.get(f"/ai/assistants/{made['id']}").json()["instructions"] == "after"
    check(client, store)
    store.assistants = Tracked(store.assistants)  # a new collection: what was cached before is not served
    assert client.get(f"/ai/assistants/{made['id']}").json()["instructions"] == "after"
    check(client, store)


def test_reads_after_loading_a_state_file_and_its_journal(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    first = Store(state)
    client = Client(create_app(store=first))
    made = ok(client.post("/ai/assistants", json={"name": "a", "instructions": "one"}))
    check(client, first)
    ok(client.post(f"/ai/assistants/{made['id']}", json={"instructions": "two"}))
    ok(client.post(f"/ai/assistants/{made['id']}/tags", json={"tag": "t"}))
    before = check(client, first)
    expected = {path: json.loads(body) for path, body in uncached(first).items()}  # the snapshot sorts keys
    first.close()
    second = Store(state)
    try:
        assert check(Client(create_app(store=second)), second) == before
        assert {path: json.loads(body) for path, body in uncached(second).items()} == expected
    finally:
        second.close()


def test_a_write_inside_a_write_renders_fresh_bodies(store: Store) -> None:
    """Inside a write nothing is cached: a body rendered mid-write may change before the write ends."""
    made = store.create_assistant({"name": "a", "instructions": "i"})
    with store._writing():
        assert store._rendered_entry(made["id"]) is None
        store.get_assistant_json(made["id"])
        store.assistants[made["id"]].main.config["instructions"] = "changed in the same write"
        store._get(made["id"])  # as every write does: looking it up marks it
    assert b"changed in the same write" in store.get_assistant_json(made["id"])


def test_a_shared_tool_changed_by_a_write_drops_every_assistant_holding_it(client: Client, store: Store) -> None:
    """Even a write that marks only the tool (not the assistants holding it) leaves no stale body."""
    hook = ok(client.post("/ai/tools", json=tool_body("lookup")))["id"]
    holder = ok(client.post("/ai/assistants", json={"name": "a", "instructions": "i", "tool_ids": [hook]}))
    ok(client.post("/ai/assistants", json={"name": "b", "instructions": "i"}))
    check(client, store)
    with store._writing():
        store.tools[hook] = {**store.tools[hook], "display_name": "changed", "timeout_ms": 1}
    assert client.get(f"/ai/assistants/{holder['id']}").json()["tools"][0]["timeout_ms"] == 1
    check(client, store)


def test_store_level_reads_after_every_kind_of_store_write(store: Store) -> None:
    """The journal tests' list of every write the store makes, each followed by a read of everything."""

    def reads() -> dict[str, bytes]:
        bodies = {"list": store.list_assistants_json()}
        for assistant_id, assistant in store.assistants.items():
            bodies[assistant_id] = store.get_assistant_json(assistant_id)
            bodies[assistant_id + " versions"] = store.list_versions_json(assistant_id)
            for version in assistant.versions:
                bodies[f"{assistant_id} {version.version_id}"] = store.get_version_json(
                    assistant_id, version.version_id
                )
            if assistant.canary is not None:
                bodies[assistant_id + " canary"] = store.get_canary_json(assistant_id)
        return bodies

    def expected() -> dict[str, bytes]:
        bodies = {"list": JSONResponse({"data": store.list_assistants()}).body}
        for assistant_id, assistant in store.assistants.items():
            bodies[assistant_id] = JSONResponse(store.get_assistant(assistant_id)).body
            bodies[assistant_id + " versions"] = JSONResponse({"data": store.list_versions(assistant_id)}).body
            for version in assistant.versions:
                body = store.get_version(assistant_id, version.version_id)
                bodies[f"{assistant_id} {version.version_id}"] = JSONResponse(body).body
            if assistant.canary is not None:
                bodies[assistant_id + " canary"] = JSONResponse(store.get_canary(assistant_id)).body
        return bodies

    for write in every_kind_of_write(store):
        write()
        assert reads() == expected()
        assert reads() == expected()  # now from the cache
