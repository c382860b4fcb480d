"""The graph end to end: the hub over HTTP, the simulators over HTTP, counted at the simulators."""

from __future__ import annotations

from collections import Counter

import pytest

from connectors.sandbox import OVERHEAD_ROUTES
from connectors.world import World
from tests.hub.conftest import Hub

CLOSE_CONTACT = {"type": "RESIDENT_ID", "number": "440304199003071037"}  # scenario 03
GREEN_RECOGNISED = {"type": "RESIDENT_ID", "number": "440304199003071029"}  # scenario 02

COLOUR_OF = """
query($d: DocumentInput!, $at: DateTime) { citizen(document: $d) { healthCode(at: $at) { colour } } }
"""


def person_routes(hub: Hub) -> dict[str, Counter[str]]:
    return {
        source: Counter({r: n for r, n in counters.items() if r not in OVERHEAD_ROUTES})
        for source, counters in hub.sandbox.counters().items()
    }


def documents(world: World, start: int, count: int) -> list[dict[str, str]]:
    return [
        {"type": d.type, "number": d.number}
        for d in map(world.document, range(start, start + count))
    ]


async def test_fifty_peoples_colours_cost_at_most_one_request_per_source_and_route(
    hub: Hub, world: World
) -> None:
    people = documents(world, 100, 50)
    fields = "\n".join(
        f'p{i}: citizen(document: {{type: {d["type"]}, number: "{d["number"]}"}}) '
        "{ name healthCode { colour } }"
        for i, d in enumerate(people)
    )
    result = await hub.query(f"{{ {fields} }}")
    assert "errors" not in result
    colours = [result["data"][f"p{i}"]["healthCode"]["colour"] for i in range(50)]
    assert set(colours) <= {"GREEN", "YELLOW", "RED"} and "GREEN" in colours
    routes = person_routes(hub)
    assert all(n == 1 for counters in routes.values() for n in counters.values()), routes
    assert routes["provincial"] == {"POST /api/v1/residents/query": 1,
                                    "POST /api/v1/health-records/query": 1}  # fmt: skip
    assert set(routes["national"]) == {"POST /api/v1/itineraries/query", "POST /api/v1/flags/query"}
    assert not routes["macao"], "a colour never waits on the Macao system"


async def test_a_query_for_nat_tests_only_asks_only_the_provincial_platform(hub: Hub) -> None:
    result = await hub.query(
        "query($d: DocumentInput!) { citizen(document: $d) { natTests { result institution } } }",
        {"d": GREEN_RECOGNISED},
    )
    assert result["data"]["citizen"]["natTests"] == [
        {"result": "NEGATIVE", "institution": "GD-LAB-0001"}
    ]
    routes = person_routes(hub)
    assert not routes["national"] and not routes["macao"] and not routes["hongkong"]
    assert hub.sandbox.counters()["national"]["POST /oauth/token"] == 0


async def test_a_malformed_document_is_refused_before_any_source_is_asked(hub: Hub) -> None:
    result = await hub.query(
        COLOUR_OF, {"d": {"type": "RESIDENT_ID", "number": "440304199003075012"}}
    )
    assert result["data"]["citizen"] is None
    (error,) = result["errors"]
    assert error["extensions"]["code"] == "INVALID_DOCUMENT"
    assert error["extensions"]["rule"] == "check"
    assert "440304199003075012" not in error["message"]
    assert sum(sum(c.values()) for c in hub.sandbox.counters().values()) == 0


async def test_a_document_nobody_registered_is_no_citizen(hub: Hub) -> None:
    result = await hub.query(
        COLOUR_OF, {"d": {"type": "RESIDENT_ID", "number": "11010519491231002X"}}
    )
    assert result == {"data": {"citizen": None}}


async def test_with_the_national_platform_down_every_other_field_is_still_served(hub: Hub) -> None:
    hub.sandbox.national.set_faults(outage="503")
    result = await hub.query(
        """query($d: DocumentInput!, $at: DateTime) { citizen(document: $d) {
             name natTests { id } trips { areaCode } driverDeclarations { id }
             healthCode(at: $at) { colour reasons { rule source } sources { source status } } } }""",
        {"d": GREEN_RECOGNISED, "at": "2022-07-11T22:00:00+08:00"},
    )
    citizen = result["data"]["citizen"]
    assert citizen["name"] == "*四" and citizen["natTests"] == [{"id": "N1"}]
    assert citizen["driverDeclarations"] == []
    assert citizen["trips"] is None
    (error,) = result["errors"]
    assert error["path"] == ["citizen", "trips"]
    assert error["extensions"]["code"] == "SOURCE_UNAVAILABLE"
    assert error["extensions"]["source"] == "national"
    code = citizen["healthCode"]
    assert code["colour"] == "UNKNOWN", "a person who would be green cannot be verified"
    assert {"rule": "SOURCE_UNAVAILABLE", "source": "national"} in code["reasons"]
    assert {"source": "national", "status": "UNAVAILABLE"} in code["sources"]


@pytest.mark.parametrize("source", ["provincial", "national", "hongkong"])
async def test_no_colour_is_green_while_a_source_the_rules_read_is_down(
    hub: Hub, world: World, source: str
) -> None:
    hub.sandbox.servers[source].set_faults(outage="refuse")
    people = documents(world, 300, 20)
    fields = "\n".join(
        f'p{i}: citizen(document: {{type: {d["type"]}, number: "{d["number"]}"}}) {{ healthCode {{ colour }} }}'
        for i, d in enumerate(people)
    )
    result = await hub.query(f"{{ {fields} }}")
    colours = {
        (result["data"][f"p{i}"] or {}).get("healthCode", {}).get("colour") for i in range(20)
    }
    assert colours <= {"UNKNOWN", "RED"}


async def test_the_macao_system_down_changes_no_colour(hub: Hub) -> None:
    hub.sandbox.macao.set_faults(outage="refuse")
    result = await hub.query(COLOUR_OF, {"d": CLOSE_CONTACT, "at": "2022-07-08T09:00:00+08:00"})
    assert result["data"]["citizen"]["healthCode"]["colour"] == "RED"


async def test_a_past_instant_shows_what_was_known_then(hub: Hub) -> None:
    before = await hub.query(COLOUR_OF, {"d": CLOSE_CONTACT, "at": "2022-07-01T09:00:00+08:00"})
    during = await hub.query(COLOUR_OF, {"d": CLOSE_CONTACT, "at": "2022-07-08T09:00:00+08:00"})
    assert before["data"]["citizen"]["healthCode"]["colour"] == "GREEN"
    assert during["data"]["citizen"]["healthCode"]["colour"] == "RED"


async def test_an_instant_without_an_offset_is_refused(hub: Hub) -> None:
    result = await hub.query(COLOUR_OF, {"d": CLOSE_CONTACT, "at": "2022-07-08T09:00:00"})
    assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_answers_are_cached_per_person_and_never_served_for_another(
    hub: Hub, world: World
) -> None:
    one, other = documents(world, 700, 2)
    query = "query($d: DocumentInput!) { citizen(document: $d) { name natTests { id } } }"
    first = await hub.query(query, {"d": one})
    calls = hub.person_requests()
    again = await hub.query(query, {"d": one})
    assert again == first and hub.person_requests() == calls, "the second look-up is cached"
    second = await hub.query(query, {"d": other})
    assert second["data"]["citizen"] != first["data"]["citizen"]
    assert hub.person_requests() > calls


async def test_the_risk_area_list_is_synced_incrementally_not_refetched(
    hub: Hub, world: World
) -> None:
    query = '{ riskAreas(region: "440000", level: HIGH, at: "2022-08-15T10:00:00+08:00") { areaCode level } }'
    result = await hub.query(query)
    assert {"areaCode": "440106001", "level": "HIGH"} in result["data"]["riskAreas"]
    assert all(a["level"] == "HIGH" for a in result["data"]["riskAreas"])

    mirror = hub.app.state.sources.risk_areas
    client = mirror._client
    asked: list[dict[str, object]] = []
    real = client.risk_areas

    async def spy(**kwargs: object) -> object:
        asked.append(kwargs)
        return await real(**kwargs)

    client.risk_areas = spy
    try:
        mirror._synced_at = None  # as if the sync interval had passed
        await hub.query(query)
    finally:
        del client.risk_areas
    assert asked[0]["since_version"] == world.risk_area_version
    assert asked[0]["etag"] is not None
    assert len(mirrored_areas(hub)) == world.risk_area_version


def mirrored_areas(hub: Hub) -> tuple[object, ...]:
    return hub.app.state.sources.risk_areas._areas


async def test_trips_show_the_risk_level_at_the_time_of_each_visit(hub: Hub) -> None:
    result = await hub.query(
        "query($d: DocumentInput!) { citizen(document: $d) { trips { areaCode riskLevel } } }",
        {"d": {"type": "RESIDENT_ID", "number": "440304199003071125"}},  # scenario 12
    )
    assert result["data"]["citizen"]["trips"] == [{"areaCode": "440106002", "riskLevel": None}]


async def test_a_partner_gets_only_the_minimal_recognition_answer(hub: Hub) -> None:
    result = await hub.query(
        """query($d: DocumentInput!) { recognition(document: $d, region: MACAO,
             at: "2022-07-11T22:00:00+08:00") { colour eligible natValidUntil reasons } }""",
        {"d": GREEN_RECOGNISED},
    )
    assert result["data"]["recognition"] == {
        "colour": "GREEN",
        "eligible": True,
        "natValidUntil": "2022-07-12T00:00:00+08:00",
        "reasons": [],
    }


async def test_a_partner_asking_about_an_unregistered_document_is_told_so(hub: Hub) -> None:
    result = await hub.query(
        '{ recognition(document: {type: RESIDENT_ID, number: "11010519491231002X"}, region: HONGKONG) { eligible } }'
    )
    assert result["errors"][0]["extensions"]["code"] == "SUBJECT_NOT_FOUND"


async def test_macao_and_hong_kong_codes_are_shown_in_the_hubs_colours(
    hub: Hub, world: World
) -> None:
    macao_resident, hk_resident = world.document(0), world.document(2)
    query = """query($m: DocumentInput!, $h: DocumentInput!) {
      m: citizen(document: $m) { macaoCode { colour } hongKongCode { colour } }
      h: citizen(document: $h) { macaoCode { colour } hongKongCode { colour } } }"""
    result = await hub.query(query, {"m": {"type": macao_resident.type, "number": macao_resident.number},
                                     "h": {"type": hk_resident.type, "number": hk_resident.number}})  # fmt: skip
    assert result["data"]["m"]["macaoCode"]["colour"] in {"GREEN", "YELLOW", "RED"}
    assert result["data"]["m"]["hongKongCode"] is None
    assert result["data"]["h"]["hongKongCode"]["colour"] in {"GREEN", "YELLOW", "RED"}
