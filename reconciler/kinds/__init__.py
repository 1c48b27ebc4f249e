"""The registry of managed kinds.

    level  kinds                      written    deleted
    0      Tool, McpServer            first      last
    1      Assistant
    2      AssistantVersion           (candidate versions, planned by CanaryDeploy)
    2      AssistantTest              (after the assistant it tests)
    3      CanaryDeploy               last       first
"""

from __future__ import annotations

from reconciler.kinds.assistant import AssistantHandler
from reconciler.kinds.assistant_test import AssistantTestHandler
from reconciler.kinds.base import KindHandler, PlanContext
from reconciler.kinds.canary import AssistantVersionHandler, CanaryDeployHandler
from reconciler.kinds.mcp_server import McpServerHandler
from reconciler.kinds.tool import ToolHandler

HANDLERS: dict[str, KindHandler] = {
    h.kind: h
    for h in (
        ToolHandler(),
        McpServerHandler(),
        AssistantHandler(),
        AssistantVersionHandler(),
        CanaryDeployHandler(),
        AssistantTestHandler(),
    )
}


def handler_for(kind: str) -> KindHandler:
    return HANDLERS[kind]


__all__ = ["HANDLERS", "KindHandler", "PlanContext", "handler_for"]
