"""The emulator's state and business rules, one object behind one lock.

Why: HTTP handlers need a single thing to call. Each resource's rules live in their own module; this one
only composes them. The records (Assistant, Version) and persistence are in `state`.
"""

from __future__ import annotations

from reconciler.emulator.canary import CanaryOps
from reconciler.emulator.imports import ImportOps
from reconciler.emulator.mcp_servers import McpServerOps
from reconciler.emulator.shared_tools import SharedToolOps
from reconciler.emulator.tags import TagOps


class Store(ImportOps, SharedToolOps, McpServerOps, TagOps, CanaryOps):
    """Assistants, versions, imports, shared tools, MCP servers, tags and canary deploys."""
