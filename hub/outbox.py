"""The outbox: deliveries owed to other systems, written in the same transaction as the record
they deliver, and drained by whichever replica claims a row first.

A claim is a lease (`claimed_by`, `claimed_until`) taken in one UPDATE … RETURNING (with
FOR UPDATE SKIP LOCKED on PostgreSQL), so two replicas never deliver the same row at once; a
replica killed mid-delivery leaves a lease that runs out, and another replica delivers the row.
Receivers are idempotent by the record's id, so a delivery whose outcome was lost is repeated
safely. A source that is down delays delivery (backoff) but loses nothing; a source that
refuses the delivery outright marks it failed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, bindparam, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col

from connectors.errors import SourceError, SourceRejected
from hub.store import DriverDeclarationRow, OutboxRow, TransferTicketRow, VenueScanRow

log = logging.getLogger("hub.outbox")

Deliver = Callable[[dict[str, Any], float], Awaitable[None]]

# what a delivered row marks on the record it carried
DELIVERED_STATUS: Mapping[str, tuple[Any, str]] = {
    "macao_ticket": (TransferTicketRow, "DELIVERED"),
    "hongkong_declaration": (DriverDeclarationRow, "FORWARDED"),
    "provincial_scan": (VenueScanRow, "FORWARDED"),
}


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    record_id: str
    payload: dict[str, Any]
    attempts: int


def delivery(kind: str, record_id: str, payload: dict[str, Any], now: datetime) -> OutboxRow:
    """A delivery to write in the same transaction as its record: it exists exactly when the
    record does."""
    return OutboxRow(
        kind=kind,
        record_id=record_id,
        payload=json.dumps(payload),
        status="pending",
        attempts=0,
        next_attempt_at=now,
    )


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(60.0, 0.5 * 2 ** min(attempts, 7)))


class Outbox:
    def __init__(
        self,
        engine: AsyncEngine,
        deliverers: Mapping[str, Deliver],
        clock: Callable[[], datetime],
        *,
        lease: timedelta = timedelta(seconds=15),
        batch: int = 20,
        poll_s: float = 0.5,
        max_attempts: int = 50,
    ) -> None:
        self._engine = engine
        self._deliverers = deliverers
        self._clock = clock
        self._lease = lease
        self._batch = batch
        self._poll_s = poll_s
        self._max_attempts = max_attempts
        self.replica = uuid.uuid4().hex[:12]
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="outbox")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def wake(self) -> None:
        """Something was enqueued here: deliver now rather than at the next poll."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                delivered = await self.drain_once()
            except Exception:  # noqa: BLE001 - the loop must outlive a database hiccup
                log.exception("outbox: draining failed; retrying")
                delivered = 0
            if delivered:
                continue  # there may be more due
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_s)
            except TimeoutError:
                pass
            self._wake.clear()

    async def drain_once(self) -> int:
        """Claim what is due and deliver it; returns how many rows were settled."""
        claimed = await self._claim()
        for row in claimed:
            await self._deliver(row)
        return len(claimed)

    async def _claim(self) -> list[Claimed]:
        now = self._clock()
        pick = (
            "SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= :now"
            " AND (claimed_until IS NULL OR claimed_until < :now) ORDER BY id LIMIT :n"
        )
        if not await self._any_due(pick, now):
            return []
        if self._engine.dialect.name == "postgresql":
            pick += " FOR UPDATE SKIP LOCKED"
        statement = text(
            f"UPDATE outbox SET claimed_by = :me, claimed_until = :until WHERE id IN ({pick})"
            " RETURNING id, kind, record_id, payload, attempts"
        ).bindparams(  # typed, so instants are stored and compared as the columns hold them
            bindparam("now", type_=DateTime(timezone=True)),
            bindparam("until", type_=DateTime(timezone=True)),
        )
        async with self._engine.begin() as connection:
            if connection.dialect.name == "sqlite":
                await connection.exec_driver_sql("BEGIN IMMEDIATE")  # serialise claimers
            result = await connection.execute(
                statement,
                {"me": self.replica, "until": now + self._lease, "now": now, "n": self._batch},
            )
            rows = result.fetchall()
        return [Claimed(r.id, r.kind, r.record_id, json.loads(r.payload), r.attempts) for r in rows]

    async def _any_due(self, pick: str, now: datetime) -> bool:
        """Whether a claim would find anything, by a plain read. On SQLite the claim takes the
        database's write lock, which the audit log's appends share: twice a second, while
        nothing was due, each poll held an append up for 10-45 ms under load (its wait for
        the lock is SQLite's busy handler, which sleeps in steps of up to 100 ms)."""
        statement = text(pick).bindparams(bindparam("now", type_=DateTime(timezone=True)))
        async with self._engine.connect() as connection:
            found = await connection.execute(statement, {"now": now, "n": 1})
            return found.first() is not None

    async def _deliver(self, row: Claimed) -> None:
        deliver = self._deliverers[row.kind]
        try:
            await deliver(row.payload, self._lease.total_seconds() / 2)
        except SourceRejected as exc:
            await self._settle(row, failed=True, error=f"refused ({exc.code})")
            log.error("outbox: %s %s refused by its receiver", row.kind, row.id)
        except SourceError as exc:
            await self._retry_later(row, type(exc).__name__)
        else:
            await self._settle(row, failed=False, error=None)

    async def _settle(self, row: Claimed, *, failed: bool, error: str | None) -> None:
        now = self._clock()
        table, delivered_status = DELIVERED_STATUS[row.kind]
        async with AsyncSession(self._engine) as session, session.begin():
            await session.execute(
                update(OutboxRow)
                .where(col(OutboxRow.id) == row.id, col(OutboxRow.claimed_by) == self.replica)
                .values(
                    status="failed" if failed else "delivered",
                    delivered_at=None if failed else now,
                    payload="{}",  # the document it carried is not kept once settled
                    claimed_by=None,
                    claimed_until=None,
                    last_error=error,
                    attempts=row.attempts + 1,
                )
            )
            await session.execute(
                update(table)
                .where(col(table.id) == row.record_id)
                .values(status="FAILED" if failed else delivered_status)
            )
            if not failed and table is TransferTicketRow:
                await session.execute(
                    update(TransferTicketRow)
                    .where(col(TransferTicketRow.id) == row.record_id)
                    .values(delivered_at=now)
                )

    async def _retry_later(self, row: Claimed, error: str) -> None:
        now = self._clock()
        attempts = row.attempts + 1
        give_up = attempts >= self._max_attempts
        async with AsyncSession(self._engine) as session, session.begin():
            await session.execute(
                update(OutboxRow)
                .where(col(OutboxRow.id) == row.id, col(OutboxRow.claimed_by) == self.replica)
                .values(
                    attempts=attempts,
                    next_attempt_at=now + _backoff(attempts),
                    claimed_by=None,
                    claimed_until=None,
                    last_error=error,
                    status="failed" if give_up else "pending",
                )
            )


def utc_now() -> datetime:
    return datetime.now(UTC)
