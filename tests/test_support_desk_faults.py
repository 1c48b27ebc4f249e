"""The support desk through 20% injected faults: it converges, with no duplicate and nothing lost."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.helpers import REPO, run_cli

DESK = REPO / "examples" / "support-desk"
MAX_ATTEMPTS = 8


@pytest.mark.parametrize("seed", [1, 7, 42])
def test_support_desk_converges_through_faults(emulator: Any, sdk: Any, seed: int) -> None:
    emulator.set_faults(0.2, seed=seed, retry_after_s=0.01)
    codes = []
    for _ in range(MAX_ATTEMPTS):
        result = run_cli(["apply", str(DESK), "--yes", "--parallelism", "1"], emulator.base_url)
        codes.append(result.exit_code)
        if result.exit_code == 0:
            break
    assert codes[-1] == 0, f"no clean apply in {MAX_ATTEMPTS} attempts: {codes}"
    assert emulator.faults()["injected"] and sum(emulator.faults()["injected"].values()) > 0
    emulator.set_faults(0.0)

    planned = run_cli(["plan", str(DESK), "--detailed-exitcode"], emulator.base_url)
    assert (planned.exit_code, planned.stdout) == (0, "No changes. 10 objects match the manifests.\n")
    assistants = Counter(a.name for a in sdk.ai.assistants.list().data)
    tools = Counter(t.display_name for t in sdk.ai.tools.list())
    servers = Counter(s.name for s in sdk.ai.mcp_servers.list())
    assert assistants == Counter({"support-triage": 1, "support-billing": 1, "support-tech": 1})
    assert tools == Counter({"lookup-order": 1, "create-ticket": 1})
    assert servers == Counter({"crm": 1})
    tests = Counter(t.name for t in sdk.ai.assistants.tests.list())
    assert tests == Counter({"refund-within-limit": 1, "refund-over-limit": 1, "billing-question-handoff": 1})
    triage = next(a for a in sdk.ai.assistants.list().data if a.name == "support-triage")
    candidates = [v for v in sdk.ai.assistants.versions.list(triage.id).data if v.version_name == "concise-prompt"]
    assert len(candidates) == 1  # a lost answer never made a second candidate
