"""Soak run: the hub under steady load while source faults are switched on and off.

    python -m bench.soak --seconds 180

Three processes, all on loopback: the four simulators (`hub simulate`, one world of `--size`
people), the hub (`hub serve`, configured by HUB_* variables, log to bench/results/soak-hub.log),
and this one: `--clients` concurrent clients mixing venue scans (the registered VenueScan) and
analysts' citizen pages, plus a fault schedule that switches one fault on one source every
`--fault-every` seconds (with a fault-free slot in each round) over the simulators' admin ports.

Every few seconds the hub's RSS is read from /proc/<pid>/status. At the end: a summary on stdout
and bench/results/soak.json. Exit status 1 on any 5xx, a failed connection to the hub, memory
growth beyond the bound (last-minute RSS > first-minute RSS * 1.5 + 50 MB), an unhandled
exception in the hub's log, or a hub that does not stop cleanly on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from connectors.world import World
from hub.dev_identity import DevIdentity
from hub.persisted import PersistedOperations

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SOURCES = ("provincial", "national", "macao", "hongkong")
FAULTS: list[tuple[str, dict[str, Any]]] = [
    ("latency 800 ms", {"latency_ms": 800, "jitter_ms": 100}),
    ("errors 50%", {"error_rate": 0.5}),
    ("outage 503", {"outage": "503"}),
    ("connections refused", {"outage": "refuse"}),
    ("hang", {"hang": True}),
    ("truncated bodies", {"malformed": "truncated"}),
    ("wrong-shape bodies", {"malformed": "shape"}),
    ("429 + Retry-After 1", {"rate_limit_rate": 1.0, "retry_after_s": 1}),
    ("trickling bodies", {"trickle_ms": 300}),
]
CITIZEN_PAGE = """query($d: DocumentInput!) { citizen(document: $d) {
  name natTests(last: 3) { result sampledAt } trips { areaCode riskLevel } flags { id }
  driverDeclarations { id } macaoCode { colour } hongKongCode { colour }
  healthCode { colour reasons { rule source } sources { source status ageSeconds } } } }"""
RISK_AREAS = '{ riskAreas(region: "440000") { areaCode level } sourceStatus { source breaker } }'
MB = 1024 * 1024


def free_base_port() -> int:
    """N such that N+1..N+4 and N+101..N+104 are free on loopback."""
    for _ in range(200):
        base = random.randrange(20_000, 40_000, 10)
        ports = [base + i for i in range(1, 5)] + [base + 100 + i for i in range(1, 5)]
        try:
            for port in ports:
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free ports")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(command: list[str], env: dict[str, str], log: Any) -> subprocess.Popen[bytes]:
    """`hub <command>` in a process of its own, its output to `log`."""
    return subprocess.Popen(
        [sys.executable, "-m", "hub", *command], env=env, stdout=log, stderr=subprocess.STDOUT,
        cwd=ROOT,
    )  # fmt: skip


def rss_bytes(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


@dataclass
class Tally:
    statuses: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    source_errors: Counter[str] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    unverified_green: int = 0

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())


def check_green(body: Any, tally: Tally) -> None:
    """Count any GREEN whose verdict lists a source neither fresh nor allowed-stale."""
    if isinstance(body, dict):
        sources = body.get("sources")
        if body.get("colour") == "GREEN" and sources:
            if any(s["status"] == "UNAVAILABLE" for s in sources):
                tally.unverified_green += 1
        for value in body.values():
            check_green(value, tally)
    elif isinstance(body, list):
        for value in body:
            check_green(value, tally)


async def wait_until_ready(url: str, process: subprocess.Popen[bytes], seconds: float) -> None:
    async with aiohttp.ClientSession() as session:
        ends = time.monotonic() + seconds
        while time.monotonic() < ends:
            if process.poll() is not None:
                raise RuntimeError(f"{url} exited with {process.returncode} while starting")
            try:
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=1)) as reply:
                    if reply.status < 500:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up within {seconds} s")


async def run(args: argparse.Namespace) -> int:
    RESULTS.mkdir(parents=True, exist_ok=True)
    world = World(seed=args.seed, size=args.size)
    identity = DevIdentity()
    base = free_base_port()
    hub_port = free_port()
    scratch = Path(tempfile.mkdtemp(prefix="ghc-soak-"))
    hub_log_path = RESULTS / "soak-hub.log"
    sim_log_path = RESULTS / "soak-simulators.log"
    urls = {name: f"http://127.0.0.1:{base + i}" for i, name in enumerate(SOURCES, start=1)}
    admin = {name: f"http://127.0.0.1:{base + 100 + i}" for i, name in enumerate(SOURCES, start=1)}
    hub_url = f"http://127.0.0.1:{hub_port}"

    env = os.environ | {
        "HUB_PORT": str(hub_port),
        "HUB_HOST": "127.0.0.1",
        "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{scratch}/hub.db",
        "HUB_AUTH": identity.auth_settings().model_dump_json(),
        "HUB_REQUEST_DEADLINE_S": str(args.deadline),
        "HUB_DRAIN_S": "0.5",
        # the load is many distinct people from a few callers: no per-caller limits here
        "HUB_SURFACE": json.dumps({"requests_per_minute": {}, "subjects_per_minute": {}}),
    }
    for name in SOURCES:
        prefix = f"HUB_{name.upper()}__"
        env |= {
            f"{prefix}URL": urls[name],
            f"{prefix}TOTAL_TIMEOUT": "0.6",
            f"{prefix}CONNECT_TIMEOUT": "0.3",
            f"{prefix}CACHE_TTL": "5",
            f"{prefix}STALE_TTL": "60",
            f"{prefix}RESILIENCE": json.dumps({"open_for_s": 2.0, "slow_call_s": 0.5}),
        }
    env["HUB_NATIONAL__RISK_AREA_SYNC_INTERVAL"] = "10"

    sim_log = sim_log_path.open("wb")
    hub_log = hub_log_path.open("wb")
    simulators = start(
        ["simulate", "--size", str(args.size), "--seed", str(args.seed), "--base-port", str(base)],
        dict(os.environ),
        sim_log,
    )
    hub: subprocess.Popen[bytes] | None = None
    try:
        for name in SOURCES:
            await wait_until_ready(f"{admin[name]}/_admin/faults", simulators, 30)
        hub = start(["serve"], env, hub_log)
        await wait_until_ready(f"{hub_url}/readyz", hub, 30)
        result = await load(args, world, identity, hub_url, admin, hub.pid)
    finally:
        exit_status = None
        if hub is not None and hub.poll() is None:
            hub.send_signal(signal.SIGTERM)
            try:
                exit_status = hub.wait(timeout=30)
            except subprocess.TimeoutExpired:
                hub.kill()
        if simulators.poll() is None:
            simulators.send_signal(signal.SIGINT)
            try:
                simulators.wait(timeout=15)
            except subprocess.TimeoutExpired:
                simulators.kill()
        sim_log.close()
        hub_log.close()

    log_text = hub_log_path.read_text(errors="replace")
    markers = ("Traceback", "unhandled", "Unhandled", "Exception in ASGI application")
    unhandled = sum(log_text.count(marker) for marker in markers)
    result["hub_log"] = {
        "path": str(hub_log_path.relative_to(ROOT)),
        "unhandled_exceptions": unhandled,
        "breaker_changes": log_text.count("circuit breaker for"),
    }
    result["hub_exit_status"] = exit_status

    failures = []
    if result["statuses"].get("5xx", 0) or any(k.startswith("5") for k in result["statuses"]):
        failures.append("5xx answers")
    if result["transport_errors"]:
        failures.append("requests to the hub failed in transport")
    if not result["memory"]["within_bound"]:
        failures.append("memory grew beyond the bound")
    if unhandled:
        failures.append("unhandled exceptions in the hub's log")
    if exit_status != 0:
        failures.append(f"the hub exited with {exit_status} on SIGTERM")
    if result["unverified_green"]:
        failures.append("GREEN shown with a source unavailable")
    result["failures"] = failures
    (RESULTS / "soak.json").write_text(json.dumps(result, indent=2) + "\n")
    summary(result)
    return 1 if failures else 0


async def load(
    args: argparse.Namespace,
    world: World,
    identity: DevIdentity,
    hub_url: str,
    admin: dict[str, str],
    hub_pid: int,
) -> dict[str, Any]:
    tally = Tally()
    rss: list[tuple[float, int]] = []
    applied: list[dict[str, Any]] = []
    scan = PersistedOperations.from_dir().by_name["VenueScan"]
    venue = identity.headers("venue-0001")
    analyst = identity.headers("analyst-0001", purpose="soak run")
    started = time.monotonic()
    ends = started + args.seconds
    rng = random.Random(args.seed)
    # a working set smaller than the world, so the caches hit and turn over
    people = [world.document(rng.randrange(world.size)) for _ in range(args.people)]

    def body_for(kind: str) -> tuple[dict[str, Any], dict[str, str]]:
        doc = rng.choice(people)
        d = {"type": doc.type, "number": doc.number}
        if kind == "scan":
            return {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": scan.sha256}},
                    "variables": {"document": d}}, venue  # fmt: skip
        if kind == "citizen":
            return {"query": CITIZEN_PAGE, "variables": {"d": d}}, analyst
        return {"query": RISK_AREAS}, analyst

    async def client(session: aiohttp.ClientSession) -> None:
        while time.monotonic() < ends and tally.requests < args.max_requests:
            roll = rng.random()
            kind = "scan" if roll < 0.6 else "citizen" if roll < 0.97 else "riskAreas"
            body, headers = body_for(kind)
            sent = time.monotonic()
            try:
                async with session.post(f"{hub_url}/graphql", json=body, headers=headers) as reply:
                    answer = await reply.json(content_type=None)
                    status = reply.status
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                tally.transport_errors[type(exc).__name__] += 1
                continue
            tally.latencies.append(time.monotonic() - sent)
            tally.statuses[str(status)] += 1
            tally.kinds[kind] += 1
            for error in answer.get("errors", ()) if isinstance(answer, dict) else ():
                source = (error.get("extensions") or {}).get("source")
                if source:
                    tally.source_errors[source] += 1
            check_green(answer, tally)

    async def faults(session: aiohttp.ClientSession) -> None:
        schedule = [(s, f) for f in FAULTS for s in SOURCES]
        rng_f = random.Random(args.seed + 1)
        rng_f.shuffle(schedule)
        step = 0
        while time.monotonic() < ends:
            slot_ends = min(ends, time.monotonic() + args.fault_every)
            for name in SOURCES:
                async with session.post(f"{admin[name]}/_admin/reset") as reply:
                    reply.raise_for_status()
            if step % 4 == 3:  # every fourth slot: no fault, to watch the hub recover
                applied.append({"at_s": round(time.monotonic() - started, 1), "fault": None})
            else:
                source, (label, switches) = schedule[step % len(schedule)]
                async with session.put(f"{admin[source]}/_admin/faults", json=switches) as reply:
                    reply.raise_for_status()
                applied.append({"at_s": round(time.monotonic() - started, 1),
                                "source": source, "fault": label})  # fmt: skip
                print(f"[{time.monotonic() - started:6.1f} s] {source}: {label}", flush=True)
            step += 1
            await asyncio.sleep(max(0.0, slot_ends - time.monotonic()))
        for name in SOURCES:
            async with session.post(f"{admin[name]}/_admin/reset") as reply:
                reply.raise_for_status()

    async def sample() -> None:
        while time.monotonic() < ends:
            value = rss_bytes(hub_pid)
            if value is not None:
                rss.append((time.monotonic() - started, value))
            await asyncio.sleep(args.sample_every)

    timeout = aiohttp.ClientTimeout(total=args.deadline + 10)
    connector = aiohttp.TCPConnector(limit=args.clients)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        async with aiohttp.ClientSession() as admin_session:
            await asyncio.gather(
                faults(admin_session),
                sample(),
                *(client(session) for _ in range(args.clients)),
            )
    elapsed = time.monotonic() - started
    final = rss_bytes(hub_pid)
    if final is not None:
        rss.append((elapsed, final))

    first = [v for t, v in rss if t <= 60] or [rss[0][1]]
    last = [v for t, v in rss if t >= elapsed - 60] or [rss[-1][1]]
    first_mb, last_mb = statistics.mean(first) / MB, statistics.mean(last) / MB
    bound_mb = first_mb * 1.5 + 50
    latencies = sorted(tally.latencies) or [0.0]

    def pct(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1)

    return {
        "seconds": round(elapsed, 1),
        "clients": args.clients,
        "world_size": world.size,
        "people_asked_about": len(people),
        "requests": tally.requests,
        "requests_per_s": round(tally.requests / elapsed, 1),
        "statuses": dict(tally.statuses),
        "kinds": dict(tally.kinds),
        "field_errors_by_source": dict(tally.source_errors),
        "transport_errors": dict(tally.transport_errors),
        "unverified_green": tally.unverified_green,
        "latency_ms": {"p50": pct(0.5), "p99": pct(0.99), "max": pct(1.0)},
        "over_deadline_plus_1s": sum(1 for x in latencies if x > args.deadline + 1.0),
        "memory": {
            "rss_start_mb": round(rss[0][1] / MB, 1),
            "rss_end_mb": round(rss[-1][1] / MB, 1),
            "rss_max_mb": round(max(v for _, v in rss) / MB, 1),
            "first_minute_mean_mb": round(first_mb, 1),
            "last_minute_mean_mb": round(last_mb, 1),
            "bound_mb": round(bound_mb, 1),
            "within_bound": last_mb <= bound_mb,
            "samples": [(round(t, 1), round(v / MB, 1)) for t, v in rss],
        },
        "faults_applied": applied,
    }


def summary(result: dict[str, Any]) -> None:
    memory = result["memory"]
    faults = [f for f in result["faults_applied"] if f.get("fault")]
    print(
        f"\nsoak: {result['seconds']} s, {result['clients']} clients, "
        f"{result['requests']} requests ({result['requests_per_s']}/s)\n"
        f"  statuses: {result['statuses']}   transport errors: {result['transport_errors']}\n"
        f"  kinds: {result['kinds']}\n"
        f"  field errors by source: {result['field_errors_by_source']}\n"
        f"  latency ms: {result['latency_ms']}   over deadline+1 s: "
        f"{result['over_deadline_plus_1s']}\n"
        f"  hub RSS MB: start {memory['rss_start_mb']}, end {memory['rss_end_mb']}, max "
        f"{memory['rss_max_mb']}; first-minute mean {memory['first_minute_mean_mb']}, "
        f"last-minute mean {memory['last_minute_mean_mb']} (bound {memory['bound_mb']})\n"
        f"  faults applied: {len(faults)} "
        f"({', '.join(f['source'] + ': ' + f['fault'] for f in faults)})\n"
        f"  hub log: {result['hub_log']}, exit status on SIGTERM {result['hub_exit_status']}\n"
        f"  unverified GREEN: {result['unverified_green']}\n"
        f"  result: {'FAILED: ' + '; '.join(result['failures']) if result['failures'] else 'ok'}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--max-requests", type=int, default=2_000_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--size", type=int, default=100_000, help="people in the world")
    parser.add_argument("--people", type=int, default=20_000, help="distinct people asked about")
    parser.add_argument("--fault-every", type=float, default=15.0)
    parser.add_argument("--sample-every", type=float, default=3.0)
    parser.add_argument("--deadline", type=float, default=1.5, help="the hub's request deadline")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
