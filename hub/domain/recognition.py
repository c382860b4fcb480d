"""Partner-region recognition (§7): may this code be recognised for a crossing at `at`?

The answer is minimal by design: colour, eligibility, the NAT window end and failure ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from hub.domain.facts import SubjectFacts, TestResult
from hub.domain.instants import days_after, require_aware
from hub.domain.policy import PolicyVersion
from hub.domain.verdict import Verdict
from hub.domain.vocabulary import Colour, Region


class RecognitionFailure(StrEnum):
    """A condition of §7 that does not hold."""

    NOT_GREEN = "NOT_GREEN"
    NO_VALID_NAT = "NO_VALID_NAT"
    RECENT_OVERSEAS_ENTRY = "RECENT_OVERSEAS_ENTRY"


@dataclass(frozen=True)
class Recognition:
    """The answer to a partner: eligible iff `reasons` is empty."""

    region: Region
    colour: Colour
    eligible: bool
    nat_valid_until: datetime | None
    reasons: tuple[RecognitionFailure, ...]
    # when the NAT the answer rests on was sampled: the date a transfer ticket carries
    nat_sampled_at: datetime | None = None


def recognise(
    verdict: Verdict,
    facts: SubjectFacts,
    at: datetime,
    policy: PolicyVersion,
    region: Region | str,
) -> Recognition:
    """Recognition for `region` at `at`, given the verdict computed for the same instant."""
    require_aware(at, "at")
    partner = Region(region)
    if verdict.policy != policy.id or verdict.at != at:
        raise ValueError("the verdict was computed for another instant or policy")
    window = policy.recognition.window(partner)
    # The best NAT is the one whose window ends last: that is how long the answer stays true.
    best = max(
        (
            (window.valid_until(t.sampled_at), t.sampled_at)
            for t in facts.nat_tests
            if t.result is TestResult.NEGATIVE
            and t.reported_at <= at
            and partner in t.recognised_by
            and window.is_valid(t.sampled_at, at)
        ),
        default=None,
    )
    valid_until = None if best is None else best[0]
    quarantine_start = days_after(at, -policy.recognition.overseas_entry_days)
    recent_entry = any(
        quarantine_start < e.entered_at <= at and e.origin not in policy.exempt_origins
        for e in facts.entries
    )
    failures: list[RecognitionFailure] = []
    if verdict.colour is not Colour.GREEN:
        failures.append(RecognitionFailure.NOT_GREEN)
    if valid_until is None:
        failures.append(RecognitionFailure.NO_VALID_NAT)
    if recent_entry:
        failures.append(RecognitionFailure.RECENT_OVERSEAS_ENTRY)
    return Recognition(
        region=partner,
        colour=verdict.colour,
        eligible=not failures,
        nat_valid_until=valid_until,
        reasons=tuple(failures),
        nat_sampled_at=None if best is None else best[1],
    )
