"""Garbage collection while the hub runs: what start-up built is frozen out of the collector's
sight, and young collections run far less often than Python's default.

The modules, the schema, the policies and the compiled operations live as long as the process;
a full (generation 2) collection walking them again and again finds nothing, and its pauses
stall every request in flight. Freezing them after start-up makes each full collection walk
only what the hub built since.

Python collects its youngest generation after every 700 net allocations of container objects:
on the scan path that is about one collection per request, and each one that finds a cache
being filled promotes it, so full collections followed every few seconds, each walking every
cached record (30-70 ms with the caches full) and finding nothing to free (the benchmark's scan
phases measured 27 full collections in 35 s, 0 objects freed). A request's own objects are
freed by reference counting as it ends; what needs the collector is the GraphQL executor's
reference cycles, a hundred objects or so per request, which a young collection every 50,000
allocations still frees while they are young. Full collections keep Python's schedule relative
to the young ones (never switched off: with them off, cycles that survived into the old
generation grew a worker by 260 MB in a three-minute soak; the README's performance section has
the measurements).

Measured since (bench `scan`, 1,000,000 people): the allocation count is net of frees, and the
cache evicting old answers frees about as much as it fills, so while the hub serves, young
collections come only every 2-10 s (two runs: 7 in 28 s; 5 in 50 s, and no collection of the
middle generation after start-up) and each walks every answer filled since: 40,000-110,000
objects, 18-76 ms with every request in flight waiting, and nothing freed. What would bound
those pauses is collections paced by time rather than by this count (with the middle generation
paced too, and full collections kept rare); not done yet. Until then, fewer objects per cached
answer make each pause shorter (hub/upstream.py, AnswerCache). How much it would buy: with the
collector switched off altogether (a probe, not a setting), the `scan` p99 at a quarter and at
half of saturation stayed within the runs' noise (18-23 and 30-69 ms either way): misses and
the audit's sync hold the tail now, not these pauses.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator

# young-generation threshold, collections of it per middle one, of the middle per full one
THRESHOLDS = (50_000, 20, 10)


@contextlib.asynccontextmanager
async def frozen_start_up() -> AsyncIterator[None]:
    """For the block: everything alive now is left out of collections and the young
    generation is collected every 50,000 allocations (both put back after)."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
