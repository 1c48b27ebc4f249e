"""Masking of secret values: the last line of defence before anything is printed or written."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MASK = "(sensitive)"


def contains_secret(value: Any, secrets: Iterable[str]) -> bool:
    """True when any string inside ``value`` contains a secret value."""
    wanted = [s for s in secrets if s]
    if not wanted:
        return False
    if isinstance(value, str):
        return any(secret in value for secret in wanted)
    if isinstance(value, dict):
        return any(contains_secret(v, wanted) or contains_secret(k, wanted) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(contains_secret(v, wanted) for v in value)
    return False


def mask_text(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of every secret, longest first so overlaps mask fully."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text

