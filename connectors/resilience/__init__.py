"""Resilience primitives a caller wraps around one source's calls, composed by `Guard`.

    Guard.call(fn, deadline)          one logical call: attempts, backoff, retry budget
     +-- CircuitBreaker.acquire()     fail fast while the source is failing (CircuitOpen)
     +-- Bulkhead.slot(deadline)      bounded concurrency and queue (BulkheadFull)
     +-- fn(seconds_left)             the connector call, bounded by the deadline

Every error raised is in the `connectors.errors` tree (CircuitOpen and BulkheadFull are
SourceUnavailable); messages name the source only. Pure asyncio: no HTTP, no hub imports.
"""

from __future__ import annotations

from connectors.resilience.breaker import (
    BreakerConfig,
    BreakerSnapshot,
    BreakerState,
    CircuitBreaker,
    CircuitOpen,
    OnChange,
    Permit,
)
from connectors.resilience.bulkhead import Bulkhead, BulkheadFull
from connectors.resilience.deadline import Deadline
from connectors.resilience.guard import Guard, SourceHealth
from connectors.resilience.retry import RetryBudget, RetryPolicy

__all__ = [
    "BreakerConfig",
    "BreakerSnapshot",
    "BreakerState",
    "Bulkhead",
    "BulkheadFull",
    "CircuitBreaker",
    "CircuitOpen",
    "Deadline",
    "Guard",
    "OnChange",
    "Permit",
    "RetryBudget",
    "RetryPolicy",
    "SourceHealth",
]
