"""Full garbage collections on growth or schedule (hub/collector.py)."""

from __future__ import annotations

import asyncio
import gc
import weakref

from hub.collector import NEVER, scheduled_full_collections


class Node:
    def __init__(self, payload: int = 0) -> None:
        self.other: Node | None = None
        self.payload = bytearray(payload)


def cycle_into_the_oldest_generation(payload: int = 0) -> weakref.ref[Node]:
    """A reference cycle nobody holds, moved where only a full collection looks."""
    a, b = Node(payload), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    gc.collect(1)  # survivors of generation 1 are promoted to generation 2
    return gone


async def freed(gone: weakref.ref[Node]) -> bool:
    for _ in range(200):
        if gone() is None:
            return True
        await asyncio.sleep(0.01)
    return False


async def test_garbage_cycles_are_collected_on_the_schedule_and_python_s_policy_returns() -> None:
    before = gc.get_threshold()
    async with scheduled_full_collections(0.05, growth_mb=10_000, check_s=0.01):
        assert gc.get_threshold()[2] == NEVER  # no automatic full collections
        gone = cycle_into_the_oldest_generation()
        assert await freed(gone), "the scheduled full collection freed the cycle"
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


async def test_growth_brings_the_full_collection_forward() -> None:
    async with scheduled_full_collections(3600, growth_mb=16, check_s=0.01):
        small = cycle_into_the_oldest_generation()
        await asyncio.sleep(0.1)
        assert small() is not None, "nothing due: an hour to go and the process has not grown"
        large = cycle_into_the_oldest_generation(payload=32 * 2**20)
        assert await freed(large) and small() is None


async def test_zero_leaves_python_s_policy_alone() -> None:
    before = gc.get_threshold()
    async with scheduled_full_collections(0):
        assert gc.get_threshold() == before
