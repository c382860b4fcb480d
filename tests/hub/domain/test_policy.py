"""§3: the packaged versions' parameters, their selection by instant, and refused files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.domain.policy import (
    Clearing,
    NoPolicyInForce,
    PolicyBook,
    PolicyFileError,
    Stage,
    TwoStage,
)
from hub.domain.vocabulary import Colour, Region
from hub.domain.windows import NatWindow, WindowSemantics
from tests.hub.domain.builders import BOOK, t

CAL = WindowSemantics.CALENDAR_DAYS
BEFORE = WindowSemantics.DAYS_BEFORE_OR_ON
POLICIES = Path(__file__).resolve().parents[3] / "hub" / "policies"

PARAMETERS = {
    # parameter: (GD-2021.05, GD-2022.06, GD-2022.11), straight from the table of §3
    "valid_from": (t("2021-05-11T00:00"), t("2022-06-28T00:00"), t("2022-11-11T00:00")),
    "valid_to": (t("2022-06-28T00:00"), t("2022-11-11T00:00"), None),
    "close_contact": (TwoStage(14, 7), TwoStage(7, 3), TwoStage(5, 3)),
    "secondary_contact": (Stage(Colour.RED, 7), Stage(Colour.YELLOW, 7), None),
    "exempt_origins": (frozenset({"MAC"}),) * 3,
    "high_risk_visit": (Stage(Colour.RED, 14), Stage(Colour.RED, 7), Stage(Colour.RED, 7)),
    "medium_risk_visit": (Stage(Colour.YELLOW, 14), Stage(Colour.YELLOW, 7), None),
    "case_discharge": (TwoStage(14, 14), TwoStage(0, 7), TwoStage(0, 7)),
    "key_site": (Clearing(2, 24), Clearing(2, 24), Clearing(1, 0)),
    "fever_clinic": (Clearing(1, 0),) * 3,
    "driver_stay_days": (7, 7, 1),
    "nat_overdue_hours": (72, 72, 72),
}
RECOGNITION = {
    "macao_window": (NatWindow(CAL, 7), NatWindow(CAL, 2), NatWindow(CAL, 1)),
    "hongkong_window": (NatWindow(BEFORE, 3), NatWindow(BEFORE, 3), NatWindow(BEFORE, 1)),
    "overseas_entry_days": (14, 14, 7),
}
IDS = ("GD-2021.05", "GD-2022.06", "GD-2022.11")


@pytest.mark.parametrize(
    ("version", "parameter", "expected"),
    [
        pytest.param(IDS[i], name, values[i], id=f"{IDS[i]} {name} is {values[i]}")
        for name, values in PARAMETERS.items()
        for i in range(3)
    ],
)
def test_packaged_version_parameters(version: str, parameter: str, expected: object) -> None:
    assert getattr(BOOK.get(version), parameter) == expected


@pytest.mark.parametrize(
    ("version", "parameter", "expected"),
    [
        pytest.param(IDS[i], name, values[i], id=f"{IDS[i]} recognition {name} is {values[i]}")
        for name, values in RECOGNITION.items()
        for i in range(3)
    ],
)
def test_packaged_recognition_parameters(version: str, parameter: str, expected: object) -> None:
    assert getattr(BOOK.get(version).recognition, parameter) == expected


def test_recognition_window_per_region() -> None:
    rule = BOOK.get("GD-2022.06").recognition
    assert rule.window(Region.MACAO) == NatWindow(CAL, 2)
    assert rule.window(Region.HONGKONG) == NatWindow(BEFORE, 3)


def test_the_book_from_the_source_folder_equals_the_packaged_one() -> None:
    assert PolicyBook.from_dir(POLICIES).versions == BOOK.versions


@pytest.mark.parametrize(
    ("at", "version"),
    [
        pytest.param(
            t("2021-05-11T00:00"), "GD-2021.05", id="GD-2021.05 starts at its exact start"
        ),
        pytest.param(
            t("2022-06-27T23:59:59.999999"),
            "GD-2021.05",
            id="GD-2021.05 holds until the last microsecond before GD-2022.06",
        ),
        pytest.param(
            t("2022-06-28T00:00"), "GD-2022.06", id="GD-2022.06 starts at its exact start"
        ),
        pytest.param(
            datetime(2022, 6, 27, 16, 0, tzinfo=UTC),
            "GD-2022.06",
            id="the boundary written in UTC is the same instant",
        ),
        pytest.param(
            datetime(2022, 6, 27, 15, 59, 59, tzinfo=UTC),
            "GD-2021.05",
            id="one second before the boundary written in UTC",
        ),
        pytest.param(
            t("2022-11-10T23:59:59"),
            "GD-2022.06",
            id="GD-2022.06 holds until just before GD-2022.11",
        ),
        pytest.param(
            t("2022-11-11T00:00"), "GD-2022.11", id="GD-2022.11 starts at its exact start"
        ),
        pytest.param(t("2030-01-01T00:00"), "GD-2022.11", id="GD-2022.11 is open-ended"),
    ],
)
def test_in_force_selects_by_half_open_validity(at: datetime, version: str) -> None:
    assert BOOK.in_force(at).id == version


@pytest.mark.parametrize(
    "at",
    [
        pytest.param(t("2021-05-10T23:59:59.999999"), id="just before 11 May 2021 nothing holds"),
        pytest.param(t("2021-01-15T09:00"), id="January 2021 has no policy"),
    ],
)
def test_no_policy_before_the_first_version(at: datetime) -> None:
    with pytest.raises(NoPolicyInForce):
        BOOK.in_force(at)


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        BOOK.in_force(datetime(2022, 7, 1, 12, 0))


GOOD = (POLICIES / "GD-2022.06.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        pytest.param('id = "GD-2022.06"\n', "", "id", id="a missing id is refused"),
        pytest.param(
            "red_days = 7\n",
            'red_days = "7"\n',
            "close_contact.red_days",
            id="a number of days written as a string is refused",
        ),
        pytest.param(
            "red_days = 7\n",
            "red_days = -1\n",
            "close_contact.red_days",
            id="a negative number of days is refused",
        ),
        pytest.param(
            "stay_days = 7\n",
            "stay_days = true\n",
            "cross_border_driver.stay_days",
            id="a boolean for a number of days is refused",
        ),
        pytest.param(
            "[secondary_contact]\nenabled = true\n",
            "[secondary_contact]\n",
            "secondary_contact.enabled",
            id="a rule without an explicit enabled is refused",
        ),
        pytest.param(
            '[medium_risk_visit]\nenabled = true\ncolour = "YELLOW"\ndays = 7\n',
            '[medium_risk_visit]\nenabled = false\ncolour = "YELLOW"\ndays = 7\n',
            "medium_risk_visit.colour",
            id="a switched-off rule that still carries parameters is refused",
        ),
        pytest.param(
            'colour = "YELLOW"\n',
            'colour = "UNKNOWN"\n',
            "secondary_contact.colour",
            id="UNKNOWN is not a colour a rule can give",
        ),
        pytest.param(
            'semantics = "CALENDAR_DAYS"',
            'semantics = "WEEKS"',
            "recognition.macao_window.semantics",
            id="an unknown window semantics",
        ),
        pytest.param(
            "valid_from = 2022-06-28T00:00:00+08:00",
            "valid_from = 2022-06-28T00:00:00",
            "valid_from",
            id="a validity instant without an offset is refused",
        ),
        pytest.param(
            "valid_to = 2022-11-11T00:00:00+08:00",
            "valid_to = 2022-06-01T00:00:00+08:00",
            "valid_to",
            id="a version that ends before it starts is refused",
        ),
        pytest.param(
            "stay_days = 7\n",
            "stay_days = 7\nstay_hours = 3\n",
            "cross_border_driver.stay_hours",
            id="an unknown field is refused",
        ),
        pytest.param(
            'exempt_origins = ["MAC"]',
            'exempt_origins = ["Macao"]',
            "overseas_entry.exempt_origins",
            id="an origin that is not alpha-3",
        ),
        pytest.param("[key_site]", "[key_sites]", "key_site", id="a misspelt rule table"),
        pytest.param("id =", "id ==", "not valid TOML", id="a file that is not TOML"),
    ],
)
def test_a_malformed_policy_file_is_refused_naming_file_and_field(
    tmp_path: Path, old: str, new: str, field: str
) -> None:
    assert old in GOOD
    (tmp_path / "broken.toml").write_text(GOOD.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PolicyFileError) as raised:
        PolicyBook.from_dir(tmp_path)
    assert "broken.toml" in str(raised.value)
    assert field in str(raised.value)


def _write_versions(folder: Path, spans: list[tuple[str, str, str | None]]) -> None:
    for version_id, start, end in spans:
        text = GOOD.replace('id = "GD-2022.06"', f'id = "{version_id}"')
        text = text.replace("valid_from = 2022-06-28T00:00:00+08:00", f"valid_from = {start}")
        text = text.replace(
            "valid_to = 2022-11-11T00:00:00+08:00\n", f"valid_to = {end}\n" if end else ""
        )
        (folder / f"{version_id}.toml").write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("spans", "problem"),
    [
        pytest.param(
            [
                ("A", "2022-01-01T00:00:00+08:00", "2022-03-01T00:00:00+08:00"),
                ("B", "2022-02-01T00:00:00+08:00", None),
            ],
            "overlaps",
            id="overlapping versions are refused",
        ),
        pytest.param(
            [("A", "2022-01-01T00:00:00+08:00", None), ("B", "2022-02-01T00:00:00+08:00", None)],
            "overlaps",
            id="an open version followed by another is refused",
        ),
        pytest.param(
            [
                ("A", "2022-01-01T00:00:00+08:00", "2022-02-01T00:00:00+08:00"),
                ("B", "2022-02-02T00:00:00+08:00", None),
            ],
            "gap",
            id="a gap between versions is refused",
        ),
        pytest.param(
            [
                ("A", "2022-01-01T00:00:00+08:00", "2022-02-01T00:00:00+08:00"),
                ("A", "2022-02-01T00:00:00+08:00", None),
            ],
            "duplicate",
            id="two versions with one id are refused",
        ),
        pytest.param([], "no policy", id="an empty folder is refused"),
    ],
)
def test_versions_must_tile_the_time_line(
    tmp_path: Path, spans: list[tuple[str, str, str | None]], problem: str
) -> None:
    for index, (version_id, start, end) in enumerate(spans):
        folder = tmp_path / str(index)
        folder.mkdir()
        _write_versions(folder, [(version_id, start, end)])
        for file in folder.iterdir():
            file.rename(tmp_path / f"{index}-{file.name}")
    with pytest.raises(PolicyFileError, match=problem):
        PolicyBook.from_dir(tmp_path)


def test_adjacent_versions_written_in_other_offsets_tile(tmp_path: Path) -> None:
    _write_versions(
        tmp_path,
        [
            ("A", "2022-01-01T00:00:00+08:00", "2022-02-01T00:00:00+08:00"),
            ("B", "2022-01-31T16:00:00+00:00", None),
        ],
    )
    book = PolicyBook.from_dir(tmp_path)
    assert book.in_force(t("2022-02-01T00:00")).id == "B"
