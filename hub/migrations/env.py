"""Alembic environment: migrations run on the connection the hub hands over (see
hub/store/database.py), or, for `alembic revision --autogenerate`, on HUB_DATABASE_URL."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import hub.store  # noqa: F401 - registers every table on SQLModel.metadata

target_metadata = SQLModel.metadata


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=True)  # fmt: skip
        context.run_migrations()
        return
    url = os.environ.get("HUB_DATABASE_URL", "sqlite:///hub.db").replace("+aiosqlite", "")
    url = url.replace("+asyncpg", "+psycopg2") if "+asyncpg" in url else url
    with create_engine(url).connect() as sync_connection:
        context.configure(connection=sync_connection, target_metadata=target_metadata,
                          render_as_batch=True)  # fmt: skip
        with context.begin_transaction():
            context.run_migrations()
        sync_connection.commit()


run()
