"""A per-source bulkhead: at most `max_concurrent` calls inside, a short FIFO queue, then refusal.

A slow source fills only its own bulkhead, so requests that do not need it are not starved.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from connectors.errors import SourceUnavailable
from connectors.resilience.deadline import Deadline


class BulkheadFull(SourceUnavailable):
    """Every slot and every queue place for the source is taken: refused without waiting."""

    def __init__(self, source: str) -> None:
        super().__init__(source, "too many concurrent calls")


class Bulkhead:
    """`async with bulkhead.slot(deadline):` holds one of `max_concurrent` slots."""

    def __init__(self, source: str, max_concurrent: int, max_queue: int) -> None:
        if max_concurrent < 1 or max_queue < 0:
            raise ValueError("need max_concurrent >= 1 and max_queue >= 0")
        self.source = source
        self.max_concurrent = max_concurrent
        self.max_queue = max_queue
        self._in_use = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def in_use(self) -> int:
        """Slots held now."""
        return self._in_use

    @property
    def waiting(self) -> int:
        """Callers queued for a slot now."""
        return len(self._waiters)

    @asynccontextmanager
    async def slot(self, deadline: Deadline) -> AsyncIterator[None]:
        """Hold a slot for the block; BulkheadFull when the queue is full, SourceUnavailable
        when the deadline passes while queued."""
        await self._acquire(deadline)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, deadline: Deadline) -> None:
        if self._in_use < self.max_concurrent and not self._waiters:
            self._in_use += 1
            return
        if len(self._waiters) >= self.max_queue:
            raise BulkheadFull(self.source)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(deadline.remaining()):
                await waiter
        except BaseException as exc:
            self._abandon(waiter)
            if isinstance(exc, TimeoutError):
                raise SourceUnavailable(self.source, "timed out waiting for a slot") from exc
            raise

    def _abandon(self, waiter: asyncio.Future[None]) -> None:
        if waiter.done() and not waiter.cancelled():
            # the slot was handed over just as we gave up: pass it on rather than leak it
            self._release()
        else:
            waiter.cancel()
            if waiter in self._waiters:  # the queue is short; removal keeps `waiting` honest
                self._waiters.remove(waiter)

    def _release(self) -> None:
        # hand the slot straight to the oldest waiter so a newcomer cannot overtake the queue
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._in_use -= 1
