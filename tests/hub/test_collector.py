"""What start-up built is left out of garbage collections while the hub runs, and young
collections run less often (hub/collector.py)."""

from __future__ import annotations

import gc
import weakref

from hub.collector import THRESHOLDS, frozen_start_up


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


async def test_start_up_is_frozen_while_the_block_runs_and_collected_as_usual_after() -> None:
    before = gc.get_threshold()
    built = Node()
    async with frozen_start_up():
        assert gc.get_freeze_count() > 0
        assert not any(o is built for o in gc.get_objects(generation=2))  # out of sight
        assert gc.get_threshold() == THRESHOLDS != before
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before
    assert any(o is built for o in gc.get_objects())


async def test_reference_cycles_made_while_the_hub_runs_are_freed_without_asking() -> None:
    async with frozen_start_up():
        first, second = Node(), Node()
        first.other, second.other = second, first
        gone = weakref.ref(first)
        del first, second
        # what requests allocate; no explicit collection anywhere
        kept = [[] for _ in range(2 * THRESHOLDS[0])]
        assert gone() is None
        del kept
