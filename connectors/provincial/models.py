"""Wire models of the provincial platform, in its own vocabulary.

snake_case fields, upper-case English enum codes, timestamps `yyyy-MM-dd HH:mm:ss` in local time
(UTC+8) without an offset, and the `{"code", "msg", "data"}` envelope around every answer of the
platform itself (HTTP 200 even for errors; a non-zero `code` is the error).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator

PLATFORM_TZ = timezone(timedelta(hours=8))
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_TIME_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
MAX_BATCH = 100  # documents per look-up request; the platform refuses more with 40001

# --- envelope codes --------------------------------------------------------------------------
OK = 0
BAD_PARAMETER = 40001
BAD_SIGNATURE = 40101
TIMESTAMP_OUT_OF_WINDOW = 40102
NONCE_REUSED = 40103
RATE_LIMITED = 42901
INTERNAL_ERROR = 50001


def parse_time(value: Any) -> datetime:
    """`yyyy-MM-dd HH:mm:ss` exactly, read as UTC+8; any other spelling is refused."""
    if not isinstance(value, str) or not _TIME_PATTERN.fullmatch(value):
        raise ValueError("time must be written yyyy-MM-dd HH:mm:ss")
    # the pattern has fixed the spelling; fromisoformat reads it (and checks the ranges) at a
    # tenth of strptime's cost
    return datetime.fromisoformat(value).replace(tzinfo=PLATFORM_TZ)


def format_time(value: datetime) -> str:
    """An aware instant as the platform writes it: local time UTC+8, no offset."""
    if value.tzinfo is None:
        raise ValueError("refusing to format a naive datetime: its instant is ambiguous")
    return value.astimezone(PLATFORM_TZ).strftime(TIME_FORMAT)


WireTime = Annotated[datetime, BeforeValidator(parse_time), PlainSerializer(format_time)]
DocType = Literal[
    "RESIDENT_ID", "HKID", "MACAO_ID", "HOME_RETURN_PERMIT", "TAIWAN_PERMIT", "PASSPORT"
]


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


# --- requests --------------------------------------------------------------------------------


class DocumentKey(_Wire):
    """A document as the platform names it: type and number."""

    doc_type: DocType
    doc_no: str = Field(min_length=1, max_length=64)


class QueryRequest(_Wire):
    """Body of both batch look-ups; the platform's batch limit is checked by the platform."""

    documents: tuple[DocumentKey, ...] = Field(min_length=1)


# --- real-name registration ------------------------------------------------------------------


class ResidentEntry(_Wire):
    """One requested document: its registration, or `found: false`."""

    doc_type: DocType
    doc_no: str
    found: bool
    name: str | None = None
    phone: str | None = None
    household_region: str | None = None

    @model_validator(mode="after")
    def _registered_has_name(self) -> ResidentEntry:
        if self.found and not self.name:
            raise ValueError("a registered resident has a name")
        return self


class ResidentsData(_Wire):
    items: tuple[ResidentEntry, ...]


# --- health records --------------------------------------------------------------------------


class CaseRecord(_Wire):
    case_id: str
    case_type: Literal["CONFIRMED", "ASYMPTOMATIC", "SUSPECTED"]
    diagnosed_time: WireTime
    discharged_time: WireTime | None = None


class ListingRecord(_Wire):
    listing_id: str
    category: Literal[
        "CLOSE_CONTACT", "SECONDARY_CONTACT", "KEY_SITE", "FEVER_CLINIC", "REGULAR_TESTING"
    ]
    assigned_time: WireTime
    last_exposure_time: WireTime | None = None
    issuer_city: str


class NatRecord(_Wire):
    report_id: str
    sampling_time: WireTime
    report_time: WireTime
    result: Literal["NEGATIVE", "POSITIVE"]
    institution_code: str
    recognised_by: tuple[Literal["MACAO", "HONGKONG"], ...] = ()


class AntibodyRecord(_Wire):
    report_id: str
    sampling_time: WireTime
    report_time: WireTime
    isotype: Literal["IGG", "IGM"]
    result: Literal["NEGATIVE", "POSITIVE"]


class EntryRecord(_Wire):
    entry_id: str
    entry_port: str
    entry_time: WireTime
    origin_country: str = Field(pattern=r"^[A-Z]{3}$")


class CertificateRecord(_Wire):
    certificate_id: str
    certificate_type: str
    issue_time: WireTime
    expire_time: WireTime | None = None
    status: str


class HealthRecordEntry(_Wire):
    """One requested document: everything the platform holds about it, or `found: false`."""

    doc_type: DocType
    doc_no: str
    found: bool
    cases: tuple[CaseRecord, ...] = ()
    listings: tuple[ListingRecord, ...] = ()
    nat_results: tuple[NatRecord, ...] = ()
    antibody_results: tuple[AntibodyRecord, ...] = ()
    overseas_entries: tuple[EntryRecord, ...] = ()
    health_certificates: tuple[CertificateRecord, ...] = ()

    @model_validator(mode="after")
    def _unregistered_has_no_records(self) -> HealthRecordEntry:
        if not self.found and any(
            (self.cases, self.listings, self.nat_results, self.antibody_results,
             self.overseas_entries, self.health_certificates)
        ):  # fmt: skip
            raise ValueError("a document that is not found has no records")
        return self


class HealthRecordsData(_Wire):
    items: tuple[HealthRecordEntry, ...]


# --- the envelope ----------------------------------------------------------------------------

DataT = TypeVar("DataT")


class Envelope(_Wire, Generic[DataT]):
    """Every answer of the platform: `code` 0 with `data`, or a non-zero `code` and `data` null."""

    code: int
    msg: str
    data: DataT | None = None


# --- venue scans -----------------------------------------------------------------------------


class VenueScan(_Wire):
    """One scan of a person's code at a public place, as the hub forwards it."""

    scan_id: str = Field(min_length=1, max_length=64)
    doc_type: str
    doc_no: str
    venue_code: str = Field(pattern=r"^[A-Z0-9-]{4,32}$")
    scanned_at: WireTime
    colour: str = Field(pattern=r"^(GREEN|YELLOW|RED|UNKNOWN)$")


class VenueScanBatch(_Wire):
    """Body of `POST /api/v1/venue-scans`: up to the batch limit of scans."""

    scans: tuple[VenueScan, ...] = Field(min_length=1)


class VenueScanAck(_Wire):
    """`data` of the answer: how many scans were new (a repeated `scan_id` is not)."""

    accepted: int
    received: int
