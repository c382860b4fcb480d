"""The hub's own signatures: code transfer tickets and the short-lived code tokens behind a
citizen's QR code, verifiable by anyone with the published public key (/.well-known/jwks.json).

Every replica must sign and verify alike, so the key comes from configuration; without one, it
is derived from the subject-key secret (development only). A code token names its subject by
an AES-GCM-sealed reference: a venue or partner verifying it offline learns that it is genuine
and unexpired, not whose it is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.domain.documents import Document, DocumentType

ALGORITHM = "ES256"
TOKEN_AUDIENCE = "ghc-venue"
ISSUER = "ghc-hub"


class TokenRefused(Exception):
    """A code token that is expired, forged or malformed; `code` says which."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _derive(secret: bytes, purpose: str) -> bytes:
    return hmac.new(secret, purpose.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class CodeToken:
    token: str
    token_id: str
    expires_at: datetime


class Signer:
    """Signs tickets and code tokens; verifies code tokens; publishes the public key."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey, sealing_key: bytes) -> None:
        self._key = private_key
        self._seal = AESGCM(sealing_key)
        public = private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.key_id = hashlib.sha256(public).hexdigest()[:16]

    @classmethod
    def from_settings(cls, signing_key_pem: str | None, secret: bytes) -> Signer:
        if signing_key_pem:
            key = serialization.load_pem_private_key(signing_key_pem.encode(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ValueError("the signing key must be an EC P-256 private key")
        else:  # development: every replica with the same secret derives the same key
            scalar = int.from_bytes(_derive(secret, "signing-key"), "big")
            key = ec.derive_private_key(scalar % (2**255) + 1, ec.SECP256R1())
        return cls(key, _derive(secret, "code-token-sealing"))

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self._key.public_key()))
        return {"keys": [jwk | {"kid": self.key_id, "use": "sig", "alg": ALGORITHM}]}

    def sign_ticket(self, content: dict[str, Any]) -> str:
        """A detached JWS over the ticket's canonical JSON (sorted keys, no whitespace)."""
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
        return jwt.api_jws.encode(
            canonical.encode(), self._key, algorithm=ALGORITHM, headers={"kid": self.key_id}
        )

    def code_token(self, document: Document, now: datetime, ttl: timedelta) -> CodeToken:
        nonce = os.urandom(12)
        sealed = self._seal.encrypt(nonce, document.key.encode(), None)
        token_id = uuid.uuid4().hex
        expires = now + ttl
        claims = {
            "iss": ISSUER,
            "aud": TOKEN_AUDIENCE,
            "jti": token_id,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "ref": _b64(nonce + sealed),
        }
        token = jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.key_id})
        return CodeToken(token, token_id, expires)

    def open_code_token(self, token: str, now: datetime) -> tuple[Document, str]:
        """The subject and token id of a genuine, unexpired code token; else TokenRefused."""
        try:
            claims = jwt.decode(
                token,
                self._key.public_key(),
                algorithms=[ALGORITHM],
                audience=TOKEN_AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "jti", "ref"], "verify_exp": False},
            )
        except jwt.PyJWTError as exc:
            raise TokenRefused("TOKEN_INVALID", "the code is not one the hub issued") from exc
        if now.timestamp() >= claims["exp"]:
            raise TokenRefused("TOKEN_EXPIRED", "the code has expired; ask for a fresh one")
        try:
            raw = _unb64(claims["ref"])
            key = self._seal.decrypt(raw[:12], raw[12:], None).decode()
            type_, _, number = key.partition(":")
            return Document(DocumentType(type_), number), str(claims["jti"])
        except Exception as exc:  # noqa: BLE001 - any failure here is a forged reference
            raise TokenRefused("TOKEN_INVALID", "the code is not one the hub issued") from exc
