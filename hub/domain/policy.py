"""Policy versions (§3) as data: parsed and validated from TOML, selected by the instant.

A malformed file is refused with a PolicyFileError naming the file and the field; versions
must tile the time line (no overlap, no gap) from the first `valid_from` on.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar

from hub.domain.instants import require_aware
from hub.domain.vocabulary import Colour, Region
from hub.domain.windows import NatWindow, WindowSemantics

T = TypeVar("T")


class PolicyFileError(ValueError):
    """A policy file (or a set of them) that cannot be used; the message names file and field."""


class NoPolicyInForce(LookupError):
    """No policy version covers the instant: an error, never a silent default (§3)."""


@dataclass(frozen=True)
class TwoStage:
    """RED for `red_days`, then YELLOW for `yellow_days`, counted from the fact's instant."""

    red_days: int
    yellow_days: int


@dataclass(frozen=True)
class Stage:
    """`colour` for `days` after the fact's instant."""

    colour: Colour
    days: int


@dataclass(frozen=True)
class EntryRule:
    """Overseas entry: two stages, except for entries from `exempt_origins` (alpha-3)."""

    red_days: int
    yellow_days: int
    exempt_origins: frozenset[str]


@dataclass(frozen=True)
class Clearing:
    """A yellow listing clears with `negatives` NEGATIVE NATs sampled after assignment, any two
    consecutive ones at least `min_hours_apart` apart."""

    negatives: int
    min_hours_apart: int


@dataclass(frozen=True)
class RecognitionRule:
    """What a partner region asks (§7): its NAT window and the overseas-entry quarantine days."""

    overseas_entry_days: int
    macao_window: NatWindow
    hongkong_window: NatWindow

    def window(self, region: Region) -> NatWindow:
        return self.macao_window if region is Region.MACAO else self.hongkong_window


@dataclass(frozen=True)
class PolicyVersion:
    """One version of §3; a rule that is switched off is None."""

    id: str
    valid_from: datetime
    valid_to: datetime | None
    close_contact: TwoStage | None
    secondary_contact: Stage | None
    overseas_entry: EntryRule | None
    high_risk_visit: Stage | None
    medium_risk_visit: Stage | None
    case_discharge: TwoStage | None
    key_site: Clearing | None
    fever_clinic: Clearing | None
    driver_stay_days: int | None
    nat_overdue_hours: int | None
    recognition: RecognitionRule

    def covers(self, at: datetime) -> bool:
        """Whether `valid_from <= at < valid_to`."""
        return self.valid_from <= at and (self.valid_to is None or at < self.valid_to)

    @property
    def exempt_origins(self) -> frozenset[str]:
        return self.overseas_entry.exempt_origins if self.overseas_entry else frozenset()


class PolicyBook:
    """The versions in force one after the other; `in_force(at)` picks the one covering `at`."""

    def __init__(self, versions: Iterable[PolicyVersion]) -> None:
        ordered = tuple(sorted(versions, key=lambda v: v.valid_from))
        if not ordered:
            raise PolicyFileError("no policy versions")
        ids = [v.id for v in ordered]
        if len(set(ids)) != len(ids):
            raise PolicyFileError(f"duplicate policy ids among {ids}")
        for earlier, later in zip(ordered, ordered[1:], strict=False):
            if earlier.valid_to is None or earlier.valid_to > later.valid_from:
                raise PolicyFileError(f"{earlier.id} overlaps {later.id}")
            if earlier.valid_to < later.valid_from:
                raise PolicyFileError(f"gap between {earlier.id} and {later.id}")
        self.versions = ordered

    @classmethod
    def default(cls) -> PolicyBook:
        """The versions packaged in `hub.policies`."""
        folder = files("hub.policies")
        return cls(
            parse_policy(item.read_text(encoding="utf-8"), item.name)
            for item in sorted(folder.iterdir(), key=lambda t: t.name)
            if item.name.endswith(".toml")
        )

    @classmethod
    def from_dir(cls, path: str | Path) -> PolicyBook:
        """Every `*.toml` in `path`."""
        return cls(
            parse_policy(file.read_text(encoding="utf-8"), file.name)
            for file in sorted(Path(path).glob("*.toml"))
        )

    def in_force(self, at: datetime) -> PolicyVersion:
        """The version with valid_from <= at < valid_to; NoPolicyInForce if none."""
        require_aware(at, "at")
        for version in reversed(self.versions):  # newest first: now is in the last one
            if version.covers(at):
                return version
        raise NoPolicyInForce(f"no policy version in force at {at.isoformat()}")

    def get(self, version_id: str) -> PolicyVersion:
        for version in self.versions:
            if version.id == version_id:
                return version
        raise KeyError(version_id)


# --- parsing ----------------------------------------------------------------------------------


def parse_policy(text: str, source: str) -> PolicyVersion:
    """Parse one TOML policy file; `source` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyFileError(f"{source}: not valid TOML: {exc}") from exc
    top = _Section(data, source, "")
    close_contact = top.section("close_contact", _two_stage)
    secondary = top.section("secondary_contact", _stage)
    entry = top.section("overseas_entry", _entry_rule)
    high = top.section("high_risk_visit", _stage)
    medium = top.section("medium_risk_visit", _stage)
    discharge = top.section("case_discharge", _two_stage)
    key_site = top.section("key_site", _clearing)
    fever = top.section("fever_clinic", _clearing)
    driver = top.section("cross_border_driver", lambda s: s.integer("stay_days"))
    regular = top.section("regular_testing", lambda s: s.integer("overdue_hours", minimum=1))
    recognition = _recognition(top.table("recognition"))
    version = PolicyVersion(
        id=top.string("id"),
        valid_from=top.instant("valid_from"),
        valid_to=top.optional_instant("valid_to"),
        close_contact=close_contact,
        secondary_contact=secondary,
        overseas_entry=entry,
        high_risk_visit=high,
        medium_risk_visit=medium,
        case_discharge=discharge,
        key_site=key_site,
        fever_clinic=fever,
        driver_stay_days=driver,
        nat_overdue_hours=regular,
        recognition=recognition,
    )
    top.done()
    if version.valid_to is not None and version.valid_to <= version.valid_from:
        raise PolicyFileError(f"{source}: valid_to: must be after valid_from")
    return version


class _Section:
    """One TOML table being read: typed accessors, and `done()` refuses keys nobody read."""

    def __init__(self, data: Mapping[str, Any], source: str, path: str) -> None:
        self.data = data
        self.source = source
        self.path = path
        self.read: set[str] = set()

    def _where(self, key: str) -> str:
        return f"{self.source}: {self.path}{key}"

    def fail(self, key: str, problem: str) -> PolicyFileError:
        return PolicyFileError(f"{self._where(key)}: {problem}")

    def _get(self, key: str, required: bool = True) -> Any:
        self.read.add(key)
        if key not in self.data:
            if required:
                raise self.fail(key, "missing")
            return None
        return self.data[key]

    def string(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "must be a non-empty string")
        return value

    def integer(self, key: str, minimum: int = 0) -> int:
        value = self._get(key)
        # bool is an int in Python; `true` for a number of days is a typo, not a 1.
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(key, f"must be an integer >= {minimum}")
        return value

    def boolean(self, key: str) -> bool:
        value = self._get(key)
        if not isinstance(value, bool):
            raise self.fail(key, "must be true or false")
        return value

    def colour(self, key: str) -> Colour:
        value = self.string(key)
        if value not in ("GREEN", "YELLOW", "RED"):
            raise self.fail(key, "must be GREEN, YELLOW or RED")
        return Colour(value)

    def instant(self, key: str) -> datetime:
        value = self._get(key)
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise self.fail(key, "must be a date-time with a UTC offset")
        return value

    def optional_instant(self, key: str) -> datetime | None:
        return self.instant(key) if key in self.data else self._get(key, required=False)

    def strings(self, key: str) -> frozenset[str]:
        value = self._get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "must be a list of strings")
        return frozenset(value)

    def table(self, key: str) -> _Section:
        value = self._get(key)
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        return _Section(value, self.source, f"{self.path}{key}.")

    def section(self, key: str, build: Callable[[_Section], T]) -> T | None:
        """A rule's table: `enabled = false` switches the rule off and allows no parameters."""
        table = self.table(key)
        result = build(table) if table.boolean("enabled") else None
        table.done()
        return result

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.read)
        if unknown:
            raise self.fail(unknown[0], "unknown field")


def _two_stage(table: _Section) -> TwoStage:
    return TwoStage(table.integer("red_days"), table.integer("yellow_days"))


def _stage(table: _Section) -> Stage:
    return Stage(table.colour("colour"), table.integer("days"))


def _entry_rule(table: _Section) -> EntryRule:
    origins = table.strings("exempt_origins")
    if not all(len(o) == 3 and o.isalpha() and o.isupper() for o in origins):
        raise table.fail("exempt_origins", "must be ISO 3166-1 alpha-3 codes")
    return EntryRule(table.integer("red_days"), table.integer("yellow_days"), origins)


def _clearing(table: _Section) -> Clearing:
    return Clearing(table.integer("negatives", minimum=1), table.integer("min_hours_apart"))


def _window(table: _Section, key: str) -> NatWindow:
    window = table.table(key)
    semantics = window.string("semantics")
    if semantics not in WindowSemantics.__members__:
        raise window.fail("semantics", f"must be one of {', '.join(WindowSemantics)}")
    result = NatWindow(WindowSemantics(semantics), window.integer("n"))
    window.done()
    return result


def _recognition(table: _Section) -> RecognitionRule:
    result = RecognitionRule(
        overseas_entry_days=table.integer("overseas_entry_days"),
        macao_window=_window(table, "macao_window"),
        hongkong_window=_window(table, "hongkong_window"),
    )
    table.done()
    return result
