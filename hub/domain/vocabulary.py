"""The small closed vocabularies every domain module shares: colours, sources, partner regions."""

from __future__ import annotations

from enum import Enum, StrEnum


class Colour(Enum):
    """A code colour; GREEN < YELLOW < RED, and UNKNOWN is a verdict colour that never ranks."""

    GREEN = "GREEN"
    YELLOW = "YELLOW"
    RED = "RED"
    UNKNOWN = "UNKNOWN"

    def __str__(self) -> str:
        return self.value

    @property
    def severity(self) -> int:
        """Rank for comparison; UNKNOWN has none because it is not a point on the scale (§4)."""
        if self is Colour.UNKNOWN:
            raise TypeError("UNKNOWN is a verdict colour and has no severity")
        return _SEVERITY[self.value]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Colour):
            return NotImplemented
        return self.severity < other.severity

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Colour):
            return NotImplemented
        return self.severity <= other.severity

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Colour):
            return NotImplemented
        return self.severity > other.severity

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Colour):
            return NotImplemented
        return self.severity >= other.severity

    @classmethod
    def of_fact(cls, value: str) -> Colour:
        """A colour as a fact may carry it: GREEN, YELLOW or RED, never UNKNOWN."""
        colour = cls(value)
        if colour is cls.UNKNOWN:
            raise ValueError("a fact cannot carry the colour UNKNOWN")
        return colour


_SEVERITY = {"GREEN": 0, "YELLOW": 1, "RED": 2}


class Source(StrEnum):
    """A system that holds facts; the values are the names used in `unavailable` and scenarios."""

    PROVINCIAL = "provincial"
    NATIONAL = "national"
    MACAO = "macao"
    HONGKONG = "hongkong"
    HUB = "hub"


# The sources whose facts the colour rules read (§4): Macao's own code is never an input.
RULE_SOURCES = frozenset({Source.PROVINCIAL, Source.NATIONAL, Source.HONGKONG})


class Region(StrEnum):
    """A partner region that asks for recognition of a code (§7)."""

    MACAO = "MACAO"
    HONGKONG = "HONGKONG"
