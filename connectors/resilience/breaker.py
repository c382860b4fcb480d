"""A count-based circuit breaker per source: opens on a failure rate, probes once, closes.

    CLOSED --(failure rate >= threshold over >= min_calls)--> OPEN
    OPEN --(open_for_s elapsed)--> HALF_OPEN
    HALF_OPEN --(the one probe succeeds)--> CLOSED (fresh window)
    HALF_OPEN --(the one probe fails)--> OPEN (for another open_for_s)

Use: `permit = breaker.acquire()` (raises CircuitOpen), then settle the permit exactly once with
`permit.success(duration_s)`, `permit.failure()` or `permit.release()` (neutral: counts nothing).
Settling is idempotent, so `finally: permit.release()` after the outcome is the safe idiom: a
cancelled caller never leaves the half-open probe slot taken.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from connectors.errors import SourceUnavailable

logger = logging.getLogger(__name__)


class BreakerState(StrEnum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


OnChange = Callable[[str, BreakerState, BreakerState], None]


class CircuitOpen(SourceUnavailable):
    """The source's circuit is open: the call failed fast without reaching the source.

    `retry_after` is the seconds until the circuit half-opens, or None while a probe is running.
    """

    def __init__(self, source: str, *, retry_after: float | None) -> None:
        super().__init__(source, "circuit open", retry_after=retry_after)


@dataclass(frozen=True)
class BreakerConfig:
    """When the breaker opens and for how long; see the module docstring for the states."""

    window: int = 20
    min_calls: int = 10
    failure_rate: float = 0.5
    slow_call_s: float = 1.0
    open_for_s: float = 5.0

    def __post_init__(self) -> None:
        if not 1 <= self.min_calls <= self.window:
            raise ValueError("need 1 <= min_calls <= window")
        if not 0.0 < self.failure_rate <= 1.0:
            raise ValueError("need 0 < failure_rate <= 1")
        if self.slow_call_s <= 0.0 or self.open_for_s <= 0.0:
            raise ValueError("slow_call_s and open_for_s must be positive")


@dataclass(frozen=True)
class BreakerSnapshot:
    """The breaker as a status page shows it; `opened_at` is on the breaker's clock."""

    state: BreakerState
    calls_in_window: int
    failure_rate: float
    opened_at: float | None


class Permit:
    """Leave to make one call; settle it once (later settlements are ignored)."""

    __slots__ = ("_breaker", "_generation", "probe", "_settled")

    def __init__(self, breaker: CircuitBreaker, generation: int, *, probe: bool) -> None:
        self._breaker = breaker
        self._generation = generation
        self.probe = probe
        self._settled = False

    @property
    def settled(self) -> bool:
        return self._settled

    def success(self, duration_s: float) -> None:
        """The source answered; an answer slower than `slow_call_s` still counts as a failure."""
        self._settle(duration_s > self._breaker.config.slow_call_s)

    def failure(self) -> None:
        """The source failed this call."""
        self._settle(True)

    def release(self) -> None:
        """The call ended without a verdict on the source (cancelled, refused locally)."""
        self._settle(None)

    def _settle(self, failed: bool | None) -> None:
        if self._settled:
            return
        self._settled = True
        self._breaker._settle(self._generation, self.probe, failed)


class CircuitBreaker:
    """One source's breaker; single-threaded asyncio, so acquire/settle need no lock."""

    def __init__(
        self,
        source: str,
        config: BreakerConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_change: OnChange | None = None,
    ) -> None:
        self.source = source
        self.config = config or BreakerConfig()
        self._clock = clock
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        # bumped on every state change: outcomes of calls admitted under an earlier state are
        # ignored, so late stragglers can neither refill a fresh window nor decide a probe
        self._generation = 0
        self._window: deque[bool] = deque(maxlen=self.config.window)
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        """The current state (an expired OPEN reads as HALF_OPEN)."""
        self._refresh()
        return self._state

    def acquire(self) -> Permit:
        """A permit to call the source, or CircuitOpen without touching it."""
        self._refresh()
        if self._state is BreakerState.OPEN:
            raise CircuitOpen(self.source, retry_after=self._until_half_open())
        if self._state is BreakerState.HALF_OPEN:
            if self._probing:
                raise CircuitOpen(self.source, retry_after=None)
            self._probing = True
            return Permit(self, self._generation, probe=True)
        return Permit(self, self._generation, probe=False)

    def snapshot(self) -> BreakerSnapshot:
        """State, window fill and failure rate now."""
        self._refresh()
        calls = len(self._window)
        rate = self._failures / calls if calls else 0.0
        return BreakerSnapshot(self._state, calls, rate, self._opened_at)

    def _settle(self, generation: int, probe: bool, failed: bool | None) -> None:
        if generation != self._generation:
            return
        if probe:
            self._probing = False  # a neutral probe frees the slot for the next caller
            if failed is True:
                self._open()
            elif failed is False:
                self._close()
        elif failed is not None:
            self._record(failed)

    def _record(self, failed: bool) -> None:
        if len(self._window) == self._window.maxlen:
            self._failures -= self._window[0]  # append will evict the oldest outcome
        self._window.append(failed)
        self._failures += failed
        calls = len(self._window)
        if calls >= self.config.min_calls and self._failures / calls >= self.config.failure_rate:
            self._open()

    def _refresh(self) -> None:
        # OPEN -> HALF_OPEN is lazy: noticed by the first caller (or snapshot) after open_for_s
        if self._state is BreakerState.OPEN and self._until_half_open() <= 0.0:
            self._move(BreakerState.HALF_OPEN)

    def _until_half_open(self) -> float:
        assert self._opened_at is not None
        return max(0.0, self._opened_at + self.config.open_for_s - self._clock())

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._move(BreakerState.OPEN)

    def _close(self) -> None:
        self._window.clear()
        self._failures = 0
        self._opened_at = None
        self._move(BreakerState.CLOSED)

    def _move(self, new: BreakerState) -> None:
        old, self._state = self._state, new
        self._generation += 1
        self._probing = False
        if self._on_change is None:
            return
        try:
            self._on_change(self.source, old, new)
        except Exception:
            # a failing observer must not break the breaker or replace the caller's error
            logger.exception("breaker on_change callback failed for %s", self.source)
