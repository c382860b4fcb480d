"""Client-supplied idempotency keys for mutations, shared by every replica through the database.

    claim(key) ─► first time: the caller does the work, then `complete` stores the answer in
                  the same transaction as the work's rows
              ─► same key, same request, answered: the stored answer (a repeat changes nothing)
              ─► same key, same request, still running elsewhere: wait for its answer
              ─► same key, another request: refused (IDEMPOTENCY_KEY_REUSED)
A claim has a lease: if the replica that took it dies before answering, a repeat after the
lease takes it over. A refusal (not eligible, bad input) releases the key, so nothing but the
audit record is written.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import SQLModel, col

from connectors.resilience import Deadline
from hub.store import IdempotencyRow

LEASE = timedelta(seconds=30)


class IdempotencyRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Claim:
    """Either the stored answer of an earlier identical request, or the right to do the work."""

    row_id: int | None
    answer: dict[str, Any] | None


def request_hash(operation: str, request: dict[str, Any]) -> str:
    canonical = json.dumps({"op": operation, "request": request}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class Idempotency:
    def __init__(self, engine: AsyncEngine, clock: Callable[[], datetime]) -> None:
        self._sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
        self._clock = clock

    async def claim(
        self, caller_id: str, key: str, operation: str, request: dict[str, Any], deadline: Deadline
    ) -> Claim:
        if not 8 <= len(key) <= 128:
            raise IdempotencyRefused("BAD_USER_INPUT", "an idempotency key is 8 to 128 characters")
        digest = request_hash(operation, request)
        while True:
            now = self._clock()
            try:
                async with self._sessions() as session, session.begin():
                    row = IdempotencyRow(caller_id=caller_id, key=key, operation=operation,
                                         request_hash=digest, created_at=now,
                                         lease_until=now + LEASE)  # fmt: skip
                    session.add(row)
                    await session.flush()
                    return Claim(row.id, None)
            except IntegrityError:
                pass  # the key exists: see what it holds
            async with self._sessions() as session, session.begin():
                found = (
                    await session.execute(
                        select(IdempotencyRow).where(
                            col(IdempotencyRow.caller_id) == caller_id,
                            col(IdempotencyRow.key) == key,
                        )
                    )
                ).scalar_one_or_none()
                if found is None:
                    continue  # released in the meantime: claim again
                if found.request_hash != digest:
                    raise IdempotencyRefused(
                        "IDEMPOTENCY_KEY_REUSED",
                        "this idempotency key was used for a different request",
                    )
                if found.response is not None:
                    return Claim(None, json.loads(found.response))
                if _aware(found.lease_until) < now:  # its claimant died: take the work over
                    taken = await session.execute(
                        update(IdempotencyRow)
                        .where(
                            col(IdempotencyRow.id) == found.id,
                            col(IdempotencyRow.lease_until) == found.lease_until,
                        )  # fmt: skip
                        .values(lease_until=now + LEASE)
                    )
                    if taken.rowcount == 1:  # type: ignore[attr-defined]
                        return Claim(found.id, None)
            if deadline.remaining() < 0.1:
                raise IdempotencyRefused(
                    "IDEMPOTENCY_IN_PROGRESS",
                    "the same request is still being handled; repeat it in a moment",
                )
            await asyncio.sleep(0.05)

    async def complete(
        self, claim: Claim, answer: dict[str, Any], rows: Sequence[SQLModel] = ()
    ) -> None:
        """Store the work's rows and the answer together: both or neither."""
        async with self._sessions() as session, session.begin():
            for row in rows:
                session.add(row)
            await session.execute(
                update(IdempotencyRow)
                .where(col(IdempotencyRow.id) == claim.row_id)
                .values(response=json.dumps(answer, default=str))
            )

    async def release(self, claim: Claim) -> None:
        """Give the key back (the request was refused; nothing of it is kept)."""
        if claim.row_id is None:
            return
        async with self._sessions() as session, session.begin():
            await session.execute(
                delete(IdempotencyRow).where(col(IdempotencyRow.id) == claim.row_id)
            )
