"""The one translation between the Hong Kong wire models and the neutral records, both ways.

`*_from_wire` is what the connector uses (wire model -> records); `*_to_wire` is what the
simulator (and, for submissions, the connector) sends. They sit side by side so that the colour
mapping (`AMBER` is the hub's `YELLOW`) and the instant format cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.hongkong import models
from connectors.hongkong.models import format_instant, hk_midnight_after
from connectors.records import DocumentRef, DriverDeclaration, HongKongCode

_COLOUR_TO_WIRE = {"GREEN": "GREEN", "YELLOW": "AMBER", "RED": "RED"}
_COLOUR_FROM_WIRE = {wire: hub for hub, wire in _COLOUR_TO_WIRE.items()}


# --- neutral results this connector adds to connectors.records -----------------------------


@dataclass(frozen=True)
class DeclarationReceipt:
    """The Hong Kong system's acknowledgement of a forwarded declaration.

    `repeated` is True when the system already held this declarationId (HTTP 200 with the
    stored receipt) rather than recording it now (HTTP 201).
    """

    declaration_id: str
    received_at: datetime
    repeated: bool = False


@dataclass(frozen=True)
class DeclarationPage:
    """One page of the driver-declaration list: (document, declaration) items and the cursor."""

    items: tuple[tuple[DocumentRef, DriverDeclaration], ...]
    next_cursor: str | None


# --- documents ------------------------------------------------------------------------------


def document_to_wire(doc: DocumentRef) -> dict[str, str]:
    return {"type": doc.type, "number": doc.number}


def document_from_wire(wire: models.Document) -> DocumentRef:
    return DocumentRef.normalised(wire.type, wire.number)


# --- health code ----------------------------------------------------------------------------


def health_code_to_wire(doc: DocumentRef, code: HongKongCode) -> dict[str, Any]:
    return {
        "document": document_to_wire(doc),
        "colour": _COLOUR_TO_WIRE[code.colour],
        "issuedAt": format_instant(code.issued_at),
        "validUntil": format_instant(hk_midnight_after(code.issued_at)),
    }


def health_code_from_wire(wire: models.HealthCode) -> HongKongCode:
    # validUntil is derived (next HK midnight, checked by the model), so the record omits it
    return HongKongCode(_COLOUR_FROM_WIRE[wire.colour], wire.issuedAt)


# --- driver declarations --------------------------------------------------------------------


def declaration_to_wire(doc: DocumentRef, declaration: DriverDeclaration) -> dict[str, Any]:
    return {
        "declarationId": declaration.id,
        "document": document_to_wire(doc),
        "plate": declaration.plate,
        "port": declaration.port,
        "enteredAt": format_instant(declaration.entered_at),
        "exitedAt": format_instant(declaration.exited_at) if declaration.exited_at else None,
        "lodging": declaration.lodging,
    }


def declaration_from_wire(wire: models.Declaration) -> tuple[DocumentRef, DriverDeclaration]:
    return document_from_wire(wire.document), DriverDeclaration(
        id=wire.declarationId,
        entered_at=wire.enteredAt,
        port=wire.port,
        plate=wire.plate,
        exited_at=wire.exitedAt,
        lodging=wire.lodging,
    )


def page_from_wire(wire: models.DeclarationPage) -> DeclarationPage:
    return DeclarationPage(tuple(declaration_from_wire(i) for i in wire.items), wire.nextCursor)


# --- exemption list -------------------------------------------------------------------------


def exemption_to_wire(doc: DocumentRef, status: str, updated_at: datetime) -> dict[str, Any]:
    return {
        "document": document_to_wire(doc),
        "status": status,
        "updatedAt": format_instant(updated_at),
    }


def exemption_from_wire(wire: models.Exemption) -> str:
    return wire.status


# --- declaration submission -----------------------------------------------------------------


def submission_to_wire(
    declaration_id: str,
    doc: DocumentRef,
    *,
    plate: str,
    port: str,
    planned_entry_at: datetime,
    lodging: str | None,
) -> dict[str, Any]:
    return {
        "declarationId": declaration_id,
        "document": document_to_wire(doc),
        "plate": plate,
        "port": port,
        "plannedEntryAt": format_instant(planned_entry_at),
        "lodging": lodging,
    }


def receipt_to_wire(declaration_id: str, received_at: datetime) -> dict[str, Any]:
    return {"declarationId": declaration_id, "receivedAt": format_instant(received_at)}


def receipt_from_wire(wire: models.Receipt, *, repeated: bool) -> DeclarationReceipt:
    return DeclarationReceipt(wire.declarationId, wire.receivedAt, repeated)
