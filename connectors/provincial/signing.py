"""Request signing of the provincial platform: HMAC-SHA256 over method, path, time, nonce, body.

One definition shared by the connector (which signs) and the simulator (which verifies), so the
two cannot disagree about the canonical string:

    METHOD \\n path-with-query \\n timestamp \\n nonce \\n hex(sha256(raw body bytes))

keyed with the app secret, written as lower-case hex.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

APP_ID_HEADER = "X-App-Id"
TIMESTAMP_HEADER = "X-Timestamp"
NONCE_HEADER = "X-Nonce"
SIGNATURE_HEADER = "X-Signature"
SIGNED_HEADERS = (APP_ID_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER)


def canonical_string(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """The text that is signed; an empty body is hashed as zero bytes."""
    body_hash = hashlib.sha256(body).hexdigest()
    return "\n".join((method.upper(), path, timestamp, nonce, body_hash))


def signature(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """Lower-case hex HMAC-SHA256 of the canonical string, keyed with the app secret."""
    message = canonical_string(method, path, timestamp, nonce, body).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(
    app_id: str,
    secret: str,
    method: str,
    path: str,
    body: bytes,
    *,
    now: float,
    nonce: str | None = None,
) -> dict[str, str]:
    """The four auth headers for one request; a fresh random nonce unless one is given."""
    timestamp = str(int(now))
    nonce = nonce or uuid.uuid4().hex
    return {
        APP_ID_HEADER: app_id,
        TIMESTAMP_HEADER: timestamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: signature(secret, method, path, timestamp, nonce, body),
    }
