"""All four simulators of one world on free loopback ports: for tests, the demo and the benchmark.

Nothing in the hub's serving path imports this module (it pulls in every simulator).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from connectors.hongkong.simulator import HongKongSimulator
from connectors.macao.simulator import MacaoSimulator
from connectors.national.simulator import NationalSimulator
from connectors.provincial.simulator import ProvincialSimulator
from connectors.simulation import SimulatorServer
from connectors.world import World

# Routes that fetch credentials or the world-wide risk-area list: not "requests for a person's
# data" when counting what a query cost (scenario README, `upstreamCalls`).
OVERHEAD_ROUTES = frozenset({"POST /oauth/token", "GET /api/v1/risk-areas"})


@dataclass
class Sandbox:
    """The four running simulators; credentials are each simulator's development defaults."""

    world: World
    provincial: SimulatorServer[ProvincialSimulator]
    national: SimulatorServer[NationalSimulator]
    macao: SimulatorServer[MacaoSimulator]
    hongkong: SimulatorServer[HongKongSimulator]

    @property
    def servers(self) -> dict[str, SimulatorServer[Any]]:
        return {
            "provincial": self.provincial,
            "national": self.national,
            "macao": self.macao,
            "hongkong": self.hongkong,
        }

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def clear_faults(self) -> None:
        for server in self.servers.values():
            server.clear_faults()

    def reset_counters(self) -> None:
        for server in self.servers.values():
            server.simulator.counters.clear()

    def counters(self) -> dict[str, Counter[str]]:
        """Requests served so far, per source and route."""
        return {name: Counter(s.simulator.counters) for name, s in self.servers.items()}

    def person_requests(self) -> int:
        """Requests for people's data served so far (token fetches and risk-area syncs excluded)."""
        return sum(
            count
            for counters in self.counters().values()
            for route, count in counters.items()
            if route not in OVERHEAD_ROUTES
        )


def start_sandbox(world: World, base_port: int | None = None) -> Sandbox:
    """Start the four simulators: on N+1..N+4 (admin N+101..) for `base_port` N, else free ports."""

    def port(offset: int) -> tuple[int, int]:
        return (0, 0) if base_port is None else (base_port + offset, base_port + 100 + offset)

    started: list[SimulatorServer[Any]] = []
    try:
        for offset, simulator in enumerate(
            (
                ProvincialSimulator(world),
                NationalSimulator(world),
                MacaoSimulator(world),
                HongKongSimulator(world),
            ),
            start=1,
        ):
            started.append(SimulatorServer(simulator, *port(offset)).start())
    except BaseException:
        for server in started:
            server.stop()
        raise
    return Sandbox(world, *started)
