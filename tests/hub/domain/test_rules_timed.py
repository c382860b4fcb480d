"""§5 rules that run on the clock: cases, positives, contacts, entries, risk-area visits, drivers.

Each table walks one rule of each policy version across its exact boundary instants.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.domain.vocabulary import Colour
from tests.hub.domain.builders import (
    DAY,
    HOUR,
    SECOND,
    area,
    case,
    driver,
    entry,
    listing,
    nat,
    shape,
    t,
    trip,
    verdict,
)

# An anchor instant well inside each version, so every boundary below stays in that version.
ANCHOR = {
    "GD-2021.05": t("2022-03-01T08:00"),
    "GD-2022.06": t("2022-07-01T20:00"),
    "GD-2022.11": t("2022-12-01T20:00"),
}


def _two_stage_walk(
    rule: str, monitoring: str, versions: dict[str, tuple[int, int]], what: str
) -> list[object]:
    """Rows (version, offset from the anchor, colour, rules) across red and yellow boundaries."""
    rows: list[object] = []
    for version, (red, yellow) in versions.items():
        red_end, yellow_end = red * DAY, (red + yellow) * DAY
        steps = [
            (12 * HOUR, "RED", {rule}, f"is red half a day after {what}"),
            (red_end - SECOND, "RED", {rule}, f"is still red one second before {red} days"),
            (red_end, "YELLOW", {monitoring}, f"turns yellow exactly {red} days after {what}"),
            (
                yellow_end - SECOND,
                "YELLOW",
                {monitoring},
                f"is still yellow one second before {red}+{yellow} days",
            ),
            (yellow_end, "GREEN", set(), f"is green exactly {red}+{yellow} days after {what}"),
        ]
        for offset, colour, rules, sentence in steps:
            rows.append(pytest.param(version, offset, colour, rules, id=f"{version} {sentence}"))
    return rows


@pytest.mark.parametrize(
    ("version", "offset", "colour", "rules"),
    _two_stage_walk(
        "CLOSE_CONTACT",
        "CLOSE_CONTACT_MONITORING",
        {"GD-2021.05": (14, 7), "GD-2022.06": (7, 3), "GD-2022.11": (5, 3)},
        "the last exposure",
    ),
)
def test_close_contact_counts_days_from_the_last_exposure(
    version: str, offset: timedelta, colour: str, rules: set[str]
) -> None:
    exposure = ANCHOR[version]
    listed = listing("CLOSE_CONTACT", exposure + 12 * HOUR, exposure)
    v = verdict(exposure + offset, listings=(listed,))
    assert v.policy == version
    assert shape(v) == (colour, rules)


@pytest.mark.parametrize(
    ("version", "offset", "colour", "rules"),
    _two_stage_walk(
        "OVERSEAS_ENTRY",
        "OVERSEAS_ENTRY_MONITORING",
        {"GD-2021.05": (14, 7), "GD-2022.06": (7, 3), "GD-2022.11": (5, 3)},
        "entry",
    ),
)
def test_overseas_entry_counts_days_from_entry(
    version: str, offset: timedelta, colour: str, rules: set[str]
) -> None:
    entered = ANCHOR[version]
    v = verdict(entered + offset, entries=(entry(entered),))
    assert v.policy == version
    assert shape(v) == (colour, rules)


@pytest.mark.parametrize(
    ("version", "offset", "colour", "rules"),
    [
        pytest.param(
            "GD-2021.05",
            12 * HOUR,
            "RED",
            {"CASE_RECOVERING"},
            id="GD-2021.05 a discharged case is red half a day after discharge",
        ),
        pytest.param(
            "GD-2021.05",
            14 * DAY - SECOND,
            "RED",
            {"CASE_RECOVERING"},
            id="GD-2021.05 a discharged case is red one second before 14 days",
        ),
        pytest.param(
            "GD-2021.05",
            14 * DAY,
            "YELLOW",
            {"CASE_MONITORING"},
            id="GD-2021.05 a discharged case turns yellow exactly 14 days after",
        ),
        pytest.param(
            "GD-2021.05",
            28 * DAY - SECOND,
            "YELLOW",
            {"CASE_MONITORING"},
            id="GD-2021.05 a discharged case is yellow one second before 14+14 days",
        ),
        pytest.param(
            "GD-2021.05",
            28 * DAY,
            "GREEN",
            set(),
            id="GD-2021.05 a discharged case is green exactly 14+14 days after",
        ),
    ]
    + [
        row
        for version in ("GD-2022.06", "GD-2022.11")
        for row in (
            pytest.param(
                version,
                0 * DAY,
                "YELLOW",
                {"CASE_MONITORING"},
                id=f"{version} a discharged case is yellow at once (0 red days)",
            ),
            pytest.param(
                version,
                7 * DAY - SECOND,
                "YELLOW",
                {"CASE_MONITORING"},
                id=f"{version} a discharged case is yellow one second before 7 days",
            ),
            pytest.param(
                version,
                7 * DAY,
                "GREEN",
                set(),
                id=f"{version} a discharged case is green exactly 7 days after",
            ),
        )
    ],
)
def test_discharged_case_follows_the_versions_days(
    version: str, offset: timedelta, colour: str, rules: set[str]
) -> None:
    discharged = ANCHOR[version]
    record = case(discharged - 20 * DAY, discharged)
    v = verdict(discharged + offset, cases=(record,))
    assert v.policy == version
    assert shape(v) == (colour, rules)


@pytest.mark.parametrize(
    ("status", "discharged", "at", "colour", "rules"),
    [
        pytest.param(
            "CONFIRMED",
            None,
            "2022-07-05T10:00",
            "RED",
            {"CASE_ACTIVE"},
            id="a confirmed case without discharge is red",
        ),
        pytest.param(
            "ASYMPTOMATIC",
            None,
            "2022-07-05T10:00",
            "RED",
            {"CASE_ACTIVE"},
            id="an asymptomatic case without discharge is red",
        ),
        pytest.param(
            "SUSPECTED",
            None,
            "2022-07-05T10:00",
            "RED",
            {"CASE_ACTIVE"},
            id="a suspected case without discharge is red",
        ),
        pytest.param(
            "CONFIRMED",
            "2022-07-06T10:00",
            "2022-07-05T10:00",
            "RED",
            {"CASE_ACTIVE"},
            id="a discharge not yet happened at the instant leaves the case active",
        ),
        pytest.param(
            "CONFIRMED",
            None,
            "2022-07-01T09:59",
            "GREEN",
            set(),
            id="a case diagnosed after the instant is not known yet",
        ),
        pytest.param(
            "CONFIRMED",
            None,
            "2022-07-01T10:00",
            "RED",
            {"CASE_ACTIVE"},
            id="a case is known from the exact instant of diagnosis",
        ),
    ],
)
def test_case_is_active_until_a_known_discharge(
    status: str, discharged: str | None, at: str, colour: str, rules: set[str]
) -> None:
    record = case(t("2022-07-01T10:00"), t(discharged) if discharged else None, status)
    assert shape(verdict(t(at), cases=(record,))) == (colour, rules)


def test_an_active_case_keeps_an_open_until() -> None:
    v = verdict(t("2022-07-05T10:00"), cases=(case(t("2022-07-01T10:00")),))
    assert v.reasons[0].until is None
    assert v.reasons[0].since == t("2022-07-01T10:00")


@pytest.mark.parametrize(
    ("cases", "sampled", "reported", "at", "colour", "rules"),
    [
        pytest.param(
            (),
            "2022-07-14T09:00",
            "2022-07-14T21:00",
            "2022-07-15T10:00",
            "RED",
            {"NAT_POSITIVE"},
            id="a reported positive without a case is red",
        ),
        pytest.param(
            (),
            "2022-07-14T09:00",
            "2022-07-14T21:00",
            "2022-07-14T20:59:59",
            "GREEN",
            set(),
            id="a positive is unknown one second before it is reported",
        ),
        pytest.param(
            (),
            "2022-07-14T09:00",
            "2022-07-14T21:00",
            "2022-07-14T21:00",
            "RED",
            {"NAT_POSITIVE"},
            id="a positive counts from the exact reporting instant",
        ),
        pytest.param(
            (),
            "2022-07-14T09:00",
            "2022-07-14T21:00",
            "2022-09-14T21:00",
            "RED",
            {"NAT_POSITIVE"},
            id="a positive never ends by the passage of time",
        ),
        pytest.param(
            (("2022-07-15T08:00", None),),
            "2022-07-14T09:00",
            "2022-07-14T21:00",
            "2022-07-16T10:00",
            "RED",
            {"NAT_POSITIVE", "CASE_ACTIVE"},
            id="a positive and its active case both hold",
        ),
        pytest.param(
            (("2022-07-15T08:00", "2022-07-25T08:00"),),
            "2022-07-14T09:00",
            "2022-07-14T21:00",
            "2022-07-26T10:00",
            "YELLOW",
            {"CASE_MONITORING"},
            id="a positive sampled before a known discharge no longer counts",
        ),
        pytest.param(
            (("2022-07-15T08:00", "2022-07-25T08:00"),),
            "2022-07-14T09:00",
            "2022-07-14T21:00",
            "2022-07-24T10:00",
            "RED",
            {"NAT_POSITIVE", "CASE_ACTIVE"},
            id="a discharge after the instant does not yet end the positive",
        ),
        pytest.param(
            (("2022-06-01T08:00", "2022-06-20T08:00"),),
            "2022-07-14T09:00",
            "2022-07-14T21:00",
            "2022-07-15T10:00",
            "RED",
            {"NAT_POSITIVE"},
            id="a positive sampled after the latest discharge is red again",
        ),
    ],
)
def test_nat_positive_holds_until_a_later_discharge(
    cases: tuple[tuple[str, str | None], ...],
    sampled: str,
    reported: str,
    at: str,
    colour: str,
    rules: set[str],
) -> None:
    records = tuple(case(t(d), t(x) if x else None) for d, x in cases)
    test = nat(t(sampled), t(reported), "POSITIVE")
    assert shape(verdict(t(at), cases=records, nat_tests=(test,))) == (colour, rules)


@pytest.mark.parametrize(
    ("version", "offset", "colour", "rules"),
    [
        pytest.param(
            "GD-2021.05",
            1 * DAY,
            "RED",
            {"SECONDARY_CONTACT"},
            id="GD-2021.05 a secondary contact is red",
        ),
        pytest.param(
            "GD-2021.05",
            7 * DAY - SECOND,
            "RED",
            {"SECONDARY_CONTACT"},
            id="GD-2021.05 a secondary contact is red one second before 7 days",
        ),
        pytest.param(
            "GD-2021.05",
            7 * DAY,
            "GREEN",
            set(),
            id="GD-2021.05 a secondary contact is green exactly 7 days after exposure",
        ),
        pytest.param(
            "GD-2022.06",
            1 * DAY,
            "YELLOW",
            {"SECONDARY_CONTACT"},
            id="GD-2022.06 a secondary contact is yellow",
        ),
        pytest.param(
            "GD-2022.06",
            7 * DAY - SECOND,
            "YELLOW",
            {"SECONDARY_CONTACT"},
            id="GD-2022.06 a secondary contact is yellow one second before 7 days",
        ),
        pytest.param(
            "GD-2022.06",
            7 * DAY,
            "GREEN",
            set(),
            id="GD-2022.06 a secondary contact is green exactly 7 days after exposure",
        ),
        pytest.param(
            "GD-2022.11",
            1 * DAY,
            "GREEN",
            set(),
            id="GD-2022.11 secondary contacts are not identified",
        ),
    ],
)
def test_secondary_contact_per_version(
    version: str, offset: timedelta, colour: str, rules: set[str]
) -> None:
    exposure = ANCHOR[version]
    listed = listing("SECONDARY_CONTACT", exposure + 12 * HOUR, exposure)
    v = verdict(exposure + offset, listings=(listed,))
    assert v.policy == version
    assert shape(v) == (colour, rules)


def test_a_listing_assigned_after_the_instant_is_not_known() -> None:
    exposure = t("2022-07-01T20:00")
    listed = listing("CLOSE_CONTACT", t("2022-07-03T09:00"), exposure)
    assert shape(verdict(t("2022-07-03T08:59:59"), listings=(listed,))) == ("GREEN", set())


def test_a_close_contact_without_exposure_counts_from_the_listing() -> None:
    listed = listing("CLOSE_CONTACT", t("2022-07-01T20:00"))
    v = verdict(t("2022-07-08T19:59:59"), listings=(listed,))
    assert shape(v) == ("RED", {"CLOSE_CONTACT"})
    assert v.reasons[0].until == t("2022-07-08T20:00")


@pytest.mark.parametrize(
    ("origin", "colour"),
    [
        pytest.param("MAC", "GREEN", id="an entry from Macao is exempt"),
        pytest.param("HKG", "RED", id="an entry from Hong Kong is not exempt"),
        pytest.param("MYS", "RED", id="an entry from Malaysia is not exempt"),
    ],
)
@pytest.mark.parametrize("version", list(ANCHOR))
def test_exempt_origins_per_version(version: str, origin: str, colour: str) -> None:
    entered = ANCHOR[version]
    assert verdict(entered + DAY, entries=(entry(entered, origin),)).colour.value == colour


def test_an_entry_after_the_instant_is_not_known() -> None:
    entered = t("2022-08-01T14:00")
    assert shape(verdict(entered - SECOND, entries=(entry(entered),))) == ("GREEN", set())


# --- risk-area visits -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "level", "offset", "colour", "rules"),
    [
        pytest.param(
            "GD-2021.05",
            "HIGH",
            14 * DAY - SECOND,
            "RED",
            {"HIGH_RISK_AREA_VISIT"},
            id="GD-2021.05 a high-risk visit is red one second before 14 days",
        ),
        pytest.param(
            "GD-2021.05",
            "HIGH",
            14 * DAY,
            "GREEN",
            set(),
            id="GD-2021.05 a high-risk visit is green exactly 14 days after",
        ),
        pytest.param(
            "GD-2021.05",
            "MEDIUM",
            14 * DAY - SECOND,
            "YELLOW",
            {"MEDIUM_RISK_AREA_VISIT"},
            id="GD-2021.05 a medium-risk visit is yellow one second before 14 days",
        ),
        pytest.param(
            "GD-2021.05",
            "MEDIUM",
            14 * DAY,
            "GREEN",
            set(),
            id="GD-2021.05 a medium-risk visit is green exactly 14 days after",
        ),
        pytest.param(
            "GD-2022.06",
            "HIGH",
            7 * DAY - SECOND,
            "RED",
            {"HIGH_RISK_AREA_VISIT"},
            id="GD-2022.06 a high-risk visit is red one second before 7 days",
        ),
        pytest.param(
            "GD-2022.06",
            "HIGH",
            7 * DAY,
            "GREEN",
            set(),
            id="GD-2022.06 a high-risk visit is green exactly 7 days after",
        ),
        pytest.param(
            "GD-2022.06",
            "MEDIUM",
            7 * DAY - SECOND,
            "YELLOW",
            {"MEDIUM_RISK_AREA_VISIT"},
            id="GD-2022.06 a medium-risk visit is yellow one second before 7 days",
        ),
        pytest.param(
            "GD-2022.06",
            "MEDIUM",
            7 * DAY,
            "GREEN",
            set(),
            id="GD-2022.06 a medium-risk visit is green exactly 7 days after",
        ),
        pytest.param(
            "GD-2022.11",
            "HIGH",
            7 * DAY - SECOND,
            "RED",
            {"HIGH_RISK_AREA_VISIT"},
            id="GD-2022.11 a high-risk visit is red one second before 7 days",
        ),
        pytest.param(
            "GD-2022.11",
            "HIGH",
            7 * DAY,
            "GREEN",
            set(),
            id="GD-2022.11 a high-risk visit is green exactly 7 days after",
        ),
        pytest.param(
            "GD-2022.11",
            "MEDIUM",
            1 * DAY,
            "GREEN",
            set(),
            id="GD-2022.11 medium-risk areas are abolished",
        ),
        pytest.param(
            "GD-2022.06", "LOW", 1 * DAY, "GREEN", set(), id="a low-risk visit changes nothing"
        ),
    ],
)
def test_risk_area_visit_per_version(
    version: str, level: str, offset: timedelta, colour: str, rules: set[str]
) -> None:
    visited = ANCHOR[version]
    areas = (area("440106001", level, visited - 2 * DAY),)
    v = verdict(
        visited + offset,
        areas,
        trips=(trip("440106001", visited),),
    )
    assert v.policy == version
    assert shape(v) == (colour, rules)


VISIT = t("2022-08-12T15:00")


@pytest.mark.parametrize(
    ("areas", "colour", "rules"),
    [
        pytest.param(
            [("HIGH", "2022-08-13T00:00", None)],
            "GREEN",
            set(),
            id="a designation after the visit does not reach back to it",
        ),
        pytest.param(
            [("HIGH", "2022-08-12T15:00", None)],
            "RED",
            {"HIGH_RISK_AREA_VISIT"},
            id="a visit at the exact designation instant counts",
        ),
        pytest.param(
            [("HIGH", "2022-08-01T00:00", "2022-08-12T15:00")],
            "GREEN",
            set(),
            id="a visit at the exact lift instant does not count",
        ),
        pytest.param(
            [("HIGH", "2022-08-01T00:00", "2022-08-13T00:00")],
            "RED",
            {"HIGH_RISK_AREA_VISIT"},
            id="a lift after the visit changes nothing",
        ),
        pytest.param(
            [
                ("MEDIUM", "2022-08-01T00:00", "2022-08-12T00:00"),
                ("HIGH", "2022-08-12T00:00", None),
            ],
            "RED",
            {"HIGH_RISK_AREA_VISIT"},
            id="the entry in force at the visit decides when the level changed before",
        ),
        pytest.param(
            [
                ("HIGH", "2022-08-01T00:00", "2022-08-14T00:00"),
                ("MEDIUM", "2022-08-14T00:00", None),
            ],
            "RED",
            {"HIGH_RISK_AREA_VISIT"},
            id="a later downgrade does not soften an earlier visit",
        ),
        pytest.param(
            [("LOW", "2022-08-01T00:00", "2022-08-14T00:00"), ("HIGH", "2022-08-14T00:00", None)],
            "GREEN",
            set(),
            id="a later upgrade does not harden an earlier visit",
        ),
    ],
)
def test_trip_is_judged_by_the_level_at_the_visit(
    areas: list[tuple[str, str, str | None]], colour: str, rules: set[str]
) -> None:
    history = tuple(area("440106002", lvl, t(d), t(x) if x else None) for lvl, d, x in areas)
    v = verdict(t("2022-08-15T10:00"), history, trips=(trip("440106002", VISIT),))
    assert shape(v) == (colour, rules)


def test_a_trip_to_another_area_code_does_not_match() -> None:
    areas = (area("440106003", "HIGH", t("2022-08-01T00:00")),)
    v = verdict(t("2022-08-15T10:00"), areas, trips=(trip("440106009", VISIT),))
    assert v.colour is Colour.GREEN


def test_a_trip_after_the_instant_is_not_known() -> None:
    areas = (area("440106004", "HIGH", t("2022-08-01T00:00")),)
    v = verdict(VISIT - SECOND, areas, trips=(trip("440106004", VISIT),))
    assert v.colour is Colour.GREEN


# --- cross-border drivers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "stay_days"),
    [
        pytest.param("GD-2021.05", 7, id="GD-2021.05 a driver may stay 7 days"),
        pytest.param("GD-2022.06", 7, id="GD-2022.06 a driver may stay 7 days"),
        pytest.param("GD-2022.11", 1, id="GD-2022.11 a driver may stay 1 day"),
    ],
)
def test_driver_is_yellow_for_the_versions_stay(version: str, stay_days: int) -> None:
    entered = ANCHOR[version]
    declared = (driver(entered),)
    at_entry = verdict(entered, driver_declarations=declared)
    assert shape(at_entry) == ("YELLOW", {"CROSS_BORDER_DRIVER"})
    inside = verdict(entered + stay_days * DAY - SECOND, driver_declarations=declared)
    assert shape(inside) == ("YELLOW", {"CROSS_BORDER_DRIVER"})
    assert inside.reasons[0].until == entered + stay_days * DAY
    after = verdict(entered + stay_days * DAY, driver_declarations=declared)
    assert shape(after) == ("GREEN", set())


@pytest.mark.parametrize(
    ("exited", "at", "colour"),
    [
        pytest.param(
            "2022-10-05T18:00",
            "2022-10-05T18:00",
            "GREEN",
            id="a driver is green from the exact instant of a known exit",
        ),
        pytest.param(
            "2022-10-05T18:00",
            "2022-10-05T17:59:59",
            "YELLOW",
            id="a driver is yellow one second before exit",
        ),
        pytest.param(
            None, "2022-10-05T07:29:59", "GREEN", id="a declaration is not known before its entry"
        ),
    ],
)
def test_driver_exit_counts_once_known(exited: str | None, at: str, colour: str) -> None:
    declaration = driver(t("2022-10-05T07:30"), t(exited) if exited else None)
    assert verdict(t(at), driver_declarations=(declaration,)).colour.value == colour
