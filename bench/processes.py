"""Start and stop what the benchmark measures, each in a process of its own: the four
simulators (one process each, over one seeded world anchored at a given instant), the hub
(uvicorn, 1 or N workers) or the floor; and watch them: RSS from /proc/<pid>/status (every
worker), CPU time from /proc/<pid>/stat, py-spy profiles.

`python -m bench.processes simulator <source> ...` is the entry point of a simulator process.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

SOURCES = ("provincial", "national", "macao", "hongkong")
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status < 500:
                    return
        except (OSError, urllib.error.URLError):
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def _request(method: str, url: str, body: object | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as reply:
        raw = reply.read()
    return json.loads(raw) if raw else None


def _stop(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


# --- /proc ------------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    """Direct children of a process (uvicorn's workers under its supervisor)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """A uvicorn process serving `app` (the hub or the floor); workers > 1 forks workers."""

    def __init__(
        self,
        name: str,
        app: str,
        env: Mapping[str, str],
        workers: int = 1,
        log_path: Path | None = None,
        cprofile_dir: Path | None = None,
    ) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        if workers > 1:
            command += ["--workers", str(workers)]
        full_env = dict(os.environ) | dict(env)
        full_env["PYTHONPATH"] = str(ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
        if cprofile_dir is not None:  # the fallback profiler: cProfile each worker
            full_env["BENCH_CPROFILE_DIR"] = str(cprofile_dir)
            command = [sys.executable, "-m", "bench.cprofiled", *command[3:]]
        self._log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            command, env=full_env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT
        )
        try:
            _wait_http(f"{self.url}/healthz", 60, self.process)
            if workers > 1:  # every worker up: each answers /healthz only once it started
                end = time.monotonic() + 60
                while len(children(self.process.pid)) < workers and time.monotonic() < end:
                    time.sleep(0.1)
                time.sleep(1.0)
        except BaseException:
            self.stop()
            raise

    def pids(self) -> list[int]:
        """The processes that serve: the workers under a supervisor, or the one process."""
        if self.workers > 1:
            return [p for p in children(self.process.pid) if rss_mb(p) is not None]
        return [self.process.pid]

    def rss(self) -> dict[int, float]:
        return {pid: mb for pid in self.pids() if (mb := rss_mb(pid)) is not None}

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids())

    def stop(self) -> None:
        _stop(self.process, grace=15)
        if not isinstance(self._log, int):
            self._log.close()


class RssSampler:
    """Samples every serving process's VmRSS each `interval` seconds while it runs."""

    def __init__(self, server: Server, interval: float = 1.0) -> None:
        self.server = server
        self.interval = interval
        self.samples: list[tuple[float, dict[int, float]]] = []
        self._stop = threading.Event()
        self._start = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic() - self._start, self.server.rss()))
            self._stop.wait(self.interval)

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        self._thread.join()
        per_worker = [mb for _, rss in self.samples for mb in rss.values()]
        return {
            "seconds": round(time.monotonic() - self._start, 1),
            "samples": len(self.samples),
            "max_mb_per_worker": round(max(per_worker), 1) if per_worker else None,
            "last_mb_per_worker": [round(mb, 1) for mb in self.samples[-1][1].values()]
            if self.samples
            else [],
            "series": [
                (round(t, 1), [round(v, 1) for v in rss.values()]) for t, rss in self.samples
            ],
        }


# --- simulators ---------------------------------------------------------------------------


class Simulators:
    """The four simulators, one process each, over World(seed, size, now=anchor)."""

    def __init__(self, size: int, seed: int, anchor: datetime, log_path: Path | None = None):
        self.size = size
        self.ports = {name: (free_port(), free_port()) for name in SOURCES}
        self._log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        self.processes = {
            name: subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bench.processes",
                    "simulator",
                    name,
                    "--size",
                    str(size),
                    "--seed",
                    str(seed),
                    "--now",
                    anchor.isoformat(),
                    "--port",
                    str(port),
                    "--admin-port",
                    str(admin),
                ],
                env=env,
                cwd=ROOT,
                stdout=self._log,
                stderr=subprocess.STDOUT,
            )
            for name, (port, admin) in self.ports.items()
        }
        try:
            for name, (_, admin) in self.ports.items():
                _wait_http(f"http://127.0.0.1:{admin}/_admin/faults", 60, self.processes[name])
        except BaseException:
            self.stop()
            raise

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name][0]}"

    def admin(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name][1]}"

    def set_faults(self, **faults: Any) -> None:
        for name in SOURCES:
            _request("PUT", f"{self.admin(name)}/_admin/faults", faults)

    def counters(self) -> dict[str, dict[str, int]]:
        return {name: _request("GET", f"{self.admin(name)}/_admin/counters") for name in SOURCES}

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.processes.values())

    def hub_env(self) -> dict[str, str]:
        return {f"HUB_{name.upper()}__URL": self.url(name) for name in SOURCES}

    def stop(self) -> None:
        for process in self.processes.values():
            _stop(process)
        if not isinstance(self._log, int):
            self._log.close()


def counter_delta(
    before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]
) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for source, routes in after.items():
        delta = {r: n - before.get(source, {}).get(r, 0) for r, n in routes.items()}
        delta = {r: n for r, n in delta.items() if n}
        if delta:
            out[source] = delta
    return out


# --- profiles -------------------------------------------------------------------------------


def py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return found if os.path.exists(found) else None


class Profiler:
    """py-spy attached to the serving processes for `seconds` (speedscope JSON)."""

    def __init__(self, server: Server, out: Path, seconds: float) -> None:
        self.out = out
        self.error: str | None = None
        exe = py_spy()
        self.process: subprocess.Popen[bytes] | None = None
        if exe is None:
            self.error = "py-spy not installed"
            return
        pid = server.process.pid
        command = [
            exe,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "200",
            "--format",
            "speedscope",
            "--output",
            str(out),
            "--nonblocking",
        ]
        if server.workers > 1:
            command.append("--subprocesses")
        self._err = open(out.with_suffix(".log"), "wb")  # noqa: SIM115
        self.process = subprocess.Popen(command, stdout=self._err, stderr=subprocess.STDOUT)

    def wait(self) -> bool:
        if self.process is None:
            return False
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._err.close()
        if self.process.returncode != 0 or not self.out.exists():
            self.error = self.out.with_suffix(".log").read_text(errors="replace")[-500:]
            return False
        return True


# --- a simulator process --------------------------------------------------------------------


def _simulator_main(argv: list[str]) -> None:
    from connectors.hongkong.simulator import HongKongSimulator
    from connectors.macao.simulator import MacaoSimulator
    from connectors.national.simulator import NationalSimulator
    from connectors.provincial.simulator import ProvincialSimulator
    from connectors.simulation import SimulatorServer
    from connectors.world import World

    parser = argparse.ArgumentParser(prog="python -m bench.processes simulator")
    parser.add_argument("source", choices=SOURCES)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--now", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--admin-port", type=int, required=True)
    args = parser.parse_args(argv)
    build = {
        "provincial": ProvincialSimulator,
        "national": NationalSimulator,
        "macao": MacaoSimulator,
        "hongkong": HongKongSimulator,
    }[args.source]
    world = World(seed=args.seed, size=args.size, now=datetime.fromisoformat(args.now))
    server = SimulatorServer(build(world), args.port, args.admin_port).start()
    # A stand-in should answer in the latency it is configured with: its own full collections
    # walking the world and the people it has made (100-120 ms each, two per simulator in 35 s
    # of `scan`; 40-50 ms with the world frozen) stalled every hub call in flight to it. As in
    # the load generator: the world frozen, no full collections.
    gc.freeze()
    gc.set_threshold(*gc.get_threshold()[:2], 1_000_000_000)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "simulator":
        _simulator_main(sys.argv[2:])
    else:
        sys.exit("usage: python -m bench.processes simulator <source> ...")
