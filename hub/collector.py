"""Garbage collection for a process whose caches hold hundreds of thousands of objects.

CPython's full (generation 2) collection walks every tracked object: with the answer caches
full, about a quarter of a second in which no request is served (measured: 260 ms at 400,000
objects). Its automatic trigger (the survivors grew by a quarter since the last one) fires
every few seconds while the caches turn over, so a few percent of all requests wait behind one.
Reference counting frees what the hub discards (answers, records, requests); only reference
cycles need the collector, and the young generations, still collected as usual, find those
that die young. So while the hub runs: what start-up built is frozen out of the collector's
sight, automatic full collections are off, and one runs every `interval_s` instead: the same
pause, once every few minutes rather than every few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator

log = logging.getLogger("hub.collector")

NEVER = 1_000_000_000  # a generation-2 threshold the count never reaches


@contextlib.asynccontextmanager
async def scheduled_full_collections(interval_s: float) -> AsyncIterator[None]:
    """For the block: full collections every `interval_s` only (0: Python's own policy)."""
    if interval_s <= 0:
        yield
        return
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(before[0], before[1], NEVER)
    task = asyncio.create_task(_collect_every(interval_s), name="full-collections")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        gc.set_threshold(*before)
        gc.unfreeze()


async def _collect_every(interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        started = time.perf_counter()
        found = gc.collect()
        log.info(
            "full collection: %d unreachable objects, %.0f ms",
            found,
            (time.perf_counter() - started) * 1000,
        )
