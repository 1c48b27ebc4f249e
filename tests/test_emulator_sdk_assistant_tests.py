"""Assistant tests, suites and runs, driven by the official SDK with strict response validation."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import telnyx

from reconciler.emulator import EmulatorServer
from reconciler.emulator.assistant_tests import phase, schedule
from tests.conftest import AUTH, body, payload

JSON = dict[str, Any]
RUBRIC: list[Any] = [{"name": "Refunds", "criteria": 'Mentions the "refund policy"'}]
FINAL = ("passed", "failed", "error")
LIFECYCLE = ["pending", "starting", "running", "passed"]


def control(server: EmulatorServer, settings: JSON | None = None, method: str = "PUT") -> httpx.Response:
    """Call /_emulator/test-runs (PUT with settings, or another method)."""
    url = server.root_url + "/_emulator/test-runs"
    return httpx.request(method, url, json=settings) if settings is not None else httpx.request(method, url)


@pytest.fixture(autouse=True)
def instant(request: pytest.FixtureRequest) -> None:
    """Runs finish at once unless a test says otherwise (tests without the emulator fixture skip this)."""
    if "emulator" in request.fixturenames:
        server: EmulatorServer = request.getfixturevalue("emulator")
        control(server, {"run_seconds": 0}).raise_for_status()


def assistant(sdk: telnyx.Telnyx, instructions: str = "Explain the refund policy.", **fields: Any) -> str:
    return sdk.ai.assistants.create(name="support", instructions=instructions, **fields).id


def new_test(sdk: telnyx.Telnyx, destination: str, name: str = "refunds", **fields: Any) -> str:
    fields.setdefault("rubric", RUBRIC)
    return sdk.ai.assistants.tests.create(
        name=name, destination=destination, instructions="Ask for a refund.", **fields
    ).test_id


def wait_final(sdk: telnyx.Telnyx, test_id: str, run_id: str, within: float = 5.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        run = sdk.ai.assistants.tests.runs.retrieve(run_id, test_id=test_id)
        if run.status in FINAL or time.monotonic() > deadline:
            return run
        time.sleep(0.02)


class TestCrud:
    def test_create_answers_201_with_the_bare_test(self, sdk: telnyx.Telnyx) -> None:
        raw = sdk.ai.assistants.tests.with_raw_response.create(
            name="refunds", destination="+15551234567", instructions="Ask for a refund.", rubric=RUBRIC
        )
        assert raw.status_code == 201
        created = payload(raw)
        assert sorted(created) == [
            "created_at", "destination", "instructions", "name", "rubric", "telnyx_conversation_channel", "test_id"
        ]  # fmt: skip
        assert created["telnyx_conversation_channel"] == "web_chat"
        assert created["rubric"] == RUBRIC
        assert raw.parse().test_id == created["test_id"]

    def test_every_optional_field_is_kept(self, sdk: telnyx.Telnyx) -> None:
        created = sdk.ai.assistants.tests.create(
            name="full",
            destination="assistant-x",
            instructions="Ask.",
            rubric=RUBRIC,
            description="what it checks",
            telnyx_conversation_channel="phone_call",
            max_duration_seconds=120,
            test_suite="billing",
        )
        assert (created.description, created.telnyx_conversation_channel) == ("what it checks", "phone_call")
        assert (created.max_duration_seconds, created.test_suite) == (120, "billing")
        assert sdk.ai.assistants.tests.retrieve(created.test_id) == created

    def test_update_is_partial(self, sdk: telnyx.Telnyx) -> None:
        test_id = new_test(sdk, "assistant-x", description="old", test_suite="a")
        updated = sdk.ai.assistants.tests.update(test_id, description="new", max_duration_seconds=60)
        assert (updated.description, updated.max_duration_seconds, updated.test_suite) == ("new", 60, "a")
        assert (updated.name, updated.rubric[0].name) == ("refunds", "Refunds")
        assert sdk.ai.assistants.tests.retrieve(test_id) == updated

    def test_delete_answers_204_and_then_the_test_is_gone(self, sdk: telnyx.Telnyx, http: httpx.Client) -> None:
        test_id = new_test(sdk, "assistant-x")
        response = http.delete(f"/ai/assistants/tests/{test_id}")
        assert (response.status_code, response.content) == (204, b"")
        with pytest.raises(telnyx.NotFoundError) as caught:
            sdk.ai.assistants.tests.retrieve(test_id)
        assert body(caught.value)["errors"][0] == {
            "code": "10005",
            "title": "Resource not found",
            "detail": f"Test {test_id} not found",
        }
        with pytest.raises(telnyx.NotFoundError):
            sdk.ai.assistants.tests.delete(test_id)
        with pytest.raises(telnyx.NotFoundError):
            sdk.ai.assistants.tests.update(test_id, name="x")

    def test_names_are_unique(self, sdk: telnyx.Telnyx) -> None:
        first = new_test(sdk, "a", name="one")
        new_test(sdk, "a", name="two")
        with pytest.raises(telnyx.BadRequestError, match="already exists"):
            new_test(sdk, "a", name="one")
        with pytest.raises(telnyx.BadRequestError, match="already exists"):
            sdk.ai.assistants.tests.update(first, name="two")
        assert sdk.ai.assistants.tests.update(first, name="one").name == "one"

    @pytest.mark.parametrize(
        ("change", "loc", "kind"),
        [
            ({"rubric": None}, ["body", "rubric"], "missing"),
            ({"rubric": []}, ["body", "rubric"], "too_short"),
            ({"rubric": [{"name": "x"}]}, ["body", "rubric", 0, "criteria"], "missing"),
            ({"rubric": [{**RUBRIC[0], "weight": 1}]}, ["body", "rubric", 0, "weight"], "extra_forbidden"),
            ({"telnyx_conversation_channel": "fax"}, ["body", "telnyx_conversation_channel"], "enum"),
            ({"max_duration_seconds": 0}, ["body", "max_duration_seconds"], "greater_than_equal"),
            ({"max_duration_seconds": "long"}, ["body", "max_duration_seconds"], "int_type"),
            ({"destination": ""}, ["body", "destination"], "string_too_short"),
        ],
    )  # fmt: skip
    def test_invalid_bodies_are_422(self, http: httpx.Client, change: JSON, loc: list[Any], kind: str) -> None:
        sent = {"name": "t", "destination": "d", "instructions": "i", "rubric": RUBRIC, **change}
        sent = {k: v for k, v in sent.items() if v is not None}
        response = http.post("/ai/assistants/tests", json=sent)
        assert response.status_code == 422
        assert [(d["loc"], d["type"]) for d in response.json()["detail"]] == [(loc, kind)]

    def test_an_invalid_update_is_422_and_changes_nothing(self, sdk: telnyx.Telnyx, http: httpx.Client) -> None:
        test_id = new_test(sdk, "a")
        response = http.put(f"/ai/assistants/tests/{test_id}", json={"name": "", "description": "changed"})
        assert response.status_code == 422
        assert sdk.ai.assistants.tests.retrieve(test_id).description is None

    def test_same_idempotency_key_creates_once(self, sdk: telnyx.Telnyx) -> None:
        first = new_test(sdk, "a", idempotency_key="k1")
        assert new_test(sdk, "a", idempotency_key="k1") == first
        assert [t.test_id for t in sdk.ai.assistants.tests.list()] == [first]

    def test_unknown_fields_are_kept_like_other_kinds(self, http: httpx.Client) -> None:
        sent = {"name": "t", "destination": "d", "instructions": "i", "rubric": RUBRIC, "owner": "qa"}
        assert http.post("/ai/assistants/tests", json=sent).json()["owner"] == "qa"

    def test_unknown_fields_are_dropped_in_strict_mode(self) -> None:
        sent = {"name": "t", "destination": "d", "instructions": "i", "rubric": RUBRIC, "owner": "qa"}
        with EmulatorServer(unknown_fields="drop") as server, httpx.Client(base_url=server.base_url, headers=AUTH) as c:
            created = c.post("/ai/assistants/tests", json=sent).json()
            assert "owner" not in created
            assert "owner" not in c.put(f"/ai/assistants/tests/{created['test_id']}", json={"owner": "x"}).json()


class TestListAndSuites:
    def test_filters_match_exactly(self, sdk: telnyx.Telnyx) -> None:
        a = new_test(sdk, "assistant-a", name="a", test_suite="billing", telnyx_conversation_channel="sms_chat")
        b = new_test(sdk, "assistant-b", name="b", test_suite="billing")
        c = new_test(sdk, "assistant-a", name="c", test_suite="onboarding")
        tests = sdk.ai.assistants.tests

        def ids(**query: Any) -> list[str]:
            return [t.test_id for t in tests.list(**query)]

        assert ids() == [a, b, c]
        assert ids(test_suite="billing") == [a, b]
        assert ids(telnyx_conversation_channel="web_chat") == [b, c]
        assert ids(destination="assistant-a") == [a, c]
        assert ids(destination="assistant-a", test_suite="billing") == [a]
        assert ids(test_suite="Billing") == []

    def test_pages_and_meta(self, sdk: telnyx.Telnyx) -> None:
        created = [new_test(sdk, "a", name=f"t{n}") for n in range(5)]
        page = sdk.ai.assistants.tests.list(page_number=2, page_size=2)
        assert [t.test_id for t in page.data] == created[2:4]
        assert payload(sdk.ai.assistants.tests.with_raw_response.list(page_number=3, page_size=2))["meta"] == {
            "page_number": 3,
            "page_size": 2,
            "total_pages": 3,
            "total_results": 5,
        }
        assert [t.test_id for t in sdk.ai.assistants.tests.list(page_size=2)] == created  # the SDK follows pages

    def test_suites_are_the_distinct_names_sorted(self, sdk: telnyx.Telnyx) -> None:
        assert sdk.ai.assistants.tests.test_suites.list().data == []
        new_test(sdk, "a", name="1", test_suite="onboarding")
        new_test(sdk, "a", name="2", test_suite="billing")
        new_test(sdk, "a", name="3", test_suite="onboarding")
        new_test(sdk, "a", name="4")
        assert sdk.ai.assistants.tests.test_suites.list().data == ["billing", "onboarding"]

    def test_test_suites_is_never_a_test_id(self, http: httpx.Client) -> None:
        response = http.put("/ai/assistants/tests/test-suites", json={"name": "x"})
        assert response.status_code == 405
        assert "GET" in response.headers["allow"] and "PUT" not in response.headers["allow"]


class TestRuns:
    def test_a_run_of_a_passing_test(self, sdk: telnyx.Telnyx) -> None:
        test_id = new_test(sdk, assistant(sdk))
        raw = sdk.ai.assistants.tests.runs.with_raw_response.trigger(test_id)
        assert raw.status_code == 201
        run = raw.parse()
        assert (run.test_id, run.status, run.triggered_by) == (test_id, "passed", "api")
        assert run.detail_status is not None
        assert [(d.name, d.status) for d in run.detail_status] == [("Refunds", "passed")]
        assert run.conversation_id and run.completed_at and run.updated_at
        assert run.test_suite_run_id is None
        assert 'PASS Refunds: found "refund policy"' in (run.logs or "")
        assert sdk.ai.assistants.tests.runs.retrieve(run.run_id, test_id=test_id) == run

    def test_a_failing_run_names_the_missing_term(self, sdk: telnyx.Telnyx) -> None:
        test_id = new_test(sdk, assistant(sdk, "Be polite."))
        run = sdk.ai.assistants.tests.runs.trigger(test_id)
        assert run.status == "failed"
        assert run.detail_status is not None and run.detail_status[0].status == "failed"
        assert 'FAIL Refunds: missing "refund policy"' in (run.logs or "")

    def test_tools_and_mcp_servers_of_the_version_count(self, sdk: telnyx.Telnyx) -> None:
        tool = sdk.ai.tools.create(
            display_name="crm",
            type="webhook",
            webhook={"name": "open_ticket", "description": "d", "url": "https://x.test"},
        )
        server = sdk.ai.mcp_servers.create(name="Inventory", type="http", url="https://mcp.test")
        target = assistant(sdk, "Be brief.", tool_ids=[tool.id], mcp_servers=[{"id": server.id}])
        rubric = [{"name": "Tools", "criteria": 'Uses `open_ticket` and "inventory"'}]
        run = sdk.ai.assistants.tests.runs.trigger(new_test(sdk, target, rubric=rubric))
        assert run.status == "passed", run.logs

    def test_a_destination_that_is_not_an_assistant_ends_in_error(self, sdk: telnyx.Telnyx) -> None:
        test_id = new_test(sdk, "+15551234567")
        run = sdk.ai.assistants.tests.runs.trigger(test_id)
        assert run.status == "error"
        assert run.conversation_id is None
        assert run.detail_status is not None and run.detail_status[0].status == "error"
        assert "reaches assistants only by id" in (run.logs or "")

    def test_max_duration_below_the_conversation_is_a_timeout(self, sdk: telnyx.Telnyx) -> None:
        run = sdk.ai.assistants.tests.runs.trigger(new_test(sdk, assistant(sdk), max_duration_seconds=29))
        assert run.status == "error"
        assert (run.logs or "").startswith("timeout:")
        assert "max_duration_seconds 29" in (run.logs or "")

    def test_destination_version_id_targets_a_candidate(self, sdk: telnyx.Telnyx) -> None:
        target = assistant(sdk, "Be polite.")
        candidate = sdk.ai.assistants.update(target, instructions="Quote the refund policy.", promote_to_main=False)
        assert candidate.version_id is not None
        test_id = new_test(sdk, target)
        assert sdk.ai.assistants.tests.runs.trigger(test_id).status == "failed"  # main has no refund policy
        on_candidate = sdk.ai.assistants.tests.runs.trigger(test_id, destination_version_id=candidate.version_id)
        assert on_candidate.status == "passed"

    def test_a_version_of_another_assistant_is_400(self, sdk: telnyx.Telnyx) -> None:
        test_id = new_test(sdk, assistant(sdk))
        other = sdk.ai.assistants.retrieve(assistant(sdk)).version_id
        assert other is not None
        for version_id in (other, "no-such-version"):
            with pytest.raises(telnyx.BadRequestError) as caught:
                sdk.ai.assistants.tests.runs.trigger(test_id, destination_version_id=version_id)
            assert f"Version {version_id} is not a version of assistant" in body(caught.value)["errors"][0]["detail"]
        assert list(sdk.ai.assistants.tests.runs.list(test_id)) == []

    def test_a_version_id_for_a_destination_without_versions_is_400(self, sdk: telnyx.Telnyx) -> None:
        test_id = new_test(sdk, "+15551234567")
        with pytest.raises(telnyx.BadRequestError, match="is not an assistant"):
            sdk.ai.assistants.tests.runs.trigger(test_id, destination_version_id="v-1")

    def test_the_verdict_is_decided_at_trigger_time(self, sdk: telnyx.Telnyx, emulator: EmulatorServer) -> None:
        control(emulator, {"run_seconds": 0.3}).raise_for_status()
        target = assistant(sdk)
        test_id = new_test(sdk, target)
        run = sdk.ai.assistants.tests.runs.trigger(test_id)
        assert run.status == "pending"
        sdk.ai.assistants.update(target, instructions="Be polite.")  # the term is gone from main now
        assert wait_final(sdk, test_id, run.run_id).status == "passed"
        control(emulator, {"run_seconds": 0}).raise_for_status()
        assert sdk.ai.assistants.tests.runs.trigger(test_id).status == "failed"

    def test_an_empty_trigger_body_is_allowed(self, sdk: telnyx.Telnyx, http: httpx.Client) -> None:
        test_id = new_test(sdk, assistant(sdk))
        response = http.post(f"/ai/assistants/tests/{test_id}/runs", content=b"")
        assert (response.status_code, response.json()["status"]) == (201, "passed")

    def test_history_newest_first_with_status_filter_and_pages(
        self, sdk: telnyx.Telnyx, emulator: EmulatorServer
    ) -> None:
        test_id = new_test(sdk, assistant(sdk))
        runs = sdk.ai.assistants.tests.runs
        control(emulator, {"run_seconds": 0, "outcomes": {"refunds": {"outcome": "fail", "times": 2}}})
        made = [runs.trigger(test_id).run_id for _ in range(5)]  # failed, failed, then passed x3
        assert [r.run_id for r in runs.list(test_id)] == made[::-1]
        assert [r.run_id for r in runs.list(test_id, status="failed")] == made[1::-1]
        assert [r.run_id for r in runs.list(test_id, status="passed")] == made[:1:-1]
        assert list(runs.list(test_id, status="completed")) == []
        assert [r.run_id for r in runs.list(test_id, page_number=2, page_size=2).data] == made[2:0:-1]

    def test_a_run_of_another_test_is_404(self, sdk: telnyx.Telnyx) -> None:
        first, second = new_test(sdk, "a", name="1"), new_test(sdk, "a", name="2")
        run = sdk.ai.assistants.tests.runs.trigger(first)
        with pytest.raises(telnyx.NotFoundError):
            sdk.ai.assistants.tests.runs.retrieve(run.run_id, test_id=second)
        with pytest.raises(telnyx.NotFoundError):
            sdk.ai.assistants.tests.runs.trigger("no-such-test")

    def test_deleting_a_test_deletes_its_runs(self, sdk: telnyx.Telnyx, emulator: EmulatorServer) -> None:
        kept, doomed = new_test(sdk, "a", name="kept"), new_test(sdk, "a", name="doomed")
        survivor = sdk.ai.assistants.tests.runs.trigger(kept).run_id
        sdk.ai.assistants.tests.runs.trigger(doomed)
        sdk.ai.assistants.tests.delete(doomed)
        assert list(emulator.store.test_runs) == [survivor]
        with pytest.raises(telnyx.NotFoundError):
            sdk.ai.assistants.tests.runs.list(doomed)

    def test_same_idempotency_key_triggers_once(self, sdk: telnyx.Telnyx) -> None:
        test_id = new_test(sdk, assistant(sdk))
        first = sdk.ai.assistants.tests.runs.trigger(test_id, idempotency_key="run-1")
        again = sdk.ai.assistants.tests.runs.trigger(test_id, idempotency_key="run-1")
        assert again == first
        assert [r.run_id for r in sdk.ai.assistants.tests.runs.list(test_id)] == [first.run_id]
        assert sdk.ai.assistants.tests.runs.trigger(test_id, idempotency_key="run-2").run_id != first.run_id

    def test_a_replayed_trigger_of_a_deleted_run_is_409(self, sdk: telnyx.Telnyx) -> None:
        test_id = new_test(sdk, assistant(sdk))
        sdk.ai.assistants.tests.runs.trigger(test_id, idempotency_key="run-1")
        sdk.ai.assistants.tests.delete(test_id)
        with pytest.raises(telnyx.ConflictError, match="no longer exists"):
            sdk.ai.assistants.tests.runs.trigger(test_id, idempotency_key="run-1")


class TestSuiteRuns:
    def test_a_suite_trigger_is_a_bare_array_sharing_one_suite_run_id(self, sdk: telnyx.Telnyx) -> None:
        target = assistant(sdk)
        first = new_test(sdk, target, name="first", test_suite="billing")
        second = new_test(sdk, "+15550100", name="second", test_suite="billing")
        new_test(sdk, target, name="elsewhere", test_suite="other")
        raw = sdk.ai.assistants.tests.test_suites.runs.with_raw_response.trigger("billing")
        assert raw.status_code == 201
        assert isinstance(payload(raw), list)
        runs = raw.parse()
        assert [(r.test_id, r.status) for r in runs] == [(first, "passed"), (second, "error")]
        batch = {r.test_suite_run_id for r in runs}
        assert len(batch) == 1 and None not in batch

    def test_an_unknown_suite_is_404(self, sdk: telnyx.Telnyx) -> None:
        new_test(sdk, "a", test_suite="billing")
        with pytest.raises(telnyx.NotFoundError, match="Test suite nope has no tests"):
            sdk.ai.assistants.tests.test_suites.runs.trigger("nope")

    def test_suite_history_filters_by_batch_and_status(self, sdk: telnyx.Telnyx) -> None:
        target = assistant(sdk)
        passing = new_test(sdk, target, name="passing", test_suite="billing")
        new_test(sdk, "+15550100", name="erroring", test_suite="billing")
        suite_runs = sdk.ai.assistants.tests.test_suites.runs
        first = suite_runs.trigger("billing")
        second = suite_runs.trigger("billing")
        sdk.ai.assistants.tests.runs.trigger(passing)  # a single-test run is not a suite run
        assert [r.run_id for r in suite_runs.list("billing")] == [r.run_id for r in [*first, *second]][::-1]
        batch = first[0].test_suite_run_id
        assert batch is not None
        in_batch = suite_runs.list("billing", test_suite_run_id=batch)
        assert [r.run_id for r in in_batch] == [r.run_id for r in first][::-1]
        assert [r.test_id for r in suite_runs.list("billing", status="passed")] == [passing, passing]
        assert list(suite_runs.list("other")) == []

    def test_a_bad_version_starts_none_of_the_suite(self, sdk: telnyx.Telnyx) -> None:
        target = assistant(sdk)
        version_id = sdk.ai.assistants.retrieve(target).version_id
        assert version_id is not None
        new_test(sdk, target, name="one", test_suite="s")
        new_test(sdk, assistant(sdk), name="two", test_suite="s")  # another assistant: version_id is not its own
        with pytest.raises(telnyx.BadRequestError):
            sdk.ai.assistants.tests.test_suites.runs.trigger("s", destination_version_id=version_id)
        assert list(sdk.ai.assistants.tests.test_suites.runs.list("s")) == []

    def test_same_idempotency_key_triggers_the_suite_once(self, sdk: telnyx.Telnyx) -> None:
        new_test(sdk, assistant(sdk), test_suite="s")
        first = sdk.ai.assistants.tests.test_suites.runs.trigger("s", idempotency_key="suite-1")
        assert sdk.ai.assistants.tests.test_suites.runs.trigger("s", idempotency_key="suite-1") == first
        assert len(list(sdk.ai.assistants.tests.test_suites.runs.list("s"))) == 1


class TestLifecycle:
    def test_phases_follow_the_clock(self) -> None:
        run = {"created": 0.0, "schedule": schedule(1.0), "verdict": {"status": "failed"}}
        seen = [phase(run, t) for t in (0, 0.099, 0.1, 0.199, 0.2, 0.999, 1.0, 50)]
        assert [status for status, _ in seen] == [
            "pending", "pending", "starting", "starting", "running", "running", "failed", "failed"
        ]  # fmt: skip
        assert [since for _, since in seen] == [0.0, 0.0, 0.1, 0.1, 0.2, 0.2, 1.0, 1.0]

    def test_a_slow_run_stays_running_for_its_seconds(self) -> None:
        offsets = schedule(1.0, slow_seconds=5.0)
        assert offsets == {"starting": 0.1, "running": 0.2, "done": 5.2}

    def test_a_run_goes_pending_starting_running_then_final(self, sdk: telnyx.Telnyx, emulator: EmulatorServer) -> None:
        control(emulator, {"run_seconds": 1.0}).raise_for_status()
        test_id = new_test(sdk, assistant(sdk))
        run = sdk.ai.assistants.tests.runs.trigger(test_id)
        seen = [run]
        while seen[-1].status not in FINAL and time.monotonic() - run.created_at.timestamp() < 10:
            time.sleep(0.01)
            seen.append(sdk.ai.assistants.tests.runs.retrieve(run.run_id, test_id=test_id))
        statuses = list(dict.fromkeys(r.status for r in seen))
        # in order, from pending to passed; `starting` lasts 0.1 s, so a busy machine may poll past it
        assert statuses == [s for s in LIFECYCLE if s in statuses]
        assert (statuses[0], statuses[-1], "running" in statuses) == ("pending", "passed", True)
        for r in seen:
            final = r.status in FINAL
            assert (r.completed_at is not None, r.logs is not None, r.detail_status is not None) == (final,) * 3
            assert (r.conversation_id is not None) == (r.status in ("running", "passed"))
        last = seen[-1]
        assert last.completed_at is not None and last.updated_at == last.completed_at
        assert round((last.completed_at - last.created_at).total_seconds(), 3) == 1.0

    def test_a_slow_outcome_keeps_the_run_running(self, sdk: telnyx.Telnyx, emulator: EmulatorServer) -> None:
        control(emulator, {"run_seconds": 0, "outcomes": {"refunds": {"outcome": "slow", "seconds": 0.3}}})
        test_id = new_test(sdk, assistant(sdk))
        run = sdk.ai.assistants.tests.runs.trigger(test_id)
        assert run.status == "running"
        assert wait_final(sdk, test_id, run.run_id).status == "passed"  # then the judge decides


class TestControl:
    def test_get_put_delete(self, emulator: EmulatorServer) -> None:
        assert control(emulator, method="DELETE").json() == {"run_seconds": 1.0, "outcomes": {}}
        settings = {"run_seconds": 0.25, "outcomes": {"t": {"outcome": "slow", "seconds": 2, "times": 3}}}
        assert control(emulator, settings).json() == settings
        assert control(emulator, method="GET").json() == settings
        assert control(emulator, {}).json() == {"run_seconds": 1.0, "outcomes": {}}  # a PUT sets everything

    def test_the_server_option_sets_the_default(self) -> None:
        with EmulatorServer(test_run_seconds=0.0) as server:
            control(server, {"run_seconds": 3})
            assert control(server, method="DELETE").json()["run_seconds"] == 0.0

    @pytest.mark.parametrize(
        ("outcome", "status", "details", "logs"),
        [
            ("pass", "passed", ["passed", "passed"], "PASS Refunds: scripted"),
            ("fail", "failed", ["failed", "passed"], "FAIL Refunds: scripted"),
            ("error", "error", ["error", "error"], "error: the run failed to execute"),
            ("timeout", "error", ["error", "error"], "timeout: the run went past max_duration_seconds 600"),
        ],
    )
    def test_scripted_outcomes_override_the_judge(
        self, sdk: telnyx.Telnyx, emulator: EmulatorServer, outcome: str, status: str, details: list[str], logs: str
    ) -> None:
        rubric = [*RUBRIC, {"name": "Tone", "criteria": 'Says "goodbye"'}]  # the judge would fail Tone
        test_id = new_test(sdk, assistant(sdk), rubric=rubric, max_duration_seconds=600)
        control(emulator, {"run_seconds": 0, "outcomes": {test_id: {"outcome": outcome}}}).raise_for_status()
        run = sdk.ai.assistants.tests.runs.trigger(test_id)
        assert run.status == status
        assert [d.status for d in run.detail_status or []] == details
        assert logs in (run.logs or "")

    def test_a_scripted_outcome_by_name_for_the_next_runs_only(
        self, sdk: telnyx.Telnyx, emulator: EmulatorServer
    ) -> None:
        test_id = new_test(sdk, assistant(sdk))
        control(emulator, {"run_seconds": 0, "outcomes": {"refunds": {"outcome": "fail", "times": 2}}})
        statuses = [sdk.ai.assistants.tests.runs.trigger(test_id).status for _ in range(3)]
        assert statuses == ["failed", "failed", "passed"]
        assert control(emulator, method="GET").json()["outcomes"] == {}

    def test_a_scripted_pass_reaches_even_a_phone_number(self, sdk: telnyx.Telnyx, emulator: EmulatorServer) -> None:
        control(emulator, {"run_seconds": 0, "outcomes": {"refunds": {"outcome": "pass"}}})
        run = sdk.ai.assistants.tests.runs.trigger(new_test(sdk, "+15551234567"))
        assert (run.status, run.conversation_id is not None) == ("passed", True)

    @pytest.mark.parametrize(
        ("settings", "message"),
        [
            ([], "send a JSON object"),
            ({"run_second": 1}, "unknown test-run settings ['run_second']"),
            ({"run_seconds": -1}, "run_seconds must be between 0 and 3600"),
            ({"run_seconds": True}, "run_seconds must be a number"),
            ({"outcomes": []}, "outcomes must be an object"),
            ({"outcomes": {"t": "fail"}}, "must be an object like"),
            ({"outcomes": {"t": {"outcome": "maybe"}}}, "outcome must be one of"),
            ({"outcomes": {"t": {"outcome": "slow"}}}, "a slow outcome needs seconds"),
            ({"outcomes": {"t": {"outcome": "fail", "seconds": 1}}}, "applies only to the slow outcome"),
            ({"outcomes": {"t": {"outcome": "fail", "times": 0}}}, "times must be a whole number"),
            ({"outcomes": {"t": {"outcome": "fail", "every": 2}}}, "unknown fields ['every']"),
            ({"outcomes": {"": {"outcome": "fail"}}}, "keys are test names or test ids"),
        ],
    )
    def test_invalid_settings_are_400_and_change_nothing(
        self, emulator: EmulatorServer, settings: Any, message: str
    ) -> None:
        before = control(emulator, method="GET").json()
        response = control(emulator, settings)
        assert response.status_code == 400
        assert message in response.json()["errors"][0]["detail"]
        assert control(emulator, method="GET").json() == before

    def test_not_json_too_deep_and_too_large(self, emulator: EmulatorServer) -> None:
        url = emulator.root_url + "/_emulator/test-runs"
        assert httpx.put(url, content=b"{nope").status_code == 400
        deep = httpx.put(url, content=b'{"outcomes": ' + b"[" * 20 + b"]" * 20 + b"}")
        assert (deep.status_code, "levels deep" in deep.text) == (400, True)
        huge = json.dumps({"outcomes": {f"test {n}": {"outcome": "pass"} for n in range(3000)}})
        assert httpx.put(url, content=huge.encode()).status_code == 413


class TestPersistenceAndStats:
    def test_tests_runs_and_keys_survive_a_restart(self, tmp_path: Path) -> None:
        state = tmp_path / "state.json"
        with EmulatorServer(state_file=state, test_run_seconds=0.2) as first, _sdk(first) as sdk:
            test_id = new_test(sdk, assistant(sdk), test_suite="s")
            run = sdk.ai.assistants.tests.runs.trigger(test_id, idempotency_key="once")
            assert run.status == "pending"
            test = sdk.ai.assistants.tests.retrieve(test_id)
        time.sleep(0.25)
        with EmulatorServer(state_file=state) as second, _sdk(second) as sdk:
            assert sdk.ai.assistants.tests.retrieve(test_id) == test
            done = sdk.ai.assistants.tests.runs.retrieve(run.run_id, test_id=test_id)
            assert (done.status, done.created_at) == ("passed", run.created_at)
            assert sdk.ai.assistants.tests.runs.trigger(test_id, idempotency_key="once").run_id == run.run_id
            assert sdk.ai.assistants.tests.test_suites.list().data == ["s"]

    def test_a_state_file_from_before_tests_loads(self, tmp_path: Path) -> None:
        state = tmp_path / "state.json"
        state.write_text(json.dumps({"format": 1, "assistants": [], "tools": [], "idempotency": {}}))
        with EmulatorServer(state_file=state) as server, _sdk(server) as sdk:
            assert list(sdk.ai.assistants.tests.list()) == []
            new_test(sdk, "a")
        assert len(json.loads(state.read_text())["assistant_tests"]) == 1

    def test_stats_count_route_templates(self, sdk: telnyx.Telnyx, emulator: EmulatorServer) -> None:
        test_id = new_test(sdk, "a", test_suite="s")
        run = sdk.ai.assistants.tests.runs.trigger(test_id)
        sdk.ai.assistants.tests.runs.retrieve(run.run_id, test_id=test_id)
        sdk.ai.assistants.tests.test_suites.runs.list("s")
        by_route = emulator.stats()["by_route"]
        for route in (
            "POST /v2/ai/assistants/tests",
            "POST /v2/ai/assistants/tests/{test_id}/runs",
            "GET /v2/ai/assistants/tests/{test_id}/runs/{run_id}",
            "GET /v2/ai/assistants/tests/test-suites/{suite_name}/runs",
        ):
            assert by_route[route] == 1, by_route


def _sdk(server: EmulatorServer) -> telnyx.Telnyx:
    return telnyx.Telnyx(api_key="k", base_url=server.base_url, max_retries=0, _strict_response_validation=True)
