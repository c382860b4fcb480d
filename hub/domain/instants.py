"""Instants and China Standard Time: day arithmetic on absolute time, dates in UTC+08:00 (§2)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

CST = timezone(timedelta(hours=8), "CST")


def require_aware(instant: datetime, what: str = "instant") -> datetime:
    """Return `instant` unchanged; a naive datetime is refused because it names no instant."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{what} must carry a UTC offset")
    return instant


def days_after(instant: datetime, days: int) -> datetime:
    """`instant + days × 24 h` on the time line, whatever zone rules the input's tzinfo has."""
    # Adding in UTC keeps the 24 h meaning even for a tzinfo with DST (policy §2).
    return (instant.astimezone(UTC) + timedelta(days=days)).astimezone(CST)


def hours_after(instant: datetime, hours: int) -> datetime:
    """`instant + hours` on the time line."""
    return (instant.astimezone(UTC) + timedelta(hours=hours)).astimezone(CST)


def local_date(instant: datetime) -> date:
    """The calendar date of `instant` in UTC+08:00."""
    return instant.astimezone(CST).date()


def start_of_day(day: date) -> datetime:
    """Midnight at the start of `day` in UTC+08:00."""
    return datetime.combine(day, time(0, 0), tzinfo=CST)
