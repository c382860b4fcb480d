"""The synthetic world: deterministic, indexed, consistent across sources, loadable."""

from __future__ import annotations

import json
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from connectors.records import DocumentRef, RiskArea
from connectors.world import CST, World, hkid_check, resident_id_check

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=CST)
SCENARIOS = Path(__file__).resolve().parents[2] / "hub" / "scenarios"


@pytest.mark.parametrize(
    ("first17", "check"),
    [("11010519491231002", "X"), ("44052418800101001", "4"), ("44030419900307501", "1")],
    ids=[
        "the standard's first example ends in X",
        "the second ends in 4",
        "a Futian number ends in 1",
    ],
)
def test_resident_id_check_character_follows_gb_11643(first17: str, check: str) -> None:
    assert resident_id_check(first17) == check


@pytest.mark.parametrize(
    ("prefix", "digits", "check"),
    [("A", "123456", "3"), ("Z", "437626", "A"), ("AB", "987654", "3"), ("G", "123456", "A")],
)
def test_hkid_check_character_follows_the_weighted_mod_11(
    prefix: str, digits: str, check: str
) -> None:
    assert hkid_check(prefix, digits) == check


def test_the_same_seed_gives_the_same_people_and_another_seed_does_not() -> None:
    one, same, other = World(3, 5000, NOW), World(3, 5000, NOW), World(4, 5000, NOW)
    docs = [one.document(i) for i in range(0, 5000, 37)]
    assert [one.person(d) for d in docs] == [same.person(d) for d in docs]
    assert [one.person(d) for d in docs] != [other.person(d) for d in docs]


def test_every_synthetic_document_maps_back_to_its_person() -> None:
    world = World(1, 1_000_000, NOW)
    for index in list(range(0, 1_000_000, 9973)) + [999_999]:
        assert world.index_of(world.document(index)) == index


def test_documents_outside_the_population_have_no_record() -> None:
    world = World(1, 1000, NOW)
    beyond = World(1, 2000, NOW).document(1500)
    assert world.person(beyond) is None
    assert world.person(DocumentRef("RESIDENT_ID", "440304199003075011")) is None
    assert world.person(DocumentRef("PASSPORT", "GBR:123456789")) is None


def test_a_resident_id_in_a_synthetic_county_but_no_synthetic_birth_date_has_no_record() -> None:
    world = World(1, 1_000_000, NOW)
    number = world.document(0).number  # 440103..., born on the epoch day
    # no such day; the day before the epoch; past the span of birth days; not a date at all
    for birth in ("19901399", "19491231", "20260101", "19x00101"):
        first17 = number[:6] + birth + "000"
        check = resident_id_check(first17) if first17.isdigit() else "0"
        doc = DocumentRef("RESIDENT_ID", first17 + check)
        assert world.index_of(doc) is None, birth
        assert world.person(doc) is None, birth


def test_most_people_have_no_adverse_facts_and_some_have_each_kind() -> None:
    world = World(1, 20_000, NOW)
    people = [world.person(world.document(i)) for i in range(20_000)]
    listings = {x.category for p in people if p for x in p.provincial.listings}
    assert {"CLOSE_CONTACT", "KEY_SITE", "FEVER_CLINIC", "REGULAR_TESTING"} <= listings
    clean = sum(
        1
        for p in people
        if p
        and not p.provincial.listings
        and not p.provincial.cases
        and not p.provincial.entries
        and not p.national.trips
        and not p.national.flags
        and all(t.result == "NEGATIVE" for t in p.provincial.nat_tests)
    )
    assert clean / len(people) > 0.8
    assert any(t.result == "POSITIVE" for p in people if p for t in p.provincial.nat_tests)
    assert any(p.provincial.entries for p in people if p)
    assert any(p.national.trips for p in people if p)
    assert any(p.hongkong.driver_declarations for p in people if p)


def test_a_macao_resident_has_a_macao_code_and_provincial_records() -> None:
    world = World(1, 1000, NOW)
    macao = [world.person(world.document(i)) for i in range(1000) if i % 100 < 2]
    assert macao and all(p and p.identity.document.type == "MACAO_ID" for p in macao)
    assert all(p and p.macao.health_code is not None for p in macao)
    assert any(p and p.provincial.nat_tests for p in macao)
    hk = [world.person(world.document(i)) for i in range(1000) if 2 <= i % 100 < 4]
    assert all(p and p.identity.document.type == "HKID" and p.hongkong.health_code for p in hk)


def test_generated_facts_are_known_by_now_and_instants_carry_offsets() -> None:
    world = World(2, 3000, NOW)
    for i in range(3000):
        person = world.person(world.document(i))
        assert person is not None
        for test in person.provincial.nat_tests:
            assert test.reported_at <= NOW and test.sampled_at.utcoffset() == timedelta(hours=8)


def test_a_million_people_cost_no_memory_until_asked_for() -> None:
    tracemalloc.start()
    started = time.perf_counter()
    world = World(1, 1_000_000, NOW)
    for i in range(0, 1_000_000, 10_000):
        world.person(world.document(i))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 50 * 1024 * 1024
    assert time.perf_counter() - started < 30  # a sanity bound, not a benchmark


def test_scenario_facts_override_and_reset_restores_the_initial_world() -> None:
    world = World(1, 100, NOW)
    scenario = json.loads((SCENARIOS / "03-close-contact-red.json").read_text(encoding="utf-8"))
    doc = world.load_scenario(scenario)
    person = world.person(doc)
    assert person is not None and person.identity.name == "欧阳娜娜"
    assert [x.category for x in person.provincial.listings] == ["CLOSE_CONTACT"]
    world.reset()
    assert world.person(doc) is None


def test_loading_every_scenario_keeps_each_subject_and_their_outages() -> None:
    world = World(1, 100, NOW)
    scenarios = world.load_scenario_dir(SCENARIOS)
    assert len(scenarios) >= 31
    for scenario in scenarios:
        d = scenario["subject"]["document"]
        doc = DocumentRef.normalised(d["type"], d["number"])
        assert world.person(doc) is not None
        for source in scenario.get("unavailable", []):
            assert world.unavailable(doc, source)
    assert not world.unavailable(DocumentRef("RESIDENT_ID", "440304199003071010"), "national")


def test_the_risk_area_list_is_versioned_for_incremental_sync() -> None:
    world = World(1, 100, NOW, risk_area_count=10)
    assert world.risk_area_version == 10
    area = RiskArea("440106999", "Street 440106999", "HIGH", NOW)
    world.add_risk_area(area)
    assert world.risk_area_changes(10) == [(11, area)]
    assert len(world.risk_area_changes(0)) == 11
