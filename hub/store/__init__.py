"""The hub's own records (sqlmodel): the only data the hub holds rather than federates."""

from hub.store.audit import AuditHead, AuditRow
from hub.store.judgements import JudgementRow, JudgementStore

__all__ = ["AuditHead", "AuditRow", "JudgementRow", "JudgementStore"]
