"""§7: recognition of a code by Macao and Hong Kong."""

from __future__ import annotations

from datetime import datetime

import pytest

from hub.domain.facts import Entry, NatTest, SubjectFacts
from hub.domain.recognition import recognise
from hub.domain.rules import evaluate
from hub.domain.vocabulary import Colour, Region
from tests.hub.domain.builders import BOOK, DAY, SECOND, entry, flag, nat, t


def _answer(
    at: datetime,
    region: str,
    tests: tuple[NatTest, ...] = (),
    entries: tuple[Entry, ...] = (),
    **facts: object,
) -> tuple[bool, set[str], datetime | None]:
    subject = SubjectFacts(nat_tests=tests, entries=entries, **facts)  # type: ignore[arg-type]
    policy = BOOK.in_force(at)
    answer = recognise(evaluate(subject, (), at, policy), subject, at, policy, region)
    assert answer.region == Region(region)
    return answer.eligible, {r.value for r in answer.reasons}, answer.nat_valid_until


AT = {
    "GD-2021.05": t("2022-03-10T12:00"),
    "GD-2022.06": t("2022-07-10T12:00"),
    "GD-2022.11": t("2022-12-10T12:00"),
}


@pytest.mark.parametrize(
    ("version", "region", "days_ago", "eligible"),
    [
        pytest.param("GD-2021.05", "MACAO", 7, True, id="GD-2021.05 Macao accepts a NAT of 7 days"),
        pytest.param("GD-2021.05", "MACAO", 8, False, id="GD-2021.05 Macao refuses 8 days"),
        pytest.param("GD-2022.06", "MACAO", 2, True, id="GD-2022.06 Macao accepts 2 days"),
        pytest.param("GD-2022.06", "MACAO", 3, False, id="GD-2022.06 Macao refuses 3 days"),
        pytest.param("GD-2022.11", "MACAO", 1, True, id="GD-2022.11 Macao accepts 1 day"),
        pytest.param("GD-2022.11", "MACAO", 2, False, id="GD-2022.11 Macao refuses 2 days"),
        pytest.param("GD-2021.05", "HONGKONG", 3, True, id="GD-2021.05 Hong Kong accepts 3 days"),
        pytest.param("GD-2021.05", "HONGKONG", 4, False, id="GD-2021.05 Hong Kong refuses 4"),
        pytest.param("GD-2022.06", "HONGKONG", 3, True, id="GD-2022.06 Hong Kong accepts 3 days"),
        pytest.param("GD-2022.06", "HONGKONG", 4, False, id="GD-2022.06 Hong Kong refuses 4"),
        pytest.param("GD-2022.11", "HONGKONG", 1, True, id="GD-2022.11 Hong Kong accepts 1 day"),
        pytest.param("GD-2022.11", "HONGKONG", 2, False, id="GD-2022.11 Hong Kong refuses 2"),
    ],
)
def test_nat_window_per_version_and_region(
    version: str, region: str, days_ago: int, eligible: bool
) -> None:
    at = AT[version]
    # Sampled early in the morning `days_ago` local days before: only the date matters.
    sampled = at.replace(hour=0, minute=30) - days_ago * DAY
    result = _answer(at, region, (nat(sampled, sampled + 3600 * SECOND),))
    assert result[0] is eligible
    assert result[1] == (set() if eligible else {"NO_VALID_NAT"})


@pytest.mark.parametrize(
    ("tests", "region", "reasons"),
    [
        pytest.param(
            (nat(t("2022-07-09T08:00"), recognised_by=()),),
            "MACAO",
            {"NO_VALID_NAT"},
            id="a lab neither partner recognises does not count",
        ),
        pytest.param(
            (nat(t("2022-07-09T08:00"), recognised_by=("HONGKONG",)),),
            "MACAO",
            {"NO_VALID_NAT"},
            id="a lab only Hong Kong accepts is not enough for Macao",
        ),
        pytest.param(
            (nat(t("2022-07-09T08:00"), recognised_by=("HONGKONG",)),),
            "HONGKONG",
            set(),
            id="a lab Hong Kong recognises counts for Hong Kong",
        ),
        pytest.param(
            (nat(t("2022-07-10T08:00"), t("2022-07-10T12:00:01")),),
            "MACAO",
            {"NO_VALID_NAT"},
            id="a negative reported after the instant does not count",
        ),
        pytest.param(
            (nat(t("2022-07-10T08:00"), t("2022-07-10T12:00")),),
            "MACAO",
            set(),
            id="a negative reported at the exact instant counts",
        ),
        pytest.param(
            (nat(t("2022-07-01T08:00"), t("2022-07-01T12:00"), "POSITIVE"),),
            "MACAO",
            {"NOT_GREEN", "NO_VALID_NAT"},
            id="a positive is neither green nor valid",
        ),
        pytest.param((), "HONGKONG", {"NO_VALID_NAT"}, id="no NAT at all"),
    ],
)
def test_recognised_negative_nat(
    tests: tuple[NatTest, ...], region: str, reasons: set[str]
) -> None:
    eligible, got, _ = _answer(AT["GD-2022.06"], region, tests)
    assert got == reasons
    assert eligible is (not reasons)


@pytest.mark.parametrize(
    ("version", "days", "entered_days_ago", "recent"),
    [
        pytest.param(
            "GD-2021.05",
            14,
            14,
            False,
            id="GD-2021.05 an entry exactly 14 days ago is no longer recent",
        ),
        pytest.param("GD-2021.05", 14, 13.99, True, id="GD-2021.05 an entry within 14 days is"),
        pytest.param(
            "GD-2022.06",
            14,
            14,
            False,
            id="GD-2022.06 an entry exactly 14 days ago is no longer recent",
        ),
        pytest.param(
            "GD-2022.06",
            14,
            12,
            True,
            id="GD-2022.06 an entry 12 days ago is recent though the code is green",
        ),
        pytest.param(
            "GD-2022.11",
            7,
            7,
            False,
            id="GD-2022.11 an entry exactly 7 days ago is no longer recent",
        ),
        pytest.param("GD-2022.11", 7, 6.99, True, id="GD-2022.11 an entry within 7 days is"),
    ],
)
def test_recent_overseas_entry_per_version(
    version: str, days: int, entered_days_ago: float, recent: bool
) -> None:
    at = AT[version]
    fresh = (nat(at - 3600 * SECOND, at),)
    _, reasons, _ = _answer(at, "MACAO", fresh, (entry(at - entered_days_ago * DAY),))
    assert ("RECENT_OVERSEAS_ENTRY" in reasons) is recent


@pytest.mark.parametrize(
    ("origin", "entered", "recent"),
    [
        pytest.param("MAC", "2022-07-09T12:00", False, id="an entry from Macao is exempt"),
        pytest.param(
            "MYS", "2022-07-10T12:00:01", False, id="an entry after the instant is not known"
        ),
        pytest.param("MYS", "2022-07-10T12:00", True, id="an entry at the exact instant counts"),
    ],
)
def test_overseas_entry_for_recognition(origin: str, entered: str, recent: bool) -> None:
    at = AT["GD-2022.06"]
    _, reasons, _ = _answer(at, "HONGKONG", (), (entry(t(entered), origin),))
    assert ("RECENT_OVERSEAS_ENTRY" in reasons) is recent


def test_the_window_end_is_that_of_the_best_valid_nat() -> None:
    tests = (
        nat(t("2022-07-08T09:00"), id="N1"),
        nat(t("2022-07-09T09:00"), id="N2"),
        nat(t("2022-07-10T09:00"), t("2022-07-10T13:00"), id="N3"),  # not yet reported
    )
    eligible, _, until = _answer(AT["GD-2022.06"], "MACAO", tests)
    assert eligible
    assert until == t("2022-07-12T00:00")


def test_a_red_code_is_not_recognised_even_with_a_valid_nat() -> None:
    at = AT["GD-2022.06"]
    eligible, reasons, until = _answer(
        at, "MACAO", (nat(at - 3600 * SECOND, at),), flags=(flag(at - DAY),)
    )
    assert not eligible
    assert reasons == {"NOT_GREEN"}
    assert until is not None


def test_an_unknown_code_is_not_green() -> None:
    at = AT["GD-2022.06"]
    subject = SubjectFacts(nat_tests=(nat(at - DAY),), unavailable=frozenset({"national"}))
    policy = BOOK.in_force(at)
    verdict = evaluate(subject, (), at, policy)
    answer = recognise(verdict, subject, at, policy, Region.HONGKONG)
    assert answer.colour is Colour.UNKNOWN
    assert [r.value for r in answer.reasons] == ["NOT_GREEN"]


def test_a_verdict_for_another_instant_is_refused() -> None:
    at = AT["GD-2022.06"]
    policy = BOOK.in_force(at)
    verdict = evaluate(SubjectFacts(), (), at, policy)
    with pytest.raises(ValueError):
        recognise(verdict, SubjectFacts(), at + SECOND, policy, "MACAO")
