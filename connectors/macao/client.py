"""The Macao health code connector: one subject per request, under a concurrency bound.

Macao has no batch endpoint, so `health_codes` sends one request per distinct document, at
most `max_concurrency` at a time (the hub bounds its own load on Macao). Macao names people
only by MACAO_ID or HOME_RETURN_PERMIT: any other document type has no Macao code by
construction, so it is answered None without a request. A 404 `SEM_REGISTO` is "no record"
(None), not an error. Every failure is raised as the `connectors.errors` tree.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import quote

import orjson
import pydantic

from connectors.errors import SourceContractError, SourceRejected, SourceUnavailable
from connectors.http import ClientConfig, Reply, SourceClient, gather_batches
from connectors.macao.models import (
    BAD_TICKET,
    NO_RECORD,
    SUPPORTED_TYPES,
    BilheteTransferencia,
    CodigoSaude,
    Erro,
    ReciboBilhete,
)
from connectors.macao.translate import (
    TicketReceipt,
    code_from_wire,
    document_from_wire,
    receipt_from_wire,
)
from connectors.records import DocumentRef, MacaoCode

CODE_ROUTE = "GET /api/v1/codigos-saude/{tipo}/{numero}"
TICKET_ROUTE = "POST /api/v1/bilhetes-transferencia"


@dataclass(frozen=True, kw_only=True)
class MacaoConfig(ClientConfig):
    """Where Macao is, the API key it issued to the hub, and how many requests may be in flight."""

    api_key: str = field(repr=False)  # a credential: never in a repr, a log or an error
    max_concurrency: int = 8

    def __post_init__(self) -> None:
        if self.max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")


class MacaoClient(SourceClient):
    """Reads Macao health codes and delivers code transfer tickets to Macao."""

    source = "macao"
    config: MacaoConfig

    def __init__(self, config: MacaoConfig) -> None:
        super().__init__(config)
        self.config = config
        # One bound per client (one client per process): every request to Macao takes a slot.
        self._slots = asyncio.Semaphore(config.max_concurrency)

    # --- public API --------------------------------------------------------------------------
    # `timeout` is the connector contract (a caller passes what is left of its deadline), hence
    # the ASYNC109 exemptions below.

    async def health_code(
        self,
        doc: DocumentRef,
        *,
        timeout: float | None = None,
    ) -> MacaoCode | None:
        """The person's Macao health code, or None when Macao has no record of them.

        `timeout` (seconds) bounds the whole call, including the wait for a free slot.
        """
        if doc.type not in SUPPORTED_TYPES:
            return None
        return await self._health_code(doc, _deadline(timeout))

    async def health_codes(
        self,
        docs: Iterable[DocumentRef],
        *,
        timeout: float | None = None,
    ) -> dict[DocumentRef, MacaoCode | None]:
        """The code of every requested document (None: no record); one request per distinct one.

        The first failure cancels the requests still in flight and is raised. `timeout` bounds
        the whole call.
        """
        wanted = list(dict.fromkeys(docs))
        asked = [doc for doc in wanted if doc.type in SUPPORTED_TYPES]
        deadline = _deadline(timeout)
        codes = await gather_batches(*(self._health_code(doc, deadline) for doc in asked))
        answers: dict[DocumentRef, MacaoCode | None] = dict.fromkeys(wanted)
        answers.update(zip(asked, codes, strict=True))
        return answers

    async def deliver_ticket(
        self,
        ticket: BilheteTransferencia | Mapping[str, Any],
        *,
        timeout: float | None = None,
    ) -> TicketReceipt:
        """Deliver a code transfer ticket; the receipt says whether Macao already had it.

        A model is sent in its wire form; a mapping is sent as given and Macao judges its shape
        (a malformed ticket is SourceRejected with code BILHETE_INVALIDO). Delivery is idempotent
        by `bilheteId`, so a delivery whose outcome is unknown can simply be repeated.
        """
        payload: Any = (
            ticket.model_dump(mode="json") if isinstance(ticket, pydantic.BaseModel) else ticket
        )
        try:
            body = orjson.dumps(payload)
        except TypeError as exc:  # orjson.JSONEncodeError is a TypeError
            raise SourceRejected(
                self.source, "ticket is not JSON, not sent", route=TICKET_ROUTE, code=BAD_TICKET
            ) from exc
        reply = await self._send("POST", "/api/v1/bilhetes-transferencia", TICKET_ROUTE,
                                 _deadline(timeout), body=body)  # fmt: skip
        if reply.status not in (200, 201):
            self._fail(reply, TICKET_ROUTE)
        data = self.decode_json(reply, route=TICKET_ROUTE)
        wire = self.validate(ReciboBilhete, data, route=TICKET_ROUTE)
        sent_id = payload.get("bilheteId") if isinstance(payload, Mapping) else None
        if wire.bilheteId != sent_id:
            raise SourceContractError(
                self.source, "receipt names another ticket", route=TICKET_ROUTE
            )
        return receipt_from_wire(wire, new=reply.status == 201)

    # --- one request -------------------------------------------------------------------------

    async def _health_code(self, doc: DocumentRef, deadline: float | None) -> MacaoCode | None:
        path = f"/api/v1/codigos-saude/{quote(doc.type, safe='')}/{quote(doc.number, safe='')}"
        reply = await self._send("GET", path, CODE_ROUTE, deadline)
        if reply.status == 404:
            # "no record" must say so; a bare 404 means the route itself is wrong
            if self._error_code(reply) == NO_RECORD:
                return None
            raise SourceContractError(self.source, "404 without SEM_REGISTO", route=CODE_ROUTE)
        if reply.status != 200:
            self._fail(reply, CODE_ROUTE)
        wire = self.validate(
            CodigoSaude, self.decode_json(reply, route=CODE_ROUTE), route=CODE_ROUTE
        )
        if document_from_wire(wire.documento) != DocumentRef.normalised(doc.type, doc.number):
            raise SourceContractError(
                self.source, "answer names another document", route=CODE_ROUTE
            )
        return code_from_wire(wire)

    async def _send(
        self,
        method: str,
        path: str,
        route: str,
        deadline: float | None,
        *,
        body: bytes | None = None,
    ) -> Reply:
        """Send under the concurrency bound, with what is left of the deadline."""
        try:
            async with asyncio.timeout_at(deadline):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise SourceUnavailable(self.source, "timed out waiting for a free slot",
                                    route=route) from exc  # fmt: skip
        try:
            remaining = None
            if deadline is not None:
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    raise SourceUnavailable(self.source, "timed out", route=route)
            headers = {"X-Api-Key": self.config.api_key, "Accept": "application/json"}
            if body is not None:
                headers["Content-Type"] = "application/json"
            return await self.request(
                method, path, route=route, headers=headers, body=body, timeout=remaining
            )
        finally:
            self._slots.release()

    # --- error answers -----------------------------------------------------------------------

    def _error_code(self, reply: Reply) -> str | None:
        """The `codigo` of a Macao error body, or None when the body is not one."""
        try:
            return Erro.model_validate(orjson.loads(reply.body)).codigo
        except (orjson.JSONDecodeError, pydantic.ValidationError):
            return None

    def _fail(self, reply: Reply, route: str) -> NoReturn:
        """Raise the error an unsuccessful answer means: 429/5xx unavailable, 4xx rejected."""
        self.raise_for_status(reply, route=route)  # raises for every status >= 400
        raise SourceContractError(self.source, f"unexpected HTTP {reply.status}", route=route)

    def raise_for_status(self, reply: Reply, *, route: str) -> None:
        """As the base, but a 4xx rejection carries Macao's own `codigo` when it gave one."""
        if 400 <= reply.status < 500 and reply.status != 429:
            code = self._error_code(reply)
            label = f"HTTP {reply.status} {code}" if code else f"HTTP {reply.status}"
            raise SourceRejected(self.source, label, route=route, code=code or str(reply.status))
        super().raise_for_status(reply, route=route)


def _deadline(timeout: float | None) -> float | None:
    """The loop time by which a call must be done, or None for the session's own timeouts."""
    return None if timeout is None else asyncio.get_running_loop().time() + timeout
