"""Simulator of the provincial platform: signed batch look-ups over the synthetic world.

Routes (POST, JSON body `{"documents": [{"doc_type", "doc_no"}, ...]}`, at most 100):
    /api/v1/residents/query        real-name registration per document
    /api/v1/health-records/query   cases, listings, NAT, antibody, entries, certificates
Every answer of the platform itself is HTTP 200 with `{"code", "msg", "data"}`; the gateway in
front answers plain 503 when the platform (or a subject's shard) is down.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pydantic
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from connectors.provincial.models import (
    BAD_PARAMETER,
    BAD_SIGNATURE,
    INTERNAL_ERROR,
    MAX_BATCH,
    NONCE_REUSED,
    OK,
    RATE_LIMITED,
    TIMESTAMP_OUT_OF_WINDOW,
    QueryRequest,
    VenueScan,
    VenueScanBatch,
)
from connectors.provincial.signing import (
    APP_ID_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature,
)
from connectors.provincial.translate import facts_to_wire, identity_to_wire
from connectors.records import DocumentRef
from connectors.simulation import Simulator, standalone
from connectors.world import World

DEFAULT_PORT = 9101
DEV_APP_ID = "ghc-hub"
DEV_APP_SECRET = "dev-provincial-secret"
_MAX_NONCE_LENGTH = 64


@dataclass
class ProvincialSimulatorConfig:
    """The app it knows (dev defaults), its batch limit and its replay-protection windows."""

    app_id: str = DEV_APP_ID
    app_secret: str = field(default=DEV_APP_SECRET, repr=False)
    max_batch: int = MAX_BATCH
    timestamp_window_s: float = 300.0  # |now - X-Timestamp| above this -> 40102
    nonce_ttl_s: float = 600.0  # a nonce seen this recently -> 40103
    clock: Callable[[], float] = field(default=time.time, repr=False)


class _Refusal(Exception):
    """A request the platform answers with a non-zero code."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


def envelope(
    code: int, msg: str, data: Any = None, headers: dict[str, str] | None = None
) -> Response:
    """The platform's answer: always HTTP 200, the outcome is in `code`."""
    body = orjson.dumps({"code": code, "msg": msg, "data": data})
    return Response(body, status_code=200, media_type="application/json", headers=headers)


class ProvincialSimulator(Simulator):
    venue_scans: dict[str, VenueScan]
    """Serves the world's provincial facts in the platform's wire style, signature checked."""

    source = "provincial"

    def __init__(self, world: World, config: ProvincialSimulatorConfig | None = None) -> None:
        self.config = config or ProvincialSimulatorConfig()
        # nonce -> when it was seen; insertion order is arrival order, so pruning pops the front
        self._nonces: dict[str, float] = {}
        self.venue_scans = {}  # scan id -> the scan, as recorded
        super().__init__(world)

    @property
    def remembered_nonces(self) -> int:
        """How many nonces the replay check holds (bounded by the TTL)."""
        return len(self._nonces)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/api/v1/residents/query", self._residents, methods=["POST"]),
            Route("/api/v1/health-records/query", self._health_records, methods=["POST"]),
            Route("/api/v1/venue-scans", self._venue_scans, methods=["POST"]),
        ]

    async def _venue_scans(self, request: Request) -> Response:
        """Record venue scans the hub forwards; idempotent by `scan_id` (a repeat is a no-op)."""
        body = await request.body()
        try:
            self._authenticate(request, body)
            payload = VenueScanBatch.model_validate_json(body)
        except _Refusal as refusal:
            return envelope(refusal.code, refusal.msg)
        except pydantic.ValidationError as exc:
            where = ".".join(str(p) for p in exc.errors()[0]["loc"])
            return envelope(BAD_PARAMETER, f"invalid parameter: {where}")
        if len(payload.scans) > self.config.max_batch:
            return envelope(BAD_PARAMETER, f"at most {self.config.max_batch} scans per request")
        accepted = 0
        for scan in payload.scans:
            if scan.scan_id not in self.venue_scans:
                self.venue_scans[scan.scan_id] = scan
                accepted += 1
        return envelope(OK, "success", {"accepted": accepted, "received": len(payload.scans)})

    def reset_state(self) -> None:
        self.venue_scans.clear()

    # --- the platform's own failure answers ------------------------------------------------

    def internal_error(self) -> Response:
        return envelope(INTERNAL_ERROR, "internal error")

    def rate_limited(self, retry_after_s: int) -> Response:
        return envelope(
            RATE_LIMITED, "too many requests", headers={"Retry-After": str(retry_after_s)}
        )

    # --- routes ----------------------------------------------------------------------------

    async def _residents(self, request: Request) -> Response:
        def answer(key: DocumentRef, doc: DocumentRef) -> dict[str, Any]:
            person = self.world.person(doc)
            return identity_to_wire(key.type, key.number, person.identity if person else None)

        return await self._serve(request, answer)

    async def _health_records(self, request: Request) -> Response:
        def answer(key: DocumentRef, doc: DocumentRef) -> dict[str, Any]:
            person = self.world.person(doc)
            return facts_to_wire(key.type, key.number, person.provincial if person else None)

        return await self._serve(request, answer)

    async def _serve(
        self, request: Request, answer: Callable[[DocumentRef, DocumentRef], dict[str, Any]]
    ) -> Response:
        """Authenticate, parse the batch, answer one entry per requested document."""
        body = await request.body()
        try:
            self._authenticate(request, body)
            keys = self._documents(body)
        except _Refusal as refusal:
            return envelope(refusal.code, refusal.msg)
        # the platform normalises what it is asked; the answer echoes the request's spelling
        docs = [DocumentRef.normalised(k.type, k.number) for k in keys]
        if self.subject_unavailable(docs):
            return self.overloaded()  # the subject's shard is down: the gateway answers
        items = [answer(key, doc) for key, doc in zip(keys, docs, strict=True)]
        return envelope(OK, "success", {"items": items})

    # --- checks ----------------------------------------------------------------------------

    def _authenticate(self, request: Request, body: bytes) -> None:
        cfg = self.config
        headers = request.headers
        app_id = headers.get(APP_ID_HEADER)
        timestamp = headers.get(TIMESTAMP_HEADER)
        nonce = headers.get(NONCE_HEADER)
        signed = headers.get(SIGNATURE_HEADER)
        if not (app_id and timestamp and nonce and signed):
            raise _Refusal(BAD_SIGNATURE, "missing signature headers")
        if app_id != cfg.app_id:
            raise _Refusal(BAD_SIGNATURE, "unknown app id")
        if len(nonce) > _MAX_NONCE_LENGTH:
            raise _Refusal(BAD_SIGNATURE, f"nonce longer than {_MAX_NONCE_LENGTH} characters")
        try:
            stamped = int(timestamp)
        except ValueError:
            raise _Refusal(TIMESTAMP_OUT_OF_WINDOW, "timestamp is not epoch seconds") from None
        now = cfg.clock()
        if abs(now - stamped) > cfg.timestamp_window_s:
            raise _Refusal(
                TIMESTAMP_OUT_OF_WINDOW,
                f"timestamp more than {cfg.timestamp_window_s:g} s from platform time",
            )
        expected = signature(cfg.app_secret, request.method, _path_with_query(request),
                             timestamp, nonce, body)  # fmt: skip
        if not hmac.compare_digest(expected.encode(), signed.encode()):
            raise _Refusal(BAD_SIGNATURE, "signature mismatch")
        # only a correctly signed request spends its nonce, so a forger cannot burn nonces
        self._forget_nonces_before(now - cfg.nonce_ttl_s)
        if nonce in self._nonces:
            raise _Refusal(NONCE_REUSED, "nonce already used")
        self._nonces[nonce] = now

    def _forget_nonces_before(self, cutoff: float) -> None:
        """Bounded memory: past the TTL a nonce's timestamp is out of window, so it can go."""
        while self._nonces:
            oldest = next(iter(self._nonces))
            if self._nonces[oldest] >= cutoff:
                break
            del self._nonces[oldest]

    def _documents(self, body: bytes) -> list[DocumentRef]:
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise _Refusal(BAD_PARAMETER, "body is not valid JSON") from None
        documents = payload.get("documents") if isinstance(payload, dict) else None
        if not isinstance(documents, list):
            raise _Refusal(BAD_PARAMETER, "documents must be a list")
        if len(documents) > self.config.max_batch:
            raise _Refusal(BAD_PARAMETER, f"at most {self.config.max_batch} documents per request")
        try:
            request = QueryRequest.model_validate(payload)
        except pydantic.ValidationError as exc:
            where = ".".join(str(p) for p in exc.errors()[0]["loc"])
            raise _Refusal(BAD_PARAMETER, f"invalid parameter: {where}") from None
        return [DocumentRef(d.doc_type, d.doc_no) for d in request.documents]


def _path_with_query(request: Request) -> str:
    """The path as sent on the wire, with its query string: what the client signed."""
    raw = request.scope.get("raw_path") or request.scope["path"].encode()
    query = request.scope.get("query_string", b"")
    path = raw.decode("latin-1")
    return f"{path}?{query.decode('latin-1')}" if query else path


def main(argv: list[str] | None = None) -> None:
    standalone(ProvincialSimulator, DEFAULT_PORT, argv)


if __name__ == "__main__":
    main()
