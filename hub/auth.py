"""Who is calling: an API key (services) or a signed token (citizens), and the role it carries.

API keys are stored only as SHA-256 digests and compared in constant time; a key names its
record by a public prefix (`ghk_<id>_<secret>`), so finding the record never compares secrets.
Citizens' tokens are JWTs signed by the identity provider with ES256: the algorithm is fixed
(`alg: none` and every other algorithm are refused), and expiry, not-before, audience and
issuer are all required and checked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import jwt

from hub.domain.documents import Document, InvalidDocument, parse_document
from hub.domain.vocabulary import Region

JWT_ALGORITHM = "ES256"
KEY_PREFIX = "ghk"


class Role(StrEnum):
    CITIZEN = "citizen"
    VENUE = "venue"
    PARTNER = "partner"
    ANALYST = "analyst"
    JUDGE = "judge"


# Roles that read anyone's data and therefore must say why (issue: analysts and judges).
PURPOSE_REQUIRED = frozenset({Role.ANALYST, Role.JUDGE})


@dataclass(frozen=True)
class Caller:
    """An authenticated caller. `id` names it in the audit log; a citizen is named by the keyed
    hash of their document, never the number."""

    id: str
    role: Role
    region: Region | None = None  # a partner's own region
    document: Document | None = None  # a citizen's own document
    purpose: str | None = None


@dataclass(frozen=True)
class ApiKeyRecord:
    """A service credential as configured: its id, role, region, and the key's SHA-256 digest."""

    id: str
    role: Role
    sha256: str
    region: Region | None = None


class Unauthenticated(Exception):
    """The request carries no usable credential; the message says what to fix, not the secret."""


def new_api_key(key_id: str) -> str:
    """A fresh key for `key_id`: what a caller sends. Store only `digest(key)`."""
    if "_" in key_id or not key_id:
        raise ValueError("a key id is non-empty and has no underscore")
    return f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class TokenRules:
    """What a citizen's token must satisfy."""

    public_key: str  # PEM of the identity provider's EC P-256 key
    issuer: str
    audience: str
    leeway_s: float = 30.0


class Authenticator:
    """Turns request headers into a Caller, or raises Unauthenticated."""

    def __init__(
        self,
        api_keys: list[ApiKeyRecord],
        tokens: TokenRules | None,
        name_citizen: Callable[[Document], str] = lambda document: "citizen",
    ) -> None:
        """`name_citizen` gives a citizen's caller id: a keyed hash, never the number."""
        self._keys = {record.id: record for record in api_keys}
        if len(self._keys) != len(api_keys):
            raise ValueError("two API keys share an id")
        self._tokens = tokens
        self._name_citizen = name_citizen

    def authenticate(self, headers: Mapping[str, str], *, today: date) -> Caller:
        authorization = headers.get("authorization", "")
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() == "bearer" and credential:
            return self._citizen(credential.strip(), today)
        key = headers.get("x-api-key") or (credential if scheme.lower() == "apikey" else "")
        if key:
            return self._service(key.strip())
        raise Unauthenticated(
            "no credential: send `X-Api-Key: <key>` or `Authorization: Bearer <token>`"
        )

    def _service(self, key: str) -> Caller:
        prefix, _, rest = key.partition("_")
        key_id, _, _ = rest.partition("_")
        record = self._keys.get(key_id) if prefix == KEY_PREFIX else None
        # compare a digest even for an unknown id, so timing does not tell which ids exist
        expected = record.sha256 if record else "0" * 64
        if not hmac.compare_digest(digest(key), expected) or record is None:
            raise Unauthenticated("the API key is not valid")
        return Caller(id=f"key:{record.id}", role=record.role, region=record.region)

    def _citizen(self, token: str, today: date) -> Caller:
        if self._tokens is None:
            raise Unauthenticated("citizen tokens are not accepted by this hub")
        rules = self._tokens
        try:
            claims = jwt.decode(
                token,
                rules.public_key,
                algorithms=[JWT_ALGORITHM],
                audience=rules.audience,
                issuer=rules.issuer,
                leeway=rules.leeway_s,
                options={"require": ["exp", "nbf", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("the token has expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise Unauthenticated("the token is not valid yet") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthenticated("the token is for another audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise Unauthenticated("the token is from an unknown issuer") from exc
        except jwt.InvalidAlgorithmError as exc:
            raise Unauthenticated(f"the token must be signed with {JWT_ALGORITHM}") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("the token is not valid") from exc
        doc_type, _, number = str(claims["sub"]).partition(":")
        try:
            document = parse_document(doc_type, number, today=today)
        except InvalidDocument as exc:
            raise Unauthenticated("the token names no valid document") from exc
        return Caller(id=self._name_citizen(document), role=Role.CITIZEN, document=document)
