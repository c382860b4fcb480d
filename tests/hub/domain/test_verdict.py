"""§4 (missing data never yields green) and §6 (validUntil) on top of the §5 rules."""

from __future__ import annotations

from datetime import datetime

import pytest

from hub.domain.facts import SubjectFacts
from hub.domain.rules import evaluate
from hub.domain.verdict import Rule
from hub.domain.vocabulary import Colour, Source
from tests.hub.domain.builders import (
    BOOK,
    DAY,
    HOUR,
    SECOND,
    area,
    assign,
    case,
    entry,
    flag,
    listing,
    nat,
    shape,
    t,
    trip,
    verdict,
)

AT = t("2022-07-08T09:00")
CONTACT = listing("CLOSE_CONTACT", t("2022-07-02T09:00"), t("2022-07-01T20:00"))
MONITORED = listing("CLOSE_CONTACT", t("2022-06-30T09:00"), t("2022-06-29T20:00"))
DRIVER_AT = t("2022-07-08T07:00")


@pytest.mark.parametrize(
    ("unavailable", "listings", "colour", "rules", "missing"),
    [
        pytest.param(
            {"national"},
            (),
            "UNKNOWN",
            {"SOURCE_UNAVAILABLE"},
            ["national"],
            id="nothing known and the national platform down is unknown, never green",
        ),
        pytest.param(
            {"provincial"},
            (),
            "UNKNOWN",
            {"SOURCE_UNAVAILABLE"},
            ["provincial"],
            id="the provincial platform down is unknown",
        ),
        pytest.param(
            {"hongkong"},
            (),
            "UNKNOWN",
            {"SOURCE_UNAVAILABLE"},
            ["hongkong"],
            id="Hong Kong down is unknown because driver declarations come from it",
        ),
        pytest.param(
            {"macao"},
            (),
            "GREEN",
            set(),
            [],
            id="Macao down changes nothing because no rule reads Macao",
        ),
        pytest.param(
            {"national"},
            (CONTACT,),
            "RED",
            {"CLOSE_CONTACT"},
            ["national"],
            id="a known red stays red with its reasons when a source is down",
        ),
        pytest.param(
            {"national"},
            (MONITORED,),
            "UNKNOWN",
            {"CLOSE_CONTACT_MONITORING", "SOURCE_UNAVAILABLE"},
            ["national"],
            id="a known yellow becomes unknown and keeps its reasons",
        ),
        pytest.param(
            {"national", "hongkong"},
            (),
            "UNKNOWN",
            {"SOURCE_UNAVAILABLE"},
            ["hongkong", "national"],
            id="each missing source gets its own reason",
        ),
    ],
)
def test_missing_source_never_yields_green(
    unavailable: set[str],
    listings: tuple[object, ...],
    colour: str,
    rules: set[str],
    missing: list[str],
) -> None:
    v = verdict(AT, listings=listings, unavailable=frozenset(unavailable))
    assert shape(v) == (colour, rules)
    assert [s.value for s in v.missing_sources] == missing
    unavailable_reasons = [r for r in v.reasons if r.rule is Rule.SOURCE_UNAVAILABLE]
    if colour == "UNKNOWN":
        assert sorted(r.source.value for r in unavailable_reasons) == missing
        assert all(r.colour is None for r in unavailable_reasons)  # UNKNOWN is no reason colour
    else:
        assert unavailable_reasons == []


def test_an_unknown_source_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown source"):
        SubjectFacts(unavailable=frozenset({"atlantis"}))


def test_reasons_name_their_rule_fact_source_and_interval() -> None:
    v = verdict(AT, listings=(CONTACT,))
    (reason,) = v.reasons
    assert reason.rule is Rule.CLOSE_CONTACT
    assert reason.colour is Colour.RED
    assert reason.source is Source.PROVINCIAL
    assert reason.fact == "L1"
    assert reason.since == t("2022-07-02T09:00")
    assert reason.until == t("2022-07-08T20:00")


def test_reasons_are_listed_most_severe_first() -> None:
    v = verdict(
        AT,
        listings=(MONITORED, listing("KEY_SITE", AT - DAY, id="L2")),
        flags=(flag(AT - DAY),),
    )
    assert [r.colour for r in v.reasons] == [Colour.RED, Colour.YELLOW, Colour.YELLOW]


@pytest.mark.parametrize(
    ("at", "facts", "valid_until"),
    [
        pytest.param(AT, {}, "2022-07-09T09:00", id="with no facts the 24 h ceiling bounds it"),
        pytest.param(
            AT,
            {"listings": (CONTACT,)},
            "2022-07-08T20:00",
            id="a red close contact lasts until its red ends",
        ),
        pytest.param(
            t("2022-07-08T20:00"),
            {"listings": (CONTACT,)},
            "2022-07-09T20:00",
            id="home monitoring started at the end of red; the ceiling is earlier",
        ),
        pytest.param(
            t("2022-07-10T22:00"),
            {"listings": (CONTACT,)},
            "2022-07-11T20:00",
            id="home monitoring lasts until its end",
        ),
        pytest.param(
            t("2022-07-08T19:00"),
            {"entries": (entry(t("2022-07-01T20:00")),)},
            "2022-07-08T20:00",
            id="overseas-entry monitoring starts when red ends",
        ),
        pytest.param(
            t("2022-03-14T10:00"),
            {"cases": (case(t("2022-02-01T10:00"), t("2022-03-01T10:00")),)},
            "2022-03-15T10:00",
            id="GD-2021.05 case monitoring starts 14 days after discharge",
        ),
        pytest.param(
            AT,
            {"listings": (listing("KEY_SITE", AT - DAY),)},
            "2022-07-09T09:00",
            id="an open reason leaves the ceiling",
        ),
        pytest.param(
            t("2022-11-10T12:00"),
            {},
            "2022-11-11T00:00",
            id="the end of the policy version bounds it",
        ),
        pytest.param(
            t("2022-06-27T12:00"),
            {"listings": (CONTACT,)},
            "2022-06-28T00:00",
            id="the end of GD-2021.05 bounds it even inside a reason",
        ),
        pytest.param(
            AT,
            {"trips": (trip("440106001", AT + HOUR),)},
            "2022-07-09T09:00",
            id="a trip dated after the instant is not a known fact",
        ),
        pytest.param(
            AT,
            {"nat_tests": (nat(AT - HOUR, AT + HOUR, "POSITIVE"),)},
            "2022-07-09T09:00",
            id="a result reported after the instant is not known",
        ),
        pytest.param(
            AT,
            {"judgements": (assign(AT + HOUR),)},
            "2022-07-09T09:00",
            id="a judgement recorded after the instant is not known",
        ),
        pytest.param(
            AT,
            {"flags": (flag(AT - DAY, revoked=AT + HOUR),)},
            "2022-07-09T09:00",
            id="a revocation dated after the instant is not known",
        ),
        pytest.param(
            AT,
            {"judgements": (assign(AT - DAY, "YELLOW", AT + 2 * HOUR),)},
            "2022-07-08T11:00",
            id="a local judgement lasts until its until",
        ),
        pytest.param(
            AT,
            {
                "listings": (listing("REGULAR_TESTING", AT - 9 * DAY),),
                "nat_tests": (nat(AT - 70 * HOUR, AT - 60 * HOUR),),
            },
            "2022-07-08T11:00",
            id="the NAT_OVERDUE popup appearing bounds it",
        ),
    ],
)
def test_valid_until(at: datetime, facts: dict[str, object], valid_until: str) -> None:
    areas = (area("440106001", "HIGH", t("2022-07-01T00:00")),)
    v = verdict(at, areas, **facts)
    assert v.valid_until == t(valid_until)


def test_a_high_risk_visit_lasts_until_its_days_end() -> None:
    visited = t("2022-07-05T10:00")
    areas = (area("440106001", "HIGH", t("2022-07-01T00:00")),)
    v = verdict(visited + 7 * DAY - SECOND, areas, trips=(trip("440106001", visited),))
    assert v.valid_until == visited + 7 * DAY


def test_evaluate_refuses_a_policy_not_in_force() -> None:
    with pytest.raises(ValueError, match="not in force"):
        evaluate(SubjectFacts(), (), AT, BOOK.get("GD-2021.05"))


def test_evaluate_refuses_a_naive_instant() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        evaluate(SubjectFacts(), (), datetime(2022, 7, 8, 9), BOOK.get("GD-2022.06"))
