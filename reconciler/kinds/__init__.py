"""The registry of managed kinds, in apply order."""

from __future__ import annotations

from reconciler.kinds.assistant import AssistantHandler
from reconciler.kinds.base import KindHandler

HANDLERS: dict[str, KindHandler] = {h.kind: h for h in (AssistantHandler(),)}


def handler_for(kind: str) -> KindHandler:
    return HANDLERS[kind]


__all__ = ["HANDLERS", "KindHandler", "handler_for"]
