"""The national platform: OAuth2 client credentials, risk-area sync, trips and flags."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pydantic
import pytest

from connectors.errors import SourceContractError, SourceRejected, SourceUnavailable
from connectors.national import NationalClient, NationalConfig
from connectors.national.models import (
    DocumentQuery,
    FlagAnswer,
    ItineraryAnswer,
    OAuthError,
    Problem,
    RiskAreaEntry,
    RiskAreaList,
    TokenRequest,
    TokenResponse,
)
from connectors.national.simulator import NationalSimulator, NationalSimulatorConfig, main
from connectors.records import DocumentRef, RiskArea
from connectors.simulation import SimulatorServer
from connectors.world import CST, World

SAMPLES = Path(__file__).parents[2] / "connectors" / "national" / "samples"
NOW = datetime(2022, 8, 15, 10, 0, tzinfo=CST)
TTL_S = 2
TOKEN = "POST /oauth/token"
RISK_AREAS = "GET /api/v1/risk-areas"
ITINERARIES = "POST /api/v1/itineraries/query"
FLAGS = "POST /api/v1/flags/query"

TRAVELLER = DocumentRef("RESIDENT_ID", "440304199003071117")
FLAGGED = DocumentRef("RESIDENT_ID", "440304199003071221")
CUT_OFF = DocumentRef("RESIDENT_ID", "440304199003071334")
STRANGER = DocumentRef("PASSPORT", "GBR:123456789")


class FakeClock:
    """A monotonic clock a test moves by hand; read from the simulator's thread too."""

    def __init__(self) -> None:
        self._now = 1000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


CLOCK = FakeClock()


def _scenario(doc: DocumentRef, national: dict[str, Any]) -> dict[str, Any]:
    return {
        "subject": {"document": {"type": doc.type, "number": doc.number}, "name": "张三丰"},
        "facts": {"national": national},
    }


@pytest.fixture(scope="module")
def world() -> World:
    world = World(seed=7, size=2000, now=NOW)
    world.load_scenario(
        _scenario(
            TRAVELLER,
            {
                "riskAreas": [
                    {
                        "areaCode": "440106001",
                        "name": "Street 440106001",
                        "level": "HIGH",
                        "designatedAt": "2022-08-10T00:00:00+08:00",
                        "liftedAt": None,
                    }
                ],
                "trips": [
                    {"areaCode": "440106001", "at": "2022-08-12T15:00:00+08:00"},
                    {"areaCode": "440305102", "at": "2022-05-02T18:45:00.123+08:00"},
                ],
            },
        )
    )
    world.load_scenario(
        _scenario(
            FLAGGED,
            {
                "flags": [
                    {
                        "id": "F1",
                        "issuer": "410000",
                        "colour": "RED",
                        "reason": "pushed by 410000",
                        "assignedAt": "2022-06-19T08:00:00+08:00",
                        "revokedAt": None,
                    },
                    {
                        "id": "F0",
                        "issuer": "420000",
                        "colour": "YELLOW",
                        "reason": "pushed by 420000",
                        "assignedAt": "2022-05-02T18:45:00+08:00",
                        "revokedAt": "2022-06-21T04:30:00Z",
                    },
                ],
            },
        )
    )
    world.load_scenario(_scenario(CUT_OFF, {"trips": []}))
    world.set_unavailable(CUT_OFF, ["national"])
    return world


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[SimulatorServer[NationalSimulator]]:
    config = NationalSimulatorConfig(token_ttl_s=TTL_S, clock=CLOCK)
    server = SimulatorServer(NationalSimulator(world, config)).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def clean(server: SimulatorServer[NationalSimulator]) -> Iterator[None]:
    server.clear_faults()
    server.simulator.counters.clear()
    yield
    server.clear_faults()


def config(server: SimulatorServer[NationalSimulator], **changes: Any) -> NationalConfig:
    settings: dict[str, Any] = {
        "client_id": "ghc-hub",
        "client_secret": "dev-national-secret",
        "connect_timeout": 0.5,
        "total_timeout": 0.5,
        "clock": CLOCK,
    }
    settings.update(changes)
    return NationalConfig(server.url, **settings)


@pytest.fixture
async def client(server: SimulatorServer[NationalSimulator]) -> AsyncIterator[NationalClient]:
    async with NationalClient(config(server)) as client:
        yield client


def counts(server: SimulatorServer[NationalSimulator]) -> dict[str, int]:
    return dict(server.simulator.counters)


def synthetic_people(world: World, want: Callable[[Any], bool], n: int) -> list[DocumentRef]:
    """The first n synthetic documents whose national facts satisfy `want` (test-side scan)."""
    docs = []
    for i in range(world.size):
        person = world.person(world.document(i))
        if person is not None and want(person.national):
            docs.append(world.document(i))
            if len(docs) == n:
                break
    return docs


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def raw_token(http: aiohttp.ClientSession, server: SimulatorServer[NationalSimulator]) -> str:
    async with http.post(
        f"{server.url}/oauth/token",
        data=b"grant_type=client_credentials",
        headers={**FORM, "Authorization": basic("ghc-hub", "dev-national-secret")},
    ) as response:
        assert response.status == 200
        return TokenResponse.model_validate_json(await response.read()).access_token


# --- the wire contract ---------------------------------------------------------------------

SAMPLE_MODELS: dict[str, type[pydantic.BaseModel]] = {
    "token-request": TokenRequest,
    "token-response": TokenResponse,
    "token-error": OAuthError,
    "problem": Problem,
    "risk-areas": RiskAreaList,
    "itineraries-request": DocumentQuery,
    "itineraries-response": ItineraryAnswer,
    "flags-request": DocumentQuery,
    "flags-response": FlagAnswer,
}


def model_of(sample: Path) -> type[pydantic.BaseModel]:
    prefixes = [p for p in SAMPLE_MODELS if sample.stem.startswith(p)]
    assert prefixes, f"no wire model for sample {sample.name}"
    return SAMPLE_MODELS[max(prefixes, key=len)]


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_every_sample_parses_with_its_wire_model(sample: Path) -> None:
    model_of(sample).model_validate_json(sample.read_bytes())


def test_samples_cover_every_request_and_answer_shape() -> None:
    stems = {p.stem for p in SAMPLES.glob("*.json")}
    assert {model_of(SAMPLES / f"{s}.json") for s in stems} == set(SAMPLE_MODELS.values())


@pytest.mark.parametrize(
    "value",
    [1660060800, "1660060800000", 1660060800000.5, "2022-08-10T00:00:00+08:00", True],
    ids=["seconds", "string", "float", "iso", "bool"],
)
def test_timestamps_are_accepted_only_as_integer_epoch_milliseconds(value: object) -> None:
    entry = orjson.loads((SAMPLES / "risk-areas-full.json").read_bytes())["items"][0]
    RiskAreaEntry.model_validate(entry)
    with pytest.raises(pydantic.ValidationError):
        RiskAreaEntry.model_validate({**entry, "designatedAt": value})


async def test_the_simulators_real_answers_validate_against_the_wire_models(
    server: SimulatorServer[NationalSimulator],
) -> None:
    body = orjson.dumps(
        {"documents": [{"documentType": TRAVELLER.type, "documentNumber": TRAVELLER.number}]}
    )
    async with aiohttp.ClientSession() as http:
        token = await raw_token(http, server)
        bearer = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        async with http.get(f"{server.url}/api/v1/risk-areas", headers=bearer) as response:
            assert response.status == 200
            assert response.headers["ETag"].startswith('"')
            RiskAreaList.model_validate_json(await response.read())
        async with http.post(
            f"{server.url}/api/v1/itineraries/query", data=body, headers=bearer
        ) as response:
            ItineraryAnswer.model_validate_json(await response.read())
        async with http.post(
            f"{server.url}/api/v1/flags/query", data=body, headers=bearer
        ) as response:
            FlagAnswer.model_validate_json(await response.read())
        async with http.get(f"{server.url}/api/v1/risk-areas") as response:
            assert response.status == 401
            assert response.content_type == "application/problem+json"
            Problem.model_validate_json(await response.read())
        async with http.post(
            f"{server.url}/oauth/token",
            data=b"grant_type=client_credentials",
            headers={**FORM, "Authorization": basic("ghc-hub", "no")},
        ) as response:
            assert response.status == 401
            OAuthError.model_validate_json(await response.read())


# --- happy paths: the world's records, exactly ---------------------------------------------


async def test_risk_areas_are_the_worlds_list_with_versions(
    client: NationalClient, world: World
) -> None:
    sync = await client.risk_areas()
    assert not sync.not_modified
    assert sync.version == world.risk_area_version
    assert sync.etag == f'"{world.risk_area_version}"'
    assert list(sync.changes) == world.risk_area_changes(0)
    assert all(area.designated_at.tzinfo is not None for _, area in sync.changes)


async def test_trips_equal_the_worlds_records_with_the_same_instants(
    client: NationalClient, world: World
) -> None:
    travellers = synthetic_people(world, lambda n: n.trips, 5)
    found = await client.trips([TRAVELLER, *travellers])
    for doc in [TRAVELLER, *travellers]:
        person = world.person(doc)
        assert person is not None
        assert found[doc] == person.national.trips
    first = found[TRAVELLER][0]
    assert first.at == datetime(2022, 8, 12, 15, 0, tzinfo=CST)
    assert first.at.utcoffset() is not None


async def test_flags_equal_the_worlds_records_including_revoked_ones(
    client: NationalClient, world: World
) -> None:
    flagged = synthetic_people(world, lambda n: n.flags, 3)
    found = await client.flags([FLAGGED, *flagged])
    for doc in [FLAGGED, *flagged]:
        person = world.person(doc)
        assert person is not None
        assert found[doc] == person.national.flags
    revoked = found[FLAGGED][1]
    assert revoked.revoked_at == datetime(2022, 6, 21, 4, 30, tzinfo=UTC)


async def test_instants_keep_their_milliseconds(client: NationalClient) -> None:
    found = await client.trips([TRAVELLER])
    assert found[TRAVELLER][1].at == datetime(2022, 5, 2, 18, 45, 0, 123_000, tzinfo=CST)


async def test_a_person_unknown_to_the_world_has_no_trips_and_no_flags(
    client: NationalClient,
) -> None:
    assert await client.trips([STRANGER]) == {STRANGER: ()}
    assert await client.flags([STRANGER]) == {STRANGER: ()}


async def test_duplicate_documents_are_asked_once(
    client: NationalClient, server: SimulatorServer[NationalSimulator]
) -> None:
    found = await client.trips([STRANGER, TRAVELLER, STRANGER])
    assert set(found) == {STRANGER, TRAVELLER}
    assert counts(server)[ITINERARIES] == 1


async def test_no_documents_means_no_request(
    client: NationalClient, server: SimulatorServer[NationalSimulator]
) -> None:
    assert await client.flags([]) == {}
    assert counts(server) == {}


# --- batches -------------------------------------------------------------------------------


async def test_120_documents_take_three_requests_per_route_and_one_token(
    client: NationalClient, server: SimulatorServer[NationalSimulator], world: World
) -> None:
    docs = [world.document(i) for i in range(120)]
    trips = await client.trips(docs)
    flags = await client.flags(docs)
    assert set(trips) == set(flags) == set(docs)
    assert counts(server) == {TOKEN: 1, ITINERARIES: 3, FLAGS: 3}


@pytest.mark.parametrize(("batch_size", "requests"), [(10, 12), (500, 3)])
async def test_the_batch_size_is_honoured_and_capped_at_50(
    server: SimulatorServer[NationalSimulator], world: World, batch_size: int, requests: int
) -> None:
    async with NationalClient(config(server, batch_size=batch_size)) as client:
        await client.trips([world.document(i) for i in range(120)])
    assert counts(server)[ITINERARIES] == requests


async def test_the_simulator_refuses_more_than_50_documents_naming_the_limit(
    server: SimulatorServer[NationalSimulator], world: World
) -> None:
    documents = [
        {"documentType": d.type, "documentNumber": d.number} for d in map(world.document, range(51))
    ]
    async with aiohttp.ClientSession() as http:
        token = await raw_token(http, server)
        async with http.post(
            f"{server.url}/api/v1/flags/query",
            data=orjson.dumps({"documents": documents}),
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            assert response.status == 400
            problem = Problem.model_validate_json(await response.read())
    assert problem.type.endswith("/batch-too-large")
    assert problem.detail is not None and "50" in problem.detail


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"documents": []}',
        b'{"documents": [{"documentType": "VISA", "documentNumber": "1"}]}',
        b"[]",
    ],
    ids=["not-json", "empty", "unknown-type", "not-an-object"],
)
async def test_the_simulator_refuses_malformed_query_bodies(
    server: SimulatorServer[NationalSimulator], body: bytes
) -> None:
    async with aiohttp.ClientSession() as http:
        token = await raw_token(http, server)
        async with http.post(
            f"{server.url}/api/v1/itineraries/query",
            data=body,
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            assert response.status == 400
            assert Problem.model_validate_json(await response.read()).status == 400


# --- OAuth2 --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_id", "secret"), [("ghc-hub", "wrong"), ("someone-else", "dev-national-secret")]
)
async def test_bad_client_credentials_are_rejected(
    server: SimulatorServer[NationalSimulator], client_id: str, secret: str
) -> None:
    async with NationalClient(config(server, client_id=client_id, client_secret=secret)) as c:
        with pytest.raises(SourceRejected) as caught:
            await c.trips([TRAVELLER])
    assert caught.value.code == "invalid_client"
    assert secret not in str(caught.value)
    assert counts(server) == {TOKEN: 1}


@pytest.mark.parametrize(
    ("body", "headers", "status", "error"),
    [
        (
            b"grant_type=password",
            {"Authorization": basic("ghc-hub", "dev-national-secret")},
            400,
            "unsupported_grant_type",
        ),
        (b"", {"Authorization": basic("ghc-hub", "dev-national-secret")}, 400, "invalid_request"),
        (b"grant_type=client_credentials", {}, 401, "invalid_client"),
        (
            b"grant_type=client_credentials&client_id=ghc-hub&client_secret=dev-national-secret",
            {"Authorization": basic("ghc-hub", "dev-national-secret")},
            400,
            "invalid_request",
        ),
    ],
    ids=["unsupported-grant", "no-grant", "no-credentials", "two-auth-methods"],
)
async def test_the_token_endpoint_refuses_the_way_rfc_6749_says(
    server: SimulatorServer[NationalSimulator],
    body: bytes,
    headers: dict[str, str],
    status: int,
    error: str,
) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{server.url}/oauth/token", data=body, headers={**FORM, **headers}
        ) as response:
            assert response.status == status
            assert OAuthError.model_validate_json(await response.read()).error == error


async def test_the_token_endpoint_accepts_credentials_in_the_form(
    server: SimulatorServer[NationalSimulator],
) -> None:
    form = b"grant_type=client_credentials&client_id=ghc-hub&client_secret=dev-national-secret"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}/oauth/token", data=form, headers=FORM) as response:
            assert response.status == 200
            assert response.headers["Cache-Control"] == "no-store"
            token = TokenResponse.model_validate_json(await response.read())
    assert token.token_type == "Bearer" and token.expires_in == TTL_S


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic Zm9vOmJhcg=="])
async def test_the_api_refuses_a_missing_or_unknown_token_with_a_bearer_challenge(
    server: SimulatorServer[NationalSimulator], authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/api/v1/risk-areas", headers=headers) as response:
            assert response.status == 401
            assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
            assert Problem.model_validate_json(await response.read()).status == 401


async def test_the_api_refuses_an_expired_token(server: SimulatorServer[NationalSimulator]) -> None:
    async with aiohttp.ClientSession() as http:
        token = await raw_token(http, server)
        CLOCK.advance(TTL_S)
        async with http.get(
            f"{server.url}/api/v1/risk-areas", headers={"Authorization": f"Bearer {token}"}
        ) as response:
            assert response.status == 401


async def test_the_client_refreshes_its_token_before_it_expires(
    client: NationalClient, server: SimulatorServer[NationalSimulator]
) -> None:
    await client.trips([TRAVELLER])
    CLOCK.advance(TTL_S * 0.5)
    await client.trips([TRAVELLER])  # half the lifetime left: the token is reused
    assert counts(server) == {TOKEN: 1, ITINERARIES: 2}
    CLOCK.advance(TTL_S * 0.45)  # 5 % left, under the 10 % margin: refreshed, no 401
    await client.trips([TRAVELLER])
    assert counts(server) == {TOKEN: 2, ITINERARIES: 3}


async def test_a_token_that_expired_sooner_than_expected_is_refetched_once(
    server: SimulatorServer[NationalSimulator],
) -> None:
    own_clock = FakeClock()  # the client's clock stands still: it thinks its token is fresh
    async with NationalClient(config(server, clock=own_clock)) as client:
        await client.flags([FLAGGED])
        CLOCK.advance(TTL_S + 1)  # ...but on the platform's clock it has expired
        found = await client.flags([FLAGGED])
    assert len(found[FLAGGED]) == 2
    assert counts(server) == {TOKEN: 2, FLAGS: 3}  # one refused call, one extra token


async def test_fifty_concurrent_calls_without_a_token_share_one_token_fetch(
    client: NationalClient, server: SimulatorServer[NationalSimulator]
) -> None:
    results = await asyncio.gather(*(client.trips([TRAVELLER]) for _ in range(50)))
    assert all(r[TRAVELLER] for r in results)
    assert counts(server) == {TOKEN: 1, ITINERARIES: 50}


async def test_a_revoked_token_costs_one_refusal_and_one_refetch(
    client: NationalClient, server: SimulatorServer[NationalSimulator]
) -> None:
    await client.risk_areas()
    server.simulator.revoke_tokens()
    sync = await client.risk_areas()
    assert sync.changes
    assert counts(server) == {TOKEN: 2, RISK_AREAS: 3}


async def test_concurrent_calls_refused_together_refetch_one_token(
    client: NationalClient, server: SimulatorServer[NationalSimulator]
) -> None:
    await client.trips([TRAVELLER])
    server.simulator.revoke_tokens()
    await asyncio.gather(*(client.trips([TRAVELLER]) for _ in range(10)))
    assert counts(server)[TOKEN] == 2


async def test_a_token_refused_twice_is_a_rejection(
    client: NationalClient,
    server: SimulatorServer[NationalSimulator],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(server.simulator.tokens, "valid", lambda token: False)
    with pytest.raises(SourceRejected) as caught:
        await client.flags([FLAGGED])
    assert caught.value.code == "invalid_token"
    assert counts(server) == {TOKEN: 2, FLAGS: 2}


async def test_the_token_store_forgets_expired_tokens(
    server: SimulatorServer[NationalSimulator],
) -> None:
    for _ in range(3):
        async with NationalClient(config(server)) as client:
            await client.risk_areas(since_version=10**6)
    CLOCK.advance(TTL_S)
    async with NationalClient(config(server)) as client:
        await client.risk_areas(since_version=10**6)
    assert len(server.simulator.tokens) == 1


# --- risk-area sync ------------------------------------------------------------------------


async def test_an_unchanged_list_answers_304_to_its_etag(
    client: NationalClient, server: SimulatorServer[NationalSimulator]
) -> None:
    first = await client.risk_areas()
    again = await client.risk_areas(since_version=first.version, etag=first.etag)
    assert again.not_modified
    assert again.changes == ()
    assert (again.version, again.etag) == (first.version, first.etag)


async def test_a_new_designation_arrives_by_incremental_sync(
    client: NationalClient, world: World
) -> None:
    first = await client.risk_areas()
    area = RiskArea("440106777", "Street 440106777", "MEDIUM", NOW - timedelta(hours=3))
    world.add_risk_area(area)
    again = await client.risk_areas(since_version=first.version, etag=first.etag)
    assert not again.not_modified
    assert again.version == first.version + 1
    assert again.etag != first.etag
    assert again.changes == ((first.version + 1, area),)


async def test_since_version_alone_returns_only_later_entries(
    client: NationalClient, world: World
) -> None:
    latest = world.risk_area_version
    sync = await client.risk_areas(since_version=latest - 2)
    assert [v for v, _ in sync.changes] == [latest - 1, latest]
    nothing = await client.risk_areas(since_version=latest)
    assert (nothing.version, nothing.changes) == (latest, ())


@pytest.mark.parametrize("since", ["-1", "two", "1.5"])
async def test_the_simulator_refuses_a_malformed_since_version(
    server: SimulatorServer[NationalSimulator], since: str
) -> None:
    async with aiohttp.ClientSession() as http:
        token = await raw_token(http, server)
        async with http.get(
            f"{server.url}/api/v1/risk-areas",
            params={"sinceVersion": since},
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            assert response.status == 400


# --- faults --------------------------------------------------------------------------------

FAULTS: list[tuple[str, dict[str, Any], type[Exception]]] = [
    ("outage-503", {"outage": "503"}, SourceUnavailable),
    ("outage-refuse", {"outage": "refuse"}, SourceUnavailable),
    ("hang", {"hang": True}, SourceUnavailable),
    ("error-rate", {"error_rate": 1.0}, SourceUnavailable),
    ("rate-limit", {"rate_limit_rate": 1.0, "retry_after_s": 2}, SourceUnavailable),
    ("truncated", {"malformed": "truncated"}, SourceContractError),
    ("shape", {"malformed": "shape"}, SourceContractError),
    ("latency", {"latency_ms": 1500}, SourceUnavailable),
    ("trickle", {"trickle_ms": 300}, SourceUnavailable),
]

CALLS: dict[str, Callable[[NationalClient], Awaitable[object]]] = {
    "risk_areas": lambda c: c.risk_areas(),
    "trips": lambda c: c.trips([TRAVELLER]),
    "flags": lambda c: c.flags([FLAGGED]),
}


async def _expect(call: Awaitable[object], error: type[Exception]) -> Exception:
    # bounded by the test itself, so a client that hangs fails instead of stalling the run
    with pytest.raises(error) as caught:
        await asyncio.wait_for(call, timeout=5)
    return caught.value


@pytest.mark.parametrize(("name", "faults", "error"), FAULTS, ids=[f[0] for f in FAULTS])
@pytest.mark.parametrize("method", list(CALLS))
async def test_every_fault_maps_to_the_right_error(
    client: NationalClient,
    server: SimulatorServer[NationalSimulator],
    method: str,
    name: str,
    faults: dict[str, Any],
    error: type[Exception],
) -> None:
    await client.risk_areas(since_version=10**6)  # token in hand: the fault hits the call
    server.set_faults(**faults)
    caught = await _expect(CALLS[method](client), error)
    if name == "rate-limit":
        assert isinstance(caught, SourceUnavailable) and caught.retry_after == 2


@pytest.mark.parametrize(("name", "faults", "error"), FAULTS, ids=[f[0] for f in FAULTS])
async def test_every_fault_of_the_token_endpoint_maps_to_the_right_error(
    client: NationalClient,
    server: SimulatorServer[NationalSimulator],
    name: str,
    faults: dict[str, Any],
    error: type[Exception],
) -> None:
    server.set_faults(**faults)
    await _expect(client.trips([TRAVELLER]), error)
    assert counts(server).get(ITINERARIES, 0) == 0


async def test_a_narrower_timeout_is_honoured(
    server: SimulatorServer[NationalSimulator],
) -> None:
    async with NationalClient(config(server, total_timeout=3.0)) as client:
        await client.trips([TRAVELLER])
        server.set_faults(latency_ms=1000)
        await _expect(client.trips([TRAVELLER], timeout=0.2), SourceUnavailable)
        await _expect(client.risk_areas(timeout=0.2), SourceUnavailable)


async def test_a_subject_the_platform_cannot_read_makes_the_batch_unavailable(
    client: NationalClient,
) -> None:
    caught = await _expect(client.trips([TRAVELLER, CUT_OFF]), SourceUnavailable)
    assert CUT_OFF.number not in str(caught)
    assert await client.trips([TRAVELLER])  # the others answer on their own
    assert (await client.risk_areas()).changes  # the list is not per-subject


# --- the admin routes ----------------------------------------------------------------------


async def test_faults_set_over_the_admin_route_reach_the_client(
    client: NationalClient, server: SimulatorServer[NationalSimulator]
) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.put(f"{server.admin_url}/_admin/faults", json={"outage": "503"}) as r:
            assert r.status == 200
        await _expect(client.flags([FLAGGED]), SourceUnavailable)
        async with http.put(f"{server.admin_url}/_admin/faults", json={"outage": None}) as r:
            assert r.status == 200
        await client.flags([FLAGGED])
        async with http.get(f"{server.admin_url}/_admin/counters") as r:
            assert await r.json() == {TOKEN: 2, FLAGS: 1}


def test_the_simulator_runs_standalone() -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--help"])
    assert caught.value.code == 0
