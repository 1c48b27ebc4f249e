"""Where to connect: flags, environment, or the embedded emulator behind ``--local``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from reconciler.api.limits import Limits
from reconciler.errors import ConfigError

if TYPE_CHECKING:  # the client imports httpx: only a command that connects pays for it (issue 18)
    from reconciler.api.client import TelnyxClient

LOCAL_STATE = Path(".reconciler") / "local-state.json"
LOCAL_API_KEY = "local-emulator-key"
DEFAULT_PARALLELISM = 16
"""Requests in flight at most (``--parallelism``); writes use half (``Connection.write_parallelism``).

Measured: a no-change plan of 1000 assistants at 50 ms waits on 200 canary reads, 25 round trips at
8 in flight and 13 at 16 (3.4-3.9 s against 2.6-3.2 s end to end), while 8 writes at once kept an
apply within 1.35x of its bound. A read changes nothing, so more of them at once risk no more than
a 429, which halves the number in flight."""


@dataclass(frozen=True)
class Connection:
    """Resolved connection settings; ``repr`` never shows the key."""

    base_url: str
    api_key: str | None = field(repr=False)
    local: bool = False
    parallelism: int = DEFAULT_PARALLELISM
    limits: Limits = field(default_factory=Limits)

    @property
    def write_parallelism(self) -> int:
        """Writes in flight at most: half of ``parallelism`` (reads use all of it); 1 stays 1."""
        return max(1, self.parallelism // 2)

    @property
    def account(self) -> str:
        """A non-secret name for the account: the API host and a short digest of the key.

        Saved plans and ledgers record it so that they refuse another account. The digest is
        one-way and cut to 12 hex digits, so it identifies a key without revealing it; a key
        rotation therefore looks like another account (plan again).
        """
        import hashlib  # OpenSSL's start costs 5-10 ms: only a command that names the account pays (issue 18)

        if self.local:
            return "local emulator"
        parts = urlsplit(self.base_url)
        host = f"{parts.hostname}:{parts.port}" if parts.port else (parts.hostname or "?")  # never userinfo
        key = hashlib.sha256(f"reconciler-account:{self.api_key or ''}".encode()).hexdigest()[:12]
        return f"{host} key:{key}"

    @classmethod
    def resolve(
        cls, base_url: str | None, api_key: str | None, local: bool, parallelism: int,
        limits: Limits | None = None,
    ) -> Connection:
        """Flags win over ``TELNYX_BASE_URL`` / ``TELNYX_API_KEY``, which win over defaults."""
        from reconciler.api.client import DEFAULT_BASE_URL

        return cls(
            base_url=base_url or os.environ.get("TELNYX_BASE_URL") or DEFAULT_BASE_URL,
            api_key=api_key or os.environ.get("TELNYX_API_KEY"),
            local=local,
            parallelism=max(1, parallelism),
            limits=limits if limits is not None else Limits.from_env(),
        )


@contextmanager
def open_client(connection: Connection) -> Iterator[TelnyxClient]:
    """A client for the connection; with ``--local`` the emulator runs for the client's lifetime."""
    from reconciler.api.client import TelnyxClient

    if connection.local:
        from reconciler.emulator import EmulatorServer  # only --local pays for the server import

        LOCAL_STATE.parent.mkdir(parents=True, exist_ok=True)
        try:
            server = EmulatorServer(api_key=LOCAL_API_KEY, state_file=LOCAL_STATE)
        except ValueError as exc:  # the state file is damaged or another --local run holds it
            raise ConfigError(f"--local: {exc}") from None
        with server, TelnyxClient(
            server.base_url, LOCAL_API_KEY, max_connections=connection.parallelism, limits=connection.limits
        ) as client:
            yield client
        return
    with TelnyxClient(
        connection.base_url,
        connection.api_key or "",
        max_connections=connection.parallelism,
        limits=connection.limits,
    ) as client:
        yield client
