"""NAT validity windows: the three named semantics of policy §2, calendar days in UTC+08:00."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from hub.domain.instants import hours_after, local_date, require_aware, start_of_day


class WindowSemantics(StrEnum):
    """How a window's `n` is counted."""

    ROLLING_HOURS = "ROLLING_HOURS"  # valid while at < sampledAt + n hours
    CALENDAR_DAYS = "CALENDAR_DAYS"  # valid through local day date(sampledAt) + n
    DAYS_BEFORE_OR_ON = "DAYS_BEFORE_OR_ON"  # valid while date(at) - date(sampledAt) <= n


@dataclass(frozen=True)
class NatWindow:
    """How long a NAT sample vouches for its subject: `valid_until` is the half-open end."""

    semantics: WindowSemantics
    n: int

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ValueError("a NAT window cannot be negative")

    def __str__(self) -> str:
        return f"{self.semantics}({self.n})"

    def valid_until(self, sampled_at: datetime) -> datetime:
        """The first instant at which a sample taken at `sampled_at` no longer counts."""
        require_aware(sampled_at, "sampled_at")
        if self.semantics is WindowSemantics.ROLLING_HOURS:
            return hours_after(sampled_at, self.n)
        # Both day semantics end at midnight after local day date(sample) + n:
        # date(at) - date(sample) <= n  <=>  at < midnight(date(sample) + n + 1).
        return start_of_day(local_date(sampled_at) + timedelta(days=self.n + 1))

    def is_valid(self, sampled_at: datetime, at: datetime) -> bool:
        """Whether the sample counts at `at`; a sample taken after `at` vouches for nothing yet."""
        require_aware(at, "at")
        return sampled_at <= at < self.valid_until(sampled_at)
