"""The audit log: a hash chain that `hub audit verify` checks, appended with group commit."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hub import cli
from hub.audit import AuditClosed, AuditEntry, AuditLog, AuditWriteFailed, verify
from hub.store import audit as audit_store
from hub.store.audit import RecordContent, chain_hash

T0 = datetime(2022, 3, 1, 8, 0, tzinfo=UTC)
CONTENT = "caller_id, role, subject_key, fields, purpose, outcome, request_id, at, prev_hash, hash"


def entry(n: int, outcome: str = "served") -> AuditEntry:
    return AuditEntry(
        caller_id=f"analyst-{n % 3}",
        role="analyst",
        subject_key=hashlib.sha256(f"subject-{n}".encode()).hexdigest(),
        fields=("healthCode.colour", "healthCode.reasons"),
        purpose="outbreak 17 contact tracing",
        outcome=outcome,  # type: ignore[arg-type]
        request_id=f"req-{n:04d}",
        at=T0 + timedelta(seconds=n),
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "hub.db"


@pytest.fixture
def url(db: Path) -> str:
    return f"sqlite+aiosqlite:///{db}"


@pytest.fixture
async def log(url: str) -> AsyncIterator[AuditLog]:
    opened = await AuditLog.open(url)
    yield opened
    await opened.close()


async def run_cli(*argv: str) -> int:
    # In a thread: the command runs its own event loop with asyncio.run.
    return await asyncio.to_thread(cli.main, list(argv))


def raw(db: Path, *statements: str) -> None:
    """Tamper with the database directly, as someone with file access could."""
    with sqlite3.connect(db) as connection:
        for statement in statements:
            connection.execute(statement)


async def test_a_clean_chain_verifies_and_the_cli_says_it_is_intact(
    log: AuditLog, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await log.append([entry(1), entry(2)])
    await log.append([entry(3)])

    result = await verify(url)
    assert (result.ok, result.records, result.first_bad_seq, result.problem) == (
        True,
        3,
        None,
        None,
    )
    assert await run_cli("audit", "verify", "--database", url) == 0
    assert capsys.readouterr().out == "audit chain intact: 3 records\n"


async def test_an_empty_log_verifies_with_no_records(log: AuditLog, url: str) -> None:
    result = await verify(url)
    assert result.ok and result.records == 0


async def test_the_cli_reads_the_database_url_from_the_environment(
    log: AuditLog, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    await log.append([entry(1)])
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    assert await run_cli("audit", "verify") == 0
    assert capsys.readouterr().out == "audit chain intact: 1 records\n"


async def test_a_database_without_an_audit_log_does_not_verify(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = f"sqlite+aiosqlite:///{tmp_path / 'typo.db'}"
    assert not (await verify(missing)).ok
    assert await run_cli("audit", "verify", "--database", missing) == 1
    assert not (tmp_path / "typo.db").exists()  # verifying must not create a database
    assert capsys.readouterr().out.startswith("audit chain broken: no audit log")


def _swap_records_2_and_4(db: Path) -> None:
    columns = CONTENT.split(", ")
    with sqlite3.connect(db) as connection:
        read = f"SELECT {', '.join(columns)} FROM audit_records WHERE seq = ?"
        second, fourth = (connection.execute(read, (seq,)).fetchone() for seq in (2, 4))
        write = f"UPDATE audit_records SET {', '.join(f'{c} = ?' for c in columns)} WHERE seq = ?"
        connection.execute(write, (*fourth, 2))
        connection.execute(write, (*second, 4))


def _rewrite_record_3_with_a_fresh_hash(db: Path) -> None:
    with sqlite3.connect(db) as connection:
        at, caller, role, subject, fields, purpose, outcome, request, prev = connection.execute(
            "SELECT at, caller_id, role, subject_key, fields, purpose, outcome, request_id,"
            " prev_hash FROM audit_records WHERE seq = 3"
        ).fetchone()
        content = RecordContent(
            at=datetime.fromisoformat(at).replace(tzinfo=UTC),
            caller_id=caller,
            role=role,
            subject_key=subject,
            fields=fields,
            purpose="something else",
            outcome=outcome,
            request_id=request,
        )
        connection.execute(
            "UPDATE audit_records SET purpose = ?, hash = ? WHERE seq = 3",
            (content.purpose, chain_hash(prev, 3, content)),
        )


TAMPERING: list[tuple[str, Callable[[Path], None], int]] = [
    (
        "a changed field is found at the changed record",
        lambda db: raw(db, "UPDATE audit_records SET outcome = 'denied' WHERE seq = 3"),
        3,
    ),
    (
        "a changed instant is found at the changed record",
        lambda db: raw(
            db, "UPDATE audit_records SET at = '2022-03-01 09:00:00.000000' WHERE seq = 2"
        ),
        2,
    ),
    (
        "a deleted middle record is found where it is missing",
        lambda db: raw(db, "DELETE FROM audit_records WHERE seq = 3"),
        3,
    ),
    (
        "two records with swapped content are found at the first of them",
        _swap_records_2_and_4,
        2,
    ),
    (
        "a truncated tail is found at the first missing record",
        lambda db: raw(db, "DELETE FROM audit_records WHERE seq >= 4"),
        4,
    ),
    (
        "a deleted head is found after the last record it can vouch for",
        lambda db: raw(db, "DELETE FROM audit_head"),
        6,
    ),
    (
        "a head moved back over appended records is found at the first record beyond it",
        lambda db: raw(
            db,
            "UPDATE audit_head SET seq = 3, hash = (SELECT hash FROM audit_records WHERE seq = 3)",
        ),
        4,
    ),
    (
        "a record rewritten with a recomputed hash is found at the record after it",
        _rewrite_record_3_with_a_fresh_hash,
        4,
    ),
]


@pytest.mark.parametrize(
    ("tamper", "first_bad"),
    [pytest.param(tamper, bad, id=name) for name, tamper, bad in TAMPERING],
)
async def test_tampering_is_detected_and_the_cli_names_the_first_bad_record(
    url: str,
    db: Path,
    tamper: Callable[[Path], None],
    first_bad: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = await AuditLog.open(url)
    await log.append([entry(n) for n in range(1, 6)])
    await log.close()

    tamper(db)

    result = await verify(url)
    assert not result.ok
    assert result.first_bad_seq == first_bad
    assert result.problem is not None and str(first_bad) in result.problem
    assert await run_cli("audit", "verify", "--database", url) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"audit chain broken at record {first_bad}: ")
    # The report names positions only, never what a record says.
    assert not any(word in out for word in ("analyst", "subject", "req-", "outbreak", "health"))


async def test_appends_from_two_logs_on_one_file_form_one_valid_chain(url: str, db: Path) -> None:
    first, second = await AuditLog.open(url), await AuditLog.open(url)
    try:
        await asyncio.gather(
            *((first if n % 2 else second).append([entry(n)]) for n in range(1, 201))
        )
    finally:
        await first.close()
        await second.close()

    result = await verify(url)
    assert result.ok and result.records == 200
    with sqlite3.connect(db) as connection:
        ids = [row[0] for row in connection.execute("SELECT request_id FROM audit_records")]
    assert sorted(ids) == [f"req-{n:04d}" for n in range(1, 201)]


async def test_a_write_lock_held_elsewhere_delays_the_append_but_not_the_hub(
    log: AuditLog, url: str, db: Path
) -> None:
    await log.append([entry(1)])
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing, say
    try:
        waiting = asyncio.create_task(log.append([entry(2)]))
        ticks = 0
        for _ in range(20):  # the event loop goes on serving while the append waits
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 20 and not waiting.done()
    finally:
        holder.execute("COMMIT")
        holder.close()
    await waiting
    result = await verify(url)
    assert result.ok and result.records == 2


async def test_the_write_ahead_log_is_checkpointed_while_appends_go_on(
    log: AuditLog, db: Path
) -> None:
    for n in range(3000):
        await log.append([entry(n)])
    # 3,000 commits grew it to 45 MB when checkpoints ran beside the appends and never caught
    # up; queued behind them, appends let each one start the WAL over
    assert (db.parent / (db.name + "-wal")).stat().st_size < 10_000_000


async def test_appends_go_on_while_a_checkpoint_copies_the_log(
    db: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The checkpoint's first pass is held on the writer thread, as if copying a large WAL to a
    # slow disk: appends must not wait for it. Then the second pass lets the WAL start over.
    copying = threading.Event()
    passes = 0
    real = audit_store.SqliteAppender._checkpoint

    def held_first_pass(self: audit_store.SqliteAppender) -> None:
        nonlocal passes
        passes += 1
        if passes == 1:
            assert copying.wait(10)
        real(self)

    monkeypatch.setattr(audit_store.SqliteAppender, "_checkpoint", held_first_pass)
    log = await AuditLog.open(url)
    try:
        for n in range(250):  # the 250th commit starts a checkpoint
            await log.append([entry(n)])
        await asyncio.sleep(0.05)
        assert passes == 1
        for n in range(250, 300):
            await asyncio.wait_for(log.append([entry(n)]), 5)
        assert passes == 1  # the first pass is still copying
        copying.set()
        for _ in range(500):
            if passes == 2:
                break
            await asyncio.sleep(0.01)
        assert passes == 2
        for n in range(300, 320):
            await log.append([entry(n)])
        # the WAL started over after the second pass: it holds the last 20 commits' pages,
        # not the 320 commits' (about 3 pages each) it would without that pass
        with sqlite3.connect(db) as connection:
            frames = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
        assert 0 < frames < 250
    finally:
        copying.set()
        await log.close()
    assert (await verify(url)).records == 320


class SlowDisk:
    """Stands in for caio's context: the WAL's sync waits until the test lets the disk answer,
    or fail."""

    def __init__(self, real_context: Callable[..., Any]) -> None:
        self.real_context = real_context
        self.real: Any = None
        self.answer = asyncio.Event()
        self.failure: OSError | None = None
        self.synced = 0

    def __call__(self, *args: Any, **kwargs: Any) -> SlowDisk:
        self.real = self.real_context(*args, **kwargs)
        return self

    async def fdsync(self, fd: int) -> None:
        await self.answer.wait()
        if self.failure is not None:
            raise self.failure
        await self.real.fdsync(fd)
        self.synced += 1

    def close(self) -> None:
        self.real.close()


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> SlowDisk:
    slow = SlowDisk(audit_store.sync_context)
    monkeypatch.setattr(audit_store, "sync_context", slow)
    return slow


async def test_an_append_returns_only_once_its_records_are_on_disk(
    log: AuditLog, disk: SlowDisk
) -> None:
    waiting = asyncio.create_task(log.append([entry(1)]))
    await asyncio.sleep(0.2)  # committed to the WAL long since; the disk has not answered
    assert not waiting.done() and disk.synced == 0
    disk.answer.set()
    await waiting
    assert disk.synced == 1


async def test_a_failed_sync_refuses_that_append_and_every_one_after(
    log: AuditLog, disk: SlowDisk
) -> None:
    disk.failure = OSError(errno.EIO, "Input/output error")
    disk.answer.set()
    with pytest.raises(AuditWriteFailed, match="synced to disk"):
        await log.append([entry(1)])
    # the disk answers again, but what it lost is unknown: nothing more is recorded or served
    disk.failure = None
    with pytest.raises(AuditWriteFailed, match="synced to disk"):
        await log.append([entry(2)])
    assert disk.synced == 0


async def test_concurrent_appends_share_a_transaction(url: str) -> None:
    log = await AuditLog.open(url)
    try:
        await asyncio.gather(*(log.append([entry(n)]) for n in range(1, 101)))
    finally:
        await log.close()
    assert 1 <= log.transactions < 100
    assert (await verify(url)).records == 100


async def test_an_append_returns_only_once_its_record_is_committed(log: AuditLog, db: Path) -> None:
    await log.append([entry(1)])
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT request_id FROM audit_records").fetchall() == [
            ("req-0001",)
        ]


async def test_a_failed_commit_fails_every_waiter_of_the_batch_and_writes_nothing(
    log: AuditLog, url: str, db: Path
) -> None:
    await log.append([entry(1), entry(2)])
    raw(
        db,
        "CREATE TRIGGER refuse BEFORE INSERT ON audit_records BEGIN SELECT RAISE(ABORT, 'no'); END",
    )

    results = await asyncio.gather(
        *(log.append([entry(n)]) for n in range(3, 13)), return_exceptions=True
    )

    errors = [result for result in results if isinstance(result, AuditWriteFailed)]
    assert len(errors) == len(results)
    # One batch: every waiter's error has the one failed transaction as its cause.
    assert len({id(error.__cause__) for error in errors}) == 1
    assert (await verify(url)).records == 2  # nothing of the batch, and the head did not move

    raw(db, "DROP TRIGGER refuse")
    await log.append([entry(13)])
    result = await verify(url)
    assert result.ok and result.records == 3


async def test_a_dropped_table_makes_append_raise(log: AuditLog, db: Path) -> None:
    raw(db, "DROP TABLE audit_records")
    with pytest.raises(AuditWriteFailed):
        await log.append([entry(1)])


async def test_a_missing_head_refuses_appends_rather_than_fork_the_chain(
    log: AuditLog, db: Path
) -> None:
    await log.append([entry(1)])
    raw(db, "DELETE FROM audit_head")
    with pytest.raises(AuditWriteFailed, match="head is missing"):
        await log.append([entry(2)])


async def test_an_append_after_close_is_refused(url: str) -> None:
    log = await AuditLog.open(url)
    await log.close()
    with pytest.raises(AuditClosed):
        await log.append([entry(1)])


async def test_an_unbatched_log_writes_the_same_chain(url: str) -> None:
    log = await AuditLog.open(url, group_commit=False)
    try:
        await asyncio.gather(*(log.append([entry(n)]) for n in range(1, 21)))
    finally:
        await log.close()
    result = await verify(url)
    assert result.ok and result.records == 20


@pytest.mark.parametrize(
    "purpose",
    [
        "outbreak 17 contact tracing",
        'quotes " and \\ backslashes / slashes',
        "controls \n\t\r\b\f\x00\x1f\x7f end",
        "流调 第17号 (contact tracing)",
        "emoji \U0001f600 and \u2028 separators",
        None,
    ],
)
def test_the_chain_hash_is_the_documented_json_whatever_the_text(purpose: str | None) -> None:
    # the format every existing chain was written in: verify must keep accepting them
    content = RecordContent(
        at=T0,
        caller_id="analyst-1",
        role="analyst",
        subject_key=None if purpose is None else "ab" * 32,
        fields='["healthCode.colour"]',
        purpose=purpose,
        outcome="served",
        request_id="req-0001",
    )
    record = {
        "seq": 7,
        "at": "2022-03-01T08:00:00.000000+00:00",
        "caller_id": "analyst-1",
        "role": "analyst",
        "subject_key": content.subject_key,
        "fields": '["healthCode.colour"]',
        "purpose": purpose,
        "outcome": "served",
        "request_id": "req-0001",
    }
    documented = json.dumps(record, sort_keys=True, separators=(",", ":"))
    expected = hashlib.sha256(("f" * 64 + documented).encode()).hexdigest()
    assert chain_hash("f" * 64, 7, content) == expected


def test_an_entry_keeps_its_fields_sorted_and_without_repeats() -> None:
    made = AuditEntry("c", "venue", None, ("b", "a", "b"), None, "denied", "r", T0)
    assert made.fields == ("a", "b")


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        pytest.param(
            {"subject_key": "110101199003074514"},
            "HMAC",
            id="a document number is refused as a subject key",
        ),
        pytest.param({"at": datetime(2022, 3, 1, 8, 0)}, "aware", id="a naive instant is refused"),
        pytest.param({"outcome": "maybe"}, "outcome", id="an unknown outcome is refused"),
    ],
)
def test_an_entry_refuses_what_would_make_a_bad_record(
    change: dict[str, object], rule: str
) -> None:
    fields: dict[str, object] = {
        "caller_id": "c",
        "role": "analyst",
        "subject_key": None,
        "fields": (),
        "purpose": None,
        "outcome": "denied",
        "request_id": "r",
        "at": T0,
    } | change
    with pytest.raises(ValueError, match=rule) as raised:
        AuditEntry(**fields)  # type: ignore[arg-type]
    assert "110101199003074514" not in str(raised.value)
