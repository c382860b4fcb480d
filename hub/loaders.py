"""Per-request DataLoaders: the ONLY hub module that awaits a connector (through the shared
upstream routes).

Within a request, every look-up of one route is gathered into one call to the route; across
requests, the route batches and shares calls (hub/upstream.py). A failure reaches exactly the
keys of the call that failed. `subject_facts` assembles what the colour rules read and says,
per source, whether its answer was fresh, stale (with its age) or missing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from connectors.errors import SourceError
from connectors.records import (
    DocumentRef,
    DriverDeclaration,
    Flag,
    HongKongCode,
    Identity,
    MacaoCode,
    ProvincialFacts,
    Trip,
)
from connectors.resilience import Deadline, SourceHealth
from hub import translation
from hub.domain.facts import Judgement, RiskArea, SubjectFacts
from hub.domain.vocabulary import RULE_SOURCES, Source
from hub.sources import Sources
from hub.store import JudgementStore
from hub.upstream import Answer, UpstreamRoute

ValueT = TypeVar("ValueT")


class Freshness(StrEnum):
    FRESH = "FRESH"
    STALE = "STALE"
    UNAVAILABLE = "UNAVAILABLE"


@dataclass(frozen=True)
class Provenance:
    """How one source stood for one verdict."""

    source: Source
    status: Freshness
    age_s: float | None = None


@dataclass(frozen=True)
class Gathered:
    facts: SubjectFacts
    risk_areas: tuple[RiskArea, ...]
    provenance: tuple[Provenance, ...]


class Loaders:
    """One request's loaders; built in the GraphQL context, discarded with the request."""

    def __init__(
        self,
        sources: Sources,
        store: JudgementStore,
        subject_key: Callable[[DocumentRef], str],
        deadline: Deadline,
    ) -> None:
        self._sources = sources
        self._store = store
        self._subject_key = subject_key
        self.deadline = deadline
        routes = sources.routes
        self.identity: DataLoader[DocumentRef, Answer[Identity | None]] = self._loader(
            routes.identity
        )
        self.health_records: DataLoader[DocumentRef, Answer[ProvincialFacts | None]] = self._loader(
            routes.health_records
        )
        self.trips: DataLoader[DocumentRef, Answer[tuple[Trip, ...]]] = self._loader(routes.trips)
        self.flags: DataLoader[DocumentRef, Answer[tuple[Flag, ...]]] = self._loader(routes.flags)
        self.driver_declarations: DataLoader[DocumentRef, Answer[tuple[DriverDeclaration, ...]]] = (
            self._loader(routes.driver_declarations)
        )
        self.macao_code: DataLoader[DocumentRef, Answer[MacaoCode | None]] = self._loader(
            routes.macao_code
        )
        self.hongkong_code: DataLoader[DocumentRef, Answer[HongKongCode | None]] = self._loader(
            routes.hongkong_code
        )
        self.judgements: DataLoader[str, tuple[Judgement, ...]] = DataLoader(self._judgements)
        self._risk_areas: asyncio.Future[Answer[tuple[RiskArea, ...]]] | None = None

    def subject_key(self, doc: DocumentRef) -> str:
        return self._subject_key(doc)

    def forget_judgements(self, subject_key: str) -> None:
        """A judgement was just recorded for this subject: the next verdict reads it."""
        self._store.note_judged(subject_key)
        self._sources.judgements.forget(subject_key)

    async def driver_status(self, doc: DocumentRef) -> str | None:
        """The driver's exemption-list status at the Hong Kong system (not cached: it gates
        a declaration)."""
        hongkong = self._sources.hongkong
        return await self._sources.guards["hongkong"].call(
            lambda timeout: hongkong.driver_status(doc, timeout=timeout), self.deadline
        )

    def source_health(self) -> list[SourceHealth]:
        return [guard.status() for guard in self._sources.guards.values()]

    def _loader(self, route: UpstreamRoute[ValueT]) -> DataLoader[DocumentRef, Answer[ValueT]]:
        async def load(docs: list[DocumentRef]) -> Sequence[Answer[ValueT] | BaseException]:
            keys = [self._subject_key(doc) for doc in docs]
            answers = await route.get_many(dict(zip(keys, docs, strict=True)), self.deadline)
            return [answers[key] for key in keys]

        return DataLoader(load)

    async def _judgements(self, keys: list[str]) -> list[tuple[Judgement, ...]]:
        """Judgements per subject: almost everyone has none, so a short-lived cache spares the
        database a query on every scan; a judgement recorded here clears its subject's entry,
        and other replicas see it within the cache's freshness."""
        cache = self._sources.judgements
        judged = set(await self._store.judged(keys))
        found: dict[str, tuple[Judgement, ...] | None] = {
            key: cache.fresh(key) if key in judged else () for key in keys
        }
        missing = [key for key, value in found.items() if value is None]
        if missing:
            rows = await self._store.for_subjects(missing)
            for key in missing:
                found[key] = tuple(translation.judgement(row) for row in rows[key])
                cache.put(key, found[key])
        return [found[key] or () for key in keys]

    async def risk_areas(self) -> Answer[tuple[RiskArea, ...]]:
        """The national risk-area list, synced at most once per request."""
        if self._risk_areas is None:
            self._risk_areas = asyncio.ensure_future(self._sources.risk_areas.areas(self.deadline))
        return await self._risk_areas

    async def subject_facts(self, doc: DocumentRef) -> Gathered:
        """What the colour rules read about one person, with each source's provenance."""
        records, trips, flags, declarations, areas, judgements = await asyncio.gather(
            self.health_records.load(doc),
            self.trips.load(doc),
            self.flags.load(doc),
            self.driver_declarations.load(doc),
            self.risk_areas(),
            self.judgements.load(self._subject_key(doc)),
            return_exceptions=True,
        )
        if isinstance(judgements, BaseException):
            raise judgements  # the hub's own store failing is not a source outage
        ages: dict[Source, list[float]] = {source: [] for source in RULE_SOURCES}
        missing: set[Source] = set()

        def known(answer: Answer[Any] | BaseException, source: Source, empty: Any) -> Any:
            if isinstance(answer, SourceError):
                missing.add(source)
                return empty
            if isinstance(answer, BaseException):
                raise answer
            if answer.stale_age is not None:
                ages[source].append(answer.stale_age)
            return answer.value

        facts = translation.subject_facts(
            known(records, Source.PROVINCIAL, None),
            known(trips, Source.NATIONAL, ()),
            known(flags, Source.NATIONAL, ()),
            known(declarations, Source.HONGKONG, ()),
        )
        known_areas = known(areas, Source.NATIONAL, ())
        provenance = tuple(
            Provenance(source, Freshness.UNAVAILABLE)
            if source in missing
            else Provenance(source, Freshness.STALE, max(ages[source]))
            if ages[source]
            else Provenance(source, Freshness.FRESH)
            for source in sorted(RULE_SOURCES)
        )
        unavailable = frozenset(source.value for source in missing)
        facts = replace(facts, judgements=judgements, unavailable=unavailable)
        return Gathered(facts, known_areas, provenance)
