"""The compiled venue scan (hub/compiled.py) answers exactly as the GraphQL executor does.

Two hubs over the same simulators, one with the compiled scan and one without, are asked the
same things; their answers (request ids aside) and the audit records they write must be equal,
for people of every colour, someone not registered, each source failing, the scraping guard
refusing, and requests the compiled path leaves to the executor (an invalid document,
variables not as declared, another operation name).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from graphql import parse
from starlette.applications import Starlette

from connectors.sandbox import Sandbox
from connectors.world import World
from hub.compiled import CompiledScan
from hub.dev_identity import DevIdentity
from hub.persisted import Operation, PersistedOperations
from hub.schema import build_schema
from tests.hub.conftest import SCENARIOS, hub_settings, serving
from tests.hub.test_surface import SCAN, audit_rows, persisted

VENUE = "venue-0001"


class Pair:
    """The same request to both hubs; what each answered and audited."""

    def __init__(
        self,
        hubs: dict[str, tuple[str, Starlette]],
        session: aiohttp.ClientSession,
        identity: DevIdentity,
    ) -> None:
        self.hubs = hubs
        self.session = session
        self.identity = identity
        self.compiled_runs = 0
        scan = hubs["compiled"][1].state.compiled_scan
        assert scan is not None, "the packaged VenueScan compiles"
        run = scan.run

        async def counted(*args: Any) -> Any:
            result = await run(*args)
            self.compiled_runs += result is not None
            return result

        scan.run = counted

    def forget(self) -> None:
        for _, app in self.hubs.values():
            app.state.sources.clear_caches()

    async def both(self, body: dict[str, Any], caller: str = VENUE) -> dict[str, Any]:
        """Each hub's answer (status, body without request ids, audit rows of the request);
        asserts they are equal and returns the compiled hub's."""
        seen = {}
        for name, (url, app) in self.hubs.items():
            async with self.session.post(
                f"{url}/graphql", json=body, headers=self.identity.headers(caller)
            ) as reply:
                answer = await reply.json()
            request_ids = {e["extensions"].pop("requestId") for e in answer.get("errors", ())}
            rows = [
                {k: row[k] for k in ("caller_id", "role", "subject_key", "fields", "outcome")}
                for row in audit_rows(app)[-3:]
                if row["request_id"] in request_ids or not request_ids
            ]
            seen[name] = {"status": reply.status, "answer": answer, "audit": rows[-1:]}
        assert seen["compiled"] == seen["executor"]
        return seen["compiled"]


@pytest.fixture(scope="module")
def hubs(
    sandbox: Sandbox, identity: DevIdentity, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, tuple[str, Starlette]]]:
    one, other = tmp_path_factory.mktemp("compiled"), tmp_path_factory.mktemp("executor")
    with (
        serving(hub_settings(sandbox, identity, one / "hub.db")) as compiled,
        serving(
            hub_settings(sandbox, identity, other / "hub.db", surface={"compiled_scan": False})
        ) as executor,
    ):
        assert executor[1].state.compiled_scan is None
        yield {"compiled": compiled, "executor": executor}


@pytest.fixture
async def pair(
    hubs: dict[str, tuple[str, Starlette]], sandbox: Sandbox, identity: DevIdentity
) -> AsyncIterator[Pair]:
    sandbox.clear_faults()
    async with aiohttp.ClientSession() as session:
        pair = Pair(hubs, session, identity)
        pair.forget()
        yield pair
    sandbox.clear_faults()


def scan(document: dict[str, str]) -> dict[str, Any]:
    return persisted(SCAN, {"document": document})


def scenario_documents() -> list[dict[str, str]]:
    return [
        json.loads(path.read_text(encoding="utf-8"))["subject"]["document"]
        for path in sorted(Path(SCENARIOS).glob("*.json"))
    ]


def world_documents(world: World, count: int) -> list[dict[str, str]]:
    return [
        {"type": doc.type, "number": doc.number}
        for doc in (world.document(i) for i in range(0, world.size, world.size // count))
    ]


async def test_every_scenario_subject_and_world_person_gets_the_same_answer(
    pair: Pair, world: World
) -> None:
    documents = scenario_documents() + world_documents(world, 40)
    colours, invalid = set(), 0
    for document in documents:
        seen = await pair.both(scan(document))
        assert seen["status"] == 200
        if "errors" in seen["answer"]:  # a scenario about a malformed document
            assert seen["answer"]["errors"][0]["extensions"]["code"] == "INVALID_DOCUMENT"
            invalid += 1
            continue
        assert seen["audit"][0]["outcome"] == "served"
        citizen = seen["answer"]["data"]["citizen"]
        if citizen is not None:
            colours.add(citizen["healthCode"]["colour"])
    assert {"GREEN", "RED"} <= colours, "the cases cover more than one colour"
    assert pair.compiled_runs == len(documents) - invalid, "the compiled path answered the rest"


async def test_someone_not_registered_is_null_on_both(pair: Pair) -> None:
    unknown = {"type": "RESIDENT_ID", "number": "11010519491231002X"}
    seen = await pair.both(scan(unknown))
    assert seen["answer"] == {"data": {"citizen": None}}
    assert pair.compiled_runs == 1


@pytest.mark.parametrize("source", ["provincial", "national", "hongkong"])
@pytest.mark.parametrize("fault", [{"outage": "503"}, {"malformed": "shape"}])
async def test_a_failing_source_fails_the_same_fields_the_same_way(
    pair: Pair, sandbox: Sandbox, world: World, source: str, fault: dict[str, Any]
) -> None:
    documents = scenario_documents()[:3] + world_documents(world, 3)
    sandbox.servers[source].set_faults(**fault)
    for document in documents:
        pair.forget()
        seen = await pair.both(scan(document))
        assert seen["status"] == 200
        if source == "provincial":
            assert seen["answer"]["errors"][0]["path"] == ["citizen", "name"]
        assert seen["answer"]["data"]["citizen"]["healthCode"]["colour"] != "GREEN"
    assert pair.compiled_runs == len(documents)


@pytest.mark.parametrize(
    "variables",
    [
        {"document": {"type": "RESIDENT_ID", "number": "440304199003071028"}},  # check character
        {"document": {"type": "PASSPORT", "number": "440304199003071029"}},  # no such type
        {"document": {"type": "RESIDENT_ID"}},  # number missing
        {"document": {"type": "RESIDENT_ID", "number": 440304199003071029}},  # not a string
        {"document": {"type": "RESIDENT_ID", "number": "440304199003071029", "x": 1}},
        {"document": "440304199003071029"},
        {},
    ],
)
async def test_what_the_compiled_path_does_not_take_gets_the_executors_answer(
    pair: Pair, variables: dict[str, Any]
) -> None:
    seen = await pair.both(persisted(SCAN, variables))
    assert seen["answer"]["errors"]
    assert pair.compiled_runs == 0


async def test_another_operation_name_gets_the_executors_answer(pair: Pair) -> None:
    body = scan({"type": "RESIDENT_ID", "number": "440304199003071029"})
    seen = await pair.both(body | {"operationName": "CitizenPage"})
    assert seen["answer"]["errors"]
    assert pair.compiled_runs == 0


async def test_the_scraping_guard_refuses_the_same_way(
    sandbox: Sandbox, identity: DevIdentity, world: World, tmp_path: Path
) -> None:
    guarded = {"subjects_per_minute": {"venue": 2}}
    (tmp_path / "c").mkdir()
    (tmp_path / "e").mkdir()
    with (
        serving(hub_settings(sandbox, identity, tmp_path / "c" / "hub.db", surface=guarded)) as c,
        serving(
            hub_settings(
                sandbox,
                identity,
                tmp_path / "e" / "hub.db",
                surface=guarded | {"compiled_scan": False},
            )
        ) as e,
    ):
        async with aiohttp.ClientSession() as session:
            pair = Pair({"compiled": c, "executor": e}, session, identity)
            answers = [await pair.both(scan(d)) for d in world_documents(world, 3)]
    refused = answers[-1]
    assert refused["status"] == 429
    assert refused["answer"]["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert refused["answer"]["data"] == {"citizen": None}
    assert refused["audit"][0]["outcome"] == "denied"


def test_a_changed_registered_scan_is_left_to_the_executor() -> None:
    schema = build_schema()._schema
    packaged = PersistedOperations.from_dir()
    assert CompiledScan.build(schema, packaged) is not None
    more = SCAN.text.replace("colour", "colour popups")
    changed = PersistedOperations([Operation("VenueScan", "0" * 64, more)])
    assert parse(more) and CompiledScan.build(schema, changed) is None
