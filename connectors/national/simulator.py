"""Simulator of the national integrated government service platform.

Routes (all but the token endpoint need `Authorization: Bearer <token>`):
    POST /oauth/token                  OAuth2 client credentials (RFC 6749 §4.4)
    GET  /api/v1/risk-areas            national list; ETag / If-None-Match -> 304; ?sinceVersion=N
    POST /api/v1/itineraries/query     trips of up to 50 documents
    POST /api/v1/flags/query           cross-province flags of up to 50 documents
Errors are plain HTTP statuses with an RFC 7807 problem body (the token endpoint uses RFC 6749
§5.2 error bodies instead, as an OAuth2 server does).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

import orjson
import pydantic
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from connectors.national.models import MAX_BATCH, DocumentQuery, TokenRequest
from connectors.national.translate import flag_to_wire, risk_area_to_wire, trip_to_wire
from connectors.records import DocumentRef, NationalFacts
from connectors.simulation import Simulator, standalone
from connectors.world import World

DEFAULT_PORT = 9102
PROBLEM_JSON = "application/problem+json"
_FORM = "application/x-www-form-urlencoded"
_BEARER_CHALLENGE = 'Bearer realm="national", error="invalid_token"'


@dataclass
class NationalSimulatorConfig:
    """Credentials the simulator accepts (dev defaults), token lifetime, batch limit, clock.

    `clock` (seconds, monotonic) decides token expiry; a test passes its own to move time.
    """

    client_id: str = "ghc-hub"
    client_secret: str = field(default="dev-national-secret", repr=False)
    token_ttl_s: int = 300
    max_batch: int = MAX_BATCH
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def __post_init__(self) -> None:
        if self.token_ttl_s < 1:
            raise ValueError("token_ttl_s must be at least 1 second")
        if self.max_batch < 1:
            raise ValueError("max_batch must be at least 1")


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An RFC 7807 problem answer; `type` is a relative URI naming the kind of problem."""
    body: dict[str, Any] = {"type": f"/problems/{slug}", "title": title, "status": status}
    if detail is not None:
        body["detail"] = detail
    return Response(orjson.dumps(body), status, headers=headers, media_type=PROBLEM_JSON)


def _json(data: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), 200, headers=headers, media_type="application/json")


def _oauth_error(status: int, error: str, description: str) -> Response:
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="national"'
    body = {"error": error, "error_description": description}
    return Response(orjson.dumps(body), status, headers=headers, media_type="application/json")


class _TokenStore:
    """Issued tokens and their expiry, oldest first; expired ones are dropped on every issue.

    The lifetime is the same for every token and the clock is monotonic, so insertion order is
    expiry order and pruning only ever looks at the front. Thread-safe: tests revoke tokens
    from their own thread while the server runs in another.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._tokens: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def issue(self, ttl_s: int) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = self._clock()
            while self._tokens and next(iter(self._tokens.values())) <= now:
                self._tokens.popitem(last=False)
            self._tokens[token] = now + ttl_s
        return token

    def valid(self, token: str) -> bool:
        with self._lock:
            expires = self._tokens.get(token)
            return expires is not None and self._clock() < expires

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()

    def __len__(self) -> int:
        return len(self._tokens)


class NationalSimulator(Simulator):
    """The national platform over a synthetic world: OAuth2, risk areas, trips, flags."""

    source = "national"

    def __init__(self, world: World, config: NationalSimulatorConfig | None = None) -> None:
        self.config = config or NationalSimulatorConfig()
        self.tokens = _TokenStore(self.config.clock)
        super().__init__(world)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/oauth/token", self._token, methods=["POST"]),
            Route("/api/v1/risk-areas", self._risk_areas, methods=["GET"]),
            Route("/api/v1/itineraries/query", self._itineraries, methods=["POST"]),
            Route("/api/v1/flags/query", self._flags, methods=["POST"]),
        ]

    def revoke_tokens(self) -> None:
        """Forget every issued token (what a key rotation on the platform does)."""
        self.tokens.clear()

    # --- the platform's own failure answers ------------------------------------------------

    def internal_error(self) -> Response:
        return problem(
            500,
            "internal-error",
            "Internal Server Error",
            "the platform failed to process the request",
        )

    def overloaded(self) -> Response:
        return problem(
            503,
            "service-unavailable",
            "Service Unavailable",
            "the platform is temporarily unavailable",
        )

    def rate_limited(self, retry_after_s: int) -> Response:
        return problem(
            429,
            "rate-limited",
            "Too Many Requests",
            f"retry after {retry_after_s} s",
            headers={"Retry-After": str(retry_after_s)},
        )

    # --- OAuth2 ----------------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != _FORM:
            return _oauth_error(400, "invalid_request", f"the body must be {_FORM}")
        try:
            form = dict(parse_qsl((await request.body()).decode(), strict_parsing=False))
            fields = TokenRequest.model_validate(form)
        except (UnicodeDecodeError, ValueError, pydantic.ValidationError):
            return _oauth_error(400, "invalid_request", "grant_type is required")
        if fields.grant_type != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "only client_credentials")
        basic = _basic_credentials(request.headers.get("authorization"))
        if basic is not None and (fields.client_id or fields.client_secret):
            # RFC 6749 §2.3: a client MUST NOT use more than one authentication method
            return _oauth_error(400, "invalid_request", "more than one client authentication")
        if basic is None and fields.client_id is None:
            return _oauth_error(401, "invalid_client", "client authentication is required")
        client_id, client_secret = basic or (fields.client_id or "", fields.client_secret or "")
        expected_id, expected_secret = self.config.client_id, self.config.client_secret
        id_ok = hmac.compare_digest(client_id.encode(), expected_id.encode())
        secret_ok = hmac.compare_digest(client_secret.encode(), expected_secret.encode())
        if not (id_ok and secret_ok):
            return _oauth_error(401, "invalid_client", "client authentication failed")
        ttl = self.config.token_ttl_s
        body = {"access_token": self.tokens.issue(ttl), "token_type": "Bearer", "expires_in": ttl}
        return Response(
            orjson.dumps(body),
            200,
            media_type="application/json",
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    def _unauthorised(self, request: Request) -> Response | None:
        """None when the request carries a live bearer token, else the 401 answer (RFC 6750)."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            detail = "a bearer access token is required"
        elif not self.tokens.valid(token.strip()):
            detail = "the access token is unknown or has expired"
        else:
            return None
        return problem(
            401,
            "invalid-token",
            "Unauthorized",
            detail,
            headers={"WWW-Authenticate": _BEARER_CHALLENGE},
        )

    # --- risk areas ------------------------------------------------------------------------

    async def _risk_areas(self, request: Request) -> Response:
        if (refused := self._unauthorised(request)) is not None:
            return refused
        raw_since = request.query_params.get("sinceVersion", "0")
        if not raw_since.isascii() or not raw_since.isdigit():
            return problem(
                400, "bad-request", "Bad Request", "sinceVersion must be a non-negative integer"
            )
        since = int(raw_since)
        # read the version first: entries appended meanwhile are left for the next sync
        version = self.world.risk_area_version
        etag = f'"{version}"'
        if _etag_matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers={"ETag": etag})
        items = [
            risk_area_to_wire(v, area)
            for v, area in self.world.risk_area_changes(since)
            if v <= version
        ]
        return _json({"version": version, "items": items}, headers={"ETag": etag})

    # --- per-subject queries ---------------------------------------------------------------

    async def _itineraries(self, request: Request) -> Response:
        return await self._query(request, "trips", _trips)

    async def _flags(self, request: Request) -> Response:
        return await self._query(request, "flags", _flags)

    async def _query(
        self,
        request: Request,
        key: str,
        facts_to_wire: Callable[[NationalFacts], list[dict[str, Any]]],
    ) -> Response:
        if (refused := self._unauthorised(request)) is not None:
            return refused
        try:
            query = DocumentQuery.model_validate_json(await request.body())
        except pydantic.ValidationError as exc:
            # field paths only: the values may be document numbers
            where = sorted({".".join(str(p) for p in e["loc"]) or "body" for e in exc.errors()})
            return problem(
                400, "bad-request", "Bad Request", f"malformed request at {', '.join(where[:5])}"
            )
        if len(query.documents) > self.config.max_batch:
            return problem(
                400,
                "batch-too-large",
                "Bad Request",
                f"at most {self.config.max_batch} documents per request",
            )
        docs = [DocumentRef.normalised(d.document_type, d.document_number) for d in query.documents]
        if self.subject_unavailable(docs):
            return problem(
                503,
                "subject-unavailable",
                "Service Unavailable",
                "the records of a requested subject cannot be read now",
            )
        items = []
        for asked, doc in zip(query.documents, docs, strict=True):
            person = self.world.person(doc)
            facts = person.national if person is not None else NationalFacts()
            items.append(
                {
                    "documentType": asked.document_type,
                    "documentNumber": asked.document_number,  # echoed as asked, for matching
                    key: facts_to_wire(facts),
                }
            )
        return _json({"items": items})


def _trips(facts: NationalFacts) -> list[dict[str, Any]]:
    return [trip_to_wire(t) for t in facts.trips]


def _flags(facts: NationalFacts) -> list[dict[str, Any]]:
    return [flag_to_wire(f) for f in facts.flags]


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(client_id, client_secret) of an HTTP Basic header, form-decoded per RFC 6749 §2.3.1."""
    if not header:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")  # present but unreadable: authentication fails
    client_id, _, client_secret = decoded.partition(":")
    return unquote_plus(client_id), unquote_plus(client_secret)


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 §13.1.2: weak comparison against a list of tags, or `*`."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


def main(argv: list[str] | None = None) -> None:
    standalone(NationalSimulator, DEFAULT_PORT, argv)


if __name__ == "__main__":
    main()
