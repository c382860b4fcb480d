"""The source systems as the hub holds them for its lifetime: one client (one pooled session)
per source, the answer caches, and the mirror of the national risk-area list.

Built once in the app's lifespan from Settings; per-request loaders borrow it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connectors.errors import SourceError
from connectors.hongkong import HongKongClient, HongKongConfig
from connectors.macao import MacaoClient, MacaoConfig
from connectors.national import NationalClient, NationalConfig
from connectors.provincial import ProvincialClient, ProvincialConfig
from hub import translation
from hub.cache import AnswerCache
from hub.domain.facts import RiskArea
from hub.settings import Settings, SourceSettings

# The routes whose answers are cached per subject; each loader uses the one of its name.
ROUTES = (
    "identity",
    "health_records",
    "trips",
    "flags",
    "driver_declarations",
    "macao_code",
    "hongkong_code",
)


class RiskAreaMirror:
    """The national risk-area list, kept in step by ETag and `sinceVersion` rather than refetched.

    At most one sync runs at a time; callers within `interval` of the last sync reuse the list.
    When a sync fails, the list already held is served (it only grows by new entries); with no
    list yet, the failure is raised.
    """

    def __init__(
        self, client: NationalClient, interval: float, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._interval = interval
        self._timer = timer
        self._lock = asyncio.Lock()
        self._areas: tuple[RiskArea, ...] = ()
        self._version = 0
        self._etag: str | None = None
        self._synced_at: float | None = None
        self.syncs = 0

    def _fresh(self) -> bool:
        return self._synced_at is not None and self._timer() - self._synced_at < self._interval

    async def areas(self) -> tuple[RiskArea, ...]:
        if self._fresh():
            return self._areas
        async with self._lock:
            if self._fresh():
                return self._areas
            try:
                sync = await self._client.risk_areas(since_version=self._version, etag=self._etag)
            except SourceError:
                if self._synced_at is None:
                    raise
                return self._areas
            self.syncs += 1
            if not sync.not_modified:
                added = tuple(translation.risk_area(area) for _, area in sync.changes)
                self._areas = self._areas + added
                self._version = sync.version
                self._etag = sync.etag
            self._synced_at = self._timer()
        return self._areas


def _connection(settings: SourceSettings) -> dict[str, Any]:
    return {
        "base_url": settings.url,
        "connect_timeout": settings.connect_timeout,
        "total_timeout": settings.total_timeout,
        "max_connections": settings.max_connections,
    }


@dataclass
class Sources:
    provincial: ProvincialClient
    national: NationalClient
    macao: MacaoClient
    hongkong: HongKongClient
    risk_areas: RiskAreaMirror
    caches: dict[str, AnswerCache[Any]] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> Sources:
        provincial = ProvincialClient(
            ProvincialConfig(
                **_connection(settings.provincial),
                app_id=settings.provincial.app_id,
                app_secret=settings.provincial.app_secret.get_secret_value(),
            )
        )
        national = NationalClient(
            NationalConfig(
                **_connection(settings.national),
                client_id=settings.national.client_id,
                client_secret=settings.national.client_secret.get_secret_value(),
            )
        )
        macao = MacaoClient(
            MacaoConfig(
                **_connection(settings.macao),
                api_key=settings.macao.api_key.get_secret_value(),
                max_concurrency=settings.macao.max_concurrency,
            )
        )
        hongkong = HongKongClient(
            HongKongConfig(
                **_connection(settings.hongkong),
                api_key=settings.hongkong.api_key.get_secret_value(),
                max_concurrency=settings.hongkong.max_concurrency,
            )
        )
        ttl = {
            "identity": settings.provincial.cache_ttl,
            "health_records": settings.provincial.cache_ttl,
            "trips": settings.national.cache_ttl,
            "flags": settings.national.cache_ttl,
            "driver_declarations": settings.hongkong.cache_ttl,
            "macao_code": settings.macao.cache_ttl,
            "hongkong_code": settings.hongkong.cache_ttl,
        }
        return cls(
            provincial=provincial,
            national=national,
            macao=macao,
            hongkong=hongkong,
            risk_areas=RiskAreaMirror(national, settings.national.risk_area_sync_interval),
            caches={route: AnswerCache(ttl[route]) for route in ROUTES},
        )

    async def close(self) -> None:
        for client in (self.provincial, self.national, self.macao, self.hongkong):
            await client.close()
