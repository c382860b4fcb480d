"""What the hub itself records: judgements, code transfers, driver declarations, venue scans.
Each under an idempotency key; each refusal clear, and writing nothing but the audit record."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from connectors.records import DocumentRef, HongKongCode, HongKongFacts, Identity, Person
from connectors.world import World, hkid_check
from hub.demo import colour_of, eligible_for
from hub.dev_identity import DevIdentity
from hub.domain.documents import Document, DocumentType, parse_document
from hub.domain.instants import CST
from hub.domain.policy import PolicyBook
from hub.persisted import PersistedOperations
from hub.signing import Signer
from tests.databases import run_sql
from tests.hub.conftest import Hub

OPS = PersistedOperations.from_dir().by_name
BOOK = PolicyBook.default()
FLAGGED = {"type": "RESIDENT_ID", "number": "440304199003071221"}  # scenario 22: a red flag F1


def now() -> datetime:
    return datetime.now(UTC)


def key() -> str:
    return uuid.uuid4().hex


def persisted(name: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": OPS[name].sha256}},
            "variables": variables or {}}  # fmt: skip


def citizen(identity: DevIdentity, doc: DocumentRef) -> dict[str, str]:
    """A citizen's headers: a token the identity provider signed for their document."""
    document = parse_document(doc.type, doc.number, today=now().date())
    return {"Authorization": f"Bearer {identity.citizen_token(document, now=now())}"}


def find(
    world: World, test: Any, kinds: tuple[str, ...] = ("MACAO_ID",), skip: int = 0
) -> DocumentRef:
    found = 0
    for index in range(world.size):
        doc = world.document(index)
        if doc.type in kinds and test(doc):
            if found == skip:
                return doc
            found += 1
    raise LookupError("no such person in the test world")


def count(hub: Hub, table: str) -> int:
    return int(
        run_sql(hub.app.state.settings.database_url, f"SELECT count(*) AS n FROM {table}")[0]["n"]
    )


async def until(condition: Any, seconds: float = 10.0) -> None:
    """Poll a condition (deliveries happen in the background)."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


# --- judgements ------------------------------------------------------------------------------

JUDGE = "mutation($i: DismissalInput!) { dismissReason(input: $i) { id action rule fact } }"
ASSIGN = "mutation($i: JudgementInput!) { recordJudgement(input: $i) { id action colour until } }"


async def test_a_judge_dismisses_a_cross_province_flag_and_the_code_follows(hub: Hub) -> None:
    judge = hub.identity.headers("judge-0001", purpose="red code review")
    colour = "query($d: DocumentInput!) { citizen(document: $d) { healthCode { colour reasons { rule } } } }"
    before = await hub.query(colour, {"d": FLAGGED}, judge)
    assert before["data"]["citizen"]["healthCode"]["colour"] == "RED"
    dismissal = {"idempotencyKey": key(), "document": FLAGGED, "rule": "CROSS_PROVINCE_FLAG",
                 "fact": "F1", "reason": "no epidemiological link found"}  # fmt: skip
    first = await hub.query(JUDGE, {"i": dismissal}, judge)
    again = await hub.query(JUDGE, {"i": dismissal}, judge)
    assert first == again and first["data"]["dismissReason"]["action"] == "DISMISS"
    after = await hub.query(colour, {"d": FLAGGED}, judge)
    assert after["data"]["citizen"]["healthCode"]["colour"] == "GREEN"


async def test_a_case_cannot_be_dismissed_and_nothing_is_written(hub: Hub) -> None:
    judge = hub.identity.headers("judge-0001", purpose="red code review")
    rows = count(hub, "judgements")
    result = await hub.query(JUDGE, {"i": {"idempotencyKey": key(), "document": FLAGGED,
                                           "rule": "CASE_ACTIVE", "fact": "C1",
                                           "reason": "asked by the person"}}, judge)  # fmt: skip
    assert result["errors"][0]["extensions"]["code"] == "NOT_DISMISSABLE"
    assert "cases" in result["errors"][0]["message"]
    assert count(hub, "judgements") == rows


async def test_an_idempotency_key_cannot_be_reused_for_another_request(
    hub: Hub, world: World
) -> None:
    judge = hub.identity.headers("judge-0001", purpose="red code review")
    person = world.document(41)
    same_key = key()
    one = {"idempotencyKey": same_key, "document": {"type": person.type, "number": person.number},
           "colour": "YELLOW", "reason": "awaiting a second test", "until": (now() + timedelta(days=1)).isoformat()}  # fmt: skip
    first = await hub.query(ASSIGN, {"i": one}, judge)
    assert first["data"]["recordJudgement"]["colour"] == "YELLOW"
    other = one | {"colour": "RED"}
    refused = await hub.query(ASSIGN, {"i": other}, judge)
    assert refused["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_REUSED"


async def test_only_judges_record_judgements(hub: Hub) -> None:
    result = await hub.query(ASSIGN, {"i": {"idempotencyKey": key(), "document": FLAGGED, "colour": "RED",
                                            "reason": "just because"}})  # fmt: skip
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# --- code transfers ---------------------------------------------------------------------------


def macao_resident(world: World, eligible: bool, skip: int = 0) -> DocumentRef:
    at = now()
    return find(world, lambda d: eligible_for(world, d, at, BOOK, "MACAO") is eligible, skip=skip)


def transfer(
    destination: str = "MACAO", consent: bool = True, idempotency: str | None = None
) -> dict[str, Any]:
    return persisted("RequestCodeTransfer", {"input": {"idempotencyKey": idempotency or key(),
                                                       "destination": destination, "consent": consent}})  # fmt: skip


async def test_an_eligible_citizen_carries_the_code_to_macao_once_per_key(
    hub: Hub, world: World
) -> None:
    person = macao_resident(world, eligible=True)
    macao = hub.sandbox.macao.simulator
    body = transfer()
    status, first = await hub.post(body, citizen(hub.identity, person))
    status_again, again = await hub.post(body, citizen(hub.identity, person))
    assert status == status_again == 200 and first == again, first
    ticket = first["data"]["requestCodeTransfer"]
    assert (
        ticket["eligible"] is True and ticket["natDate"] and ticket["status"] == "PENDING_DELIVERY"
    )
    await until(lambda: ticket["id"] in macao.tickets)
    sent = macao.tickets[ticket["id"]]
    assert (
        sent.documento.numero == person.number
        and sent.dataTesteNAT.isoformat() == ticket["natDate"]
    )
    # only the recognition answer and the NAT date travel, signed by the hub's published key
    assert set(sent.model_dump()) == {"bilheteId", "documento", "elegivel", "dataTesteNAT",
                                      "emitidoEm", "expiraEm", "assinatura"}  # fmt: skip
    async with hub.session.get(f"{hub.url}/.well-known/jwks.json") as reply:
        jwk = (await reply.json())["keys"][0]
    public = jwt.algorithms.ECAlgorithm.from_jwk(json.dumps(jwk))
    signed = jwt.api_jws.decode(sent.assinatura, public, algorithms=["ES256"])
    assert json.loads(signed)["bilheteId"] == ticket["id"]
    await until(lambda: run_sql(hub.app.state.settings.database_url,
                                f"SELECT status FROM transfer_tickets WHERE id = '{ticket['id']}'")[0]["status"] == "DELIVERED")  # fmt: skip
    _, listed = await hub.post(persisted("TransferTickets"), citizen(hub.identity, person))
    assert {"id": ticket["id"], "status": "DELIVERED"}.items() <= listed["data"]["me"][
        "transferTickets"
    ][0].items()


@pytest.mark.parametrize(
    ("who", "change", "code"),
    [
        ("ineligible", {}, "NOT_ELIGIBLE"),
        ("eligible", {"consent": False}, "CONSENT_REQUIRED"),
        ("mainland", {}, "DOCUMENT_NOT_RECOGNISED"),
    ],
    ids=["a person who is not eligible is told why", "no consent, no ticket",
         "Macao does not know a mainland resident ID"],
)  # fmt: skip
async def test_a_refused_transfer_writes_nothing(
    hub: Hub, world: World, who: str, change: dict[str, Any], code: str
) -> None:
    person = (world.document(5) if who == "mainland"
              else macao_resident(world, eligible=who == "eligible"))  # fmt: skip
    before = (count(hub, "transfer_tickets"), count(hub, "outbox"), count(hub, "idempotency_keys"))
    status, body = await hub.post(transfer(**change), citizen(hub.identity, person))
    error = body["errors"][0]
    assert status == 200 and error["extensions"]["code"] == code and error["message"]
    if code == "NOT_ELIGIBLE":
        assert set(error["extensions"]["reasons"]) <= {
            "NOT_GREEN",
            "NO_VALID_NAT",
            "RECENT_OVERSEAS_ENTRY",
        }
    assert (
        count(hub, "transfer_tickets"),
        count(hub, "outbox"),
        count(hub, "idempotency_keys"),
    ) == before


async def test_with_macao_down_a_transfer_waits_and_is_delivered_once_when_it_returns(
    hub: Hub, world: World
) -> None:
    person = macao_resident(world, eligible=True, skip=1)
    macao = hub.sandbox.macao
    macao.set_faults(outage="refuse")
    try:
        status, body = await hub.post(transfer(), citizen(hub.identity, person))
        ticket = body["data"]["requestCodeTransfer"]
        assert status == 200 and ticket["status"] == "PENDING_DELIVERY"
        await asyncio.sleep(0.5)
        assert ticket["id"] not in macao.simulator.tickets
    finally:
        macao.clear_faults()
    hub.app.state.outbox.wake()
    await until(lambda: ticket["id"] in macao.simulator.tickets, seconds=20)
    rows = run_sql(hub.app.state.settings.database_url,
                   f"SELECT status, attempts FROM outbox WHERE record_id = '{ticket['id']}'")  # fmt: skip
    await until(lambda: run_sql(hub.app.state.settings.database_url,
                                f"SELECT status FROM outbox WHERE record_id = '{ticket['id']}'")[0]["status"] == "delivered")  # fmt: skip
    assert len(rows) == 1


# --- driver declarations ----------------------------------------------------------------------


def driver(world: World, status: str | None) -> DocumentRef:
    def matches(doc: DocumentRef) -> bool:
        person = world.person(doc)
        return person is not None and person.hongkong.driver_status == status

    return find(world, matches, kinds=("HKID",))


def declaration(plate: str = "ZG0001", entry: datetime | None = None) -> dict[str, Any]:
    planned = (entry or now() + timedelta(hours=3)).isoformat()
    return persisted("DeclareCrossBorderTrip", {"input": {"idempotencyKey": key(), "plate": plate,
                                                          "port": "SHENZHEN_BAY", "plannedEntryAt": planned,
                                                          "lodging": "Shenzhen"}})  # fmt: skip


async def test_an_active_driver_declares_an_entry_and_it_is_forwarded(
    hub: Hub, world: World
) -> None:
    person = driver(world, "ACTIVE")
    status, body = await hub.post(declaration(plate="ZG7001"), citizen(hub.identity, person))
    assert status == 200 and "errors" not in body, body
    declared = body["data"]["declareCrossBorderTrip"]
    hk = hub.sandbox.hongkong.simulator
    await until(lambda: declared["id"] in hk.submissions)
    again_status, again = await hub.post(declaration(plate="ZG7001"), citizen(hub.identity, person))
    assert again["errors"][0]["extensions"]["code"] == "DUPLICATE_DECLARATION"


@pytest.mark.parametrize(("status", "code"), [("SUSPENDED", "DRIVER_NOT_ACTIVE"), (None, "NOT_A_DRIVER")],
                         ids=["a suspended driver is refused with the reason", "a person who is no driver is refused"])  # fmt: skip
async def test_drivers_off_the_exemption_list_cannot_declare(
    hub: Hub, world: World, status: str | None, code: str
) -> None:
    person = driver(world, status)
    before = count(hub, "driver_declarations")
    _, body = await hub.post(declaration(), citizen(hub.identity, person))
    error = body["errors"][0]
    assert error["extensions"]["code"] == code
    if status:
        assert error["extensions"]["status"] == status and "suspended" in error["message"]
    assert count(hub, "driver_declarations") == before


# --- venue scans and code tokens --------------------------------------------------------------


def scan(token: str, venue: str = "V440304-0001") -> dict[str, Any]:
    return persisted(
        "ScanCode", {"input": {"idempotencyKey": key(), "token": token, "venueCode": venue}}
    )


async def test_a_venue_scans_a_citizens_code_and_the_visit_reaches_the_province(
    hub: Hub, world: World
) -> None:
    person = world.document(7)
    _, code = await hub.post(persisted("CitizenCode"), citizen(hub.identity, person))
    token = code["data"]["me"]["scanToken"]["token"]
    status, body = await hub.post(scan(token), hub.identity.headers("venue-0001"))
    assert status == 200 and "errors" not in body, body
    seen = body["data"]["scanCode"]
    assert seen["colour"] == colour_of(world, person, now(), BOOK)
    name = world.person(person).identity.name  # type: ignore[union-attr]
    assert seen["name"] != name and "*" in seen["name"]
    provincial = hub.sandbox.provincial.simulator
    await until(lambda: any(s.doc_no == person.number for s in provincial.venue_scans.values()))


async def test_expired_and_forged_codes_are_refused(hub: Hub, world: World) -> None:
    person = world.document(8)
    venue = hub.identity.headers("venue-0001")
    settings = hub.app.state.settings
    signer = Signer.from_settings(None, settings.subject_key_secret.get_secret_value().encode())
    document = Document(DocumentType(person.type), person.number)
    old = signer.code_token(document, now() - timedelta(minutes=10), timedelta(minutes=2))
    forged = Signer.from_settings(None, b"another hub's secret").code_token(
        document, now(), timedelta(minutes=2)
    )
    before = count(hub, "venue_scans")
    _, expired = await hub.post(scan(old.token), venue)
    _, fake = await hub.post(scan(forged.token), venue)
    assert expired["errors"][0]["extensions"]["code"] == "TOKEN_EXPIRED"
    assert fake["errors"][0]["extensions"]["code"] == "TOKEN_INVALID"
    assert count(hub, "venue_scans") == before


async def test_a_citizen_cannot_scan_codes(hub: Hub, world: World) -> None:
    person = world.document(9)
    status, body = await hub.post(scan("anything"), citizen(hub.identity, person))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_hong_kong_resident_with_a_current_green_code_carries_it_into_guangdong(
    hub: Hub, world: World
) -> None:
    # A resident whose code was issued a moment ago. Not one of the generated people: their
    # codes were issued up to 8 hours before the world's hour, so in the first hour of a day
    # (China time) none of them is today's, and the test failed when run then.
    doc = DocumentRef("HKID", "ZZ123456" + hkid_check("ZZ", "123456"))
    code = HongKongCode("GREEN", now().astimezone(CST) - timedelta(seconds=1))
    world.put_person(Person(Identity(doc, "Chan Siu Ling"), hongkong=HongKongFacts(code)))
    try:
        status, body = await hub.post(transfer(destination="GUANGDONG"), citizen(hub.identity, doc))
    finally:
        world.reset()
    assert status == 200 and "errors" not in body, body
    ticket = body["data"]["requestCodeTransfer"]
    assert ticket["destination"] == "GUANGDONG" and ticket["status"] == "DELIVERED"


async def test_a_mainland_resident_has_no_partner_code_to_carry_into_guangdong(
    hub: Hub, world: World
) -> None:
    _, body = await hub.post(
        transfer(destination="GUANGDONG"), citizen(hub.identity, world.document(5))
    )
    assert body["errors"][0]["extensions"]["code"] == "DOCUMENT_NOT_RECOGNISED"
