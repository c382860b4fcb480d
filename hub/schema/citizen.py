"""The person, as one graph over the four sources; each field asks only the source it needs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import strawberry

from connectors.errors import SourceError
from connectors.records import DocumentRef, ProvincialFacts
from hub.domain.documents import Document, mask_document, mask_name, mask_phone
from hub.domain.facts import RiskArea as DomainRiskArea
from hub.domain.policy import NoPolicyInForce
from hub.domain.recognition import recognise
from hub.domain.rules import evaluate, level_at
from hub.domain.vocabulary import Colour
from hub.domain.vocabulary import Region as DomainRegion
from hub.loaders import Gathered, RouteLoader
from hub.permissions import PAST_INSTANT_ROLES
from hub.schema import errors
from hub.schema.context import Context
from hub.schema.records import (
    AntibodyTest,
    Case,
    CrossProvinceFlag,
    DriverDeclaration,
    Entry,
    HealthCertificate,
    HongKongCode,
    Listing,
    MacaoCode,
    MaskedDocument,
    NatTest,
    Region,
    Trip,
    cst,
)
from hub.schema.verdicts import HealthCode, Recognition

Info = strawberry.Info[Context, None]
CODE_TOKEN_LIFETIME = timedelta(minutes=2)

T = TypeVar("T")
ValueT = TypeVar("ValueT")


async def load(loader: RouteLoader[ValueT], doc: DocumentRef) -> ValueT:
    """One document's answer; a source failure becomes this field's error, naming the source."""
    try:
        return (await loader.load(doc)).value
    except SourceError as exc:
        raise errors.source_unavailable(exc) from exc


async def risk_areas(info: Info) -> tuple[DomainRiskArea, ...]:
    try:
        return (await info.context.loaders.risk_areas()).value
    except SourceError as exc:
        raise errors.source_unavailable(exc) from exc


def instant(info: Info, at: datetime | None) -> datetime:
    """The evaluation instant: now by default; another instant is the analysts' and judges'
    view, and must say its offset."""
    if at is None:
        return info.context.now()
    info.context.require_role(PAST_INSTANT_ROLES, "evaluating at another instant")
    if at.tzinfo is None:
        raise errors.bad_input("`at` needs an offset, e.g. 2022-07-08T09:00:00+08:00")
    return at


@strawberry.type(description="A person registered with the provincial platform")
class Citizen:
    document: MaskedDocument

    _doc: strawberry.Private[Document]
    _own: strawberry.Private[bool]
    _facts: strawberry.Private[asyncio.Future[Gathered] | None]

    @classmethod
    def of(cls, doc: Document, *, own: bool = False) -> Citizen:
        """A person as shown to the caller; `own` when the caller is that person."""
        return cls(
            document=MaskedDocument(type=doc.type, number=mask_document(doc)),
            _doc=doc,
            _own=own,
            _facts=None,
        )

    @property
    def ref(self) -> DocumentRef:
        return DocumentRef(self._doc.type.value, self._doc.number)

    async def facts(self, info: Info) -> Gathered:
        """What the rules read, gathered once per person per request however many fields ask."""
        if self._facts is None:
            self._facts = asyncio.ensure_future(info.context.loaders.subject_facts(self.ref))
        return await self._facts

    @strawberry.field(description="The registered name; masked unless it is the caller's own")
    async def name(self, info: Info) -> str | None:
        identity = await load(info.context.loaders.identity, self.ref)
        if identity is None:
            return None
        return identity.name if self._own else mask_name(identity.name)

    @strawberry.field(description="The registered phone; masked unless it is the caller's own")
    async def phone(self, info: Info) -> str | None:
        identity = await load(info.context.loaders.identity, self.ref)
        if identity is None or identity.phone is None:
            return None
        return identity.phone if self._own else mask_phone(identity.phone)

    @strawberry.field(description="The health code at `at` (default now), with its reasons")
    async def health_code(self, info: Info, at: datetime | None = None) -> HealthCode | None:
        when = instant(info, at)
        try:
            policy = info.context.policies.in_force(when)
        except NoPolicyInForce as exc:
            raise errors.no_policy_in_force() from exc
        gathered = await self.facts(info)
        verdict = evaluate(gathered.facts, gathered.risk_areas, when, policy)
        return HealthCode.of(verdict, gathered.provenance)

    @strawberry.field(description="Whether a partner region may recognise the code at `at`")
    async def recognition(
        self,
        info: Info,
        region: Region,  # type: ignore[valid-type]
        at: datetime | None = None,
    ) -> Recognition | None:
        when = instant(info, at)
        try:
            policy = info.context.policies.in_force(when)
        except NoPolicyInForce as exc:
            raise errors.no_policy_in_force() from exc
        gathered = await self.facts(info)
        verdict = evaluate(gathered.facts, gathered.risk_areas, when, policy)
        recognition = recognise(verdict, gathered.facts, when, policy, DomainRegion(region))
        return Recognition.of(recognition)

    async def _records(self, info: Info) -> ProvincialFacts | None:
        return await load(info.context.loaders.health_records, self.ref)

    async def _listed(
        self, info: Info, pick: Callable[[ProvincialFacts], Iterable[Any]], show: Callable[[Any], T]
    ) -> list[T] | None:
        """One kind of provincial record, shown; None when the person is not registered."""
        found = await self._records(info)
        return None if found is None else [show(record) for record in pick(found)]

    @strawberry.field(description="Case records")
    async def cases(self, info: Info) -> list[Case] | None:
        return await self._listed(info, lambda f: f.cases, Case.of)

    @strawberry.field(description="Key-population listings")
    async def listings(self, info: Info) -> list[Listing] | None:
        return await self._listed(info, lambda f: f.listings, Listing.of)

    @strawberry.field(description="Nucleic acid tests, newest sample first")
    async def nat_tests(self, info: Info, last: int | None = None) -> list[NatTest] | None:
        def newest(found: ProvincialFacts) -> list[Any]:
            tests = sorted(found.nat_tests, key=lambda t: t.sampled_at, reverse=True)
            return tests[:last] if last is not None else tests

        return await self._listed(info, newest, NatTest.of)

    @strawberry.field(description="Serum antibody tests")
    async def antibody_tests(self, info: Info) -> list[AntibodyTest] | None:
        return await self._listed(info, lambda f: f.antibody_tests, AntibodyTest.of)

    @strawberry.field(description="Overseas entry records")
    async def entries(self, info: Info) -> list[Entry] | None:
        return await self._listed(info, lambda f: f.entries, Entry.of)

    @strawberry.field(description="Health certificates")
    async def health_certificates(self, info: Info) -> list[HealthCertificate] | None:
        return await self._listed(info, lambda f: f.health_certificates, HealthCertificate.of)

    @strawberry.field(description="Trips, each with the risk level its area had at the visit")
    async def trips(self, info: Info) -> list[Trip] | None:
        loaders = info.context.loaders
        trips, areas = await asyncio.gather(load(loaders.trips, self.ref), risk_areas(info))
        return [
            Trip(area_code=t.area_code, at=cst(t.at), risk_level=level_at(areas, t.area_code, t.at))
            for t in trips
        ]

    @strawberry.field(description="Flags pushed by other provinces")
    async def flags(self, info: Info) -> list[CrossProvinceFlag] | None:
        return [CrossProvinceFlag.of(f) for f in await load(info.context.loaders.flags, self.ref)]

    @strawberry.field(description="Cross-border goods vehicle driver declarations")
    async def driver_declarations(self, info: Info) -> list[DriverDeclaration] | None:
        found = await load(info.context.loaders.driver_declarations, self.ref)
        return [DriverDeclaration.of(d) for d in found]

    @strawberry.field(description="The Macao health code (null: the Macao system has none)")
    async def macao_code(self, info: Info) -> MacaoCode | None:
        code = await load(info.context.loaders.macao_code, self.ref)
        return (
            None
            if code is None
            else MacaoCode(colour=Colour(code.colour), updated_at=cst(code.updated_at))
        )

    @strawberry.field(description="The Hong Kong health code (null: the HK system has none)")
    async def hong_kong_code(self, info: Info) -> HongKongCode | None:
        code = await load(info.context.loaders.hongkong_code, self.ref)
        return (
            None
            if code is None
            else HongKongCode(colour=Colour(code.colour), issued_at=cst(code.issued_at))
        )

    @strawberry.field(description="A short-lived signed code for the QR on the citizen's screen")
    def scan_token(self, info: Info) -> CodeToken:
        signer = info.context.signer
        assert signer is not None
        token = signer.code_token(self._doc, info.context.now(), CODE_TOKEN_LIFETIME)
        return CodeToken(token=token.token, expires_at=cst(token.expires_at))

    @strawberry.field(description="Code transfer tickets issued to this person, newest first")
    async def transfer_tickets(self, info: Info) -> list[TicketStatus]:
        writes = info.context.writes
        assert writes is not None
        rows = await writes.tickets_of(info.context.loaders.subject_key(self.ref))
        return [
            TicketStatus(
                id=r.id,
                destination=r.destination,
                status=r.status,
                expires_at=cst(r.expires_at),
                nat_date=r.nat_date,
            )
            for r in rows
        ]


@strawberry.type(description="A signed code token: what a venue scans")
class CodeToken:
    token: str
    expires_at: datetime


@strawberry.type(description="A code transfer ticket and how its delivery stands")
class TicketStatus:
    id: str
    destination: str
    status: str
    nat_date: str | None
    expires_at: datetime
