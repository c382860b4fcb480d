"""The GraphQL surface: transport rules, registered operations, stated purposes, hostile
documents, masked errors, rate limits, CORS, and the audit record of every access."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from graphql import parse, validate
from starlette.applications import Starlette

from connectors.sandbox import Sandbox
from connectors.world import World
from hub.dev_identity import DevIdentity
from hub.persisted import PersistedOperations
from hub.schema import build_schema
from tests.databases import run_sql
from tests.hub.conftest import Hub, connected, hub_settings, serving

SCAN = PersistedOperations.from_dir().by_name["VenueScan"]
RECOGNITION = PersistedOperations.from_dir().by_name["PartnerRecognition"]
GREEN = {"type": "RESIDENT_ID", "number": "440304199003071029"}  # scenario 02, 李四


def persisted(operation: Any, variables: dict[str, Any]) -> dict[str, Any]:
    return {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": operation.sha256}},
            "variables": variables}  # fmt: skip


def audit_rows(app: Starlette, request_id: str | None = None) -> list[dict[str, Any]]:
    found = run_sql(app.state.settings.database_url, "SELECT * FROM audit_records ORDER BY seq")
    return [r for r in found if request_id is None or r["request_id"] == request_id]


# --- registered operations --------------------------------------------------------------------


def test_every_registered_operation_is_valid_against_the_schema() -> None:
    schema = build_schema()._schema
    operations = PersistedOperations.from_dir()
    assert set(operations.by_name) >= {"VenueScan", "CitizenPage", "PartnerRecognition"}
    for operation in operations.by_name.values():
        assert validate(schema, parse(operation.text)) == [], operation.name


async def test_a_venue_scans_through_the_registered_operation_only(hub: Hub) -> None:
    venue = hub.identity.headers("venue-0001")
    status, body = await hub.post(persisted(SCAN, {"document": GREEN}), venue)
    assert status == 200 and body["data"]["citizen"]["name"] == "*四"
    status, body = await hub.post({"query": SCAN.text, "variables": {"document": GREEN}}, venue)
    assert status == 400 and body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
    status, body = await hub.post({"documentId": "sha256:" + "0" * 64}, venue)
    assert status == 400 and body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_a_partner_asks_only_about_its_own_region(hub: Hub) -> None:
    macao = hub.identity.headers("macao")
    other_region = persisted(RECOGNITION, {"document": GREEN, "region": "HONGKONG"})
    status, body = await hub.post(other_region, macao)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert hub.person_requests() == 0, "the refused question reached no source"
    own_region = persisted(RECOGNITION, {"document": GREEN, "region": "MACAO"})
    status, body = await hub.post(own_region, macao)
    assert status == 200
    assert set(body["data"]["recognition"]) == {"colour", "eligible", "natValidUntil", "reasons"}


# --- transport -------------------------------------------------------------------------------


async def test_only_json_posts_of_one_operation_are_accepted(hub: Hub) -> None:
    url = f"{hub.url}/graphql"
    async with hub.session.get(
        url, params={"query": "{ riskAreas { areaCode } }"}, headers=hub.analyst
    ) as reply:
        assert reply.status == 405
    async with hub.session.post(
        url, data="{ riskAreas { areaCode } }", headers=hub.analyst | {"Content-Type": "text/plain"}
    ) as reply:
        assert reply.status == 415
    status, body = await hub.post([{"query": "{ riskAreas { areaCode } }"}] * 2)
    assert status == 400 and body["errors"][0]["extensions"]["code"] == "BATCHING_NOT_SUPPORTED"
    async with hub.session.post(
        url, data=b"{not json", headers=hub.analyst | {"Content-Type": "application/json"}
    ) as reply:
        assert reply.status == 400


async def test_a_body_over_the_limit_is_refused_before_it_is_parsed(hub: Hub) -> None:
    huge = "x" * (70 * 1024)
    status, body = await hub.post({"query": f'{{ riskAreas(region: "{huge}") {{ areaCode }} }}'})
    assert status == 413 and body["errors"][0]["extensions"]["code"] == "BODY_TOO_LARGE"
    assert hub.person_requests() == 0


async def test_analysts_must_state_a_purpose_and_a_refusal_is_audited(hub: Hub) -> None:
    headers = hub.identity.headers("analyst-0001")  # no X-Purpose
    status, body = await hub.post({"query": "{ riskAreas { areaCode } }"}, headers)
    assert status == 400
    error = body["errors"][0]
    assert error["extensions"]["code"] == "PURPOSE_REQUIRED"
    (row,) = audit_rows(hub.app, error["extensions"]["requestId"])
    assert row["outcome"] == "denied" and row["caller_id"] == "key:analyst-0001"


# --- hostile documents ------------------------------------------------------------------------

DEEP = "{ __schema { types { fields { type " + "{ ofType " * 9 + "{ name }" + " }" * 9 + " } } } }"
ALIASES = "{ " + " ".join(f"a{i}: riskAreas {{ areaCode }}" for i in range(100)) + " }"
CYCLE = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }"
DIRECTIVES = "{ riskAreas " + "@include(if: true) " * 600 + "{ areaCode } }"
FRAGMENT_BOMB = (
    "query { ...F0 } "
    + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(20))
    + " fragment F20 on Query { riskAreas { areaCode } }"
)
OVERLAP = (
    "{ "
    + " ".join(
        f'c: citizen(document: {{type: RESIDENT_ID, number: "44030419900307{1000 + i}"}}) {{ name }}'
        for i in range(20)
    )
    + " }"
)
LONG_NUMBER = '{ citizen(document: {type: PASSPORT, number: "GBR:' + "9" * 40_000 + '"}) { name } }'
MANY_TYPENAMES = "{ " + "__typename " * 1500 + "}"


@pytest.mark.parametrize(
    ("document", "codes"),
    [
        (DEEP, {"QUERY_TOO_DEEP"}),
        (ALIASES, {"TOO_MANY_ALIASES", "QUERY_TOO_COSTLY"}),
        (CYCLE, {"GRAPHQL_VALIDATION_FAILED"}),
        (DIRECTIVES, {"TOO_MANY_TOKENS"}),
        (FRAGMENT_BOMB, {"QUERY_TOO_COSTLY"}),
        (OVERLAP, {"GRAPHQL_VALIDATION_FAILED"}),
        (LONG_NUMBER, {"INVALID_DOCUMENT"}),
        (MANY_TYPENAMES, {"GRAPHQL_VALIDATION_FAILED"}),
        ("{ " + "__typename " * 200 + "}", None),
    ],
    ids=["deep nesting", "alias storm", "fragment cycle", "directive flood", "fragment bomb",
         "overlapping fields", "huge literal", "field flood", "many small fields answered"],
)  # fmt: skip
async def test_hostile_documents_are_refused_before_any_source_is_asked(
    hub: Hub, document: str, codes: set[str] | None
) -> None:
    status, body = await hub.post({"query": document})
    assert status == 200
    if codes is None:
        assert body["data"] == {"__typename": "Query"}, body
    else:
        assert {e["extensions"]["code"] for e in body["errors"]} <= codes
        assert body["errors"]
    assert hub.person_requests() == 0


# --- errors ----------------------------------------------------------------------------------


async def test_field_suggestions_are_only_for_analysts(hub: Hub, identity: DevIdentity) -> None:
    _, analyst = await hub.post({"query": "{ riskArea { areaCode } }"})
    assert "Did you mean" in analyst["errors"][0]["message"]
    open_venue = identity.headers("venue-0001")
    status, venue = await hub.post({"query": "{ citizn { name } }"}, open_venue)
    assert status == 400  # a venue may not even send its own document


async def test_an_unexpected_failure_is_masked_and_logged_without_personal_data(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    mirror = hub.app.state.sources.risk_areas

    def broken() -> None:
        raise RuntimeError("bug while handling " + GREEN["number"])  # the message holds data

    mirror.current = broken  # the first thing asked of the mirror for the list
    try:
        status, body = await hub.post({"query": "{ riskAreas { areaCode } }"})
    finally:
        del mirror.current
    assert status == 200
    (error,) = body["errors"]
    assert error["message"] == "internal error"
    assert error["extensions"]["code"] == "INTERNAL_ERROR" and error["extensions"]["requestId"]
    assert "440304199003071029" not in str(body) and "Traceback" not in str(body)
    assert any(error["extensions"]["requestId"] in r.getMessage() for r in caplog.records)


async def test_a_bug_outside_execution_is_a_plain_500_and_the_hub_goes_on(hub: Hub) -> None:
    endpoint = hub.app.graphql  # answered before Starlette's error middleware: uvicorn's 500
    assert endpoint is not None

    def broken(request: object) -> None:
        raise RuntimeError("bug in the endpoint")

    endpoint._authenticate = broken
    try:
        async with hub.session.post(
            f"{hub.url}/graphql", json={"query": "{ riskAreas { areaCode } }"}, headers=hub.analyst
        ) as reply:
            assert reply.status == 500
            assert "bug" not in await reply.text()
    finally:
        del endpoint._authenticate
    status, _ = await hub.post({"query": "{ riskAreas { areaCode } }"})
    assert status == 200


# --- audit -----------------------------------------------------------------------------------


async def test_each_person_accessed_gets_one_audit_record_naming_the_fields(
    hub: Hub, world: World
) -> None:
    other = world.document(40)
    query = """query($a: DocumentInput!, $b: DocumentInput!) {
      a: citizen(document: $a) { name healthCode { colour } }
      b: citizen(document: $b) { natTests { result } } }"""
    status, body = await hub.post(
        {
            "query": query,
            "variables": {"a": GREEN, "b": {"type": other.type, "number": other.number}},
        }
    )
    assert status == 200 and "errors" not in body
    newest = audit_rows(hub.app)[-2:]
    assert [sorted(r["fields"].strip("[]").replace('"', "").split(",")) for r in newest] == [
        ["healthCode.colour", "name"],
        ["natTests.result"],
    ]
    assert {r["outcome"] for r in newest} == {"served"}
    assert {r["purpose"] for r in newest} == {"automated tests"}
    assert len({r["subject_key"] for r in newest}) == 2
    text = str(newest)
    assert GREEN["number"] not in text and other.number not in text and "李四" not in text


async def test_a_forbidden_request_is_audited_as_denied(hub: Hub) -> None:
    token = hub.identity.citizen_token(
        __import__("hub.domain.documents", fromlist=["parse_document"]).parse_document(
            "RESIDENT_ID", "440304199003071029", today=__import__("datetime").date.today()
        ),
        now=__import__("datetime").datetime.now(__import__("datetime").UTC),
    )
    status, body = await hub.post(
        {"query": "{ riskAreas { areaCode } }"}, {"Authorization": f"Bearer {token}"}
    )
    assert status == 400  # citizens run registered operations only
    (row,) = audit_rows(hub.app, body["errors"][0]["extensions"]["requestId"])
    assert row["outcome"] == "denied" and row["caller_id"].startswith("citizen:")
    assert "440304199003071029" not in row["caller_id"]


# --- a hub with tight limits ------------------------------------------------------------------


@pytest.fixture(scope="module")
def strict_hub(
    sandbox: Sandbox, identity: DevIdentity, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Starlette]]:
    settings = hub_settings(
        sandbox, identity, tmp_path_factory.mktemp("strict") / "hub.db",
        surface={"requests_per_minute": {"analyst": 6}, "subjects_per_minute": {"analyst": 3},
                 "cors_origins": ["https://ghc.example"], "max_batch": 3},
    )  # fmt: skip
    with serving(settings) as running:
        yield running


@pytest.fixture
async def strict(
    strict_hub: tuple[str, Starlette], sandbox: Sandbox, identity: DevIdentity
) -> AsyncIterator[Hub]:
    url, app = strict_hub
    app.state.rate_limiter_reset()
    async with connected(url, app, sandbox, identity) as hub:
        yield hub


async def test_looking_up_too_many_people_is_refused_with_429_and_audited(
    strict: Hub, world: World
) -> None:
    people = [world.document(i) for i in range(60, 64)]
    fields = " ".join(
        f'p{i}: citizen(document: {{type: {d.type}, number: "{d.number}"}}) {{ healthCode {{ colour }} }}'
        for i, d in enumerate(people)
    )
    status, body = await strict.post({"query": f"{{ {fields} }}"})
    assert status == 429
    assert sum(1 for v in body["data"].values() if v is not None) == 3
    assert {e["extensions"]["code"] for e in body["errors"]} == {"RATE_LIMITED"}
    rows = audit_rows(strict.app, body["errors"][0]["extensions"]["requestId"])
    assert sorted(r["outcome"] for r in rows) == ["denied", "served", "served", "served"]


async def test_too_many_requests_a_minute_get_429_with_retry_after(strict: Hub) -> None:
    statuses = []
    for _ in range(8):
        async with strict.session.post(
            f"{strict.url}/graphql",
            json={"query": "{ riskAreas { areaCode } }"},
            headers=strict.analyst,
        ) as reply:
            statuses.append(reply.status)
            if reply.status == 429:
                assert int(reply.headers["Retry-After"]) >= 1
    assert statuses[:6] == [200] * 6 and statuses[6:] == [429, 429]


async def test_cross_origin_requests_are_allowed_only_from_the_allow_list(strict: Hub) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    async with strict.session.options(
        f"{strict.url}/graphql", headers=preflight | {"Origin": "https://ghc.example"}
    ) as reply:
        assert reply.headers.get("Access-Control-Allow-Origin") == "https://ghc.example"
    async with strict.session.options(
        f"{strict.url}/graphql", headers=preflight | {"Origin": "https://evil.example"}
    ) as reply:
        assert "Access-Control-Allow-Origin" not in reply.headers


async def test_with_no_origin_configured_no_cross_origin_request_is_allowed(hub: Hub) -> None:
    preflight = {
        "Origin": "https://ghc.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    async with hub.session.options(f"{hub.url}/graphql", headers=preflight) as reply:
        assert not any(h.lower().startswith("access-control-") for h in reply.headers)
    async with hub.session.post(
        f"{hub.url}/graphql",
        json={"query": "{ __typename }"},
        headers=hub.analyst | {"Origin": "https://ghc.example"},
    ) as reply:
        assert reply.status == 200
        assert not any(h.lower().startswith("access-control-") for h in reply.headers)


async def test_a_configured_batch_answers_each_operation(strict: Hub) -> None:
    status, body = await strict.post(
        [{"query": "{ riskAreas { __typename } }"}, {"query": "{ __typename }"}]
    )
    assert status == 200 and [list(b["data"]) for b in body] == [["riskAreas"], ["__typename"]]


async def test_when_the_audit_cannot_be_written_nothing_is_served(strict: Hub) -> None:
    url = strict.app.state.settings.database_url
    run_sql(url, "ALTER TABLE audit_records RENAME TO audit_records_away")
    try:
        status, body = await strict.post(
            {
                "query": '{ citizen(document: {type: RESIDENT_ID, number: "440304199003071029"}) { name } }'
            }
        )
    finally:
        run_sql(url, "ALTER TABLE audit_records_away RENAME TO audit_records")
    assert status == 503
    assert body["errors"][0]["extensions"]["code"] == "AUDIT_UNAVAILABLE"
    assert "data" not in body and "李四" not in str(body)
