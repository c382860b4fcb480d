"""What every simulator shares: fault switches, request counters, the admin routes, and a
server that runs on a loopback port in a thread of its own.

A source's simulator subclasses `Simulator`, lists its routes, and says how its system spells
an internal error, an overload and a rate limit. The fault middleware applies the switches
before the route runs, so every route of every source can be made slow, failing or garbled.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, Generic, TypeVar

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connectors.records import DocumentRef
from connectors.world import World

OUTAGE_MODES = (None, "503", "refuse")
MALFORMED_MODES = (None, "truncated", "shape")


@dataclass
class Faults:
    """The switches a test or an operator flips while the simulator runs.

    Rates are drawn from a seeded generator so a test that sets `error_rate=0.5` is repeatable.
    """

    latency_ms: float = 0.0  # added to every request
    jitter_ms: float = 0.0  # plus a uniform random delay in [0, jitter_ms]
    error_rate: float = 0.0  # fraction answered with the source's internal-error style
    outage: str | None = None  # "503": every request gets 503; "refuse": connections refused
    hang: bool = False  # accept the request and never answer
    malformed: str | None = None  # "truncated": cut-off JSON; "shape": valid JSON, wrong shape
    rate_limit_rate: float = 0.0  # fraction answered with a rate limit (429 / source's code)
    retry_after_s: int = 1  # the Retry-After the rate limit announces
    trickle_ms: float = 0.0  # send the body in small chunks, this long apart
    seed: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.validate()
        self.rng.seed(self.seed)

    def validate(self) -> None:
        if self.outage not in OUTAGE_MODES:
            raise ValueError(f"outage must be one of {OUTAGE_MODES}")
        if self.malformed not in MALFORMED_MODES:
            raise ValueError(f"malformed must be one of {MALFORMED_MODES}")
        for name in ("error_rate", "rate_limit_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        for name in ("latency_ms", "jitter_ms", "trickle_ms", "retry_after_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("rng")
        return data

    @classmethod
    def names(cls) -> set[str]:
        return {f.name for f in fields(cls)} - {"rng"}


class Simulator:
    """Base of the four simulators: a world, switches, counters, and an ASGI app."""

    source: ClassVar[str] = "source"

    def __init__(self, world: World) -> None:
        self.world = world
        self.faults = Faults()
        self.counters: Counter[str] = Counter()
        self._routes: list[BaseRoute] = self.routes()
        self._on_refuse: Callable[[bool], Awaitable[None]] | None = None

    # --- what a source defines -------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        raise NotImplementedError

    def internal_error(self) -> Response:
        """How this system answers a failure of its own (the `error_rate` switch)."""
        return JSONResponse({"error": "internal error"}, status_code=500)

    def overloaded(self) -> Response:
        """What stands in front of the system answers when it is down (the `outage` switch)."""
        return Response("Service Unavailable", status_code=503, media_type="text/plain")

    def rate_limited(self, retry_after_s: int) -> Response:
        return Response(
            "Too Many Requests",
            status_code=429,
            headers={"Retry-After": str(retry_after_s)},
            media_type="text/plain",
        )

    def malformed_body(self, mode: str, body: bytes) -> bytes:
        if mode == "truncated":
            return body[: max(1, len(body) // 2)]
        return b'{"unexpected": ["not", "the", "contract"]}'

    def reset_state(self) -> None:
        """Forget what this simulator received (tickets, submissions); `/_admin/reset` calls it."""

    # --- helpers for routes ----------------------------------------------------------------

    def subject_unavailable(self, docs: list[DocumentRef]) -> bool:
        """True when a scenario said this source does not answer for one of these subjects."""
        return any(self.world.unavailable(doc, self.source) for doc in docs)

    # --- the app ---------------------------------------------------------------------------

    def app(self) -> ASGIApp:
        return FaultMiddleware(Starlette(routes=self._routes), self)

    def admin_app(self) -> ASGIApp:
        return Starlette(
            routes=[
                Route("/_admin/faults", self._get_faults, methods=["GET"]),
                Route("/_admin/faults", self._put_faults, methods=["PUT", "PATCH"]),
                Route("/_admin/counters", self._get_counters, methods=["GET"]),
                Route("/_admin/counters", self._reset_counters, methods=["DELETE"]),
                Route("/_admin/reset", self._reset, methods=["POST"]),
            ]
        )

    def route_key(self, scope: Scope) -> str:
        """`METHOD /path/template`: what the counters count by."""
        for route in self._routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return f"{scope['method']} {getattr(route, 'path', scope['path'])}"
        return f"{scope['method']} (unrouted)"

    def set_faults(self, **changes: Any) -> Faults:
        """Change some switches; unknown names or bad values raise ValueError, changing nothing."""
        unknown = set(changes) - Faults.names()
        if unknown:
            raise ValueError(f"unknown fault switches: {sorted(unknown)}")
        current = self.faults.as_dict()
        current.update(changes)
        new = Faults(**current)
        if "seed" not in changes:
            new.rng = self.faults.rng
        self.faults = new
        return new

    def clear_faults(self) -> None:
        self.faults = Faults()

    async def _get_faults(self, request: Request) -> Response:
        return JSONResponse(self.faults.as_dict())

    async def _put_faults(self, request: Request) -> Response:
        try:
            changes = orjson.loads(await request.body())
            if not isinstance(changes, dict):
                raise ValueError("body must be a JSON object of switch names to values")
            refuse_before = self.faults.outage == "refuse"
            faults = self.set_faults(**changes)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        refuse_now = faults.outage == "refuse"
        if refuse_now != refuse_before and self._on_refuse is not None:
            await self._on_refuse(refuse_now)
        return JSONResponse(faults.as_dict())

    async def _get_counters(self, request: Request) -> Response:
        return JSONResponse(dict(self.counters))

    async def _reset_counters(self, request: Request) -> Response:
        self.counters.clear()
        return Response(status_code=204)

    async def _reset(self, request: Request) -> Response:
        """Back to the initial world, no faults, zero counters, nothing received."""
        self.world.reset()
        self.reset_state()
        refused = self.faults.outage == "refuse"
        self.clear_faults()
        self.counters.clear()
        if refused and self._on_refuse is not None:
            await self._on_refuse(False)
        return Response(status_code=204)


class FaultMiddleware:
    """Counts every request per route, then applies the simulator's switches to it."""

    def __init__(self, app: ASGIApp, simulator: Simulator) -> None:
        self.app = app
        self.sim = simulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sim = self.sim
        faults = sim.faults
        sim.counters[sim.route_key(scope)] += 1
        delay = faults.latency_ms
        if faults.jitter_ms:
            delay += faults.rng.uniform(0, faults.jitter_ms)
        if delay:
            await asyncio.sleep(delay / 1000)
        if faults.hang:
            await _disconnected(receive)  # never answer; hold on until the client gives up
            return
        if faults.outage:
            await sim.overloaded()(scope, receive, send)
            return
        if faults.rate_limit_rate and faults.rng.random() < faults.rate_limit_rate:
            await sim.rate_limited(faults.retry_after_s)(scope, receive, send)
            return
        if faults.error_rate and faults.rng.random() < faults.error_rate:
            await sim.internal_error()(scope, receive, send)
            return
        if faults.malformed or faults.trickle_ms:
            await self._rewrite(scope, receive, send, faults)
            return
        await self.app(scope, receive, send)

    async def _rewrite(self, scope: Scope, receive: Receive, send: Send, faults: Faults) -> None:
        """Buffer the route's answer, then garble it and/or send it slowly."""
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        if faults.malformed:
            body = self.sim.malformed_body(faults.malformed, body)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        if not faults.trickle_ms:
            headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": start.get("status", 200),
                    "headers": headers})  # fmt: skip
        if faults.trickle_ms:
            # uvicorn ignores sends after the client left, so watch for it and stop trickling
            gone = asyncio.ensure_future(_disconnected(receive))
            try:
                for i in range(0, len(body), 16):
                    if gone.done():
                        return
                    await send({"type": "http.response.body", "body": body[i : i + 16],
                                "more_body": True})  # fmt: skip
                    await asyncio.sleep(faults.trickle_ms / 1000)
            finally:
                gone.cancel()
        await send({"type": "http.response.body", "body": b"" if faults.trickle_ms else body})


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (as uvicorn itself would pick): a simulator standing in
    for a source should not be the slow part of a measurement."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _bind(port: int) -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio turns Nagle off only on sockets that say so, and with
    # Nagle on, a response written as headers then body waits for the client's delayed ACK
    # (40 ms a request on Linux). TCP_NODELAY on the listener is inherited by what it accepts.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


SimulatorT = TypeVar("SimulatorT", bound=Simulator)


class SimulatorServer(Generic[SimulatorT]):
    """Runs a simulator's API and admin apps on loopback ports, in a thread with its own loop.

    `port=0` picks a free port. The `refuse` outage stops the API listener, so connections are
    refused for real, and starts it again on the same port when switched off; the admin
    listener stays up throughout.
    """

    def __init__(self, simulator: SimulatorT, port: int = 0, admin_port: int = 0) -> None:
        self.simulator = simulator
        self._api_sock = _bind(port)
        self._admin_sock = _bind(admin_port)
        self.port: int = self._api_sock.getsockname()[1]
        self.admin_port: int = self._admin_sock.getsockname()[1]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._api: uvicorn.Server | None = None
        self._api_task: asyncio.Task[None] | None = None
        self._admin: uvicorn.Server | None = None
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        simulator._on_refuse = self._set_refusing

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def start(self) -> SimulatorServer[SimulatorT]:
        self._thread = threading.Thread(
            target=self._run, name=f"sim-{self.simulator.source}", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(timeout=10):
            raise RuntimeError(f"{self.simulator.source} simulator did not start")
        return self

    def stop(self) -> None:
        if self._loop is None or self._stopped is None or self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(timeout=10)
        self._loop = None

    def set_faults(self, **changes: Any) -> Faults:
        """Flip switches from a test; `outage="refuse"` also stops the listener."""
        refuse_before = self.simulator.faults.outage == "refuse"
        faults = self.simulator.set_faults(**changes)
        refuse_now = faults.outage == "refuse"
        if refuse_now != refuse_before:
            self._call(self._set_refusing(refuse_now))
        return faults

    def clear_faults(self) -> None:
        self.set_faults(**Faults().as_dict())

    def _call(self, coro: Awaitable[None]) -> None:
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)  # type: ignore[arg-type]

    def _server(self, app: ASGIApp) -> uvicorn.Server:
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off",
            timeout_graceful_shutdown=1, timeout_keep_alive=30,
        )  # fmt: skip
        return uvicorn.Server(config)

    async def _start_api(self) -> None:
        self._api = self._server(self.simulator.app())
        self._api_task = asyncio.create_task(self._api.serve(sockets=[self._api_sock]))
        while not self._api.started:  # noqa: ASYNC110 (uvicorn exposes only a flag)
            if self._api_task.done():
                self._api_task.result()
            await asyncio.sleep(0.005)

    async def _stop_api(self) -> None:
        if self._api is None or self._api_task is None:
            return
        self._api.should_exit = True
        self._api.force_exit = True
        await self._api_task
        self._api = None
        self._api_task = None

    async def _set_refusing(self, refusing: bool) -> None:
        if refusing:
            await self._stop_api()  # closes the listening socket: connections are refused
        elif self._api is None:
            self._api_sock = _bind(self.port)
            await self._start_api()

    def _run(self) -> None:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        self._admin = self._server(self.simulator.admin_app())
        admin_task = asyncio.create_task(self._admin.serve(sockets=[self._admin_sock]))
        await self._start_api()
        while not self._admin.started:  # noqa: ASYNC110 (uvicorn exposes only a flag)
            await asyncio.sleep(0.005)
        self._ready.set()
        await self._stopped.wait()
        await self._stop_api()
        self._admin.should_exit = True
        self._admin.force_exit = True
        await admin_task


def standalone(
    build: Callable[[World], Simulator], default_port: int, argv: list[str] | None = None
) -> None:
    """`python -m connectors.<source>.simulator`: serve a seeded world until Ctrl-C."""
    parser = argparse.ArgumentParser(description=f"Run a simulator on 127.0.0.1:{default_port}")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--size", type=int, default=10_000, help="people in the synthetic world")
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--admin-port", type=int, default=default_port + 100)
    parser.add_argument("--scenarios", help="a directory of scenario files to load on top")
    args = parser.parse_args(argv)
    world = World(seed=args.seed, size=args.size)
    if args.scenarios:
        world.load_scenario_dir(args.scenarios)
        world.mark_initial()
    server = SimulatorServer(build(world), args.port, args.admin_port).start()
    print(f"{server.simulator.source} simulator on {server.url} (admin {server.admin_url}), "
          f"{args.size} people, seed {args.seed}; Ctrl-C stops it", flush=True)  # fmt: skip
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
