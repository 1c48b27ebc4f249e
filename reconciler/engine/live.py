"""Read the live account with as few requests as the manifests allow, while they are still loading.

One list call per listable kind the manifests need (lists return full objects); then, only for
assistants that a CanaryDeploy manifest targets (or every managed assistant when pruning), the
canary config and the versions list.

Why while loading: reading 1000 manifests costs about as much CPU time as the round trips of a
plan cost waiting. ``LiveReader.saw`` is told of each manifest as soon as it is valid, starts the
list its kind needs at once, and each canary read as soon as both the manifest naming the
assistant and the list giving its id are in; ``LiveReader.state`` then waits for what is still on
the way and reads what the final set of manifests needs and nothing was started for. Reads started
for manifests that later turn out invalid are discarded with the plan that never happens.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future
from typing import Any

from reconciler.api.client import TelnyxClient
from reconciler.kinds import handler_for
from reconciler.model import LiveState, Resource

LISTED_IN_ORDER = ("Tool", "McpServer", "Assistant", "AssistantTest")

SWITCH_INTERVAL = 0.001
"""Seconds a thread may hold the GIL while another waits, while reads run beside loading."""

CANARY = "canary"
VERSIONS = "versions"


def index_live(kind: str, items: Iterable[dict[str, Any]]) -> LiveState:
    """Index one kind's live objects by name, remembering every name that is not unique."""
    handler = handler_for(kind)
    items = list(items)
    objects: dict[tuple[str, str], dict[str, Any]] = {}
    ids: dict[tuple[str, str], list[str]] = {}
    for item in items:
        key = (kind, handler.live_name(item))
        ids.setdefault(key, []).append(handler.live_id(item))
        objects.setdefault(key, item)
    duplicates = {key: tuple(found) for key, found in ids.items() if len(found) > 1}
    return LiveState(objects=objects, duplicates=duplicates, lists={kind: items})


def kinds_for(resource: Resource) -> set[str]:
    """Listable kinds one manifest needs: its own, plus what its references are resolved from."""
    kinds = {resource.kind}
    if resource.kind in ("CanaryDeploy", "AssistantTest"):
        kinds.add("Assistant")  # a canary's and a test's assistant is found by name in the list
    if resource.kind == "Assistant" and ("shared_tools" in resource.spec or "tool_ids" in resource.spec):
        kinds.add("Tool")  # to recognise attached shared tools
    return kinds & set(LISTED_IN_ORDER)


def kinds_to_list(resources: Iterable[Resource], extra: Iterable[str] = ()) -> list[str]:
    """Listable kinds the manifests need, plus ``extra`` (e.g. kinds of owned objects a prune may delete)."""
    kinds = set(extra) | {kind for resource in resources for kind in kinds_for(resource)}
    if "CanaryDeploy" in kinds:
        kinds.add("Assistant")
    return [k for k in LISTED_IN_ORDER if k in kinds]


def reads_for(resource: Resource, prune: bool) -> set[tuple[str, str]]:
    """(what, assistant name) reads one manifest needs beyond the lists: a canary's config and versions;
    with prune, every assistant's config (a canary config of a pruned assistant goes with it)."""
    if resource.kind == "CanaryDeploy":
        assistant = str(resource.spec["assistant"])
        return {(CANARY, assistant), (VERSIONS, assistant)}
    if prune and resource.kind == "Assistant":
        return {(CANARY, resource.name)}
    return set()


class LiveReader:
    """The reads of one plan, started as manifests are seen, on one pool of ``parallelism`` workers.

    Use as a context manager; ``saw`` from the thread that loads, ``state`` once loading is done.
    Names given to ``saw`` pass through ``live_name`` first (an environment's prefix).
    """

    def __init__(
        self,
        client: TelnyxClient,
        parallelism: int = 8,
        *,
        prune: bool = False,
        extra_kinds: Iterable[str] = (),
        live_name: Callable[[str], str] = str,
    ) -> None:
        self.client = client
        self.prune = prune
        self.extra_kinds = set(extra_kinds)
        self.live_name = live_name
        self._pool = DaemonPool(max(1, parallelism), "live-read")
        self._lock = threading.Lock()
        self._lists: dict[str, Future[list[dict[str, Any]]]] = {}
        self._reads: dict[tuple[str, str], Future[Any]] = {}
        self._waiting: set[tuple[str, str]] = set()  # reads whose assistant id the list has not given yet
        self._assistant_ids: dict[str, str] | None = None
        self._listed_assistants: Mapping[tuple[str, str], dict[str, Any]] | None = None  # once listed
        self._interval: float | None = None  # the switch interval to restore (see __enter__)
        self._pending: list[Future[Any]] = []  # the reads the last state() handed over
        for kind in self.extra_kinds & set(LISTED_IN_ORDER):
            self._start_list(kind)

    def __enter__(self) -> LiveReader:
        # While the main thread loads manifests, a worker decoding an answer waits for the GIL at every
        # chunk, up to the switch interval (5 ms) each time: a 10 MB list took 1.2 s instead of 0.4 s.
        # A shorter interval while reading costs the loader little (measured: plan 3.6 s -> 2.7 s).
        self._interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._interval, SWITCH_INTERVAL))
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        self.close(wait=kind is None)

    def close(self, wait: bool = True) -> None:
        """Drop what has not started. ``wait=False`` (loading failed: nobody will use the reads) leaves
        requests still on the wire behind: a slow server must not delay the manifests' problems."""
        try:
            self._pool.shutdown(wait)
        finally:
            if self._interval is not None:
                sys.setswitchinterval(self._interval)
                self._interval = None

    def saw(self, resource: Resource) -> None:
        """A valid manifest was loaded: start what it needs that is not started yet."""
        for kind in kinds_for(resource):
            self._start_list(kind)
        for what, name in reads_for(resource, self.prune):
            self._want(what, self.live_name(name))
        listed = self._listed_assistants
        if resource.kind == "Assistant" and listed is not None and isinstance(resource.spec, dict):
            share_strings(resource.spec, listed.get(("Assistant", self.live_name(resource.name))))

    def state(
        self, resources: Iterable[Resource], follow: Callable[[LiveState], LiveState] | None = None,
        *, wait: bool = True,
    ) -> LiveState:
        """The live state the final ``resources`` need: waits for the reads started, starts the rest.

        ``follow`` puts renamed objects under their manifest names (the planner's ``follow_renames``):
        a canary's assistant renamed in git or in the portal is read by its id, so its versions are
        known and its candidate is not written again. Errors of any read needed (an HTTP error, a
        timeout) are raised here, in the caller's thread.

        ``wait=False`` waits for the lists only: each canary config and versions list is waited for
        when the plan first looks it up, so the assistants are diffed while those reads finish. Its
        errors are raised there, or by ``settle`` for a read the plan never looked at.
        """
        resources = list(resources)
        kinds = kinds_to_list(resources, self.extra_kinds)
        for kind in kinds:
            self._start_list(kind)
        objects: dict[tuple[str, str], dict[str, Any]] = {}
        duplicates: dict[tuple[str, str], tuple[str, ...]] = {}
        lists: dict[str, list[dict[str, Any]]] = {}
        for kind in kinds:
            part = index_live(kind, self._lists[kind].result())
            objects.update(part.objects)
            duplicates.update(part.duplicates)
            lists.update(part.lists)
            if kind == "Assistant":
                self._know_assistants(part.objects)
        needed = {read for resource in resources for read in reads_for(resource, self.prune)}
        named = follow(LiveState(objects, duplicates, lists)).objects if follow is not None else objects
        found = sorted(read for read in needed if ("Assistant", read[1]) in named)
        reads: dict[tuple[str, str], Future[Any]] = {}
        handler = handler_for("Assistant")
        for read in found:
            future = self._want(*read, assistant_id=handler.live_id(named[("Assistant", read[1])]))
            if future is None:
                raise RuntimeError(f"the live reader is closed; {read[0]} of {read[1]} was not read")
            reads[read] = future
        self._pending = list(reads.values())
        canaries = Awaited({name: future for (what, name), future in reads.items() if what == CANARY})
        versions = Awaited({name: future for (what, name), future in reads.items() if what == VERSIONS})
        if wait:
            self.settle()
            return LiveState(objects, duplicates, lists, dict(canaries), dict(versions))
        return LiveState(objects, duplicates, lists, canaries, versions)

    def settle(self) -> None:
        """Wait for every read the last ``state`` handed over, raising the first error among them."""
        for future in self._pending:
            future.result()

    def _start_list(self, kind: str) -> None:
        with self._lock:
            if kind in self._lists:
                return
            future = self._pool.submit(handler_for(kind).list_live, self.client)
            self._lists[kind] = future
        if kind == "Assistant":
            future.add_done_callback(self._assistants_listed)

    def _assistants_listed(self, future: Future[list[dict[str, Any]]]) -> None:
        """Runs in the worker that listed them; ``state`` may get there first (callbacks run after ``result``)."""
        if future.cancelled() or future.exception() is not None:
            return  # state() raises the error, masked like every other
        try:
            self._know_assistants(index_live("Assistant", future.result()).objects)
        except Exception:  # a malformed item: state() meets it again and says so
            return

    def _know_assistants(self, listed: Mapping[tuple[str, str], dict[str, Any]]) -> None:
        """Learn the assistants' ids (once) from their index and start every read that waited for one."""
        handler = handler_for("Assistant")
        ids = {name: handler.live_id(item) for (_, name), item in listed.items()}
        with self._lock:
            if self._assistant_ids is not None:
                return
            self._assistant_ids = ids
            self._listed_assistants = listed
            waiting, self._waiting = self._waiting, set()
        for what, name in sorted(waiting):
            self._want(what, name)

    def _want(self, what: str, name: str, assistant_id: str | None = None) -> Future[Any] | None:
        """The read of ``what`` for the assistant ``name`` (by ``assistant_id`` when given: one renamed),
        started if need be; None while its id is unknown (it starts when the list comes), when the
        account has no such assistant, or once closed."""
        with self._lock:
            if (what, name) in self._reads:
                return self._reads[(what, name)]
            if assistant_id is None and self._assistant_ids is None:
                self._waiting.add((what, name))
                return None
            if assistant_id is None and self._assistant_ids is not None:
                assistant_id = self._assistant_ids.get(name)
            if assistant_id is None:
                return None  # not in the account: nothing to read
            read = self.client.get_canary if what == CANARY else self.client.list_versions
            try:
                future = self._reads[(what, name)] = self._pool.submit(read, assistant_id)
            except RuntimeError:  # the pool is shut down: the command is over
                return None
            return future


SHARED_STRING_MIN = 256
"""Strings shorter than this are not worth comparing to share (``share_strings``)."""


def share_strings(spec: dict[str, Any], live: Mapping[str, Any] | None) -> None:
    """Make the manifest's long top-level strings that equal the live object's the same object.

    Why: an account of 5000 assistants with 8 KB prompts held each prompt twice, once read from the
    manifest and once from the list (about 40 MB). Equal strings are interchangeable; the manifest's
    copy is dropped as soon as it arrives, so the peak does not hold both.
    """
    if live is None:
        return
    for key, value in spec.items():
        if type(value) is str and len(value) >= SHARED_STRING_MIN:
            have = live.get(key)
            if type(have) is str and have == value:
                spec[key] = have


class Awaited(Mapping[str, Any]):
    """Read results by assistant name, each waited for the first time it is looked up.

    Its keys are known at once; a value whose read failed raises that read's error where it is
    looked up (never a KeyError, which ``get`` would turn into "not read").
    """

    def __init__(self, futures: Mapping[str, Future[Any]]) -> None:
        self._futures = dict(futures)

    def __getitem__(self, name: str) -> Any:
        future = self._futures[name]
        try:
            return future.result()
        except KeyError as exc:
            raise RuntimeError(f"reading {name!r} failed: {exc!r}") from exc

    def __contains__(self, name: object) -> bool:
        return name in self._futures  # known at once: no need to wait for the read

    def __iter__(self) -> Iterator[str]:
        return iter(self._futures)

    def __len__(self) -> int:
        return len(self._futures)


class DaemonPool:
    """A fixed set of daemon worker threads running submitted calls into ``Future`` objects.

    Why not ``ThreadPoolExecutor``: its threads are joined when the interpreter exits, so a read
    waiting on a server that trickles (up to the client's request timeout, retries included) would
    hold up a command that has already failed on its manifests.
    """

    def __init__(self, workers: int, name: str) -> None:
        self._queue: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None] = (
            queue.SimpleQueue()
        )
        self._closed = False
        self._lock = threading.Lock()  # a submit is either queued before the stop markers or refused
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(workers)]
        for thread in self._threads:
            thread.start()

    def submit(self, call: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the pool is shut down")
            self._queue.put((future, call, args))
        return future

    def shutdown(self, wait: bool = True) -> None:
        """Cancel what has not started; with ``wait``, let the running calls end first."""
        with self._lock:
            self._closed = True
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[0].cancel()
            for _ in self._threads:
                self._queue.put(None)
        if wait:
            for thread in self._threads:
                thread.join()

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            future, call, args = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call(*args))
            except BaseException as exc:  # handed to whoever asks for the result, as an executor does
                future.set_exception(exc)


def fetch_live(
    client: TelnyxClient,
    resources: Iterable[Resource],
    parallelism: int = 8,
    prune: bool = False,
    extra_kinds: Iterable[str] = (),
) -> LiveState:
    """List what the manifests need, then read canaries and versions where they matter (all at once)."""
    resources = list(resources)
    with LiveReader(client, parallelism, prune=prune, extra_kinds=extra_kinds) as reader:
        for resource in resources:
            reader.saw(resource)
        return reader.state(resources)
