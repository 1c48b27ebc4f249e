"""Assistant tests, test suites and test runs (`/ai/assistants/tests`).

Why: the reconciler will gate a candidate version on its tests, so a run must target the version the
client names, finish on its own, and pass or fail for reasons the client controls. A test's
`destination` equal to an assistant id targets that assistant (any other destination cannot be reached
and its runs end `error`). The verdict is decided when the run is triggered, from the target version
as it is then (`judge.py`, or a script from `run_control.py`), and revealed when the run completes.
A run's status follows from wall-clock time on every read (`phase`), so nothing runs in the background
and a state file restored later shows finished runs.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from reconciler.emulator import judge
from reconciler.emulator.assistants import AssistantOps
from reconciler.emulator.errors import BadRequest, NotFound
from reconciler.emulator.paging import Page
from reconciler.emulator.run_control import RunControl, scripted_verdict
from reconciler.emulator.state import Assistant, Version, now_iso

JSON = dict[str, Any]
DEFAULT_CHANNEL = "web_chat"
"""The channel a test gets when the create body names none (the OpenAPI subset's default)."""
SERVER_OWNED = ("test_id", "created_at")
FINAL_STATUSES = frozenset({"passed", "failed", "error"})
STARTING_SHARE = 0.1  # of run_seconds: pending before, starting after
RUNNING_SHARE = 0.2  # of run_seconds: running from here until the run is done
TRIGGERED_BY = "api"


def iso_at(epoch: float) -> str:
    """An epoch time the way Telnyx timestamps read (ISO-8601 UTC with microseconds)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def schedule(run_seconds: float, slow_seconds: float | None = None) -> JSON:
    """Seconds after the trigger at which a run becomes starting, running and final.

    Pending for the first 10% of run_seconds, starting until 20%, running until run_seconds; a slow
    script keeps it running for its own seconds after the 20% mark instead.
    """
    starting, running = STARTING_SHARE * run_seconds, RUNNING_SHARE * run_seconds
    done = running + slow_seconds if slow_seconds is not None else run_seconds
    return {"starting": starting, "running": running, "done": done}


def phase(run: JSON, now: float) -> tuple[str, float]:
    """A run's status at wall-clock time `now`, and the offset (s after the trigger) it began at."""
    elapsed = now - float(run["created"])
    offsets = run["schedule"]
    if elapsed >= offsets["done"]:
        return str(run["verdict"]["status"]), float(offsets["done"])
    if elapsed >= offsets["running"]:
        return "running", float(offsets["running"])
    if elapsed >= offsets["starting"]:
        return "starting", float(offsets["starting"])
    return "pending", 0.0


def render_run(run: JSON, now: float) -> JSON:
    """The SDK's TestRunResponse of a run record at time `now`; results show only once it is final."""
    status, since = phase(run, now)
    created = float(run["created"])
    shown: JSON = {
        "run_id": run["run_id"],
        "test_id": run["test_id"],
        "status": status,
        "triggered_by": TRIGGERED_BY,
        "created_at": iso_at(created),
        "updated_at": iso_at(created + since),
    }
    if run.get("test_suite_run_id"):
        shown["test_suite_run_id"] = run["test_suite_run_id"]
    if run.get("conversation_id") and status not in ("pending", "starting"):
        shown["conversation_id"] = run["conversation_id"]
    if status in FINAL_STATUSES:
        verdict = run["verdict"]
        shown["completed_at"] = iso_at(created + float(run["schedule"]["done"]))
        shown["detail_status"] = copy.deepcopy(verdict["detail_status"])
        shown["logs"] = verdict["logs"]
    return shown


class AssistantTestOps(AssistantOps):
    """CRUD of tests, the suite list, and triggering and reading runs."""

    run_control: RunControl

    # -- tests -------------------------------------------------------------------------------------

    def _test(self, test_id: str) -> JSON:
        test = self.assistant_tests.get(test_id)
        if test is None:
            raise NotFound(f"Test {test_id} not found")
        self._mark(self.assistant_tests, test_id)
        return test

    def _check_name(self, name: str, test_id: str | None) -> None:
        """Names are unique (the SDK: "Must be unique"): a scripted outcome may name a test by it."""
        for other in self.assistant_tests.values():
            if other["name"] == name and other["test_id"] != test_id:
                raise BadRequest(f"A test named {name!r} already exists ({other['test_id']})")

    def create_test(self, body: JSON) -> JSON:
        body = self._kept(body, "CreateAssistantTestRequest")
        with self._writing():
            self._check_name(body["name"], None)
            extra = {k: v for k, v in body.items() if k not in SERVER_OWNED}
            test: JSON = {
                "test_id": str(uuid.uuid4()),
                "created_at": now_iso(),
                **extra,
                "telnyx_conversation_channel": body.get("telnyx_conversation_channel", DEFAULT_CHANNEL),
            }
            self.assistant_tests[test["test_id"]] = test
            return copy.deepcopy(test)

    def get_test(self, test_id: str) -> JSON:
        with self._lock:
            return copy.deepcopy(self._test(test_id))

    def update_test(self, test_id: str, body: JSON) -> JSON:
        """Partial update: the fields sent replace, the others stay; runs already triggered keep their verdict."""
        body = self._kept(body, "UpdateAssistantTestRequest")
        with self._writing():
            current = self._test(test_id)
            if "name" in body:
                self._check_name(body["name"], test_id)
            changes = {k: v for k, v in body.items() if k not in SERVER_OWNED}
            updated = {**current, **copy.deepcopy(changes)}
            self.assistant_tests[test_id] = updated
            return copy.deepcopy(updated)

    def delete_test(self, test_id: str) -> None:
        """Delete the test and every run of it."""
        with self._writing():
            self._test(test_id)
            del self.assistant_tests[test_id]
            for run_id in [k for k, r in self.test_runs.items() if r["test_id"] == test_id]:
                del self.test_runs[run_id]

    def list_tests(self, page: Page, suite: str | None, channel: str | None, destination: str | None) -> JSON:
        """`{data, meta}` in creation order; the three filters match exactly."""
        wanted = {"test_suite": suite, "telnyx_conversation_channel": channel, "destination": destination}
        with self._lock:
            found = [
                copy.deepcopy(t)
                for t in self.assistant_tests.values()
                if all(value is None or t.get(key) == value for key, value in wanted.items())
            ]
            return {"data": page.slice(found), "meta": page.meta(len(found))}

    def list_suites(self) -> JSON:
        """`{"data": [...]}`: the distinct suite names of all tests, sorted."""
        with self._lock:
            names = {t["test_suite"] for t in self.assistant_tests.values() if t.get("test_suite")}
            return {"data": sorted(names)}

    # -- runs --------------------------------------------------------------------------------------

    def _target(self, test: JSON, version_id: str | None) -> tuple[Assistant, Version] | None:
        """The assistant version a run of test talks to; None when the destination is not an assistant.

        A destination_version_id that is not a version of the destination assistant is a 400, as the
        SDK documents.
        """
        destination = str(test.get("destination", ""))
        assistant = self.assistants.get(destination)
        if version_id is None:
            return (assistant, assistant.main) if assistant is not None else None
        if assistant is None:
            raise BadRequest(
                f"destination_version_id {version_id}: the destination {destination!r} of test "
                f"{test['test_id']} is not an assistant, so it has no versions"
            )
        if not any(v.version_id == version_id for v in assistant.versions):
            raise BadRequest(
                f"Version {version_id} is not a version of assistant {assistant.id}, "
                f"the destination of test {test['test_id']}"
            )
        return assistant, assistant.version(version_id)

    def _answer(self, version: Version) -> str:
        """The judge's answer text of a version: its config, attached shared tools, MCP server names."""
        servers = [ref.get("id") for ref in version.config.get("mcp_servers") or [] if isinstance(ref, dict)]
        names = [str(self.mcp_servers[s]["name"]) for s in servers if s in self.mcp_servers]
        return judge.answer_text(version.config, self._shared(version.tool_ids), names)

    def _new_run(self, test: JSON, target: tuple[Assistant, Version] | None, suite_run: JSON | None) -> JSON:
        """Decide the verdict now and store the run; `suite_run` is {"id", "suite"} for a suite trigger."""
        rubric: list[JSON] = test["rubric"]
        limit = test.get("max_duration_seconds")
        script = self.run_control.take(test["test_id"], test["name"])
        verdict = scripted_verdict(script, rubric, limit) if script is not None else None
        if verdict is None:
            if target is None:
                verdict = judge.unreachable(rubric, str(test.get("destination", "")))
            else:
                verdict = judge.judge(rubric, self._answer(target[1]), limit)
        talked = verdict.status != "error" or verdict.logs.startswith("timeout:")
        slow = script.seconds if script is not None and script.outcome == "slow" else None
        run: JSON = {
            "run_id": str(uuid.uuid4()),
            "test_id": test["test_id"],
            "test_suite_run_id": suite_run["id"] if suite_run else None,
            "suite": suite_run["suite"] if suite_run else None,
            "created": datetime.now(UTC).timestamp(),
            "schedule": schedule(self.run_control.run_seconds, slow),
            "conversation_id": str(uuid.uuid4()) if talked else None,
            "target": {"assistant_id": target[0].id, "version_id": target[1].version_id} if target else None,
            "verdict": verdict.as_json(),
        }
        self.test_runs[run["run_id"]] = run
        return run

    def trigger_run(self, test_id: str, body: JSON) -> JSON:
        """Start one run of a test, on destination_version_id or the destination's main version."""
        with self._writing():
            test = self._test(test_id)
            target = self._target(test, body.get("destination_version_id"))
            run = self._new_run(test, target, None)
            return render_run(run, float(run["created"]))

    def trigger_suite(self, suite: str, body: JSON) -> list[JSON]:
        """One run per test of the suite (creation order), sharing a test_suite_run_id; 404 for no tests.

        Every target is checked before any run is made, so a bad destination_version_id starts nothing.
        """
        with self._writing():
            tests = [t for t in self.assistant_tests.values() if t.get("test_suite") == suite]
            if not tests:
                raise NotFound(f"Test suite {suite} has no tests")
            targets = [self._target(t, body.get("destination_version_id")) for t in tests]
            batch = {"id": str(uuid.uuid4()), "suite": suite}
            runs = [self._new_run(t, target, batch) for t, target in zip(tests, targets, strict=True)]
            return [render_run(run, float(run["created"])) for run in runs]

    def _page_of_runs(self, runs: Iterable[JSON], page: Page, status: str | None) -> JSON:
        """`{data, meta}` of runs newest first, filtered by their status now."""
        now = datetime.now(UTC).timestamp()
        shown = [render_run(r, now) for r in reversed(list(runs))]
        found = [r for r in shown if status is None or r["status"] == status]
        return {"data": page.slice(found), "meta": page.meta(len(found))}

    def list_runs(self, test_id: str, page: Page, status: str | None) -> JSON:
        with self._lock:
            self._test(test_id)
            return self._page_of_runs((r for r in self.test_runs.values() if r["test_id"] == test_id), page, status)

    def get_run(self, test_id: str, run_id: str) -> JSON:
        with self._lock:
            self._test(test_id)
            run = self.test_runs.get(run_id)
            if run is None or run["test_id"] != test_id:
                raise NotFound(f"Run {run_id} of test {test_id} not found")
            return render_run(run, datetime.now(UTC).timestamp())

    def list_suite_runs(self, suite: str, page: Page, status: str | None, suite_run_id: str | None) -> JSON:
        """Runs started by triggering the suite (not single-test runs), newest first; empty for no such suite."""
        with self._lock:
            runs = (
                r
                for r in self.test_runs.values()
                if r.get("suite") == suite and (suite_run_id is None or r.get("test_suite_run_id") == suite_run_id)
            )
            return self._page_of_runs(runs, page, status)
