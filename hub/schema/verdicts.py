"""GraphQL types of what the hub derives: the health code, its reasons, recognition."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from hub.domain.recognition import Recognition as DomainRecognition
from hub.domain.verdict import Verdict
from hub.domain.vocabulary import Colour as DomainColour
from hub.domain.vocabulary import Region as DomainRegion
from hub.loaders import Freshness, Provenance
from hub.schema.records import Colour, Region, cst, cst_or_none

SourceState = strawberry.enum(
    Freshness, name="SourceState", description="How a source stood when the verdict was computed"
)


@strawberry.type(description="A source system the verdict consulted, and how it answered")
class SourceStatus:
    source: str
    status: SourceState  # type: ignore[valid-type]
    age_seconds: float | None = strawberry.field(description="for a STALE answer: how old it was")


@strawberry.type(description="The health of one source system, as the hub sees it")
class SourceHealth:
    source: str
    breaker: str = strawberry.field(description="CLOSED, OPEN or HALF_OPEN")
    error_rate: float = strawberry.field(description="failed share of recent calls")
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    recent_calls: int
    in_flight: int

    @classmethod
    def of(cls, status: Any) -> SourceHealth:
        return cls(
            source=status.source,
            breaker=str(status.breaker_state),
            error_rate=status.error_rate,
            latency_p50_ms=status.latency_p50_ms,
            latency_p99_ms=status.latency_p99_ms,
            recent_calls=status.calls,
            in_flight=status.in_flight,
        )


# What each rule means, in words a citizen understands (shown as `Reason.description`).
PLAIN_WORDS = {
    "CASE_ACTIVE": "You are recorded as a COVID-19 case under treatment.",
    "CASE_RECOVERING": "You were recently discharged after treatment and are still in recovery.",
    "CASE_MONITORING": "You were discharged after treatment and are under health monitoring.",
    "NAT_POSITIVE": "A nucleic acid test of yours was positive.",
    "CLOSE_CONTACT": "You were identified as a close contact of a case.",
    "CLOSE_CONTACT_MONITORING": "As a recent close contact, you are under home health monitoring.",
    "SECONDARY_CONTACT": "You were identified as a contact of a close contact.",
    "OVERSEAS_ENTRY": "You recently entered from overseas and are in the entry quarantine period.",
    "OVERSEAS_ENTRY_MONITORING": "You recently entered from overseas and are under monitoring.",
    "HIGH_RISK_AREA_VISIT": "You recently stayed in an area that was high-risk at the time.",
    "MEDIUM_RISK_AREA_VISIT": "You recently stayed in an area that was medium-risk at the time.",
    "KEY_SITE": "You were at a key site; a negative test taken since then clears this.",
    "FEVER_CLINIC": "You visited a fever clinic; a negative test taken since then clears this.",
    "CROSS_BORDER_DRIVER": "You are a cross-border driver staying in Guangdong.",
    "CROSS_PROVINCE_FLAG": "Another province asked for your code to be set.",
    "LOCAL_JUDGEMENT": "An official decision applies to your code.",
    "SOURCE_UNAVAILABLE": "Some records cannot be checked right now; please try again later.",
}


@strawberry.type(description="Why the code has its colour: one rule holding on one fact")
class Reason:
    rule: str
    description: str = strawberry.field(description="what the rule means, in plain words")
    colour: Colour | None  # type: ignore[valid-type]
    source: str
    fact: str | None
    since: datetime
    until: datetime | None


@strawberry.type(description="The health code at an instant, derived under the policy in force")
class HealthCode:
    colour: Colour  # type: ignore[valid-type]
    reasons: list[Reason]
    popups: list[str]
    valid_until: datetime = strawberry.field(
        description="until when the verdict holds unless a new fact arrives"
    )
    policy: str
    at: datetime
    sources: list[SourceStatus]

    @classmethod
    def of(cls, verdict: Verdict, provenance: tuple[Provenance, ...]) -> HealthCode:
        return cls(
            colour=verdict.colour,
            reasons=[
                Reason(
                    rule=r.rule.value,
                    description=PLAIN_WORDS.get(r.rule.value, r.rule.value),
                    colour=r.colour,
                    source=r.source.value,
                    fact=r.fact,
                    since=cst(r.since),
                    until=cst_or_none(r.until),
                )
                for r in verdict.reasons
            ],
            popups=[p.value for p in verdict.popups],
            valid_until=cst(verdict.valid_until),
            policy=verdict.policy,
            at=cst(verdict.at),
            sources=[
                SourceStatus(
                    source=p.source.value,
                    status=p.status,
                    age_seconds=None if p.age_s is None else round(p.age_s, 3),
                )
                for p in provenance
            ],
        )


@strawberry.type(description="Whether a partner region may recognise the code for a crossing")
class Recognition:
    region: Region  # type: ignore[valid-type]
    colour: Colour  # type: ignore[valid-type]
    eligible: bool
    nat_valid_until: datetime | None = strawberry.field(
        description="end of the partner's NAT window for the best valid test"
    )
    reasons: list[str] = strawberry.field(
        description="failed conditions: NOT_GREEN, NO_VALID_NAT, RECENT_OVERSEAS_ENTRY"
    )

    @classmethod
    def of(cls, recognition: DomainRecognition) -> Recognition:
        return cls(
            region=DomainRegion(recognition.region),
            colour=DomainColour(recognition.colour),
            eligible=recognition.eligible,
            nat_valid_until=cst_or_none(recognition.nat_valid_until),
            reasons=[r.value for r in recognition.reasons],
        )
