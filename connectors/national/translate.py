"""The one boundary between the national platform's wire vocabulary and neutral records.

Both directions live here, side by side: `*_to_wire` (records -> wire dicts, used by the
simulator) and `*_from_wire` (wire models -> records, used by the client), so they cannot drift.
Instants travel as epoch milliseconds; they come back as aware datetimes in UTC (equal, as
instants, to what was sent). Sub-millisecond parts are dropped on the way out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.national.models import FlagWire, RiskAreaEntry, TripWire
from connectors.records import DocumentRef, Flag, RiskArea, Trip

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def to_epoch_ms(instant: datetime) -> int:
    """An aware instant as integer epoch milliseconds (exact integer arithmetic, no float)."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime: an instant needs an offset")
    return (instant - _EPOCH) // _MS


def from_epoch_ms(millis: int) -> datetime:
    return _EPOCH + millis * _MS


def _optional_ms(instant: datetime | None) -> int | None:
    return None if instant is None else to_epoch_ms(instant)


def _optional_instant(millis: int | None) -> datetime | None:
    return None if millis is None else from_epoch_ms(millis)


# --- documents -----------------------------------------------------------------------------


def document_to_wire(doc: DocumentRef) -> dict[str, str]:
    return {"documentType": doc.type, "documentNumber": doc.number}


# --- risk areas ----------------------------------------------------------------------------


def risk_area_to_wire(version: int, area: RiskArea) -> dict[str, Any]:
    return {
        "areaCode": area.area_code,
        "name": area.name,
        "province": area.province,
        "city": area.city,
        "county": area.county,
        "level": area.level,
        "designatedAt": to_epoch_ms(area.designated_at),
        "liftedAt": _optional_ms(area.lifted_at),
        "version": version,
    }


def risk_area_from_wire(entry: RiskAreaEntry) -> tuple[int, RiskArea]:
    """(version, entry); province/city/county are derived from the area code by the record."""
    area = RiskArea(
        area_code=entry.area_code,
        name=entry.name,
        level=entry.level,
        designated_at=from_epoch_ms(entry.designated_at),
        lifted_at=_optional_instant(entry.lifted_at),
    )
    return entry.version, area


# --- trips ---------------------------------------------------------------------------------


def trip_to_wire(trip: Trip) -> dict[str, Any]:
    return {"areaCode": trip.area_code, "at": to_epoch_ms(trip.at)}


def trip_from_wire(wire: TripWire) -> Trip:
    return Trip(area_code=wire.area_code, at=from_epoch_ms(wire.at))


# --- flags ---------------------------------------------------------------------------------


def flag_to_wire(flag: Flag) -> dict[str, Any]:
    return {
        "flagId": flag.id,
        "issuerRegion": flag.issuer,
        "colour": flag.colour,
        "reason": flag.reason,
        "assignedAt": to_epoch_ms(flag.assigned_at),
        "revokedAt": _optional_ms(flag.revoked_at),
    }


def flag_from_wire(wire: FlagWire) -> Flag:
    return Flag(
        id=wire.flag_id,
        issuer=wire.issuer_region,
        colour=wire.colour,
        reason=wire.reason,
        assigned_at=from_epoch_ms(wire.assigned_at),
        revoked_at=_optional_instant(wire.revoked_at),
    )
