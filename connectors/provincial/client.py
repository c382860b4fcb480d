"""Connector of the provincial platform: signed batch look-ups of registrations and health records.

Every answer of the platform is an HTTP 200 envelope; its `code` decides the outcome:
40001/40101/40102/40103 -> SourceRejected, 42901/50001/other -> SourceUnavailable. Failures in
front of the platform (gateway 502/503/504, refused or timed-out connections) -> SourceUnavailable;
an answer that breaks the envelope or the models -> SourceContractError.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson

from connectors.errors import SourceContractError, SourceRejected, SourceUnavailable
from connectors.http import (
    ClientConfig,
    Reply,
    SourceClient,
    chunked,
    gather_batches,
    retry_after_seconds,
)
from connectors.provincial.models import (
    BAD_PARAMETER,
    BAD_SIGNATURE,
    MAX_BATCH,
    NONCE_REUSED,
    OK,
    RATE_LIMITED,
    TIMESTAMP_OUT_OF_WINDOW,
    Envelope,
    HealthRecordsData,
    ResidentsData,
    VenueScan,
    VenueScanAck,
)
from connectors.provincial.signing import signed_headers
from connectors.provincial.translate import facts_from_wire, identity_from_wire
from connectors.records import DocumentRef, Identity, ProvincialFacts

RESIDENTS_PATH = "/api/v1/residents/query"
HEALTH_RECORDS_PATH = "/api/v1/health-records/query"
VENUE_SCANS_PATH = "/api/v1/venue-scans"

# the platform's own words are not echoed into exceptions: they could quote a request's data
_REJECTIONS = {
    BAD_PARAMETER: "bad parameter",
    BAD_SIGNATURE: "bad signature",
    TIMESTAMP_OUT_OF_WINDOW: "timestamp out of window",
    NONCE_REUSED: "nonce reused",
}
_AnyEnvelope = Envelope[Any]
_DataT = TypeVar("_DataT", ResidentsData, HealthRecordsData)


@dataclass(frozen=True, kw_only=True)
class ProvincialConfig(ClientConfig):
    """Where the platform is, the app credentials it issued us, and the batch size (at most 100).

    `clock` (epoch seconds) stamps `X-Timestamp`; tests replace it to step outside the window.
    """

    app_id: str
    app_secret: str = field(repr=False)
    batch_size: int = MAX_BATCH
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")


class ProvincialClient(SourceClient):
    """Asks the provincial platform about documents, any number at a time, in signed batches."""

    source = "provincial"

    def __init__(self, config: ProvincialConfig) -> None:
        super().__init__(config)
        self._cfg = config
        # the platform refuses more than 100 per request: a larger setting would only fail
        self.batch_size = min(config.batch_size, MAX_BATCH)

    async def identities(
        self,
        docs: Iterable[DocumentRef],
        *,
        timeout: float | None = None,
    ) -> dict[DocumentRef, Identity | None]:
        """Real-name registration per document; None when it is not registered."""
        route = f"POST {RESIDENTS_PATH}"
        answers = await self._look_up(RESIDENTS_PATH, route, ResidentsData, docs, timeout)
        return {
            doc: identity_from_wire(doc, entry)
            for doc, entry in self._per_document(answers, route).items()
        }

    async def health_records(
        self,
        docs: Iterable[DocumentRef],
        *,
        timeout: float | None = None,
    ) -> dict[DocumentRef, ProvincialFacts | None]:
        """Cases, listings, tests, entries, certificates per document; None when not registered."""
        route = f"POST {HEALTH_RECORDS_PATH}"
        answers = await self._look_up(HEALTH_RECORDS_PATH, route, HealthRecordsData, docs, timeout)
        return {
            doc: facts_from_wire(entry) for doc, entry in self._per_document(answers, route).items()
        }

    async def record_venue_scans(
        self, scans: Iterable[VenueScan], *, timeout: float | None = None
    ) -> VenueScanAck:
        """Forward venue scans (idempotent by scan id: a repeat is not recorded twice)."""
        route = f"POST {VENUE_SCANS_PATH}"
        items = list(scans)
        if not 0 < len(items) <= self.batch_size:
            raise ValueError(f"1 to {self.batch_size} scans per request")
        body = orjson.dumps({"scans": [scan.model_dump(mode="json") for scan in items]})
        cfg = self._cfg
        headers = signed_headers(
            cfg.app_id, cfg.app_secret, "POST", VENUE_SCANS_PATH, body, now=cfg.clock()
        )
        headers["Content-Type"] = "application/json"
        reply = await self.request(
            "POST", VENUE_SCANS_PATH, route=route, headers=headers, body=body, timeout=timeout
        )
        return self.validate(VenueScanAck, self._unwrap(reply, route), route=route)

    # --- one batch -------------------------------------------------------------------------

    async def _look_up(
        self,
        path: str,
        route: str,
        model: type[_DataT],
        docs: Iterable[DocumentRef],
        request_timeout: float | None,
    ) -> list[tuple[list[DocumentRef], _DataT]]:
        wanted = list(dict.fromkeys(docs))  # each document once, in the caller's order
        batches = chunked(wanted, self.batch_size)
        results = await gather_batches(
            *(self._query(path, route, model, batch, request_timeout) for batch in batches)
        )
        return list(zip(batches, results, strict=True))

    async def _query(
        self,
        path: str,
        route: str,
        model: type[_DataT],
        batch: list[DocumentRef],
        request_timeout: float | None,
    ) -> _DataT:
        # serialise once and sign exactly the bytes that are sent
        body = orjson.dumps(
            {"documents": [{"doc_type": d.type, "doc_no": d.number} for d in batch]}
        )
        cfg = self._cfg
        headers = signed_headers(cfg.app_id, cfg.app_secret, "POST", path, body, now=cfg.clock())
        headers["Content-Type"] = "application/json"
        reply = await self.request(
            "POST", path, route=route, headers=headers, body=body, timeout=request_timeout
        )
        return self.validate(model, self._unwrap(reply, route), route=route)

    def _unwrap(self, reply: Reply, route: str) -> Any:
        """The envelope's `data`, or the error tree for a gateway failure or a non-zero code."""
        if reply.status != 200:
            self.raise_for_status(reply, route=route)
            raise SourceContractError(self.source, f"unexpected HTTP {reply.status}", route=route)
        envelope = self.validate(_AnyEnvelope, self.decode_json(reply, route=route), route=route)
        code = envelope.code
        if code == OK:
            if envelope.data is None:
                raise SourceContractError(self.source, "success without data", route=route)
            return envelope.data
        if code in _REJECTIONS:
            raise SourceRejected(
                self.source, f"{_REJECTIONS[code]} ({code})", route=route, code=str(code)
            )
        if code == RATE_LIMITED:
            raise SourceUnavailable(
                self.source,
                f"rate limited ({code})",
                route=route,
                retry_after=retry_after_seconds(reply.headers),
            )
        raise SourceUnavailable(self.source, f"platform error ({code})", route=route)

    def _per_document(
        self, answers: list[tuple[list[DocumentRef], Any]], route: str
    ) -> dict[DocumentRef, Any]:
        """Each requested document's entry; the platform answers one per document, found or not."""
        result: dict[DocumentRef, Any] = {}
        for batch, data in answers:
            entries = {DocumentRef(e.doc_type, e.doc_no): e for e in data.items}
            for doc in batch:
                entry = entries.get(doc)
                if entry is None:
                    raise SourceContractError(
                        self.source, "answer lacks a requested document", route=route
                    )
                result[doc] = entry
        return result
