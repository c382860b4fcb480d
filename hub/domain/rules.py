"""The colour rules (§5) with §4 and §6: `evaluate(facts, risk_areas, at, policy) -> Verdict`.

Every rule turns the facts known at `at` into spans `[start, end)` with a colour; the spans that
hold at `at` are the reasons, and the edges still ahead of `at` bound `valid_until`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from hub.domain.facts import (
    Judgement,
    JudgementAction,
    ListingCategory,
    NatTest,
    RiskArea,
    RiskLevel,
    SubjectFacts,
    TestResult,
)
from hub.domain.instants import CST, days_after, hours_after, require_aware
from hub.domain.policy import Clearing, PolicyVersion, Stage, TwoStage
from hub.domain.verdict import DISMISSABLE, Popup, Reason, Rule, Verdict
from hub.domain.vocabulary import RULE_SOURCES, Colour, Source

CEILING_HOURS = 24  # §6: no verdict is reused for longer than this


@dataclass(frozen=True)
class _Span:
    """A candidate reason: `rule` with `colour` on [start, end); end None means open."""

    rule: Rule
    colour: Colour
    source: Source
    fact: str
    start: datetime
    end: datetime | None

    def holds(self, at: datetime) -> bool:
        return self.start <= at and (self.end is None or at < self.end)

    def edges_after(self, at: datetime) -> Iterator[datetime]:
        if self.end is not None and self.end <= self.start:
            return  # an empty span (e.g. 0 red days) never starts
        if self.start > at:
            yield self.start
        if self.end is not None and self.end > at:
            yield self.end

    def reason(self) -> Reason:
        return Reason(self.rule, self.colour, self.source, self.fact, self.start, self.end)


def evaluate(
    facts: SubjectFacts, risk_areas: Sequence[RiskArea], at: datetime, policy: PolicyVersion
) -> Verdict:
    """The verdict for `facts` at `at` under `policy`, counting only what was known at `at`."""
    require_aware(at, "at")
    if not policy.covers(at):
        raise ValueError(f"policy {policy.id} is not in force at the evaluation instant")
    dismissed = _dismissed(facts.judgements, at)
    spans = [s for s in _spans(facts, risk_areas, at, policy) if (s.rule, s.fact) not in dismissed]
    holding = sorted(
        (s for s in spans if s.holds(at)),
        key=lambda s: (-s.colour.severity, list(Rule).index(s.rule), s.start, s.fact),
    )
    reasons = [s.reason() for s in holding]
    colour = max((s.colour for s in holding), default=Colour.GREEN)

    popups, popup_change = _nat_overdue(facts, at, policy)

    # §4: a missing source can only hide reasons, so only a known RED survives it.
    missing = tuple(sorted(Source(s) for s in facts.unavailable if s in RULE_SOURCES))
    if missing and colour is not Colour.RED:
        colour = Colour.UNKNOWN
        reasons += [Reason(Rule.SOURCE_UNAVAILABLE, None, s, None, at, None) for s in missing]

    edges = [edge for s in spans for edge in s.edges_after(at)]
    edges.append(hours_after(at, CEILING_HOURS))
    if policy.valid_to is not None:
        edges.append(policy.valid_to)
    if popup_change is not None:
        edges.append(popup_change)
    return Verdict(
        colour=colour,
        reasons=tuple(reasons),
        popups=popups,
        valid_until=min(edges).astimezone(CST),
        policy=policy.id,
        at=at,
        missing_sources=missing,
    )


def _dismissed(judgements: Sequence[Judgement], at: datetime) -> frozenset[tuple[Rule, str]]:
    """(rule, fact) pairs dismissed by judgements known at `at`; other targets are ignored."""
    return frozenset(
        (Rule(j.target_rule), j.target_fact)
        for j in judgements
        if j.action is JudgementAction.DISMISS
        and j.assigned_at <= at
        and j.target_rule in DISMISSABLE
        and j.target_fact is not None
    )


def _spans(
    facts: SubjectFacts, risk_areas: Sequence[RiskArea], at: datetime, policy: PolicyVersion
) -> Iterator[_Span]:
    yield from _case_spans(facts, at, policy)
    yield from _nat_positive_spans(facts, at)
    yield from _contact_spans(facts, at, policy)
    yield from _entry_spans(facts, at, policy)
    yield from _visit_spans(facts, risk_areas, at, policy)
    yield from _clearable_spans(facts, at, policy)
    yield from _driver_spans(facts, at, policy)
    yield from _flag_spans(facts, at)
    yield from _judgement_spans(facts, at)


def _two_stages(
    red: Rule,
    yellow: Rule,
    stages: TwoStage,
    anchor: datetime,
    known: datetime,
    source: Source,
    fact: str,
) -> Iterator[_Span]:
    """RED on [anchor, anchor + red), YELLOW after it; neither starts before it was known."""
    red_end = days_after(anchor, stages.red_days)
    yellow_end = days_after(red_end, stages.yellow_days)
    yield _Span(red, Colour.RED, source, fact, max(known, anchor), red_end)
    yield _Span(yellow, Colour.YELLOW, source, fact, max(known, red_end), yellow_end)


def _case_spans(facts: SubjectFacts, at: datetime, policy: PolicyVersion) -> Iterator[_Span]:
    for case in facts.cases:
        if case.diagnosed_at > at:
            continue
        if case.discharged_at is None or case.discharged_at > at:
            yield _Span(
                Rule.CASE_ACTIVE, Colour.RED, Source.PROVINCIAL, case.id, case.diagnosed_at, None
            )
        elif policy.case_discharge is not None:
            yield from _two_stages(
                Rule.CASE_RECOVERING,
                Rule.CASE_MONITORING,
                policy.case_discharge,
                case.discharged_at,
                case.discharged_at,
                Source.PROVINCIAL,
                case.id,
            )


def _nat_positive_spans(facts: SubjectFacts, at: datetime) -> Iterator[_Span]:
    # A positive is explained by a case once that case is discharged after the sample.
    discharges = [
        c.discharged_at
        for c in facts.cases
        if c.diagnosed_at <= at and c.discharged_at is not None and c.discharged_at <= at
    ]
    latest_discharge = max(discharges, default=None)
    for test in facts.nat_tests:
        if test.result is not TestResult.POSITIVE or test.reported_at > at:
            continue
        if latest_discharge is None or test.sampled_at > latest_discharge:
            yield _Span(
                Rule.NAT_POSITIVE, Colour.RED, Source.PROVINCIAL, test.id, test.reported_at, None
            )


def _contact_spans(facts: SubjectFacts, at: datetime, policy: PolicyVersion) -> Iterator[_Span]:
    for listing in facts.listings:
        if listing.assigned_at > at:
            continue
        # Without a recorded exposure, the listing instant is the latest it can have been.
        exposure = listing.last_exposure_at or listing.assigned_at
        if listing.category is ListingCategory.CLOSE_CONTACT and policy.close_contact:
            yield from _two_stages(
                Rule.CLOSE_CONTACT,
                Rule.CLOSE_CONTACT_MONITORING,
                policy.close_contact,
                exposure,
                listing.assigned_at,
                Source.PROVINCIAL,
                listing.id,
            )
        elif listing.category is ListingCategory.SECONDARY_CONTACT and policy.secondary_contact:
            stage = policy.secondary_contact
            yield _Span(
                Rule.SECONDARY_CONTACT,
                stage.colour,
                Source.PROVINCIAL,
                listing.id,
                listing.assigned_at,
                days_after(exposure, stage.days),
            )


def _entry_spans(facts: SubjectFacts, at: datetime, policy: PolicyVersion) -> Iterator[_Span]:
    rule = policy.overseas_entry
    if rule is None:
        return
    for entry in facts.entries:
        if entry.entered_at > at or entry.origin in rule.exempt_origins:
            continue
        yield from _two_stages(
            Rule.OVERSEAS_ENTRY,
            Rule.OVERSEAS_ENTRY_MONITORING,
            TwoStage(rule.red_days, rule.yellow_days),
            entry.entered_at,
            entry.entered_at,
            Source.PROVINCIAL,
            entry.id,
        )


_LEVEL_RANK = {RiskLevel.LOW: 0, RiskLevel.MEDIUM: 1, RiskLevel.HIGH: 2}


def level_at(risk_areas: Sequence[RiskArea], area_code: str, instant: datetime) -> RiskLevel | None:
    """The area's level at `instant` (the most severe entry in force then), None if unlisted."""
    levels = [a.level for a in risk_areas if a.area_code == area_code and a.in_force(instant)]
    return max(levels, key=_LEVEL_RANK.__getitem__, default=None)


def _visit_spans(
    facts: SubjectFacts, risk_areas: Sequence[RiskArea], at: datetime, policy: PolicyVersion
) -> Iterator[_Span]:
    rules: dict[RiskLevel, tuple[Rule, Stage | None]] = {
        RiskLevel.HIGH: (Rule.HIGH_RISK_AREA_VISIT, policy.high_risk_visit),
        RiskLevel.MEDIUM: (Rule.MEDIUM_RISK_AREA_VISIT, policy.medium_risk_visit),
    }
    for trip in facts.trips:
        if trip.at > at:
            continue
        # The level at the visit, not today's: a later designation or lift changes nothing.
        level = level_at(risk_areas, trip.area_code, trip.at)
        if level not in rules:
            continue
        rule, stage = rules[level]
        if stage is not None:
            end = days_after(trip.at, stage.days)
            yield _Span(rule, stage.colour, Source.NATIONAL, trip.id, trip.at, end)


def cleared(
    tests: Sequence[NatTest], assigned_at: datetime, at: datetime, clearing: Clearing
) -> bool:
    """Whether NEGATIVE NATs sampled strictly after `assigned_at` and reported by `at` meet
    `clearing`: `negatives` samples, each >= `min_hours_apart` after the previous one."""
    samples = sorted(
        t.sampled_at
        for t in tests
        if t.result is TestResult.NEGATIVE and t.sampled_at > assigned_at and t.reported_at <= at
    )
    # Greedy from the earliest sample finds the longest chain with the required spacing.
    chain: list[datetime] = []
    for sampled in samples:
        if not chain or sampled >= hours_after(chain[-1], clearing.min_hours_apart):
            chain.append(sampled)
    return len(chain) >= clearing.negatives


def _clearable_spans(facts: SubjectFacts, at: datetime, policy: PolicyVersion) -> Iterator[_Span]:
    clearable = {
        ListingCategory.KEY_SITE: (Rule.KEY_SITE, policy.key_site),
        ListingCategory.FEVER_CLINIC: (Rule.FEVER_CLINIC, policy.fever_clinic),
    }
    for listing in facts.listings:
        if listing.assigned_at > at or listing.category not in clearable:
            continue
        rule, clearing = clearable[listing.category]
        if clearing is None or cleared(facts.nat_tests, listing.assigned_at, at, clearing):
            continue
        yield _Span(rule, Colour.YELLOW, Source.PROVINCIAL, listing.id, listing.assigned_at, None)


def _driver_spans(facts: SubjectFacts, at: datetime, policy: PolicyVersion) -> Iterator[_Span]:
    if policy.driver_stay_days is None:
        return
    for declaration in facts.driver_declarations:
        if declaration.entered_at > at:
            continue
        end = days_after(declaration.entered_at, policy.driver_stay_days)
        exited = declaration.exited_at
        if exited is not None and exited <= at:  # an exit counts only once known
            end = min(end, exited)
        yield _Span(
            Rule.CROSS_BORDER_DRIVER,
            Colour.YELLOW,
            Source.HONGKONG,
            declaration.id,
            declaration.entered_at,
            end,
        )


def _flag_spans(facts: SubjectFacts, at: datetime) -> Iterator[_Span]:
    for flag in facts.flags:
        if flag.assigned_at > at:
            continue
        revoked = flag.revoked_at
        if revoked is not None and revoked > at:
            revoked = None  # a revocation counts only once known
        yield _Span(
            Rule.CROSS_PROVINCE_FLAG,
            flag.colour,
            Source.NATIONAL,
            flag.id,
            flag.assigned_at,
            revoked,
        )


def _judgement_spans(facts: SubjectFacts, at: datetime) -> Iterator[_Span]:
    for judgement in facts.judgements:
        if judgement.action is not JudgementAction.ASSIGN or judgement.assigned_at > at:
            continue
        assert judgement.colour is not None  # Judgement refuses an ASSIGN without one
        yield _Span(
            Rule.LOCAL_JUDGEMENT,
            judgement.colour,
            Source.HUB,
            judgement.id,
            judgement.assigned_at,
            judgement.until,
        )


def _nat_overdue(
    facts: SubjectFacts, at: datetime, policy: PolicyVersion
) -> tuple[tuple[Popup, ...], datetime | None]:
    """The NAT_OVERDUE popup at `at`, and when it would appear if it is not shown now."""
    hours = policy.nat_overdue_hours
    on_list = any(
        listing.category is ListingCategory.REGULAR_TESTING and listing.assigned_at <= at
        for listing in facts.listings
    )
    if hours is None or not on_list:
        return (), None
    # A sample s is recent while s <= at < s + hours, i.e. s in (at - hours, at].
    recent = [
        t.sampled_at
        for t in facts.nat_tests
        if t.reported_at <= at and t.sampled_at <= at < hours_after(t.sampled_at, hours)
    ]
    if not recent:
        return (Popup.NAT_OVERDUE,), None
    return (), hours_after(max(recent), hours)
