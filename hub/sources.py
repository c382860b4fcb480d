"""The source systems as the hub holds them for its lifetime: one client (one pooled session)
per source, a guard per source (breaker, bulkhead, retries), the shared upstream routes with
their answer caches, and the mirror of the national risk-area list.

Built once in the app's lifespan from Settings; per-request loaders borrow it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.errors import SourceError
from connectors.hongkong import HongKongClient, HongKongConfig
from connectors.macao import MacaoClient, MacaoConfig
from connectors.national import NationalClient, NationalConfig
from connectors.provincial import ProvincialClient, ProvincialConfig, VenueScan
from connectors.records import DocumentRef
from connectors.resilience import (
    BreakerConfig,
    BreakerState,
    Bulkhead,
    CircuitBreaker,
    Deadline,
    Guard,
    RetryBudget,
    RetryPolicy,
)
from hub import translation
from hub.domain.facts import RiskArea
from hub.outbox import Deliver
from hub.settings import Settings, SourceSettings
from hub.upstream import Answer, AnswerCache, UpstreamRoute

log = logging.getLogger("hub.sources")


def _log_change(source: str, old: BreakerState, new: BreakerState) -> None:
    # once per change, never per request
    log.warning("circuit breaker for %s: %s -> %s", source, old, new)


def guard_for(source: str, settings: SourceSettings) -> Guard:
    r = settings.resilience
    return Guard(
        source,
        CircuitBreaker(
            source,
            BreakerConfig(
                window=r.breaker_window,
                min_calls=r.breaker_min_calls,
                failure_rate=r.breaker_failure_rate,
                slow_call_s=r.slow_call_s,
                open_for_s=r.open_for_s,
            ),
            on_change=_log_change,
        ),
        Bulkhead(source, r.max_concurrent, r.max_queue),
        RetryBudget(ratio=r.retry_ratio, min_per_s=r.retry_min_per_s),
        RetryPolicy(max_attempts=r.max_attempts, base_s=r.backoff_base_s, cap_s=r.backoff_cap_s),
    )


class RiskAreaMirror:
    """The national risk-area list, kept in step by ETag and `sinceVersion` rather than refetched.

    At most one sync runs at a time; callers within `interval` of the last sync reuse the list.
    When a sync fails, the list already held is served as stale (it only grows by new
    entries) until `stale_s`; with no list, or an older one, the failure is raised.
    """

    def __init__(
        self,
        client: NationalClient,
        guard: Guard,
        interval: float,
        stale_s: float,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._guard = guard
        self._interval = interval
        self._stale_s = stale_s
        self._timer = timer
        self._lock = asyncio.Lock()
        self._areas: tuple[RiskArea, ...] = ()
        self._version = 0
        self._etag: str | None = None
        self._synced_at: float | None = None
        self.syncs = 0

    def _age(self) -> float | None:
        return None if self._synced_at is None else self._timer() - self._synced_at

    def current(self) -> Answer[tuple[RiskArea, ...]] | None:
        """The list if it was synced within the interval (nothing to wait for), else None."""
        age = self._age()
        return Answer(self._areas) if age is not None and age < self._interval else None

    async def areas(self, deadline: Deadline) -> Answer[tuple[RiskArea, ...]]:
        current = self.current()
        if current is not None:
            return current
        asked_at = self._timer()
        async with self._lock:
            age = self._age()
            fresh = age is not None and age < self._interval
            # a sync that finished while this caller waited for the lock answers it too
            synced_since = self._synced_at is not None and self._synced_at >= asked_at
            if fresh or synced_since:
                return Answer(self._areas)
            try:
                sync = await self._guard.call(
                    lambda timeout: self._client.risk_areas(
                        since_version=self._version, etag=self._etag, timeout=timeout
                    ),
                    deadline,
                )
            except SourceError:
                if age is None or age >= self._stale_s:
                    raise
                return Answer(self._areas, stale_age=age)
            self.syncs += 1
            if not sync.not_modified:
                added = tuple(translation.risk_area(area) for _, area in sync.changes)
                self._areas = self._areas + added
                self._version = sync.version
                self._etag = sync.etag
            self._synced_at = self._timer()
        return Answer(self._areas)


def _connection(settings: SourceSettings) -> dict[str, Any]:
    return {
        "base_url": settings.url,
        "connect_timeout": settings.connect_timeout,
        "total_timeout": settings.total_timeout,
        "max_connections": settings.max_connections,
    }


@dataclass
class Routes:
    identity: UpstreamRoute[Any]
    health_records: UpstreamRoute[Any]
    trips: UpstreamRoute[Any]
    flags: UpstreamRoute[Any]
    driver_declarations: UpstreamRoute[Any]
    macao_code: UpstreamRoute[Any]
    hongkong_code: UpstreamRoute[Any]

    def all(self) -> list[UpstreamRoute[Any]]:
        return [
            self.identity, self.health_records, self.trips, self.flags,
            self.driver_declarations, self.macao_code, self.hongkong_code,
        ]  # fmt: skip


def _route(
    name: str, fetch: Callable[..., Any], guard: Guard, settings: SourceSettings, max_batch: int
) -> UpstreamRoute[Any]:
    async def call(docs: list[Any], timeout: float) -> Any:
        return await fetch(docs, timeout=timeout)

    return UpstreamRoute(
        name,
        call,
        guard,
        AnswerCache(settings.cache_ttl, settings.stale_ttl, maxsize=settings.cache_entries),
        window_s=settings.batch_window_ms / 1000,
        max_batch=max_batch,
    )


@dataclass
class Sources:
    provincial: ProvincialClient
    national: NationalClient
    macao: MacaoClient
    hongkong: HongKongClient
    guards: dict[str, Guard]
    routes: Routes
    risk_areas: RiskAreaMirror
    # the hub's own judgements per subject key (hub/loaders.py), kept briefly
    judgements: AnswerCache[Any]

    @classmethod
    def from_settings(cls, settings: Settings) -> Sources:
        p, n, m, h = settings.provincial, settings.national, settings.macao, settings.hongkong
        provincial = ProvincialClient(
            ProvincialConfig(**_connection(p), app_id=p.app_id,
                             app_secret=p.app_secret.get_secret_value())
        )  # fmt: skip
        national = NationalClient(
            NationalConfig(**_connection(n), client_id=n.client_id,
                           client_secret=n.client_secret.get_secret_value())
        )  # fmt: skip
        macao = MacaoClient(
            MacaoConfig(**_connection(m), api_key=m.api_key.get_secret_value(),
                        max_concurrency=m.max_concurrency)
        )  # fmt: skip
        hongkong = HongKongClient(
            HongKongConfig(**_connection(h), api_key=h.api_key.get_secret_value(),
                           max_concurrency=h.max_concurrency)
        )  # fmt: skip
        guards = {
            "provincial": guard_for("provincial", p),
            "national": guard_for("national", n),
            "macao": guard_for("macao", m),
            "hongkong": guard_for("hongkong", h),
        }
        routes = Routes(
            identity=_route("identity", provincial.identities, guards["provincial"], p, 100),
            health_records=_route(
                "health_records", provincial.health_records, guards["provincial"], p, 100
            ),
            trips=_route("trips", national.trips, guards["national"], n, 50),
            flags=_route("flags", national.flags, guards["national"], n, 50),
            driver_declarations=_route(
                "driver_declarations", hongkong.driver_declarations, guards["hongkong"], h, 50
            ),
            macao_code=_route("macao_code", macao.health_codes, guards["macao"], m, 50),
            hongkong_code=_route("hongkong_code", hongkong.health_codes, guards["hongkong"], h, 50),
        )
        mirror = RiskAreaMirror(
            national, guards["national"], n.risk_area_sync_interval, n.stale_ttl
        )
        judgements: AnswerCache[Any] = AnswerCache(
            settings.judgement_cache_s, settings.judgement_cache_s
        )
        return cls(provincial, national, macao, hongkong, guards, routes, mirror, judgements)

    def clear_caches(self) -> None:
        for route in self.routes.all():
            route.cache.clear()
        self.judgements.clear()

    async def close(self) -> None:
        for route in self.routes.all():
            await route.close()
        for client in (self.provincial, self.national, self.macao, self.hongkong):
            await client.close()


def deliverers(sources: Sources) -> dict[str, Deliver]:
    """How the outbox hands each kind of record to the system that receives it."""

    async def macao_ticket(payload: dict[str, Any], timeout: float) -> None:
        await sources.macao.deliver_ticket(payload, timeout=timeout)

    async def hongkong_declaration(payload: dict[str, Any], timeout: float) -> None:
        await sources.hongkong.submit_declaration(
            payload["id"],
            DocumentRef(payload["doc_type"], payload["doc_no"]),
            plate=payload["plate"],
            port=payload["port"],
            planned_entry_at=datetime.fromisoformat(payload["planned_entry_at"]),
            lodging=payload["lodging"],
            timeout=timeout,
        )

    async def provincial_scan(payload: dict[str, Any], timeout: float) -> None:
        await sources.provincial.record_venue_scans([VenueScan(**payload)], timeout=timeout)

    return {
        "macao_ticket": macao_ticket,
        "hongkong_declaration": hongkong_declaration,
        "provincial_scan": provincial_scan,
    }
