"""Per-request loaders: the ONLY hub module that awaits a connector (through the shared
upstream routes).

Each route is asked about a document at most once per request; the route batches and shares
calls within and across requests (hub/upstream.py). A failure reaches exactly the keys of the
call that failed. `subject_facts` assembles what the colour rules read and says,
per source, whether its answer was fresh, stale (with its age) or missing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

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


class SubjectKeys:
    """Subjects' keyed hashes, each computed once per request. Its own object (not a method of
    Loaders) so that the request's loaders and route loaders form no reference cycle: what a
    request held is freed when it ends, not left to a full garbage collection."""

    __slots__ = ("_key_of", "_keys")

    def __init__(self, key_of: Callable[[DocumentRef], str]) -> None:
        self._key_of = key_of
        self._keys: dict[DocumentRef, str] = {}

    def __call__(self, doc: DocumentRef) -> str:
        key = self._keys.get(doc)
        if key is None:
            key = self._keys[doc] = self._key_of(doc)
        return key


class RouteLoader(Generic[ValueT]):
    """One route as one request sees it: each document asked at most once per request, and
    what it came to kept, so every field of the request sees the same answer. Batching across
    documents and requests is the route's own (hub/upstream.py): a request's look-ups of fifty
    people land in one batch call because they reach the route within its window, with no
    per-request batcher on top.

    A look-up under way is the route's shared future itself: no task, shield or timer per
    look-up. A request waits on all of its look-ups at once (`wait`), bounded by its deadline,
    and `asyncio.wait` never cancels what it waits on, so a request giving up leaves the call
    to the others that share it."""

    __slots__ = ("_route", "_key_of", "_deadline", "_begun", "_settled")

    def __init__(
        self,
        route: UpstreamRoute[ValueT],
        key_of: Callable[[DocumentRef], str],
        deadline: Deadline,
    ) -> None:
        self._route = route
        self._key_of = key_of
        self._deadline = deadline
        self._begun: dict[DocumentRef, asyncio.Future[Any]] = {}
        self._settled: dict[DocumentRef, Answer[ValueT] | SourceError] = {}

    def begin(self, doc: DocumentRef) -> asyncio.Future[Any] | None:
        """Start the look-up if this request had not; the future to wait for, or None when
        the answer is already at hand (a fresh cache entry: no waiting at all)."""
        if doc in self._settled:
            return None
        future = self._begun.get(doc)
        if future is None:
            begun = self._route.begin(self._key_of(doc), doc, self._deadline)
            if isinstance(begun, Answer):
                self._settled[doc] = begun
                return None
            future = self._begun[doc] = begun
        return future

    def settled(self, doc: DocumentRef) -> Answer[ValueT] | SourceError:
        """What the look-up came to, fixed for the rest of the request (begun before)."""
        found = self._settled.get(doc)
        if found is None:
            found = self._settled[doc] = self._route.settle(self._key_of(doc), self._begun[doc])
        return found

    async def load(self, doc: DocumentRef) -> Answer[ValueT]:
        """The answer; a source that failed raises its SourceError."""
        future = self.begin(doc)
        if future is not None:
            await wait({future}, self._deadline.remaining())
        return _raised(self.settled(doc))


async def wait(futures: set[asyncio.Future[Any]], timeout: float) -> None:
    """Until all of these are done or `timeout` seconds have passed; never cancels them."""
    if any(not future.done() for future in futures):
        await asyncio.wait(futures, timeout=max(0.0, timeout))


def _raised(answer: Answer[ValueT] | SourceError) -> Answer[ValueT]:
    if isinstance(answer, SourceError):
        raise answer
    return answer


class Loaders:
    """One request's view of the sources; built in the GraphQL context, discarded with it."""

    def __init__(
        self,
        sources: Sources,
        store: JudgementStore,
        subject_key: Callable[[DocumentRef], str],
        deadline: Deadline,
    ) -> None:
        self._sources = sources
        self._store = store
        self.subject_key = key_of = SubjectKeys(subject_key)
        self.deadline = deadline
        routes = sources.routes
        self.identity: RouteLoader[Identity | None] = RouteLoader(routes.identity, key_of, deadline)
        self.health_records: RouteLoader[ProvincialFacts | None] = RouteLoader(
            routes.health_records, key_of, deadline
        )
        self.trips: RouteLoader[tuple[Trip, ...]] = RouteLoader(routes.trips, key_of, deadline)
        self.flags: RouteLoader[tuple[Flag, ...]] = RouteLoader(routes.flags, key_of, deadline)
        self.driver_declarations: RouteLoader[tuple[DriverDeclaration, ...]] = RouteLoader(
            routes.driver_declarations, key_of, deadline
        )
        self.macao_code: RouteLoader[MacaoCode | None] = RouteLoader(
            routes.macao_code, key_of, deadline
        )
        self.hongkong_code: RouteLoader[HongKongCode | None] = RouteLoader(
            routes.hongkong_code, key_of, deadline
        )
        self._risk_areas: asyncio.Future[Answer[tuple[RiskArea, ...]]] | None = None

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

    async def registered(self, loader: RouteLoader[Any], doc: DocumentRef) -> bool:
        """False only when the provincial platform says it has no registration for the
        document. A slow provincial platform must not cost the fields that do not need it their
        answer: registration is awaited a third of what is left of the deadline, and a failure
        or no answer by then lets the fields speak for themselves (the look-up goes on for the
        fields that need it)."""
        future = loader.begin(doc)
        if future is not None:
            await wait({future}, self.deadline.remaining() / 3)
            if not future.done():
                return True  # not settled: the fields that need it wait their whole deadline
        answer = loader.settled(doc)
        return isinstance(answer, SourceError) or answer.value is not None

    async def judgements(self, subject_key: str) -> tuple[Judgement, ...]:
        """The subject's judgements: almost everyone has none, and the store's mirror of judged
        subjects says so without a query; a judged subject's are cached briefly. A judgement
        recorded here clears its subject's entry; other replicas see it within the cache's
        freshness."""
        if not await self._store.judged((subject_key,)):
            return ()
        cache = self._sources.judgements
        found: tuple[Judgement, ...] | None = cache.fresh(subject_key)
        if found is None:
            rows = await self._store.for_subjects([subject_key])
            found = tuple(translation.judgement(row) for row in rows[subject_key])
            cache.put(subject_key, found)
        return found

    async def risk_areas(self) -> Answer[tuple[RiskArea, ...]]:
        """The national risk-area list, synced at most once per request."""
        if self._risk_areas is None:
            mirror = self._sources.risk_areas
            current = mirror.current()
            if current is not None:
                return current
            self._risk_areas = asyncio.ensure_future(mirror.areas(self.deadline))
        return await self._risk_areas

    async def _risk_answer(self) -> Answer[tuple[RiskArea, ...]] | SourceError:
        try:
            return await self.risk_areas()
        except SourceError as exc:
            return exc

    def begin_facts(self, doc: DocumentRef) -> set[asyncio.Future[Any]]:
        """Start the look-ups the colour rules read; the futures of those not answered from
        the cache."""
        begun = (
            self.health_records.begin(doc),
            self.trips.begin(doc),
            self.flags.begin(doc),
            self.driver_declarations.begin(doc),
        )
        return {future for future in begun if future is not None}

    async def subject_facts(self, doc: DocumentRef) -> Gathered:
        """What the colour rules read about one person, with each source's provenance.

        Every look-up starts before any is awaited, so the sources are asked in one round; a
        request whose answers are all cached never waits at all."""
        pending = self.begin_facts(doc)
        # the hub's own store failing raises here: that is not a source outage
        judgements = await self.judgements(self.subject_key(doc))
        areas = await self._risk_answer()
        if pending:
            await wait(pending, self.deadline.remaining())
        records, trips, flags, declarations = (
            self.health_records.settled(doc),
            self.trips.settled(doc),
            self.flags.settled(doc),
            self.driver_declarations.settled(doc),
        )
        ages: dict[Source, list[float]] = {source: [] for source in RULE_SOURCES}
        missing: set[Source] = set()

        def known(answer: Answer[Any] | SourceError, source: Source, empty: Any) -> Any:
            if isinstance(answer, SourceError):
                missing.add(source)
                return empty
            if answer.stale_age is not None:
                ages[source].append(answer.stale_age)
            return answer.value

        provincial = known(records, Source.PROVINCIAL, None)
        national = known(trips, Source.NATIONAL, ()), known(flags, Source.NATIONAL, ())
        hongkong = known(declarations, Source.HONGKONG, ())
        known_areas = known(areas, Source.NATIONAL, ())
        provenance = tuple(
            Provenance(source, Freshness.UNAVAILABLE)
            if source in missing
            else Provenance(source, Freshness.STALE, max(ages[source]))
            if ages[source]
            else Provenance(source, Freshness.FRESH)
            for source in RULE_SOURCES_SORTED
        )
        facts = translation.subject_facts(
            provincial,
            *national,
            hongkong,
            judgements=judgements,
            unavailable=frozenset(source.value for source in missing),
        )
        return Gathered(facts, known_areas, provenance)


RULE_SOURCES_SORTED = tuple(sorted(RULE_SOURCES))
