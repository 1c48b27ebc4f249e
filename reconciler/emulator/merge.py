"""The update semantics of POST /ai/assistants/{id}: a recursive merge patch.

Why: Telnyx leaves omitted top-level fields unchanged, merges nested objects field by field, clears a
value sent as explicit null, and replaces arrays wholesale. One small pure function keeps that testable.
"""

from __future__ import annotations

import copy
from typing import Any


def merge_patch(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Return current with patch applied; neither argument is modified."""
    merged = copy.deepcopy(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_patch(merged[key], value)
        else:
            merged[key] = _without_nulls(value)
    return merged


def _without_nulls(value: Any) -> Any:
    """A newly sent object stores no null members: null means absent, as in a merge patch."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return copy.deepcopy(value)
