"""Connector to the Hong Kong systems: HK health code, driver declarations and exemption list.

Every public method takes `timeout` (seconds): a deadline for the whole call, so each request
it makes (pages, batches, queued behind the concurrency bound) gets what is left of it.
"No record" is an answer (None or an empty tuple); only a failed request raises, and it raises
one of `connectors.errors`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

import orjson
import pydantic

from connectors.errors import SourceContractError, SourceRejected, SourceUnavailable
from connectors.hongkong import models, translate
from connectors.hongkong.translate import DeclarationPage, DeclarationReceipt
from connectors.http import ClientConfig, ModelT, Reply, SourceClient, chunked, gather_batches
from connectors.records import DocumentRef, DriverDeclaration, HongKongCode

HEALTH_CODE = "GET /api/v1/health-codes/{documentType}/{documentNumber}"
LIST_DECLARATIONS = "GET /api/v1/driver-declarations"
SUBMIT_DECLARATION = "POST /api/v1/driver-declarations"
EXEMPTION = "GET /api/v1/drivers/{documentType}/{documentNumber}/exemption"

_ERROR_CODE = re.compile(r"[A-Z][A-Z_]{0,39}")  # only enum-like codes are echoed in messages
MAX_DOCUMENTS = 50  # the system's limit per driver-declaration list request
MAX_PAGE_LIMIT = 100


@dataclass(frozen=True, kw_only=True)
class HongKongConfig(ClientConfig):
    """Where the Hong Kong systems are, the API key, and the limits the client keeps to."""

    api_key: str = field(repr=False)
    max_concurrency: int = 8  # the health code is one subject per request: bound the fan-out
    batch_size: int = MAX_DOCUMENTS
    page_limit: int = MAX_PAGE_LIMIT

    def __post_init__(self) -> None:
        if self.max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        if not 1 <= self.batch_size <= MAX_DOCUMENTS:
            raise ValueError(f"batch_size must be from 1 to {MAX_DOCUMENTS}")
        if not 1 <= self.page_limit <= MAX_PAGE_LIMIT:
            raise ValueError(f"page_limit must be from 1 to {MAX_PAGE_LIMIT}")


class DriverNotActive(SourceRejected):
    """409 DRIVER_NOT_ACTIVE: the driver is not ACTIVE on the exemption list.

    `code` is "DRIVER_NOT_ACTIVE"; `status` is the list status the system reported
    ("SUSPENDED" or "REMOVED"), or None when the driver is not on the list at all.
    """

    def __init__(self, source: str, *, route: str, status: str | None) -> None:
        super().__init__(
            source,
            f"driver is not ACTIVE on the exemption list (status {status or 'none'})",
            route=route,
            code="DRIVER_NOT_ACTIVE",
        )
        self.status = status


class HongKongClient(SourceClient):
    """Reads Hong Kong codes, driver declarations and exemption status; forwards declarations."""

    source = "hongkong"
    config: HongKongConfig

    def __init__(self, config: HongKongConfig) -> None:
        super().__init__(config)
        self._slots = asyncio.Semaphore(config.max_concurrency)
        self._headers = {"Authorization": f"ApiKey {config.api_key}", "Accept": "application/json"}

    # --- health code ---------------------------------------------------------------------

    async def health_code(
        self, doc: DocumentRef, *, timeout: float | None = None
    ) -> HongKongCode | None:
        """The person's HK health code (AMBER as YELLOW), or None when Hong Kong has none."""
        return await self._health_code(doc, _deadline(timeout))

    async def health_codes(
        self, docs: Iterable[DocumentRef], *, timeout: float | None = None
    ) -> dict[DocumentRef, HongKongCode | None]:
        """One code (or None) per distinct document; at most `max_concurrency` requests at once."""
        unique = list(dict.fromkeys(docs))
        deadline = _deadline(timeout)
        codes = await gather_batches(*(self._health_code(doc, deadline) for doc in unique))
        return dict(zip(unique, codes, strict=True))

    async def _health_code(self, doc: DocumentRef, deadline: float | None) -> HongKongCode | None:
        reply = await self._call("GET", _subject_path("health-codes", doc), HEALTH_CODE, deadline)
        if reply.status == 404 and self._is_not_found(reply, HEALTH_CODE):
            return None
        answer = self._answer(models.HealthCode, reply, HEALTH_CODE, expect=(200,))
        self._check_subject(doc, answer.document, HEALTH_CODE)
        return translate.health_code_from_wire(answer)

    # --- driver declarations ---------------------------------------------------------------

    async def driver_declarations(
        self, docs: Iterable[DocumentRef], *, timeout: float | None = None
    ) -> dict[DocumentRef, tuple[DriverDeclaration, ...]]:
        """Every declaration of every distinct document (an empty tuple when it has none).

        Documents go in batches of `batch_size` (run concurrently); every page is followed.
        """
        unique = list(dict.fromkeys(docs))
        deadline = _deadline(timeout)
        found: dict[DocumentRef, list[DriverDeclaration]] = {doc: [] for doc in unique}

        async def batch(chunk: list[DocumentRef]) -> None:
            cursor: str | None = None
            seen: set[str] = set()
            while True:
                page = await self._page(chunk, cursor, self.config.page_limit, deadline)
                for doc, declaration in page.items:
                    found[doc].append(declaration)
                if page.next_cursor is None:
                    return
                if page.next_cursor in seen:
                    raise SourceContractError(
                        self.source, "pagination loops", route=LIST_DECLARATIONS
                    )
                seen.add(page.next_cursor)
                cursor = page.next_cursor

        await gather_batches(*(batch(c) for c in chunked(unique, self.config.batch_size)))
        return {doc: tuple(found[doc]) for doc in unique}

    async def declaration_page(
        self,
        docs: Iterable[DocumentRef],
        *,
        cursor: str | None = None,
        limit: int | None = None,
        timeout: float | None = None,
    ) -> DeclarationPage:
        """One page of the list for up to 50 documents, items keyed by the requested document."""
        unique = list(dict.fromkeys(docs))
        if not 1 <= len(unique) <= MAX_DOCUMENTS:
            raise ValueError(f"a page is asked for 1 to {MAX_DOCUMENTS} documents")
        return await self._page(unique, cursor, limit, _deadline(timeout))

    async def _page(
        self,
        docs: list[DocumentRef],
        cursor: str | None,
        limit: int | None,
        deadline: float | None,
    ) -> DeclarationPage:
        params = {"documents": ",".join(doc.key for doc in docs)}
        if limit is not None:
            params["limit"] = str(limit)
        if cursor is not None:
            params["cursor"] = cursor
        reply = await self._call("GET", "/api/v1/driver-declarations", LIST_DECLARATIONS,
                                 deadline, params=params)  # fmt: skip
        page = translate.page_from_wire(
            self._answer(models.DeclarationPage, reply, LIST_DECLARATIONS, expect=(200,))
        )
        # items come back keyed by the document as the system spells it: map to what was asked
        asked = {DocumentRef.normalised(doc.type, doc.number): doc for doc in docs}
        items = []
        for doc, declaration in page.items:
            if doc not in asked:
                raise SourceContractError(
                    self.source, "an item names a document that was not asked about",
                    route=LIST_DECLARATIONS,
                )  # fmt: skip
            items.append((asked[doc], declaration))
        return DeclarationPage(tuple(items), page.next_cursor)

    # --- exemption list and submissions -----------------------------------------------------

    async def driver_status(self, doc: DocumentRef, *, timeout: float | None = None) -> str | None:
        """ACTIVE, SUSPENDED or REMOVED; None when the driver is not on the exemption list."""
        path = _subject_path("drivers", doc) + "/exemption"
        reply = await self._call("GET", path, EXEMPTION, _deadline(timeout))
        if reply.status == 404 and self._is_not_found(reply, EXEMPTION):
            return None
        answer = self._answer(models.Exemption, reply, EXEMPTION, expect=(200,))
        self._check_subject(doc, answer.document, EXEMPTION)
        return translate.exemption_from_wire(answer)

    async def submit_declaration(
        self,
        declaration_id: str,
        doc: DocumentRef,
        *,
        plate: str,
        port: str,
        planned_entry_at: datetime,
        lodging: str | None = None,
        timeout: float | None = None,
    ) -> DeclarationReceipt:
        """Forward a declaration the hub recorded; safe to repeat (same id -> stored receipt).

        Raises `DriverNotActive` (a SourceRejected with code "DRIVER_NOT_ACTIVE" and `.status`)
        when the driver is not ACTIVE on the exemption list.
        """
        wire = translate.submission_to_wire(
            declaration_id, doc, plate=plate, port=port,
            planned_entry_at=planned_entry_at, lodging=lodging,
        )  # fmt: skip
        reply = await self._call("POST", "/api/v1/driver-declarations", SUBMIT_DECLARATION,
                                 _deadline(timeout), body=orjson.dumps(wire))  # fmt: skip
        answer = self._answer(models.Receipt, reply, SUBMIT_DECLARATION, expect=(200, 201))
        if answer.declarationId != declaration_id:
            raise SourceContractError(
                self.source, "receipt names another declaration", route=SUBMIT_DECLARATION
            )
        return translate.receipt_from_wire(answer, repeated=reply.status == 200)

    # --- one request, and what its answer means ---------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        route: str,
        deadline: float | None,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Reply:
        headers = self._headers
        if body is not None:
            headers = {**headers, "Content-Type": "application/json"}
        async with self._slots:
            timeout = None
            if deadline is not None:
                timeout = deadline - asyncio.get_running_loop().time()
                if timeout <= 0:
                    raise SourceUnavailable(self.source, "timed out", route=route)
            return await self.request(method, path, route=route, headers=headers, body=body,
                                      params=params, timeout=timeout)  # fmt: skip

    def _answer(
        self, model: type[ModelT], reply: Reply, route: str, *, expect: tuple[int, ...]
    ) -> ModelT:
        """Raise for an error status, else decode and validate the success body."""
        if reply.status not in expect:
            self._raise_error(reply, route)
        return self.validate(model, self.decode_json(reply, route=route), route=route)

    def _raise_error(self, reply: Reply, route: str) -> None:
        if reply.status == 429 or reply.status >= 500:
            self.raise_for_status(reply, route=route)  # unavailable, with Retry-After if given
        detail = self._error_detail(reply)
        if reply.status < 400 or detail is None:
            raise SourceContractError(
                self.source, f"unexpected HTTP {reply.status} answer", route=route
            )
        if reply.status == 409 and detail.code == "DRIVER_NOT_ACTIVE":
            raise DriverNotActive(self.source, route=route, status=detail.status)
        code = detail.code if _ERROR_CODE.fullmatch(detail.code) else str(reply.status)
        raise SourceRejected(self.source, f"HTTP {reply.status} {code}", route=route, code=code)

    def _error_detail(self, reply: Reply) -> models.ErrorDetail | None:
        try:
            return models.ErrorBody.model_validate(orjson.loads(reply.body)).error
        except (orjson.JSONDecodeError, pydantic.ValidationError):
            return None

    def _is_not_found(self, reply: Reply, route: str) -> bool:
        """A 404 in the system's own error style means "no record"; any other 404 is a fault."""
        detail = self._error_detail(reply)
        if detail is None or detail.code != "NOT_FOUND":
            raise SourceContractError(
                self.source, "404 without a NOT_FOUND error body", route=route
            )
        return True

    def _check_subject(self, doc: DocumentRef, wire: models.Document, route: str) -> None:
        if translate.document_from_wire(wire) != DocumentRef.normalised(doc.type, doc.number):
            raise SourceContractError(self.source, "answer is about another document", route=route)


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else asyncio.get_running_loop().time() + timeout


def _subject_path(collection: str, doc: DocumentRef) -> str:
    return f"/api/v1/{collection}/{quote(doc.type, safe='')}/{quote(doc.number, safe='')}"
