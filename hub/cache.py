"""In-process TTL caches for upstream answers, keyed by the subject's keyed hash.

Keys are `subject_key` HMACs of "TYPE:NUMBER": one person's answer can only be found again under
that person's own document, and no document number sits in memory as a cache key. Only answers
are cached, never failures, and only after the await (never the coroutine).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from cachetools import TTLCache

ValueT = TypeVar("ValueT")
_MISSING = object()


class AnswerCache(Generic[ValueT]):
    """One route's answers per subject; `ttl=0` turns caching off."""

    def __init__(
        self, ttl: float, maxsize: int = 100_000, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self._entries: TTLCache[Hashable, ValueT] | None = (
            TTLCache(maxsize=maxsize, ttl=ttl, timer=timer) if ttl > 0 else None
        )

    def get_many(self, keys: list[str]) -> tuple[dict[str, ValueT], list[str]]:
        """(answers found, keys missing), in the order asked."""
        if self._entries is None:
            return {}, list(keys)
        found: dict[str, ValueT] = {}
        missing: list[str] = []
        for key in keys:
            value = self._entries.get(key, _MISSING)
            if value is _MISSING:
                missing.append(key)
            else:
                found[key] = value  # type: ignore[assignment]
        return found, missing

    def put(self, key: str, value: ValueT) -> None:
        if self._entries is not None:
            self._entries[key] = value

    def clear(self) -> None:
        if self._entries is not None:
            self._entries.clear()
