"""Several hub processes sharing one database behave as one: one ticket per idempotency key
whichever replica answers, and every ticket delivered once even when a replica is killed."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from connectors.sandbox import Sandbox
from connectors.world import World
from hub.audit import AuditLog, verify
from hub.dev_identity import DevIdentity
from hub.store.database import migrate, open_engine
from tests.databases import database_url, run_sql
from tests.hub.test_audit import entry
from tests.hub.test_writes import citizen, macao_resident, transfer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Replica:
    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.env = env | {"HUB_PORT": str(self.port)}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Replica:
        self.process = subprocess.Popen([sys.executable, "-m", "hub", "serve"], env=self.env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("replica did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def replicas(
    sandbox: Sandbox, identity: DevIdentity, tmp_path: Path
) -> Iterator[tuple[Replica, Replica, str]]:
    url = database_url(tmp_path)
    env = os.environ | {
        "HUB_DATABASE_URL": url,
        "HUB_AUTH": identity.auth_settings().model_dump_json(),
        "HUB_DRAIN_S": "0",
        "HUB_OUTBOX_LEASE_S": "2",
        "HUB_OUTBOX_POLL_S": "0.2",
        **{f"HUB_{name.upper()}__URL": server.url for name, server in sandbox.servers.items()},
    }
    first, second = Replica(env).start(), Replica(env).start()
    sandbox.macao.simulator.clear_tickets()
    sandbox.reset_counters()
    yield first, second, url
    first.stop()
    second.stop()
    sandbox.clear_faults()


async def post(
    session: aiohttp.ClientSession, base: str, body: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    async with session.post(f"{base}/graphql", json=body, headers=headers) as reply:
        assert reply.status < 500
        result: dict[str, Any] = await reply.json()
        return result


async def wait_for(condition: Any, seconds: float = 30.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


async def test_twenty_identical_transfers_across_two_replicas_make_one_ticket_and_one_delivery(
    replicas: tuple[Replica, Replica, str], sandbox: Sandbox, world: World, identity: DevIdentity
) -> None:
    first, second, url = replicas
    person = macao_resident(world, eligible=True, skip=3)
    headers = citizen(identity, person)
    body = transfer(idempotency=uuid.uuid4().hex)
    async with aiohttp.ClientSession() as session:
        answers = await asyncio.gather(
            *(post(session, (first, second)[i % 2].url, body, headers) for i in range(20))
        )
    ids = {a["data"]["requestCodeTransfer"]["id"] for a in answers if a.get("data")}
    assert len(ids) == 1, answers[:2]
    assert all("errors" not in a for a in answers), [a for a in answers if "errors" in a][:1]
    (ticket_id,) = ids
    await wait_for(lambda: ticket_id in sandbox.macao.simulator.tickets)
    await asyncio.sleep(1.0)  # time for any (wrong) second delivery to show
    assert run_sql(url, "SELECT count(*) AS n FROM transfer_tickets")[0]["n"] in (1, "1")
    assert sandbox.macao.simulator.counters["POST /api/v1/bilhetes-transferencia"] == 1


async def test_with_macao_down_and_a_replica_killed_every_ticket_is_delivered_once(
    replicas: tuple[Replica, Replica, str], sandbox: Sandbox, world: World, identity: DevIdentity
) -> None:
    first, second, url = replicas
    people = [macao_resident(world, eligible=True, skip=4 + n) for n in range(6)]
    sandbox.macao.set_faults(outage="refuse")
    async with aiohttp.ClientSession() as session:
        answers = [
            await post(session, (first, second)[n % 2].url, transfer(), citizen(identity, person))
            for n, person in enumerate(people)
        ]
    tickets = [a["data"]["requestCodeTransfer"] for a in answers]
    assert all(t["status"] == "PENDING_DELIVERY" for t in tickets)
    first.kill()  # no goodbye: whatever it held is left to the other replica
    first.start()
    sandbox.macao.clear_faults()
    await wait_for(lambda: all(t["id"] in sandbox.macao.simulator.tickets for t in tickets))
    await wait_for(
        lambda: {r["status"] for r in run_sql(url, "SELECT status FROM outbox")} == {"delivered"}
    )
    assert sorted(sandbox.macao.simulator.tickets) == sorted(t["id"] for t in tickets)
    assert sandbox.macao.simulator.counters["POST /api/v1/bilhetes-transferencia"] == len(tickets)


MIGRATE = """
import asyncio, sys
from hub.audit import AuditLog
from hub.store.database import migrate, open_engine

async def main():
    engine = open_engine(sys.argv[1])
    await migrate(engine)
    log = await AuditLog.open(engine)
    await log.close()
    await engine.dispose()

asyncio.run(main())
"""


def test_replicas_starting_at_the_same_moment_on_a_new_database_all_come_up(
    tmp_path: Path,
) -> None:
    url = database_url(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    starting = [
        subprocess.Popen([sys.executable, "-c", MIGRATE, url], env=env, stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    failures = [p.communicate(timeout=60)[1].decode()[-1200:] for p in starting if p.wait() != 0]
    assert failures == []
    (version,) = run_sql(url, "SELECT version_num FROM alembic_version")
    assert version["version_num"]


async def test_audit_logs_opened_at_the_same_moment_on_a_new_database_share_one_chain(
    tmp_path: Path,
) -> None:
    # In one process, so that every opener reads the empty chain before any seeds its head:
    # the replicas above meet the same race only now and then.
    url = database_url(tmp_path)
    engine = open_engine(url)
    try:
        await migrate(engine)
        logs = await asyncio.gather(*(AuditLog.open(engine) for _ in range(8)))
        await asyncio.gather(*(log.append([entry(n)]) for n, log in enumerate(logs)))
        for log in logs:
            await log.close()
    finally:
        await engine.dispose()
    assert [row["seq"] for row in run_sql(url, "SELECT seq FROM audit_head")] in (["8"], [8])
    result = await verify(url)
    assert (result.ok, result.records) == (True, 8)
