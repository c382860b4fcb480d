"""The Macao connector against its simulator over loopback HTTP: the wire contract of
`connectors/macao/samples/`, the concurrency bound, transfer tickets, and every failure mode."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pydantic
import pytest

from connectors.errors import SourceContractError, SourceRejected, SourceUnavailable
from connectors.macao import MacaoClient, MacaoConfig, TransferTicket
from connectors.macao.client import CODE_ROUTE
from connectors.macao.models import (
    BilheteTransferencia,
    CodigoSaude,
    Erro,
    ReciboBilhete,
)
from connectors.macao.simulator import MacaoSimulator, MacaoSimulatorConfig
from connectors.macao.translate import code_from_wire, code_to_wire
from connectors.records import DocumentRef, Identity, MacaoCode, MacaoFacts, Person
from connectors.simulation import SimulatorServer
from connectors.world import World

CST = timezone(timedelta(hours=8))
NOW = datetime(2022, 7, 10, 9, 0, tzinfo=CST)
KEY = "dev-macao-key"
SAMPLES = Path(__file__).parents[2] / "connectors" / "macao" / "samples"
MODELS: dict[str, type[pydantic.BaseModel]] = {
    "codigo-saude": CodigoSaude,
    "bilhete": BilheteTransferencia,
    "recibo": ReciboBilhete,
    "erro": Erro,
}
CODE_PATH = "/api/v1/codigos-saude"
TICKET_PATH = "/api/v1/bilhetes-transferencia"

# explicit people: one per colour, a Home Return Permit holder whose code was written in UTC
# (so the round trip must keep the instant, not the offset), one without a Macao code, one
# whose Macao records are in an outage
COLOURED = {
    "GREEN": DocumentRef("MACAO_ID", "10000001"),
    "YELLOW": DocumentRef("MACAO_ID", "10000002"),
    "RED": DocumentRef("MACAO_ID", "50000003"),
}
PERMIT = DocumentRef("HOME_RETURN_PERMIT", "M12345678")
PERMIT_CODE = MacaoCode("YELLOW", datetime(2022, 7, 10, 1, 15, 30, 250_000, tzinfo=UTC))
NO_CODE = DocumentRef("MACAO_ID", "10000004")
IN_OUTAGE = DocumentRef("MACAO_ID", "10000005")
UNKNOWN = DocumentRef("MACAO_ID", "79999999")


def _person(doc: DocumentRef, code: MacaoCode | None) -> Person:
    return Person(identity=Identity(doc, "陈大文"), macao=MacaoFacts(code))


@pytest.fixture(scope="module")
def world() -> World:
    world = World(seed=7, size=2000, now=NOW)
    for colour, doc in COLOURED.items():
        world.put_person(_person(doc, MacaoCode(colour, NOW - timedelta(hours=3))))
    world.put_person(_person(PERMIT, PERMIT_CODE))
    world.put_person(_person(NO_CODE, None))
    world.put_person(_person(IN_OUTAGE, MacaoCode("GREEN", NOW)))
    world.set_unavailable(IN_OUTAGE, ["macao"])
    world.mark_initial()
    return world


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[SimulatorServer]:
    server = SimulatorServer(MacaoSimulator(world, MacaoSimulatorConfig(api_key=KEY))).start()
    yield server
    server.stop()


@pytest.fixture
def sim(server: SimulatorServer) -> MacaoSimulator:
    assert isinstance(server.simulator, MacaoSimulator)
    return server.simulator


@pytest.fixture(autouse=True)
def _fresh(server: SimulatorServer, world: World, sim: MacaoSimulator) -> None:
    server.clear_faults()
    world.reset()
    sim.counters.clear()
    sim.clear_tickets()
    sim.reset_in_flight()


def config(server: SimulatorServer, **changes: Any) -> MacaoConfig:
    settings: dict[str, Any] = {"api_key": KEY, "total_timeout": 0.5, "connect_timeout": 0.5}
    settings.update(changes)
    return MacaoConfig(base_url=server.url, **settings)


@pytest.fixture
async def client(server: SimulatorServer) -> AsyncIterator[MacaoClient]:
    async with MacaoClient(config(server)) as client:
        yield client


def macao_residents(world: World, count: int) -> list[DocumentRef]:
    docs = [world.document(i) for i in range(world.size)]
    return [d for d in docs if d.type == "MACAO_ID"][:count]


def ticket(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads((SAMPLES / "bilhete.pedido.json").read_bytes())
    data.update(changes)
    return data


async def raw(
    server: SimulatorServer, method: str, path: str, *, key: str | None = KEY, body: Any = None
) -> tuple[int, Any]:
    headers = {} if key is None else {"X-Api-Key": key}
    async with aiohttp.ClientSession() as session:
        data = None if body is None else orjson.dumps(body)
        async with session.request(method, server.url + path, headers=headers, data=data) as r:
            payload = await r.read()
            try:
                return r.status, orjson.loads(payload)
            except orjson.JSONDecodeError:
                return r.status, payload


# --- the contract is the samples --------------------------------------------------------------


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_every_sample_parses_with_its_wire_model(sample: Path) -> None:
    model = MODELS[sample.name.split(".")[0]]
    model.model_validate(orjson.loads(sample.read_bytes()))


@pytest.mark.parametrize(
    ("method", "path", "key", "body", "sample"),
    [
        ("GET", f"{CODE_PATH}/MACAO_ID/10000001", None, None, "erro.401-chave-invalida.json"),
        ("GET", f"{CODE_PATH}/MACAO_ID/10000001", "wrong", None, "erro.401-chave-invalida.json"),
        ("POST", TICKET_PATH, None, {}, "erro.401-chave-invalida.json"),
        ("GET", f"{CODE_PATH}/MACAO_ID/10000004", KEY, None, "erro.404-sem-registo.json"),
        ("GET", f"{CODE_PATH}/RESIDENT_ID/440304199003075011", KEY, None,
         "erro.400-tipo-nao-suportado.json"),
        ("GET", f"{CODE_PATH}/MACAO_ID/2000000", KEY, None, "erro.400-numero-invalido.json"),
        ("GET", f"{CODE_PATH}/MACAO_ID/10000005", KEY, None, "erro.503-servico-indisponivel.json"),
        ("POST", TICKET_PATH, KEY, ["not", "a", "ticket"], "erro.400-pedido-invalido.json"),
    ],
    ids=["no key", "wrong key", "no key on tickets", "no record", "unsupported type",
         "malformed number", "subject outage", "ticket not an object"],
)  # fmt: skip
async def test_the_simulators_error_answers_are_the_samples(
    server: SimulatorServer, method: str, path: str, key: str | None, body: Any, sample: str
) -> None:
    status, answer = await raw(server, method, path, key=key, body=body)
    assert status == int(sample.split(".")[1][:3])
    if sample == "erro.400-pedido-invalido.json":  # the text says which; the code is the contract
        assert answer["codigo"] == "PEDIDO_INVALIDO"
    else:
        assert answer == orjson.loads((SAMPLES / sample).read_bytes())


@pytest.mark.parametrize(
    ("faults", "sample"),
    [
        ({"error_rate": 1.0}, "erro.500-erro-interno.json"),
        ({"outage": "503"}, "erro.503-servico-indisponivel.json"),
        ({"rate_limit_rate": 1.0}, "erro.429-limite-excedido.json"),
    ],
    ids=["internal error", "outage", "rate limit"],
)
async def test_the_simulators_fault_answers_are_the_samples(
    server: SimulatorServer, faults: dict[str, Any], sample: str
) -> None:
    server.set_faults(**faults)
    status, answer = await raw(server, "GET", f"{CODE_PATH}/MACAO_ID/10000001")
    assert status == int(sample.split(".")[1][:3])
    assert answer == orjson.loads((SAMPLES / sample).read_bytes())


async def test_the_simulators_code_answers_validate_against_the_wire_model(
    server: SimulatorServer, world: World
) -> None:
    for doc in [*macao_residents(world, 3), PERMIT]:
        status, answer = await raw(server, "GET", f"{CODE_PATH}/{doc.type}/{doc.number}")
        assert status == 200
        wire = CodigoSaude.model_validate(answer)
        assert answer["actualizadoEm"].endswith("+08:00")
        assert (wire.documento.tipo, wire.documento.numero) == (doc.type, doc.number)


async def test_the_simulators_ticket_receipts_validate_against_the_wire_model(
    server: SimulatorServer,
) -> None:
    status, answer = await raw(server, "POST", TICKET_PATH, body=ticket())
    assert status == 201
    assert ReciboBilhete.model_validate(answer).bilheteId == ticket()["bilheteId"]


@pytest.mark.parametrize(
    "instant",
    ["2022-07-10T09:00:00", "2022-07-10T01:00:00Z", "2022-07-10 09:00:00+08:00", "1657414800"],
    ids=["no offset", "UTC", "space separator", "epoch"],
)
async def test_an_instant_not_at_plus_eight_breaks_the_contract(
    client: MacaoClient, instant: str
) -> None:
    answer = {"documento": {"tipo": "MACAO_ID", "numero": "12345678"}, "cor": "verde",
              "actualizadoEm": instant}  # fmt: skip
    with pytest.raises(SourceContractError):
        client.validate(CodigoSaude, answer, route=CODE_ROUTE)


# --- reading codes ----------------------------------------------------------------------------


async def test_a_macao_residents_code_is_the_worlds_record(
    client: MacaoClient, world: World
) -> None:
    doc = macao_residents(world, 1)[0]
    person = world.person(doc)
    assert person is not None
    assert await client.health_code(doc) == person.macao.health_code


async def test_a_home_return_permit_holders_code_keeps_its_instant(client: MacaoClient) -> None:
    code = await client.health_code(PERMIT)
    assert code == PERMIT_CODE  # same instant, though written in UTC and served at +08:00
    assert code is not None and code.updated_at.utcoffset() == timedelta(hours=8)


async def test_a_permit_number_with_its_issue_count_names_the_same_person(
    client: MacaoClient,
) -> None:
    assert await client.health_code(DocumentRef(PERMIT.type, PERMIT.number + "01")) == PERMIT_CODE


@pytest.mark.parametrize(
    ("wire", "hub"), [("verde", "GREEN"), ("amarelo", "YELLOW"), ("vermelho", "RED")]
)
async def test_portuguese_colours_translate_to_hub_colours_and_back(
    client: MacaoClient, wire: str, hub: str
) -> None:
    doc = COLOURED[hub]
    code = MacaoCode(hub, NOW)
    assert code_to_wire(doc, code)["cor"] == wire
    assert code_from_wire(CodigoSaude.model_validate(code_to_wire(doc, code))) == code
    served = await client.health_code(doc)
    assert served is not None and served.colour == hub


async def test_a_person_unknown_to_the_world_has_no_record(client: MacaoClient) -> None:
    assert await client.health_code(UNKNOWN) is None
    assert await client.health_code(NO_CODE) is None


@pytest.mark.parametrize(
    "doc",
    [
        DocumentRef("RESIDENT_ID", "440304199003075011"),
        DocumentRef("HKID", "A1234563"),
        DocumentRef("PASSPORT", "GBR:123456789"),
    ],
    ids=lambda d: d.type,
)
async def test_a_document_type_macao_does_not_know_is_none_without_a_request(
    client: MacaoClient, sim: MacaoSimulator, doc: DocumentRef
) -> None:
    assert await client.health_code(doc) is None
    assert await client.health_codes([doc, doc]) == {doc: None}
    assert sum(sim.counters.values()) == 0


async def test_health_codes_answers_every_document_with_one_request_per_distinct_one(
    client: MacaoClient, sim: MacaoSimulator, world: World
) -> None:
    residents = macao_residents(world, 12)
    resident_id = DocumentRef("RESIDENT_ID", "440304199003075011")
    asked = [*residents, *residents[:5], UNKNOWN, PERMIT, resident_id]
    codes = await client.health_codes(asked)
    assert set(codes) == set(asked)
    for doc in residents:
        person = world.person(doc)
        assert person is not None and codes[doc] == person.macao.health_code
    assert codes[UNKNOWN] is None and codes[resident_id] is None and codes[PERMIT] == PERMIT_CODE
    # no batch endpoint: one request per distinct Macao document (batch limit 1)
    assert sim.counters[f"GET {CODE_PATH}/{{tipo}}/{{numero}}"] == math.ceil(14 / 1)


async def test_health_codes_of_nobody_is_an_empty_answer(
    client: MacaoClient, sim: MacaoSimulator
) -> None:
    assert await client.health_codes([]) == {}
    assert sum(sim.counters.values()) == 0


async def test_the_simulator_has_no_batch_endpoint(server: SimulatorServer) -> None:
    documents = [
        {"tipo": "MACAO_ID", "numero": "10000001"},
        {"tipo": "MACAO_ID", "numero": "10000002"},
    ]
    status, _ = await raw(server, "POST", CODE_PATH, body=documents)
    assert status in (404, 405)


async def test_twenty_documents_with_max_concurrency_three_keep_at_most_three_in_flight(
    server: SimulatorServer, sim: MacaoSimulator, world: World
) -> None:
    server.set_faults(latency_ms=60)
    docs = macao_residents(world, 20)
    async with MacaoClient(config(server, max_concurrency=3, total_timeout=2.0)) as client:
        codes = await client.health_codes(docs)
    assert all(code is not None for code in codes.values())
    assert sim.max_in_flight == 3
    assert sum(sim.counters.values()) == 20


async def test_without_a_tight_bound_more_requests_overlap(
    server: SimulatorServer, sim: MacaoSimulator, world: World
) -> None:
    # the gauge really measures overlap: the default bound of 8 lets more than 3 through
    server.set_faults(latency_ms=60)
    async with MacaoClient(config(server, total_timeout=2.0)) as client:
        await client.health_codes(macao_residents(world, 20))
    assert 3 < sim.max_in_flight <= 8


# --- auth -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["", "not-the-key", "dev-macao-key-2"], ids=["missing", "wrong", "longer"]
)
async def test_a_missing_or_wrong_api_key_is_rejected(server: SimulatorServer, key: str) -> None:
    async with MacaoClient(config(server, api_key=key)) as client:
        with pytest.raises(SourceRejected) as caught:
            await client.health_code(COLOURED["GREEN"])
        assert caught.value.code == "CHAVE_INVALIDA"
        with pytest.raises(SourceRejected):
            await client.deliver_ticket(ticket())


def test_the_api_key_is_not_in_the_configs_repr(server: SimulatorServer) -> None:
    assert KEY not in repr(config(server))


# --- transfer tickets -------------------------------------------------------------------------


async def test_a_ticket_delivered_twice_is_stored_once(
    client: MacaoClient, sim: MacaoSimulator
) -> None:
    model = TransferTicket.model_validate(ticket())
    first = await client.deliver_ticket(model)
    again = await client.deliver_ticket(ticket())  # the same ticket, as a dict
    assert first.new and not again.new
    assert first.ticket_id == again.ticket_id == model.bilheteId
    assert first.received_at == again.received_at
    assert sim.tickets == {model.bilheteId: model}


async def test_a_ticket_built_in_python_is_sent_in_the_wire_format(
    client: MacaoClient, sim: MacaoSimulator
) -> None:
    model = TransferTicket(
        bilheteId="GD-TKT-PY-1",
        documento={"tipo": "HOME_RETURN_PERMIT", "numero": PERMIT.number},  # type: ignore[arg-type]
        elegivel=False,
        dataTesteNAT=None,
        emitidoEm=datetime(2022, 7, 10, 0, 30, tzinfo=UTC),
        expiraEm=datetime(2022, 7, 11, 0, 30, tzinfo=UTC),
        assinatura="ab" * 32,
    )
    assert model.model_dump(mode="json")["emitidoEm"] == "2022-07-10T08:30:00+08:00"
    receipt = await client.deliver_ticket(model)
    assert receipt.new
    assert sim.tickets["GD-TKT-PY-1"] == model


@pytest.mark.parametrize(
    "bad",
    [
        ticket(assinatura=None),
        ticket(elegivel="sim"),
        ticket(dataTesteNAT="09/07/2022"),
        ticket(emitidoEm="2022-07-10T08:30:00"),
        ticket(expiraEm="2022-07-09T08:30:00+08:00"),
        ticket(documento={"tipo": "RESIDENT_ID", "numero": "440304199003075011"}),
        ticket(bilheteId=""),
    ],
    ids=["no signature", "eligible not a boolean", "date not ISO", "instant without offset",
         "expires before issue", "unsupported document", "empty id"],
)  # fmt: skip
async def test_a_malformed_ticket_is_refused(
    client: MacaoClient, sim: MacaoSimulator, bad: dict[str, Any]
) -> None:
    with pytest.raises(SourceRejected) as caught:
        await client.deliver_ticket(bad)
    assert caught.value.code == "BILHETE_INVALIDO"
    assert sim.tickets == {}


async def test_a_ticket_that_is_not_json_is_refused_before_sending(
    client: MacaoClient, sim: MacaoSimulator
) -> None:
    with pytest.raises(SourceRejected):
        await client.deliver_ticket(ticket(elegivel=object()))
    assert sum(sim.counters.values()) == 0


async def test_a_known_ticket_id_with_other_content_is_refused(
    client: MacaoClient, sim: MacaoSimulator
) -> None:
    await client.deliver_ticket(ticket())
    with pytest.raises(SourceRejected) as caught:
        await client.deliver_ticket(ticket(elegivel=False))
    assert caught.value.code == "BILHETE_DIVERGENTE"
    assert sim.tickets[ticket()["bilheteId"]].elegivel is True


async def test_admin_reset_forgets_the_received_tickets(
    server: SimulatorServer, client: MacaoClient, sim: MacaoSimulator
) -> None:
    await client.deliver_ticket(ticket())
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{server.admin_url}/_admin/reset") as response:
            assert response.status == 204
    assert sim.tickets == {}


# --- failures ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "faults",
    [
        {"outage": "503"},
        {"outage": "refuse"},
        {"hang": True},
        {"error_rate": 1.0},
        {"latency_ms": 1500},
        {"trickle_ms": 300},
    ],
    ids=["outage 503", "connection refused", "hang", "internal errors", "latency above timeout",
         "trickling body"],
)  # fmt: skip
async def test_a_source_that_does_not_answer_is_unavailable(
    server: SimulatorServer, client: MacaoClient, faults: dict[str, Any]
) -> None:
    server.set_faults(**faults)
    with pytest.raises(SourceUnavailable):
        await client.health_code(COLOURED["GREEN"])
    with pytest.raises(SourceUnavailable):
        await client.deliver_ticket(ticket())


async def test_a_rate_limit_is_unavailable_with_its_retry_after(
    server: SimulatorServer, client: MacaoClient
) -> None:
    server.set_faults(rate_limit_rate=1.0, retry_after_s=7)
    with pytest.raises(SourceUnavailable) as caught:
        await client.health_code(COLOURED["GREEN"])
    assert caught.value.retry_after == 7


async def test_a_call_timeout_narrows_the_session_timeout(
    server: SimulatorServer, world: World
) -> None:
    server.set_faults(latency_ms=400)
    async with MacaoClient(config(server, total_timeout=3.0)) as client:
        with pytest.raises(SourceUnavailable):
            await client.health_code(COLOURED["GREEN"], timeout=0.1)
        with pytest.raises(SourceUnavailable):
            await client.health_codes(macao_residents(world, 5), timeout=0.1)


@pytest.mark.parametrize("mode", ["truncated", "shape"])
async def test_a_malformed_answer_breaks_the_contract(
    server: SimulatorServer, client: MacaoClient, mode: str
) -> None:
    server.set_faults(malformed=mode)
    with pytest.raises(SourceContractError):
        await client.health_code(COLOURED["GREEN"])
    with pytest.raises(SourceContractError):
        await client.health_code(UNKNOWN)  # a garbled 404 is not "no record"
    with pytest.raises(SourceContractError):
        await client.deliver_ticket(ticket())


async def test_a_per_subject_outage_is_unavailable_and_names_no_document(
    client: MacaoClient, world: World
) -> None:
    with pytest.raises(SourceUnavailable) as caught:
        await client.health_code(IN_OUTAGE)
    assert IN_OUTAGE.number not in str(caught.value)
    with pytest.raises(SourceUnavailable):
        await client.health_codes([*macao_residents(world, 5), IN_OUTAGE])
    with pytest.raises(SourceUnavailable):
        await client.deliver_ticket(
            ticket(documento={"tipo": "MACAO_ID", "numero": IN_OUTAGE.number})
        )


async def test_a_failure_in_health_codes_cancels_the_requests_not_yet_sent(
    server: SimulatorServer, sim: MacaoSimulator, world: World
) -> None:
    server.set_faults(latency_ms=60)
    docs = [IN_OUTAGE, *macao_residents(world, 19)]
    async with MacaoClient(config(server, max_concurrency=3, total_timeout=2.0)) as client:
        with pytest.raises(SourceUnavailable):
            await client.health_codes(docs)
    assert sum(sim.counters.values()) < 10  # not all 20: the rest were cancelled


async def test_a_malformed_number_is_rejected_and_names_no_document(client: MacaoClient) -> None:
    with pytest.raises(SourceRejected) as caught:
        await client.health_code(DocumentRef("MACAO_ID", "2000000"))
    assert caught.value.code == "NUMERO_INVALIDO"
    assert "2000000" not in str(caught.value)


# --- the admin routes -------------------------------------------------------------------------


async def test_faults_set_through_the_admin_route_reach_the_client(
    server: SimulatorServer, client: MacaoClient
) -> None:
    await client.health_code(COLOURED["GREEN"])
    await client.deliver_ticket(ticket())
    async with aiohttp.ClientSession() as session:
        async with session.put(f"{server.admin_url}/_admin/faults", json={"outage": "503"}) as r:
            assert r.status == 200
        with pytest.raises(SourceUnavailable):
            await client.health_code(COLOURED["GREEN"])
        async with session.get(f"{server.admin_url}/_admin/counters") as r:
            counters = await r.json()
    assert counters == {f"GET {CODE_PATH}/{{tipo}}/{{numero}}": 2, f"POST {TICKET_PATH}": 1}


def test_the_ticket_sample_dates_are_dates() -> None:
    model = BilheteTransferencia.model_validate(ticket())
    assert model.dataTesteNAT == date(2022, 7, 9)
    assert model.emitidoEm == datetime(2022, 7, 10, 8, 30, tzinfo=CST)
