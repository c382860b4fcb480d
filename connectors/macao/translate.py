"""The one translation between Macao wire models and the neutral records, in both directions.

Decoding (wire -> records) is the connector's; encoding (records -> wire dicts) is the
simulator's. They sit side by side so the colour table and the instant format cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.macao.models import CodigoSaude, Documento, ReciboBilhete, format_instant
from connectors.records import DocumentRef, MacaoCode

# Macao spells the colours in Portuguese; the hub says GREEN / YELLOW / RED.
COLOUR_FROM_WIRE = {"verde": "GREEN", "amarelo": "YELLOW", "vermelho": "RED"}
COLOUR_TO_WIRE = {hub: wire for wire, hub in COLOUR_FROM_WIRE.items()}


@dataclass(frozen=True)
class TicketReceipt:
    """Macao's acknowledgement of a transfer ticket; `new` is False when it already had it."""

    ticket_id: str
    received_at: datetime
    new: bool


# --- wire -> records (the connector) ------------------------------------------------------


def document_from_wire(wire: Documento) -> DocumentRef:
    return DocumentRef(wire.tipo, wire.numero)


def code_from_wire(wire: CodigoSaude) -> MacaoCode:
    return MacaoCode(colour=COLOUR_FROM_WIRE[wire.cor], updated_at=wire.actualizadoEm)


def receipt_from_wire(wire: ReciboBilhete, *, new: bool) -> TicketReceipt:
    return TicketReceipt(ticket_id=wire.bilheteId, received_at=wire.recebidoEm, new=new)


# --- records -> wire (the simulator) ------------------------------------------------------


def document_to_wire(doc: DocumentRef) -> dict[str, Any]:
    return {"tipo": doc.type, "numero": doc.number}


def code_to_wire(doc: DocumentRef, code: MacaoCode) -> dict[str, Any]:
    return {
        "documento": document_to_wire(doc),
        "cor": COLOUR_TO_WIRE[code.colour],
        "actualizadoEm": format_instant(code.updated_at),
    }


def receipt_to_wire(ticket_id: str, received_at: datetime) -> dict[str, Any]:
    return {"bilheteId": ticket_id, "recebidoEm": format_instant(received_at)}
