"""HTTP access to the Telnyx AI API: auth, envelopes, retries and one error model.

Why not the official SDK: it retries POST updates blindly (each retry can cost an assistant
version), drops unknown fields in its typed models, and renames ``from``/``async``. The engine
needs the raw JSON and full control over which writes may be repeated.

Retry policy (see docs/reliability notes in the README):

    method / situation                         retried?
    GET, PUT, PATCH, DELETE                    408, 429, 5xx, connection errors, timeouts
    POST with an Idempotency-Key (creates)     408, 429, 5xx, connection errors, timeouts
    other POST (assistant updates, promote)    only when the server surely did not act:
                                               429, 408, and failures to connect

A 429 that says when to come back (Retry-After) is the server pacing us, not a failure: it is
retried when asked, up to ``THROTTLED_RETRIES_PER_RETRY`` times ``max_retries`` (32 by default) and
within the command's deadline, and it holds every worker back until then (api/throttle.py). From the
first 429 on, request starts are paced at a rate learned from the 429s (api/pacing.py).

The API key is only ever placed in the ``Authorization`` header; no message, exception or
log line built here contains it.
"""

from __future__ import annotations

import dataclasses
import email.utils
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from reconciler import __version__
from reconciler.api.http import httpx
from reconciler.api.json_body import NotJson, StreamRefused, TooDeep, decode_json, loads_json
from reconciler.api.limits import Limits
from reconciler.api.throttle import AdaptiveLimit
from reconciler.api.transfer import AttemptTimedOut, TooSlow, Watch, watch_connections, watching
from reconciler.errors import (
    ApiAuthError,
    ApiError,
    ApiNotFound,
    ApiUnavailable,
    ApiValidationError,
    ConfigError,
)

DEFAULT_BASE_URL = "https://api.telnyx.com/v2"
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
THROTTLED_RETRIES_PER_RETRY = 8
"""A 429 with Retry-After has its own budget, this many times max_retries: under a rate limit a request
may wait its turn several times without anything being wrong."""
SAFE_POST_RETRY_STATUS = frozenset({408, 429})
MAX_RETRY_AFTER_SECONDS = 60.0
MAX_ERROR_BODY = 1024 * 1024
"""Most of an error body read; the message needs its first lines, not megabytes."""
TESTS = "/ai/assistants/tests"


class ResponseRefused(ApiUnavailable):
    """The server's answer broke a limit (size, depth, pages, time): it is not used, and not retried."""


def shown_url(url: str) -> str:
    """The URL without ``user:password@``, for messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(an invalid URL)"
    if parts.username is None and parts.password is None and not parts.query and not parts.fragment:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))  # a query may carry a token too


def _unwrap(payload: Any) -> Any:
    """Single objects are mostly bare, but tolerate a ``{"data": {...}}`` envelope."""
    if isinstance(payload, dict) and set(payload) == {"data"} and isinstance(payload["data"], dict):
        return payload["data"]
    return payload


def error_message(body: Any, fallback: str) -> str:
    """One readable line from either error shape the service uses."""
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            parts = []
            for err in errors:
                if not isinstance(err, dict):
                    continue
                text = err.get("detail") or err.get("title") or ""
                code = err.get("code")
                source = err.get("source")
                pointer = source.get("pointer") if isinstance(source, dict) else None
                piece = str(text)
                if pointer:
                    piece = f"{pointer}: {piece}"
                if code:
                    piece = f"{piece} (code {code})"
                parts.append(piece)
            if parts:
                return "; ".join(parts)
        detail = body.get("detail")
        if isinstance(detail, list) and detail:
            parts = []
            for item in detail:
                if isinstance(item, dict):
                    loc = ".".join(str(p) for p in item.get("loc", []) if p != "body")
                    msg = str(item.get("msg", ""))
                    parts.append(f"{loc}: {msg}" if loc else msg)
            if parts:
                return "; ".join(parts)
        if isinstance(detail, str) and detail:
            return detail
    if isinstance(body, str) and body.strip():
        return body.strip()[:300]
    return fallback


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Delay the server asked for, honoured when 0 < delay <= 60 s like the SDK does."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            value = float(raw_ms) / 1000.0
        except ValueError:
            value = -1.0
        if 0 < value <= MAX_RETRY_AFTER_SECONDS:
            return value
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        try:
            value = email.utils.parsedate_to_datetime(raw).timestamp() - time.time()
        except (TypeError, ValueError):  # neither seconds nor an HTTP date: back off as usual
            return None
    return value if 0 < value <= MAX_RETRY_AFTER_SECONDS else None


HTTP_LOG = logging.getLogger("reconciler.http")
"""One line per attempt (method, route, status, duration, retry, request id) at INFO: ``-v``.
Never a header, body or query string: nothing a secret can be in."""


def _log_attempt(method: str, path: str, outcome: str, started: float, retry: int, request_id: str | None) -> None:
    if HTTP_LOG.isEnabledFor(logging.INFO):
        HTTP_LOG.info("%s %s %s %.0f ms retry=%d%s", method, path, outcome, (time.monotonic() - started) * 1000,
                      retry, f" request_id={request_id[:100]}" if request_id else "")


class TelnyxClient:
    """A thread-safe, retrying JSON client for ``/v2/ai/...`` routes."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float | None = None,
        limits: Limits | None = None,
        max_retries: int = 4,
        backoff_base: float = 0.25,
        backoff_cap: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        max_connections: int = 16,
    ) -> None:
        if not api_key:
            raise ConfigError("no API key: pass --api-key or set TELNYX_API_KEY (or use --local)")
        if not (api_key.isascii() and api_key.isprintable()) or any(c.isspace() for c in api_key):
            raise ConfigError("the API key has a character an HTTP header cannot carry (non-ASCII, a space or "
                              "a control character); check --api-key / TELNYX_API_KEY")
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"base URL must start with http:// or https://, got {shown_url(base_url)!r}")
        self.base_url = base_url.rstrip("/")
        self.shown_url = shown_url(self.base_url)
        self.limits = limits if limits is not None else Limits()
        if timeout is not None:
            self.limits = dataclasses.replace(self.limits, request_timeout=timeout)
        self._deadline = time.monotonic() + self.limits.deadline
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": f"telnyx-reconciler/{__version__}",
            },
            timeout=httpx.Timeout(self.limits.request_timeout, connect=min(5.0, self.limits.request_timeout)),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )
        watch_connections(self._http)  # time and rate bounds on every read (api/transfer.py)
        self.request_count = 0
        self.limit = AdaptiveLimit(max_connections)
        self._pages = ThreadPoolExecutor(max_workers=max(1, max_connections), thread_name_prefix="pages")
        self._turn = threading.Lock()  # one paced request waits for the next start at a time (_wait_turn)

    def close(self) -> None:
        self._pages.shutdown(wait=True)
        self._http.close()

    def __enter__(self) -> TelnyxClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport -------------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter so parallel workers do not retry in lockstep."""
        delay: float = min(self.backoff_base * (2**attempt), self.backoff_cap)
        return delay * (1 - 0.25 * random.random())

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str | int] | None = None,
        idempotency_key: str | None = None,
        repeatable: bool | None = None,
    ) -> Any:
        """Send one request with retries; return the parsed JSON body (``None`` when empty).

        ``repeatable`` overrides the policy for a POST that is harmless to repeat (adding a tag).
        """
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        may_repeat = repeatable if repeatable is not None else (method != "POST" or idempotency_key is not None)
        content = json.dumps(body).encode() if body is not None else None
        if content is not None:
            headers["Content-Type"] = "application/json"
        attempt = slow = throttled = 0
        while True:
            self._check_deadline(method, path)
            turn = self._wait_turn(method, path)
            started = time.monotonic()
            try:
                self.request_count += 1
                with self.limit:
                    epoch = self.limit.epoch
                    response, payload = self._send(method, path, content, params, headers, turn is not None)
            except httpx.ConnectError as exc:
                _log_attempt(method, path, type(exc).__name__, started, attempt + throttled, None)
                failure = f"cannot connect to {self.shown_url}: {type(exc).__name__}"
                if attempt < self.max_retries:
                    self._pause(self._backoff(attempt), method, path)
                    attempt += 1
                    continue
                raise ApiUnavailable(f"{method} {path}: {failure}") from None
            except httpx.TransportError as exc:
                _log_attempt(method, path, type(exc).__name__, started, attempt + throttled, None)
                # The request may have reached the server: only repeat what is safe to repeat.
                failure = f"{type(exc).__name__} talking to {self.shown_url}"
                if isinstance(exc, AttemptTimedOut):
                    failure = f"no complete answer within {self.limits.request_timeout:g} s (--request-timeout)"
                elif isinstance(exc, TooSlow):  # a second slow answer is not waited for again
                    failure, slow = str(exc), slow + 1
                if may_repeat and attempt < self.max_retries and slow < 2:
                    self._pause(self._backoff(attempt), method, path)
                    attempt += 1
                    continue
                outcome = "" if method == "GET" else " (outcome unknown)"
                raise ApiUnavailable(f"{method} {path}: {failure}{outcome}") from None
            status = response.status_code
            _log_attempt(method, path, str(status), started, attempt + throttled, response.headers.get("x-request-id"))
            if status != 429:
                self.limit.pacer.answered()  # it took a token, whatever the answer
            if status < 400:
                self.limit.succeeded()
                return payload
            wait = retry_after_seconds(response.headers)
            if status == 429:
                self.limit.throttled(epoch, wait)
                self.limit.pacer.refused(turn, wait)
            retryable = status in RETRYABLE_STATUS if may_repeat else status in SAFE_POST_RETRY_STATUS
            if status == 429 and wait is not None and throttled < self.max_retries * THROTTLED_RETRIES_PER_RETRY:
                throttled += 1  # the hold set by throttled(), or the pace, makes the loop wait it out
                HTTP_LOG.info("%s %s: HTTP 429, retrying in %.1f s (Retry-After)", method, path, wait)
                continue
            if retryable and attempt < self.max_retries:
                delay = wait if wait is not None else self._backoff(attempt)
                HTTP_LOG.info("%s %s: HTTP %s, retrying in %.1f s%s", method, path, status, delay,
                              " (Retry-After)" if wait is not None else "")
                self._pause(delay, method, path)
                attempt += 1
                continue
            raise self._error(method, path, response)

    def _remaining(self) -> float:
        return max(0.0, self._deadline - time.monotonic())

    def _check_deadline(self, method: str, path: str) -> None:
        if self._remaining() <= 0:
            raise self._past_deadline(method, path)

    def _past_deadline(self, method: str, path: str) -> ResponseRefused:
        return ResponseRefused(
            f"{method} {path}: the command reached its deadline of {self.limits.deadline:g} s (--deadline)"
        )

    def _wait_turn(self, method: str, path: str) -> float | None:
        """Before an attempt: wait out a Retry-After (maybe another worker's), then this request's turn
        in the pace (api/pacing.py; there is none before the first 429): the turn's time, or None.

        One request at a time waits for the next start (``_turn``), and its start is taken only when
        it is due: the one before may go out late (a thread waking late, a slow write), and the next
        is then due a pace after that (``Pacer.sent``), not after its turn. Reserved ahead, starts
        keep their spacing on the clock but not on the wire."""
        held = self.limit.held_for()
        if held > 0:
            self._pause(held, method, path)
        pacer = self.limit.pacer
        if pacer.rate is None:
            return None
        with self._turn:
            while (due := pacer.due()) is not None:
                wait = max(due - time.monotonic(), self.limit.held_for())  # or a long Retry-After meanwhile
                if wait <= 0:
                    break
                self._pause(wait, method, path)
            return pacer.reserve()

    def _pause(self, delay: float, method: str, path: str) -> None:
        """Wait before a retry, unless the wait would reach the command's deadline."""
        if delay >= self._remaining():
            raise self._past_deadline(method, path)
        self._sleep(delay)

    def _send(
        self, method: str, path: str, content: bytes | None, params: Mapping[str, str | int] | None,
        headers: Mapping[str, str], paced: bool = False,
    ) -> tuple[httpx.Response, Any]:
        """One attempt: the response, and the decoded body of a success (``None`` otherwise).

        A successful read is decoded while it arrives (``json_body``): list bodies can be tens of
        megabytes. Anything else is read whole; a write's non-JSON answer comes back as text.
        Every body is read through ``_chunks``, which enforces the size limits (``api/limits.py``);
        every read from the socket keeps the attempt's time and rate bounds (``api/transfer.py``).
        """
        until = min(time.monotonic() + self.limits.request_timeout, self._deadline)
        with watching(Watch(until, self.limits.min_transfer_bytes, self.limits.transfer_window)) as watch:
            answer = self._attempt(method, path, content, params, headers, until, watch, paced=paced)
            if answer is None:  # only the streaming parser refused the read's body: ask again, read it whole
                self.request_count += 1
                watch.restart()
                answer = self._attempt(method, path, content, params, headers, until, watch, whole=True)
            assert answer is not None
            return answer

    def _attempt(
        self, method: str, path: str, content: bytes | None, params: Mapping[str, str | int] | None,
        headers: Mapping[str, str], until: float, watch: Watch, whole: bool = False, paced: bool = False,
    ) -> tuple[httpx.Response, Any] | None:
        """One request and its answer; None when a read's body is one only the streaming parser refuses
        (an integer beyond 64 bits): a GET is safe to repeat, and ``whole`` reads it in one piece."""
        wait = max(0.001, until - time.monotonic())
        request = self._http.build_request(method, path, content=content, params=params, headers=headers)
        request.extensions["timeout"] = httpx.Timeout(wait, connect=min(5.0, wait)).as_dict()
        if paced:  # the pace counts from when the request went out (Pacer.sent)
            request.extensions["trace"] = self._on_trace
        response = self._http.send(request, stream=True)
        watch.headers_received()
        try:
            if response.status_code >= 400:
                response.error_body = b"".join(self._chunks(response, method, path, until, MAX_ERROR_BODY))  # type: ignore[attr-defined]
                return response, None
            if method == "GET" and not whole:
                return self._read(response, path, until)
            body = b"".join(self._chunks(response, method, path, until))
            if not body.strip() and method != "GET":
                return response, None
            try:
                return response, loads_json(body, self.limits.max_depth)
            except TooDeep:
                raise self._refused(method, path, "depth") from None
            except NotJson as exc:
                if method == "GET":
                    raise ApiError("GET", path, response.status_code, f"the response is not JSON: {exc}") from None
                return response, body.decode("utf-8", "replace")
        finally:
            response.close()

    def _on_trace(self, event: str, info: Mapping[str, Any]) -> None:
        """httpcore's trace of a paced attempt: its last byte written is when it went out."""
        if event.endswith("send_request_body.complete"):
            self.limit.pacer.sent(time.monotonic())

    def _refused(self, method: str, path: str, what: str) -> ResponseRefused:
        limits = self.limits
        reasons = {
            "decoded": f"the response is larger than {limits.max_response_bytes} bytes once decoded "
                       "(RECONCILER_MAX_RESPONSE_BYTES)",
            "received": f"more than {limits.max_download_bytes} bytes received (RECONCILER_MAX_DOWNLOAD_BYTES)",
            "depth": f"the response nests deeper than {limits.max_depth} levels (RECONCILER_MAX_DEPTH)",
        }
        return ResponseRefused(f"{method} {path}: {reasons[what]}")

    def _chunks(
        self, response: httpx.Response, method: str, path: str, until: float, truncate: int | None = None
    ) -> Iterator[bytes]:
        """The decoded body, chunk by chunk, within the limits of size and time.

        With ``truncate`` (error bodies) a body past that size is cut rather than refused.
        """
        decoded = 0
        try:
            for chunk in response.iter_bytes():
                decoded += len(chunk)
                if truncate is not None and decoded > truncate:
                    yield chunk[: len(chunk) - (decoded - truncate)]
                    return
                if decoded > self.limits.max_response_bytes:
                    raise self._refused(method, path, "decoded")
                if response.num_bytes_downloaded > self.limits.max_download_bytes:
                    raise self._refused(method, path, "received")
                if time.monotonic() > until:
                    raise AttemptTimedOut("the answer took longer than the time per request")
                yield chunk
        except httpx.DecodingError:
            raise ApiError(method, path, response.status_code, "the response's Content-Encoding is corrupt") from None

    def _read(self, response: httpx.Response, path: str, until: float) -> tuple[httpx.Response, Any] | None:
        """A read's body, decoded as it arrives; None in the rare case only the streaming parser refuses
        it (an integer beyond 64 bits)."""
        try:
            return response, decode_json(self._chunks(response, "GET", path, until), self.limits.max_depth)
        except TooDeep:
            raise self._refused("GET", path, "depth") from None
        except StreamRefused:
            return None
        except NotJson as exc:
            raise ApiError("GET", path, response.status_code, f"the response is not JSON: {exc}") from None

    def _error(self, method: str, path: str, response: httpx.Response) -> ApiError:
        raw: bytes = getattr(response, "error_body", b"")
        try:
            body: Any = loads_json(raw, self.limits.max_depth)
        except NotJson:
            body = raw.decode("utf-8", "replace")
        status = response.status_code
        message = error_message(body, response.reason_phrase or "error")
        if status == 404 and not urlsplit(self.base_url).path.rstrip("/").endswith("/v2"):
            message += f"; the base URL should end in /v2 (it is {self.shown_url})"
        request_id = response.headers.get("x-request-id")
        if request_id:
            message += f" (request id {request_id[:100]})"
        cls: type[ApiError]
        if status in (401, 403):
            cls = ApiAuthError
        elif status == 404:
            cls = ApiNotFound
        elif status in (400, 422):
            cls = ApiValidationError
        else:
            cls = ApiError
        return cls(method, path, status, message)

    # -- assistants ------------------------------------------------------------------------

    def list_assistants(self) -> list[dict[str, Any]]:
        """All assistants as full objects (the list is unpaginated)."""
        payload = self.request("GET", "/ai/assistants")
        return _list_items(payload, "/ai/assistants")

    def create_assistant(self, body: Mapping[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        return _object(self.request("POST", "/ai/assistants", body=body, idempotency_key=idempotency_key))

    def get_assistant(self, assistant_id: str) -> dict[str, Any]:
        return _object(self.request("GET", f"/ai/assistants/{assistant_id}"))

    def update_assistant(self, assistant_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return _object(self.request("POST", f"/ai/assistants/{assistant_id}", body=body))

    def delete_assistant(self, assistant_id: str) -> None:
        self.request("DELETE", f"/ai/assistants/{assistant_id}")

    def import_assistants(
        self, provider: str, api_key_ref: str, import_ids: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """Import assistants from another platform; re-importing overwrites earlier imports."""
        body: dict[str, Any] = {"provider": provider, "api_key_ref": api_key_ref}
        if import_ids:
            body["import_ids"] = import_ids
        # Importing again overwrites the same assistants, so a lost answer may be retried.
        return _list_items(self.request("POST", "/ai/assistants/import", body=body, repeatable=True))

    def list_versions(self, assistant_id: str) -> list[dict[str, Any]]:
        return _list_items(self.request("GET", f"/ai/assistants/{assistant_id}/versions"))

    def get_version(self, assistant_id: str, version_id: str) -> dict[str, Any]:
        path = f"/ai/assistants/{assistant_id}/versions/{version_id}"
        return _object(self.request("GET", path, params={"include_mcp_servers": "true"}))

    def promote_version(self, assistant_id: str, version_id: str) -> dict[str, Any]:
        """Make a kept version main; Telnyx deletes the assistant's canary config with it. No new version."""
        path = f"/ai/assistants/{assistant_id}/versions/{version_id}/promote"
        return _object(self.request("POST", path, repeatable=True))

    def add_tag(self, assistant_id: str, tag: str) -> None:
        self.request("POST", f"/ai/assistants/{assistant_id}/tags", body={"tag": tag}, repeatable=True)

    def remove_tag(self, assistant_id: str, tag: str) -> None:
        self.request("DELETE", f"/ai/assistants/{assistant_id}/tags/{quote(tag, safe='')}")

    def attach_tool(self, assistant_id: str, tool_id: str) -> dict[str, Any]:
        """Attach a shared tool to the main version in place; attaching twice is a no-op."""
        return _object(self.request("PUT", f"/ai/assistants/{assistant_id}/tools/{quote(tool_id, safe='')}"))

    def detach_tool(self, assistant_id: str, tool_id: str) -> dict[str, Any]:
        """Detach a shared tool from the main version in place; 404 when it is not attached."""
        return _object(self.request("DELETE", f"/ai/assistants/{assistant_id}/tools/{quote(tool_id, safe='')}"))

    # -- canary deploys --------------------------------------------------------------------

    def get_canary(self, assistant_id: str) -> dict[str, Any] | None:
        """The assistant's canary config, or ``None`` when it has none (404)."""
        try:
            return _object(self.request("GET", f"/ai/assistants/{assistant_id}/canary-deploys"))
        except ApiNotFound:
            return None

    def create_canary(self, assistant_id: str, body: Mapping[str, Any], idempotency_key: str) -> dict[str, Any]:
        path = f"/ai/assistants/{assistant_id}/canary-deploys"
        return _object(self.request("POST", path, body=body, idempotency_key=idempotency_key))

    def replace_canary(self, assistant_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return _object(self.request("PUT", f"/ai/assistants/{assistant_id}/canary-deploys", body=body))

    def delete_canary(self, assistant_id: str) -> None:
        self.request("DELETE", f"/ai/assistants/{assistant_id}/canary-deploys")

    # -- shared tools ----------------------------------------------------------------------

    def list_tools(self) -> list[dict[str, Any]]:
        return list(self.iter_pages("/ai/tools"))

    def create_tool(self, body: Mapping[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        return _object(self.request("POST", "/ai/tools", body=body, idempotency_key=idempotency_key))

    def get_tool(self, tool_id: str) -> dict[str, Any]:
        return _object(self.request("GET", f"/ai/tools/{tool_id}"))

    def update_tool(self, tool_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return _object(self.request("PATCH", f"/ai/tools/{tool_id}", body=body))

    def delete_tool(self, tool_id: str) -> None:
        self.request("DELETE", f"/ai/tools/{tool_id}")

    # -- MCP servers -----------------------------------------------------------------------

    def list_mcp_servers(self, page_size: int = 100) -> list[dict[str, Any]]:
        """A bare array per page with no totals: read until a short or empty page.

        Bounded: at most ``max_pages`` pages, and a page that repeats the previous one (a server
        that ignores ``page[number]``) stops the loop with an error instead of looping forever.
        """
        path = "/ai/mcp_servers"
        items: list[dict[str, Any]] = []
        previous: list[Any] | None = None
        number = 1
        while True:
            page = _list_items(
                self.request("GET", path, params={"page[number]": number, "page[size]": page_size}), path
            )
            ids = [item.get("id") for item in page]
            if ids and ids == previous:
                raise ResponseRefused(
                    f"GET {path}: page {number} repeats page {number - 1}; the server ignores page[number]"
                )
            items.extend(page)
            if len(page) < page_size:
                return items
            if number >= self.limits.max_pages:
                raise self._too_many_pages(path, f"more than {number}")
            previous = ids
            number += 1

    def _too_many_pages(self, path: str, count: str) -> ResponseRefused:
        return ResponseRefused(
            f"GET {path}: the list has {count} pages; at most {self.limits.max_pages} are read (RECONCILER_MAX_PAGES)"
        )

    def create_mcp_server(self, body: Mapping[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        return _object(self.request("POST", "/ai/mcp_servers", body=body, idempotency_key=idempotency_key))

    def get_mcp_server(self, server_id: str) -> dict[str, Any]:
        return _object(self.request("GET", f"/ai/mcp_servers/{server_id}"))

    def replace_mcp_server(self, server_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return _object(self.request("PUT", f"/ai/mcp_servers/{server_id}", body=body))

    def delete_mcp_server(self, server_id: str) -> None:
        self.request("DELETE", f"/ai/mcp_servers/{server_id}")

    # -- assistant tests, suites and runs -------------------------------------------------------

    def list_assistant_tests(self) -> list[dict[str, Any]]:
        return list(self.iter_pages(TESTS, id_field="test_id"))

    def create_assistant_test(self, body: Mapping[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        return _object(self.request("POST", TESTS, body=body, idempotency_key=idempotency_key))

    def get_assistant_test(self, test_id: str) -> dict[str, Any]:
        return _object(self.request("GET", f"{TESTS}/{_segment(test_id)}"))

    def update_assistant_test(self, test_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return _object(self.request("PUT", f"{TESTS}/{_segment(test_id)}", body=body))

    def delete_assistant_test(self, test_id: str) -> None:
        self.request("DELETE", f"{TESTS}/{_segment(test_id)}")

    def trigger_test_run(self, test_id: str, version_id: str | None, idempotency_key: str) -> dict[str, Any]:
        body = {"destination_version_id": version_id} if version_id else {}
        path = f"{TESTS}/{_segment(test_id)}/runs"
        return _object(self.request("POST", path, body=body, idempotency_key=idempotency_key))

    def trigger_suite_run(self, suite: str, version_id: str | None, idempotency_key: str) -> list[dict[str, Any]]:
        body = {"destination_version_id": version_id} if version_id else {}
        path = f"{TESTS}/test-suites/{_segment(suite)}/runs"
        return _list_items(self.request("POST", path, body=body, idempotency_key=idempotency_key), path, "run_id")

    def get_test_run(self, test_id: str, run_id: str) -> dict[str, Any]:
        return _object(self.request("GET", f"{TESTS}/{_segment(test_id)}/runs/{_segment(run_id)}"))

    def iter_pages(
        self,
        path: str,
        page_size: int = 100,
        id_field: str = "id",
        params: Mapping[str, str | int] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Items of a ``{data, meta}`` page-number list: page 1, then every other page at once.

        ``meta.total_pages`` is checked against ``max_pages`` before any other page is asked for,
        and a page that repeats page 1 stops the list with an error. ``id_field`` names the key
        that identifies an item (``test_id`` and ``run_id`` on the tests routes).
        """
        extra = dict(params or {})

        def page(number: int) -> Any:
            return self.request("GET", path, params={**extra, "page[number]": number, "page[size]": page_size})

        first = page(1)
        items = _list_items(first, path, id_field)
        yield from items
        meta = first.get("meta", {}) if isinstance(first, dict) else {}
        total = meta.get("total_pages") if isinstance(meta, dict) else None
        if not items or not isinstance(total, int) or isinstance(total, bool) or total <= 1:
            return
        if total > self.limits.max_pages:
            raise self._too_many_pages(path, str(total))
        first_ids = [item.get(id_field) for item in items]
        for number, payload in enumerate(self._pages.map(page, range(2, total + 1)), start=2):
            more = _list_items(payload, path, id_field)
            if more and [item.get(id_field) for item in more] == first_ids:
                raise ResponseRefused(f"GET {path}: page {number} repeats page 1; the server ignores page[number]")
            yield from more


def _segment(value: str) -> str:
    """One path segment: a suite name may hold any character, and none may add a segment."""
    return quote(value, safe="")


def _object(payload: Any) -> dict[str, Any]:
    value = _unwrap(payload)
    if not isinstance(value, dict):
        raise ApiError("?", "?", 200, f"expected a JSON object, got {type(value).__name__}")
    return value


def _list_items(payload: Any, path: str = "?", id_field: str = "id") -> list[dict[str, Any]]:
    """Items of a list response in any of the three envelopes (data list, bare array).

    Every item must be an object with a text id (``id_field``): the engine matches and writes by
    id, so an item without one is the server's fault, reported as such rather than met later as a
    KeyError.
    """
    if isinstance(payload, list):
        found = payload
    elif isinstance(payload, dict) and isinstance(payload.get("data"), list):
        found = payload["data"]
    else:
        raise ApiError("GET", path, 200, "expected a list response")
    items = [item for item in found if isinstance(item, dict)]
    for index, item in enumerate(items):
        if not isinstance(item.get(id_field), str) or not item[id_field]:
            raise ApiError("GET", path, 200, f"list item {index} has no {id_field}")
    return items
