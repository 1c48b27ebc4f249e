"""Page-number pagination shared by the shared-tools and MCP-server lists.

Why: both lists take `page[number]` (1-based) and `page[size]`; only their envelopes differ
(telnyx-ai-api.md 1.2), so the slicing and the `meta` arithmetic live in one place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page:
    """A requested page: number is 1-based, size is 1..MAX_PAGE_SIZE."""

    number: int = 1
    size: int = DEFAULT_PAGE_SIZE

    def slice(self, items: list[T]) -> list[T]:
        start = (self.number - 1) * self.size
        return items[start : start + self.size]

    def meta(self, total: int) -> dict[str, Any]:
        """The `meta` object of a `{data, meta}` list; total_pages is 0 for an empty collection."""
        return {
            "page_number": self.number,
            "page_size": self.size,
            "total_pages": math.ceil(total / self.size),
            "total_results": total,
        }
