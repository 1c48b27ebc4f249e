"""Shared fixtures: a fresh emulator per test and the official SDK pointed at it.

Other test modules rely on these names and behaviours; keep them stable.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import telnyx

from reconciler.emulator import EmulatorServer

TEST_API_KEY = "test-key-not-secret"
AUTH = {"Authorization": f"Bearer {TEST_API_KEY}"}
"""Headers for raw HTTP calls to the ``emulator`` fixture."""


def payload(raw_response: Any) -> Any:
    """The JSON of an SDK `with_raw_response` call, typed loosely for assertions."""
    return raw_response.json()


def body(error: telnyx.APIStatusError) -> Any:
    """The parsed JSON body of an SDK error, typed loosely for assertions."""
    return error.body


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """A running emulator with an empty store, requiring TEST_API_KEY; stopped after the test."""
    with EmulatorServer(api_key=TEST_API_KEY) as server:
        yield server


@pytest.fixture
def http(emulator: EmulatorServer) -> Iterator[httpx.Client]:
    """A plain HTTP client on the emulator's /v2 base, authorised: for what the SDK would hide."""
    with httpx.Client(base_url=emulator.base_url, headers=AUTH) as client:
        yield client


@pytest.fixture
def sdk(emulator: EmulatorServer) -> Iterator[telnyx.Telnyx]:
    """The official SDK, strict response validation on and retries off, so shape drift fails loudly."""
    client = telnyx.Telnyx(
        api_key=TEST_API_KEY, base_url=emulator.base_url, max_retries=0, _strict_response_validation=True
    )
    with client:
        yield client
