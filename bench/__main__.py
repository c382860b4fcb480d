"""`python -m bench`: the hub's benchmark (issue 7). See README, "Performance".

1. the four simulators over a seeded world (1,000,000 people), upstream latency set through
   their fault switches; 2. the hub, 1 worker: every workload closed-loop (saturation, upstream
   requests per client request from the simulators' counters, hub CPU per request), then
   open-loop at fractions of that saturation (latency from the intended send time); a py-spy
   profile of `scan`; VmRSS of the hub throughout; 3. the floor (plain Starlette) the same way;
   4. the hub with 2 workers on `scan`; 5. a 10,000-person world on `scan`.
Results: bench/results/<timestamp>/ (results.json, results.md, latency.png, scan.speedscope.json).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench import checks, report, wrk
from bench.processes import (
    ROOT,
    Profiler,
    RssSampler,
    Server,
    Simulators,
    counter_delta,
)
from bench.workloads import WORKLOADS, Workloads, floor_items

OVERHEAD_ROUTES = frozenset({"POST /oauth/token", "GET /api/v1/risk-areas"})
UNLIMITED = 1_000_000_000


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help="seconds, not minutes: 10,000 people, short phases, 1 worker (CI)",
    )
    p.add_argument("--size", type=int, help="people in the world (default 1,000,000)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--latency-ms", type=float, default=2.0, help="upstream latency (2)")
    p.add_argument("--jitter-ms", type=float, default=1.0, help="plus uniform 0..J ms (1)")
    p.add_argument("--workers", default=None, help="hub worker counts to compare (1,2)")
    p.add_argument("--duration", type=float, help="seconds per closed-loop phase (10)")
    p.add_argument("--open-duration", type=float, help="seconds per open-loop phase (8)")
    p.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated")
    p.add_argument(
        "--connections", type=int, default=32, help="closed-loop connections to start from (32)"
    )
    p.add_argument(
        "--max-connections",
        type=int,
        help="doubled up to this while throughput rises 5 %% or more (4x --connections)",
    )
    p.add_argument(
        "--load-procs",
        type=int,
        default=1,
        help="load generator processes (more when the generator is the bottleneck)",
    )
    p.add_argument("--no-floor", action="store_true")
    p.add_argument(
        "--floor-generator",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="what loads the floor: wrk when installed (auto), else the Python generator",
    )
    p.add_argument("--no-small-world", action="store_true", help="skip the 10,000-person run")
    p.add_argument("--out", type=Path, help="results directory (default bench/results/<time>)")
    args = p.parse_args(argv)
    if args.quick:
        args.size = args.size or 10_000
        args.duration = args.duration or 2.0
        args.open_duration = args.open_duration or 1.5
        args.workers = args.workers or "1"
        args.warmup = 0.5
        args.fractions = [0.5]
        args.no_small_world = True
        args.max_connections = args.max_connections or 2 * args.connections
    else:
        args.size = args.size or 1_000_000
        args.duration = args.duration or 10.0
        args.open_duration = args.open_duration or 8.0
        args.workers = args.workers or "1,2"
        args.warmup = 1.0
        args.fractions = [0.25, 0.5, 0.75, 0.9]
        args.max_connections = args.max_connections or 4 * args.connections
    args.workload_list = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = set(args.workload_list) - set(WORKLOADS)
    if unknown:
        p.error(f"unknown workloads: {sorted(unknown)}")
    args.worker_counts = [int(w) for w in args.workers.split(",")]
    return args


class Bench:
    def __init__(self, args: argparse.Namespace, out: Path) -> None:
        self.args = args
        self.out = out
        self.tmp = Path(tempfile.mkdtemp(prefix="hub-bench-"))
        self.notes: list[str] = []
        self.measured: float | None = None  # the fastest hub saturation so far (req/s)

    def log(self, message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    # --- one phase through the load generator process(es) ---------------------------------

    def load(
        self,
        url: str,
        kind: str,
        mode: str,
        items: list[dict[str, Any]],
        *,
        rate: float = 0.0,
        duration: float,
        connections: int | None = None,
    ) -> dict[str, Any]:
        procs = max(1, self.args.load_procs)
        running = []
        for n in range(procs):
            spec = {
                "url": url,
                "kind": kind,
                "mode": mode,
                "duration": duration,
                "warmup": self.args.warmup,
                "connections": max(1, (connections or self.args.connections) // procs),
                "rate": rate / procs,
                "items": items[n::procs],
                "timeout": 10.0,
            }
            spec_path = self.tmp / f"spec-{n}.json"
            out_path = self.tmp / f"out-{n}.json"
            spec_path.write_bytes(orjson.dumps(spec))
            env = dict(os.environ, PYTHONPATH=str(ROOT))
            running.append(
                (
                    subprocess.Popen(
                        [sys.executable, "-m", "bench.load", str(spec_path), str(out_path)],
                        cwd=ROOT,
                        env=env,
                    ),
                    out_path,
                )
            )
        parts = []
        for process, out_path in running:
            if process.wait(timeout=duration + 120) != 0:
                raise RuntimeError(f"the load generator failed ({process.returncode})")
            parts.append(orjson.loads(out_path.read_bytes()))
        latencies = [x for p in parts for x in p["latencies"]]
        errors: dict[str, int] = {}
        for p in parts:
            for k, v in p["errors"].items():
                errors[k] = errors.get(k, 0) + v
        ok = sum(p["ok"] for p in parts)
        gen_cpu = max(p["generator_cpu"] for p in parts)
        result = {
            "mode": mode,
            "offered": rate if mode == "open" else None,
            "duration": duration,
            "sent": sum(p["sent"] for p in parts),
            "ok": ok,
            "throughput": ok / duration,
            "errors": sum(errors.values()),
            "error_kinds": errors,
            "error_samples": [s for p in parts for s in p["error_samples"]][:5],
            "p50_ms": checks.percentile(latencies, 50) * 1000,
            "p90_ms": checks.percentile(latencies, 90) * 1000,
            "p99_ms": checks.percentile(latencies, 99) * 1000,
            "max_ms": max(latencies) * 1000 if latencies else None,
            "generator_cpu": gen_cpu,
            "generator_bound": gen_cpu > 0.9,
            "lag_p99_ms": max((p["lag_p99_ms"] or 0) for p in parts) if mode == "open" else None,
            "wrapped": any(p["wrapped"] for p in parts),
            "ambiguous": [a for p in parts for a in p["ambiguous"]],
        }
        return result

    def recheck(
        self,
        oracle: checks.Oracle | None,
        kind: str,
        items: list[dict[str, Any]],
        phase: dict[str, Any],
    ) -> None:
        """Answers whose expectation changed within the phase: right at their own instant?"""
        ambiguous = phase.pop("ambiguous")
        if not ambiguous or oracle is None:
            phase["rechecked"] = 0
            return
        people = {item["id"]: item["people"] for item in items}
        wrong = sum(
            not oracle.recheck(kind, people[a["item"]], a["got"], a["send"], a["recv"])
            for a in ambiguous
        )
        phase["rechecked"] = len(ambiguous)
        if wrong:
            phase["errors"] += wrong
            phase["error_kinds"]["wrong content (rechecked)"] = wrong

    # --- a workload: closed loop, then open loop at fractions of its saturation -------------

    def workload(
        self,
        server: Server,
        sims: Simulators | None,
        oracle: checks.Oracle | None,
        gen: Workloads | None,
        kind: str,
        fractions: list[float],
        profile: Path | None = None,
    ) -> dict[str, Any]:
        a = self.args
        url = f"{server.url}/graphql"

        def build(count: int, span: float) -> list[dict[str, Any]]:
            if gen is None:
                return floor_items(min(count, 1000))
            return gen.items(kind, count, span + 120)

        # a closed loop finds saturation only with enough requests in flight: one whose answers
        # wait on upstream calls or the audit's sync is bound by its own concurrency, not by the
        # server. So the connections double while that raises throughput by 5 % or more, up to
        # --max-connections, and the best phase is the saturation (every step is reported). A
        # step with a wrong or degraded answer is past saturation: the search stops there, and
        # its errors count like any other phase's. `analyst50` is not doubled: a quarter of the
        # connections already asks for 400 people at once, and 800 went past the deadline.
        first = max(1, a.connections // 4) if kind == "analyst50" else a.connections
        most = first if kind == "analyst50" else max(first, a.max_connections)
        steps: list[dict[str, Any]] = []
        best: tuple[dict[str, Any], dict[str, Any]] | None = None
        connections = first
        while True:
            sat, delta = self.closed_phase(server, sims, oracle, kind, connections, build)
            steps.append(
                {
                    "connections": connections,
                    "throughput": sat["throughput"],
                    "p99_ms": sat["p99_ms"],
                    "hub_cpu_ms_per_request": sat["hub_cpu_ms_per_request"],
                    "errors": sat["errors"],
                }
            )
            gained = best is None or sat["throughput"] >= 1.05 * best[0]["throughput"]
            if best is None or sat["throughput"] > best[0]["throughput"]:
                best = (sat, delta)
            if not gained or sat["errors"] or connections * 2 > most:
                break
            connections *= 2
        sat, delta = best
        sat["steps"] = steps
        # every step's answers were checked: an error in any of them is a content error
        sat["step_errors"] = sum(step["errors"] for step in steps) - sat["errors"]
        result: dict[str, Any] = {"saturation": sat, "open": []}
        if sims:
            result["upstream_counts"] = delta
            result["upstream_per_request"] = {
                src: {route: n / sat["sent"] for route, n in routes.items()}
                for src, routes in delta.items()
            }
        if kind in ("scan-cold", "analyst50") and sat["wrapped"]:
            self.notes.append(f"{server.name} {kind}: ran out of fresh people (reused some)")
        if gen is not None:
            self.measured = max(self.measured or 0.0, sat["throughput"])
        if kind == "floor":
            fractions = [] if sat.get("generator") == "wrk" else fractions
        self.log(f"  saturation {sat['throughput']:.0f}/s with {sat['connections']} connections")
        if profile is not None:
            self.log(f"{server.name} {kind}: closed loop under py-spy ({a.duration} s)")
            prof_items = build(
                int(2 * sat["throughput"] * (a.duration + a.warmup)) + 100, a.duration + a.warmup
            )
            profiler = Profiler(server, profile, a.duration + a.warmup + 0.5)
            prof_phase = self.load(
                url, kind, "closed", prof_items, duration=a.duration, connections=sat["connections"]
            )
            result["profile"] = {
                "ok": profiler.wait(),
                "error": profiler.error,
                "throughput_under_profiler": prof_phase["throughput"],
                "errors": prof_phase["errors"],
            }
        for fraction in fractions:
            rate = max(1.0, sat["throughput"] * fraction)
            count = int(rate * (a.open_duration + a.warmup)) + 10
            items = build(count, a.open_duration + a.warmup)
            self.log(f"{server.name} {kind}: open loop at {rate:.0f}/s ({fraction:.0%})")
            phase = self.load(url, kind, "open", items, rate=rate, duration=a.open_duration)
            self.recheck(oracle, kind, items, phase)
            phase["fraction"] = fraction
            self.log(
                f"  p50 {phase['p50_ms']:.1f} p99 {phase['p99_ms']:.1f} ms, "
                f"errors {phase['errors']}, lag p99 {phase['lag_p99_ms']:.1f} ms"
            )
            result["open"].append(phase)
        result["content_errors"] = (
            sat["errors"] + sat["step_errors"] + sum(p["errors"] for p in result["open"])
        )
        return result

    def closed_phase(
        self,
        server: Server,
        sims: Simulators | None,
        oracle: checks.Oracle | None,
        kind: str,
        connections: int,
        build: Callable[[int, float], list[dict[str, Any]]],
    ) -> tuple[dict[str, Any], dict[str, dict[str, int]]]:
        """One closed-loop phase: its answers checked, where the machine's cores went, and the
        simulators' request counts during it."""
        a = self.args
        url = f"{server.url}/graphql"
        # enough requests for the closed loop at up to twice the fastest rate seen so far (the
        # generator cycles through them if not: harmless for Zipf draws, flagged for cold ones)
        hint = self.measured or 2000.0  # requests/s to prepare for until one is measured
        if kind == "analyst50":
            hint = max(50.0, hint / 10)
        items = build(int(2 * hint * (a.duration + a.warmup)) + 100, a.duration + a.warmup)
        before = sims.counters() if sims else {}
        cpu0 = server.cpu()
        sims_cpu0 = sims.cpu() if sims else 0.0
        busy0 = machine_busy()
        self.log(f"{server.name} {kind}: closed loop, {connections} connections, {a.duration} s")
        if kind == "floor" and self.floor_by_wrk():
            sat = wrk.closed(
                url, items[0], duration=a.duration, warmup=a.warmup, connections=connections
            )
        else:
            sat = self.load(
                url, kind, "closed", items, duration=a.duration, connections=connections
            )
            sat["generator"] = "python"
        sat["connections"] = connections
        cpu1 = server.cpu()
        busy1 = machine_busy()
        after = sims.counters() if sims else {}
        # CPU this machine spent outside the benchmark's processes during the phase: another
        # job on the machine makes every figure of the phase pessimistic
        span = a.duration + a.warmup
        sims_cpu = (sims.cpu() - sims_cpu0) if sims else 0.0
        ours = (cpu1 - cpu0) + sims_cpu + sat["generator_cpu"] * span
        sat["foreign_cpu_cores"] = max(0.0, (busy1 - busy0) - ours) / span
        # where the machine's cores went: the hub shares them with the simulators and the
        # generator, so on two cores its saturation is as much theirs as its own
        sat["hub_cpu_cores"] = (cpu1 - cpu0) / span
        sat["simulators_cpu_cores"] = sims_cpu / span
        sat["machine_busy_cores"] = (busy1 - busy0) / span
        if sat["foreign_cpu_cores"] > 0.15:
            self.notes.append(
                f"{server.name} {kind} ({connections} connections): other processes used "
                f"{sat['foreign_cpu_cores']:.2f} CPU cores during the phase (figures pessimistic)"
            )
        self.recheck(oracle, kind, items, sat)
        sat["hub_cpu_ms_per_request"] = (cpu1 - cpu0) * 1000 / sat["sent"] if sat["sent"] else None
        self.log(
            f"  {sat['throughput']:.0f}/s, p99 {sat['p99_ms']:.1f} ms, "
            f"errors {sat['errors']}, generator CPU {sat['generator_cpu']:.2f}"
        )
        return sat, counter_delta(before, after) if sims else {}

    def floor_by_wrk(self) -> bool:
        choice = self.args.floor_generator
        if choice == "wrk" and not wrk.available():
            raise SystemExit("--floor-generator wrk: wrk is not installed (apt-get install wrk)")
        if choice == "auto" and not wrk.available():
            self.notes.append(
                "the floor was loaded by the Python generator (wrk is not installed): it "
                "saturates first, so the floor is a lower bound and shares of it flatter the hub"
            )
        return choice == "wrk" or (choice == "auto" and wrk.available())

    # --- processes --------------------------------------------------------------------------

    def hub_env(self, sims: Simulators, identity: Any, name: str) -> dict[str, str]:
        limits = {role: UNLIMITED for role in ("citizen", "venue", "partner", "analyst", "judge")}
        db = self.tmp / f"{name}.db"
        return sims.hub_env() | {
            "HUB_AUTH": identity.auth_settings().model_dump_json(),
            "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
            "HUB_SURFACE__REQUESTS_PER_MINUTE": json.dumps(limits),
            "HUB_SURFACE__SUBJECTS_PER_MINUTE": json.dumps(limits),
        }

    def start_world(self, size: int) -> tuple[Simulators, checks.Oracle, Workloads, Any]:
        from connectors.world import CST
        from hub.dev_identity import DevIdentity

        anchor = datetime.now(CST)
        self.log(
            f"simulators: {size:,} people, latency {self.args.latency_ms} ms "
            f"+ 0..{self.args.jitter_ms} ms"
        )
        sims = Simulators(size, self.args.seed, anchor, self.out / "simulators.log")
        sims.set_faults(latency_ms=self.args.latency_ms, jitter_ms=self.args.jitter_ms)
        oracle = checks.Oracle(self.args.seed, size, anchor)
        identity = DevIdentity()
        return sims, oracle, Workloads(oracle, identity), identity

    def scan_answer_size(self, server: Server, gen: Workloads) -> int:
        item = gen.items("scan", 1, 60)[0]
        request = urllib.request.Request(
            f"{server.url}/graphql", data=item["body"].encode(), headers=item["headers"]
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            body = reply.read()
        verdict, _ = checks.check("scan", item, reply.status, body)
        if verdict not in ("ok", "ambiguous"):
            raise RuntimeError(f"the hub's first scan answer is wrong: {verdict}: {body[:300]!r}")
        return len(body)

    # --- the whole benchmark ------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        a = self.args
        results: dict[str, Any] = {
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "config": {
                "size": a.size,
                "seed": a.seed,
                "latency_ms": a.latency_ms,
                "jitter_ms": a.jitter_ms,
                "duration": a.duration,
                "open_duration": a.open_duration,
                "warmup": a.warmup,
                "fractions": a.fractions,
                "connections": a.connections,
                "max_connections": a.max_connections,
                "load_procs": a.load_procs,
                "floor_generator": a.floor_generator,
                "workers": a.worker_counts,
                "workloads": a.workload_list,
                "quick": a.quick,
                "cpus": os.cpu_count(),
                "python": sys.version.split()[0],
                "zipf_s": 1.0,
            },
            "runs": [],
            "notes": self.notes,
        }
        sims, oracle, gen, identity = self.start_world(a.size)
        scan_bytes = 80
        try:
            for workers in a.worker_counts:
                name = f"hub-{workers}w"
                self.log(f"{name}: starting")
                server = Server(
                    name,
                    "bench.hub_app:app",
                    self.hub_env(sims, identity, name),
                    workers=workers,
                    log_path=self.out / f"{name}.log",
                )
                sampler = RssSampler(server)
                run: dict[str, Any] = {
                    "name": name,
                    "workers": workers,
                    "size": a.size,
                    "workloads": {},
                }
                try:
                    scan_bytes = self.scan_answer_size(server, gen)
                    kinds = a.workload_list if workers == a.worker_counts[0] else ["scan"]
                    for kind in kinds:
                        first = workers == a.worker_counts[0]
                        profile = (
                            self.out / "scan.speedscope.json" if kind == "scan" and first else None
                        )
                        fractions = a.fractions if first else [0.5]
                        w = self.workload(server, sims, oracle, gen, kind, fractions, profile)
                        if "profile" in w:
                            results["profile"] = w.pop("profile") | {"file": "scan.speedscope.json"}
                        run["workloads"][kind] = w
                finally:
                    run["memory"] = sampler.stop()
                    server.stop()
                results["runs"].append(run)
        finally:
            sims.stop()
        if not a.no_floor:
            self.log("floor: starting")
            server = Server(
                "floor",
                "bench.floor:app",
                {"BENCH_FLOOR_BYTES": str(scan_bytes)},
                log_path=self.out / "floor.log",
            )
            try:
                w = self.workload(server, None, None, None, "floor", a.fractions)
            finally:
                server.stop()
            results["runs"].append(
                {
                    "name": "floor",
                    "workers": 1,
                    "workloads": {"floor": w},
                    "answer_bytes": scan_bytes,
                }
            )
        if not a.no_small_world and "scan" in a.workload_list:
            sims, oracle, gen, identity = self.start_world(10_000)
            try:
                server = Server(
                    "hub-1w-10k",
                    "bench.hub_app:app",
                    self.hub_env(sims, identity, "hub-10k"),
                    log_path=self.out / "hub-10k.log",
                )
                try:
                    w = self.workload(server, sims, oracle, gen, "scan", [])
                finally:
                    server.stop()
                results["runs"].append(
                    {"name": "hub-1w-10k", "workers": 1, "size": 10_000, "workloads": {"scan": w}}
                )
            finally:
                sims.stop()
        prof = results.get("profile")
        if prof and prof.get("ok"):
            prof["summary"] = report.profile_summary(self.out / prof["file"])
        results["figures"] = figures(results)
        results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        return results


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _run(results: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((r for r in results["runs"] if r["name"] == name), None)


def figures(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each figure of issue 7 with its target and pass/fail (None when not measured)."""
    cfg = results["config"]
    out: list[dict[str, Any]] = []

    def add(name: str, measured: str, target: str, ok: bool | None, value: Any = None) -> None:
        out.append(
            {"name": name, "measured": measured, "target": target, "pass": ok, "value": value}
        )

    one = _run(results, f"hub-{cfg['workers'][0]}w")
    floor = _run(results, "floor")
    floor_phase = floor["workloads"]["floor"]["saturation"] if floor else None
    floor_sat = floor_phase["throughput"] if floor_phase else None
    scan = one["workloads"].get("scan") if one else None
    scan_sat = scan["saturation"]["throughput"] if scan else None
    add(
        "floor saturation (plain Starlette, 1 worker)",
        f"{floor_sat:,.0f} req/s (loaded by {floor_phase.get('generator', 'python')})"
        if floor_phase and floor_sat
        else "not run",
        "(reference)",
        None,
        floor_sat,
    )
    if scan_sat is not None and floor_sat:
        ratio = scan_sat / floor_sat
        add(
            "`scan` saturation, 1 worker, share of the floor",
            f"{scan_sat:,.0f} req/s = {ratio:.1%}",
            ">= 25 %",
            ratio >= 0.25,
            ratio,
        )
    else:
        add(
            "`scan` saturation, 1 worker, share of the floor",
            f"{scan_sat:,.0f} req/s" if scan_sat else "not run",
            ">= 25 %",
            None,
            scan_sat,
        )

    def clean(kind: str) -> bool:
        w = one["workloads"].get(kind) if one else None
        return w is not None and w["saturation"]["errors"] == 0

    def per_route(kind: str) -> dict[str, float]:
        w = one["workloads"].get(kind) if one else None
        if not w:
            return {}
        if w["saturation"]["errors"]:
            results["notes"].append(
                f"{kind}: its saturation phase had {w['saturation']['errors']} wrong or degraded "
                "answers, so its upstream figure does not pass"
            )
        return {
            f"{src} {route}": ratio
            for src, routes in w["upstream_per_request"].items()
            for route, ratio in routes.items()
            if route not in OVERHEAD_ROUTES
        }

    cold = per_route("scan-cold")
    if cold:
        worst = max(cold.values())
        add(
            "`scan-cold` upstream requests per client request, per route (at saturation)",
            "; ".join(f"{k} {v:.3f}" for k, v in sorted(cold.items())),
            "< 0.25 on every route",
            worst < 0.25 and clean("scan-cold"),
            cold,
        )
    else:
        add(
            "`scan-cold` upstream requests per client request, per route", "not run", "< 0.25", None
        )
    analyst = per_route("analyst50")
    if analyst:
        worst = max(analyst.values())
        add(
            "`analyst50` upstream requests per query, per route",
            "; ".join(f"{k} {v:.2f}" for k, v in sorted(analyst.items())),
            "1 per source and route",
            worst <= 1.0 + 1e-9 and clean("analyst50"),
            analyst,
        )
    else:
        add("`analyst50` upstream requests per query, per route", "not run", "1", None)
    upstream = cfg["latency_ms"] + cfg["jitter_ms"]
    half = next((p for p in (scan or {}).get("open", []) if p.get("fraction") == 0.5), None)
    if half:
        add(
            "`scan` p99 at half saturation (open loop)",
            f"{half['p99_ms']:.1f} ms at {half['offered']:,.0f} req/s (upstream {upstream:g} ms)",
            f"<= upstream + 5 ms = {upstream + 5:g} ms",
            half["p99_ms"] <= upstream + 5,
            half["p99_ms"],
        )
    else:
        add("`scan` p99 at half saturation", "not run", f"<= {upstream + 5:g} ms", None)
    two = _run(results, "hub-2w")
    if two and scan_sat:
        sat2 = two["workloads"]["scan"]["saturation"]["throughput"]
        add(
            "2 workers vs 1 (`scan` saturation)",
            f"{sat2:,.0f} / {scan_sat:,.0f} = {sat2 / scan_sat:.2f}x",
            ">= 1.7x",
            sat2 / scan_sat >= 1.7,
            sat2 / scan_sat,
        )
    else:
        add("2 workers vs 1 (`scan` saturation)", "not run", ">= 1.7x", None)
    hubs = [r for r in results["runs"] if r["name"].startswith("hub-") and r.get("memory")]
    if hubs:
        worst = max(r["memory"]["max_mb_per_worker"] or 0 for r in hubs)
        longest = max(r["memory"]["seconds"] for r in hubs)
        add(
            "hub memory per worker (max VmRSS through the run)",
            f"{worst:.0f} MB (longest run {longest / 60:.1f} min)",
            "< 300 MB (five-minute run)",
            worst < 300,
            worst,
        )
    small = _run(results, "hub-1w-10k")
    if small and scan_sat:
        sat10k = small["workloads"]["scan"]["saturation"]["throughput"]
        diff = abs(sat10k - scan_sat) / max(sat10k, scan_sat)
        add(
            "`scan` throughput, 10,000 vs 1,000,000-person world",
            f"{sat10k:,.0f} vs {scan_sat:,.0f} req/s ({diff:.1%} apart)",
            "within 10 %",
            diff <= 0.10,
            diff,
        )
    else:
        add("`scan` throughput, 10,000 vs 1,000,000-person world", "not run", "within 10 %", None)
    errors = {
        f"{r['name']} {k}": w["content_errors"]
        for r in results["runs"]
        for k, w in r["workloads"].items()
    }
    total = sum(errors.values())
    add(
        "content errors (every answer checked)",
        f"{total}"
        + (" (" + ", ".join(f"{k}: {v}" for k, v in errors.items() if v) + ")" if total else ""),
        "0",
        total == 0,
        errors,
    )
    prof = results.get("profile")
    add(
        "CPU profile of `scan` saved",
        prof["file"]
        if prof and prof.get("ok")
        else f"no ({(prof or {}).get('error') or 'not run'})",
        "saved with the results",
        bool(prof and prof.get("ok")),
    )
    bound = [
        f"{r['name']} {k}"
        for r in results["runs"]
        for k, w in r["workloads"].items()
        if w["saturation"].get("generator_bound")
    ]
    if bound:
        results["notes"].append(
            "load generator near 100 % CPU (its saturation figures are lower bounds): "
            + ", ".join(bound)
        )
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    out = args.out or ROOT / "bench" / "results" / datetime.now().strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    bench = Bench(args, out)
    started = time.monotonic()
    try:
        results = bench.run()
    finally:
        shutil.rmtree(bench.tmp, ignore_errors=True)
    results["wall_s"] = round(time.monotonic() - started, 1)
    report.write(results, out)
    print((out / "results.md").read_text(), flush=True)
    print(f"results: {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
