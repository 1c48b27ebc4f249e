"""Assistant tags: the org-wide list and per-assistant add/remove.

Why: tags live in the main version's `tags` (so `tags` on create/update still replaces the list), but the
tag endpoints edit that list in place and do not create a version, unlike an update (a documented choice:
Telnyx leaves it unverified).
"""

from __future__ import annotations

from typing import Any

from reconciler.emulator.state import StoreCore

JSON = dict[str, Any]


class TagOps(StoreCore):
    """GET /ai/assistants/tags, POST /ai/assistants/{id}/tags, DELETE /ai/assistants/{id}/tags/{tag}."""

    def all_tags(self) -> JSON:
        """Distinct tags across live assistants' main versions, sorted."""
        with self._lock:
            tags = {t for a in self.assistants.values() for t in a.main.config.get("tags") or []}
            return {"tags": sorted(tags)}

    def add_tag(self, assistant_id: str, tag: str) -> JSON:
        """Append tag unless it is there already (then nothing changes)."""
        with self._writing():
            config = self._get(assistant_id).main.config
            tags: list[str] = list(config.get("tags") or [])
            if tag not in tags:
                tags.append(tag)
                config["tags"] = tags
            return {"tags": tags}

    def remove_tag(self, assistant_id: str, tag: str) -> JSON:
        """Remove tag; removing a tag the assistant does not have is a no-op."""
        with self._writing():
            config = self._get(assistant_id).main.config
            tags = [t for t in config.get("tags") or [] if t != tag]
            if "tags" in config:
                config["tags"] = tags
            return {"tags": tags}
