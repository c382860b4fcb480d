"""Full garbage collections on a schedule (hub/collector.py)."""

from __future__ import annotations

import asyncio
import gc
import weakref

from hub.collector import NEVER, scheduled_full_collections


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def cycle_into_the_oldest_generation() -> weakref.ref[Node]:
    """A reference cycle nobody holds, moved where only a full collection looks."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    gc.collect(1)  # survivors of generation 1 are promoted to generation 2
    return gone


async def test_garbage_cycles_are_collected_on_the_schedule_and_python_s_policy_returns() -> None:
    before = gc.get_threshold()
    async with scheduled_full_collections(0.05):
        assert gc.get_threshold()[2] == NEVER  # no automatic full collections
        gone = cycle_into_the_oldest_generation()
        assert gone() is not None
        for _ in range(100):
            if gone() is None:
                break
            await asyncio.sleep(0.01)
        assert gone() is None, "the scheduled full collection freed the cycle"
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


async def test_zero_leaves_python_s_policy_alone() -> None:
    before = gc.get_threshold()
    async with scheduled_full_collections(0):
        assert gc.get_threshold() == before
