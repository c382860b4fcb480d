"""The root of the graph: a person by document, the risk-area list, partner recognition."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types.nodes import SelectedField

from connectors.records import DocumentRef
from hub.domain.documents import Document, InvalidDocument, parse_document
from hub.domain.policy import NoPolicyInForce
from hub.domain.recognition import recognise
from hub.domain.rules import evaluate
from hub.domain.vocabulary import Region as DomainRegion
from hub.schema import errors
from hub.schema.citizen import Citizen, Info, instant, load, risk_areas
from hub.schema.records import DocumentInput, Region, RiskArea, RiskLevel
from hub.schema.verdicts import Recognition


def parse_input(info: Info, given: DocumentInput) -> Document:
    """Validate a document before any source is asked; a malformed one never leaves the hub."""
    try:
        return parse_document(str(given.type), given.number, today=info.context.today())
    except InvalidDocument as exc:
        raise errors.invalid_document(exc) from exc


def selected_names(selections: list[Any]) -> set[str]:
    """Field names selected directly on an object, looking through fragments."""
    names: set[str] = set()
    for selection in selections:
        if isinstance(selection, SelectedField):
            names.add(selection.name)
        else:  # a fragment spread or inline fragment carries its own selections
            names |= selected_names(selection.selections)
    return names


def region_prefix(region: str) -> str:
    """A 6-digit region code names its area codes by its significant digits (440100 -> 4401)."""
    if len(region) != 6 or not region.isdigit():
        raise errors.bad_instant("`region` is a 6-digit region code, e.g. 440000 or 440106")
    prefix = region
    while prefix.endswith("00") and len(prefix) > 2:
        prefix = prefix[:-2]
    return prefix


@strawberry.type
class Query:
    @strawberry.field(description="A person by identity document; null when not registered")
    async def citizen(self, info: Info, document: DocumentInput) -> Citizen | None:
        doc = parse_input(info, document)
        citizen = Citizen.of(doc)
        # Registration decides between a person and null. Ask the provincial route this query
        # needs anyway: identity when it wants the name, the health records otherwise.
        wants_name = "name" in selected_names(info.selected_fields[0].selections)
        loader = (
            info.context.loaders.identity if wants_name else info.context.loaders.health_records
        )
        try:
            registered = await loader.load(citizen.ref)
        except Exception:  # noqa: BLE001 - unknown registration: the fields say what failed
            return citizen
        return None if registered is None else citizen

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
        doc = parse_input(info, document)
        when = instant(info, at)
        try:
            policy = info.context.policies.in_force(when)
        except NoPolicyInForce as exc:
            raise errors.no_policy_in_force() from exc
        ref = DocumentRef(doc.type.value, doc.number)
        if await load(info.context.loaders.health_records, ref) is None:
            raise errors.subject_not_found()
        facts, areas = await info.context.loaders.subject_facts(ref)
        verdict = evaluate(facts, areas, when, policy)
        return Recognition.of(recognise(verdict, facts, when, policy, DomainRegion(region)))
