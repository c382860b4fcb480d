"""The floor's saturation measured with wrk, when it is installed.

The Python load generator needs about a core to send 8,000 requests a second, so against a
plain Starlette endpoint it saturates first, and the floor it reports is too low (every share
of the floor then flatters the hub). wrk, in C, sends the same load for a fraction of a core.
Its Lua hooks compare each answer with the exact body the floor gives (read once beforehand
and checked by bench.checks like any answer), so only correct answers count here too.
The hub's own phases stay on the Python generator: each of their answers has its own expected
content, and at the hub's rates that generator is far from its limit (results show its CPU).
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench import checks

SCRIPT = """
wrk.method = "POST"
wrk.body = [==[%(body)s]==]
wrk.headers["Content-Type"] = "application/json"
local expected = [==[%(expected)s]==]
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) ok = 0; bad = 0 end
function response(status, headers, body)
  if status == 200 and body == expected then ok = ok + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  local good, wrong = 0, 0
  for _, t in ipairs(threads) do good = good + t:get("ok"); wrong = wrong + t:get("bad") end
  io.write(string.format(
    '\\n{"ok": %%d, "bad": %%d, "requests": %%d, "socket_errors": %%d, "duration_us": %%d, ' ..
    '"p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "max_us": %%d}\\n',
    good, wrong, summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max))
end
"""


def available() -> bool:
    return shutil.which("wrk") is not None


def closed(
    url: str, item: dict[str, Any], *, duration: float, warmup: float, connections: int
) -> dict[str, Any]:
    """A closed-loop phase: `connections` connections for `duration` seconds after a warm-up,
    in the shape of bench.load's results."""
    body = item["body"].encode()
    request = urllib.request.Request(url, data=body, headers=item["headers"])
    with urllib.request.urlopen(request, timeout=10) as reply:
        expected = reply.read()
    verdict, _ = checks.check("floor", item, reply.status, expected)
    if verdict != "ok":
        raise RuntimeError(f"the floor's answer fails its own check: {verdict}")
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        script = Path(tmp) / "floor.lua"
        script.write_text(SCRIPT % {"body": body.decode(), "expected": expected.decode()})
        _wrk(url, script, warmup, connections)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        summary = _wrk(url, script, duration, connections)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    seconds = summary["duration_us"] / 1e6
    errors = summary["bad"] + summary["socket_errors"]
    return {
        "mode": "closed",
        "generator": "wrk",
        "offered": None,
        "duration": seconds,
        "sent": summary["requests"],
        "ok": summary["ok"],
        "throughput": summary["ok"] / seconds,
        "errors": errors,
        "error_kinds": {"wrong or failed answer": errors} if errors else {},
        "error_samples": [],
        "p50_ms": summary["p50_us"] / 1000,
        "p90_ms": summary["p90_us"] / 1000,
        "p99_ms": summary["p99_us"] / 1000,
        "max_ms": summary["max_us"] / 1000,
        "generator_cpu": cpu / wall,
        "generator_bound": cpu / wall > 0.9,
        "lag_p99_ms": None,
        "wrapped": False,
        "ambiguous": [],
    }


def _wrk(url: str, script: Path, seconds: float, connections: int) -> dict[str, Any]:
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    last = run.stdout.strip().splitlines()[-1]
    return dict(json.loads(last))
