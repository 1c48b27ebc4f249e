"""How fast test runs finish and which outcomes are scripted: the state behind `/_emulator/test-runs`.

Why: a client's polling and its handling of each outcome must be testable without waiting on the
judge or bending an assistant to fail. `run_seconds` sets how long a run takes (default 1 s, so a
`--local` user sees progress); a scripted outcome, per test name or id, overrides the judge for every
run of that test or only the next `times` ones. The settings live in memory, like fault injection.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

from reconciler.emulator import judge
from reconciler.emulator.judge import Verdict

JSON = dict[str, Any]
DEFAULT_RUN_SECONDS = 1.0
MAX_SECONDS = 3600.0
MAX_OUTCOMES = 1000
MAX_KEY_CHARS = 255
MAX_BODY_BYTES = 64 * 1024
MAX_BODY_DEPTH = 8
OUTCOMES = ("pass", "fail", "error", "timeout", "slow")
SETTINGS = frozenset({"run_seconds", "outcomes"})
OUTCOME_FIELDS = frozenset({"outcome", "seconds", "times"})
SCRIPTED = "scripted by PUT /_emulator/test-runs"


@dataclass(frozen=True)
class Script:
    """One scripted outcome; `seconds` only for slow, `times` None for every run."""

    outcome: str
    seconds: float | None = None
    times: int | None = None

    def as_json(self) -> JSON:
        shown: JSON = {"outcome": self.outcome}
        if self.seconds is not None:
            shown["seconds"] = self.seconds
        if self.times is not None:
            shown["times"] = self.times
        return shown


def _seconds(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{where} must be a number of seconds, got {value!r}")
    if not 0 <= value <= MAX_SECONDS:
        raise ValueError(f"{where} must be between 0 and {MAX_SECONDS:g}, got {value!r}")
    return float(value)


def _script(key: Any, entry: Any) -> Script:
    where = f"outcomes[{key!r}]"
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_CHARS:
        raise ValueError(f"{where}: keys are test names or test ids (1 to {MAX_KEY_CHARS} characters)")
    if not isinstance(entry, dict):
        raise ValueError(f'{where} must be an object like {{"outcome": "fail"}}')
    unknown = sorted(set(entry) - OUTCOME_FIELDS)
    if unknown:
        raise ValueError(f"{where}: unknown fields {unknown}; known: {sorted(OUTCOME_FIELDS)}")
    outcome = entry.get("outcome")
    if outcome not in OUTCOMES:
        raise ValueError(f"{where}.outcome must be one of {list(OUTCOMES)}, got {outcome!r}")
    seconds = entry.get("seconds")
    if outcome == "slow":
        if seconds is None:
            raise ValueError(f"{where}: a slow outcome needs seconds (how long the run stays running)")
        seconds = _seconds(seconds, f"{where}.seconds")
    elif seconds is not None:
        raise ValueError(f"{where}.seconds applies only to the slow outcome")
    times = entry.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise ValueError(f"{where}.times must be a whole number of runs, at least 1, got {times!r}")
    return Script(str(outcome), seconds, times)


def parse_settings(document: Any) -> tuple[float, dict[str, Script]]:
    """`(run_seconds, outcomes)` from a PUT body; ValueError with a message saying what is wrong.

    A PUT sets everything: an absent `run_seconds` is the default and absent `outcomes` is none.
    """
    if not isinstance(document, dict):
        raise ValueError('send a JSON object like {"run_seconds": 0.2, "outcomes": {"test name": {"outcome": "fail"}}}')
    unknown = sorted(set(document) - SETTINGS)
    if unknown:
        raise ValueError(f"unknown test-run settings {unknown}; known: {sorted(SETTINGS)}")
    run_seconds = _seconds(document.get("run_seconds", DEFAULT_RUN_SECONDS), "run_seconds")
    outcomes = document.get("outcomes", {})
    if not isinstance(outcomes, dict):
        raise ValueError("outcomes must be an object keyed by test name or test id")
    if len(outcomes) > MAX_OUTCOMES:
        raise ValueError(f"outcomes may script at most {MAX_OUTCOMES} tests, got {len(outcomes)}")
    return run_seconds, {key: _script(key, entry) for key, entry in outcomes.items()}


class RunControl:
    """The settings in force; thread-safe, since the control route and the store both use it."""

    def __init__(self, run_seconds: float = DEFAULT_RUN_SECONDS) -> None:
        self._lock = threading.Lock()
        self._default_seconds = _seconds(run_seconds, "run_seconds")
        self._run_seconds = self._default_seconds
        self._outcomes: dict[str, Script] = {}

    @property
    def run_seconds(self) -> float:
        with self._lock:
            return self._run_seconds

    def set(self, document: Any) -> JSON:
        """Replace every setting from a PUT body (ValueError when it is not valid); the new settings."""
        run_seconds, outcomes = parse_settings(document)
        with self._lock:
            self._run_seconds, self._outcomes = run_seconds, outcomes
        return self.as_json()

    def reset(self) -> JSON:
        """Back to the start settings: the emulator's run_seconds and no scripted outcome."""
        with self._lock:
            self._run_seconds, self._outcomes = self._default_seconds, {}
        return self.as_json()

    def as_json(self) -> JSON:
        with self._lock:
            return {
                "run_seconds": self._run_seconds,
                "outcomes": {key: script.as_json() for key, script in self._outcomes.items()},
            }

    def take(self, test_id: str, name: str) -> Script | None:
        """The script for the next run of a test (by id, else by name), counting down `times`."""
        with self._lock:
            key = test_id if test_id in self._outcomes else name if name in self._outcomes else None
            if key is None:
                return None
            script = self._outcomes[key]
            if script.times is not None:
                if script.times <= 1:
                    del self._outcomes[key]
                else:
                    self._outcomes[key] = Script(script.outcome, script.seconds, script.times - 1)
            return script


def scripted_verdict(script: Script, rubric: list[JSON], max_duration_seconds: int | None) -> Verdict | None:
    """The verdict a scripted outcome forces; None for `slow`, which leaves the verdict to the judge."""
    names = [str(item.get("name", "")) for item in rubric]
    if script.outcome == "pass":
        lines = [f"PASS {name}: {SCRIPTED}" for name in names]
        return Verdict("passed", judge.all_items(rubric, "passed"), "\n".join([*lines, "result: passed"]))
    if script.outcome == "fail":
        details = [{"name": name, "status": "failed" if i == 0 else "passed"} for i, name in enumerate(names)]
        lines = [f"{'FAIL' if i == 0 else 'PASS'} {name}: {SCRIPTED}" for i, name in enumerate(names)]
        return Verdict("failed", details, "\n".join([*lines, "result: failed"]))
    if script.outcome == "error":
        return Verdict("error", judge.all_items(rubric, "error"), f"error: the run failed to execute ({SCRIPTED})")
    if script.outcome == "timeout":
        return judge.timed_out(rubric, max_duration_seconds, SCRIPTED)
    return None
