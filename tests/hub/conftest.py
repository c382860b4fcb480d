"""A running hub over the four running simulators, all on loopback, for end-to-end tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from starlette.applications import Starlette

from connectors.sandbox import Sandbox, start_sandbox
from connectors.world import World
from hub.app import create_app
from hub.conformance import PACKAGED, SCENARIO_RESILIENCE
from hub.dev_identity import DevIdentity
from hub.settings import Settings
from hub.threaded import BackgroundServer
from tests.conftest import ERROR_MESSAGES, HUB_WORLD
from tests.databases import database_url

SCENARIOS = PACKAGED


@dataclass
class Hub:
    """The hub under test, its simulators, and a GraphQL client."""

    url: str
    app: Starlette
    sandbox: Sandbox
    session: aiohttp.ClientSession
    identity: DevIdentity

    @property
    def analyst(self) -> dict[str, str]:
        return self.identity.headers("analyst-0001", purpose="automated tests")

    async def post(
        self, body: Any, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """POST a raw body as JSON with these headers (the analyst's by default)."""
        async with self.session.post(
            f"{self.url}/graphql", json=body, headers=self.analyst if headers is None else headers
        ) as reply:
            answer = await reply.json()
        for item in answer if isinstance(answer, list) else [answer]:
            ERROR_MESSAGES.extend(str(e) for e in item.get("errors", ()))
        return reply.status, answer

    async def query(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        status, result = await self.post({"query": query, "variables": variables or {}}, headers)
        assert status == 200, result
        return result

    async def query_operation(self, document: str, operation: str) -> dict[str, Any]:
        _, result = await self.post({"query": document, "operationName": operation})
        return result

    def forget_answers(self) -> None:
        self.app.state.sources.clear_caches()

    def person_requests(self) -> int:
        return self.sandbox.person_requests()


@pytest.fixture(scope="session")
def world() -> World:
    world = World(**HUB_WORLD)
    world.load_scenario_dir(SCENARIOS)
    world.mark_initial()
    return world


@pytest.fixture(scope="session")
def identity() -> DevIdentity:
    return DevIdentity()


def hub_settings(
    sandbox: Sandbox, identity: DevIdentity, database: Path, **overrides: Any
) -> Settings:
    """Settings of a hub over these simulators, with short source timeouts for fault tests."""
    values: dict[str, Any] = {
        "auth": identity.auth_settings(),
        "database_url": database_url(database.parent),
        # breakers that do not open: one test's faults must not leak into the next through an
        # open breaker (the resilience tests use hubs of their own)
        **{
            name: {"url": server.url, "total_timeout": 1.0, "resilience": SCENARIO_RESILIENCE}
            for name, server in sandbox.servers.items()
        },
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def sandbox(world: World) -> Iterator[Sandbox]:
    sandbox = start_sandbox(world)
    yield sandbox
    sandbox.stop()


@contextmanager
def serving(settings: Settings) -> Iterator[tuple[str, Starlette]]:
    """A hub with these settings on a free loopback port, for as long as the block lasts."""
    app = create_app(settings)
    server = BackgroundServer(app).start()
    try:
        yield server.url, app
    finally:
        server.stop()


@asynccontextmanager
async def connected(
    url: str, app: Starlette, sandbox: Sandbox, identity: DevIdentity
) -> AsyncIterator[Hub]:
    """A client of a running hub, its answer caches and the simulators' counters reset."""
    async with aiohttp.ClientSession() as session:
        hub = Hub(url, app, sandbox, session, identity)
        hub.forget_answers()
        sandbox.reset_counters()
        yield hub


@pytest.fixture(scope="session")
def running(
    sandbox: Sandbox, identity: DevIdentity, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Starlette, Sandbox]]:
    database = tmp_path_factory.mktemp("hub") / "hub.db"
    with serving(hub_settings(sandbox, identity, database)) as (url, app):
        yield url, app, sandbox


@pytest.fixture
async def hub(running: tuple[str, Starlette, Sandbox], identity: DevIdentity) -> AsyncIterator[Hub]:
    url, app, sandbox = running
    sandbox.clear_faults()
    async with connected(url, app, sandbox, identity) as hub:
        yield hub
    sandbox.clear_faults()
