"""What an evaluation answers (§1): colour, reasons that hold, popups, how long it lasts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from hub.domain.vocabulary import Colour, Source


class Rule(StrEnum):
    """The stable rule ids of §5, in the order of its table, plus §4's SOURCE_UNAVAILABLE."""

    CASE_ACTIVE = "CASE_ACTIVE"
    CASE_RECOVERING = "CASE_RECOVERING"
    CASE_MONITORING = "CASE_MONITORING"
    NAT_POSITIVE = "NAT_POSITIVE"
    CLOSE_CONTACT = "CLOSE_CONTACT"
    CLOSE_CONTACT_MONITORING = "CLOSE_CONTACT_MONITORING"
    SECONDARY_CONTACT = "SECONDARY_CONTACT"
    OVERSEAS_ENTRY = "OVERSEAS_ENTRY"
    OVERSEAS_ENTRY_MONITORING = "OVERSEAS_ENTRY_MONITORING"
    HIGH_RISK_AREA_VISIT = "HIGH_RISK_AREA_VISIT"
    MEDIUM_RISK_AREA_VISIT = "MEDIUM_RISK_AREA_VISIT"
    KEY_SITE = "KEY_SITE"
    FEVER_CLINIC = "FEVER_CLINIC"
    CROSS_BORDER_DRIVER = "CROSS_BORDER_DRIVER"
    CROSS_PROVINCE_FLAG = "CROSS_PROVINCE_FLAG"
    LOCAL_JUDGEMENT = "LOCAL_JUDGEMENT"
    SOURCE_UNAVAILABLE = "SOURCE_UNAVAILABLE"


class Popup(StrEnum):
    """Requests to the citizen that do not change the colour."""

    NAT_OVERDUE = "NAT_OVERDUE"


# A local judgement may dismiss only these; cases, positives and entries end only through new
# source facts (§5), so a dismissal aimed at anything else is refused or ignored.
DISMISSABLE = frozenset({Rule.CROSS_PROVINCE_FLAG, Rule.KEY_SITE, Rule.FEVER_CLINIC})


def dismissable(rule_id: str) -> bool:
    """Whether a DISMISS judgement may target reasons of this rule."""
    return rule_id in DISMISSABLE


@dataclass(frozen=True)
class Reason:
    """One reason that holds: `until` is None while it ends only through a new fact.

    `colour` is None only for SOURCE_UNAVAILABLE, which has no colour of its own (§4);
    `fact` is the id of the fact the reason rests on (None for SOURCE_UNAVAILABLE).
    """

    rule: Rule
    colour: Colour | None
    source: Source
    fact: str | None
    since: datetime
    until: datetime | None


@dataclass(frozen=True)
class Verdict:
    """The derived code at `at`: reuse it until `valid_until` unless a new fact arrives."""

    colour: Colour
    reasons: tuple[Reason, ...]
    popups: tuple[Popup, ...]
    valid_until: datetime
    policy: str
    at: datetime
    missing_sources: tuple[Source, ...] = ()

    @property
    def rule_ids(self) -> frozenset[str]:
        return frozenset(r.rule.value for r in self.reasons)
