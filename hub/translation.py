"""Connector records into the hub's facts: one function per source, field for field.

This is the one boundary where the sources' neutral records (`connectors.records`) become the
domain's facts; the string codes become the domain's enums, so a code the domain does not know
fails here, loudly, rather than deep inside a rule.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from typing import Generic, TypeVar

from connectors import records
from hub.domain import facts
from hub.domain.vocabulary import Colour, Region
from hub.store import JudgementRow

In = TypeVar("In")
Out = TypeVar("Out")


def provincial(found: records.ProvincialFacts) -> facts.SubjectFacts:
    """A person's provincial records as SubjectFacts with only the provincial fields filled."""
    return facts.SubjectFacts(
        cases=tuple(
            facts.Case(c.id, facts.CaseStatus(c.status), c.diagnosed_at, c.discharged_at)
            for c in found.cases
        ),
        listings=tuple(
            facts.Listing(
                x.id, facts.ListingCategory(x.category), x.assigned_at, x.issuer, x.last_exposure_at
            )
            for x in found.listings
        ),
        nat_tests=tuple(
            facts.NatTest(
                t.id,
                t.sampled_at,
                t.reported_at,
                facts.TestResult(t.result),
                t.institution,
                frozenset(Region(r) for r in t.recognised_by),
            )
            for t in found.nat_tests
        ),
        antibody_tests=tuple(
            facts.AntibodyTest(
                t.id, t.sampled_at, t.reported_at, t.isotype, facts.TestResult(t.result)
            )
            for t in found.antibody_tests
        ),
        entries=tuple(facts.Entry(e.id, e.entered_at, e.port, e.origin) for e in found.entries),
        health_certificates=tuple(
            facts.HealthCertificate(h.id, h.kind, h.issued_at, h.expires_at, h.status)
            for h in found.health_certificates
        ),
    )


def trips(found: tuple[records.Trip, ...]) -> tuple[facts.Trip, ...]:
    return tuple(facts.Trip(t.area_code, t.at) for t in found)


def flags(found: tuple[records.Flag, ...]) -> tuple[facts.Flag, ...]:
    return tuple(
        facts.Flag(f.id, f.issuer, Colour.of_fact(f.colour), f.reason, f.assigned_at, f.revoked_at)
        for f in found
    )


def risk_area(area: records.RiskArea) -> facts.RiskArea:
    return facts.RiskArea(
        area.area_code, area.name, facts.RiskLevel(area.level), area.designated_at, area.lifted_at
    )


def driver_declarations(
    found: tuple[records.DriverDeclaration, ...],
) -> tuple[facts.DriverDeclaration, ...]:
    return tuple(
        facts.DriverDeclaration(d.id, d.entered_at, d.port, d.plate, d.exited_at, d.lodging)
        for d in found
    )


def judgement(row: JudgementRow) -> facts.Judgement:
    return facts.Judgement(
        id=row.id,
        action=facts.JudgementAction(row.action),
        reason=row.reason,
        assigned_at=row.assigned_at,
        by=row.by,
        colour=Colour.of_fact(row.colour) if row.colour else None,
        until=row.until,
        target_rule=row.target_rule,
        target_fact=row.target_fact,
    )


def subject_facts(
    found: records.ProvincialFacts | None,
    trip_records: tuple[records.Trip, ...],
    flag_records: tuple[records.Flag, ...],
    declarations: tuple[records.DriverDeclaration, ...],
    *,
    judgements: tuple[facts.Judgement, ...] = (),
    unavailable: frozenset[str] = frozenset(),
) -> facts.SubjectFacts:
    """What the colour rules read about one person, from the records of the three rule sources
    (and the hub's own judgements; the sources that did not answer)."""
    base = _provincial(found) if found is not None else _NO_PROVINCIAL_FACTS
    # replace keeps every provincial field of the remembered translation, whatever is added
    return replace(
        base,
        trips=_trips(trip_records),
        flags=_flags(flag_records),
        driver_declarations=_driver_declarations(declarations),
        judgements=judgements,
        unavailable=unavailable,
    )


class _ByIdentity(Generic[In, Out]):
    """A translation remembered by the identity of its input: a cached answer is the same
    object on every hit, so the people asked about often are translated once, not on every
    verdict. Bounded; holding the input keeps its id from being reused for another object.
    Inputs and translations are kept in two dicts rather than as pairs: a pair would be one
    more object per person for the garbage collector to walk (hub/upstream.py, AnswerCache)."""

    def __init__(self, translate: Callable[[In], Out], maxsize: int = 10_000) -> None:
        self._translate = translate
        self._maxsize = maxsize
        self._inputs: OrderedDict[int, In] = OrderedDict()
        self._done: dict[int, Out] = {}

    def __call__(self, found: In) -> Out:
        key = id(found)
        if self._inputs.get(key) is found:
            return self._done[key]
        translated = self._translate(found)
        self._inputs[key] = found
        self._done[key] = translated
        if len(self._inputs) > self._maxsize:
            oldest, _ = self._inputs.popitem(last=False)
            del self._done[oldest]
        return translated


_NO_PROVINCIAL_FACTS = facts.SubjectFacts()
_provincial = _ByIdentity(provincial)
_trips = _ByIdentity(trips)
_flags = _ByIdentity(flags)
_driver_declarations = _ByIdentity(driver_declarations)
