"""Wire models of the Macao health code system, in its own vocabulary (Portuguese, camelCase).

Instants are ISO 8601 with the Macao offset `+08:00` and nothing else: an instant without an
offset, or with another offset, breaks the contract. Dates are `YYYY-MM-DD`. Every model is
frozen and ignores fields it does not know, so the system may add fields without breaking us.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    StrictBool,
    StringConstraints,
    model_validator,
)

MACAU = timezone(timedelta(hours=8))

# The only document types the Macao system names people by.
SUPPORTED_TYPES = ("MACAO_ID", "HOME_RETURN_PERMIT")
DocumentType = Literal["MACAO_ID", "HOME_RETURN_PERMIT"]

# Normalised numbers (identity.md): a Macao ID is 8 digits starting 1, 5 or 7; a Home Return
# Permit is H or M and 8 digits (the 2-digit issue count is not part of the identity).
NUMBER_FORMATS = {
    "MACAO_ID": re.compile(r"[157]\d{7}"),
    "HOME_RETURN_PERMIT": re.compile(r"[HM]\d{8}"),
}

Colour = Literal["verde", "amarelo", "vermelho"]

_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?\+08:00")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def format_instant(value: datetime) -> str:
    """An aware instant in the wire format: ISO 8601 at `+08:00` (fractions only when present)."""
    return value.astimezone(MACAU).isoformat()


def _parse_instant(value: object) -> datetime:
    if isinstance(value, datetime):  # built in Python (the hub, the simulator): any aware instant
        if value.tzinfo is None:
            raise ValueError("instant without an offset")
        return value.astimezone(MACAU)
    if not isinstance(value, str) or not _INSTANT.fullmatch(value):
        raise ValueError("instant must be ISO 8601 with the offset +08:00")
    return datetime.fromisoformat(value)


def _parse_date(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ValueError("date must be YYYY-MM-DD")
    return date.fromisoformat(value)


Instant = Annotated[
    datetime,
    BeforeValidator(_parse_instant),
    PlainSerializer(format_instant, return_type=str, when_used="json"),
]
Day = Annotated[
    date,
    BeforeValidator(_parse_date),
    PlainSerializer(date.isoformat, return_type=str, when_used="json"),
]
NonEmpty = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=512)]


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Documento(_Wire):
    """`{"tipo", "numero"}`: a person as Macao names them, with the number in its type's format."""

    tipo: DocumentType
    numero: Annotated[str, StringConstraints(strict=True)]

    @model_validator(mode="after")
    def _number_matches_type(self) -> Documento:
        if not NUMBER_FORMATS[self.tipo].fullmatch(self.numero):
            raise ValueError(f"numero is not in the {self.tipo} format")
        return self


class CodigoSaude(_Wire):
    """200 of `GET /api/v1/codigos-saude/{tipo}/{numero}`: one person's Macao health code."""

    documento: Documento
    cor: Colour
    actualizadoEm: Instant


class BilheteTransferencia(_Wire):
    """Body of `POST /api/v1/bilhetes-transferencia`: a code transfer ticket from Guangdong.

    It carries only the recognition answer and the NAT date (policy §7); `dataTesteNAT` is null
    when the person has no recognised NAT. `assinatura` is Guangdong's signature over the ticket.
    """

    bilheteId: NonEmpty
    documento: Documento
    elegivel: StrictBool
    dataTesteNAT: Day | None
    emitidoEm: Instant
    expiraEm: Instant
    assinatura: NonEmpty

    @model_validator(mode="after")
    def _expires_after_issue(self) -> BilheteTransferencia:
        if self.expiraEm <= self.emitidoEm:
            raise ValueError("expiraEm must be after emitidoEm")
        return self


# The hub-facing name of the ticket model (the connector's `deliver_ticket` accepts it).
TransferTicket = BilheteTransferencia


class ReciboBilhete(_Wire):
    """201 (first delivery) or 200 (a repeat) of `POST /api/v1/bilhetes-transferencia`."""

    bilheteId: NonEmpty
    recebidoEm: Instant


class Erro(_Wire):
    """Every error answer: `{"erro": text, "codigo": CODE}` (codes: samples/README.md)."""

    erro: str
    codigo: Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Z][A-Z_]{0,63}$")]


# `codigo` values of the error answers (status in brackets).
NO_RECORD = "SEM_REGISTO"  # 404: no Macao health code for this person (an answer, not an error)
BAD_KEY = "CHAVE_INVALIDA"  # 401: X-Api-Key missing or wrong
UNSUPPORTED_TYPE = "TIPO_NAO_SUPORTADO"  # 400: a document type Macao does not name people by
BAD_NUMBER = "NUMERO_INVALIDO"  # 400: the number is not in its type's format
BAD_REQUEST = "PEDIDO_INVALIDO"  # 400: the body is not a JSON object
BAD_TICKET = "BILHETE_INVALIDO"  # 400: the ticket breaks the ticket shape
TICKET_CONFLICT = "BILHETE_DIVERGENTE"  # 409: a known bilheteId delivered with other content
RATE_LIMITED = "LIMITE_EXCEDIDO"  # 429, with Retry-After
INTERNAL = "ERRO_INTERNO"  # 500
UNAVAILABLE = "SERVICO_INDISPONIVEL"  # 503: the system (or this person's records) cannot answer
