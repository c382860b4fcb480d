"""GraphQL types of what the hub derives: the health code, its reasons, recognition."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from hub.domain.recognition import Recognition as DomainRecognition
from hub.domain.verdict import Verdict
from hub.domain.vocabulary import RULE_SOURCES
from hub.domain.vocabulary import Colour as DomainColour
from hub.domain.vocabulary import Region as DomainRegion
from hub.schema.records import Colour, Region, cst, cst_or_none


@strawberry.enum(description="How a source stood when the verdict was computed")
class SourceState(Enum):
    FRESH = "FRESH"
    UNAVAILABLE = "UNAVAILABLE"


@strawberry.type(description="A source system the verdict consulted, and how it answered")
class SourceStatus:
    source: str
    status: SourceState


@strawberry.type(description="Why the code has its colour: one rule holding on one fact")
class Reason:
    rule: str
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
    def of(cls, verdict: Verdict) -> HealthCode:
        missing = {s.value for s in verdict.missing_sources}
        return cls(
            colour=verdict.colour,
            reasons=[
                Reason(
                    rule=r.rule.value,
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
                    source=source.value,
                    status=SourceState.UNAVAILABLE
                    if source.value in missing
                    else SourceState.FRESH,
                )
                for source in sorted(RULE_SOURCES)
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
