"""Local judgements (policy §5), stored per subject under its keyed hash, never its number."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, func
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.store.database import migrate, open_engine


class JudgementRow(SQLModel, table=True):
    __tablename__ = "judgements"

    id: str = Field(primary_key=True)
    subject_key: str = Field(index=True)
    action: str  # ASSIGN | DISMISS
    colour: str | None = None
    until: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    target_rule: str | None = None
    target_fact: str | None = None
    reason: str
    assigned_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    by: str


def _aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; instants are stored in UTC, so mark them as such."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


class JudgementStore:
    """Reads and writes judgements; one engine per app, opened in the lifespan."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        owns_engine: bool = False,
        refresh_s: float = 1.0,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._owns_engine = owns_engine
        self._sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
        # Judgements are rare: the set of subjects that have any is small, mirrored here and
        # refreshed at most every `refresh_s`, so a verdict for anyone else asks no database.
        self._judged: frozenset[str] = frozenset()
        self._count = -1
        self._refreshed_at: float | None = None
        self._refresh_s = refresh_s
        self._timer = timer
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, url: str) -> JudgementStore:
        """A store on its own engine, the schema migrated (for commands; the app shares one)."""
        engine = open_engine(url)
        await migrate(engine)
        return cls(engine, owns_engine=True)

    async def close(self) -> None:
        if self._owns_engine:
            await self._engine.dispose()

    async def ping(self) -> None:
        async with self._sessions() as session:
            await session.exec(select(JudgementRow.id).limit(1))

    async def judged(self, subject_keys: Iterable[str]) -> list[str]:
        """Those of these subjects that have at least one judgement (recorded on any replica
        more than `refresh_s` ago, or on this one at any time)."""
        checked = self._refreshed_at
        if checked is None or self._timer() - checked >= self._refresh_s:
            async with self._lock:
                if self._refreshed_at == checked:  # nobody refreshed while this one waited
                    await self._refresh()
        return [key for key in subject_keys if key in self._judged]

    async def _refresh(self) -> None:
        async with self._sessions() as session:
            counted = await session.exec(select(func.count()).select_from(JudgementRow))
            count = counted.one()  # judgements are only ever added: a count tells
            if count != self._count:
                keys = await session.exec(select(JudgementRow.subject_key).distinct())
                self._judged = frozenset(keys)
                self._count = count
        self._refreshed_at = self._timer()

    def note_judged(self, subject_key: str) -> None:
        """A judgement was recorded here: its subject is judged from now on, for this replica."""
        self._judged = self._judged | {subject_key}

    async def add(self, row: JudgementRow) -> None:
        row.assigned_at = _utc(row.assigned_at)  # type: ignore[assignment]
        row.until = _utc(row.until)
        async with self._sessions() as session, session.begin():
            session.add(row)

    async def for_subjects(self, subject_keys: Iterable[str]) -> dict[str, list[JudgementRow]]:
        """Every judgement recorded for these subjects, oldest first; one query for all."""
        keys = list(dict.fromkeys(subject_keys))
        found: dict[str, list[JudgementRow]] = {key: [] for key in keys}
        if not keys:
            return found
        async with self._sessions() as session:
            rows = await session.exec(
                select(JudgementRow)
                .where(JudgementRow.subject_key.in_(keys))  # type: ignore[attr-defined]
                .order_by(JudgementRow.assigned_at)  # type: ignore[arg-type]
            )
            for row in rows:
                row.assigned_at = _aware(row.assigned_at)  # type: ignore[assignment]
                row.until = _aware(row.until)
                found[row.subject_key].append(row)
        return found
