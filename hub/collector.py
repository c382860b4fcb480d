"""Garbage collection for a process whose caches hold hundreds of thousands of objects.

CPython's full (generation 2) collection walks every tracked object: with the answer caches
full, a quarter to half a second in which no request is served (measured: 260 ms at 400,000
objects). Its automatic trigger (objects promoted to the oldest generation since the last one
reach a quarter of it) fires every few seconds under load, because every request in flight
during a young collection is promoted, so a few percent of all requests wait behind one.

Reference counting frees what the hub discards; only reference cycles need the collector. The
venue scan makes none; the GraphQL executor (graphql-core's execution context) makes about a
hundred objects of them per request, and they reach the oldest generation when a young
collection runs while their request is in flight. So while the hub runs: what start-up built is
frozen out of the collector's sight, automatic full collections are off, and one runs when the
process has grown by `growth_mb` since the last (the garbage the executor left, or the caches
filling), or `interval_s` has passed: memory stays within `growth_mb` of what the hub holds, and
the pause comes as often as garbage does, not every few seconds regardless.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import time
from collections.abc import AsyncIterator

log = logging.getLogger("hub.collector")

NEVER = 1_000_000_000  # a generation-2 threshold the count never reaches
_PAGE = os.sysconf("SC_PAGE_SIZE")


@contextlib.asynccontextmanager
async def scheduled_full_collections(
    interval_s: float, growth_mb: float = 64.0, check_s: float = 1.0
) -> AsyncIterator[None]:
    """For the block: full collections on growth or schedule only (interval 0: Python's own)."""
    if interval_s <= 0:
        yield
        return
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(before[0], before[1], NEVER)
    task = asyncio.create_task(
        _collect_when_due(interval_s, growth_mb * 2**20, check_s), name="full-collections"
    )
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        gc.set_threshold(*before)
        gc.unfreeze()


async def _collect_when_due(interval_s: float, growth_bytes: float, check_s: float) -> None:
    last_at, last_rss = time.monotonic(), resident_bytes()
    while True:
        await asyncio.sleep(check_s)
        grown = resident_bytes() - last_rss
        if grown < growth_bytes and time.monotonic() - last_at < interval_s:
            continue
        started = time.perf_counter()
        found = gc.collect()
        last_at, last_rss = time.monotonic(), resident_bytes()
        log.info(
            "full collection after %.0f MB of growth: %d unreachable objects, %.0f ms",
            grown / 2**20,
            found,
            (time.perf_counter() - started) * 1000,
        )


def resident_bytes() -> int:
    """This process's resident set (Linux /proc; 0 elsewhere, leaving only the interval)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except OSError:
        return 0
