"""§2 NAT windows: the three semantics at their exact ends, calendar days in UTC+08:00."""

from __future__ import annotations

from datetime import datetime

import pytest

from hub.domain.windows import NatWindow, WindowSemantics
from tests.hub.domain.builders import SECOND, t

ROLLING = WindowSemantics.ROLLING_HOURS
CAL = WindowSemantics.CALENDAR_DAYS
BEFORE = WindowSemantics.DAYS_BEFORE_OR_ON


@pytest.mark.parametrize(
    ("window", "sampled", "valid_until"),
    [
        pytest.param(
            NatWindow(ROLLING, 72),
            "2022-07-07T15:30",
            "2022-07-10T15:30",
            id="ROLLING_HOURS(72) ends 72 h after the sample",
        ),
        pytest.param(
            NatWindow(CAL, 2),
            "2022-07-07T15:30",
            "2022-07-10T00:00",
            id="CALENDAR_DAYS(2) from 7 June 15:30 ends at midnight after the 9th",
        ),
        pytest.param(
            NatWindow(CAL, 2),
            "2022-07-07T00:00",
            "2022-07-10T00:00",
            id="CALENDAR_DAYS(2) from the first instant of a day ends at that midnight",
        ),
        pytest.param(
            NatWindow(CAL, 2),
            "2022-07-07T23:59:59",
            "2022-07-10T00:00",
            id="CALENDAR_DAYS(2) from the last second of a day ends at the same midnight",
        ),
        pytest.param(
            NatWindow(CAL, 2),
            "2022-07-07T17:00:00+00:00",
            "2022-07-11T00:00",
            id="a UTC sample at 17:00 is on the next local day in UTC+08:00",
        ),
        pytest.param(
            NatWindow(CAL, 2),
            "2022-07-07T15:00:00+00:00",
            "2022-07-10T00:00",
            id="a UTC sample at 15:00 is still on the same local day",
        ),
        pytest.param(
            NatWindow(CAL, 7),
            "2022-03-01T10:00",
            "2022-03-09T00:00",
            id="CALENDAR_DAYS(7) runs through local day plus 7",
        ),
        pytest.param(
            NatWindow(CAL, 1),
            "2022-12-01T10:00",
            "2022-12-03T00:00",
            id="CALENDAR_DAYS(1) runs through the next local day",
        ),
        pytest.param(
            NatWindow(BEFORE, 3),
            "2022-07-07T23:59",
            "2022-07-11T00:00",
            id="DAYS_BEFORE_OR_ON(3) accepts a crossing 3 local days later",
        ),
        pytest.param(
            NatWindow(BEFORE, 1),
            "2022-12-01T00:01",
            "2022-12-03T00:00",
            id="DAYS_BEFORE_OR_ON(1) accepts a crossing the next local day",
        ),
        pytest.param(
            NatWindow(BEFORE, 3),
            "2022-07-07T16:30:00-05:00",
            "2022-07-12T00:00",
            id="DAYS_BEFORE_OR_ON counts local days in UTC+08:00 for a -05:00 sample",
        ),
    ],
)
def test_valid_until_is_the_half_open_end(
    window: NatWindow, sampled: str, valid_until: str
) -> None:
    start = t(sampled)
    end = t(valid_until)
    assert window.valid_until(start) == end
    assert window.is_valid(start, start)
    assert window.is_valid(start, end - SECOND)
    assert not window.is_valid(start, end)


def test_a_sample_taken_after_the_instant_vouches_for_nothing() -> None:
    window = NatWindow(CAL, 2)
    assert not window.is_valid(t("2022-07-07T15:30"), t("2022-07-07T15:29:59"))


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        NatWindow(ROLLING, 1).is_valid(t("2022-07-07T15:30"), datetime(2022, 7, 7, 16))


def test_a_negative_window_is_refused() -> None:
    with pytest.raises(ValueError):
        NatWindow(CAL, -1)
