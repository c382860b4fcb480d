"""The Hong Kong connector against its simulator, over HTTP on loopback."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeAlias

import aiohttp
import orjson
import pydantic
import pytest

from connectors.errors import SourceContractError, SourceRejected, SourceUnavailable
from connectors.hongkong import (
    DeclarationReceipt,
    DriverNotActive,
    HongKongClient,
    HongKongConfig,
    models,
    translate,
)
from connectors.hongkong.client import HEALTH_CODE, LIST_DECLARATIONS
from connectors.hongkong.models import hk_midnight_after
from connectors.hongkong.simulator import (
    HongKongSimulator,
    HongKongSimulatorConfig,
)
from connectors.records import (
    DocumentRef,
    DriverDeclaration,
    HongKongCode,
    HongKongFacts,
    Identity,
    Person,
)
from connectors.simulation import SimulatorServer
from connectors.world import World

Server: TypeAlias = SimulatorServer[HongKongSimulator]
CST = timezone(timedelta(hours=8))
NOW = datetime(2022, 10, 5, 9, 0, tzinfo=CST)
SAMPLES = Path(__file__).parents[2] / "connectors" / "hongkong" / "samples"
KEY = "dev-hongkong-key"
AUTH = {"Authorization": f"ApiKey {KEY}"}
EXEMPTION = "GET /api/v1/drivers/{documentType}/{documentNumber}/exemption"
SUBMIT = "POST /api/v1/driver-declarations"

# explicit people (their HKIDs are the identity.md examples, outside the synthetic X… range)
DRIVER = DocumentRef("HKID", "A1234563")  # AMBER code, 45 declarations, ACTIVE
SUSPENDED = DocumentRef("HKID", "Z437626A")  # GREEN code a minute before HK midnight
MIDNIGHT = DocumentRef("HKID", "AB9876543")  # RED code issued exactly at HK midnight
SCENARIO = DocumentRef("HKID", "G123456A")  # loaded from a scenario's `facts`
UNKNOWN = DocumentRef("HKID", "C6680050")  # no system has a record

DRIVER_DECLARATIONS = tuple(
    DriverDeclaration(
        f"HKD-{n:03d}",
        NOW - timedelta(days=45 - n, hours=1, microseconds=n),  # fractions survive the wire
        "SHENZHEN_BAY",
        "ZG1234",
        NOW - timedelta(days=45 - n) if n % 3 else None,
        "Shenzhen Bay Port Driver Hotel" if n % 2 else None,
    )
    for n in range(45)
)


def build_world() -> World:
    world = World(seed=7, size=10_000, now=NOW)
    world.put_person(
        Person(
            Identity(DRIVER, "Chan Tai Man"),
            hongkong=HongKongFacts(
                HongKongCode("YELLOW", datetime(2022, 10, 5, 7, 30, tzinfo=CST)),
                DRIVER_DECLARATIONS,
                "ACTIVE",
            ),
        )
    )
    world.put_person(
        Person(
            Identity(SUSPENDED, "Wong Siu Ming"),
            hongkong=HongKongFacts(
                HongKongCode("GREEN", datetime(2022, 10, 4, 23, 59, tzinfo=CST)), (), "SUSPENDED"
            ),
        )
    )
    world.put_person(
        Person(
            Identity(MIDNIGHT, "Lee Ka Yan"),
            hongkong=HongKongFacts(HongKongCode("RED", datetime(2022, 10, 5, tzinfo=CST))),
        )
    )
    world.load_scenario(
        {
            "subject": {"document": {"type": "HKID", "number": "G123456(A)"}, "name": "Ho Chi Wai"},
            "facts": {
                "hongkong": {
                    "healthCode": {"colour": "GREEN", "issuedAt": "2022-10-05T08:10:00+08:00"},
                    "driverDeclarations": [
                        {
                            "id": "D1",
                            "enteredAt": "2022-10-05T07:30:00+08:00",
                            "exitedAt": None,
                            "port": "SHENZHEN_BAY",
                            "plate": "ZG1234",
                        },
                    ],  # fmt: skip
                }
            },
        }
    )
    world.mark_initial()
    return world


WORLD = build_world()
HK_RESIDENTS = [WORLD.document(i) for i in range(WORLD.size) if i % 100 in (2, 3)]
HK_DRIVERS = [WORLD.document(i) for i in range(WORLD.size) if i % 100 in (2, 3) and i % 7 == 2]
MAINLAND = WORLD.document(10)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    running = SimulatorServer(HongKongSimulator(WORLD, HongKongSimulatorConfig(api_key=KEY)))
    running.start()
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def fresh(server: Server) -> Iterator[None]:
    yield
    server.clear_faults()
    server.simulator.counters.clear()
    server.simulator.submissions.clear()
    WORLD.reset()


def config(server: Server, **overrides: Any) -> HongKongConfig:
    settings: dict[str, Any] = {
        "base_url": server.url,
        "api_key": KEY,
        "connect_timeout": 0.5,
        "total_timeout": 0.5,
    }
    return HongKongConfig(**(settings | overrides))


@pytest.fixture
async def client(server: Server) -> AsyncIterator[HongKongClient]:
    async with HongKongClient(config(server)) as connected:
        yield connected


async def raw(
    server: Server, method: str, path: str, **kwargs: Any
) -> tuple[int, dict[str, str], Any]:
    """One request without the connector, to see the wire itself."""
    kwargs.setdefault("headers", AUTH)
    async with aiohttp.ClientSession(server.url) as session:
        async with session.request(method, path, **kwargs) as response:
            return response.status, dict(response.headers), orjson.loads(await response.read())


def facts(doc: DocumentRef) -> HongKongFacts:
    """What the world says Hong Kong holds about a person (nothing for an unknown one)."""
    person = WORLD.person(doc)
    return person.hongkong if person else HongKongFacts()


def count(server: Server, route: str) -> int:
    return server.simulator.counters[route]


# --- the wire contract ------------------------------------------------------------------------

SAMPLE_MODELS: dict[str, type[pydantic.BaseModel]] = {
    "health-code.amber": models.HealthCode,
    "health-code.green": models.HealthCode,
    "health-code.not-found": models.ErrorBody,
    "driver-declarations.page": models.DeclarationPage,
    "driver-declarations.last-page": models.DeclarationPage,
    "driver-declarations.too-many-documents": models.ErrorBody,
    "driver-declarations.invalid-cursor": models.ErrorBody,
    "driver-exemption.active": models.Exemption,
    "driver-exemption.not-found": models.ErrorBody,
    "declaration-submission.request": models.DeclarationSubmission,
    "declaration-submission.created": models.Receipt,
    "declaration-submission.driver-not-active": models.ErrorBody,
    "declaration-submission.malformed": models.ErrorBody,
    "error.unauthorized": models.ErrorBody,
    "error.unavailable": models.ErrorBody,
    "error.internal": models.ErrorBody,
    "error.rate-limited": models.ErrorBody,
}


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_every_sample_parses_with_its_wire_model(path: Path) -> None:
    assert path.stem in SAMPLE_MODELS, "a new sample needs its model in SAMPLE_MODELS"
    data = orjson.loads(path.read_bytes())
    parsed = SAMPLE_MODELS[path.stem].model_validate(data)
    # nothing in a sample is ignored by its model: the sample and the model say the same thing
    assert parsed.model_dump(mode="json", exclude_unset=True) == data


def test_every_sample_shape_is_on_disk() -> None:
    assert {p.stem for p in SAMPLES.glob("*.json")} == set(SAMPLE_MODELS)


@pytest.mark.parametrize(
    "instant",
    ["2022-10-05T07:30:00+08:00", "2022-10-04T23:30:00", "2022-10-04 23:30:00Z", 1664926200],
)
def test_an_instant_not_in_utc_with_z_breaks_the_contract(instant: object) -> None:
    answer = orjson.loads((SAMPLES / "health-code.amber.json").read_bytes())
    with pytest.raises(pydantic.ValidationError):
        models.HealthCode.model_validate(answer | {"issuedAt": instant})


def test_a_valid_until_other_than_the_next_hong_kong_midnight_breaks_the_contract() -> None:
    answer = orjson.loads((SAMPLES / "health-code.amber.json").read_bytes())
    with pytest.raises(pydantic.ValidationError, match="validUntil"):
        models.HealthCode.model_validate(answer | {"validUntil": "2022-10-05T23:59:59Z"})


async def test_the_simulators_answers_validate_against_the_wire_models(
    server: Server,
) -> None:
    docs = f"{DRIVER.key},{SUSPENDED.key}"
    answers: list[tuple[int, type[pydantic.BaseModel], str, dict[str, Any]]] = [
        (200, models.HealthCode, "/api/v1/health-codes/HKID/A1234563", {}),
        (404, models.ErrorBody, "/api/v1/health-codes/HKID/C6680050", {}),
        (400, models.ErrorBody, "/api/v1/health-codes/NATIONAL_ID/C6680050", {}),
        (200, models.DeclarationPage, "/api/v1/driver-declarations",
         {"params": {"documents": docs, "limit": "7"}}),
        (400, models.ErrorBody, "/api/v1/driver-declarations", {}),
        (200, models.Exemption, "/api/v1/drivers/HKID/Z437626A/exemption", {}),
        (404, models.ErrorBody, "/api/v1/drivers/HKID/C6680050/exemption", {}),
        (401, models.ErrorBody, "/api/v1/health-codes/HKID/A1234563", {"headers": {}}),
    ]  # fmt: skip
    for expected, model, path, options in answers:
        status, _, body = await raw(server, "GET", path, **options)
        assert status == expected, path
        model.model_validate(body)
    submission = orjson.loads((SAMPLES / "declaration-submission.request.json").read_bytes())
    status, _, body = await raw(server, "POST", "/api/v1/driver-declarations", json=submission)
    assert status == 201
    models.Receipt.model_validate(body)


# --- health code ------------------------------------------------------------------------------


async def test_a_hong_kong_residents_code_is_the_worlds_record(client: HongKongClient) -> None:
    for doc in HK_RESIDENTS[:10]:
        person = WORLD.person(doc)
        assert person is not None
        code = await client.health_code(doc)
        assert code == person.hongkong.health_code
        assert code is not None and code.issued_at.utcoffset() == timedelta(0)


async def test_amber_on_the_wire_is_yellow_for_the_hub(
    server: Server, client: HongKongClient
) -> None:
    _, _, wire = await raw(server, "GET", "/api/v1/health-codes/HKID/A1234563")
    assert wire["colour"] == "AMBER"
    assert wire["issuedAt"] == "2022-10-04T23:30:00Z"
    code = await client.health_code(DRIVER)
    assert code == HongKongCode("YELLOW", datetime(2022, 10, 5, 7, 30, tzinfo=CST))
    yellow = HongKongCode("YELLOW", NOW)
    assert translate.health_code_to_wire(DRIVER, yellow)["colour"] == "AMBER"
    back = models.HealthCode.model_validate(translate.health_code_to_wire(DRIVER, yellow))
    assert translate.health_code_from_wire(back) == yellow


@pytest.mark.parametrize(
    ("doc", "valid_until"),
    [
        (DRIVER, "2022-10-05T16:00:00Z"),  # 07:30 HK -> that day's midnight
        (SUSPENDED, "2022-10-04T16:00:00Z"),  # 23:59 HK -> valid for one more minute
        (MIDNIGHT, "2022-10-05T16:00:00Z"),  # 00:00 HK -> the whole day, midnight excluded
    ],
)
async def test_valid_until_is_the_next_hong_kong_midnight(
    server: Server, doc: DocumentRef, valid_until: str
) -> None:
    _, _, wire = await raw(server, "GET", f"/api/v1/health-codes/{doc.type}/{doc.number}")
    assert wire["validUntil"] == valid_until
    issued = models.parse_instant(wire["issuedAt"])
    assert hk_midnight_after(issued) == models.parse_instant(valid_until)


async def test_a_code_from_a_scenarios_facts_is_served(client: HongKongClient) -> None:
    assert await client.health_code(SCENARIO) == HongKongCode(
        "GREEN", datetime(2022, 10, 5, 0, 10, tzinfo=UTC)
    )


@pytest.mark.parametrize("doc", [UNKNOWN, MAINLAND], ids=["unknown", "mainland-resident"])
async def test_a_person_without_a_hong_kong_code_is_none_not_an_error(
    client: HongKongClient, doc: DocumentRef
) -> None:
    assert await client.health_code(doc) is None


async def test_health_codes_answers_every_distinct_document_with_bounded_concurrency(
    server: Server,
) -> None:
    docs = HK_RESIDENTS[:20] + [UNKNOWN, DRIVER] + HK_RESIDENTS[:5]
    server.set_faults(latency_ms=20)
    async with HongKongClient(config(server, max_concurrency=3)) as client:
        in_flight = peak = 0
        send = client.request

        async def tracked(*args: Any, **kwargs: Any) -> Any:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            try:
                return await send(*args, **kwargs)
            finally:
                in_flight -= 1

        client.request = tracked  # type: ignore[method-assign]
        codes = await client.health_codes(docs)
    assert list(codes) == list(dict.fromkeys(docs))
    assert codes[UNKNOWN] is None
    for doc in HK_RESIDENTS[:20]:
        assert codes[doc] == facts(doc).health_code
    assert count(server, HEALTH_CODE) == 22
    assert peak == 3


async def test_no_documents_ask_nothing(server: Server, client: HongKongClient) -> None:
    assert await client.health_codes([]) == {}
    assert await client.driver_declarations([]) == {}
    assert sum(server.simulator.counters.values()) == 0


# --- driver declarations ----------------------------------------------------------------------


async def test_driver_declarations_are_the_worlds_records(client: HongKongClient) -> None:
    docs = HK_DRIVERS[:5] + [DRIVER, SCENARIO, UNKNOWN, MAINLAND]
    found = await client.driver_declarations(docs)
    assert list(found) == docs
    for doc in docs:
        person = WORLD.person(doc)
        expected = person.hongkong.driver_declarations if person else ()
        assert found[doc] == expected
    assert found[UNKNOWN] == () and found[MAINLAND] == ()
    assert all(len(found[doc]) == 1 for doc in HK_DRIVERS[:5])


async def test_a_long_declaration_list_is_followed_page_by_page(
    server: Server,
) -> None:
    async with HongKongClient(config(server, page_limit=10)) as client:
        found = await client.driver_declarations([DRIVER])
    assert found[DRIVER] == DRIVER_DECLARATIONS
    assert len({d.id for d in found[DRIVER]}) == 45
    assert count(server, LIST_DECLARATIONS) == 5  # 45 items, 10 a page


@pytest.mark.parametrize("page_limit", [100, 3])
async def test_120_documents_go_in_three_batches_and_every_page_is_read(
    server: Server, page_limit: int
) -> None:
    docs = [DRIVER] + HK_RESIDENTS[:119]
    async with HongKongClient(config(server, page_limit=page_limit)) as client:
        found = await client.driver_declarations(docs)
    assert set(found) == set(docs)
    expected_requests = 0
    for start in range(0, 120, 50):
        batch = docs[start : start + 50]
        items = sum(len(facts(d).driver_declarations) for d in batch)
        expected_requests += max(1, math.ceil(items / page_limit))
        for doc in batch:
            assert found[doc] == facts(doc).driver_declarations
    assert count(server, LIST_DECLARATIONS) == expected_requests
    if page_limit == 100:
        assert expected_requests == 3


async def test_the_simulator_refuses_an_over_limit_batch_or_page(server: Server) -> None:
    too_many = ",".join(doc.key for doc in HK_RESIDENTS[:51])
    status, _, body = await raw(server, "GET", "/api/v1/driver-declarations",
                                params={"documents": too_many})  # fmt: skip
    assert status == 400 and body["error"]["code"] == "BAD_REQUEST"
    assert "50" in body["error"]["message"]
    status, _, body = await raw(server, "GET", "/api/v1/driver-declarations",
                                params={"documents": DRIVER.key, "limit": "101"})  # fmt: skip
    assert status == 400 and "100" in body["error"]["message"]


async def test_the_default_page_is_twenty_items(server: Server) -> None:
    _, _, body = await raw(server, "GET", "/api/v1/driver-declarations",
                           params={"documents": DRIVER.key})  # fmt: skip
    assert len(body["items"]) == 20 and body["nextCursor"]


@pytest.mark.parametrize("forged", ["bm90LWEtY3Vyc29y", "!!!", "MjA6MDA6MDA"])
async def test_a_forged_cursor_is_rejected(client: HongKongClient, forged: str) -> None:
    with pytest.raises(SourceRejected) as caught:
        await client.declaration_page([DRIVER], cursor=forged)
    assert caught.value.code == "BAD_REQUEST"


async def test_a_cursor_from_another_query_is_rejected(client: HongKongClient) -> None:
    page = await client.declaration_page([DRIVER, SCENARIO], limit=5)
    assert page.next_cursor is not None
    assert [doc for doc, _ in page.items] == [DRIVER] * 5
    following = await client.declaration_page([DRIVER, SCENARIO], cursor=page.next_cursor, limit=5)
    assert following.items[0][1] == DRIVER_DECLARATIONS[5]
    with pytest.raises(SourceRejected) as caught:
        await client.declaration_page([DRIVER], cursor=page.next_cursor, limit=5)
    assert caught.value.code == "BAD_REQUEST"


# --- exemption list and submissions -----------------------------------------------------------


async def test_the_driver_status_is_read_from_the_exemption_list(
    client: HongKongClient,
) -> None:
    assert await client.driver_status(DRIVER) == "ACTIVE"
    assert await client.driver_status(SUSPENDED) == "SUSPENDED"
    assert await client.driver_status(SCENARIO) == "ACTIVE"  # a scenario driver is active
    for doc in HK_DRIVERS[:5]:
        assert await client.driver_status(doc) == facts(doc).driver_status


@pytest.mark.parametrize("doc", [UNKNOWN, MIDNIGHT, MAINLAND])
async def test_someone_not_on_the_exemption_list_has_no_status(
    client: HongKongClient, doc: DocumentRef
) -> None:
    assert await client.driver_status(doc) is None


async def submit(
    client: HongKongClient, declaration_id: str, doc: DocumentRef, **changes: Any
) -> DeclarationReceipt:
    fields: dict[str, Any] = {
        "plate": "ZG1234",
        "port": "SHENZHEN_BAY",
        "planned_entry_at": datetime(2022, 10, 6, 7, 30, tzinfo=CST),
        "lodging": "Shenzhen Bay Port Driver Hotel",
    }
    return await client.submit_declaration(declaration_id, doc, **(fields | changes))


async def test_a_declaration_is_forwarded_once_however_often_it_is_sent(
    server: Server, client: HongKongClient
) -> None:
    first = await submit(client, "GHC-1", DRIVER)
    again = await submit(client, "GHC-1", DRIVER)
    assert first.declaration_id == "GHC-1" and not first.repeated
    assert again.repeated and again.received_at == first.received_at
    stored = server.simulator.submissions
    assert list(stored) == ["GHC-1"]
    assert stored["GHC-1"].body["plannedEntryAt"] == "2022-10-05T23:30:00Z"
    assert count(server, SUBMIT) == 2


async def test_reusing_a_declaration_id_for_another_declaration_is_rejected(
    client: HongKongClient,
) -> None:
    await submit(client, "GHC-2", DRIVER)
    with pytest.raises(SourceRejected) as caught:
        await submit(client, "GHC-2", DRIVER, plate="ZG9999")
    assert caught.value.code == "DECLARATION_CONFLICT"


@pytest.mark.parametrize(("doc", "status"), [(SUSPENDED, "SUSPENDED"), (UNKNOWN, None)])
async def test_a_driver_who_is_not_active_cannot_be_declared(
    server: Server, client: HongKongClient, doc: DocumentRef, status: str | None
) -> None:
    with pytest.raises(SourceRejected) as caught:
        await submit(client, "GHC-3", doc)
    assert isinstance(caught.value, DriverNotActive)
    assert caught.value.code == "DRIVER_NOT_ACTIVE"
    assert caught.value.status == status
    assert server.simulator.submissions == {}


async def test_the_simulator_refuses_a_malformed_declaration(server: Server) -> None:
    submission = orjson.loads((SAMPLES / "declaration-submission.request.json").read_bytes())
    submission["plannedEntryAt"] = "2022-10-06T07:30:00+08:00"
    status, _, body = await raw(server, "POST", "/api/v1/driver-declarations", json=submission)
    assert status == 400 and body["error"]["code"] == "BAD_REQUEST"
    status, _, body = await raw(server, "POST", "/api/v1/driver-declarations", data=b"{")
    assert status == 400


# --- authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "ApiKey wrong"}, {"Authorization": f"Bearer {KEY}"},
     {"Authorization": KEY}],
    ids=["missing", "wrong-key", "wrong-scheme", "no-scheme"],
)  # fmt: skip
async def test_the_simulator_refuses_a_request_without_the_api_key(
    server: Server, headers: dict[str, str]
) -> None:
    status, answer_headers, body = await raw(
        server, "GET", "/api/v1/health-codes/HKID/A1234563", headers=headers
    )
    assert status == 401 and body["error"]["code"] == "UNAUTHORIZED"
    assert answer_headers["WWW-Authenticate"] == "ApiKey"


async def test_a_wrong_api_key_is_rejected_on_every_call(server: Server) -> None:
    async with HongKongClient(config(server, api_key="not-the-key")) as client:
        calls = [
            client.health_code(DRIVER),
            client.health_codes([DRIVER, SUSPENDED]),
            client.driver_declarations([DRIVER]),
            client.driver_status(DRIVER),
            submit(client, "GHC-4", DRIVER),
        ]
        for call in calls:
            with pytest.raises(SourceRejected) as caught:
                await call
            assert caught.value.code == "UNAUTHORIZED"
    assert "not-the-key" not in repr(config(server, api_key="not-the-key"))


# --- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("faults", "error"),
    [
        ({"outage": "503"}, SourceUnavailable),
        ({"outage": "refuse"}, SourceUnavailable),
        ({"hang": True}, SourceUnavailable),
        ({"error_rate": 1.0}, SourceUnavailable),
        ({"malformed": "truncated"}, SourceContractError),
        ({"malformed": "shape"}, SourceContractError),
        ({"latency_ms": 1500}, SourceUnavailable),
        ({"trickle_ms": 300}, SourceUnavailable),
    ],
    ids=lambda v: "-".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else "",
)
async def test_every_fault_switch_is_the_right_error(
    server: Server, client: HongKongClient, faults: dict[str, Any], error: type
) -> None:
    server.set_faults(**faults)
    for call in (
        client.health_code(DRIVER),
        client.driver_declarations([DRIVER, SCENARIO]),
        client.driver_status(DRIVER),
        submit(client, "GHC-5", DRIVER),
    ):
        with pytest.raises(error) as caught:
            await call
        assert DRIVER.number not in str(caught.value)


async def test_a_rate_limit_carries_the_retry_after_hint(
    server: Server, client: HongKongClient
) -> None:
    server.set_faults(rate_limit_rate=1.0, retry_after_s=7)
    with pytest.raises(SourceUnavailable) as caught:
        await client.health_code(DRIVER)
    assert caught.value.retry_after == 7.0


async def test_a_garbled_not_found_is_a_broken_contract_not_no_record(
    server: Server, client: HongKongClient
) -> None:
    server.set_faults(malformed="shape")
    with pytest.raises(SourceContractError):
        await client.health_code(UNKNOWN)
    with pytest.raises(SourceContractError):
        await client.driver_status(UNKNOWN)


async def test_a_call_timeout_narrows_the_session_timeout(server: Server) -> None:
    server.set_faults(latency_ms=300)
    async with HongKongClient(config(server, total_timeout=3.0)) as client:
        with pytest.raises(SourceUnavailable):
            await client.health_code(DRIVER, timeout=0.1)
        assert await client.health_code(DRIVER, timeout=2.0) is not None


async def test_a_subject_the_system_cannot_answer_for_is_unavailable(
    client: HongKongClient,
) -> None:
    WORLD.set_unavailable(DRIVER, ["hongkong"])
    for call in (
        client.health_code(DRIVER),
        client.health_codes([SUSPENDED, DRIVER]),
        client.driver_declarations([SUSPENDED, DRIVER]),
        client.driver_status(DRIVER),
        submit(client, "GHC-6", DRIVER),
    ):
        with pytest.raises(SourceUnavailable) as caught:
            await call
        assert DRIVER.number not in str(caught.value)
    assert await client.health_code(SUSPENDED) is not None  # other people still answered


async def test_the_admin_routes_switch_faults_and_show_counts(
    server: Server, client: HongKongClient
) -> None:
    await client.health_code(DRIVER)
    await client.driver_declarations([DRIVER])
    async with aiohttp.ClientSession(server.admin_url) as admin:
        async with admin.put("/_admin/faults", json={"outage": "503"}) as response:
            assert response.status == 200
        with pytest.raises(SourceUnavailable):
            await client.health_code(DRIVER)
        async with admin.get("/_admin/counters") as response:
            counters = await response.json()
    assert counters[HEALTH_CODE] == 2
    assert counters[LIST_DECLARATIONS] == 1


async def test_the_admin_reset_forgets_forwarded_declarations(
    server: Server, client: HongKongClient
) -> None:
    await submit(client, "GHC-7", DRIVER)
    async with aiohttp.ClientSession(server.admin_url) as admin:
        async with admin.post("/_admin/reset") as response:
            assert response.status == 204
    assert server.simulator.submissions == {}


# --- the translation itself -------------------------------------------------------------------


def test_records_survive_the_wire_exactly() -> None:
    for declaration in DRIVER_DECLARATIONS:
        wire = models.Declaration.model_validate(translate.declaration_to_wire(DRIVER, declaration))
        assert translate.declaration_from_wire(wire) == (DRIVER, declaration)
    code = HongKongCode("RED", datetime(2022, 10, 5, 0, 0, 0, 123456, tzinfo=CST))
    wire_code = models.HealthCode.model_validate(translate.health_code_to_wire(DRIVER, code))
    assert wire_code.issuedAt == code.issued_at and wire_code.issuedAt.tzinfo == UTC
    assert translate.health_code_from_wire(wire_code) == code


def test_the_config_refuses_limits_the_system_would_refuse() -> None:
    for bad in ({"batch_size": 51}, {"page_limit": 101}, {"max_concurrency": 0}):
        with pytest.raises(ValueError):
            HongKongConfig(base_url="http://127.0.0.1:1", api_key=KEY, **bad)


def test_importing_the_connector_does_not_import_the_simulator() -> None:
    probe = "import sys, connectors.hongkong; print('connectors.hongkong.simulator' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
