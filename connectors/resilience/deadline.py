"""The instant by which a request must be answered, carried down to every upstream call."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]


@dataclass(frozen=True)
class Deadline:
    """An absolute instant on `clock`; what is left of it shrinks and never goes below zero."""

    at: float
    clock: Clock = field(default=time.monotonic, compare=False, repr=False)

    @classmethod
    def after(cls, seconds: float, clock: Clock = time.monotonic) -> Deadline:
        """The deadline `seconds` from now on `clock`."""
        return cls(clock() + seconds, clock)

    def remaining(self) -> float:
        """Seconds left before the deadline; 0.0 once it has passed."""
        return max(0.0, self.at - self.clock())

    @property
    def expired(self) -> bool:
        """True once no time is left."""
        return self.remaining() <= 0.0
