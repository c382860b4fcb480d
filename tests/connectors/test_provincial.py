"""The provincial connector against its simulator over loopback HTTP: wire contract, signed
requests, batching, and every failure mapped onto the connector error tree."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pydantic
import pytest

import connectors.provincial
from connectors.errors import SourceContractError, SourceRejected, SourceUnavailable
from connectors.provincial import ProvincialClient, ProvincialConfig
from connectors.provincial.models import (
    PLATFORM_TZ,
    Envelope,
    HealthRecordEntry,
    HealthRecordsData,
    NatRecord,
    QueryRequest,
    ResidentEntry,
    ResidentsData,
    VenueScanAck,
    VenueScanBatch,
)
from connectors.provincial.signing import canonical_string, signature, signed_headers
from connectors.provincial.simulator import (
    DEV_APP_ID,
    DEV_APP_SECRET,
    ProvincialSimulator,
    ProvincialSimulatorConfig,
)
from connectors.provincial.translate import facts_from_wire, identity_from_wire
from connectors.records import (
    AntibodyTest,
    Case,
    DocumentRef,
    Entry,
    HealthCertificate,
    Identity,
    Listing,
    NatTest,
    Person,
    ProvincialFacts,
)
from connectors.simulation import SimulatorServer
from connectors.world import World

NOW = datetime(2022, 7, 8, 9, 0, tzinfo=PLATFORM_TZ)
SAMPLES = Path(connectors.provincial.__file__).parent / "samples"
RESIDENTS = "/api/v1/residents/query"
HEALTH_RECORDS = "/api/v1/health-records/query"
RESIDENTS_KEY = f"POST {RESIDENTS}"
HEALTH_RECORDS_KEY = f"POST {HEALTH_RECORDS}"

RICH_DOC = DocumentRef("RESIDENT_ID", "440304199003075011")
RICH = Person(
    identity=Identity(RICH_DOC, "张三丰", "13812345678", "440304"),
    provincial=ProvincialFacts(
        cases=(Case("C1", "ASYMPTOMATIC", datetime(2022, 4, 12, 16, 20, tzinfo=PLATFORM_TZ),
                    datetime(2022, 4, 22, 2, 0, tzinfo=UTC)),),
        listings=(
            Listing("L1", "CLOSE_CONTACT", datetime(2022, 7, 2, 1, 0, tzinfo=UTC), "440300",
                    datetime(2022, 7, 1, 20, 0, tzinfo=PLATFORM_TZ)),
            Listing("L2", "REGULAR_TESTING", datetime(2022, 5, 18, 8, 0, tzinfo=PLATFORM_TZ),
                    "440300"),
        ),
        nat_tests=(
            NatTest("N1", datetime(2022, 7, 6, 0, 12, 45, tzinfo=UTC),
                    datetime(2022, 7, 6, 19, 40, 3, tzinfo=PLATFORM_TZ), "NEGATIVE",
                    "GD-LAB-0001", ("MACAO", "HONGKONG")),
            NatTest("N2", datetime(2022, 7, 3, 10, 5, tzinfo=PLATFORM_TZ),
                    datetime(2022, 7, 3, 22, 31, 17, tzinfo=PLATFORM_TZ), "NEGATIVE",
                    "GD-LAB-0777"),
        ),
        antibody_tests=(
            AntibodyTest("A1", datetime(2022, 4, 20, 9, 30, tzinfo=PLATFORM_TZ),
                         datetime(2022, 4, 20, 15, 2, 11, tzinfo=PLATFORM_TZ), "IgG", "POSITIVE"),
            AntibodyTest("A2", datetime(2022, 4, 20, 9, 30, tzinfo=PLATFORM_TZ),
                         datetime(2022, 4, 20, 15, 2, 11, tzinfo=PLATFORM_TZ), "IgM", "NEGATIVE"),
        ),
        entries=(Entry("E1", datetime(2022, 3, 14, 22, 45, tzinfo=UTC), "SHENZHEN_BAOAN", "SGP"),),
        health_certificates=(
            HealthCertificate("H1", "RECOVERY_CERTIFICATE",
                              datetime(2022, 4, 26, 11, 0, tzinfo=PLATFORM_TZ),
                              datetime(2022, 10, 26, 11, 0, tzinfo=PLATFORM_TZ), "VALID"),
            HealthCertificate("H2", "NAT_CERTIFICATE",
                              datetime(2022, 7, 6, 20, 0, tzinfo=PLATFORM_TZ), None, "REVOKED"),
        ),
    ),
)  # fmt: skip
UNKNOWN = DocumentRef("PASSPORT", "GBR:123456789")


class Clock:
    """The simulator's clock: real time plus an offset a test can step."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


SIM_CLOCK = Clock()


@pytest.fixture(scope="module")
def world() -> World:
    world = World(seed=7, size=2000, now=NOW)
    world.put_person(RICH)
    world.mark_initial()
    return world


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[SimulatorServer]:
    simulator = ProvincialSimulator(world, ProvincialSimulatorConfig(clock=SIM_CLOCK))
    server = SimulatorServer(simulator).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def clean(server: SimulatorServer, world: World) -> Iterator[None]:
    yield
    server.clear_faults()
    server.simulator.counters.clear()
    world.reset()
    SIM_CLOCK.offset = 0.0


@pytest.fixture
def connect(server: SimulatorServer) -> Callable[..., ProvincialClient]:
    def build(**changes: Any) -> ProvincialClient:
        options: dict[str, Any] = {
            "base_url": server.url,
            "app_id": DEV_APP_ID,
            "app_secret": DEV_APP_SECRET,
            "connect_timeout": 0.5,
            "total_timeout": 0.5,
        }
        options.update(changes)
        return ProvincialClient(ProvincialConfig(**options))

    return build


def body_of(*docs: DocumentRef) -> bytes:
    return orjson.dumps({"documents": [{"doc_type": d.type, "doc_no": d.number} for d in docs]})


def signed(path: str, body: bytes, **changes: Any) -> dict[str, str]:
    headers = signed_headers(DEV_APP_ID, DEV_APP_SECRET, "POST", path, body, now=time.time())
    headers.update(changes)
    headers["Content-Type"] = "application/json"
    return headers


async def post_raw(
    server: SimulatorServer, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session:
        async with session.post(server.url + path, data=body, headers=headers) as response:
            return response.status, orjson.loads(await response.read())


def people(world: World, count: int) -> list[DocumentRef]:
    return [world.document(i) for i in range(count)]


# --- the wire contract -----------------------------------------------------------------------


def _sample_model(name: str) -> type[pydantic.BaseModel]:
    if name == "venue-scans.request.json":
        return VenueScanBatch
    if name == "venue-scans.response.json":
        return Envelope[VenueScanAck]
    if name.endswith(".request.json"):
        return QueryRequest
    if name.startswith("residents-query."):
        return Envelope[ResidentsData]
    if name.startswith("health-records-query."):
        return Envelope[HealthRecordsData]
    assert name.startswith("error-"), f"no wire model for sample {name}"
    return Envelope[None]


@pytest.mark.parametrize("sample", sorted(p.name for p in SAMPLES.glob("*.json")))
def test_every_sample_parses_with_the_wire_models(sample: str) -> None:
    data = json.loads((SAMPLES / sample).read_text(encoding="utf-8"))
    parsed = _sample_model(sample).model_validate(data)
    if sample.startswith("error-"):
        assert isinstance(parsed, Envelope)
        assert parsed.code == int(sample.split("-")[1]) and parsed.data is None
    elif sample.endswith(".response.json"):
        assert isinstance(parsed, Envelope)
        assert (parsed.code, parsed.msg) == (0, "success") and parsed.data is not None


def test_samples_cover_every_answer_shape() -> None:
    names = {p.name for p in SAMPLES.glob("*.json")}
    for route in ("residents-query", "health-records-query", "venue-scans"):
        assert {f"{route}.request.json", f"{route}.response.json"} <= names
    codes = {int(n.split("-")[1]) for n in names if n.startswith("error-")}
    assert codes == {40001, 40101, 40102, 40103, 42901, 50001}


async def test_the_simulator_serves_exactly_the_sample_answers_for_the_sample_people(
    server: SimulatorServer, world: World
) -> None:
    residents = Envelope[ResidentsData].model_validate_json(
        (SAMPLES / "residents-query.response.json").read_bytes()
    )
    records = Envelope[HealthRecordsData].model_validate_json(
        (SAMPLES / "health-records-query.response.json").read_bytes()
    )
    assert residents.data is not None and records.data is not None
    for who, what in zip(residents.data.items, records.data.items, strict=True):
        doc = DocumentRef(who.doc_type, who.doc_no)
        identity, facts = identity_from_wire(doc, who), facts_from_wire(what)
        if identity is not None and facts is not None:
            world.put_person(Person(identity=identity, provincial=facts))
    for name, path in (("residents-query", RESIDENTS), ("health-records-query", HEALTH_RECORDS)):
        body = (SAMPLES / f"{name}.request.json").read_bytes()
        status, answer = await post_raw(server, path, body, signed(path, body))
        expected = json.loads((SAMPLES / f"{name}.response.json").read_text(encoding="utf-8"))
        assert status == 200
        assert answer == expected


async def test_the_simulators_real_answers_validate_against_the_wire_models(
    server: SimulatorServer, world: World
) -> None:
    docs = [*people(world, 100), RICH_DOC]
    for batch in (docs[:50], docs[50:]):
        body = body_of(*batch)
        _, answer = await post_raw(server, RESIDENTS, body, signed(RESIDENTS, body))
        residents = Envelope[ResidentsData].model_validate(answer)
        assert residents.code == 0 and residents.data is not None
        assert len(residents.data.items) == len(batch)
        _, answer = await post_raw(server, HEALTH_RECORDS, body, signed(HEALTH_RECORDS, body))
        records = Envelope[HealthRecordsData].model_validate(answer)
        assert records.code == 0 and records.data is not None
        assert len(records.data.items) == len(batch)


@pytest.mark.parametrize(
    "written",
    ["2022-07-06T08:12:45", "2022-07-06 08:12:45+08:00", "2022-7-6 08:12:45", "2022-07-06",
     1657066365000, "2022-07-06 08:12:45.123"],
)  # fmt: skip
def test_a_timestamp_in_any_other_format_breaks_the_contract(written: object) -> None:
    record = {"report_id": "N", "sampling_time": written, "report_time": "2022-07-06 19:40:03",
              "result": "NEGATIVE", "institution_code": "GD-LAB-0001"}  # fmt: skip
    with pytest.raises(pydantic.ValidationError):
        NatRecord.model_validate(record)


def test_a_registered_resident_without_a_name_or_an_unregistered_one_with_records_is_refused() -> (
    None
):
    with pytest.raises(pydantic.ValidationError):
        ResidentEntry.model_validate({"doc_type": "HKID", "doc_no": "A1234563", "found": True})
    with pytest.raises(pydantic.ValidationError):
        HealthRecordEntry.model_validate(
            {"doc_type": "HKID", "doc_no": "A1234563", "found": False,
             "cases": [{"case_id": "C", "case_type": "CONFIRMED",
                        "diagnosed_time": "2022-07-01 10:00:00"}]}
        )  # fmt: skip


def test_the_signature_is_hmac_sha256_over_the_documented_canonical_string() -> None:
    body = b'{"documents":[{"doc_type":"HKID","doc_no":"A1234563"}]}'
    by_hand = "\n".join(
        ["POST", RESIDENTS, "1657242000", "8f14e45fceea167a5a36dedd4bea2543",
         hashlib.sha256(body).hexdigest()]
    )  # fmt: skip
    expected = hmac.new(b"dev-provincial-secret", by_hand.encode(), hashlib.sha256).hexdigest()
    assert canonical_string("POST", RESIDENTS, "1657242000", "8f14e45fceea167a5a36dedd4bea2543",
                            body) == by_hand  # fmt: skip
    assert signature(DEV_APP_SECRET, "POST", RESIDENTS, "1657242000",
                     "8f14e45fceea167a5a36dedd4bea2543", body) == expected  # fmt: skip
    empty = canonical_string("GET", "/x?a=1", "1", "n", b"")
    assert empty.endswith(hashlib.sha256(b"").hexdigest())


# --- happy paths -----------------------------------------------------------------------------


async def test_identities_are_the_worlds_real_name_registrations(
    connect: Callable[..., ProvincialClient], world: World
) -> None:
    docs = [*people(world, 300), RICH_DOC]
    async with connect() as client:
        found = await client.identities(docs)
    assert set(found) == set(docs)
    for doc in docs:
        person = world.person(doc)
        assert person is not None
        assert found[doc] == person.identity


async def test_health_records_round_trip_exactly_including_instants(
    connect: Callable[..., ProvincialClient], world: World
) -> None:
    docs = [*people(world, 2000), RICH_DOC]
    async with connect(total_timeout=5.0) as client:
        found = await client.health_records(docs)
    assert set(found) == set(docs)
    for doc in docs:
        person = world.person(doc)
        assert person is not None
        assert found[doc] == person.provincial
    kinds = {t.result for f in found.values() if f for t in f.nat_tests}
    assert kinds == {"NEGATIVE", "POSITIVE"}  # the population exercised more than one shape


async def test_instants_come_back_as_the_same_instant_in_platform_time(
    connect: Callable[..., ProvincialClient], server: SimulatorServer
) -> None:
    async with connect() as client:
        facts = (await client.health_records([RICH_DOC]))[RICH_DOC]
    assert facts is not None
    listing = facts.listings[0]
    assert listing.assigned_at == datetime(2022, 7, 2, 9, 0, tzinfo=PLATFORM_TZ)
    assert listing.assigned_at.utcoffset() == timedelta(hours=8)
    body = body_of(RICH_DOC)
    _, answer = await post_raw(server, HEALTH_RECORDS, body, signed(HEALTH_RECORDS, body))
    # 01:00 UTC is written as 09:00 local, with no offset
    assert answer["data"]["items"][0]["listings"][0]["assigned_time"] == "2022-07-02 09:00:00"


async def test_a_person_unknown_to_the_platform_is_not_registered_rather_than_an_error(
    connect: Callable[..., ProvincialClient], world: World
) -> None:
    lookalike = DocumentRef("RESIDENT_ID", "440106198507122464")  # valid, but nobody in the world
    async with connect() as client:
        identities = await client.identities([UNKNOWN, lookalike, RICH_DOC])
        records = await client.health_records([UNKNOWN, lookalike, RICH_DOC])
    assert identities == {UNKNOWN: None, lookalike: None, RICH_DOC: RICH.identity}
    assert records == {UNKNOWN: None, lookalike: None, RICH_DOC: RICH.provincial}


async def test_asking_about_nobody_sends_no_request(
    connect: Callable[..., ProvincialClient], server: SimulatorServer
) -> None:
    async with connect() as client:
        assert await client.identities([]) == {}
        assert await client.health_records([]) == {}
    assert sum(server.simulator.counters.values()) == 0


async def test_a_document_asked_twice_is_sent_once(
    connect: Callable[..., ProvincialClient], server: SimulatorServer, world: World
) -> None:
    docs = people(world, 60)
    async with connect() as client:
        found = await client.identities(docs + docs)
    assert len(found) == 60
    assert server.simulator.counters[RESIDENTS_KEY] == 1


# --- batching --------------------------------------------------------------------------------


async def test_250_documents_take_three_requests_per_route(
    connect: Callable[..., ProvincialClient], server: SimulatorServer, world: World
) -> None:
    docs = people(world, 250)
    async with connect(total_timeout=3.0) as client:
        identities = await client.identities(docs)
        records = await client.health_records(docs)
    assert len(identities) == len(records) == 250
    assert server.simulator.counters[RESIDENTS_KEY] == 3
    assert server.simulator.counters[HEALTH_RECORDS_KEY] == 3


@pytest.mark.parametrize(("batch_size", "requests"), [(40, 3), (500, 1)])
async def test_the_configured_batch_size_splits_requests_but_never_beyond_100(
    connect: Callable[..., ProvincialClient],
    server: SimulatorServer,
    world: World,
    batch_size: int,
    requests: int,
) -> None:
    async with connect(batch_size=batch_size) as client:
        await client.identities(people(world, 100))
    assert server.simulator.counters[RESIDENTS_KEY] == requests


@pytest.mark.parametrize("path", [RESIDENTS, HEALTH_RECORDS])
async def test_the_simulator_refuses_a_batch_of_more_than_100_documents(
    server: SimulatorServer, world: World, path: str
) -> None:
    body = body_of(*people(world, 101))
    status, answer = await post_raw(server, path, body, signed(path, body))
    assert status == 200
    assert answer["code"] == 40001 and "100" in answer["msg"] and answer["data"] is None


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b"{}", b'{"documents": []}', b'{"documents": [{"doc_no": "X1"}]}',
     b'{"documents": [{"doc_type": "DRIVING_LICENCE", "doc_no": "X1"}]}'],
    ids=["malformed", "not-an-object", "no-documents", "empty", "no-type", "unknown-type"],
)  # fmt: skip
async def test_a_bad_parameter_is_refused_with_40001(server: SimulatorServer, body: bytes) -> None:
    status, answer = await post_raw(server, RESIDENTS, body, signed(RESIDENTS, body))
    assert (status, answer["code"]) == (200, 40001)
    Envelope[None].model_validate(answer)


async def test_an_unknown_document_type_is_rejected_as_a_bad_parameter(
    connect: Callable[..., ProvincialClient],
) -> None:
    async with connect() as client:
        with pytest.raises(SourceRejected) as caught:
            await client.identities([DocumentRef("DRIVING_LICENCE", "D1234567")])
    assert caught.value.code == "40001"
    assert "D1234567" not in str(caught.value)


# --- authentication --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"app_secret": "not-the-secret"}, "40101"),
        ({"app_id": "someone-else"}, "40101"),
        ({"clock": lambda: time.time() - 301}, "40102"),
        ({"clock": lambda: time.time() + 301}, "40102"),
    ],
    ids=["bad-signature", "unknown-app", "stale-timestamp", "future-timestamp"],
)
async def test_a_request_the_platform_cannot_authenticate_is_rejected(
    connect: Callable[..., ProvincialClient], changes: dict[str, Any], code: str
) -> None:
    async with connect(**changes) as client:
        for call in (client.identities, client.health_records):
            with pytest.raises(SourceRejected) as caught:
                await call([RICH_DOC])
            assert caught.value.code == code
            assert RICH_DOC.number not in str(caught.value) and "张三丰" not in str(caught.value)


async def test_a_clock_a_little_off_is_still_inside_the_window(
    connect: Callable[..., ProvincialClient],
) -> None:
    async with connect(clock=lambda: time.time() - 290) as client:
        assert (await client.identities([RICH_DOC]))[RICH_DOC] == RICH.identity


async def test_the_window_is_judged_by_the_platforms_clock(
    connect: Callable[..., ProvincialClient],
) -> None:
    SIM_CLOCK.offset = 400.0
    async with connect() as client:
        with pytest.raises(SourceRejected) as caught:
            await client.identities([RICH_DOC])
    assert caught.value.code == "40102"


async def test_a_replayed_request_is_refused_as_a_reused_nonce(server: SimulatorServer) -> None:
    body = body_of(RICH_DOC)
    headers = signed(RESIDENTS, body)
    first = await post_raw(server, RESIDENTS, body, headers)
    replay = await post_raw(server, RESIDENTS, body, headers)
    assert first[1]["code"] == 0
    assert replay[0] == 200 and replay[1]["code"] == 40103


async def test_a_forgotten_nonce_still_cannot_be_replayed_because_its_timestamp_is_stale(
    server: SimulatorServer, connect: Callable[..., ProvincialClient]
) -> None:
    body = body_of(RICH_DOC)
    headers = signed(RESIDENTS, body)
    assert (await post_raw(server, RESIDENTS, body, headers))[1]["code"] == 0
    SIM_CLOCK.offset = 601.0
    async with connect(clock=SIM_CLOCK) as client:
        await client.identities([RICH_DOC])  # a fresh request lets the platform prune
    simulator = server.simulator
    assert isinstance(simulator, ProvincialSimulator)
    assert simulator.remembered_nonces == 1  # bounded: the old nonce is gone
    assert (await post_raw(server, RESIDENTS, body, headers))[1]["code"] == 40102


@pytest.mark.parametrize("missing", ["X-App-Id", "X-Timestamp", "X-Nonce", "X-Signature"])
async def test_a_request_missing_an_auth_header_is_refused_as_a_bad_signature(
    server: SimulatorServer, missing: str
) -> None:
    body = body_of(RICH_DOC)
    headers = signed(RESIDENTS, body)
    del headers[missing]
    status, answer = await post_raw(server, RESIDENTS, body, headers)
    assert (status, answer["code"]) == (200, 40101)


async def test_a_request_altered_after_signing_is_refused_as_a_bad_signature(
    server: SimulatorServer,
) -> None:
    body = body_of(RICH_DOC)
    headers = signed(RESIDENTS, body)
    tampered = body_of(UNKNOWN)
    assert (await post_raw(server, RESIDENTS, tampered, headers))[1]["code"] == 40101
    other_route = signed(RESIDENTS, body)  # signed for one path, sent to another
    assert (await post_raw(server, HEALTH_RECORDS, body, other_route))[1]["code"] == 40101


# --- faults ----------------------------------------------------------------------------------

Call = Callable[[ProvincialClient], Awaitable[Any]]
CALLS: dict[str, Call] = {
    "identities": lambda c: c.identities([RICH_DOC]),
    "health_records": lambda c: c.health_records([RICH_DOC]),
}


@pytest.fixture(params=sorted(CALLS))
def call(request: pytest.FixtureRequest) -> Call:
    return CALLS[request.param]


@pytest.mark.parametrize(
    ("faults", "error"),
    [
        ({"outage": "503"}, SourceUnavailable),
        ({"outage": "refuse"}, SourceUnavailable),
        ({"hang": True}, SourceUnavailable),
        ({"error_rate": 1.0}, SourceUnavailable),
        ({"latency_ms": 1500}, SourceUnavailable),
        ({"trickle_ms": 200}, SourceUnavailable),
        ({"malformed": "truncated"}, SourceContractError),
        ({"malformed": "shape"}, SourceContractError),
    ],
    ids=["gateway-503", "refused", "hang", "internal-error", "slow", "trickle", "truncated",
         "wrong-shape"],
)  # fmt: skip
async def test_every_fault_becomes_the_right_connector_error(
    connect: Callable[..., ProvincialClient],
    server: SimulatorServer,
    call: Call,
    faults: dict[str, Any],
    error: type[Exception],
) -> None:
    server.set_faults(**faults)
    async with connect() as client:
        with pytest.raises(error) as caught:
            await asyncio.wait_for(call(client), timeout=5)  # it did not hang
    assert RICH_DOC.number not in str(caught.value)


async def test_the_platforms_rate_limit_is_unavailability_with_its_retry_after(
    connect: Callable[..., ProvincialClient], server: SimulatorServer, call: Call
) -> None:
    server.set_faults(rate_limit_rate=1.0, retry_after_s=7)
    async with connect() as client:
        with pytest.raises(SourceUnavailable) as caught:
            await call(client)
    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize(
    ("faults", "code"), [({"error_rate": 1.0}, 50001), ({"rate_limit_rate": 1.0}, 42901)]
)
async def test_the_platforms_own_failures_are_http_200_envelopes(
    server: SimulatorServer, faults: dict[str, Any], code: int
) -> None:
    server.set_faults(**faults)
    body = body_of(RICH_DOC)
    status, answer = await post_raw(server, RESIDENTS, body, signed(RESIDENTS, body))
    assert status == 200
    assert Envelope[None].model_validate(answer).code == code


async def test_a_per_call_timeout_narrower_than_the_sessions_is_honoured(
    connect: Callable[..., ProvincialClient], server: SimulatorServer
) -> None:
    server.set_faults(latency_ms=400)
    async with connect(total_timeout=3.0) as client:
        with pytest.raises(SourceUnavailable):
            await client.identities([RICH_DOC], timeout=0.1)
        with pytest.raises(SourceUnavailable):
            await client.health_records([RICH_DOC], timeout=0.1)


async def test_a_subject_whose_records_are_unavailable_fails_only_batches_asking_about_them(
    connect: Callable[..., ProvincialClient], world: World
) -> None:
    world.set_unavailable(RICH_DOC, ["provincial"])
    others = people(world, 5)
    async with connect() as client:
        with pytest.raises(SourceUnavailable):
            await client.identities([*others, RICH_DOC])
        with pytest.raises(SourceUnavailable):
            await client.health_records([RICH_DOC])
        assert len(await client.health_records(others)) == 5


# --- the admin routes ------------------------------------------------------------------------


async def test_faults_set_through_the_admin_route_reach_the_client_and_counters_show_routes(
    connect: Callable[..., ProvincialClient], server: SimulatorServer
) -> None:
    async with connect() as client:
        await client.identities([RICH_DOC])
        await client.health_records([RICH_DOC])
        async with aiohttp.ClientSession(server.admin_url) as admin:
            async with admin.put("/_admin/faults", json={"outage": "503"}) as response:
                assert response.status == 200
            with pytest.raises(SourceUnavailable):
                await client.identities([RICH_DOC])
            async with admin.get("/_admin/counters") as response:
                counters = await response.json()
    assert counters == {RESIDENTS_KEY: 2, HEALTH_RECORDS_KEY: 1}


async def test_venue_scans_are_recorded_once_however_often_they_are_forwarded(
    server: SimulatorServer, connect: Callable[..., ProvincialClient]
) -> None:
    scans = VenueScanBatch.model_validate_json(
        (SAMPLES / "venue-scans.request.json").read_bytes()
    ).scans
    simulator = server.simulator
    assert isinstance(simulator, ProvincialSimulator)
    simulator.venue_scans.clear()
    async with connect() as client:
        first = await client.record_venue_scans(scans)
        again = await client.record_venue_scans(scans)
    assert (first.accepted, again.accepted) == (1, 0)
    assert list(simulator.venue_scans) == [scans[0].scan_id]


async def test_a_malformed_venue_scan_is_refused_as_a_bad_parameter(
    server: SimulatorServer,
) -> None:
    body = b'{"scans": [{"scan_id": "x", "venue_code": "no spaces allowed"}]}'
    status, answer = await post_raw(
        server, "/api/v1/venue-scans", body, signed("/api/v1/venue-scans", body)
    )
    assert status == 200 and answer["code"] == 40001
