"""Credentials: API keys and citizens' tokens, every way a bad one is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from hub.auth import Authenticator, Role, Unauthenticated, digest, new_api_key
from hub.dev_identity import AUDIENCE, ISSUER, DevIdentity
from hub.domain.documents import parse_document
from tests.hub.conftest import Hub

NOW = datetime.now(UTC)
OWN = parse_document("RESIDENT_ID", "440304199003071029", today=NOW.date())  # scenario 02


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def forged(claims: dict[str, object], algorithm: str = "ES256", key: object = None) -> str:
    return jwt.encode(claims, key or ec.generate_private_key(ec.SECP256R1()), algorithm=algorithm)


def claims(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "sub": OWN.key, "iss": ISSUER, "aud": AUDIENCE, "iat": int(NOW.timestamp()),
        "nbf": int(NOW.timestamp()), "exp": int((NOW + timedelta(hours=1)).timestamp()),
    }  # fmt: skip
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def unsigned(payload: dict[str, object]) -> str:
    """An `alg: none` token, as an attacker would write it by hand."""
    import base64
    import json

    def part(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


@pytest.fixture(scope="module")
def authenticator() -> tuple[Authenticator, DevIdentity]:
    from hub.app import authenticator as build
    from hub.settings import Settings

    identity = DevIdentity()
    return build(Settings(auth=identity.auth_settings())), identity


def test_a_valid_citizen_token_names_the_citizen_and_their_document(
    authenticator: tuple[Authenticator, DevIdentity],
) -> None:
    auth, identity = authenticator
    caller = auth.authenticate(bearer(identity.citizen_token(OWN, now=NOW)), today=NOW.date())
    assert caller.role is Role.CITIZEN and caller.document == OWN


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda i: unsigned(claims()), "ES256"),
        (lambda i: jwt.encode(claims(), "a shared secret of thirty-two bytes or more", algorithm="HS256"), "ES256"),
        (lambda i: forged(claims()), "not valid"),
        (lambda i: i.citizen_token(OWN, now=NOW - timedelta(hours=3)), "expired"),
        (lambda i: i.citizen_token(OWN, now=NOW, nbf=int((NOW + timedelta(hours=1)).timestamp())),
         "not valid yet"),
        (lambda i: i.citizen_token(OWN, now=NOW, aud="another-service"), "audience"),
        (lambda i: i.citizen_token(OWN, now=NOW, iss="someone-else"), "issuer"),
        (lambda i: i.citizen_token(OWN, now=NOW, sub="RESIDENT_ID:440304199003075012"), "document"),
        (lambda i: i.citizen_token(OWN, now=NOW, exp=None), "not valid"),
        (lambda i: "not.a.token", "not valid"),
    ],
    ids=[
        "alg none is refused",
        "a token signed with another algorithm is refused",
        "a token signed by another key is refused",
        "an expired token is refused",
        "a token not valid yet is refused",
        "a token for another audience is refused",
        "a token from another issuer is refused",
        "a token naming an invalid document is refused",
        "a token without an expiry is refused",
        "garbage is refused",
    ],
)  # fmt: skip
def test_bad_citizen_tokens_are_refused_with_the_reason(
    authenticator: tuple[Authenticator, DevIdentity], make: object, reason: str
) -> None:
    auth, identity = authenticator
    token = make(identity)  # type: ignore[operator]
    with pytest.raises(Unauthenticated, match=reason):
        auth.authenticate(bearer(token), today=NOW.date())


def test_api_keys_are_checked_against_their_digest(
    authenticator: tuple[Authenticator, DevIdentity],
) -> None:
    auth, identity = authenticator
    good = identity.keys["venue-0001"]
    assert auth.authenticate({"x-api-key": good}, today=NOW.date()).role is Role.VENUE
    assert (
        auth.authenticate({"authorization": f"ApiKey {good}"}, today=NOW.date()).role is Role.VENUE
    )
    for bad in (good[:-1] + ("A" if good[-1] != "A" else "B"), new_api_key("venue-0001"),
                new_api_key("nobody"), "ghk_", "plain"):  # fmt: skip
        with pytest.raises(Unauthenticated, match="API key is not valid"):
            auth.authenticate({"x-api-key": bad}, today=NOW.date())
    assert digest(good) != good and len(digest(good)) == 64


async def test_a_request_without_a_credential_gets_401_and_no_data(hub: Hub) -> None:
    status, body = await hub.post({"query": "{ riskAreas { areaCode } }"}, headers={})
    assert status == 401
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "data" not in body


async def test_a_citizen_sees_their_own_page_through_the_registered_operation(hub: Hub) -> None:
    from hub.persisted import PersistedOperations

    operation = PersistedOperations.from_dir().by_name["CitizenPage"]
    status, body = await hub.post(
        {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": operation.sha256}}},
        headers=bearer(hub.identity.citizen_token(OWN, now=NOW)),
    )
    assert status == 200, body
    me = body["data"]["me"]
    assert me["name"] == "李四", "a citizen sees their own name unmasked"
    assert me["document"]["number"] == "4403**********1029"
    assert me["healthCode"]["colour"] in {"GREEN", "YELLOW", "RED"}
    assert all(r["description"] for r in me["healthCode"]["reasons"])
