"""Terse fact builders for the domain tables: instants default to UTC+08:00."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from hub.domain.facts import (
    Case,
    CaseStatus,
    DriverDeclaration,
    Entry,
    Flag,
    Judgement,
    JudgementAction,
    Listing,
    ListingCategory,
    NatTest,
    RiskArea,
    RiskLevel,
    SubjectFacts,
    TestResult,
    Trip,
)
from hub.domain.instants import CST
from hub.domain.policy import PolicyBook
from hub.domain.rules import evaluate
from hub.domain.verdict import Verdict
from hub.domain.vocabulary import Colour, Region

BOOK = PolicyBook.default()
SECOND = timedelta(seconds=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def t(text: str) -> datetime:
    """An instant; without an offset it is read in UTC+08:00 (tests only, for brevity)."""
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=CST)


def listing(
    category: str, assigned: datetime, exposure: datetime | None = None, id: str = "L1"
) -> Listing:
    return Listing(id, ListingCategory(category), assigned, "440300", exposure)


def nat(
    sampled: datetime,
    reported: datetime | None = None,
    result: str = "NEGATIVE",
    id: str = "N1",
    recognised_by: Sequence[str] = ("MACAO", "HONGKONG"),
) -> NatTest:
    return NatTest(
        id,
        sampled,
        reported if reported is not None else sampled + 6 * HOUR,
        TestResult(result),
        "GD-LAB-0001",
        frozenset(Region(r) for r in recognised_by),
    )


def case(
    diagnosed: datetime, discharged: datetime | None = None, status: str = "CONFIRMED"
) -> Case:
    return Case("C1", CaseStatus(status), diagnosed, discharged)


def entry(entered: datetime, origin: str = "MYS", id: str = "E1") -> Entry:
    return Entry(id, entered, "GUANGZHOU_BAIYUN", origin)


def area(code: str, level: str, designated: datetime, lifted: datetime | None = None) -> RiskArea:
    return RiskArea(code, f"Street {code}", RiskLevel(level), designated, lifted)


def trip(code: str, at: datetime) -> Trip:
    return Trip(code, at)


def flag(
    assigned: datetime, colour: str = "RED", revoked: datetime | None = None, id: str = "F1"
) -> Flag:
    return Flag(id, "410000", Colour.of_fact(colour), "pushed", assigned, revoked)


def driver(entered: datetime, exited: datetime | None = None) -> DriverDeclaration:
    return DriverDeclaration("D1", entered, "SHENZHEN_BAY", "ZG1234", exited)


def assign(
    assigned: datetime, colour: str = "RED", until: datetime | None = None, id: str = "J1"
) -> Judgement:
    return Judgement(
        id, JudgementAction.ASSIGN, "ordered", assigned, "judge-001", Colour(colour), until
    )


def dismiss(assigned: datetime, rule: str, fact: str, id: str = "J2") -> Judgement:
    return Judgement(
        id,
        JudgementAction.DISMISS,
        "no link",
        assigned,
        "judge-001",
        target_rule=rule,
        target_fact=fact,
    )


def verdict(at: datetime, areas: Sequence[RiskArea] = (), /, **facts: object) -> Verdict:
    """Evaluate `SubjectFacts(**facts)` at `at` under the packaged version in force then."""
    subject = SubjectFacts(**facts)  # type: ignore[arg-type]
    return evaluate(subject, areas, at, BOOK.in_force(at))


def shape(v: Verdict) -> tuple[str, set[str]]:
    """(colour, rule ids): what most tables compare."""
    return v.colour.value, set(v.rule_ids)
