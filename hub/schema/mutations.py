"""Mutations: what the hub itself records. Each takes a client-supplied idempotency key; a repeat
returns the first answer; a refusal carries a code and a message, and writes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from graphql import GraphQLError

from connectors.records import DocumentRef
from hub.domain.documents import mask_name
from hub.domain.vocabulary import Colour as DomainColour
from hub.idempotency import IdempotencyRefused
from hub.outbox import delivery
from hub.schema.citizen import Info
from hub.schema.query import parse_input
from hub.schema.records import Colour, DocumentInput, cst, cst_or_none
from hub.writes import Refused


@strawberry.enum(description="Where a code transfer carries the code")
class TransferDestination(Enum):
    MACAO = "MACAO"
    GUANGDONG = "GUANGDONG"


@strawberry.input
class JudgementInput:
    idempotency_key: str
    document: DocumentInput
    colour: Colour  # type: ignore[valid-type]
    reason: str
    until: datetime | None = None


@strawberry.input
class DismissalInput:
    idempotency_key: str
    document: DocumentInput
    rule: str = strawberry.field(description="the rule id of the reason dismissed")
    fact: str = strawberry.field(description="the id of the fact the reason rests on")
    reason: str


@strawberry.type(description="A judgement recorded by an official")
class JudgementRecord:
    id: str
    action: str
    colour: Colour | None  # type: ignore[valid-type]
    until: datetime | None
    rule: str | None
    fact: str | None
    reason: str
    assigned_at: datetime


@strawberry.input
class CodeTransferInput:
    idempotency_key: str
    destination: TransferDestination
    consent: bool = strawberry.field(description="the citizen agrees to share the answer")


@strawberry.type(description="A code transfer ticket: the recognition answer and the NAT date")
class TransferTicket:
    id: str
    destination: str
    eligible: bool
    nat_date: str | None
    issued_at: datetime
    expires_at: datetime
    status: str = strawberry.field(description="PENDING_DELIVERY, DELIVERED or FAILED")


@strawberry.input
class TripDeclarationInput:
    idempotency_key: str
    plate: str
    port: str
    planned_entry_at: datetime
    lodging: str | None = None


@strawberry.type(description="A cross-border driver's declaration, valid for one entry")
class TripDeclaration:
    id: str
    plate: str
    port: str
    planned_entry_at: datetime
    status: str


@strawberry.input
class ScanInput:
    idempotency_key: str
    token: str = strawberry.field(description="what the citizen's QR code carries")
    venue_code: str


@strawberry.type(description="What a venue scanner sees")
class ScanResult:
    colour: Colour  # type: ignore[valid-type]
    name: str | None
    scanned_at: datetime


async def idempotent(
    info: Info,
    operation: str,
    key: str,
    request: dict[str, Any],
    work: Callable[[], Awaitable[tuple[dict[str, Any], list[Any]]]],
) -> dict[str, Any]:
    """Run `work` once per idempotency key; store its rows and answer together."""
    context = info.context
    writes = context.writes
    assert writes is not None and context.idempotency is not None
    try:
        claim = await context.idempotency.claim(
            context.caller.id, key, operation, request, context.loaders.deadline
        )
    except IdempotencyRefused as exc:
        raise GraphQLError(str(exc), extensions={"code": exc.code}) from exc
    if claim.answer is not None:
        return claim.answer
    try:
        answer, rows = await work()
    except Refused as refused:
        await context.idempotency.release(claim)
        raise GraphQLError(
            str(refused), extensions={"code": refused.code, **refused.details}
        ) from refused
    except BaseException:
        await context.idempotency.release(claim)
        raise
    await context.idempotency.complete(claim, answer, rows)
    writes.outbox.wake()
    return answer


def _when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Judges: assign a colour to a person, with a reason")
    async def record_judgement(self, info: Info, input: JudgementInput) -> JudgementRecord:
        return await _judgement(
            info,
            input.idempotency_key,
            input.document,
            input.reason,
            colour=str(input.colour.value),  # type: ignore[attr-defined]
            until=input.until,
            rule=None,
            fact=None,
        )

    @strawberry.mutation(description="Judges: dismiss one reason (flag, key site, fever clinic)")
    async def dismiss_reason(self, info: Info, input: DismissalInput) -> JudgementRecord:
        return await _judgement(
            info,
            input.idempotency_key,
            input.document,
            input.reason,
            colour=None,
            until=None,
            rule=input.rule,
            fact=input.fact,
        )

    @strawberry.mutation(description="Citizens: carry the code to Macao, or into Guangdong")
    async def request_code_transfer(self, info: Info, input: CodeTransferInput) -> TransferTicket:
        context = info.context
        document = _own_document(info, "requestCodeTransfer")
        now = context.now()

        async def work() -> tuple[dict[str, Any], list[Any]]:
            assert context.writes is not None
            row, wire = await context.writes.transfer(
                context.loaders, document, input.destination.value, input.consent, now
            )
            rows: list[Any] = [row]
            if wire is not None:
                rows.append(delivery("macao_ticket", row.id, wire, now))
            return _ticket_answer(row), rows

        request = {"destination": input.destination.value, "consent": input.consent}
        answer = await idempotent(info, "requestCodeTransfer", input.idempotency_key, request, work)
        return _ticket(answer)

    @strawberry.mutation(description="Cross-border drivers: declare one entry into Guangdong")
    async def declare_cross_border_trip(
        self, info: Info, input: TripDeclarationInput
    ) -> TripDeclaration:
        context = info.context
        document = _own_document(info, "declareCrossBorderTrip")
        now = context.now()

        async def work() -> tuple[dict[str, Any], list[Any]]:
            assert context.writes is not None
            row, payload = await context.writes.declaration(
                context.loaders,
                document,
                plate=input.plate,
                port=input.port,
                planned_entry_at=input.planned_entry_at,
                lodging=input.lodging,
                now=now,
            )
            answer = {
                "id": row.id,
                "plate": row.plate,
                "port": row.port,
                "planned_entry_at": row.planned_entry_at.isoformat(),
                "status": row.status,
            }
            return answer, [row, delivery("hongkong_declaration", row.id, payload, now)]

        request = {
            "plate": input.plate,
            "port": input.port,
            "lodging": input.lodging,
            "planned_entry_at": input.planned_entry_at.isoformat(),
        }
        answer = await idempotent(
            info, "declareCrossBorderTrip", input.idempotency_key, request, work
        )
        return TripDeclaration(
            id=answer["id"],
            plate=answer["plate"],
            port=answer["port"],
            planned_entry_at=cst(datetime.fromisoformat(answer["planned_entry_at"])),
            status=answer["status"],
        )

    @strawberry.mutation(description="Venues: verify a citizen's code token and record the visit")
    async def scan_code(self, info: Info, input: ScanInput) -> ScanResult:
        context = info.context
        now = context.now()

        async def work() -> tuple[dict[str, Any], list[Any]]:
            assert context.writes is not None
            row, payload, document, colour = await context.writes.scan(
                context.loaders, input.token, input.venue_code, now
            )
            ref = DocumentRef(document.type.value, document.number)
            context.record_access(
                row.subject_key, str(info.path.key), ("scanCode.colour", "scanCode.name")
            )
            identity = (await context.loaders.identity.load(ref)).value
            name = None if identity is None else mask_name(identity.name)
            answer = {"colour": colour, "name": name, "scanned_at": now.isoformat()}
            return answer, [row, delivery("provincial_scan", row.id, payload, now)]

        request = {"token": input.token, "venue": input.venue_code}
        answer = await idempotent(info, "scanCode", input.idempotency_key, request, work)
        return ScanResult(
            colour=DomainColour(answer["colour"]),
            name=answer["name"],
            scanned_at=cst(datetime.fromisoformat(answer["scanned_at"])),
        )


def _own_document(info: Info, operation: str) -> Any:
    """The signed-in citizen's own document; the access to their data is recorded."""
    context = info.context
    document = context.caller.document
    if document is None:
        raise GraphQLError(
            "only a signed-in citizen can ask this", extensions={"code": "FORBIDDEN"}
        )
    subject = context.loaders.subject_key(DocumentRef(document.type.value, document.number))
    context.record_access(subject, str(info.path.key), (operation,))
    return document


def _ticket_answer(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "destination": row.destination,
        "eligible": row.eligible,
        "nat_date": row.nat_date,
        "issued_at": row.issued_at.isoformat(),
        "expires_at": row.expires_at.isoformat(),
        "status": row.status,
    }


def _ticket(answer: dict[str, Any]) -> TransferTicket:
    return TransferTicket(
        id=answer["id"],
        destination=answer["destination"],
        eligible=answer["eligible"],
        nat_date=answer["nat_date"],
        issued_at=cst(datetime.fromisoformat(answer["issued_at"])),
        expires_at=cst(datetime.fromisoformat(answer["expires_at"])),
        status=answer["status"],
    )


async def _judgement(
    info: Info,
    key: str,
    document: DocumentInput,
    reason: str,
    *,
    colour: str | None,
    until: datetime | None,
    rule: str | None,
    fact: str | None,
) -> JudgementRecord:
    context = info.context
    doc = parse_input(info, document)
    subject = context.loaders.subject_key(DocumentRef(doc.type.value, doc.number))
    operation = "dismissReason" if rule else "recordJudgement"
    context.record_access(subject, str(info.path.key), (operation,))
    now = context.now()
    if until is not None and until.tzinfo is None:
        raise GraphQLError("`until` needs an offset", extensions={"code": "BAD_USER_INPUT"})

    async def work() -> tuple[dict[str, Any], list[Any]]:
        assert context.writes is not None
        row = context.writes.judgement(
            subject,
            context.caller.id,
            now,
            colour=colour,
            until=until,
            rule=rule,
            fact=fact,
            reason=reason,
        )
        answer = {
            "id": row.id,
            "action": row.action,
            "colour": row.colour,
            "until": None if until is None else until.isoformat(),
            "rule": rule,
            "fact": fact,
            "reason": row.reason,
            "assigned_at": now.isoformat(),
        }
        return answer, [row]

    request = {
        "document": doc.key,
        "colour": colour,
        "rule": rule,
        "fact": fact,
        "reason": reason,
        "until": None if until is None else until.isoformat(),
    }
    answer = await idempotent(info, operation, key, request, work)
    context.loaders.forget_judgements(subject)
    return JudgementRecord(
        id=answer["id"],
        action=answer["action"],
        colour=DomainColour(answer["colour"]) if answer["colour"] else None,
        until=cst_or_none(_when(answer["until"])),
        rule=answer["rule"],
        fact=answer["fact"],
        reason=answer["reason"],
        assigned_at=cst(datetime.fromisoformat(answer["assigned_at"])),
    )
