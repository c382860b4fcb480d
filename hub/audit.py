"""One append-only audit record per access to a person's data, hash-chained, group-committed.

The app hands over `AuditEntry`s and awaits `AuditLog.append`; when that returns, the records
are committed. Concurrent appends are batched into one transaction by a single writer task.

    AuditError
     ├── AuditClosed        append after close()
     └── AuditWriteFailed   the batch holding this append was not committed: do not serve

`verify` walks the chain and names the first bad record by its seq, never by its content.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, get_args

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store.audit import (
    GENESIS,
    HeadMissing,
    RecordContent,
    SqliteAppender,
    StoredRecord,
    WalSyncFailed,
    append_records,
    begin_snapshot,
    chain_hash,
    create_tables,
    has_tables,
    read_head,
    stream_records,
)
from hub.store.database import open_engine, sqlite_file

Outcome = Literal["served", "denied", "failed"]
_OUTCOMES = frozenset(get_args(Outcome))
# A subject is named only by its HMAC-SHA256 hex; anything else may be a document number.
_SUBJECT_KEY = re.compile(r"[0-9a-f]{64}")


class AuditError(Exception):
    """Base of the audit log's errors."""


class AuditClosed(AuditError):
    """The log was closed; nothing more can be appended."""


class AuditWriteFailed(AuditError):
    """The records were not committed; the caller must not serve the data (fail closed)."""


@dataclass(frozen=True)
class AuditEntry:
    """One access as the app reports it; `fields` is kept sorted and without repeats."""

    caller_id: str
    role: str
    subject_key: str | None  # None when the request was refused before a subject was known
    fields: tuple[str, ...]
    purpose: str | None
    outcome: Outcome
    request_id: str
    at: datetime  # aware; stored and hashed in UTC

    def __post_init__(self) -> None:
        # Errors name the rule, never the value: a wrong value here may be personal data.
        if self.outcome not in _OUTCOMES:
            raise ValueError(f"outcome must be one of {sorted(_OUTCOMES)}")
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("at must be an aware datetime")
        if self.subject_key is not None and not _SUBJECT_KEY.fullmatch(self.subject_key):
            raise ValueError("subject_key must be the subject's HMAC-SHA256 hex digest")
        object.__setattr__(self, "fields", tuple(sorted(set(self.fields))))

    def content(self) -> RecordContent:
        return RecordContent(
            at=self.at,
            caller_id=self.caller_id,
            role=self.role,
            subject_key=self.subject_key,
            fields=json.dumps(list(self.fields), separators=(",", ":")),
            purpose=self.purpose,
            outcome=self.outcome,
            request_id=self.request_id,
        )


_Waiter = tuple[Sequence[AuditEntry], "asyncio.Future[None]"]


class AuditLog:
    """Appends audit records to the hash chain; one per app, opened in the lifespan."""

    def __init__(self, engine: AsyncEngine, *, owns_engine: bool, group_commit: bool) -> None:
        self._engine = engine
        self._owns_engine = owns_engine
        # SQLite: appends through the standard library driver, on the event loop when the write
        # lock is free at once (hub/store/audit.py, SqliteAppender)
        path = sqlite_file(engine)
        self._sqlite = SqliteAppender(path, engine.dialect) if path is not None else None
        self._group_commit = group_commit
        # Serialises this process's writers; other processes are held off by the DB write lock.
        self._lock = asyncio.Lock()
        self._queue: list[_Waiter] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._writer: asyncio.Task[None] | None = None
        self.transactions = 0  # committed, each holding one or more appends

    @classmethod
    async def open(cls, target: AsyncEngine | str, *, group_commit: bool = True) -> AuditLog:
        """Create the tables if needed and start the writer; a given engine stays the caller's.

        `group_commit=False` writes every append in its own transaction (for comparison only).
        """
        engine = open_engine(target) if isinstance(target, str) else target
        try:
            await create_tables(engine)
        except BaseException:
            if isinstance(target, str):
                await engine.dispose()
            raise
        log = cls(engine, owns_engine=isinstance(target, str), group_commit=group_commit)
        if group_commit:
            log._writer = asyncio.create_task(log._write_batches(), name="audit-writer")
        return log

    async def close(self) -> None:
        """Commit what is queued, stop the writer, and dispose of the engine if it is ours."""
        self._closing = True
        self._wake.set()
        if self._writer is not None:
            await self._writer
        if self._sqlite is not None:
            await self._sqlite.close()
        if self._owns_engine:
            await self._engine.dispose()

    async def append(self, entries: Sequence[AuditEntry]) -> None:
        """Return once these records are committed; raise AuditWriteFailed if they were not."""
        if self._closing:
            raise AuditClosed("the audit log is closed")
        if not entries:
            return
        if not self._group_commit:
            try:
                await self._commit([entry.content() for entry in entries])
            except Exception as exc:
                raise _failed(exc) from exc
            return
        if self._writer is not None and self._writer.done():
            # Cancelled from outside: nothing would ever resolve this append's future.
            raise AuditWriteFailed("audit records not committed: the writer has stopped")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((entries, done))
        self._wake.set()
        await done

    async def _write_batches(self) -> None:
        """The single writer: take everything queued, commit it as one transaction, repeat."""
        while True:
            if not self._queue:
                if self._closing:
                    return
                await self._wake.wait()
                self._wake.clear()
                continue
            batch, self._queue = self._queue, []
            try:
                await self._commit([entry.content() for entries, _ in batch for entry in entries])
            except BaseException as exc:
                # Fail closed: every waiter of the batch learns its records are not committed.
                for _, done in batch:
                    if not done.done():
                        done.set_exception(_failed(exc))
                if not isinstance(exc, Exception):
                    raise  # cancellation: the waiters are told, the writer stops
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def _commit(self, contents: list[RecordContent]) -> None:
        async with self._lock:
            if self._sqlite is not None:
                await self._sqlite.append(contents)
            else:
                await append_records(self._engine, contents)
            self.transactions += 1


def _failed(cause: BaseException) -> AuditWriteFailed:
    """A fresh error per waiter (one shared instance would collect every waiter's traceback)."""
    if isinstance(cause, HeadMissing):
        message = "audit records not committed: the chain's head is missing"
    elif isinstance(cause, WalSyncFailed):
        message = "audit records not committed: the log could not be synced to disk"
    else:
        message = f"audit records not committed ({type(cause).__name__})"
    error = AuditWriteFailed(message)
    error.__cause__ = cause
    return error


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of walking the chain; `problem` names seqs only, never record content."""

    ok: bool
    records: int
    first_bad_seq: int | None
    problem: str | None


async def verify(target: AsyncEngine | str) -> VerifyResult:
    """Walk the chain in seq order and report the first changed, missing or misplaced record."""
    if isinstance(target, str) and _missing_sqlite_file(target):
        return VerifyResult(False, 0, None, "no audit log here: the database file does not exist")
    engine = open_engine(target) if isinstance(target, str) else target
    try:
        async with engine.connect() as connection:
            if not await has_tables(connection):
                return VerifyResult(False, 0, None, "no audit log in this database")
            await connection.rollback()  # the snapshot must begin a fresh transaction
            await begin_snapshot(connection)
            head = await read_head(connection)
            async with contextlib.aclosing(stream_records(connection)) as records:
                return await _walk(records, head)
    finally:
        if isinstance(target, str):
            await engine.dispose()


async def _walk(records: AsyncIterator[StoredRecord], head: tuple[int, str] | None) -> VerifyResult:
    count = 0
    prev_hash = GENESIS

    def broken(seq: int | None, problem: str) -> VerifyResult:
        return VerifyResult(False, count, seq, problem)

    async for record in records:
        seq = count + 1
        if record.seq != seq:
            return broken(seq, f"record {seq} is missing (the next record is {record.seq})")
        if record.prev_hash != prev_hash:
            before = "the chain's start" if seq == 1 else f"record {seq - 1}"
            return broken(
                seq, f"record {seq} does not follow {before}: records were removed or reordered"
            )
        if chain_hash(prev_hash, record.seq, record.content) != record.hash:
            return broken(seq, f"record {seq} was changed: its content does not match its hash")
        prev_hash = record.hash
        count = seq
    if head is None:
        return broken(
            count + 1,
            f"the head is missing, so record {count + 1} and any after it may have been removed",
        )
    head_seq, head_hash = head
    if head_seq > count:
        return broken(
            count + 1, f"record {count + 1} is missing: the head says the chain ends at {head_seq}"
        )
    if head_seq < count:
        return broken(
            head_seq + 1,
            f"record {head_seq + 1} is beyond the head, which says the chain ends at {head_seq}",
        )
    if head_hash != prev_hash:
        return broken(count or None, f"the head does not match record {count}")
    return VerifyResult(True, count, None, None)


def _missing_sqlite_file(url: str) -> bool:
    """Verifying a mistyped SQLite path must not create an empty database and call it broken."""
    parsed = make_url(url)
    database = parsed.database
    return (
        parsed.get_backend_name() == "sqlite"
        and bool(database)
        and database != ":memory:"
        and not Path(database or "").exists()
    )
