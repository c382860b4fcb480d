"""When to retry: a Finagle-style retry budget and capped exponential backoff with full jitter."""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from connectors.errors import SourceUnavailable


class _WindowedCount:
    """Events counted over the last `span_s`, in `slots` buckets so memory stays constant."""

    def __init__(self, span_s: float, clock: Callable[[], float], slots: int = 10) -> None:
        self._slot_s = span_s / slots
        self._slots = slots
        self._clock = clock
        self._buckets: deque[list[int]] = deque()  # [bucket index, count], oldest first
        self._total = 0

    def add(self) -> None:
        index = self._prune()
        if self._buckets and self._buckets[-1][0] == index:
            self._buckets[-1][1] += 1
        else:
            self._buckets.append([index, 1])
        self._total += 1

    def total(self) -> int:
        self._prune()
        return self._total

    def _prune(self) -> int:
        index = int(self._clock() // self._slot_s)
        while self._buckets and self._buckets[0][0] <= index - self._slots:
            self._total -= self._buckets.popleft()[1]
        return index


class RetryBudget:
    """Retries over the last `ttl_s` stay within `ratio` * calls + `min_per_s` * `ttl_s`.

    Every original call deposits; a retry happens only if `try_withdraw()` says so. Under a full
    outage upstream traffic therefore stays close to client demand instead of multiplying.
    """

    def __init__(
        self,
        ratio: float = 0.2,
        min_per_s: float = 2.0,
        ttl_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ratio < 0.0 or min_per_s < 0.0 or ttl_s <= 0.0:
            raise ValueError("need ratio >= 0, min_per_s >= 0 and ttl_s > 0")
        self.ratio = ratio
        self.reserve = min_per_s * ttl_s
        self._calls = _WindowedCount(ttl_s, clock)
        self._retries = _WindowedCount(ttl_s, clock)

    def deposit(self) -> None:
        """Count one original (non-retry) call."""
        self._calls.add()

    def try_withdraw(self) -> bool:
        """Take one retry from the budget; False (and nothing taken) when it is spent."""
        if self._retries.total() + 1 > self.ratio * self._calls.total() + self.reserve:
            return False
        self._retries.add()
        return True

    def available(self) -> int:
        """Retries the budget would allow now."""
        allowance = self.ratio * self._calls.total() + self.reserve - self._retries.total()
        return max(0, int(allowance))


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, and how long to wait between them (full jitter, capped)."""

    max_attempts: int = 3
    base_s: float = 0.05
    cap_s: float = 1.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_s < 0.0 or self.cap_s < 0.0:
            raise ValueError("need max_attempts >= 1 and non-negative base_s, cap_s")

    def backoff(self, attempt: int) -> float:
        """uniform(0, min(cap_s, base_s * 2**attempt)) for the 0-based attempt that failed."""
        ceiling = min(self.cap_s, self.base_s * 2.0 ** min(attempt, 64))  # no float overflow
        return self.rng.uniform(0.0, ceiling)

    def delay(self, attempt: int, error: SourceUnavailable, remaining_s: float) -> float | None:
        """Seconds to wait before retrying after `attempt` failed with `error`, or None to give up.

        Gives up when no attempts remain or when the wait (at least the source's Retry-After)
        would not end before the deadline, since then the retry could not be made in time.
        """
        if attempt + 1 >= self.max_attempts:
            return None
        wait = self.backoff(attempt)
        if error.retry_after is not None:
            wait = max(wait, error.retry_after)
        return wait if wait < remaining_s else None
