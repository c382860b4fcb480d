"""A simulator of the Macao health code system: the wire contract of `samples/`, served from a
`World`, with the shared fault switches.

Routes (all need `X-Api-Key`):
- `GET  /api/v1/codigos-saude/{tipo}/{numero}`: one person's code; 404 SEM_REGISTO when none;
- `POST /api/v1/bilhetes-transferencia`: receive a code transfer ticket, idempotent by
  `bilheteId` (201 first delivery, 200 a repeat with the stored receipt, 409 the same id with
  other content). The signature is stored, not verified (not the simulator's job yet).

Received tickets are kept in memory (`tickets`). `max_in_flight` records the most requests that
were being served at once, so a test can check the hub's concurrency bound.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import pydantic
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from connectors.macao.models import (
    BAD_KEY,
    BAD_NUMBER,
    BAD_REQUEST,
    BAD_TICKET,
    INTERNAL,
    MACAU,
    NO_RECORD,
    NUMBER_FORMATS,
    RATE_LIMITED,
    SUPPORTED_TYPES,
    TICKET_CONFLICT,
    UNAVAILABLE,
    UNSUPPORTED_TYPE,
    BilheteTransferencia,
)
from connectors.macao.translate import code_to_wire, receipt_to_wire
from connectors.records import DocumentRef
from connectors.simulation import Simulator, standalone
from connectors.world import World

DEFAULT_PORT = 9103


@dataclass(frozen=True)
class MacaoSimulatorConfig:
    """The credential the simulated system accepts (a development default)."""

    api_key: str = "dev-macao-key"


@dataclass(frozen=True)
class StoredTicket:
    ticket: BilheteTransferencia
    received_at: datetime


def error(status: int, codigo: str, erro: str, headers: dict[str, str] | None = None) -> Response:
    """Macao's one error style: `{"erro": text, "codigo": CODE}`."""
    return JSONResponse({"erro": erro, "codigo": codigo}, status_code=status, headers=headers)


class MacaoSimulator(Simulator):
    """Serves Macao health codes and receives transfer tickets."""

    source = "macao"

    def __init__(self, world: World, config: MacaoSimulatorConfig | None = None) -> None:
        self.config = config or MacaoSimulatorConfig()
        self._key = self.config.api_key.encode()
        self._tickets: dict[str, StoredTicket] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        super().__init__(world)

    # --- what the tests read -------------------------------------------------------------------

    @property
    def tickets(self) -> dict[str, BilheteTransferencia]:
        """The tickets received so far, by `bilheteId` (a snapshot)."""
        return {ticket_id: stored.ticket for ticket_id, stored in self._tickets.items()}

    def clear_tickets(self) -> None:
        self._tickets.clear()

    def reset_in_flight(self) -> None:
        self.max_in_flight = self.in_flight

    # --- the Simulator contract ----------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/api/v1/codigos-saude/{tipo}/{numero}", self._health_code, methods=["GET"]),
            Route("/api/v1/bilhetes-transferencia", self._receive_ticket, methods=["POST"]),
        ]

    def app(self) -> ASGIApp:
        # outermost, so the gauge also sees requests held by the latency and hang switches
        return _InFlightGauge(super().app(), self)

    def internal_error(self) -> Response:
        return error(500, INTERNAL, "erro interno")

    def overloaded(self) -> Response:
        return error(503, UNAVAILABLE, "serviço indisponível")

    def rate_limited(self, retry_after_s: int) -> Response:
        return error(429, RATE_LIMITED, "demasiados pedidos",
                     headers={"Retry-After": str(retry_after_s)})  # fmt: skip

    def reset_state(self) -> None:
        # /_admin/reset returns to the initial world: that includes the tickets received
        self.clear_tickets()
        self.reset_in_flight()

    # --- routes --------------------------------------------------------------------------------

    def _refused(self, request: Request) -> Response | None:
        """401 unless the request carries the right API key."""
        given = request.headers.get("X-Api-Key", "").encode()
        if not given or not hmac.compare_digest(given, self._key):
            return error(401, BAD_KEY, "chave de API em falta ou inválida")
        return None

    async def _health_code(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        tipo = request.path_params["tipo"]
        if tipo not in SUPPORTED_TYPES:
            return error(400, UNSUPPORTED_TYPE, "tipo de documento não suportado")
        doc = DocumentRef.normalised(tipo, request.path_params["numero"])
        if not NUMBER_FORMATS[tipo].fullmatch(doc.number):
            return error(400, BAD_NUMBER, "número de documento inválido")
        if self.subject_unavailable([doc]):
            return error(503, UNAVAILABLE, "serviço indisponível")
        person = self.world.person(doc)
        code = person.macao.health_code if person is not None else None
        if code is None:
            return error(404, NO_RECORD, "sem registo de código de saúde")
        return JSONResponse(code_to_wire(doc, code))

    async def _receive_ticket(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        try:
            data: Any = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return error(400, BAD_REQUEST, "o corpo do pedido não é JSON")
        if not isinstance(data, dict):
            return error(400, BAD_REQUEST, "o corpo do pedido deve ser um objecto JSON")
        try:
            ticket = BilheteTransferencia.model_validate(data)
        except pydantic.ValidationError as exc:
            fields = sorted({".".join(str(p) for p in e["loc"]) or "bilhete" for e in exc.errors()})
            return error(400, BAD_TICKET, f"bilhete inválido: {', '.join(fields[:5])}")
        doc = DocumentRef(ticket.documento.tipo, ticket.documento.numero)
        if self.subject_unavailable([doc]):
            return error(503, UNAVAILABLE, "serviço indisponível")
        stored = self._tickets.get(ticket.bilheteId)
        if stored is not None:
            if stored.ticket != ticket:
                return error(409, TICKET_CONFLICT, "bilheteId já recebido com outro conteúdo")
            return JSONResponse(receipt_to_wire(ticket.bilheteId, stored.received_at))
        received_at = datetime.now(MACAU).replace(microsecond=0)
        self._tickets[ticket.bilheteId] = StoredTicket(ticket, received_at)
        return JSONResponse(receipt_to_wire(ticket.bilheteId, received_at), status_code=201)


class _InFlightGauge:
    """Tracks how many API requests are being served at once (the most is `max_in_flight`)."""

    def __init__(self, app: ASGIApp, simulator: MacaoSimulator) -> None:
        self.app = app
        self.sim = simulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sim = self.sim
        sim.in_flight += 1  # one event loop serves the simulator: no lock needed
        sim.max_in_flight = max(sim.max_in_flight, sim.in_flight)
        try:
            await self.app(scope, receive, send)
        finally:
            sim.in_flight -= 1


def main(argv: list[str] | None = None) -> None:
    standalone(MacaoSimulator, DEFAULT_PORT, argv)


if __name__ == "__main__":
    main()
