"""The database a test's hub uses: a SQLite file by default, or a fresh PostgreSQL database
when HUB_TEST_DATABASE=postgresql (CI runs the hub's tests both ways).

Raw SQL for tests that read or tamper with what the hub stored goes through `run_sql`, which
speaks to either (sqlite3, or the psql client for PostgreSQL).
"""

from __future__ import annotations

import csv
import io
import os
import sqlite3
import subprocess
import uuid
from pathlib import Path
from typing import Any

PG = {"host": "127.0.0.1", "port": "5432", "user": "postgres", "maintenance_db": "test"}


def use_postgresql() -> bool:
    return os.environ.get("HUB_TEST_DATABASE", "sqlite") == "postgresql"


def _psql(database: str, statement: str, *, csv_out: bool = False) -> str:
    command = ["psql", "-h", PG["host"], "-p", PG["port"], "-U", PG["user"], "-d", database,
               "-v", "ON_ERROR_STOP=1", "-q", "-c", statement]  # fmt: skip
    if csv_out:
        command.insert(1, "--csv")
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


CREATED: list[str] = []


def database_url(directory: Path) -> str:
    """A database of its own for one hub under test."""
    if not use_postgresql():
        return f"sqlite+aiosqlite:///{directory}/hub.db"
    name = f"hub_test_{uuid.uuid4().hex[:12]}"
    _psql(PG["maintenance_db"], f'CREATE DATABASE "{name}"')
    CREATED.append(name)
    return f"postgresql+asyncpg://{PG['user']}@{PG['host']}:{PG['port']}/{name}"


def run_sql(url: str, statement: str) -> list[dict[str, Any]]:
    """Run one statement on the hub's database; rows as dicts (strings on PostgreSQL)."""
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split("///", 1)[1]) as db:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute(statement).fetchall()]
    database = url.rsplit("/", 1)[1]
    out = _psql(database, statement, csv_out=True)
    return list(csv.DictReader(io.StringIO(out))) if out.strip() else []


def drop_created() -> None:
    """Drop the PostgreSQL databases this run created (at the end of the session)."""
    while CREATED:
        name = CREATED.pop()
        _psql(PG["maintenance_db"], f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
