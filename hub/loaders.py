"""Per-request DataLoaders: the ONLY hub module that awaits a connector.

Every look-up a request makes for one route is gathered into one batched upstream call (within
the source's batch limit, which the connector enforces by splitting), answered from the cache
where it can be, and a failure reaches exactly the keys of the call that failed.
`subject_facts` assembles what the colour rules read, marking each source that did not answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import TypeVar

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
from hub import translation
from hub.domain.facts import Judgement, RiskArea, SubjectFacts
from hub.domain.vocabulary import Source
from hub.sources import Sources
from hub.store import JudgementStore

ValueT = TypeVar("ValueT")
Fetch = Callable[[list[DocumentRef]], Awaitable[Mapping[DocumentRef, ValueT]]]


class Loaders:
    """One request's loaders; built in the GraphQL context, discarded with the request."""

    def __init__(
        self,
        sources: Sources,
        store: JudgementStore,
        subject_key: Callable[[DocumentRef], str],
    ) -> None:
        self._sources = sources
        self._store = store
        self._subject_key = subject_key
        self.identity: DataLoader[DocumentRef, Identity | None] = self._loader(
            "identity", sources.provincial.identities
        )
        self.health_records: DataLoader[DocumentRef, ProvincialFacts | None] = self._loader(
            "health_records", sources.provincial.health_records
        )
        self.trips: DataLoader[DocumentRef, tuple[Trip, ...]] = self._loader(
            "trips", sources.national.trips
        )
        self.flags: DataLoader[DocumentRef, tuple[Flag, ...]] = self._loader(
            "flags", sources.national.flags
        )
        self.driver_declarations: DataLoader[DocumentRef, tuple[DriverDeclaration, ...]] = (
            self._loader("driver_declarations", sources.hongkong.driver_declarations)
        )
        self.macao_code: DataLoader[DocumentRef, MacaoCode | None] = self._loader(
            "macao_code", sources.macao.health_codes
        )
        self.hongkong_code: DataLoader[DocumentRef, HongKongCode | None] = self._loader(
            "hongkong_code", sources.hongkong.health_codes
        )
        self.judgements: DataLoader[str, tuple[Judgement, ...]] = DataLoader(self._judgements)
        self._risk_areas: asyncio.Future[tuple[RiskArea, ...]] | None = None

    def subject_key(self, doc: DocumentRef) -> str:
        return self._subject_key(doc)

    def _loader(self, route: str, fetch: Fetch[ValueT]) -> DataLoader[DocumentRef, ValueT]:
        cache = self._sources.caches[route]

        async def load(docs: list[DocumentRef]) -> Sequence[ValueT | BaseException]:
            keys = [self._subject_key(doc) for doc in docs]
            found, missing = cache.get_many(keys)
            if missing:
                wanted = {key: doc for key, doc in zip(keys, docs, strict=True) if key in missing}
                try:
                    answers = await fetch(list(wanted.values()))
                except SourceError as exc:
                    return [found.get(key, exc) for key in keys]
                for key, doc in wanted.items():
                    found[key] = answers[doc]
                    cache.put(key, answers[doc])
            return [found[key] for key in keys]

        return DataLoader(load)

    async def _judgements(self, keys: list[str]) -> list[tuple[Judgement, ...]]:
        rows = await self._store.for_subjects(keys)
        return [tuple(translation.judgement(row) for row in rows[key]) for key in keys]

    async def risk_areas(self) -> tuple[RiskArea, ...]:
        """The national risk-area list, synced at most once per request."""
        if self._risk_areas is None:
            self._risk_areas = asyncio.ensure_future(self._sources.risk_areas.areas())
        return await self._risk_areas

    async def subject_facts(self, doc: DocumentRef) -> tuple[SubjectFacts, tuple[RiskArea, ...]]:
        """What the colour rules read about one person, each missing source marked unavailable."""
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
        unavailable: set[str] = set()

        def known(value: ValueT | BaseException, source: Source, empty: ValueT) -> ValueT:
            if isinstance(value, SourceError):
                unavailable.add(source.value)
                return empty
            if isinstance(value, BaseException):
                raise value
            return value

        facts = translation.subject_facts(
            known(records, Source.PROVINCIAL, None),
            known(trips, Source.NATIONAL, ()),
            known(flags, Source.NATIONAL, ()),
            known(declarations, Source.HONGKONG, ()),
        )
        known_areas = known(areas, Source.NATIONAL, ())
        return replace(
            facts, judgements=judgements, unavailable=frozenset(unavailable)
        ), known_areas
