"""Simulator of the Hong Kong systems: HK health code and the cross-boundary driver system.

Routes (all need `Authorization: ApiKey <key>`; every error is `{"error": {"code", "message"}}`):

    GET  /api/v1/health-codes/{documentType}/{documentNumber}        code, or 404 NOT_FOUND
    GET  /api/v1/driver-declarations?documents=T:N,…&limit=&cursor=  cursor-paginated list
    POST /api/v1/driver-declarations                                 201 receipt / 200 repeat / 409
    GET  /api/v1/drivers/{documentType}/{documentNumber}/exemption   status, or 404 NOT_FOUND

Run standalone with `python -m connectors.hongkong.simulator --seed 1 --size 1000`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import pydantic
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from connectors.hongkong import models, translate
from connectors.records import DOCUMENT_TYPES, DocumentRef, Person
from connectors.simulation import Simulator, standalone
from connectors.world import World

DEFAULT_PORT = 9104


@dataclass(frozen=True)
class HongKongSimulatorConfig:
    """Credentials (development defaults) and the limits the simulated system enforces."""

    api_key: str = field(default="dev-hongkong-key", repr=False)
    max_documents: int = 50  # documents per driver-declaration list request
    default_limit: int = 20
    max_limit: int = 100
    cursor_secret: bytes = field(default=b"dev-hongkong-cursor-secret", repr=False)


@dataclass(frozen=True)
class StoredSubmission:
    """A declaration the hub forwarded, as received, with the receipt it was given."""

    body: dict[str, Any]
    received_at: datetime


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status, headers, media_type="application/json")


def error(http_status: int, code: str, message: str, **extra: Any) -> Response:
    """The Hong Kong systems' one error shape."""
    headers = {"WWW-Authenticate": "ApiKey"} if http_status == 401 else None
    return _json({"error": {"code": code, "message": message, **extra}}, http_status, headers)


class _BadRequest(Exception):
    """A malformed request; the message is safe to send back (it names no person)."""


def _document(type_: str, number: str) -> DocumentRef:
    if type_ not in DOCUMENT_TYPES:
        raise _BadRequest(f"unknown document type; expected one of {', '.join(DOCUMENT_TYPES)}")
    if not 1 <= len(number) <= 40 or "," in number:
        raise _BadRequest("document number must be 1 to 40 characters without commas")
    return DocumentRef(type_, number)


def _path_document(request: Request) -> DocumentRef:
    return _document(request.path_params["documentType"], request.path_params["documentNumber"])


class HongKongSimulator(Simulator):
    """Serves the world's Hong Kong facts in the Hong Kong wire style."""

    source = "hongkong"

    def __init__(self, world: World, config: HongKongSimulatorConfig | None = None) -> None:
        self.config = config or HongKongSimulatorConfig()
        self.submissions: dict[str, StoredSubmission] = {}
        super().__init__(world)

    def routes(self) -> list[BaseRoute]:
        return [
            Route(
                "/api/v1/health-codes/{documentType}/{documentNumber}",
                self._health_code,
                methods=["GET"],
            ),
            Route("/api/v1/driver-declarations", self._list_declarations, methods=["GET"]),
            Route("/api/v1/driver-declarations", self._submit_declaration, methods=["POST"]),
            Route(
                "/api/v1/drivers/{documentType}/{documentNumber}/exemption",
                self._exemption,
                methods=["GET"],
            ),
        ]

    # --- the system's own failure styles ---------------------------------------------------

    def internal_error(self) -> Response:
        return error(500, "INTERNAL", "internal error")

    def rate_limited(self, retry_after_s: int) -> Response:
        response = error(429, "RATE_LIMITED", "too many requests")
        response.headers["Retry-After"] = str(retry_after_s)
        return response

    def subject_down(self) -> Response:
        return error(503, "UNAVAILABLE", "the system cannot answer for this subject now")

    # --- guards ------------------------------------------------------------------------------

    def _unauthorised(self, request: Request) -> Response | None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        expected = self.config.api_key.encode()
        if scheme != "ApiKey" or not hmac.compare_digest(key.strip().encode(), expected):
            return error(401, "UNAUTHORIZED", "missing or invalid API key")
        return None

    def _lookup(self, doc: DocumentRef) -> Person | None:
        return self.world.person(DocumentRef.normalised(doc.type, doc.number))

    # --- routes ------------------------------------------------------------------------------

    async def _health_code(self, request: Request) -> Response:
        if refused := self._unauthorised(request):
            return refused
        try:
            doc = _path_document(request)
        except _BadRequest as exc:
            return error(400, "BAD_REQUEST", str(exc))
        if self.subject_unavailable([DocumentRef.normalised(doc.type, doc.number)]):
            return self.subject_down()
        person = self._lookup(doc)
        if person is None or person.hongkong.health_code is None:
            return error(404, "NOT_FOUND", "no health code for this document")
        return _json(translate.health_code_to_wire(doc, person.hongkong.health_code))

    async def _exemption(self, request: Request) -> Response:
        if refused := self._unauthorised(request):
            return refused
        try:
            doc = _path_document(request)
        except _BadRequest as exc:
            return error(400, "BAD_REQUEST", str(exc))
        if self.subject_unavailable([DocumentRef.normalised(doc.type, doc.number)]):
            return self.subject_down()
        person = self._lookup(doc)
        status = person.hongkong.driver_status if person else None
        if person is None or status is None:
            return error(404, "NOT_FOUND", "this document is not on the exemption list")
        # the world does not record when a status changed; its anchor instant stands in
        return _json(translate.exemption_to_wire(doc, status, self.world.now))

    async def _list_declarations(self, request: Request) -> Response:
        if refused := self._unauthorised(request):
            return refused
        try:
            docs = self._documents_param(request.query_params.get("documents"))
            limit = self._limit_param(request.query_params.get("limit"))
            query = ",".join(doc.key for doc in docs)
            cursor = request.query_params.get("cursor")
            offset = 0 if cursor is None else self._read_cursor(cursor, query)
        except _BadRequest as exc:
            return error(400, "BAD_REQUEST", str(exc))
        if self.subject_unavailable([DocumentRef.normalised(d.type, d.number) for d in docs]):
            return self.subject_down()
        items: list[dict[str, Any]] = []
        for doc in docs:
            person = self._lookup(doc)
            if person is not None:
                items.extend(
                    translate.declaration_to_wire(doc, d)
                    for d in person.hongkong.driver_declarations
                )
        end = offset + limit
        next_cursor = self._make_cursor(end, query) if end < len(items) else None
        return _json({"items": items[offset:end], "nextCursor": next_cursor})

    async def _submit_declaration(self, request: Request) -> Response:
        if refused := self._unauthorised(request):
            return refused
        try:
            body = orjson.loads(await request.body())
            submission = models.DeclarationSubmission.model_validate(body)
        except (orjson.JSONDecodeError, pydantic.ValidationError) as exc:
            fields = ""
            if isinstance(exc, pydantic.ValidationError):
                fields = ": " + ", ".join(
                    sorted({".".join(str(p) for p in e["loc"]) or "body" for e in exc.errors()})
                )
            return error(400, "BAD_REQUEST", f"malformed declaration{fields}")
        doc = translate.document_from_wire(submission.document)
        if self.subject_unavailable([doc]):
            return self.subject_down()
        wire = submission.model_dump(mode="json")
        stored = self.submissions.get(submission.declarationId)
        if stored is not None:
            if stored.body != wire:
                return error(409, "DECLARATION_CONFLICT", "declarationId already used otherwise")
            return _json(translate.receipt_to_wire(submission.declarationId, stored.received_at))
        person = self.world.person(doc)
        status = person.hongkong.driver_status if person else None
        if status != "ACTIVE":
            # status null: the driver is not on the exemption list at all
            return error(409, "DRIVER_NOT_ACTIVE", "the driver is not ACTIVE on the exemption list",
                         status=status)  # fmt: skip
        received_at = datetime.now(UTC).replace(microsecond=0)
        self.submissions[submission.declarationId] = StoredSubmission(wire, received_at)
        return _json(translate.receipt_to_wire(submission.declarationId, received_at), 201)

    # --- query parameters and cursors -------------------------------------------------------

    def _documents_param(self, raw: str | None) -> list[DocumentRef]:
        if not raw:
            raise _BadRequest("documents is required: TYPE:NUMBER,TYPE:NUMBER,…")
        docs: dict[DocumentRef, None] = {}
        for part in raw.split(","):
            type_, sep, number = part.strip().partition(":")
            if not sep:
                raise _BadRequest("each document must be written TYPE:NUMBER")
            docs[_document(type_, number)] = None
        if len(docs) > self.config.max_documents:
            raise _BadRequest(f"at most {self.config.max_documents} documents per request")
        return list(docs)

    def _limit_param(self, raw: str | None) -> int:
        if raw is None:
            return self.config.default_limit
        if not raw.isdigit() or not 1 <= int(raw) <= self.config.max_limit:
            raise _BadRequest(f"limit must be an integer from 1 to {self.config.max_limit}")
        return int(raw)

    def _query_hash(self, query: str) -> str:
        return hashlib.sha256(query.encode()).hexdigest()[:16]

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self.config.cursor_secret, payload.encode(), hashlib.sha256)
        return digest.hexdigest()[:24]

    def _make_cursor(self, offset: int, query: str) -> str:
        # opaque: offset + a hash of the query, signed, so it cannot be forged or reused elsewhere
        payload = f"{offset}:{self._query_hash(query)}"
        token = f"{payload}:{self._sign(payload)}".encode()
        return base64.urlsafe_b64encode(token).decode().rstrip("=")

    def _read_cursor(self, cursor: str, query: str) -> int:
        invalid = _BadRequest("invalid cursor")
        try:
            token = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise invalid from None
        offset, _, rest = token.partition(":")
        query_hash, _, signature = rest.partition(":")
        payload = f"{offset}:{query_hash}"
        if not hmac.compare_digest(signature, self._sign(payload)) or not offset.isdigit():
            raise invalid
        if query_hash != self._query_hash(query):
            raise _BadRequest("invalid cursor: it belongs to another query")
        return int(offset)

    # --- admin ------------------------------------------------------------------------------

    def reset_state(self) -> None:
        """Back to the initial world; forwarded declarations are forgotten too."""
        self.submissions.clear()


def main(argv: list[str] | None = None) -> None:
    standalone(HongKongSimulator, DEFAULT_PORT, argv)


if __name__ == "__main__":
    main()
