"""Routes Telnyx serves and the emulator does not: 501 naming the route, never a 404 like a missing object."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
import telnyx
from starlette.routing import Match

from reconciler.emulator.app import ROUTES
from reconciler.emulator.routes import UNEMULATED_PATHS

SDK_RESOURCES = Path(telnyx.__file__).parent / "resources" / "ai"


def _sdk_paths() -> list[str]:
    """Every /ai path the official SDK calls, with each parameter as a sample value."""
    found: set[str] = set()
    for source in SDK_RESOURCES.rglob("*.py"):
        for path in re.findall(r'"(/ai/[^"]*)"', source.read_text(encoding="utf-8")):
            found.add(re.sub(r"\{[^}]*\}", "x-1", path))
    return sorted(found)


def _routed(path: str) -> bool:
    """Whether some route takes /v2PATH (with any method)."""
    scope = {"type": "http", "path": "/v2" + path, "method": "GET", "root_path": ""}
    return any(route.matches(scope)[0] is not Match.NONE for route in ROUTES)


class TestUnemulatedRoutes:
    def test_a_telnyx_route_the_emulator_does_not_serve_is_501_naming_it(self, http: httpx.Client) -> None:
        """The status says "not emulated", the detail names the method and the route."""
        response = http.post("/ai/assistants/assistant-1/chat", json={"content": "hi"})
        assert response.status_code == 501
        assert response.json() == {
            "errors": [
                {
                    "code": "10007",
                    "title": "Not implemented by the emulator",
                    "detail": "POST /v2/ai/assistants/assistant-1/chat is a Telnyx API route "
                    "that the emulator does not emulate",
                }
            ]
        }

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/ai/assistants/deleted"),
            ("GET", "/ai/assistants/assistant-1/scheduled_events"),
            ("POST", "/ai/assistants/assistant-1/clone"),
            ("GET", "/ai/assistants/assistant-1/texml"),
            ("POST", "/ai/assistants/assistant-1/tools/tool-1/test"),
            ("GET", "/ai/conversations"),
            ("GET", "/ai/missions/m-1/runs/r-1/events"),
            ("GET", "/ai/integrations/connections"),
        ],
    )
    def test_each_family_answers_501(self, http: httpx.Client, method: str, path: str) -> None:
        response = http.request(method, path)
        assert response.status_code == 501
        assert response.json()["errors"][0]["detail"] == (
            f"{method} /v2{path} is a Telnyx API route that the emulator does not emulate"
        )

    def test_a_path_telnyx_does_not_have_is_still_404(self, http: httpx.Client) -> None:
        assert http.get("/ai/nothing-here").status_code == 404

    def test_a_missing_assistant_on_a_served_route_is_still_404(self, http: httpx.Client) -> None:
        assert http.get("/ai/assistants/assistant-nope").status_code == 404

    def test_assistant_tests_are_served_now(self, http: httpx.Client) -> None:
        assert http.get("/ai/assistants/tests").status_code == 200
        assert http.get("/ai/assistants/tests/test-suites").json() == {"data": []}
        assert http.get("/ai/assistants/tests/no-such-test").status_code == 404

    def test_every_path_the_sdk_calls_is_served_or_declared_unemulated(self) -> None:
        """A new SDK route shows up here until it is emulated or listed in UNEMULATED_PATHS."""
        unknown = [path for path in _sdk_paths() if not _routed(path)]
        assert unknown == []

    def test_unemulated_routes_come_after_every_served_one(self) -> None:
        """A served route is never shadowed: the 501 routes are the last in the table."""
        names = [getattr(route, "name", "") for route in ROUTES if getattr(route, "path", "").startswith("/v2")]
        first = names.index("not_emulated")
        assert set(names[first:]) == {"not_emulated"}
        assert len(names[first:]) == len(UNEMULATED_PATHS)
