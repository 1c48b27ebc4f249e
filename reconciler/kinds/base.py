"""What the engine needs to know about one kind of object.

Each kind module answers the same questions: how to list live objects, which name identifies
one, how a live object looks in the request shape (so it can be compared with a manifest),
what body a create or update sends, and which calls make it so.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from reconciler.client import TelnyxClient
from reconciler.model import Resource


class KindHandler(ABC):
    """One managed kind. Subclasses are stateless; one instance lives in the registry."""

    kind: str
    level: int
    """Position in the apply order: lower levels are created first and deleted last."""

    @abstractmethod
    def list_live(self, client: TelnyxClient) -> list[dict[str, Any]]:
        """Every live object of this kind, as full objects."""

    @abstractmethod
    def live_name(self, live: Mapping[str, Any]) -> str:
        """The manifest name a live object answers to."""

    def live_id(self, live: Mapping[str, Any]) -> str:
        return str(live["id"])

    @abstractmethod
    def desired_body(self, resource: Resource) -> dict[str, Any]:
        """The full create body for a manifest."""

    @abstractmethod
    def comparable(self, live: Mapping[str, Any]) -> dict[str, Any]:
        """A live object in request shape, with read-only and server-owned fields removed."""

    @abstractmethod
    def update_body(self, desired: Mapping[str, Any], changed_keys: list[str]) -> dict[str, Any]:
        """What an update sends, given the top-level keys that differ."""

    @abstractmethod
    def create(self, client: TelnyxClient, body: Mapping[str, Any], idempotency_key: str) -> dict[str, Any]:
        """Create the object; return the live object."""

    @abstractmethod
    def update(self, client: TelnyxClient, live_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Update the object; return the live object."""

    @abstractmethod
    def delete(self, client: TelnyxClient, live_id: str) -> None:
        """Delete the object."""
