"""The root of the graph: a person by document, the risk-area list, partner recognition."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError

from connectors.records import DocumentRef
from hub.domain.documents import Document, InvalidDocument, parse_document
from hub.domain.policy import NoPolicyInForce
from hub.domain.recognition import recognise
from hub.domain.rules import evaluate
from hub.domain.vocabulary import Colour as DomainColour
from hub.domain.vocabulary import Region as DomainRegion
from hub.loaders import RouteLoader
from hub.schema import errors
from hub.schema.citizen import Citizen, Info, instant, load, risk_areas
from hub.schema.records import Colour, DocumentInput, Region, RiskArea, RiskLevel
from hub.schema.selection import selected_names, selected_paths
from hub.schema.verdicts import Recognition, SourceHealth


def parse_input(info: Info, given: DocumentInput) -> Document:
    """Validate a document before any source is asked; a malformed one never leaves the hub."""
    try:
        return parse_document(str(given.type), given.number, today=info.context.today())
    except InvalidDocument as exc:
        raise errors.invalid_document(exc) from exc


async def registered(info: Info, citizen: Citizen) -> Citizen | None:
    """The person, or None when the provincial platform has no registration for the document.

    The access is recorded first (audit, scraping guard). Registration is read from the
    provincial route this query needs anyway: identity when it wants the name, the health
    records otherwise; when that source is down, the person is returned and the fields that
    need it say so.
    """
    selections = info.selected_fields[0].selections
    record(info, citizen.ref, selections)
    loaders = info.context.loaders
    wants_identity = bool(selected_names(selections) & {"name", "phone"})
    loader: RouteLoader[Any] = loaders.identity if wants_identity else loaders.health_records
    if selected_names(selections) & VERDICT_FIELDS:
        # what the verdict reads is asked now, in the same round as registration, rather than
        # one upstream round trip later (for someone not registered, the answers are unused)
        loaders.begin_facts(citizen.ref)
    return citizen if await loaders.registered(loader, citizen.ref) else None


VERDICT_FIELDS = frozenset({"healthCode", "recognition"})


def record(info: Info, ref: DocumentRef, selections: list[Any]) -> None:
    context = info.context
    context.record_access(
        context.loaders.subject_key(ref),
        str(info.path.key),
        tuple(sorted(selected_paths(selections))),
    )


def region_prefix(region: str) -> str:
    """A 6-digit region code names its area codes by its significant digits (440100 -> 4401)."""
    if len(region) != 6 or not region.isdigit():
        raise errors.bad_input("`region` is a 6-digit region code, e.g. 440000 or 440106")
    prefix = region
    while prefix.endswith("00") and len(prefix) > 2:
        prefix = prefix[:-2]
    return prefix


MAX_AGGREGATE = 500


@strawberry.type(description="How many of the people asked about have each colour")
class ColourCount:
    colour: Colour  # type: ignore[valid-type]
    count: int


@strawberry.type
class Query:
    @strawberry.field(description="The caller's own record (citizens)")
    async def me(self, info: Info) -> Citizen | None:
        own = info.context.caller.document
        if own is None:
            raise GraphQLError("`me` is for citizens", extensions={"code": "FORBIDDEN"})
        return await registered(info, Citizen.of(own, own=True))

    @strawberry.field(description="A person by identity document; null when not registered")
    async def citizen(self, info: Info, document: DocumentInput) -> Citizen | None:
        return await registered(info, Citizen.of(parse_input(info, document)))

    @strawberry.field(description="The national risk-area list, filtered; `at` defaults to now")
    async def risk_areas(
        self,
        info: Info,
        region: str | None = None,
        level: RiskLevel | None = None,  # type: ignore[valid-type]
        at: datetime | None = None,
    ) -> list[RiskArea]:
        when = instant(info, at)
        prefix = region_prefix(region) if region else ""
        return [
            RiskArea.of(area)
            for area in await risk_areas(info)
            if area.in_force(when)
            and area.area_code.startswith(prefix)
            and (level is None or area.level == level)
        ]

    @strawberry.field(
        description="For partner regions: may this person's code be recognised for a crossing"
    )
    async def recognition(
        self,
        info: Info,
        document: DocumentInput,
        region: Region,  # type: ignore[valid-type]
        at: datetime | None = None,
    ) -> Recognition:
        caller = info.context.caller
        if caller.region is not None and caller.region != region:
            raise GraphQLError(
                "a partner may ask only about recognition for its own region",
                extensions={"code": "FORBIDDEN"},
            )
        doc = parse_input(info, document)
        when = instant(info, at)
        try:
            policy = info.context.policies.in_force(when)
        except NoPolicyInForce as exc:
            raise errors.no_policy_in_force() from exc
        ref = DocumentRef(doc.type.value, doc.number)
        record(info, ref, info.selected_fields[0].selections)
        if await load(info.context.loaders.health_records, ref) is None:
            raise errors.subject_not_found()
        gathered = await info.context.loaders.subject_facts(ref)
        verdict = evaluate(gathered.facts, gathered.risk_areas, when, policy)
        return Recognition.of(
            recognise(verdict, gathered.facts, when, policy, DomainRegion(region))
        )

    @strawberry.field(
        description="Analysts: how many of these people have each colour at `at` (default now)"
    )
    async def colour_counts(
        self, info: Info, documents: list[DocumentInput], at: datetime | None = None
    ) -> list[ColourCount]:
        if len(documents) > MAX_AGGREGATE:
            raise errors.bad_input(f"at most {MAX_AGGREGATE} documents per aggregate")
        when = instant(info, at)
        try:
            policy = info.context.policies.in_force(when)
        except NoPolicyInForce as exc:
            raise errors.no_policy_in_force() from exc
        refs = [
            DocumentRef(d.type.value, d.number) for d in map(partial(parse_input, info), documents)
        ]
        for ref in dict.fromkeys(refs):
            info.context.record_access(
                info.context.loaders.subject_key(ref), "colourCounts", ("colour",)
            )
        gathered = await asyncio.gather(
            *(info.context.loaders.subject_facts(r) for r in dict.fromkeys(refs))
        )
        counts = Counter(evaluate(g.facts, g.risk_areas, when, policy).colour for g in gathered)
        return [ColourCount(colour=colour, count=counts.get(colour, 0)) for colour in DomainColour]

    @strawberry.field(description="How each source system is doing: breaker, errors, latency")
    def source_status(self, info: Info) -> list[SourceHealth]:
        return [SourceHealth.of(status) for status in info.context.loaders.source_health()]
