"""The hub's life: liveness, readiness, and a graceful stop on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from connectors.sandbox import Sandbox
from hub.dev_identity import DevIdentity
from tests.databases import database_url
from tests.hub.conftest import Hub


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


async def test_liveness_and_readiness_are_reported(hub: Hub) -> None:
    async with hub.session.get(f"{hub.url}/healthz") as reply:
        assert reply.status == 200
    async with hub.session.get(f"{hub.url}/readyz") as reply:
        body = await reply.json()
        assert reply.status == 200 and body["status"] == "ready"
        assert set(body["sources"]) == {"provincial", "national", "macao", "hongkong"}


def test_sigterm_drains_then_finishes_in_flight_work_and_exits_cleanly(
    sandbox: Sandbox, identity: DevIdentity, tmp_path: Path
) -> None:
    port = free_port()
    settings = identity.auth_settings()
    env = os.environ | {
        "HUB_PORT": str(port),
        "HUB_DRAIN_S": "1.0",
        "HUB_DATABASE_URL": database_url(tmp_path),
        "HUB_AUTH": settings.model_dump_json(),
        "HUB_PROVINCIAL__URL": sandbox.provincial.url,
        "HUB_NATIONAL__URL": sandbox.national.url,
        "HUB_MACAO__URL": sandbox.macao.url,
        "HUB_HONGKONG__URL": sandbox.hongkong.url,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "hub", "serve"], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):  # poll until it listens
            try:
                if get(f"{base}/readyz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        assert get(f"{base}/readyz")[0] == 200

        sandbox.provincial.set_faults(latency_ms=1500)  # a request that will be in flight
        answer: dict[str, object] = {}

        def slow_request() -> None:
            request = urllib.request.Request(
                f"{base}/graphql",
                data=json.dumps({"query": '{ citizen(document: {type: RESIDENT_ID, number: "440304199003071029"}) { name } }'}).encode(),
                headers={"Content-Type": "application/json"} | identity.headers("analyst-0001", "lifecycle test"),
            )  # fmt: skip
            with urllib.request.urlopen(request, timeout=20) as reply:
                answer["status"] = reply.status
                answer["body"] = json.loads(reply.read())

        worker = threading.Thread(target=slow_request)
        worker.start()
        time.sleep(0.3)  # let the request reach the hub before the signal
        process.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        status, body = get(f"{base}/readyz")
        assert status == 503 and body["status"] == "draining"
        worker.join(timeout=20)
        assert answer["status"] == 200
        assert answer["body"] == {"data": {"citizen": {"name": "*四"}}}
        assert process.wait(timeout=20) == 0
    finally:
        sandbox.provincial.clear_faults()
        if process.poll() is None:
            process.kill()
    output = process.stdout.read() if process.stdout else ""
    assert "Traceback" not in output
