"""Wire models of the Hong Kong systems, in their own vocabulary (camelCase, AMBER, UTC "Z").

Timestamps are ISO 8601 in UTC with a literal `Z` and nothing else: an offset such as `+08:00`
or a naive instant is a validation error, so the client reports it as a broken contract.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationInfo,
    field_validator,
)

HKT = timezone(timedelta(hours=8), "HKT")  # Hong Kong time, no daylight saving

_UTC_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z")

DocumentType = Literal[
    "RESIDENT_ID", "HKID", "MACAO_ID", "HOME_RETURN_PERMIT", "TAIWAN_PERMIT", "PASSPORT"
]
Colour = Literal["GREEN", "AMBER", "RED"]
ExemptionStatus = Literal["ACTIVE", "SUSPENDED", "REMOVED"]


def format_instant(value: datetime) -> str:
    """An aware datetime as the wire spells it: `2022-10-04T23:30:00Z` (fraction only if any)."""
    if value.tzinfo is None:
        raise ValueError("a naive datetime has no instant to send")
    utc = value.astimezone(UTC)
    fraction = f".{utc.microsecond:06d}" if utc.microsecond else ""
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def parse_instant(value: object) -> datetime:
    """The wire's `...Z` instant as an aware UTC datetime; any other spelling is refused."""
    if not isinstance(value, str) or not _UTC_INSTANT.fullmatch(value):
        raise ValueError("expected an ISO 8601 instant in UTC ending in Z")
    return datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC)


def hk_midnight_after(instant: datetime) -> datetime:
    """The next Hong Kong local midnight (UTC+8) strictly after `instant`, in UTC."""
    local_day = instant.astimezone(HKT).date() + timedelta(days=1)
    return datetime(local_day.year, local_day.month, local_day.day, tzinfo=HKT).astimezone(UTC)


UtcInstant = Annotated[datetime, PlainValidator(parse_instant), PlainSerializer(format_instant)]


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Document(_Wire):
    type: DocumentType
    number: str = Field(min_length=1, max_length=40)


class HealthCode(_Wire):
    """GET /api/v1/health-codes/{documentType}/{documentNumber} -> 200."""

    document: Document
    colour: Colour
    issuedAt: UtcInstant
    validUntil: UtcInstant

    @field_validator("validUntil")
    @classmethod
    def _ends_at_next_hk_midnight(cls, value: datetime, info: ValidationInfo) -> datetime:
        issued = info.data.get("issuedAt")
        if issued is not None and value != hk_midnight_after(issued):
            raise ValueError("validUntil must be the next Hong Kong midnight after issuedAt")
        return value


class Declaration(_Wire):
    """One item of the driver-declaration list."""

    declarationId: str = Field(min_length=1)
    document: Document
    plate: str
    port: str
    enteredAt: UtcInstant
    exitedAt: UtcInstant | None
    lodging: str | None = None


class DeclarationPage(_Wire):
    """GET /api/v1/driver-declarations?documents=…&limit=…&cursor=… -> 200."""

    items: list[Declaration]
    nextCursor: str | None


class Exemption(_Wire):
    """GET /api/v1/drivers/{documentType}/{documentNumber}/exemption -> 200."""

    document: Document
    status: ExemptionStatus
    updatedAt: UtcInstant


class DeclarationSubmission(_Wire):
    """POST /api/v1/driver-declarations request body."""

    declarationId: str = Field(min_length=1, max_length=64)
    document: Document
    plate: str = Field(min_length=1, max_length=16)
    port: str = Field(min_length=1, max_length=40)
    plannedEntryAt: UtcInstant
    lodging: str | None = Field(default=None, max_length=200)


class Receipt(_Wire):
    """POST /api/v1/driver-declarations -> 201 (new) or 200 (a repeat of a stored one)."""

    declarationId: str
    receivedAt: UtcInstant


class ErrorDetail(_Wire):
    code: str
    message: str
    status: ExemptionStatus | None = None  # only on 409 DRIVER_NOT_ACTIVE


class ErrorBody(_Wire):
    """Every error answer of the Hong Kong systems: `{"error": {"code", "message"}}`."""

    error: ErrorDetail
