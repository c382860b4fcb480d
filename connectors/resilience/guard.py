"""One source's resilience, composed: deadline, breaker, bulkhead, retries, and its health.

Per attempt: breaker permit -> bulkhead slot (bounded by the deadline) -> `fn(seconds_left)`,
itself bounded by the deadline -> outcome recorded in the breaker and the recent statistics.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from connectors.errors import SourceContractError, SourceRejected, SourceUnavailable
from connectors.resilience.breaker import BreakerState, CircuitBreaker, CircuitOpen, Permit
from connectors.resilience.bulkhead import Bulkhead, BulkheadFull
from connectors.resilience.deadline import Deadline
from connectors.resilience.retry import RetryBudget, RetryPolicy

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class SourceHealth:
    """A source's recent health for the status page; latencies are of answered calls."""

    source: str
    breaker_state: BreakerState
    error_rate: float
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    calls: int
    in_flight: int


class _Recent:
    """The last `size` attempts that reached the source and are younger than `span_s`."""

    def __init__(self, clock: Callable[[], float], size: int = 100, span_s: float = 60.0) -> None:
        self._clock = clock
        self._span_s = span_s
        self._entries: deque[tuple[float, bool, float]] = deque(maxlen=size)  # at, failed, s

    def record(self, failed: bool, duration_s: float) -> None:
        self._entries.append((self._clock(), failed, duration_s))

    def current(self) -> list[tuple[float, bool, float]]:
        horizon = self._clock() - self._span_s
        while self._entries and self._entries[0][0] < horizon:
            self._entries.popleft()
        return list(self._entries)


def _percentile_ms(durations_s: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile in milliseconds; None when nothing was measured."""
    if not durations_s:
        return None
    ordered = sorted(durations_s)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)] * 1000.0


class Guard:
    """Calls one source through its breaker, bulkhead, retry policy and budget, within a deadline.

    Retried: SourceUnavailable from the source, for idempotent calls, while attempts, budget and
    deadline allow. Never retried: SourceRejected, SourceContractError, CircuitOpen, BulkheadFull.
    """

    def __init__(
        self,
        source: str,
        breaker: CircuitBreaker,
        bulkhead: Bulkhead,
        budget: RetryBudget,
        policy: RetryPolicy,
        clock: Callable[[], float] = time.monotonic,
        *,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.source = source
        self.breaker = breaker
        self.bulkhead = bulkhead
        self.budget = budget
        self.policy = policy
        self._clock = clock
        self._sleep = sleep
        self._recent = _Recent(clock)
        self._in_flight = 0

    async def call(
        self, fn: Callable[[float], Awaitable[T]], deadline: Deadline, *, idempotent: bool = True
    ) -> T:
        """`fn(seconds_left)`'s result, or a SourceError once retrying cannot help or is not due."""
        self.budget.deposit()
        attempt = 0
        last: SourceUnavailable | None = None
        while True:
            if deadline.expired:
                raise SourceUnavailable(self.source, "deadline exceeded") from last
            try:
                return await self._attempt(fn, deadline)
            except SourceUnavailable as exc:
                if not self._retryable(exc, idempotent):
                    raise
                if deadline.expired:
                    raise SourceUnavailable(self.source, "deadline exceeded") from exc
                # policy before budget, so a retry that would not fit does not spend the budget
                delay = self.policy.delay(attempt, exc, deadline.remaining())
                if delay is None or not self.budget.try_withdraw():
                    raise
                last = exc
            await self._sleep(delay)
            attempt += 1

    def status(self) -> SourceHealth:
        """Breaker state, error rate and latency over the last 100 attempts within 60 s."""
        entries = self._recent.current()
        failures = sum(1 for _, failed, _ in entries if failed)
        answered = [duration for _, failed, duration in entries if not failed]
        return SourceHealth(
            source=self.source,
            breaker_state=self.breaker.state,
            error_rate=failures / len(entries) if entries else 0.0,
            latency_p50_ms=_percentile_ms(answered, 0.50),
            latency_p99_ms=_percentile_ms(answered, 0.99),
            calls=len(entries),
            in_flight=self._in_flight,
        )

    @staticmethod
    def _retryable(error: SourceUnavailable, idempotent: bool) -> bool:
        # local refusals say nothing new about the source; retrying them only adds load
        return idempotent and not isinstance(error, CircuitOpen | BulkheadFull)

    async def _attempt(self, fn: Callable[[float], Awaitable[T]], deadline: Deadline) -> T:
        permit = self.breaker.acquire()
        try:
            async with self.bulkhead.slot(deadline):
                return await self._measured(fn, deadline, permit)
        finally:
            permit.release()  # no-op once settled; frees a probe slot on cancellation or refusal

    async def _measured(
        self, fn: Callable[[float], Awaitable[T]], deadline: Deadline, permit: Permit
    ) -> T:
        started = self._clock()
        self._in_flight += 1
        scope = asyncio.timeout(deadline.remaining())  # in case fn does not honour its timeout
        try:
            async with scope:
                result = await fn(deadline.remaining())
        except TimeoutError as exc:
            self._settle(permit, started, failed=True)
            message = "deadline exceeded" if scope.expired() else "timed out"
            raise SourceUnavailable(self.source, message) from exc
        except SourceRejected:
            # the source answered; it is our request that was refused, not the source that failed
            self._settle(permit, started, failed=False)
            raise
        except (SourceUnavailable, SourceContractError):
            self._settle(permit, started, failed=True)
            raise
        finally:
            self._in_flight -= 1
        self._settle(permit, started, failed=False)
        return result

    def _settle(self, permit: Permit, started: float, *, failed: bool) -> None:
        duration = self._clock() - started
        if failed:
            permit.failure()
        else:
            permit.success(duration)
        self._recent.record(failed, duration)
