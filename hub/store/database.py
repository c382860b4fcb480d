"""One engine per URL, and the schema brought to the current migration at start-up.

SQLite (aiosqlite) is the embedded default, with WAL and a busy timeout; PostgreSQL (asyncpg)
is one URL away for replicas sharing state. Migrations are Alembic's (hub/migrations); several
replicas starting together take turns (a PostgreSQL advisory lock, SQLite's write lock), so
none sees a half-made schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
_SCHEMA_LOCK = 7_140_711  # any constant shared by every replica


def open_engine(url: str) -> AsyncEngine:
    """An engine for a URL; SQLite gets WAL and a busy timeout."""
    # hide_parameters: a failed statement's error must not carry personal data into logs
    engine = create_async_engine(url, hide_parameters=True, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def sqlite_file(engine: AsyncEngine) -> str | None:
    """The file of a SQLite database, for the audit log's appends with the standard library's
    driver (a whole transaction at once, where aiosqlite hops to its thread once per
    statement). None for other databases (their async drivers do not hop) and for in-memory
    SQLite (another connection would be another database)."""
    url = engine.url
    if engine.dialect.name != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return url.database


def _sqlite_pragmas(connection: Any, _record: object) -> None:
    """WAL lets readers proceed during a write; the busy timeout makes writers queue."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def hold_schema_lock(connection: Connection) -> None:
    """One process at a time sets up the schema, until its transaction ends: PostgreSQL by an
    advisory lock; SQLite by taking the write lock up front (its driver would otherwise run the
    DDL outside any transaction, and a second process starting at the same moment would find
    half a schema)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
    elif connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _upgrade(connection: Connection) -> None:
    hold_schema_lock(connection)
    command.upgrade(alembic_config(connection), "head")


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the latest migration (a no-op when it is there already)."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)
