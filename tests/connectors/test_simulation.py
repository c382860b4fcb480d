"""The simulator base: every switch, the counters and the admin routes, on a tiny echo source."""

from __future__ import annotations

from collections.abc import Iterator

import aiohttp
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from connectors.errors import SourceContractError, SourceUnavailable
from connectors.http import ClientConfig, SourceClient
from connectors.simulation import Faults, Simulator, SimulatorServer
from connectors.world import World


class EchoSimulator(Simulator):
    source = "echo"

    def routes(self) -> list[BaseRoute]:
        async def item(request: Request) -> Response:
            return JSONResponse({"id": request.path_params["id"], "padding": "x" * 200})

        return [Route("/items/{id}", item)]


class EchoClient(SourceClient):
    source = "echo"

    async def item(self, item_id: str) -> dict[str, str]:
        reply = await self.request("GET", f"/items/{item_id}", route="items")
        self.raise_for_status(reply, route="items")
        data = self.decode_json(reply, route="items")
        if not isinstance(data, dict) or "id" not in data:
            raise SourceContractError(self.source, "no id", route="items")
        return data


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    server = SimulatorServer(EchoSimulator(World(size=10))).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def clean(server: SimulatorServer) -> Iterator[None]:
    server.clear_faults()
    server.simulator.counters.clear()
    yield
    server.clear_faults()


@pytest.fixture
async def client(server: SimulatorServer) -> EchoClient:
    return EchoClient(ClientConfig(server.url, connect_timeout=0.5, total_timeout=0.5))


async def test_a_healthy_simulator_answers_and_counts_per_route_template(
    server: SimulatorServer, client: EchoClient
) -> None:
    assert (await client.item("a"))["id"] == "a"
    await client.item("b")
    await client.close()
    assert server.simulator.counters == {"GET /items/{id}": 2}


@pytest.mark.parametrize(
    ("switches", "error"),
    [
        ({"outage": "503"}, SourceUnavailable),
        ({"outage": "refuse"}, SourceUnavailable),
        ({"hang": True}, SourceUnavailable),
        ({"latency_ms": 800}, SourceUnavailable),
        ({"error_rate": 1.0}, SourceUnavailable),
        ({"rate_limit_rate": 1.0, "retry_after_s": 7}, SourceUnavailable),
        ({"malformed": "truncated"}, SourceContractError),
        ({"malformed": "shape"}, SourceContractError),
        ({"trickle_ms": 100}, SourceUnavailable),
    ],
    ids=[
        "an overloaded gateway is unavailability",
        "a refused connection is unavailability",
        "a hanging source times out instead of hanging the caller",
        "latency beyond the timeout is unavailability",
        "an internal error is unavailability",
        "a rate limit is unavailability that carries Retry-After",
        "a truncated body breaks the contract",
        "a body of the wrong shape breaks the contract",
        "a body trickling slower than the timeout is unavailability",
    ],
)
async def test_each_fault_switch_surfaces_as_the_right_error(
    server: SimulatorServer, client: EchoClient, switches: dict[str, object], error: type[Exception]
) -> None:
    server.set_faults(**switches)
    with pytest.raises(error) as raised:
        await client.item("a")
    if "retry_after_s" in switches:
        assert isinstance(raised.value, SourceUnavailable) and raised.value.retry_after == 7
    server.clear_faults()
    assert (await client.item("a"))["id"] == "a"  # and it recovers once switched off
    await client.close()


async def test_the_error_rate_is_seeded_so_a_run_is_repeatable(
    server: SimulatorServer, client: EchoClient
) -> None:
    async def outcomes() -> list[bool]:
        server.set_faults(error_rate=0.5, seed=42)
        results = []
        for _ in range(20):
            try:
                await client.item("a")
                results.append(True)
            except SourceUnavailable:
                results.append(False)
        return results

    first, second = await outcomes(), await outcomes()
    await client.close()
    assert first == second and 0 < sum(first) < 20


async def test_the_admin_routes_flip_switches_and_read_counters(
    server: SimulatorServer, client: EchoClient
) -> None:
    async with aiohttp.ClientSession(server.admin_url) as admin:
        async with admin.put("/_admin/faults", json={"outage": "refuse"}) as reply:
            assert reply.status == 200
        with pytest.raises(SourceUnavailable, match="refused"):
            await client.item("a")
        async with admin.put("/_admin/faults", json={"outage": "sideways"}) as reply:
            assert reply.status == 400 and "outage" in (await reply.json())["error"]
        async with admin.put("/_admin/faults", json={"no_such_switch": 1}) as reply:
            assert reply.status == 400
        async with admin.post("/_admin/reset") as reply:
            assert reply.status == 204
        assert (await client.item("a"))["id"] == "a"
        async with admin.get("/_admin/counters") as reply:
            assert await reply.json() == {"GET /items/{id}": 1}
        async with admin.delete("/_admin/counters") as reply:
            assert reply.status == 204
        async with admin.get("/_admin/faults") as reply:
            assert (await reply.json()) == Faults().as_dict()
    await client.close()
    assert server.simulator.counters == {}


def test_bad_switch_values_are_refused_and_change_nothing(server: SimulatorServer) -> None:
    with pytest.raises(ValueError, match="error_rate"):
        server.set_faults(error_rate=2.0)
    with pytest.raises(ValueError, match="unknown"):
        server.set_faults(explode=True)
    assert server.simulator.faults.as_dict() == Faults().as_dict()
