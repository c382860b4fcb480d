"""Normalised facts in the hub's vocabulary: one frozen type per kind, aware datetimes only.

Field names follow `connectors.records` wherever the meaning is the same, so a loader's
translation is field-for-field; the string codes become the enums below.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum

from hub.domain.instants import CST, require_aware
from hub.domain.vocabulary import Colour, Region, Source


class CaseStatus(StrEnum):
    """A case record's status; every status is red while not discharged."""

    CONFIRMED = "CONFIRMED"
    ASYMPTOMATIC = "ASYMPTOMATIC"
    SUSPECTED = "SUSPECTED"


class ListingCategory(StrEnum):
    """The key-population list a listing puts its subject on."""

    CLOSE_CONTACT = "CLOSE_CONTACT"
    SECONDARY_CONTACT = "SECONDARY_CONTACT"
    KEY_SITE = "KEY_SITE"
    FEVER_CLINIC = "FEVER_CLINIC"
    REGULAR_TESTING = "REGULAR_TESTING"


class TestResult(StrEnum):
    """A NAT or antibody result."""

    __test__ = False  # not a pytest test class, despite the name

    NEGATIVE = "NEGATIVE"
    POSITIVE = "POSITIVE"


class RiskLevel(StrEnum):
    """A risk area's level; LOW triggers no rule."""

    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"


class JudgementAction(StrEnum):
    """What a local judgement does: assign a colour or dismiss a reason."""

    ASSIGN = "ASSIGN"
    DISMISS = "DISMISS"


def _aware_fields(fact: object) -> None:
    # A naive instant would compare wrongly (or raise) deep inside a rule: refuse it at the door.
    for f in fields(fact):  # type: ignore[arg-type]
        value = getattr(fact, f.name)
        if isinstance(value, datetime):
            require_aware(value, f"{type(fact).__name__}.{f.name}")


@dataclass(frozen=True)
class Case:
    """A case record of the provincial platform; known from `diagnosed_at`."""

    id: str
    status: CaseStatus
    diagnosed_at: datetime
    discharged_at: datetime | None = None

    def __post_init__(self) -> None:
        _aware_fields(self)


@dataclass(frozen=True)
class Listing:
    """A key-population listing; known from `assigned_at`."""

    id: str
    category: ListingCategory
    assigned_at: datetime
    issuer: str
    last_exposure_at: datetime | None = None

    def __post_init__(self) -> None:
        _aware_fields(self)


@dataclass(frozen=True)
class NatTest:
    """A nucleic-acid test result; known from `reported_at`."""

    id: str
    sampled_at: datetime
    reported_at: datetime
    result: TestResult
    institution: str
    recognised_by: frozenset[Region] = frozenset()

    def __post_init__(self) -> None:
        _aware_fields(self)


@dataclass(frozen=True)
class AntibodyTest:
    """An antibody test result; no rule reads it, it is shown to officials only."""

    id: str
    sampled_at: datetime
    reported_at: datetime
    isotype: str  # IgG | IgM
    result: TestResult

    def __post_init__(self) -> None:
        _aware_fields(self)


@dataclass(frozen=True)
class Entry:
    """An entry into the mainland from `origin` (ISO 3166-1 alpha-3); known from `entered_at`."""

    id: str
    entered_at: datetime
    port: str
    origin: str

    def __post_init__(self) -> None:
        _aware_fields(self)


@dataclass(frozen=True)
class HealthCertificate:
    """A health certificate; no rule reads it."""

    id: str
    kind: str
    issued_at: datetime
    expires_at: datetime | None
    status: str

    def __post_init__(self) -> None:
        _aware_fields(self)


@dataclass(frozen=True)
class RiskArea:
    """One entry of the national risk-area list: `level` holds on [designated_at, lifted_at)."""

    area_code: str
    name: str
    level: RiskLevel
    designated_at: datetime
    lifted_at: datetime | None = None

    def __post_init__(self) -> None:
        _aware_fields(self)

    def in_force(self, instant: datetime) -> bool:
        """Whether this entry's level applied at `instant`."""
        return self.designated_at <= instant and (
            self.lifted_at is None or instant < self.lifted_at
        )


@dataclass(frozen=True)
class Trip:
    """A stay in an area at an instant, as the national itinerary records it; known from `at`."""

    area_code: str
    at: datetime

    def __post_init__(self) -> None:
        _aware_fields(self)

    @property
    def id(self) -> str:
        """Trips carry no id upstream: area and instant name one."""
        return f"{self.area_code}@{self.at.astimezone(CST).isoformat()}"


@dataclass(frozen=True)
class Flag:
    """A colour pushed by another province through the national platform; known from
    `assigned_at`, revoked from `revoked_at` once that instant has passed."""

    id: str
    issuer: str
    colour: Colour
    reason: str
    assigned_at: datetime
    revoked_at: datetime | None = None

    def __post_init__(self) -> None:
        _aware_fields(self)
        if self.colour is Colour.UNKNOWN:
            raise ValueError("a flag cannot carry the colour UNKNOWN")


@dataclass(frozen=True)
class DriverDeclaration:
    """A cross-border driver's declared stay in Guangdong; known from `entered_at`."""

    id: str
    entered_at: datetime
    port: str
    plate: str
    exited_at: datetime | None = None
    lodging: str | None = None

    def __post_init__(self) -> None:
        _aware_fields(self)


@dataclass(frozen=True)
class Judgement:
    """A hub-recorded official judgement: ASSIGN a colour until `until`, or DISMISS the reason
    `target_rule` resting on fact `target_fact`; counts from `assigned_at`."""

    id: str
    action: JudgementAction
    reason: str
    assigned_at: datetime
    by: str
    colour: Colour | None = None
    until: datetime | None = None
    target_rule: str | None = None
    target_fact: str | None = None

    def __post_init__(self) -> None:
        _aware_fields(self)
        if self.action is JudgementAction.ASSIGN:
            if self.colour is None or self.colour is Colour.UNKNOWN:
                raise ValueError("an ASSIGN judgement needs a colour GREEN, YELLOW or RED")
        elif self.target_rule is None or self.target_fact is None:
            raise ValueError("a DISMISS judgement needs a target rule and fact")
        if not self.reason.strip():
            raise ValueError("a judgement needs a written reason")


@dataclass(frozen=True)
class SubjectFacts:
    """Everything known about one subject, plus the sources that did not answer."""

    cases: tuple[Case, ...] = ()
    listings: tuple[Listing, ...] = ()
    nat_tests: tuple[NatTest, ...] = ()
    antibody_tests: tuple[AntibodyTest, ...] = ()
    entries: tuple[Entry, ...] = ()
    health_certificates: tuple[HealthCertificate, ...] = ()
    trips: tuple[Trip, ...] = ()
    flags: tuple[Flag, ...] = ()
    driver_declarations: tuple[DriverDeclaration, ...] = ()
    judgements: tuple[Judgement, ...] = ()
    unavailable: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        known = {s.value for s in Source}
        if not self.unavailable <= known:
            raise ValueError(f"unavailable names an unknown source; known: {sorted(known)}")
