"""Garbage collection while the hub runs: what start-up built is frozen out of the collector's
sight.

The modules, the schema, the policies and the compiled operations live as long as the process;
a full (generation 2) collection walking them again and again finds nothing, and its pauses
stall every request in flight. Freezing them after start-up makes each full collection walk
only what the hub built since. (Python's own schedule for full collections is kept: the GraphQL
executor leaves reference cycles behind each request, and turning automatic full collections
off let a worker grow by 260 MB in a three-minute soak; the README's performance section has
the measurements.)
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator


@contextlib.asynccontextmanager
async def frozen_start_up() -> AsyncIterator[None]:
    """For the block: everything alive now is left out of collections (and put back after)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
