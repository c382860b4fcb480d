"""Who may see what: every role against every top-level field and every sensitive nested field,
served, masked or forbidden exactly as the access table says, and nothing asked upstream for a
forbidden one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.applications import Starlette

from connectors.records import DocumentRef
from connectors.sandbox import Sandbox
from connectors.world import World
from hub.dev_identity import DevIdentity
from hub.domain.documents import parse_document
from tests.hub.conftest import Hub, connected, hub_settings, serving

SUBJECT_INDEX = 5  # a synthetic mainland resident with a phone number
PAST = '"2022-07-08T09:00:00+08:00"'

# the nested fields, as selections under a person
NESTED = {
    "name": "name",
    "phone": "phone",
    "colour": "healthCode { colour }",
    "reasons": "healthCode { reasons { rule description } }",
    "past instant": f"healthCode(at: {PAST}) {{ colour }}",
    "natTests": "natTests { result }",
    "trips": "trips { areaCode }",
    "entries": "entries { origin }",
    "flags": "flags { colour }",
    "listings": "listings { category }",
    "cases": "cases { status }",
    "macaoCode": "macaoCode { colour }",
    "hongKongCode": "hongKongCode { colour }",
    "driverDeclarations": "driverDeclarations { plate }",
    "recognition": "recognition(region: MACAO) { eligible }",
}
S, M, U, F = "served", "masked", "unmasked", "forbidden"
CITIZEN_MAY = {"name": U, "phone": U, "colour": S, "reasons": S, "natTests": S, "trips": S,
               "entries": S}  # fmt: skip
VENUE_MAY = {"name": M, "colour": S}
ANALYST_MAY = {field: S for field in NESTED} | {"name": M, "phone": M}
NESTED_TABLE = {
    "citizen": {field: CITIZEN_MAY.get(field, F) for field in NESTED},
    "venue": {field: VENUE_MAY.get(field, F) for field in NESTED},
    "partner": {field: F for field in NESTED},
    "analyst": ANALYST_MAY,
    "judge": ANALYST_MAY,
}
TOP = {  # each asks for nothing but the type name, so only the top-level field decides
    "citizen": "citizen(document: $d) { __typename }",
    "me": "me { __typename }",
    "recognition for Macao": "recognition(document: $d, region: MACAO) { __typename }",
    "recognition for Hong Kong": "recognition(document: $d, region: HONGKONG) { __typename }",
    "riskAreas": "riskAreas { __typename }",
    "colourCounts": "colourCounts(documents: [$d]) { __typename }",
    "introspection": "__schema { queryType { name } }",
}
TOP_TABLE = {
    "citizen": {"me": S},
    "venue": {"citizen": S},
    "partner": {"recognition for Macao": S},
    "analyst": {key: S for key in TOP if key != "me"},
    "judge": {key: S for key in TOP if key != "me"},
}


@pytest.fixture(scope="module")
def open_hub(
    sandbox: Sandbox, identity: DevIdentity, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Starlette]]:
    """A hub that lets every role send its own documents, so the field table is what decides."""
    settings = hub_settings(
        sandbox, identity, tmp_path_factory.mktemp("open") / "hub.db",
        surface={"persisted_only_roles": []},
    )  # fmt: skip
    with serving(settings) as running:
        yield running


@pytest.fixture
async def hub_for_all(
    open_hub: tuple[str, Starlette], sandbox: Sandbox, identity: DevIdentity
) -> AsyncIterator[Hub]:
    url, app = open_hub
    async with connected(url, app, sandbox, identity) as hub:
        yield hub


def subject(world: World) -> DocumentRef:
    return world.document(SUBJECT_INDEX)


def headers_of(role: str, hub: Hub, world: World) -> dict[str, str]:
    identity = hub.identity
    if role == "citizen":
        doc = subject(world)
        token = identity.citizen_token(
            parse_document(doc.type, doc.number, today=datetime.now(UTC).date()),
            now=datetime.now(UTC),
        )
        return {"Authorization": f"Bearer {token}"}
    key = {"venue": "venue-0001", "partner": "macao", "analyst": "analyst-0001",
           "judge": "judge-0001"}[role]  # fmt: skip
    return identity.headers(
        key, purpose="access table test" if role in {"analyst", "judge"} else None
    )


async def ask(hub: Hub, role: str, world: World, selection: str) -> tuple[int, dict[str, Any]]:
    doc = subject(world)
    variables = {"d": {"type": doc.type, "number": doc.number}}
    uses_d = "$d" in selection
    query = f"query{'($d: DocumentInput!)' if uses_d else ''} {{ {selection} }}"
    return await hub.post({"query": query, "variables": variables if uses_d else {}},
                          headers_of(role, hub, world))  # fmt: skip


@pytest.mark.parametrize("role", list(NESTED_TABLE))
@pytest.mark.parametrize("field", list(NESTED))
async def test_each_role_sees_each_personal_field_as_the_table_says(
    hub_for_all: Hub, world: World, role: str, field: str
) -> None:
    expected = NESTED_TABLE[role][field]
    root = "me" if role == "citizen" else "citizen(document: $d)"
    status, result = await ask(hub_for_all, role, world, f"{root} {{ {NESTED[field]} }}")
    person = world.person(subject(world))
    assert person is not None and status == 200
    if expected == F:
        assert result["data"] is None
        assert [e["extensions"]["code"] for e in result["errors"]] == ["FORBIDDEN"]
        assert hub_for_all.person_requests() == 0, "a forbidden field is never fetched"
        return
    assert "errors" not in result, result
    value = next(iter(result["data"].values()))[
        field if field in {"name", "phone"} else NESTED[field].split("(")[0].split(" ")[0]
    ]
    if expected in {M, U}:
        full = person.identity.name if field == "name" else person.identity.phone
        assert isinstance(value, str) and full is not None
        if expected == U:
            assert value == full
        else:
            assert value != full and "*" in value
            hidden = "".join(c for c, m in zip(full, value, strict=True) if m == "*")
            assert hidden and hidden not in value


@pytest.mark.parametrize("role", list(TOP_TABLE))
@pytest.mark.parametrize("field", list(TOP))
async def test_each_role_may_ask_only_its_top_level_fields(
    hub_for_all: Hub, world: World, role: str, field: str
) -> None:
    status, result = await ask(hub_for_all, role, world, TOP[field])
    assert status == 200
    if TOP_TABLE[role].get(field) == S:
        assert "errors" not in result, result
        assert all(value is not None for value in result["data"].values())
    else:
        assert result["data"] is None or all(v is None for v in result["data"].values())
        assert {e["extensions"]["code"] for e in result["errors"]} == {"FORBIDDEN"}
        assert hub_for_all.person_requests() == 0
