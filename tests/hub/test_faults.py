"""The fault matrix: every source, every fault the simulators offer, a query that needs the
source and one that does not; then what the resilience layer promises, counted at the simulators
(retry budget, one half-open probe, single flight, stale-if-error).

Each test runs a hub of its own settings (short timeouts, a breaker that reopens quickly) over the
session's simulators, and switches faults on and off while it runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from starlette.applications import Starlette

from connectors.sandbox import OVERHEAD_ROUTES, Sandbox
from connectors.world import World
from hub.dev_identity import DevIdentity
from tests.hub.conftest import Hub, hub_settings, serving

DEADLINE_S = 2.0
MARGIN_S = 1.0  # the one time bound asserted: it is the behaviour under test
SOURCE_TIMEOUT_S = 0.8  # roomy: the simulators share this process (and its GIL) with the hubs
OPEN_FOR_S = 0.5
AT = "2022-07-11T22:00:00+08:00"
GREEN = {"type": "RESIDENT_ID", "number": "440304199003071029"}  # scenario 02: green at AT
SOURCES = ("provincial", "national", "macao", "hongkong")
RULE_SOURCES = {"provincial", "national", "hongkong"}
NO_LIMITS = {"requests_per_minute": {}, "subjects_per_minute": {}}

# --- hubs of their own ------------------------------------------------------------------------


def source_settings(
    sandbox: Sandbox, *, risk_area_sync_interval: float = 0, **common: Any
) -> dict[str, dict[str, Any]]:
    resilience = common.pop("resilience", {})
    settings = {
        name: {"url": server.url, "total_timeout": SOURCE_TIMEOUT_S, "connect_timeout": 0.3,
               "resilience": dict(resilience), **common}
        for name, server in sandbox.servers.items()
    }  # fmt: skip
    # 0: every request asks for the list (only for hubs that send few requests at once)
    settings["national"]["risk_area_sync_interval"] = risk_area_sync_interval
    return settings


@contextmanager
def own_hub(
    sandbox: Sandbox, identity: DevIdentity, directory: Path, **common: Any
) -> Iterator[tuple[str, Starlette]]:
    settings = hub_settings(
        sandbox, identity, directory / "hub.db", request_deadline_s=DEADLINE_S,
        surface=NO_LIMITS, **source_settings(sandbox, **common),
    )  # fmt: skip
    try:
        with serving(settings) as running:
            yield running
    finally:
        sandbox.clear_faults()


async def client(url: str, app: Starlette, sandbox: Sandbox, identity: DevIdentity) -> Hub:
    return Hub(url, app, sandbox, aiohttp.ClientSession(), identity)


@pytest.fixture(scope="module")
def matrix_hubs(
    sandbox: Sandbox, identity: DevIdentity, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], tuple[str, Starlette]]]:
    """One hub per failing source. A breaker remembers its source's recent failures (that is
    its job), so the cases of the next source, whose other queries need that source, start
    from a hub that has not seen them."""
    with ExitStack() as stack:
        hubs: dict[str, tuple[str, Starlette]] = {}

        def hub_for(source: str) -> tuple[str, Starlette]:
            if source not in hubs:
                # nothing cached, nothing stale: every request asks its sources
                hubs[source] = stack.enter_context(own_hub(
                    sandbox, identity, tmp_path_factory.mktemp(f"faults-{source}"),
                    cache_ttl=0, stale_ttl=0,
                    resilience={"open_for_s": OPEN_FOR_S, "slow_call_s": 0.4},
                ))  # fmt: skip
            return hubs[source]

        yield hub_for


@pytest.fixture
async def matrix(
    request: pytest.FixtureRequest,
    matrix_hubs: Callable[[str], tuple[str, Starlette]],
    sandbox: Sandbox,
    identity: DevIdentity,
) -> AsyncIterator[Hub]:
    sandbox.clear_faults()
    source = getattr(request.node, "callspec", None)
    hub = await client(
        *matrix_hubs(source.params.get("source", "any") if source else "any"), sandbox, identity
    )
    try:
        yield hub
    finally:
        sandbox.clear_faults()
        await hub.session.close()


# --- what is checked after every fault ----------------------------------------------------------


def leftovers(app: Starlette) -> list[str]:
    """What of the hub's upstream work is still running or held: nothing, once requests ended."""
    sources = app.state.sources
    found = []
    for route in sources.routes.all():
        if route._tasks or route._in_flight or route._pending is not None:
            found.append(f"route {route.name}: {len(route._tasks)} tasks, "
                         f"{len(route._in_flight)} in flight")  # fmt: skip
    for name, guard in sources.guards.items():
        if guard._in_flight or guard.bulkhead.in_use or guard.bulkhead.waiting:
            found.append(f"guard {name}: {guard._in_flight} calls, {guard.bulkhead.in_use} slots")
    if sources.risk_areas._lock.locked():
        found.append("risk-area sync still running")
    for name in SOURCES:
        session = getattr(sources, name)._session
        if session is None or session.closed:
            continue
        connector = session.connector
        held = len(connector._acquired)
        idle = sum(len(conns) for conns in connector._conns.values())
        if held:
            found.append(f"{name}: {held} connections still in use")
        if held + idle > connector.limit:
            found.append(f"{name}: {held + idle} connections open, pool limit {connector.limit}")
    return found


async def assert_nothing_left(app: Starlette) -> None:
    for _ in range(60):  # work a request gave up on ends within its deadline
        found = leftovers(app)
        if not found:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"left running after the requests ended: {found}")


async def timed(
    hub: Hub, query: str, variables: dict[str, Any]
) -> tuple[int, dict[str, Any], float]:
    started = time.monotonic()
    status, body = await hub.post({"query": query, "variables": variables})
    return status, body, time.monotonic() - started


def no_unverified_green(body: Any) -> None:
    """Every healthCode in the answer: GREEN only when every source the rules read answered."""
    if isinstance(body, dict):
        if "colour" in body and "sources" in body:
            statuses = {s["source"]: s["status"] for s in body["sources"]}
            assert set(statuses) == RULE_SOURCES
            if body["colour"] == "GREEN":
                assert set(statuses.values()) <= {"FRESH", "STALE"}, body
        for value in body.values():
            no_unverified_green(value)
    elif isinstance(body, list):
        for value in body:
            no_unverified_green(value)


def all_fresh(body: Any) -> bool:
    """No verdict in the answer was computed without (or with stale) data of some source."""
    if isinstance(body, dict):
        if "sources" in body and any(s["status"] != "FRESH" for s in body["sources"]):
            return False
        return all(all_fresh(value) for value in body.values())
    if isinstance(body, list):
        return all(all_fresh(value) for value in body)
    return True


def at_path(data: Any, path: list[str | int]) -> Any:
    for key in path:
        data = data[key]
    return data


# --- the matrix ----------------------------------------------------------------------------------

HEALTH_CODE = "healthCode(at: $at) { colour sources { source status } }"

# per source: (a) a query that needs it, the fields that must fail, the fields that must be intact;
# (b) a query that does not need it (answered exactly as without the fault)
NEEDS: dict[str, tuple[str, list[list[str]], list[list[str]]]] = {
    "provincial": (
        f"""query($g: DocumentInput!, $at: DateTime) {{
              p: citizen(document: $g) {{ name natTests {{ id }} {HEALTH_CODE} }}
              riskAreas(region: "440000", at: $at) {{ areaCode level }} }}""",
        [["p", "name"], ["p", "natTests"]],
        [["riskAreas"]],
    ),
    "national": (
        f"""query($g: DocumentInput!, $at: DateTime) {{
              p: citizen(document: $g) {{ name natTests {{ id }} trips {{ areaCode riskLevel }}
                                         flags {{ id }} {HEALTH_CODE} }} }}""",
        [["p", "trips"], ["p", "flags"]],
        [["p", "name"], ["p", "natTests"]],
    ),
    "hongkong": (
        f"""query($g: DocumentInput!, $h: DocumentInput!, $at: DateTime) {{
              p: citizen(document: $g) {{ natTests {{ id }} driverDeclarations {{ id }} {HEALTH_CODE} }}
              h: citizen(document: $h) {{ name hongKongCode {{ colour }} }} }}""",
        [["p", "driverDeclarations"], ["h", "hongKongCode"]],
        [["p", "natTests"], ["h", "name"]],
    ),
    "macao": (
        """query($m: DocumentInput!) {
              m: citizen(document: $m) { name natTests { id } macaoCode { colour } } }""",
        [["m", "macaoCode"]],
        [["m", "name"], ["m", "natTests"]],
    ),
}
NOT_NEEDS: dict[str, str] = {
    "provincial": """query($at: DateTime) { riskAreas(region: "440000", at: $at) { areaCode }
                      sourceStatus { source } }""",
    "national": """query($g: DocumentInput!) { p: citizen(document: $g) { name natTests { id result } } }""",
    "hongkong": """query($g: DocumentInput!, $m: DocumentInput!) {
                     p: citizen(document: $g) { natTests { id } trips { areaCode } flags { id } }
                     m: citizen(document: $m) { macaoCode { colour } } }""",
    "macao": f"""query($g: DocumentInput!, $h: DocumentInput!, $at: DateTime) {{
                   p: citizen(document: $g) {{ natTests {{ id }} trips {{ areaCode }}
                                              driverDeclarations {{ id }} {HEALTH_CODE} }}
                   h: citizen(document: $h) {{ hongKongCode {{ colour }} }} }}""",
}

FAULTS: dict[str, dict[str, Any]] = {
    "answers slower than the timeout": {"latency_ms": 1300},
    "answers every request with its internal error": {"error_rate": 1.0},
    "is down behind a 503": {"outage": "503"},
    "refuses connections": {"outage": "refuse"},
    "hangs": {"hang": True},
    "sends truncated JSON": {"malformed": "truncated"},
    "sends JSON of the wrong shape": {"malformed": "shape"},
    "rate-limits with Retry-After": {"rate_limit_rate": 1.0, "retry_after_s": 1},
    "trickles its body": {"trickle_ms": 500},
}
NAMES = {
    "provincial": "the provincial platform",
    "national": "the national platform",
    "hongkong": "the Hong Kong system",
    "macao": "the Macao system",
}
CASES = [(source, fault) for source in NEEDS for fault in FAULTS]


def variables(world: World) -> dict[str, Any]:
    macao, hongkong = world.document(0), world.document(2)
    return {
        "g": GREEN,
        "m": {"type": macao.type, "number": macao.number},
        "h": {"type": hongkong.type, "number": hongkong.number},
        "at": AT,
    }


def used(query: str, values: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if f"${name}:" in query}


@pytest.fixture(scope="module")
def baseline() -> dict[str, dict[str, Any]]:
    """Each query's answer without faults, filled by the first test that needs it."""
    return {}


async def clean_answer(
    hub: Hub, query: str, values: dict[str, Any], cache: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    if query not in cache:
        for _ in range(100):  # an earlier fault may still hold a breaker open
            status, body = await hub.post({"query": query, "variables": values})
            if status == 200 and "errors" not in body and all_fresh(body["data"]):
                cache[query] = body["data"]
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"no clean answer without faults: {body}")
    return cache[query]


@pytest.mark.parametrize(
    ("source", "fault"),
    CASES,
    ids=[f"{NAMES[s]} {f}: its fields fail in time, the others are served, it recovers"
         for s, f in CASES],
)  # fmt: skip
async def test_fault_matrix(
    matrix: Hub,
    world: World,
    baseline: dict[str, dict[str, Any]],
    source: str,
    fault: str,
) -> None:
    needs, failing, intact = NEEDS[source]
    values = variables(world)
    needs_vars, other_vars = used(needs, values), used(NOT_NEEDS[source], values)
    expected_needs = await clean_answer(matrix, needs, needs_vars, baseline)
    expected_other = await clean_answer(matrix, NOT_NEEDS[source], other_vars, baseline)

    matrix.sandbox.servers[source].set_faults(**FAULTS[fault])
    (status_a, body_a, took_a), (status_b, body_b, took_b) = await asyncio.gather(
        timed(matrix, needs, needs_vars), timed(matrix, NOT_NEEDS[source], other_vars)
    )

    # (a) needs the source
    assert status_a == 200 and took_a <= DEADLINE_S + MARGIN_S, (status_a, took_a)
    data = body_a["data"]
    errors = body_a.get("errors", [])
    assert errors, body_a
    assert {e["extensions"].get("source") for e in errors} == {source}, errors
    failed_paths = {tuple(e["path"]) for e in errors}
    for path in failing:
        assert at_path(data, path) is None, path
        assert tuple(path) in failed_paths, (path, errors)
    for path in intact:
        assert at_path(data, path) == at_path(expected_needs, path), path
    no_unverified_green(data)
    if source in RULE_SOURCES:
        code = data["p"]["healthCode"]
        assert code["colour"] != "GREEN"
        assert {"source": source, "status": "UNAVAILABLE"} in code["sources"]

    # (b) does not need it
    assert status_b == 200 and took_b <= DEADLINE_S + MARGIN_S, (status_b, took_b)
    assert "errors" not in body_b, [
        (e["path"], e["extensions"].get("detail")) for e in body_b["errors"]
    ]
    assert body_b["data"] == expected_other
    no_unverified_green(body_b["data"])

    await assert_nothing_left(matrix.app)

    # switched off: the same query succeeds again, without a restart (the breaker may be open
    # for OPEN_FOR_S, then lets its probe through)
    matrix.sandbox.servers[source].clear_faults()
    recovered_by = time.monotonic() + 10 * OPEN_FOR_S + 2 * DEADLINE_S
    while True:
        status, body = await matrix.post({"query": needs, "variables": needs_vars})
        if status == 200 and "errors" not in body and all_fresh(body["data"]):
            break
        assert time.monotonic() < recovered_by, f"no recovery: {body}"
        await asyncio.sleep(0.05)
    assert body["data"] == expected_needs
    await assert_nothing_left(matrix.app)


async def test_a_hanging_provincial_platform_does_not_cost_a_macao_only_query_its_answer(
    matrix: Hub, world: World
) -> None:
    query = "query($m: DocumentInput!) { m: citizen(document: $m) { macaoCode { colour } } }"
    values = used(query, variables(world))
    matrix.sandbox.provincial.set_faults(hang=True)
    status, body, took = await timed(matrix, query, values)
    assert status == 200 and took <= DEADLINE_S + MARGIN_S
    await assert_nothing_left(matrix.app)
    assert body["data"]["m"]["macaoCode"] is not None, body


# --- counted at the simulators --------------------------------------------------------------------

PERSON_QUERY = "query($d: DocumentInput!) { citizen(document: $d) { natTests { id } } }"


def person(world: World, index: int) -> dict[str, str]:
    doc = world.document(index)
    return {"type": doc.type, "number": doc.number}


def person_routes(sandbox: Sandbox) -> dict[str, dict[str, int]]:
    return {
        source: {r: n for r, n in counters.items() if r not in OVERHEAD_ROUTES and n}
        for source, counters in sandbox.counters().items()
    }


async def test_under_a_full_outage_upstream_requests_stay_within_the_retry_budget(
    sandbox: Sandbox, identity: DevIdentity, world: World, tmp_path: Path
) -> None:
    ratio, min_per_s, ttl_s, attempts = 0.2, 2.0, 10.0, 3  # ttl_s: RetryBudget's default
    with own_hub(
        sandbox, identity, tmp_path, cache_ttl=0, stale_ttl=0,
        resilience={"breaker_window": 100_000, "breaker_min_calls": 100_000,  # budget alone
                    "max_attempts": attempts, "retry_ratio": ratio, "retry_min_per_s": min_per_s,
                    "backoff_base_s": 0.01, "backoff_cap_s": 0.02},
    ) as (url, app):  # fmt: skip
        hub = await client(url, app, sandbox, identity)
        try:
            sandbox.provincial.set_faults(outage="503")
            sandbox.reset_counters()
            n = 80
            for i in range(n):  # distinct people, one after another: N original calls
                _, body = await hub.post(
                    {"query": PERSON_QUERY, "variables": {"d": person(world, 1000 + i)}}
                )
                assert body["errors"][0]["extensions"]["source"] == "provincial"
            upstream = sum(sandbox.counters()["provincial"].values())
        finally:
            await hub.session.close()
    bound = n * (1 + ratio) + min_per_s * ttl_s
    assert n < upstream <= bound, (upstream, bound)
    assert upstream < n * attempts


async def test_an_open_breaker_lets_exactly_one_probe_through_however_many_callers_arrive(
    sandbox: Sandbox, identity: DevIdentity, world: World, tmp_path: Path
) -> None:
    open_for = 1.0
    with own_hub(
        sandbox, identity, tmp_path, cache_ttl=0, stale_ttl=0,
        resilience={"breaker_window": 4, "breaker_min_calls": 4, "breaker_failure_rate": 0.5,
                    "open_for_s": open_for, "max_attempts": 1},
    ) as (url, app):  # fmt: skip
        hub = await client(url, app, sandbox, identity)
        status_query = "{ sourceStatus { source breaker } }"

        async def breaker() -> str:
            _, body = await hub.post({"query": status_query})
            return {s["source"]: s["breaker"] for s in body["data"]["sourceStatus"]}["provincial"]

        try:
            sandbox.provincial.set_faults(outage="503")
            for i in range(4):
                await hub.post({"query": PERSON_QUERY, "variables": {"d": person(world, 1200 + i)}})
            assert await breaker() == "OPEN"
            # the probe will fail slowly: while it is out, and while the breaker is open again,
            # nobody else reaches the platform
            sandbox.provincial.set_faults(latency_ms=300)
            await asyncio.sleep(open_for + 0.05)
            sandbox.reset_counters()

            async def caller(i: int) -> dict[str, Any]:
                await asyncio.sleep(0.01 * i)  # arrivals spread over 0.5 s: no batching
                query = (
                    "query($d: DocumentInput!) { citizen(document: $d) { name natTests { id } } }"
                )
                _, body = await hub.post(
                    {"query": query, "variables": {"d": person(world, 1300 + i)}}
                )
                return body

            bodies = await asyncio.gather(*(caller(i) for i in range(50)))
            assert sum(sandbox.counters()["provincial"].values()) == 1
            assert all(b["errors"][0]["extensions"]["source"] == "provincial" for b in bodies)
            assert await breaker() == "OPEN"

            sandbox.provincial.clear_faults()  # back: the next probe closes the breaker
            await asyncio.sleep(open_for + 0.05)
            _, body = await hub.post({"query": PERSON_QUERY, "variables": {"d": GREEN}})
            assert "errors" not in body and await breaker() == "CLOSED"
            await assert_nothing_left(app)
        finally:
            await hub.session.close()


async def test_a_hundred_identical_lookups_cost_one_upstream_request_per_route(
    sandbox: Sandbox, identity: DevIdentity, tmp_path: Path
) -> None:
    query = f"""query($g: DocumentInput!, $at: DateTime) {{ citizen(document: $g) {{
                  name natTests {{ id }} trips {{ areaCode }} driverDeclarations {{ id }} {HEALTH_CODE} }} }}"""
    with own_hub(sandbox, identity, tmp_path, total_timeout=1.0, risk_area_sync_interval=30) as (
        url,
        app,
    ):
        hub = await client(url, app, sandbox, identity)
        try:
            for server in sandbox.servers.values():  # every call is out while all requests arrive
                server.set_faults(latency_ms=250)
            sandbox.reset_counters()
            tasks = [
                asyncio.ensure_future(
                    hub.post({"query": query, "variables": {"g": GREEN, "at": AT}})
                )
                for _ in range(100)
            ]
            await asyncio.sleep(0.2)
            for task in tasks[:5]:  # five callers hang up early
                task.cancel()
            answers = await asyncio.gather(*tasks[5:])
            routes = person_routes(sandbox)
            await assert_nothing_left(app)
        finally:
            await hub.session.close()
    assert all(status == 200 and "errors" not in body for status, body in answers)
    assert len({str(body) for _, body in answers}) == 1
    assert routes["provincial"] == {"POST /api/v1/residents/query": 1,
                                    "POST /api/v1/health-records/query": 1}  # fmt: skip
    assert routes["national"] == {
        "POST /api/v1/itineraries/query": 1,
        "POST /api/v1/flags/query": 1,
    }
    assert routes["hongkong"] == {"GET /api/v1/driver-declarations": 1}
    assert routes["macao"] == {}


COLOUR_WITH_SOURCES = f"query($g: DocumentInput!, $at: DateTime) {{ citizen(document: $g) {{ {HEALTH_CODE.replace('status', 'status ageSeconds')} }} }}"


async def colour_and_sources(hub: Hub) -> tuple[str, dict[str, tuple[str, float | None]]]:
    status, body = await hub.post(
        {"query": COLOUR_WITH_SOURCES, "variables": {"g": GREEN, "at": AT}}
    )
    assert status == 200, body
    code = body["data"]["citizen"]["healthCode"]
    return code["colour"], {s["source"]: (s["status"], s["ageSeconds"]) for s in code["sources"]}


async def test_a_failing_source_is_served_stale_within_its_bound_with_its_age(
    sandbox: Sandbox, identity: DevIdentity, tmp_path: Path
) -> None:
    with own_hub(sandbox, identity, tmp_path, cache_ttl=0.3, stale_ttl=60) as (url, app):
        hub = await client(url, app, sandbox, identity)
        try:
            before, sources = await colour_and_sources(hub)
            assert before == "GREEN" and {s for s, _ in sources.values()} == {"FRESH"}
            await asyncio.sleep(0.4)  # past freshness
            sandbox.national.set_faults(outage="503")
            after, sources = await colour_and_sources(hub)
        finally:
            await hub.session.close()
    status, age = sources["national"]
    assert status == "STALE" and age is not None and age >= 0.3
    assert sources["provincial"] == ("FRESH", None) and sources["hongkong"] == ("FRESH", None)
    assert after == before


async def test_past_its_staleness_bound_a_failing_source_is_unavailable_and_nothing_is_green(
    sandbox: Sandbox, identity: DevIdentity, tmp_path: Path
) -> None:
    with own_hub(sandbox, identity, tmp_path, cache_ttl=0.3, stale_ttl=0) as (url, app):
        hub = await client(url, app, sandbox, identity)
        try:
            before, _ = await colour_and_sources(hub)
            await asyncio.sleep(0.4)
            sandbox.national.set_faults(outage="503")
            after, sources = await colour_and_sources(hub)
        finally:
            await hub.session.close()
    assert before == "GREEN"
    assert sources["national"] == ("UNAVAILABLE", None)
    assert after in {"UNKNOWN", "RED"}
