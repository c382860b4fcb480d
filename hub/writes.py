"""What the hub itself records, as services the GraphQL mutations call: judgements, code
transfer tickets, driver declarations and venue scans.

Each runs under an idempotency key (hub/idempotency.py); a refusal raises `Refused` with a
code and words a person understands, and writes nothing (the endpoint still audits it).
Records that another system must receive go into the outbox in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col

from connectors.errors import SourceError
from connectors.records import DocumentRef
from hub.domain.documents import Document, DocumentType
from hub.domain.instants import CST
from hub.domain.policy import PolicyBook
from hub.domain.recognition import recognise
from hub.domain.rules import evaluate
from hub.domain.verdict import dismissable
from hub.domain.vocabulary import Colour, Region
from hub.loaders import Loaders
from hub.outbox import Outbox
from hub.signing import Signer
from hub.store import DriverDeclarationRow, JudgementRow, TransferTicketRow, VenueScanRow

TICKET_LIFETIME = timedelta(hours=4)
MACAO_DOCUMENTS = frozenset({DocumentType.MACAO_ID, DocumentType.HOME_RETURN_PERMIT})
HONGKONG_DOCUMENTS = frozenset({DocumentType.HKID, DocumentType.HOME_RETURN_PERMIT})


class Refused(Exception):
    """A request the hub declines: `code` for machines, the message for people."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.details = details


def ref(document: Document) -> DocumentRef:
    return DocumentRef(document.type.value, document.number)


@dataclass
class Writes:
    """The write side, built once per app; each call gets the request's loaders."""

    engine: AsyncEngine
    outbox: Outbox
    signer: Signer
    policies: PolicyBook

    def session(self) -> AsyncSession:
        return AsyncSession(self.engine, expire_on_commit=False)

    # --- judgements -----------------------------------------------------------------------

    def judgement(
        self, subject_key: str, by: str, now: datetime, *, colour: str | None,
        until: datetime | None, rule: str | None, fact: str | None, reason: str,
    ) -> JudgementRow:  # fmt: skip
        """A judgement row, after the policy's restrictions (§5)."""
        if len(reason.strip()) < 5:
            raise Refused("BAD_USER_INPUT", "a judgement needs a written reason")
        if rule is None:
            if colour not in {"GREEN", "YELLOW", "RED"}:
                raise Refused("BAD_USER_INPUT", "the colour is GREEN, YELLOW or RED")
            if until is not None and until <= now:
                raise Refused("BAD_USER_INPUT", "`until` must be after now")
            action = "ASSIGN"
        else:
            if not dismissable(rule):
                raise Refused(
                    "NOT_DISMISSABLE",
                    "only cross-province flags, key-site and fever-clinic listings can be "
                    "dismissed; cases, positive results and entries end only through new facts",
                )
            if not fact:
                raise Refused("BAD_USER_INPUT", "name the fact whose reason is dismissed")
            action = "DISMISS"
        return JudgementRow(
            id=uuid.uuid4().hex, subject_key=subject_key, action=action, colour=colour,
            until=until, target_rule=rule, target_fact=fact, reason=reason.strip(),
            assigned_at=now, by=by,
        )  # fmt: skip

    # --- code transfer tickets ------------------------------------------------------------

    async def transfer(
        self, loaders: Loaders, document: Document, destination: str, consent: bool,
        now: datetime,
    ) -> tuple[TransferTicketRow, dict[str, Any] | None]:  # fmt: skip
        """A ticket (and Macao's wire form of it, for the outbox), or Refused."""
        if not consent:
            raise Refused("CONSENT_REQUIRED", "a transfer needs the citizen's explicit consent")
        subject_key = loaders.subject_key(ref(document))
        if destination == "MACAO":
            return await self._to_macao(loaders, document, subject_key, now)
        return await self._into_guangdong(loaders, document, subject_key, now)

    async def _to_macao(
        self, loaders: Loaders, document: Document, subject_key: str, now: datetime
    ) -> tuple[TransferTicketRow, dict[str, Any]]:
        if document.type not in MACAO_DOCUMENTS:
            raise Refused(
                "DOCUMENT_NOT_RECOGNISED",
                "Macao knows people by Macao ID or Home Return Permit; sign in with one of them",
            )
        policy = self.policies.in_force(now)
        gathered = await loaders.subject_facts(ref(document))
        verdict = evaluate(gathered.facts, gathered.risk_areas, now, policy)
        answer = recognise(verdict, gathered.facts, now, policy, Region.MACAO)
        if not answer.eligible:
            reasons = [r.value for r in answer.reasons]
            raise Refused("NOT_ELIGIBLE", "the code cannot be recognised in Macao now",
                          reasons=reasons)  # fmt: skip
        assert answer.nat_sampled_at is not None  # eligible means a valid NAT
        nat_date = answer.nat_sampled_at.astimezone(CST).date().isoformat()
        ticket_id = uuid.uuid4().hex
        issued, expires = now, now + TICKET_LIFETIME
        content = {
            "bilheteId": ticket_id,
            "documento": {"tipo": document.type.value, "numero": document.number},
            "elegivel": True,
            "dataTesteNAT": nat_date,
            "emitidoEm": issued.astimezone(CST).isoformat(timespec="seconds"),
            "expiraEm": expires.astimezone(CST).isoformat(timespec="seconds"),
        }
        signature = self.signer.sign_ticket(content)
        row = TransferTicketRow(
            id=ticket_id, subject_key=subject_key, destination="MACAO", eligible=True,
            nat_date=nat_date, consented_at=now, issued_at=issued, expires_at=expires,
            signature=signature, status="PENDING_DELIVERY",
        )  # fmt: skip
        return row, content | {"assinatura": signature}

    async def _into_guangdong(
        self, loaders: Loaders, document: Document, subject_key: str, now: datetime
    ) -> tuple[TransferTicketRow, None]:
        """A Macao or Hong Kong resident carries their code into GHC: it must be green."""
        try:
            colour, fresh = await self._partner_code(loaders, document, now)
        except SourceError as exc:
            raise Refused("SOURCE_UNAVAILABLE", f"the {exc.source} system did not answer; "
                          "try again later", source=exc.source) from exc  # fmt: skip
        if not fresh or colour != Colour.GREEN.value:
            raise Refused("NOT_ELIGIBLE", "only a current green code can be carried into Guangdong",
                          reasons=["PARTNER_CODE_NOT_GREEN"])  # fmt: skip
        ticket_id = uuid.uuid4().hex
        content = {"ticket": ticket_id, "subject": subject_key, "from": document.type.value,
                   "issuedAt": now.isoformat()}  # fmt: skip
        row = TransferTicketRow(
            id=ticket_id, subject_key=subject_key, destination="GUANGDONG", eligible=True,
            nat_date=None, consented_at=now, issued_at=now, expires_at=now + TICKET_LIFETIME,
            signature=self.signer.sign_ticket(content), status="DELIVERED", delivered_at=now,
        )  # fmt: skip
        return row, None

    async def _partner_code(
        self, loaders: Loaders, document: Document, now: datetime
    ) -> tuple[str | None, bool]:
        """The colour of the person's Macao or Hong Kong code, and whether it is current."""
        if document.type in MACAO_DOCUMENTS:
            macao = (await loaders.macao_code.load(ref(document))).value
            if macao is None:
                return None, False
            return macao.colour, now - macao.updated_at < timedelta(hours=24)
        if document.type in HONGKONG_DOCUMENTS:
            hongkong = (await loaders.hongkong_code.load(ref(document))).value
            if hongkong is None:  # a Hong Kong code is valid until the next local midnight
                return None, False
            today = now.astimezone(CST).date()
            return hongkong.colour, hongkong.issued_at.astimezone(CST).date() == today
        raise Refused(
            "DOCUMENT_NOT_RECOGNISED",
            "only Macao and Hong Kong codes can be carried into Guangdong",
        )

    async def tickets_of(self, subject_key: str) -> list[TransferTicketRow]:
        async with self.session() as session:
            rows = await session.execute(
                select(TransferTicketRow)
                .where(col(TransferTicketRow.subject_key) == subject_key)
                .order_by(col(TransferTicketRow.issued_at).desc())
            )
            return list(rows.scalars())

    # --- driver declarations --------------------------------------------------------------

    async def declaration(
        self, loaders: Loaders, document: Document, *, plate: str, port: str,
        planned_entry_at: datetime, lodging: str | None, now: datetime,
    ) -> tuple[DriverDeclarationRow, dict[str, Any]]:  # fmt: skip
        if planned_entry_at.tzinfo is None:
            raise Refused("BAD_USER_INPUT", "`plannedEntryAt` needs an offset")
        if not now - timedelta(hours=1) <= planned_entry_at <= now + timedelta(days=7):
            raise Refused("BAD_USER_INPUT", "a declaration is for an entry within the next 7 days")
        if not plate.strip() or not port.strip():
            raise Refused("BAD_USER_INPUT", "a declaration names the vehicle plate and the port")
        try:
            status = await loaders.driver_status(ref(document))
        except SourceError as exc:
            raise Refused("SOURCE_UNAVAILABLE", "the Hong Kong driver system did not answer; "
                          "try again later", source=exc.source) from exc  # fmt: skip
        if status is None:
            raise Refused("NOT_A_DRIVER", "this person is not on the cross-border driver list")
        if status != "ACTIVE":
            raise Refused("DRIVER_NOT_ACTIVE",
                          f"the driver's exemption is {status.lower()}; declarations need ACTIVE",
                          status=status)  # fmt: skip
        subject_key = loaders.subject_key(ref(document))
        async with self.session() as session:
            day = planned_entry_at.astimezone(CST).date()
            earlier = await session.execute(
                select(DriverDeclarationRow).where(
                    col(DriverDeclarationRow.subject_key) == subject_key,
                    col(DriverDeclarationRow.plate) == plate.strip().upper(),
                )
            )
            if any(r.planned_entry_at.astimezone(CST).date() == day for r in earlier.scalars()):
                raise Refused("DUPLICATE_DECLARATION",
                              "this vehicle is already declared for an entry that day; a "
                              "declaration is valid for one entry")  # fmt: skip
        declaration_id = uuid.uuid4().hex
        row = DriverDeclarationRow(
            id=declaration_id, subject_key=subject_key, plate=plate.strip().upper(),
            port=port.strip().upper(), planned_entry_at=planned_entry_at,
            lodging=lodging, declared_at=now, status="PENDING_DELIVERY",
        )  # fmt: skip
        payload = {
            "id": declaration_id, "doc_type": document.type.value, "doc_no": document.number,
            "plate": row.plate, "port": row.port,
            "planned_entry_at": planned_entry_at.isoformat(), "lodging": lodging,
        }  # fmt: skip
        return row, payload

    # --- venue scans ----------------------------------------------------------------------

    async def scan(
        self, loaders: Loaders, token: str, venue_code: str, now: datetime
    ) -> tuple[VenueScanRow, dict[str, Any], Document, str]:
        """Open a code token, colour its holder now, and record the visit."""
        from hub.signing import TokenRefused

        try:
            document, token_id = self.signer.open_code_token(token, now)
        except TokenRefused as exc:
            raise Refused(exc.code, str(exc)) from exc
        venue = venue_code.strip().upper()
        if not 4 <= len(venue) <= 32 or not all(c.isalnum() or c == "-" for c in venue):
            raise Refused("BAD_USER_INPUT", "a venue code is 4 to 32 letters, digits or dashes")
        policy = self.policies.in_force(now)
        gathered = await loaders.subject_facts(ref(document))
        colour = evaluate(gathered.facts, gathered.risk_areas, now, policy).colour.value
        scan_id = uuid.uuid4().hex
        row = VenueScanRow(id=scan_id, subject_key=loaders.subject_key(ref(document)),
                           venue_code=venue, token_id=token_id, colour=colour,
                           scanned_at=now, status="PENDING_DELIVERY")  # fmt: skip
        payload = {"scan_id": scan_id, "doc_type": document.type.value,
                   "doc_no": document.number, "venue_code": venue,
                   "scanned_at": now.astimezone(CST).strftime("%Y-%m-%d %H:%M:%S"),
                   "colour": colour}  # fmt: skip
        return row, payload, document, colour
