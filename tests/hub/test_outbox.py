"""The outbox's poll beside the audit log: they share SQLite's one write lock."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from hub.outbox import Outbox, delivery
from hub.store.database import migrate, open_engine


async def test_an_idle_poll_leaves_the_write_lock_to_others(tmp_path: Path) -> None:
    # Another writer (the audit log, say) holds the lock: a poll that finds nothing due must
    # not queue for it, or it holds that writer's next append up behind its own turn.
    db = tmp_path / "hub.db"
    engine = open_engine(f"sqlite+aiosqlite:///{db}")
    now = datetime(2022, 3, 1, 8, 0, tzinfo=UTC)
    outbox = Outbox(engine, {}, lambda: now)
    holder = None
    try:
        await migrate(engine)
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        assert await asyncio.wait_for(outbox.drain_once(), 2) == 0
    finally:
        if holder is not None:
            holder.execute("ROLLBACK")
            holder.close()
        await engine.dispose()


async def test_a_due_delivery_is_still_claimed_and_delivered(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    engine = open_engine(f"sqlite+aiosqlite:///{db}")
    now = datetime(2022, 3, 1, 8, 0, tzinfo=UTC)
    delivered: list[dict[str, object]] = []

    async def deliver(payload: dict[str, object], _timeout: float) -> None:
        delivered.append(payload)

    outbox = Outbox(engine, {"provincial_scan": deliver}, lambda: now)
    try:
        await migrate(engine)
        with sqlite3.connect(db) as connection:
            row = delivery("provincial_scan", "scan-1", {"venue": "V1"}, now)
            connection.execute(
                "INSERT INTO outbox (kind, record_id, payload, status, attempts, next_attempt_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    row.kind,
                    row.record_id,
                    row.payload,
                    row.status,
                    row.attempts,
                    "2022-03-01 08:00:00.000000",
                ),
            )
        assert await outbox.drain_once() == 1
        assert delivered == [{"venue": "V1"}]
    finally:
        await engine.dispose()
