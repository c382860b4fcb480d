"""The load generator, in a process of its own: `python -m bench.load SPEC OUT`.

SPEC (JSON) names the URL, the requests (body, headers, what each answer must say), and one
phase: `open` (a fixed arrival rate; each request's latency is measured from its INTENDED send
time, so a slow server cannot hide its queue by slowing the sender: no coordinated omission) or
`closed` (N connections, each sending its next request when the previous answer arrived: the
saturation throughput). One pooled aiohttp session; every answer's content is checked
(bench.checks), and only correct answers count as throughput.
"""

from __future__ import annotations

import asyncio
import gc
import resource
import sys
import time
from collections import Counter
from typing import Any

import aiohttp
import orjson

from bench import checks


class Run:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.kind: str = spec["kind"]
        self.items: list[dict[str, Any]] = spec["items"]
        self.url: str = spec["url"]
        self.warmup: float = spec.get("warmup", 1.0)
        self.duration: float = spec["duration"]
        self.timeout = aiohttp.ClientTimeout(total=spec.get("timeout", 10.0))
        self.next_item = 0
        self.wrapped = False
        self.sent = 0  # every request, warm-up included (for upstream requests per request)
        self.ok = 0
        self.errors: Counter[str] = Counter()
        self.error_samples: list[str] = []
        self.latencies: list[float] = []  # seconds, answers completed in the measured window
        self.lags: list[float] = []  # open loop: actual send start minus intended send time
        self.ambiguous: list[dict[str, Any]] = []
        self.window = (0.0, 0.0)

    def take(self) -> dict[str, Any]:
        item = self.items[self.next_item]
        self.next_item += 1
        if self.next_item == len(self.items):
            self.next_item = 0
            self.wrapped = True
        return item

    async def one(self, session: aiohttp.ClientSession, start: float) -> None:
        """One request; `start` is when it was meant to leave (open) or left (closed)."""
        item = self.take()
        self.sent += 1
        wall_send = time.time()
        status, body, failure = 0, b"", None
        try:
            async with session.post(
                self.url, data=item["body"], headers=item["headers"], timeout=self.timeout
            ) as reply:
                status = reply.status
                body = await reply.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            failure = f"transport: {type(exc).__name__}"
        end = time.perf_counter()
        if failure is None:
            verdict, got = checks.check(self.kind, item, status, body)
            if verdict == "ambiguous":
                self.ambiguous.append(
                    {"item": item["id"], "got": got, "send": wall_send, "recv": time.time()}
                )
            elif verdict != "ok":
                failure = verdict
        lo, hi = self.window
        # closed loop: answers that END in the window; open loop: requests MEANT to leave in it
        if lo <= (start if self.spec["mode"] == "open" else end) <= hi:
            self.latencies.append(end - start)
            if failure is None:
                self.ok += 1
            else:
                self.errors[failure.split(":")[0]] += 1
                if len(self.error_samples) < 5:
                    self.error_samples.append(f"{failure} | {body[:300]!r}")

    async def closed(self, session: aiohttp.ClientSession, connections: int) -> None:
        t0 = time.perf_counter()
        self.window = (t0 + self.warmup, t0 + self.warmup + self.duration)
        stop = self.window[1]

        async def loop() -> None:
            while time.perf_counter() < stop:
                await self.one(session, time.perf_counter())

        await asyncio.gather(*(loop() for _ in range(connections)))

    async def open(self, session: aiohttp.ClientSession, rate: float) -> None:
        t0 = time.perf_counter() + 0.05
        self.window = (t0 + self.warmup, t0 + self.warmup + self.duration)
        total = int(rate * (self.warmup + self.duration))
        tasks: set[asyncio.Task[None]] = set()
        for i in range(total):
            intended = t0 + i / rate
            delay = intended - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            self.lags.append(time.perf_counter() - intended)
            task = asyncio.create_task(self.one(session, intended))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks, timeout=self.timeout.total)


async def main(spec: dict[str, Any]) -> dict[str, Any]:
    run = Run(spec)
    connections = int(spec.get("connections", 32))
    limit = connections if spec["mode"] == "closed" else int(spec.get("max_connections", 256))
    connector = aiohttp.TCPConnector(limit=limit, limit_per_host=limit, force_close=False)
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    wall0 = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector) as session:
        if spec["mode"] == "closed":
            await run.closed(session, connections)
        else:
            await run.open(session, float(spec["rate"]))
    wall = time.perf_counter() - wall0
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    return {
        "mode": spec["mode"],
        "duration": run.duration,
        "sent": run.sent,
        "ok": run.ok,
        "errors": dict(run.errors),
        "error_samples": run.error_samples,
        "latencies": run.latencies,
        "lag_p99_ms": checks.percentile(run.lags, 99) * 1000 if run.lags else None,
        "wrapped": run.wrapped,
        "ambiguous": run.ambiguous,
        "generator_cpu": cpu / wall if wall else 0.0,
    }


if __name__ == "__main__":
    spec_path, out_path = sys.argv[1], sys.argv[2]
    with open(spec_path, "rb") as f:
        spec = orjson.loads(f.read())
    # The generator's own pauses would count as the server's latency: its requests and their
    # expectations (built above) are frozen out of the collector's sight, and the full
    # collections over them are not run while it measures.
    gc.freeze()
    gc.set_threshold(gc.get_threshold()[0], gc.get_threshold()[1], 1_000_000_000)
    result = asyncio.run(main(spec))
    with open(out_path, "wb") as out:
        out.write(orjson.dumps(result))
