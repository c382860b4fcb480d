"""GraphQL types of the records the sources hold, built from connector records or domain facts.

Instants are shown in China Standard Time; the value is the same instant whatever the offset.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from connectors import records
from hub.domain import facts
from hub.domain.documents import DocumentType as DomainDocumentType
from hub.domain.instants import CST
from hub.domain.vocabulary import Colour as DomainColour
from hub.domain.vocabulary import Region as DomainRegion

Colour = strawberry.enum(DomainColour, description="A code colour; UNKNOWN: cannot be verified now")
Region = strawberry.enum(DomainRegion, description="A partner region that recognises codes")
DocumentType = strawberry.enum(DomainDocumentType, description="A kind of identity document")
RiskLevel = strawberry.enum(facts.RiskLevel, description="A risk area's level")


def cst(instant: datetime) -> datetime:
    return instant.astimezone(CST)


def cst_or_none(instant: datetime | None) -> datetime | None:
    return None if instant is None else instant.astimezone(CST)


@strawberry.input(description="An identity document: type and number as written")
class DocumentInput:
    type: DocumentType  # type: ignore[valid-type]
    number: str


@strawberry.type(description="A document as shown: its number masked")
class MaskedDocument:
    type: DocumentType  # type: ignore[valid-type]
    number: str


@strawberry.type
class Case:
    id: str
    status: str
    diagnosed_at: datetime
    discharged_at: datetime | None

    @classmethod
    def of(cls, c: records.Case) -> Case:
        return cls(
            id=c.id,
            status=c.status,
            diagnosed_at=cst(c.diagnosed_at),
            discharged_at=cst_or_none(c.discharged_at),
        )


@strawberry.type(description="A key-population listing (close contact, key site, ...)")
class Listing:
    id: str
    category: str
    assigned_at: datetime
    last_exposure_at: datetime | None
    issuer: str

    @classmethod
    def of(cls, x: records.Listing) -> Listing:
        return cls(
            id=x.id,
            category=x.category,
            assigned_at=cst(x.assigned_at),
            last_exposure_at=cst_or_none(x.last_exposure_at),
            issuer=x.issuer,
        )


@strawberry.type(description="A nucleic acid test result")
class NatTest:
    id: str
    sampled_at: datetime
    reported_at: datetime
    result: str
    institution: str
    recognised_by: list[Region]  # type: ignore[valid-type]

    @classmethod
    def of(cls, t: records.NatTest) -> NatTest:
        return cls(
            id=t.id,
            sampled_at=cst(t.sampled_at),
            reported_at=cst(t.reported_at),
            result=t.result,
            institution=t.institution,
            recognised_by=[DomainRegion(r) for r in t.recognised_by],
        )


@strawberry.type(description="A serum antibody test result")
class AntibodyTest:
    id: str
    sampled_at: datetime
    reported_at: datetime
    isotype: str
    result: str

    @classmethod
    def of(cls, t: records.AntibodyTest) -> AntibodyTest:
        return cls(
            id=t.id,
            sampled_at=cst(t.sampled_at),
            reported_at=cst(t.reported_at),
            isotype=t.isotype,
            result=t.result,
        )


@strawberry.type(description="An overseas entry record")
class Entry:
    id: str
    entered_at: datetime
    port: str
    origin: str

    @classmethod
    def of(cls, e: records.Entry) -> Entry:
        return cls(id=e.id, entered_at=cst(e.entered_at), port=e.port, origin=e.origin)


@strawberry.type
class HealthCertificate:
    id: str
    kind: str
    issued_at: datetime
    expires_at: datetime | None
    status: str

    @classmethod
    def of(cls, h: records.HealthCertificate) -> HealthCertificate:
        return cls(
            id=h.id,
            kind=h.kind,
            issued_at=cst(h.issued_at),
            expires_at=cst_or_none(h.expires_at),
            status=h.status,
        )


@strawberry.type(description="A stay in an area, with the area's risk level at that instant")
class Trip:
    area_code: str
    at: datetime
    risk_level: RiskLevel | None = strawberry.field(  # type: ignore[valid-type]
        description="the level the area had at the visit (null: not a risk area then)"
    )


@strawberry.type(description="A colour pushed by another province through the national platform")
class CrossProvinceFlag:
    id: str
    issuer: str
    colour: Colour  # type: ignore[valid-type]
    reason: str
    assigned_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, f: records.Flag) -> CrossProvinceFlag:
        return cls(
            id=f.id,
            issuer=f.issuer,
            colour=DomainColour(f.colour),
            reason=f.reason,
            assigned_at=cst(f.assigned_at),
            revoked_at=cst_or_none(f.revoked_at),
        )


@strawberry.type(description="The Macao health code, as the Macao system holds it")
class MacaoCode:
    colour: Colour  # type: ignore[valid-type]
    updated_at: datetime


@strawberry.type(description="The Hong Kong health code; valid until the next HK midnight")
class HongKongCode:
    colour: Colour  # type: ignore[valid-type]
    issued_at: datetime


@strawberry.type(description="A cross-border goods vehicle driver's declared stay")
class DriverDeclaration:
    id: str
    entered_at: datetime
    exited_at: datetime | None
    port: str
    plate: str
    lodging: str | None

    @classmethod
    def of(cls, d: records.DriverDeclaration) -> DriverDeclaration:
        return cls(
            id=d.id,
            entered_at=cst(d.entered_at),
            exited_at=cst_or_none(d.exited_at),
            port=d.port,
            plate=d.plate,
            lodging=d.lodging,
        )


@strawberry.type(description="An entry of the national risk-area list")
class RiskArea:
    area_code: str
    name: str
    province: str
    city: str
    county: str
    level: RiskLevel  # type: ignore[valid-type]
    designated_at: datetime
    lifted_at: datetime | None

    @classmethod
    def of(cls, a: facts.RiskArea) -> RiskArea:
        code = a.area_code
        return cls(
            area_code=code,
            name=a.name,
            province=code[:2] + "0000",
            city=code[:4] + "00",
            county=code[:6],
            level=a.level,
            designated_at=cst(a.designated_at),
            lifted_at=cst_or_none(a.lifted_at),
        )


def enum_value(value: Enum | str) -> str:
    return value.value if isinstance(value, Enum) else value
