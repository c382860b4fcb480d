"""Tables of what the hub itself records: idempotency keys, transfer tickets, driver
declarations, venue scans, and the outbox that delivers them to the source systems.

Subjects are named by their keyed hash. Where another system must be told who a record is
about (a ticket for Macao, a declaration for Hong Kong, a scan for the provincial platform),
the document travels only inside the outbox payload, which is deleted once delivered.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def _instant(nullable: bool = False, index: bool = False) -> Column[datetime]:
    # timezone=True: PostgreSQL keeps the instant; SQLite drops the zone and we store UTC
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


class IdempotencyRow(SQLModel, table=True):
    """A mutation's client-supplied key: the first request's hash, and its answer once done."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("caller_id", "key", name="idempotency_caller_key"),)

    id: int | None = Field(default=None, primary_key=True)
    caller_id: str
    key: str
    operation: str
    request_hash: str
    response: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=_instant())
    lease_until: datetime = Field(sa_column=_instant())


class TransferTicketRow(SQLModel, table=True):
    """A code-transfer ticket the hub issued: the recognition answer and NAT date only."""

    __tablename__ = "transfer_tickets"

    id: str = Field(primary_key=True)
    subject_key: str = Field(index=True)
    destination: str  # MACAO | GUANGDONG
    eligible: bool
    nat_date: str | None = None  # YYYY-MM-DD of the NAT the recognition rests on
    consented_at: datetime = Field(sa_column=_instant())
    issued_at: datetime = Field(sa_column=_instant())
    expires_at: datetime = Field(sa_column=_instant())
    signature: str
    status: str  # PENDING_DELIVERY | DELIVERED
    delivered_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))


class DriverDeclarationRow(SQLModel, table=True):
    """A cross-border driver's declaration for one entry."""

    __tablename__ = "driver_declarations"

    id: str = Field(primary_key=True)
    subject_key: str = Field(index=True)
    plate: str
    port: str
    planned_entry_at: datetime = Field(sa_column=_instant())
    lodging: str | None = None
    declared_at: datetime = Field(sa_column=_instant())
    status: str  # PENDING_DELIVERY | FORWARDED


class VenueScanRow(SQLModel, table=True):
    """A venue scanner's check of a person's code at a public place."""

    __tablename__ = "venue_scans"

    id: str = Field(primary_key=True)
    subject_key: str = Field(index=True)
    venue_code: str = Field(index=True)
    token_id: str = Field(index=True)
    colour: str
    scanned_at: datetime = Field(sa_column=_instant())
    status: str  # PENDING_DELIVERY | FORWARDED


class OutboxRow(SQLModel, table=True):
    """A delivery owed to another system; claimed by one replica at a time under a lease."""

    __tablename__ = "outbox"
    __table_args__ = (Index("outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str  # macao_ticket | hongkong_declaration | provincial_scan
    record_id: str  # the ticket, declaration or scan it delivers
    payload: str = Field(sa_column=Column(Text, nullable=False))
    status: str  # pending | delivered | failed
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=_instant())
    claimed_by: str | None = None
    claimed_until: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    delivered_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    last_error: str | None = None
