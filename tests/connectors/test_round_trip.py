"""Every scenario's facts, loaded into one world, read back exactly through the four connectors."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

import pytest

from connectors.errors import SourceUnavailable
from connectors.hongkong import HongKongClient, HongKongConfig
from connectors.macao import MacaoClient, MacaoConfig
from connectors.national import NationalClient, NationalConfig
from connectors.provincial import ProvincialClient, ProvincialConfig
from connectors.records import (
    DocumentRef,
    hongkong_from_json,
    macao_from_json,
    national_from_json,
    provincial_from_json,
    risk_areas_from_json,
)
from connectors.sandbox import Sandbox, start_sandbox
from connectors.world import World

SCENARIOS = [
    json.loads(path.read_text(encoding="utf-8"))
    for path in sorted(resources.files("hub").joinpath("scenarios").iterdir(), key=str)
    if path.name.endswith(".json")
]


def document(scenario: dict[str, Any]) -> DocumentRef:
    d = scenario["subject"]["document"]
    return DocumentRef.normalised(d["type"], d["number"])


@dataclass
class Clients:
    provincial: ProvincialClient
    national: NationalClient
    macao: MacaoClient
    hongkong: HongKongClient


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    world = World(seed=5, size=500)
    for scenario in SCENARIOS:
        world.load_scenario(scenario)
    sandbox = start_sandbox(world)
    yield sandbox
    sandbox.stop()


@pytest.fixture
async def clients(sandbox: Sandbox) -> AsyncIterator[Clients]:
    clients = Clients(
        ProvincialClient(ProvincialConfig(sandbox.provincial.url, app_id="ghc-hub",
                                          app_secret="dev-provincial-secret")),
        NationalClient(NationalConfig(sandbox.national.url, client_id="ghc-hub",
                                      client_secret="dev-national-secret")),
        MacaoClient(MacaoConfig(sandbox.macao.url, api_key="dev-macao-key")),
        HongKongClient(HongKongConfig(sandbox.hongkong.url, api_key="dev-hongkong-key")),
    )  # fmt: skip
    yield clients
    for client in (clients.provincial, clients.national, clients.macao, clients.hongkong):
        await client.close()


def test_the_scenarios_are_all_here() -> None:
    assert len(SCENARIOS) >= 31


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["id"] for s in SCENARIOS])
async def test_a_scenarios_facts_come_back_through_the_connectors_exactly(
    clients: Clients, scenario: dict[str, Any]
) -> None:
    doc = document(scenario)
    facts = scenario.get("facts", {})
    down = set(scenario.get("unavailable", []))

    identities = await clients.provincial.identities([doc])
    identity = identities[doc]
    assert identity is not None and identity.name == scenario["subject"]["name"]
    records = await clients.provincial.health_records([doc])
    assert records[doc] == provincial_from_json(facts.get("provincial", {}))

    expected_national = national_from_json(facts.get("national", {}))
    if "national" in down:
        with pytest.raises(SourceUnavailable):
            await clients.national.trips([doc])
    else:
        assert (await clients.national.trips([doc]))[doc] == expected_national.trips
        assert (await clients.national.flags([doc]))[doc] == expected_national.flags

    hongkong = hongkong_from_json(facts.get("hongkong", {}))
    declarations = await clients.hongkong.driver_declarations([doc])
    assert declarations[doc] == hongkong.driver_declarations
    assert await clients.hongkong.health_code(doc) == hongkong.health_code
    assert (
        await clients.macao.health_code(doc) == macao_from_json(facts.get("macao", {})).health_code
    )


async def test_every_scenario_risk_area_is_on_the_national_list(clients: Clients) -> None:
    sync = await clients.national.risk_areas()
    listed = {area for _, area in sync.changes}
    for scenario in SCENARIOS:
        for area in risk_areas_from_json(scenario.get("facts", {}).get("national", {})):
            assert area in listed


async def test_all_scenario_subjects_in_one_batch_cost_one_request_per_route(
    sandbox: Sandbox, clients: Clients
) -> None:
    docs = [document(s) for s in SCENARIOS if "national" not in s.get("unavailable", [])]
    sandbox.reset_counters()
    records = await clients.provincial.health_records(docs)
    trips = await clients.national.trips(docs)
    assert set(records) == set(docs) == set(trips)
    counters = sandbox.counters()
    assert counters["provincial"]["POST /api/v1/health-records/query"] == 1
    assert counters["national"]["POST /api/v1/itineraries/query"] == 1
