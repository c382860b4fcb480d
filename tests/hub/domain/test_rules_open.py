"""§5 rules that end through new facts: key sites, fever clinics, flags, judgements; popups."""

from __future__ import annotations

from datetime import datetime

import pytest

from hub.domain.facts import NatTest
from hub.domain.verdict import Popup, dismissable
from hub.domain.vocabulary import Colour
from tests.hub.domain.builders import (
    HOUR,
    SECOND,
    assign,
    dismiss,
    flag,
    listing,
    nat,
    shape,
    t,
    verdict,
)

# Assignment instants inside each version.
KEY_SITE_AT = {
    "GD-2021.05": t("2022-03-01T10:00"),
    "GD-2022.06": t("2022-09-01T10:00"),
    "GD-2022.11": t("2022-12-01T10:00"),
}


@pytest.mark.parametrize(
    ("version", "samples", "colour"),
    [
        row
        for version in ("GD-2021.05", "GD-2022.06")
        for row in (
            pytest.param(version, [], "YELLOW", id=f"{version} a key site without tests is yellow"),
            pytest.param(version, [2], "YELLOW", id=f"{version} one negative is not enough"),
            pytest.param(
                version, [2, 25], "YELLOW", id=f"{version} two negatives 23 h apart do not clear"
            ),
            pytest.param(
                version,
                [2, 26],
                "GREEN",
                id=f"{version} two negatives exactly 24 h apart clear the key site",
            ),
            pytest.param(
                version,
                [2, 25.99],
                "YELLOW",
                id=f"{version} two negatives less than 24 h apart do not clear",
            ),
            pytest.param(
                version,
                [2, 12, 26],
                "GREEN",
                id=f"{version} any two of several negatives 24 h apart clear",
            ),
            pytest.param(
                version,
                [0, 24],
                "YELLOW",
                id=f"{version} a sample at the exact assignment instant does not count",
            ),
            pytest.param(
                version,
                [-2, 30],
                "YELLOW",
                id=f"{version} a sample before assignment does not count",
            ),
        )
    ]
    + [
        pytest.param(
            "GD-2022.11", [], "YELLOW", id="GD-2022.11 a key site without tests is yellow"
        ),
        pytest.param(
            "GD-2022.11",
            [0.01],
            "GREEN",
            id="GD-2022.11 one negative sampled after assignment clears",
        ),
        pytest.param(
            "GD-2022.11",
            [0],
            "YELLOW",
            id="GD-2022.11 a sample at the exact assignment instant does not count",
        ),
        pytest.param(
            "GD-2022.11", [-2], "YELLOW", id="GD-2022.11 a sample before assignment does not count"
        ),
    ],
)
def test_key_site_clears_with_the_versions_negatives(
    version: str, samples: list[float], colour: str
) -> None:
    assigned = KEY_SITE_AT[version]
    tests = tuple(
        nat(assigned + h * HOUR, assigned + h * HOUR + HOUR, id=f"N{i}")
        for i, h in enumerate(samples)
    )
    at = assigned + 40 * HOUR
    v = verdict(at, listings=(listing("KEY_SITE", assigned),), nat_tests=tests)
    assert v.policy == version
    rules = {"KEY_SITE"} if colour == "YELLOW" else set()
    assert shape(v) == (colour, rules)


@pytest.mark.parametrize(
    ("tests", "colour"),
    [
        pytest.param(
            [(2, 3, "NEGATIVE"), (26, 41, "NEGATIVE")],
            "YELLOW",
            id="a negative reported after the instant does not clear yet",
        ),
        pytest.param(
            [(2, 3, "NEGATIVE"), (26, 40, "NEGATIVE")],
            "GREEN",
            id="a negative reported at the exact instant clears",
        ),
        pytest.param(
            [(2, 3, "NEGATIVE"), (26, 27, "POSITIVE")],
            "RED",
            id="a positive does not clear a key site and is red itself",
        ),
    ],
)
def test_key_site_clearing_counts_only_what_is_reported(
    tests: list[tuple[float, float, str]], colour: str
) -> None:
    assigned = KEY_SITE_AT["GD-2022.06"]
    records = tuple(
        nat(assigned + s * HOUR, assigned + r * HOUR, result, id=f"N{i}")
        for i, (s, r, result) in enumerate(tests)
    )
    v = verdict(assigned + 40 * HOUR, listings=(listing("KEY_SITE", assigned),), nat_tests=records)
    assert v.colour.value == colour


@pytest.mark.parametrize("version", list(KEY_SITE_AT))
@pytest.mark.parametrize(
    ("samples", "colour"),
    [
        pytest.param([], "YELLOW", id="a fever-clinic visit without a test is yellow"),
        pytest.param([1], "GREEN", id="one negative sampled after the visit clears it"),
        pytest.param([0], "YELLOW", id="a sample at the exact visit instant does not count"),
        pytest.param([-1], "YELLOW", id="a sample before the visit does not count"),
    ],
)
def test_fever_clinic_clears_with_one_negative_after_the_visit(
    version: str, samples: list[float], colour: str
) -> None:
    visited = KEY_SITE_AT[version]
    tests = tuple(nat(visited + h * HOUR, visited + 5 * HOUR) for h in samples)
    v = verdict(visited + 10 * HOUR, listings=(listing("FEVER_CLINIC", visited),), nat_tests=tests)
    assert v.policy == version
    assert shape(v) == (colour, {"FEVER_CLINIC"} if colour == "YELLOW" else set())


def test_fever_clinic_negative_not_yet_reported_does_not_clear() -> None:
    visited = KEY_SITE_AT["GD-2022.06"]
    tests = (nat(visited + HOUR, visited + 11 * HOUR),)
    v = verdict(visited + 10 * HOUR, listings=(listing("FEVER_CLINIC", visited),), nat_tests=tests)
    assert v.colour is Colour.YELLOW
    assert v.reasons[0].until is None


# --- cross-province flags and local judgements ------------------------------------------------

FLAGGED = t("2022-06-19T08:00")
AT = t("2022-06-21T10:00")


@pytest.mark.parametrize(
    ("flags", "judgements", "colour", "rules"),
    [
        pytest.param(
            [flag(FLAGGED)],
            [],
            "RED",
            {"CROSS_PROVINCE_FLAG"},
            id="a red flag from another province is red",
        ),
        pytest.param(
            [flag(FLAGGED, "YELLOW")],
            [],
            "YELLOW",
            {"CROSS_PROVINCE_FLAG"},
            id="a yellow flag is yellow",
        ),
        pytest.param(
            [flag(AT + SECOND)],
            [],
            "GREEN",
            set(),
            id="a flag assigned after the instant is not known",
        ),
        pytest.param(
            [flag(FLAGGED, revoked=AT)],
            [],
            "GREEN",
            set(),
            id="a flag revoked at the exact instant no longer holds",
        ),
        pytest.param(
            [flag(FLAGGED, revoked=AT + SECOND)],
            [],
            "RED",
            {"CROSS_PROVINCE_FLAG"},
            id="a revocation after the instant is not known yet",
        ),
        pytest.param(
            [flag(FLAGGED)],
            [dismiss(AT, "CROSS_PROVINCE_FLAG", "F1")],
            "GREEN",
            set(),
            id="a flag dismissed by a local judgement no longer holds",
        ),
        pytest.param(
            [flag(FLAGGED)],
            [dismiss(AT + SECOND, "CROSS_PROVINCE_FLAG", "F1")],
            "RED",
            {"CROSS_PROVINCE_FLAG"},
            id="a dismissal recorded after the instant is not known",
        ),
        pytest.param(
            [flag(FLAGGED)],
            [dismiss(AT, "CROSS_PROVINCE_FLAG", "F9")],
            "RED",
            {"CROSS_PROVINCE_FLAG"},
            id="a dismissal of another flag changes nothing",
        ),
        pytest.param(
            [flag(FLAGGED), flag(FLAGGED, "YELLOW", id="F2")],
            [dismiss(AT, "CROSS_PROVINCE_FLAG", "F1")],
            "YELLOW",
            {"CROSS_PROVINCE_FLAG"},
            id="a dismissal removes only the flag it names",
        ),
    ],
)
def test_cross_province_flag(
    flags: list[object], judgements: list[object], colour: str, rules: set[str]
) -> None:
    v = verdict(AT, flags=tuple(flags), judgements=tuple(judgements))
    assert shape(v) == (colour, rules)


@pytest.mark.parametrize(
    ("judgements", "at", "colour", "rules"),
    [
        pytest.param(
            [assign(FLAGGED, "RED", t("2022-06-25T00:00"))],
            AT,
            "RED",
            {"LOCAL_JUDGEMENT"},
            id="an assigned red holds before its until",
        ),
        pytest.param(
            [assign(FLAGGED, "YELLOW", t("2022-06-25T00:00"))],
            t("2022-06-25T00:00"),
            "GREEN",
            set(),
            id="an assigned colour ends at its exact until",
        ),
        pytest.param(
            [assign(FLAGGED, "YELLOW")],
            t("2023-06-25T00:00"),
            "YELLOW",
            {"LOCAL_JUDGEMENT"},
            id="an assignment without until stays",
        ),
        pytest.param(
            [assign(AT + SECOND)],
            AT,
            "GREEN",
            set(),
            id="a judgement recorded after the instant does not count",
        ),
        pytest.param(
            [assign(FLAGGED, "GREEN")],
            AT,
            "GREEN",
            {"LOCAL_JUDGEMENT"},
            id="an assigned green is listed but lowers nothing",
        ),
    ],
)
def test_local_judgement_assigns_a_colour_until(
    judgements: list[object], at: datetime, colour: str, rules: set[str]
) -> None:
    v = verdict(at, judgements=tuple(judgements))
    assert shape(v) == (colour, rules)


def test_an_assigned_green_does_not_lower_a_red() -> None:
    v = verdict(AT, flags=(flag(FLAGGED),), judgements=(assign(FLAGGED, "GREEN"),))
    assert shape(v) == ("RED", {"CROSS_PROVINCE_FLAG", "LOCAL_JUDGEMENT"})


@pytest.mark.parametrize(
    ("facts", "target", "colour", "rules"),
    [
        pytest.param(
            {"listings": (listing("KEY_SITE", FLAGGED),)},
            ("KEY_SITE", "L1"),
            "GREEN",
            set(),
            id="a key-site listing can be dismissed",
        ),
        pytest.param(
            {"listings": (listing("FEVER_CLINIC", FLAGGED),)},
            ("FEVER_CLINIC", "L1"),
            "GREEN",
            set(),
            id="a fever-clinic listing can be dismissed",
        ),
        pytest.param(
            {"nat_tests": (nat(FLAGGED, result="POSITIVE"),)},
            ("NAT_POSITIVE", "N1"),
            "RED",
            {"NAT_POSITIVE"},
            id="a stored dismissal of a positive is ignored",
        ),
        pytest.param(
            {"listings": (listing("CLOSE_CONTACT", FLAGGED, FLAGGED),)},
            ("CLOSE_CONTACT", "L1"),
            "RED",
            {"CLOSE_CONTACT"},
            id="a stored dismissal of a close contact is ignored",
        ),
        pytest.param(
            {"judgements": (assign(FLAGGED, id="J1"),)},
            ("LOCAL_JUDGEMENT", "J1"),
            "RED",
            {"LOCAL_JUDGEMENT"},
            id="a stored dismissal of a local judgement is ignored",
        ),
    ],
)
def test_dismissal_touches_only_dismissable_reasons(
    facts: dict[str, tuple[object, ...]], target: tuple[str, str], colour: str, rules: set[str]
) -> None:
    judgements = facts.get("judgements", ()) + (dismiss(FLAGGED + HOUR, *target),)
    others = {k: v for k, v in facts.items() if k != "judgements"}
    v = verdict(AT, (), judgements=judgements, **others)
    assert shape(v) == (colour, rules)


@pytest.mark.parametrize(
    ("rule", "allowed"),
    [
        pytest.param("CROSS_PROVINCE_FLAG", True, id="a cross-province flag may be dismissed"),
        pytest.param("KEY_SITE", True, id="a key-site listing may be dismissed"),
        pytest.param("FEVER_CLINIC", True, id="a fever-clinic listing may be dismissed"),
        pytest.param("CASE_ACTIVE", False, id="a case may not be dismissed"),
        pytest.param("CASE_MONITORING", False, id="a discharged case may not be dismissed"),
        pytest.param("NAT_POSITIVE", False, id="a positive result may not be dismissed"),
        pytest.param("OVERSEAS_ENTRY", False, id="an overseas entry may not be dismissed"),
        pytest.param("CLOSE_CONTACT", False, id="a close contact may not be dismissed"),
        pytest.param("LOCAL_JUDGEMENT", False, id="a judgement is not dismissed but superseded"),
        pytest.param("NOT_A_RULE", False, id="an unknown rule may not be dismissed"),
    ],
)
def test_dismissable(rule: str, allowed: bool) -> None:
    assert dismissable(rule) is allowed


# --- popups -----------------------------------------------------------------------------------

POPUP_AT = {
    "GD-2021.05": t("2022-03-10T09:00"),
    "GD-2022.06": t("2022-09-10T09:00"),
    "GD-2022.11": t("2022-12-10T09:00"),
}


@pytest.mark.parametrize("version", list(POPUP_AT))
@pytest.mark.parametrize(
    ("sampled_hours_ago", "reported_hours_ago", "popup"),
    [
        pytest.param(None, None, True, id="no NAT at all on the regular-testing list is overdue"),
        pytest.param(72, 60, True, id="a NAT sampled exactly 72 h ago is overdue"),
        pytest.param(71.99, 60, False, id="a NAT sampled just inside 72 h is not overdue"),
        pytest.param(10, -1, True, id="a recent NAT reported after the instant does not count"),
        pytest.param(10, 0, False, id="a recent NAT reported at the exact instant counts"),
    ],
)
def test_nat_overdue_popup_per_version(
    version: str, sampled_hours_ago: float | None, reported_hours_ago: float, popup: bool
) -> None:
    at = POPUP_AT[version]
    tests: tuple[NatTest, ...] = ()
    if sampled_hours_ago is not None:
        tests = (nat(at - sampled_hours_ago * HOUR, at - reported_hours_ago * HOUR),)
    listed = listing("REGULAR_TESTING", at - 30 * 24 * HOUR)
    v = verdict(at, listings=(listed,), nat_tests=tests)
    assert v.policy == version
    assert (v.popups == (Popup.NAT_OVERDUE,)) is popup
    assert shape(v) == ("GREEN", set())  # a popup never changes the colour


@pytest.mark.parametrize(
    ("listings", "popup"),
    [
        pytest.param((), False, id="a person not on the regular-testing list gets no popup"),
        pytest.param(
            (listing("REGULAR_TESTING", POPUP_AT["GD-2022.06"] + SECOND),),
            False,
            id="a regular-testing listing assigned after the instant is not known",
        ),
        pytest.param(
            (listing("KEY_SITE", POPUP_AT["GD-2022.06"] - 900 * HOUR),),
            False,
            id="only the regular-testing list asks for regular tests",
        ),
    ],
)
def test_nat_overdue_needs_a_known_regular_testing_listing(
    listings: tuple[object, ...], popup: bool
) -> None:
    v = verdict(POPUP_AT["GD-2022.06"], listings=listings)
    assert bool(v.popups) is popup
