"""The packaged conformance scenarios (hub/scenarios/*.json) evaluated through the pure domain."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from importlib.resources import files
from typing import Any

import pytest

from connectors.records import (
    hongkong_from_json,
    national_from_json,
    provincial_from_json,
    risk_areas_from_json,
)
from hub import translation
from hub.conformance import judgement_row
from hub.domain.documents import InvalidDocument, parse_document
from hub.domain.facts import RiskArea, SubjectFacts
from hub.domain.policy import NoPolicyInForce, PolicyBook
from hub.domain.recognition import recognise
from hub.domain.rules import evaluate

SCENARIOS = sorted(
    (item for item in (files("hub") / "scenarios").iterdir() if item.name.endswith(".json")),
    key=lambda item: item.name,
)
BOOK = PolicyBook.default()


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def subject_facts(data: Mapping[str, Any], unavailable: list[str]) -> SubjectFacts:
    """The scenario's facts as the hub's loaders would hand them to the rules: parsed into the
    sources' records, then translated (the same two steps the hub takes)."""
    national = national_from_json(data.get("national", {}))
    facts = translation.subject_facts(
        provincial_from_json(data.get("provincial", {})),
        national.trips,
        national.flags,
        hongkong_from_json(data.get("hongkong", {})).driver_declarations,
    )
    judgements = tuple(
        translation.judgement(judgement_row(j, j["id"], "scenario"))
        for j in data.get("hub", {}).get("judgements", [])
    )
    return replace(facts, judgements=judgements, unavailable=frozenset(unavailable))


def risk_areas(data: Mapping[str, Any]) -> tuple[RiskArea, ...]:
    return tuple(
        translation.risk_area(area) for area in risk_areas_from_json(data.get("national", {}))
    )


@pytest.mark.parametrize(
    "scenario",
    [json.loads(item.read_text(encoding="utf-8")) for item in SCENARIOS],
    ids=[item.name.removesuffix(".json") for item in SCENARIOS],
)
def test_scenario_answers_as_expected(scenario: dict[str, Any]) -> None:
    at = _at(scenario["at"])
    expect = scenario["expect"]
    document = scenario["subject"]["document"]
    if expect.get("error") == "INVALID_DOCUMENT":
        with pytest.raises(InvalidDocument):
            parse_document(document["type"], document["number"], today=at.date())
        return
    parse_document(document["type"], document["number"], today=at.date())
    if expect.get("error") == "NO_POLICY_IN_FORCE":
        with pytest.raises(NoPolicyInForce):
            BOOK.in_force(at)
        return
    assert "error" not in expect, "unknown expected error"

    facts = subject_facts(scenario.get("facts", {}), scenario.get("unavailable", []))
    policy = BOOK.in_force(at)
    verdict = evaluate(facts, risk_areas(scenario.get("facts", {})), at, policy)

    if "colour" in expect:
        assert verdict.colour.value == expect["colour"]
    if "reasons" in expect:
        assert verdict.rule_ids == set(expect["reasons"])
    if "popups" in expect:
        assert {p.value for p in verdict.popups} == set(expect["popups"])
    if "validUntil" in expect:
        assert verdict.valid_until == _at(expect["validUntil"])
    if "policy" in expect:
        assert verdict.policy == expect["policy"]
    for region, wanted in expect.get("recognition", {}).items():
        answer = recognise(verdict, facts, at, policy, region)
        if "eligible" in wanted:
            assert answer.eligible is wanted["eligible"]
        if "reasons" in wanted:
            assert {r.value for r in answer.reasons} == set(wanted["reasons"])


def test_every_published_scenario_is_packaged() -> None:
    assert len(SCENARIOS) == 31
