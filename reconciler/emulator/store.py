"""The emulator's state and business rules, one object behind one lock.

Why: HTTP handlers need a single thing to call. Each resource's rules live in their own module; this one
only composes them. The records (Assistant, Version) and persistence are in `state`.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.emulator.assistant_tests import AssistantTestOps
from reconciler.emulator.canary import CanaryOps
from reconciler.emulator.imports import ImportOps
from reconciler.emulator.mcp_servers import McpServerOps
from reconciler.emulator.run_control import DEFAULT_RUN_SECONDS, RunControl
from reconciler.emulator.shared_tools import SharedToolOps
from reconciler.emulator.tags import TagOps


class Store(ImportOps, SharedToolOps, McpServerOps, TagOps, CanaryOps, AssistantTestOps):
    """Assistants, versions, imports, shared tools, MCP servers, tags, canary deploys and assistant tests."""

    def __init__(self, state_file: Path | None = None, test_run_seconds: float = DEFAULT_RUN_SECONDS,
                 lock_wait_s: float = 0.0) -> None:
        """``test_run_seconds``: how long a test run takes until `PUT /_emulator/test-runs` says otherwise
        (ValueError unless 0..3600); ``lock_wait_s``: how long to wait for the state file's lock."""
        self.run_control = RunControl(test_run_seconds)
        super().__init__(state_file, lock_wait_s)
