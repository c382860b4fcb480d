"""Local judgements (policy §5), stored per subject under its keyed hash, never its number."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime
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

    def __init__(self, engine: AsyncEngine, *, owns_engine: bool = False) -> None:
        self._engine = engine
        self._owns_engine = owns_engine
        self._sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)

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
