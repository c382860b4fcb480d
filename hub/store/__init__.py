"""The hub's own records (sqlmodel): the only data the hub holds rather than federates."""

from hub.store.audit import AuditHead, AuditRow
from hub.store.judgements import JudgementRow, JudgementStore
from hub.store.writes import (
    DriverDeclarationRow,
    IdempotencyRow,
    OutboxRow,
    TransferTicketRow,
    VenueScanRow,
)

__all__ = [
    "AuditHead",
    "AuditRow",
    "DriverDeclarationRow",
    "IdempotencyRow",
    "JudgementRow",
    "JudgementStore",
    "OutboxRow",
    "TransferTicketRow",
    "VenueScanRow",
]
