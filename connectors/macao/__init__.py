"""The Macao health code system connector (the simulator lives in `.simulator`, for tests only)."""

from __future__ import annotations

from connectors.macao.client import MacaoClient, MacaoConfig
from connectors.macao.models import BilheteTransferencia, TransferTicket
from connectors.macao.translate import TicketReceipt

__all__ = ["BilheteTransferencia", "MacaoClient", "MacaoConfig", "TicketReceipt", "TransferTicket"]
