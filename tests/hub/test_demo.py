"""`hub demo`, run as a newcomer runs it: it starts, every example operation answers, Ctrl-C
stops everything."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import pytest

from hub.demo import example_queries, samples
from tests.hub.conftest import Hub


def free_block(size: int) -> int:
    """A base port N with N+1..N+size and N+101..N+100+size free on loopback."""
    for base in range(20_000, 60_000, 250):
        ports = [base + i for i in range(1, size + 1)] + [
            base + 100 + i for i in range(1, size + 1)
        ]
        try:
            socks = []
            for port in ports:
                sock = socket.socket()
                sock.bind(("127.0.0.1", port))
                socks.append(sock)
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
        return base
    raise RuntimeError("no free block of ports")


def post(url: str, body: dict[str, object], headers: dict[str, str]) -> dict[str, object]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **headers}
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        result: dict[str, object] = json.loads(reply.read())
        return result


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[subprocess.Popen[str], str, int]]:
    base = free_block(5)
    hub_port = base + 5
    process = subprocess.Popen(
        [sys.executable, "-m", "hub", "demo", "--size", "3000", "--port", str(hub_port),
         "--base-port", str(base)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    banner = []
    assert process.stdout is not None
    for line in process.stdout:
        banner.append(line)
        if "Ctrl-C" in line:
            break
    yield process, "".join(banner), hub_port
    if process.poll() is None:
        process.kill()


def test_the_demo_prints_documents_of_each_colour(
    demo: tuple[subprocess.Popen[str], str, int],
) -> None:
    _, banner, port = demo
    assert f"http://127.0.0.1:{port}/graphql" in banner
    for label in ("green code", "yellow code", "red code", "Macao resident", "Hong Kong driver"):
        assert label in banner
    for credential in ("venue-0001", "macao", "hongkong", "analyst-0001", "judge-0001"):
        assert re.search(rf"{credential} +X-Api-Key: ghk_", banner)
    assert "Authorization: Bearer ey" in banner


def test_graphiql_opens_on_the_examples_and_every_example_answers(
    demo: tuple[subprocess.Popen[str], str, int],
) -> None:
    _, _, port = demo
    url = f"http://127.0.0.1:{port}/graphql"
    page = urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "text/html"}))
    html = page.read().decode()
    start = html.index("const EXAMPLE_QUERY = `") + len("const EXAMPLE_QUERY = `")
    examples = html[start : html.index("`;", start)]
    operations = re.findall(r"^query (\w+)", examples, re.M)
    assert len(operations) >= 6
    # GraphiQL sends the analyst's credentials the page was given, as a browser would
    preset = re.search(r"const defaultHeaders = (\{.*\});", html)
    assert preset is not None
    headers = json.loads(preset.group(1))
    assert set(headers) == {"X-Api-Key", "X-Purpose"}
    for operation in operations:
        result = post(url, {"query": examples, "operationName": operation}, headers)
        assert "errors" not in result, (operation, result)
        assert all(value is not None for value in result["data"].values()), operation  # type: ignore[union-attr]


def test_ctrl_c_stops_the_hub_and_the_simulators(
    demo: tuple[subprocess.Popen[str], str, int],
) -> None:
    process, banner, port = demo
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 0
    simulator_ports = [int(p) for p in re.findall(r"simulator http://127.0.0.1:(\d+)", banner)]
    assert len(simulator_ports) == 4
    for p in [port, *simulator_ports]:
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", p), timeout=1).close()


async def test_example_operations_answer_for_any_world(hub: Hub, world: object) -> None:
    from datetime import UTC, datetime

    from hub.domain.policy import PolicyBook

    found = samples(world, datetime.now(UTC), PolicyBook.default())  # type: ignore[arg-type]
    examples = example_queries(found)
    for operation in re.findall(r"^query (\w+)", examples, re.M):
        result = await hub.query_operation(examples, operation)
        assert "errors" not in result, (operation, result)
