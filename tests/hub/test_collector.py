"""What start-up built is left out of garbage collections while the hub runs (hub/collector.py)."""

from __future__ import annotations

import gc

from hub.collector import frozen_start_up


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


async def test_start_up_is_frozen_while_the_block_runs_and_collected_as_usual_after() -> None:
    before = gc.get_threshold()
    built = Node()
    async with frozen_start_up():
        assert gc.get_freeze_count() > 0
        assert not any(o is built for o in gc.get_objects(generation=2))  # out of sight
        assert gc.get_threshold() == before  # Python's own schedule for full collections
    assert gc.get_freeze_count() == 0
    assert any(o is built for o in gc.get_objects())
