"""The packaged conformance scenarios (hub/scenarios/*.json) evaluated through the pure domain."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from importlib.resources import files
from typing import Any

import pytest

from hub.domain.documents import InvalidDocument, parse_document
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
from hub.domain.policy import NoPolicyInForce, PolicyBook
from hub.domain.recognition import recognise
from hub.domain.rules import evaluate
from hub.domain.vocabulary import Colour, Region

SCENARIOS = sorted(
    (item for item in (files("hub") / "scenarios").iterdir() if item.name.endswith(".json")),
    key=lambda item: item.name,
)
BOOK = PolicyBook.default()


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _maybe(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def subject_facts(data: Mapping[str, Any], unavailable: list[str]) -> SubjectFacts:
    """The scenario's facts in the domain's vocabulary (the loaders' job, done by hand)."""
    prov = data.get("provincial", {})
    nat = data.get("national", {})
    hk = data.get("hongkong", {})
    hub = data.get("hub", {})
    return SubjectFacts(
        cases=tuple(
            Case(
                c["id"],
                CaseStatus(c["status"]),
                _at(c["diagnosedAt"]),
                _maybe(c.get("dischargedAt")),
            )
            for c in prov.get("cases", [])
        ),
        listings=tuple(
            Listing(
                item["id"],
                ListingCategory(item["category"]),
                _at(item["assignedAt"]),
                item.get("issuer", ""),
                _maybe(item.get("lastExposureAt")),
            )
            for item in prov.get("listings", [])
        ),
        nat_tests=tuple(
            NatTest(
                t["id"],
                _at(t["sampledAt"]),
                _at(t["reportedAt"]),
                TestResult(t["result"]),
                t["institution"],
                frozenset(Region(r) for r in t.get("recognisedBy", [])),
            )
            for t in prov.get("natTests", [])
        ),
        entries=tuple(
            Entry(e["id"], _at(e["enteredAt"]), e["port"], e["origin"])
            for e in prov.get("entries", [])
        ),
        trips=tuple(Trip(t["areaCode"], _at(t["at"])) for t in nat.get("trips", [])),
        flags=tuple(
            Flag(
                f["id"],
                f["issuer"],
                Colour.of_fact(f["colour"]),
                f.get("reason", ""),
                _at(f["assignedAt"]),
                _maybe(f.get("revokedAt")),
            )
            for f in nat.get("flags", [])
        ),
        driver_declarations=tuple(
            DriverDeclaration(
                d["id"], _at(d["enteredAt"]), d["port"], d["plate"], _maybe(d.get("exitedAt"))
            )
            for d in hk.get("driverDeclarations", [])
        ),
        judgements=tuple(
            Judgement(
                j["id"],
                JudgementAction(j["action"]),
                j["reason"],
                _at(j["assignedAt"]),
                j["by"],
                Colour.of_fact(j["colour"]) if j.get("colour") else None,
                _maybe(j.get("until")),
                j.get("target", {}).get("rule"),
                j.get("target", {}).get("fact"),
            )
            for j in hub.get("judgements", [])
        ),
        unavailable=frozenset(unavailable),
    )


def risk_areas(data: Mapping[str, Any]) -> tuple[RiskArea, ...]:
    return tuple(
        RiskArea(
            a["areaCode"],
            a.get("name", a["areaCode"]),
            RiskLevel(a["level"]),
            _at(a["designatedAt"]),
            _maybe(a.get("liftedAt")),
        )
        for a in data.get("national", {}).get("riskAreas", [])
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
