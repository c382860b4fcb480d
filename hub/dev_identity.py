"""Development credentials: API keys for each service role, and an identity provider that signs
citizens' tokens. Used by `hub demo` and the tests; a deployment gets its keys and the
provider's public key from configuration instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hub.auth import JWT_ALGORITHM, digest, new_api_key
from hub.domain.documents import Document
from hub.settings import ApiKeySettings, AuthSettings

ISSUER = "ghc-identity"
AUDIENCE = "ghc-hub"

# (key id, role, region) of the service callers a development hub knows
SERVICE_CALLERS = (
    ("venue-0001", "venue", None),
    ("macao", "partner", "MACAO"),
    ("hongkong", "partner", "HONGKONG"),
    ("analyst-0001", "analyst", None),
    ("judge-0001", "judge", None),
)


@dataclass
class DevIdentity:
    """Fresh keys for each service caller and a signing key for citizens' tokens."""

    keys: dict[str, str] = field(default_factory=dict)  # key id -> the key a caller sends
    _signing_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    def __post_init__(self) -> None:
        for key_id, _, _ in SERVICE_CALLERS:
            self.keys.setdefault(key_id, new_api_key(key_id))

    def auth_settings(self) -> AuthSettings:
        public = self._signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return AuthSettings(
            api_keys=[
                ApiKeySettings(
                    id=key_id, role=role, sha256=digest(self.keys[key_id]), region=region
                )
                for key_id, role, region in SERVICE_CALLERS
            ],
            token_public_key=public.decode(),
            token_issuer=ISSUER,
            token_audience=AUDIENCE,
        )

    def citizen_token(
        self,
        document: Document,
        *,
        now: datetime,
        ttl: timedelta = timedelta(hours=1),
        **overrides: object,
    ) -> str:
        """A token naming the citizen's document, as the identity provider would issue it."""
        claims: dict[str, object] = {
            "sub": document.key,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + ttl).timestamp()),
        }
        claims.update(overrides)
        return jwt.encode(claims, self._signing_key, algorithm=JWT_ALGORITHM)

    def headers(self, key_id: str, purpose: str | None = None) -> dict[str, str]:
        headers = {"X-Api-Key": self.keys[key_id]}
        if purpose:
            headers["X-Purpose"] = purpose
        return headers
