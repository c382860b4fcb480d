"""One route of a source system as every request of this process shares it.

    request A ─┐                    ┌─ fresh in the cache ──────────► answer
    request B ─┼─► UpstreamRoute ───┼─ already being fetched ───────► join that call (single flight)
    request C ─┘                    └─ otherwise: one batch call through the source's guard
                                       (breaker, bulkhead, retries), sent at once if the route
                                       is idle, else after a few ms gathering others
                                       └─ the call fails: an answer still within the staleness
                                          bound is served, marked stale with its age

The window is Nagle's rule applied to batching: while a call to the route is under way, what
is asked gathers for `window_s` (or until a batch is full) and goes as one call; when none is,
waiting would only add latency, so the batch goes as soon as the current turn of the event loop
has asked what it will (a request's own look-ups of many people still make one batch).

Keys are subjects' keyed hashes: an answer is only ever found again under the document it
was fetched for. Failures are never cached.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from connectors.errors import SourceError, SourceUnavailable
from connectors.records import DocumentRef
from connectors.resilience import Deadline, Guard

ValueT = TypeVar("ValueT")
Fetch = Callable[[list[DocumentRef], float], Awaitable[Mapping[DocumentRef, ValueT]]]


@dataclass(frozen=True)
class Answer(Generic[ValueT]):
    """A source's answer about one subject; `stale_age` (seconds) when served past freshness."""

    value: ValueT
    stale_age: float | None = None


@dataclass
class _Pending:
    docs: dict[str, DocumentRef]
    futures: dict[str, asyncio.Future[Any]]
    deadline: Deadline


class AnswerCache(Generic[ValueT]):
    """Answers per subject key: fresh for `fresh_s`, kept (as stale) until `stale_s`.

    An ordered dict of answers, oldest first: every put moves its key to the end, so expiry and
    the size bound both trim from the front. The time each was put is kept in a second dict
    rather than paired with its answer in a tuple: a float is not tracked by the garbage
    collector and a tuple holding an answer is, and every object a cache fill adds is walked by
    the next young collection, which stalls every request in flight (hub/collector.py)."""

    def __init__(
        self,
        fresh_s: float,
        stale_s: float,
        maxsize: int = 200_000,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fresh_s = fresh_s
        self.stale_s = max(stale_s, fresh_s)
        self._maxsize = maxsize
        self._timer = timer
        self._answers: OrderedDict[str, ValueT] = OrderedDict()
        self._put_at: dict[str, float] = {}

    def fresh(self, key: str) -> ValueT | None:
        put_at = self._put_at.get(key)
        if put_at is None or self._timer() - put_at >= self.fresh_s:
            return None
        return self._answers[key]

    def stale(self, key: str) -> Answer[ValueT] | None:
        """The answer kept for `key` past freshness but within the staleness bound, if any."""
        put_at = self._put_at.get(key)
        if put_at is None:
            return None
        age = self._timer() - put_at
        return Answer(self._answers[key], stale_age=age) if age < self.stale_s else None

    def put(self, key: str, value: ValueT) -> None:
        if self.stale_s <= 0:
            return
        now = self._timer()
        answers, put_at = self._answers, self._put_at
        answers[key] = value
        answers.move_to_end(key)
        put_at[key] = now
        while answers:
            oldest = next(iter(answers))
            if len(answers) <= self._maxsize and now - put_at[oldest] < self.stale_s:
                break
            answers.popitem(last=False)
            del put_at[oldest]

    def forget(self, key: str) -> None:
        self._answers.pop(key, None)
        self._put_at.pop(key, None)

    def clear(self) -> None:
        self._answers.clear()
        self._put_at.clear()

    def __len__(self) -> int:
        return len(self._answers)


class UpstreamRoute(Generic[ValueT]):
    """Batched, single-flight, cached, guarded access to one route of one source."""

    def __init__(
        self,
        name: str,
        fetch: Fetch[ValueT],
        guard: Guard,
        cache: AnswerCache[ValueT],
        *,
        window_s: float = 0.002,
        max_batch: int = 50,
    ) -> None:
        self.name = name
        self._fetch = fetch
        self._guard = guard
        self.cache = cache
        self._window_s = window_s
        self._max_batch = max_batch
        self._in_flight: dict[str, asyncio.Future[Any]] = {}
        self._pending: _Pending | None = None
        self._flush_handle: asyncio.Handle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._calls_under_way = 0
        self.calls = 0  # upstream batch calls made (for tests and the status page)

    def begin(
        self, key: str, doc: DocumentRef, deadline: Deadline
    ) -> Answer[ValueT] | asyncio.Future[Any]:
        """The answer when the cache has it fresh; else the shared future of the call that will
        bring it (joined if under way, queued for the next batch if not). Waiters wait on it
        with `asyncio.wait`, which never cancels it (others share it), and read what it came to
        with `settle`."""
        value = self.cache.fresh(key)
        if value is not None:
            return Answer(value)
        future = self._in_flight.get(key) or self._enqueue(key, doc, deadline)
        self._extend(key, deadline)
        return future

    def settle(self, key: str, future: asyncio.Future[Any]) -> Answer[ValueT] | SourceError:
        """What a look-up begun with `begin` came to for its waiter: the answer; or, when the
        call failed or is still running at the waiter's deadline, an answer still within the
        staleness bound; or the error."""
        error: SourceError
        if not future.done():
            error = SourceUnavailable(self._guard.source, "deadline exceeded", route=self.name)
        else:
            exc = None if future.cancelled() else future.exception()
            if exc is None and not future.cancelled():
                return Answer(future.result())
            error = (
                exc
                if isinstance(exc, SourceError)
                else SourceUnavailable(
                    self._guard.source, f"failed ({type(exc).__name__})", route=self.name
                )
            )
        stale = self.cache.stale(key)
        return stale if stale is not None else error

    async def get(
        self, key: str, doc: DocumentRef, deadline: Deadline
    ) -> Answer[ValueT] | SourceError:
        """One subject's answer, or the error of the source that failed it."""
        begun = self.begin(key, doc, deadline)
        if isinstance(begun, Answer):
            return begun
        await asyncio.wait({begun}, timeout=deadline.remaining())
        return self.settle(key, begun)

    def _extend(self, key: str, deadline: Deadline) -> None:
        """A batch not yet sent serves its most patient waiter: its deadline is the latest."""
        pending = self._pending
        if pending is not None and key in pending.futures:
            if deadline.remaining() > pending.deadline.remaining():
                pending.deadline = deadline

    def _enqueue(self, key: str, doc: DocumentRef, deadline: Deadline) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        pending = self._pending
        if pending is None:
            pending = self._pending = _Pending({}, {}, deadline)
            if self._calls_under_way:
                self._flush_handle = loop.call_later(self._window_s, self._flush)
            else:
                self._flush_handle = loop.call_soon(self._flush)
        future: asyncio.Future[Any] = loop.create_future()
        pending.docs[key] = doc
        pending.futures[key] = future
        self._in_flight[key] = future
        if len(pending.docs) >= self._max_batch:
            self._flush()
        return future

    def _flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        pending, self._pending = self._pending, None
        if pending is None:
            return
        task = asyncio.get_running_loop().create_task(self._call(pending))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _call(self, pending: _Pending) -> None:
        docs = list(pending.docs.values())
        self.calls += 1
        self._calls_under_way += 1
        try:
            answers = await self._guard.call(
                lambda timeout: self._fetch(docs, timeout), pending.deadline
            )
        except BaseException as exc:  # noqa: BLE001 - every waiter gets the failure
            for key, future in pending.futures.items():
                self._in_flight.pop(key, None)
                if not future.done():
                    future.set_exception(exc)
                    future.exception()  # marked retrieved: waiters may all have gone
            if not isinstance(exc, Exception):
                raise
            return
        finally:
            self._calls_under_way -= 1
        for key, future in pending.futures.items():
            self._in_flight.pop(key, None)
            value = answers[pending.docs[key]]
            self.cache.put(key, value)
            if not future.done():
                future.set_result(value)

    async def close(self) -> None:
        """Wait for calls still running (bounded by their deadlines)."""
        if self._flush_handle is not None:
            self._flush()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
