"""Neutral records: the facts the source systems hold, in one source-independent vocabulary.

This is the vocabulary of the scenario files' `facts` (colours GREEN/YELLOW/RED, aware
datetimes). The synthetic world stores these records; each simulator encodes them in its own
wire style and each connector decodes its wire models back into them (one translation function
per source, in the connector's `translate.py`). Nothing here knows about HTTP or about the hub.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

DOCUMENT_TYPES = (
    "RESIDENT_ID",
    "HKID",
    "MACAO_ID",
    "HOME_RETURN_PERMIT",
    "TAIWAN_PERMIT",
    "PASSPORT",
)


@dataclass(frozen=True, order=True)
class DocumentRef:
    """A person's identity document as the source systems are asked about it: type and number.

    Numbers are expected normalised (upper case, no brackets or spaces); `normalised` applies
    the part of that a source system itself does, so keys from files and requests compare.
    """

    type: str
    number: str

    def __hash__(self) -> int:
        # the number's own hash (a str caches it) rather than a new tuple's on every look-up:
        # documents key the hub's per-request and per-batch maps, dozens of times a request
        return hash(self.number)

    @classmethod
    def normalised(cls, type_: str, number: str) -> DocumentRef:
        cleaned = "".join(ch for ch in number.upper() if ch not in "() \t")
        if type_ == "HOME_RETURN_PERMIT" and len(cleaned) == 11:
            cleaned = cleaned[:9]  # the issue count is not part of the lifelong number
        return cls(type_, cleaned)

    @property
    def key(self) -> str:
        return f"{self.type}:{self.number}"


# --- provincial platform -------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    document: DocumentRef
    name: str
    phone: str | None = None
    region: str | None = None  # household region code (6 digits)


@dataclass(frozen=True)
class Case:
    id: str
    status: str  # CONFIRMED | ASYMPTOMATIC | SUSPECTED
    diagnosed_at: datetime
    discharged_at: datetime | None = None


@dataclass(frozen=True)
class Listing:
    id: str
    category: str  # CLOSE_CONTACT | SECONDARY_CONTACT | KEY_SITE | FEVER_CLINIC | REGULAR_TESTING
    assigned_at: datetime
    issuer: str
    last_exposure_at: datetime | None = None


@dataclass(frozen=True)
class NatTest:
    id: str
    sampled_at: datetime
    reported_at: datetime
    result: str  # NEGATIVE | POSITIVE
    institution: str
    recognised_by: tuple[str, ...] = ()  # MACAO, HONGKONG


@dataclass(frozen=True)
class AntibodyTest:
    id: str
    sampled_at: datetime
    reported_at: datetime
    isotype: str  # IgG | IgM
    result: str  # NEGATIVE | POSITIVE


@dataclass(frozen=True)
class Entry:
    id: str
    entered_at: datetime
    port: str
    origin: str  # ISO 3166-1 alpha-3


@dataclass(frozen=True)
class HealthCertificate:
    id: str
    kind: str
    issued_at: datetime
    expires_at: datetime | None
    status: str


@dataclass(frozen=True)
class ProvincialFacts:
    cases: tuple[Case, ...] = ()
    listings: tuple[Listing, ...] = ()
    nat_tests: tuple[NatTest, ...] = ()
    antibody_tests: tuple[AntibodyTest, ...] = ()
    entries: tuple[Entry, ...] = ()
    health_certificates: tuple[HealthCertificate, ...] = ()


# --- national platform ---------------------------------------------------------------------


@dataclass(frozen=True)
class RiskArea:
    """One entry of the national risk-area list; a level change is a new entry."""

    area_code: str  # 9 digits: 6-digit county code + 3-digit street
    name: str
    level: str  # HIGH | MEDIUM | LOW
    designated_at: datetime
    lifted_at: datetime | None = None

    @property
    def province(self) -> str:
        return self.area_code[:2] + "0000"

    @property
    def city(self) -> str:
        return self.area_code[:4] + "00"

    @property
    def county(self) -> str:
        return self.area_code[:6]


@dataclass(frozen=True)
class Trip:
    area_code: str
    at: datetime


@dataclass(frozen=True)
class Flag:
    id: str
    issuer: str  # region code of the province that pushed it
    colour: str  # GREEN | YELLOW | RED
    reason: str
    assigned_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class NationalFacts:
    trips: tuple[Trip, ...] = ()
    flags: tuple[Flag, ...] = ()


# --- Macao and Hong Kong -------------------------------------------------------------------


@dataclass(frozen=True)
class MacaoCode:
    colour: str  # GREEN | YELLOW | RED (wire: verde | amarelo | vermelho)
    updated_at: datetime


@dataclass(frozen=True)
class HongKongCode:
    colour: str  # GREEN | YELLOW | RED (wire: GREEN | AMBER | RED)
    issued_at: datetime


@dataclass(frozen=True)
class DriverDeclaration:
    id: str
    entered_at: datetime
    port: str
    plate: str
    exited_at: datetime | None = None
    lodging: str | None = None


@dataclass(frozen=True)
class MacaoFacts:
    health_code: MacaoCode | None = None


@dataclass(frozen=True)
class HongKongFacts:
    health_code: HongKongCode | None = None
    driver_declarations: tuple[DriverDeclaration, ...] = ()
    driver_status: str | None = None  # exemption list: ACTIVE | SUSPENDED | REMOVED


@dataclass(frozen=True)
class Person:
    """Everything the four source systems hold about one person."""

    identity: Identity
    provincial: ProvincialFacts = field(default_factory=ProvincialFacts)
    national: NationalFacts = field(default_factory=NationalFacts)
    macao: MacaoFacts = field(default_factory=MacaoFacts)
    hongkong: HongKongFacts = field(default_factory=HongKongFacts)


# --- the scenario files' `facts` format ----------------------------------------------------


def parse_instant(value: str | None) -> datetime | None:
    """ISO 8601 with an offset; a naive instant is refused (it would be ambiguous)."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"instant without an offset: {value!r}")
    return parsed


def _at(value: str) -> datetime:
    parsed = parse_instant(value)
    assert parsed is not None
    return parsed


def provincial_from_json(data: Mapping[str, Any]) -> ProvincialFacts:
    return ProvincialFacts(
        cases=tuple(
            Case(c["id"], c["status"], _at(c["diagnosedAt"]), parse_instant(c.get("dischargedAt")))
            for c in data.get("cases", [])
        ),
        listings=tuple(
            Listing(
                item["id"],
                item["category"],
                _at(item["assignedAt"]),
                item.get("issuer", ""),
                parse_instant(item.get("lastExposureAt")),
            )
            for item in data.get("listings", [])
        ),
        nat_tests=tuple(
            NatTest(
                t["id"],
                _at(t["sampledAt"]),
                _at(t["reportedAt"]),
                t["result"],
                t["institution"],
                tuple(t.get("recognisedBy", ())),
            )
            for t in data.get("natTests", [])
        ),
        antibody_tests=tuple(
            AntibodyTest(
                t["id"], _at(t["sampledAt"]), _at(t["reportedAt"]), t["isotype"], t["result"]
            )
            for t in data.get("antibodyTests", [])
        ),
        entries=tuple(
            Entry(e["id"], _at(e["enteredAt"]), e["port"], e["origin"])
            for e in data.get("entries", [])
        ),
        health_certificates=tuple(
            HealthCertificate(
                h["id"],
                h["kind"],
                _at(h["issuedAt"]),
                parse_instant(h.get("expiresAt")),
                h["status"],
            )
            for h in data.get("healthCertificates", [])
        ),
    )


def risk_areas_from_json(data: Mapping[str, Any]) -> tuple[RiskArea, ...]:
    return tuple(
        RiskArea(
            a["areaCode"],
            a.get("name", a["areaCode"]),
            a["level"],
            _at(a["designatedAt"]),
            parse_instant(a.get("liftedAt")),
        )
        for a in data.get("riskAreas", [])
    )


def national_from_json(data: Mapping[str, Any]) -> NationalFacts:
    return NationalFacts(
        trips=tuple(Trip(t["areaCode"], _at(t["at"])) for t in data.get("trips", [])),
        flags=tuple(
            Flag(
                f["id"],
                f["issuer"],
                f["colour"],
                f.get("reason", ""),
                _at(f["assignedAt"]),
                parse_instant(f.get("revokedAt")),
            )
            for f in data.get("flags", [])
        ),
    )


def macao_from_json(data: Mapping[str, Any]) -> MacaoFacts:
    code = data.get("healthCode")
    if not code:
        return MacaoFacts()
    return MacaoFacts(MacaoCode(code["colour"], _at(code["updatedAt"])))


def hongkong_from_json(data: Mapping[str, Any]) -> HongKongFacts:
    code = data.get("healthCode")
    return HongKongFacts(
        health_code=HongKongCode(code["colour"], _at(code["issuedAt"])) if code else None,
        driver_declarations=tuple(
            DriverDeclaration(
                d["id"],
                _at(d["enteredAt"]),
                d["port"],
                d["plate"],
                parse_instant(d.get("exitedAt")),
                d.get("lodging"),
            )
            for d in data.get("driverDeclarations", [])
        ),
        driver_status=data.get("driverStatus")
        or ("ACTIVE" if data.get("driverDeclarations") else None),
    )
