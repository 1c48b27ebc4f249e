"""How long the client waits when the server says so: Retry-After in seconds, milliseconds or as an
HTTP date, honoured only within (0, 60] s; anything else falls back to the client's own backoff."""

from __future__ import annotations

import email.utils
import time

import pytest

from reconciler.api.client import retry_after_seconds


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after-ms": "nope", "retry-after": "3"}, 3.0),
        ({"retry-after": "0"}, None),
        ({"retry-after": "61"}, None),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "Mon, 99 Foo 2024 25:61:61 GMT"}, None),
        ({}, None),
    ],
)
def test_retry_after_values(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(headers) == expected


def test_an_http_date_counts_from_now() -> None:
    soon = email.utils.formatdate(time.time() + 10, usegmt=True)
    wait = retry_after_seconds({"retry-after": soon})
    assert wait is not None and 8 < wait <= 10
    past = email.utils.formatdate(time.time() - 10, usegmt=True)
    assert retry_after_seconds({"retry-after": past}) is None
