"""What a resolver may reach: the request's loaders, the policy book and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from hub.domain.instants import CST
from hub.domain.policy import PolicyBook
from hub.loaders import Loaders


@dataclass
class Context:
    loaders: Loaders
    policies: PolicyBook
    clock: Callable[[], datetime]

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        """Today in China Standard Time: the date a birth date must not be after."""
        return self.clock().astimezone(CST).date()
