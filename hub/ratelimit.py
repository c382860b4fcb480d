"""Per-caller rate limits: requests per minute, and distinct people looked up per minute (the
scraping guard). Sliding windows approximated by two fixed one-minute buckets.

Held in process memory: with several replicas each enforces its own share. A shared limit
across replicas belongs in Redis (noted for the replicas work).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

WINDOW_S = 60.0
MAX_CALLERS = 100_000  # callers remembered at once; beyond it the longest idle are forgotten


class RateLimited(Exception):
    """A caller went over a limit; `retry_after` says when to come back (seconds)."""

    def __init__(self, what: str, retry_after: float) -> None:
        super().__init__(what)
        self.retry_after = retry_after


@dataclass
class _Buckets:
    window: int = -1
    current: int = 0
    previous: int = 0
    subjects: set[str] = field(default_factory=set)
    previous_subjects: set[str] = field(default_factory=set)
    overlap: int = 0  # subjects of the current window that were also in the previous one

    def roll(self, window: int) -> None:
        if window == self.window:
            return
        if window == self.window + 1:
            self.previous, self.previous_subjects = self.current, self.subjects
        else:
            self.previous, self.previous_subjects = 0, set()
        self.window, self.current, self.subjects, self.overlap = window, 0, set(), 0


class RateLimiter:
    """Limits per caller id, by role; a role missing from a table has no such limit."""

    def __init__(
        self,
        requests_per_minute: Mapping[str, int],
        subjects_per_minute: Mapping[str, int],
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._requests = dict(requests_per_minute)
        self._subjects = dict(subjects_per_minute)
        self._timer = timer
        # A plain dict, swept as each window begins: callers idle for two windows are
        # forgotten, so memory follows active callers (a TTL cache did the same with two
        # expiry walks on every request of the hot path).
        self._state: dict[str, _Buckets] = {}
        self._swept = -1  # the window of the last sweep

    def __len__(self) -> int:
        """Callers remembered now."""
        return len(self._state)

    def reset(self) -> None:
        """Forget every caller's counts (tests, and an operator lifting a block)."""
        self._state.clear()

    def _buckets(self, caller_id: str) -> tuple[_Buckets, float]:
        now = self._timer()
        window = math.floor(now / WINDOW_S)
        if window != self._swept:
            self._sweep(window)
        buckets = self._state.get(caller_id)
        if buckets is None:
            if len(self._state) >= MAX_CALLERS:
                self._sweep(window, keep_last=False)
            buckets = self._state[caller_id] = _Buckets()
        buckets.roll(window)
        elapsed = (now / WINDOW_S) - window  # fraction of the current window gone by
        return buckets, elapsed

    def _sweep(self, window: int, *, keep_last: bool = True) -> None:
        """Forget callers idle since before the previous window (or, when full, since before
        this one); still full, the first seen go."""
        self._swept = window
        oldest_kept = window - 1 if keep_last else window
        self._state = {k: b for k, b in self._state.items() if b.window >= oldest_kept}
        while len(self._state) >= MAX_CALLERS:
            del self._state[next(iter(self._state))]

    def _retry_after(self, elapsed: float) -> float:
        return max(1.0, (1.0 - elapsed) * WINDOW_S)

    def admit_request(self, caller_id: str, role: str) -> None:
        limit = self._requests.get(role)
        if limit is None:
            return
        buckets, elapsed = self._buckets(caller_id)
        estimate = buckets.previous * (1.0 - elapsed) + buckets.current
        if estimate + 1 > limit:
            raise RateLimited(f"more than {limit} requests a minute", self._retry_after(elapsed))
        buckets.current += 1

    def admit_subject(self, caller_id: str, role: str, subject_key: str) -> None:
        limit = self._subjects.get(role)
        if limit is None:
            return
        buckets, elapsed = self._buckets(caller_id)
        if subject_key in buckets.subjects:
            return
        # people of last minute seen again now count once (`overlap`, kept as they come, so
        # each look-up costs O(1) rather than a set difference the size of the window)
        previous = len(buckets.previous_subjects) - buckets.overlap
        estimate = previous * (1.0 - elapsed) + len(buckets.subjects)
        if estimate + 1 > limit:
            raise RateLimited(
                f"more than {limit} different people a minute", self._retry_after(elapsed)
            )
        buckets.subjects.add(subject_key)
        if subject_key in buckets.previous_subjects:
            buckets.overlap += 1
