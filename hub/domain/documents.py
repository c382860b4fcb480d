"""Identity documents: normalisation, format/date/check validation, masking and keyed hashing.

Every error names the failed rule and never echoes the number (it is personal data).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class DocumentType(StrEnum):
    """The kinds of identity document a subject may be named by (identity.md)."""

    RESIDENT_ID = "RESIDENT_ID"
    HKID = "HKID"
    MACAO_ID = "MACAO_ID"
    HOME_RETURN_PERMIT = "HOME_RETURN_PERMIT"
    TAIWAN_PERMIT = "TAIWAN_PERMIT"
    PASSPORT = "PASSPORT"


class InvalidDocument(ValueError):
    """A document that failed one rule: `rule` is one of type, format, date, check."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


@dataclass(frozen=True, order=True)
class Document:
    """A validated, normalised document; `key` is "TYPE:NUMBER"."""

    type: DocumentType
    number: str

    @property
    def key(self) -> str:
        return f"{self.type}:{self.number}"


_FORMATS: dict[DocumentType, re.Pattern[str]] = {
    DocumentType.RESIDENT_ID: re.compile(r"[0-9]{17}[0-9X]"),
    DocumentType.HKID: re.compile(r"[A-Z]{1,2}[0-9]{6}[0-9A]"),
    DocumentType.MACAO_ID: re.compile(r"[157][0-9]{7}"),
    DocumentType.HOME_RETURN_PERMIT: re.compile(r"[HM][0-9]{8}(?:[0-9]{2})?"),
    DocumentType.TAIWAN_PERMIT: re.compile(r"[0-9]{8}"),
    DocumentType.PASSPORT: re.compile(r"[A-Z]{3}:[A-Z0-9]{5,9}"),
}

_FORMAT_TEXT: dict[DocumentType, str] = {
    DocumentType.RESIDENT_ID: "18 characters: 17 digits and a digit or X",
    DocumentType.HKID: "1 or 2 letters, 6 digits and a check character 0-9 or A",
    DocumentType.MACAO_ID: "8 digits starting with 1, 5 or 7",
    DocumentType.HOME_RETURN_PERMIT: "H or M, 8 digits, optionally a 2-digit issue count",
    DocumentType.TAIWAN_PERMIT: "8 digits",
    DocumentType.PASSPORT: "ISO3:NUMBER, the number 5 to 9 letters and digits",
}

# Brackets (ASCII and full-width, as typed on Chinese keyboards) and any whitespace.
_NOISE = re.compile(r"[()\uff08\uff09\s]")

_RESIDENT_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RESIDENT_CHECK = "10X98765432"
_HKID_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2)


def normalise_number(type_: DocumentType, raw: str) -> str:
    """Upper case, brackets and spaces removed; a Home Return Permit drops its issue count."""
    cleaned = _NOISE.sub("", raw).upper()
    if type_ is DocumentType.HOME_RETURN_PERMIT and len(cleaned) == 11:
        cleaned = cleaned[:9]  # the 9-character lifelong number is the identity
    return cleaned


def parse_document(type: str, raw: str, *, today: date) -> Document:
    """Validate and normalise; raise InvalidDocument naming the first failed rule of:
    type, format, date, check."""
    return _parse_document(type, raw, today)


# Venues see the same people again and again: their documents are checked once a day, not on
# every scan (a refused document raises every time; lru_cache keeps only results)
@functools.lru_cache(maxsize=16_384)
def _parse_document(type: str, raw: str, today: date) -> Document:
    try:
        kind = DocumentType(type.strip().upper())
    except ValueError:
        known = ", ".join(DocumentType)
        raise InvalidDocument("type", f"unknown document type; expected one of {known}") from None
    number = normalise_number(kind, raw)
    if not _FORMATS[kind].fullmatch(number):
        raise InvalidDocument("format", f"{kind} number has the wrong format: {_FORMAT_TEXT[kind]}")
    if kind is DocumentType.RESIDENT_ID:
        _check_birth_date(number[6:14], today)
        if resident_check_character(number[:17]) != number[17]:
            raise InvalidDocument("check", "RESIDENT_ID check character does not match")
    elif kind is DocumentType.HKID:
        if hkid_check_character(number[:-1]) != number[-1]:
            raise InvalidDocument("check", "HKID check character does not match")
    return Document(kind, number)


def _check_birth_date(digits: str, today: date) -> None:
    try:
        born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise InvalidDocument("date", "RESIDENT_ID birth date is not a real date") from None
    if born > today:
        raise InvalidDocument("date", "RESIDENT_ID birth date is in the future")


def resident_check_character(first17: str) -> str:
    """GB 11643 / ISO 7064 MOD 11-2 check character of the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _RESIDENT_WEIGHTS, strict=True))
    return _RESIDENT_CHECK[total % 11]


def hkid_check_character(body: str) -> str:
    """Weighted mod 11 check character of an HKID's letters and 6 digits."""
    padded = body.rjust(8)  # a one-letter prefix is padded with a space (value 36)
    total = sum(_hkid_value(ch) * w for ch, w in zip(padded, _HKID_WEIGHTS, strict=True))
    remainder = total % 11
    check = 0 if remainder == 0 else 11 - remainder
    return "A" if check == 10 else str(check)


def _hkid_value(ch: str) -> int:
    if ch == " ":
        return 36
    if ch.isdigit():
        return int(ch)
    return ord(ch) - ord("A") + 10


def subject_key(document: Document, secret: bytes) -> str:
    """HMAC-SHA256 (hex) of "type:number": the only name a subject has inside the hub."""
    if not secret:
        raise ValueError("subject_key needs a non-empty secret: an unkeyed hash is reversible")
    return hmac.new(secret, document.key.encode("utf-8"), hashlib.sha256).hexdigest()


# --- display masking ------------------------------------------------------------------------

_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")


def mask_name(name: str) -> str:
    """Chinese: keep first and last of names longer than two, only the last of two;
    Latin: keep the first letter of each word."""
    if _LATIN.search(name) or any(ch.isspace() for ch in name.strip()):
        return re.sub(r"\S+", lambda word: word.group()[0] + "*" * (len(word.group()) - 1), name)
    if len(name) <= 1:
        return "*" * len(name)
    if len(name) == 2:
        return "*" + name[1]
    return name[0] + "*" * (len(name) - 2) + name[-1]


def _keep_ends(text: str, head: int, tail: int) -> str:
    hidden = len(text) - head - tail
    return text[:head] + "*" * hidden + text[len(text) - tail :]


def _ends_to_keep(length: int, wanted: int) -> int:
    # Keeping 4+4 of a short number would reveal nearly all of it: never keep more than a
    # quarter at each end, so at least half of any number stays hidden.
    return min(wanted, length // 4)


def mask_document(document: Document) -> str:
    """Keep the first and last 4 (fewer for short numbers); an HKID keeps letters and check."""
    number = document.number
    if document.type is DocumentType.HKID:
        letters = len(number) - 7
        return number[:letters] + "*" * 6 + f"({number[-1]})"
    if document.type is DocumentType.PASSPORT:
        country, _, rest = number.partition(":")
        keep = _ends_to_keep(len(rest), 4)
        return f"{country}:{_keep_ends(rest, keep, keep)}"
    keep = _ends_to_keep(len(number), 4)
    return _keep_ends(number, keep, keep)


def mask_phone(phone: str) -> str:
    """Keep the first 3 and last 4 of an 11-character or longer number, a quarter at each end
    of a shorter one."""
    compact = re.sub(r"[\s\-()]", "", phone)
    if len(compact) >= 11:
        return _keep_ends(compact, 3, 4)
    keep = len(compact) // 4
    return _keep_ends(compact, keep, keep)
