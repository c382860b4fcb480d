"""Wire models of the national platform, in its own vocabulary.

The OAuth2 token endpoint speaks RFC 6749 (snake_case: `access_token`, `expires_in`); the API
speaks camelCase with instants as epoch milliseconds (JSON integers) and answers errors with an
RFC 7807 problem body. Parsing is strict: a timestamp that is a string, a float, or too small to
be milliseconds (seconds sent by mistake) breaks the contract.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from connectors.records import DOCUMENT_TYPES

# 1973-03-03 .. 9999-12-31: an epoch-seconds value for any date after 1973 falls below the
# lower bound, so "seconds instead of milliseconds" is caught rather than read as 1970.
MIN_EPOCH_MS = 100_000_000_000
MAX_EPOCH_MS = 253_402_300_799_999
MAX_BATCH = 50  # documents per itinerary / flag query

EpochMillis = Annotated[int, Field(strict=True, ge=MIN_EPOCH_MS, le=MAX_EPOCH_MS)]
Version = Annotated[int, Field(strict=True, ge=0)]
AreaCode = Annotated[str, Field(pattern=r"^\d{9}$")]
RegionCode = Annotated[str, Field(pattern=r"^\d{6}$")]
DocumentType = Literal[DOCUMENT_TYPES]  # type: ignore[valid-type]
Level = Literal["HIGH", "MEDIUM", "LOW"]
Colour = Literal["GREEN", "YELLOW", "RED"]


class _Rfc(BaseModel):
    """OAuth2 messages keep RFC 6749's own snake_case names."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class _Wire(BaseModel):
    """API messages: camelCase on the wire, only the wire names are accepted."""

    model_config = ConfigDict(frozen=True, extra="ignore", alias_generator=to_camel)


# --- OAuth2 client credentials (RFC 6749 §4.4) ---------------------------------------------


class TokenRequest(_Rfc):
    """`POST /oauth/token` form fields; client credentials may instead come by HTTP Basic."""

    grant_type: str
    client_id: str | None = None
    client_secret: str | None = None
    scope: str | None = None


class TokenResponse(_Rfc):
    """RFC 6749 §5.1 success: a bearer token and its lifetime in whole seconds."""

    access_token: Annotated[str, Field(min_length=1)]
    token_type: Annotated[str, Field(pattern=r"^(?i:bearer)$")]  # case-insensitive (§7.1)
    expires_in: Annotated[int, Field(strict=True, gt=0)]


class OAuthError(_Rfc):
    """RFC 6749 §5.2 error: 400 invalid_request / unsupported_grant_type, 401 invalid_client."""

    error: str
    error_description: str | None = None


# --- errors of the API ---------------------------------------------------------------------


class Problem(BaseModel):
    """RFC 7807 problem body (`application/problem+json`) of every API error."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    type: str = "about:blank"
    title: str
    status: Annotated[int, Field(strict=True, ge=400, le=599)]
    detail: str | None = None


# --- risk areas ----------------------------------------------------------------------------


class RiskAreaEntry(_Wire):
    """One entry of the national list; a level change or a lift is a new entry (new version)."""

    area_code: AreaCode
    name: str
    province: RegionCode
    city: RegionCode
    county: RegionCode
    level: Level
    designated_at: EpochMillis
    lifted_at: EpochMillis | None = None
    version: Annotated[int, Field(strict=True, ge=1)]


class RiskAreaList(_Wire):
    """`GET /api/v1/risk-areas[?sinceVersion=N]`: the list version and entries after N."""

    version: Version
    items: list[RiskAreaEntry]


# --- per-subject queries -------------------------------------------------------------------


class DocumentWire(_Wire):
    document_type: DocumentType
    document_number: Annotated[str, Field(min_length=1, max_length=32)]


class DocumentQuery(_Wire):
    """Body of `POST /api/v1/itineraries/query` and `POST /api/v1/flags/query` (1..50 documents)."""

    documents: Annotated[list[DocumentWire], Field(min_length=1)]


class TripWire(_Wire):
    area_code: AreaCode
    at: EpochMillis


class ItineraryItem(_Wire):
    document_type: DocumentType
    document_number: str
    trips: list[TripWire]


class ItineraryAnswer(_Wire):
    """One item per requested document; a person the platform does not know has no trips."""

    items: list[ItineraryItem]


class FlagWire(_Wire):
    flag_id: Annotated[str, Field(min_length=1)]
    issuer_region: RegionCode
    colour: Colour
    reason: str
    assigned_at: EpochMillis
    revoked_at: EpochMillis | None = None


class FlagItem(_Wire):
    document_type: DocumentType
    document_number: str
    flags: list[FlagWire]


class FlagAnswer(_Wire):
    """One item per requested document; a person the platform does not know has no flags."""

    items: list[FlagItem]
