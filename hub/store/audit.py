"""The audit hash chain's tables and transactions: append under a write lock, stream in order.

Each record's `hash` is sha256(prev_hash + canonical content); `audit_head` holds the last
record's seq and hash and is updated in the same transaction as every append, so removing
records from the tail leaves a head that no longer matches.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import sqlite3
from collections.abc import AsyncGenerator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import caio
import orjson
from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Table,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import Field, SQLModel

from hub.store.database import hold_schema_lock

log = logging.getLogger("hub.audit")

GENESIS = "0" * 64  # the prev_hash of record 1
HEAD_ID = 1


class AuditRow(SQLModel, table=True):
    """One access to a person's data; names the subject only by its keyed hash."""

    __tablename__ = "audit_records"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    # timezone=True so PostgreSQL stores an instant; SQLite drops the zone, we store UTC.
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    caller_id: str
    role: str
    subject_key: str | None = Field(default=None, index=True)
    fields: str  # JSON text: a sorted list of field names
    purpose: str | None = None
    outcome: str  # served | denied | failed
    request_id: str
    prev_hash: str
    hash: str


class AuditHead(SQLModel, table=True):
    """The chain's last seq and hash: exactly one row, id 1."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint(f"id = {HEAD_ID}", name="audit_head_single_row"),)

    id: int = Field(default=HEAD_ID, primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int
    hash: str


RECORDS: Table = AuditRow.__table__  # type: ignore[attr-defined]
HEAD: Table = AuditHead.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class RecordContent:
    """What a record says, without its chain position: the part the app supplies."""

    at: datetime
    caller_id: str
    role: str
    subject_key: str | None
    fields: str
    purpose: str | None
    outcome: str
    request_id: str


class WalSyncFailed(OSError):
    """Records were committed to the WAL but may not be on disk; nothing is appended after."""


class HeadMissing(RuntimeError):
    """The head row is gone while records exist: appending would fork the chain."""


def utc_text(at: datetime) -> str:
    """The canonical text of an instant: ISO 8601 in UTC with microseconds."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def aware(at: datetime) -> datetime:
    """SQLite returns naive datetimes; every stored instant is UTC, so mark it so."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def chain_hash(prev_hash: str, seq: int, content: RecordContent) -> str:
    """sha256 hex over prev_hash + the record's content as sorted-key, whitespace-free JSON
    (the standard library's, non-ASCII escaped)."""
    record = {
        "seq": seq,
        "at": utc_text(content.at),
        "caller_id": content.caller_id,
        "role": content.role,
        "subject_key": content.subject_key,
        "fields": content.fields,  # the stored text itself, so any edit to it shows
        "purpose": content.purpose,
        "outcome": content.outcome,
        "request_id": content.request_id,
    }
    # orjson writes the same bytes as json.dumps(sort_keys, compact) in a tenth of the time
    # unless the text holds DEL or a non-ASCII character, which json escapes and orjson does not
    canonical = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    if not canonical.isascii() or b"\x7f" in canonical:
        canonical = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(prev_hash.encode() + canonical).hexdigest()


def _begin_write_sql(dialect: str) -> str | None:
    """Take the database write lock before the head is read, so two writers cannot both extend it.

    SQLite's default deferred BEGIN would let two writers read the same head; BEGIN IMMEDIATE
    takes the write lock up front. PostgreSQL locks the head row with FOR UPDATE instead.
    """
    return "BEGIN IMMEDIATE" if dialect == "sqlite" else None


async def create_tables(engine: AsyncEngine) -> None:
    """Create the audit tables if absent, and the head if the chain is empty."""
    async with engine.connect() as connection:
        await connection.run_sync(_create_tables)
        await connection.commit()


def _create_tables(connection: Connection) -> None:
    # Under the schema lock: replicas starting together on a new database would otherwise all
    # find no head and all insert one (PostgreSQL refuses all but the first).
    hold_schema_lock(connection)
    SQLModel.metadata.create_all(connection, tables=[RECORDS, HEAD])
    if connection.execute(select(HEAD.c.seq).where(HEAD.c.id == HEAD_ID)).first() is None:
        # A missing head beside existing records is tampering: leave it for verify to report.
        if not connection.scalar(select(func.count()).select_from(RECORDS)):
            connection.execute(insert(HEAD).values(id=HEAD_ID, seq=0, hash=GENESIS))


async def append_records(engine: AsyncEngine, contents: Sequence[RecordContent]) -> None:
    """Chain and insert these records and move the head, all in one transaction."""
    async with engine.connect() as connection:
        await connection.run_sync(append_in_transaction, contents)


def append_in_transaction(connection: Connection, contents: Sequence[RecordContent]) -> None:
    """The append through SQLAlchemy on one connection (PostgreSQL, through `run_sync`)."""
    begin = _begin_write_sql(connection.dialect.name)
    if begin is not None:
        connection.exec_driver_sql(begin)
    head = connection.execute(
        select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == HEAD_ID).with_for_update()
    ).first()
    if head is None:
        raise HeadMissing("the audit head is missing; run `hub audit verify`")
    rows, seq, last = chained(int(head.seq), str(head.hash), contents)
    connection.execute(insert(RECORDS), rows)
    connection.execute(update(HEAD).where(HEAD.c.id == HEAD_ID).values(seq=seq, hash=last))
    connection.commit()


class SqliteAppender:
    """The append on a SQLite file with the standard library's driver (SQLAlchemy's handling of
    the three statements cost 0.7 ms of CPU per group commit; this costs 0.2 ms, hashes
    included). The stored text is SQLAlchemy's own (its DateTime bind processor), so everything
    that reads the log through SQLAlchemy sees the same records.

    Where it runs: on the event loop's thread, when SQLite's write lock is free at once (a
    commit takes a few tenths of a millisecond); a writer thread only when another connection
    holds the lock, since waiting for it there would stall the loop, or deadlock it when the
    holder is this process's own aiosqlite connection waiting for the loop. A writer thread
    for every commit had cost more: each of a transaction's statements hands the GIL back and
    forth with the busy loop, and the benchmark measured a median of 2-3 ms per commit at half
    load, tens of ms at its tail. The loop's connection does not checkpoint the WAL (copying
    pages to the database would stall the loop): every `checkpoint_every` commits (about
    SQLite's own 1,000 pages) the writer thread checkpoints, in two passes. The first copies
    the bulk while appends go on beside it. It cannot let the WAL start over, since the
    appends keep adding to it (checkpoints that only ran beside appends never caught up, and
    the WAL grew to 45 MB in 3,000 commits). So a second pass follows at once and appends wait
    for it: it copies only what was appended during the first, and the next append starts the
    WAL over. Appends used to wait for the whole checkpoint: 5-30 ms under load, every 250
    commits, which set the audit's p99.

    Durability without stalling the loop: the loop's connection commits with
    `synchronous=OFF` (10 us: the transaction reaches the WAL file, not the disk) and the append
    then waits for an fdatasync of the WAL file submitted as kernel asynchronous I/O (caio:
    io_uring or Linux AIO, its completion read from an eventfd on the loop). Only then does the
    append return, so nothing is served before its record is on disk; the fsync, 0.18 ms of a
    0.19 ms commit here and 17 % of the loop's time at saturation when it ran inline, no longer
    holds every other request. Not a Python thread: its return needs the GIL, which the busy
    loop gives up only every switch interval (5 ms), and the benchmark lost a fifth of its
    throughput to that hand-off. Where it matters SQLite's own guarantee is unchanged: the
    writer thread's connection keeps `synchronous=FULL`, so each checkpoint syncs the WAL
    before copying it and the database before the WAL may start over. A failed fdatasync
    leaves the WAL's state on disk unknown (Linux may drop the pages it could not write), so
    every append after it fails too: the hub refuses to serve rather than build a chain on
    records that may be gone."""

    _COLUMNS = tuple(c.name for c in RECORDS.columns)
    _INSERT = (
        f"INSERT INTO {RECORDS.name} ({', '.join(_COLUMNS)}) "
        f"VALUES ({', '.join('?' for _ in _COLUMNS)})"
    )
    _HEAD = f"SELECT seq, hash FROM {HEAD.name} WHERE id = ?"
    _MOVE_HEAD = f"UPDATE {HEAD.name} SET seq = ?, hash = ? WHERE id = ?"

    def __init__(self, path: str, dialect: Dialect, *, checkpoint_every: int = 250) -> None:
        self._path = path
        self._directory = os.path.dirname(os.path.abspath(path))
        processor = RECORDS.c.at.type.bind_processor(dialect)
        self._at: Callable[[Any], Any] = processor or (lambda value: value)
        self._here: sqlite3.Connection | None = None  # the loop thread's: never waits
        self._there: sqlite3.Connection | None = None  # the writer thread's: waits its turn
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-writer")
        self._checkpoint_every = checkpoint_every
        self._since_checkpoint = 0
        self._checkpointing: asyncio.Future[None] | None = None  # either pass under way
        self._holding: asyncio.Future[None] | None = None  # the second pass: appends wait
        self._aio: Any = None  # caio's context for the WAL's fdatasync (sync_context)
        self._wal: int | None = None  # a descriptor of the WAL file, for fdatasync
        self._sync_failed: Exception | None = None

    async def append(self, contents: Sequence[RecordContent]) -> None:
        """Chain and insert these records and move the head, in one transaction."""
        loop = asyncio.get_running_loop()
        if self._sync_failed is not None:
            raise WalSyncFailed("an earlier sync of the audit WAL failed") from self._sync_failed
        if self._here is None:
            self._here = _connect(self._path, timeout=0.0)
            self._here.execute("PRAGMA wal_autocheckpoint=0")
            self._here.execute("PRAGMA synchronous=OFF")  # synced off the loop: _sync_wal
        if self._holding is not None:
            # the checkpoint's second pass: after it, this append finds the WAL all copied
            # back and starts it over, which it could not while appends went on beside it
            await asyncio.wait({self._holding})
        if not self._transaction(self._here, contents, give_way=True):
            # the lock is held elsewhere: waited for on the writer thread, not here
            await loop.run_in_executor(self._thread, self._append_there, contents)
        else:
            await self._sync_wal()
        self._since_checkpoint += 1
        if self._since_checkpoint >= self._checkpoint_every and self._checkpointing is None:
            self._since_checkpoint = 0
            self._checkpointing = loop.run_in_executor(self._thread, self._checkpoint)
            self._checkpointing.add_done_callback(self._first_pass_done)

    async def close(self) -> None:
        while self._checkpointing is not None:  # the first pass, then the second
            await asyncio.wait({self._checkpointing})
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close_there)
        self._thread.shutdown(wait=True)
        if self._aio is not None:
            self._aio.close()
            self._aio = None
        if self._wal is not None:
            os.close(self._wal)
            self._wal = None
        if self._here is not None:
            # The last connection to close checkpoints and deletes the WAL: with its own
            # setting, so it must sync the database first.
            self._here.execute("PRAGMA synchronous=FULL")
            self._here.close()
            self._here = None

    def _transaction(
        self, db: sqlite3.Connection, contents: Sequence[RecordContent], *, give_way: bool
    ) -> bool:
        """One append as one transaction on `db`. With `give_way`, a write lock held elsewhere
        returns False at once, nothing written; otherwise the connection's busy timeout waits."""
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if give_way and exc.sqlite_errorcode == sqlite3.SQLITE_BUSY:
                return False
            raise
        try:
            head = db.execute(self._HEAD, (HEAD_ID,)).fetchone()
            if head is None:
                raise HeadMissing("the audit head is missing; run `hub audit verify`")
            rows, seq, last = chained(int(head[0]), str(head[1]), contents)
            for row in rows:
                row["at"] = self._at(row["at"])
            db.executemany(self._INSERT, [tuple(row[c] for c in self._COLUMNS) for row in rows])
            db.execute(self._MOVE_HEAD, (seq, last, HEAD_ID))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return True

    async def _sync_wal(self) -> None:
        """Every commit made so far on the loop's connection, to disk."""
        try:
            if self._wal is None:
                # SQLite deletes the WAL only when its last connection closes, and the loop's
                # stays open until close(): one descriptor serves. Its name must be on disk
                # too (once; this waits for the disk on the loop).
                self._wal = os.open(f"{self._path}-wal", os.O_RDONLY)
                _sync_directory(self._directory)
            if self._aio is None:
                self._aio = sync_context()
            await self._aio.fdsync(self._wal)
        except (OSError, SystemError) as exc:  # caio reports a failed operation as SystemError
            self._sync_failed = exc
            raise WalSyncFailed("the audit WAL could not be synced to disk") from exc

    def _append_there(self, contents: Sequence[RecordContent]) -> None:
        self._transaction(self._writer_connection(), contents, give_way=False)

    def _checkpoint(self) -> None:
        self._writer_connection().execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _writer_connection(self) -> sqlite3.Connection:
        if self._there is None:
            self._there = _connect(self._path, timeout=5.0)
        return self._there

    def _first_pass_done(self, done: asyncio.Future[None]) -> None:
        if done.cancelled() or _checkpoint_failed(done):
            self._checkpointing = None
            return
        loop = asyncio.get_running_loop()
        self._checkpointing = self._holding = loop.run_in_executor(self._thread, self._checkpoint)
        self._holding.add_done_callback(self._second_pass_done)

    def _second_pass_done(self, done: asyncio.Future[None]) -> None:
        self._checkpointing = self._holding = None
        _checkpoint_failed(done)

    def _close_there(self) -> None:
        if self._there is not None:
            self._there.close()
            self._there = None


def _checkpoint_failed(done: asyncio.Future[None]) -> bool:
    if done.cancelled() or done.exception() is None:
        return False
    # the next one will try again; the WAL only grows meanwhile
    log.warning("audit WAL checkpoint failed (%s)", type(done.exception()).__name__)
    return True


def sync_context() -> Any:
    """caio's context for the WAL's fdatasync: io_uring without a polling kernel thread (with
    one, which caio asks for where allowed, the poller spun on a core and the benchmark's hub
    CPU per scan was 2.5 times higher); else Linux AIO (its io_submit of an fdatasync took 48
    us here against io_uring's 10); else whatever caio has on this system."""
    for module, options in (
        (caio.linux_uring_asyncio, {"sqpoll": False}),
        (caio.linux_aio_asyncio, {}),
    ):
        if module is not None:
            try:
                return module.AsyncioContext(max_requests=8, **options)
            except (OSError, SystemError):  # the kernel refuses it here (seccomp, sysctl)
                continue
    return caio.AsyncioContext(max_requests=8)


def _sync_directory(path: str) -> None:
    directory = os.open(path, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _connect(path: str, *, timeout: float) -> sqlite3.Connection:
    # autocommit mode: the transaction is the explicit BEGIN IMMEDIATE of _transaction
    connection = sqlite3.connect(path, isolation_level=None, timeout=timeout)
    connection.execute("PRAGMA journal_mode=WAL")
    return connection


def chained(
    seq: int, prev_hash: str, contents: Sequence[RecordContent]
) -> tuple[list[dict[str, Any]], int, str]:
    """The rows that extend a chain whose head is (seq, prev_hash), and the new head."""
    rows: list[dict[str, Any]] = []
    for content in contents:
        seq += 1
        digest = chain_hash(prev_hash, seq, content)
        rows.append(
            {
                "seq": seq,
                "at": content.at.astimezone(UTC),
                "caller_id": content.caller_id,
                "role": content.role,
                "subject_key": content.subject_key,
                "fields": content.fields,
                "purpose": content.purpose,
                "outcome": content.outcome,
                "request_id": content.request_id,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        prev_hash = digest
    return rows, seq, prev_hash


@dataclass(frozen=True)
class StoredRecord:
    """A record as read back for verification."""

    seq: int
    prev_hash: str
    hash: str
    content: RecordContent


async def has_tables(connection: AsyncConnection) -> bool:
    """Whether this database holds an audit log at all."""
    return await connection.run_sync(
        lambda sync: inspect(sync).has_table(RECORDS.name) and inspect(sync).has_table(HEAD.name)
    )


async def begin_snapshot(connection: AsyncConnection) -> None:
    """Make the head read and the record stream see one instant, while appends go on."""
    if connection.dialect.name == "sqlite":
        # pysqlite runs SELECTs outside a transaction; an explicit BEGIN pins one WAL snapshot.
        await connection.exec_driver_sql("BEGIN")
    else:
        await connection.execution_options(isolation_level="REPEATABLE READ")


async def read_head(connection: AsyncConnection) -> tuple[int, str] | None:
    row = (
        await connection.execute(select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == HEAD_ID))
    ).first()
    return None if row is None else (int(row.seq), str(row.hash))


async def stream_records(
    connection: AsyncConnection, batch: int = 1000
) -> AsyncGenerator[StoredRecord, None]:
    """Every record in seq order, fetched `batch` rows at a time from a server-side cursor."""
    result = await connection.stream(
        select(RECORDS).order_by(RECORDS.c.seq).execution_options(yield_per=batch)
    )
    async for row in result:
        yield StoredRecord(
            seq=int(row.seq),
            prev_hash=str(row.prev_hash),
            hash=str(row.hash),
            content=RecordContent(
                at=aware(row.at),
                caller_id=row.caller_id,
                role=row.role,
                subject_key=row.subject_key,
                fields=row.fields,
                purpose=row.purpose,
                outcome=row.outcome,
                request_id=row.request_id,
            ),
        )
