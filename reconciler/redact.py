"""Masking of secrets: the last line of defence before anything is printed or written.

Three rules, each closing a way a secret used to leak:

- **By value, in every encoding.** A secret (a ``${secret:...}`` value, the API key, the password
  of a ``--base-url``) is masked as it is and as a JSON string, a Python repr, URL-encoded and
  base64 show it: a server that echoes ``Authorization`` URL-encoded, or jsonschema quoting the
  repr of a value with a tab, no longer shows it.
- **Whole words only.** A short secret ``loo`` must not turn ``Tool/lookup-order`` into
  ``Tool/(sensitive)kup-order`` (which gives the value away by elimination), so a match inside a
  word is left alone, and secrets shorter than ``MIN_SECRET_LENGTH`` are refused when read.
- **By field.** Header values, ``*_password``, ``*_key``, ``*_token`` and ``*_secret`` fields are
  masked whatever their value: a header set in the portal or a manifest that stopped using a
  secret is no ``${secret:...}`` value, and still must not be printed (``mask_fields``).

Secrets become known at different times (the key at start, manifest secrets while loading), and an
error can happen before a plan exists, so every one is also ``remember``-ed for the whole command:
the CLI masks every message with ``known()``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus

MASK = "(sensitive)"

MIN_SECRET_LENGTH = 4
"""Shortest secret masked safely: shorter ones would match inside too many words."""

_known: set[str] = set()
_lock = threading.Lock()


def remember(secrets: Iterable[str]) -> None:
    """Mask these values in every message of this command from now on."""
    with _lock:
        _known.update(s for s in secrets if s)


def known() -> frozenset[str]:
    with _lock:
        return frozenset(_known)


def forget_all() -> None:
    """Start a new command (the CLI calls this first; tests run many commands in one process)."""
    with _lock:
        _known.clear()


def too_short(secret: str) -> bool:
    return len(secret) < MIN_SECRET_LENGTH


def contains_secret(value: Any, secrets: Iterable[str]) -> bool:
    """True when any string inside ``value`` contains a secret value (as a whole word) or is masked already
    (``mask_fields``), so renderers treat a field masked by name like one masked by value."""
    wanted = frozenset(s for s in secrets if s)
    if isinstance(value, str):
        return value == MASK or (bool(wanted) and _pattern(wanted).search(value) is not None)
    if isinstance(value, dict):
        return any(contains_secret(v, wanted) or contains_secret(k, wanted) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(contains_secret(v, wanted) for v in value)
    return False


_USERINFO = re.compile(r"(?<=://)[^/@\s'\"<>]+(?=@)")


def mask_text(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret in every encoding (whole words only), and the userinfo of any URL."""
    text = _USERINFO.sub(MASK, text)
    wanted = frozenset(s for s in secrets if s)
    if not wanted:
        return text
    return _pattern(wanted).sub(MASK, text)


def encodings(secret: str) -> set[str]:
    """The forms a secret takes in output: raw, JSON, repr, URL-encoded, base64, HTML."""
    import base64  # only with a secret to mask: not at every start (issue 18)
    import html

    data = secret.encode("utf-8", "surrogatepass")
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        ascii(secret)[1:-1],
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        html.escape(secret),
        base64.b64encode(data).decode(),
        base64.b64encode(data).decode().rstrip("="),
        base64.urlsafe_b64encode(data).decode().rstrip("="),
    }
    return {f for f in forms if f}


# Before a match: not a word character, unless that character ends an escape (\n, \u00e9, %20).
_BEFORE = (
    r"(?:(?<!\w)|(?<=\\[nrtbfv0'\"\\/])|(?<=%[0-9A-Fa-f]{2})|(?<=\\u[0-9A-Fa-f]{4})"
    r"|(?<=\\x[0-9A-Fa-f]{2})|(?<=\\U[0-9A-Fa-f]{8})|(?<=&[a-z]{2};)|(?<=&[a-z]{3};)|(?<=&[a-z]{4};))"
)
_AFTER = r"(?!\w)"
WHOLE_WORD_BELOW = 8
"""Secret forms shorter than this are masked only as whole words; longer ones wherever they occur."""


@lru_cache(maxsize=64)
def _pattern(secrets: frozenset[str]) -> re.Pattern[str]:
    """One expression for every form of every secret, longest first so overlaps mask fully."""
    forms = sorted({form for secret in secrets for form in encodings(secret)}, key=len, reverse=True)
    alternatives = []
    for form in forms:
        # Short forms only as whole words (a 4-letter key must not eat into "lookup-order"); long
        # ones anywhere, so "sk_" + secret or a secret glued to other text is still masked.
        whole = len(form) < WHOLE_WORD_BELOW
        before = _BEFORE if whole and re.match(r"\w", form) else ""
        after = _AFTER if whole and re.search(r"\w$", form) else ""
        alternatives.append(f"{before}{re.escape(form)}{after}")
    return re.compile("|".join(alternatives))


_SENSITIVE_KEY = re.compile(
    r"(?:^|_)(?:password|passwd|secret|token|key|apikey|api_key|credentials?)$|^authorization$", re.IGNORECASE
)


def sensitive_key(key: object) -> bool:
    return isinstance(key, str) and _SENSITIVE_KEY.search(key) is not None


def mask_fields(value: Any, path: tuple[Any, ...] = ()) -> Any:
    """A copy of ``value`` (found at ``path``) with every sensitive field masked.

    Sensitive: the ``value`` of any item of a ``headers`` list, and keys named like a secret
    (``sip_auth_password``, ``api_key``, ``crm_token``). ``api_key_ref`` names a secret stored at
    Telnyx, not a secret, and stays.
    """
    if value is None:
        return None
    last = path[-1] if path else None
    if sensitive_key(last):
        return MASK  # a list or object under a secret-named key is as secret as a string
    if len(path) >= 3 and path[-3] == "headers" and last == "value":
        return MASK
    if isinstance(value, dict):
        return {k: mask_fields(v, (*path, k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_fields(v, (*path, i)) for i, v in enumerate(value)]
    return value


P = TypeVar("P")


def mask_plan(plan: P) -> P:
    """The plan as it may be shown or saved: every change's values with sensitive fields masked.

    Apply uses the plan itself; this copy is for renderers and saved plans only.
    """
    changes = []
    for change in getattr(plan, "changes", ()):
        fields = tuple(
            dataclasses.replace(f, before=mask_fields(f.before, f.path), after=mask_fields(f.after, f.path))
            for f in change.fields
        )
        changes.append(
            dataclasses.replace(
                change, before=mask_fields(change.before), after=mask_fields(change.after),
                body=mask_fields(change.body), fields=fields,
            )
        )
    return dataclasses.replace(plan, changes=tuple(changes))  # type: ignore[type-var]
