"""Shared test configuration: everything the tests talk to is on loopback.

The whole suite's log lines and the error messages the hub answered with are captured and, at
the end, scanned for every test subject's document number, name and phone: personal data must
never reach a log or an error message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

SCENARIOS = Path(__file__).resolve().parents[1] / "hub" / "scenarios"
# the synthetic world of the hub's end-to-end tests (tests/hub/conftest.py)
HUB_WORLD = {"seed": 11, "size": 5000}

ERROR_MESSAGES: list[str] = []  # filled by the tests' GraphQL client


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = record.getMessage()
        except Exception:  # noqa: BLE001 - a badly formatted record is still captured
            line = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            line += f" | {record.exc_info[1]!r}"
        self.lines.append(line)


def personal_data() -> set[str]:
    """Document numbers, names and phones of the subjects the tests use."""
    from connectors.world import World

    found: set[str] = set()
    for path in SCENARIOS.glob("*.json"):
        subject = json.loads(path.read_text(encoding="utf-8"))["subject"]
        found.add(subject["document"]["number"])
        found.add(subject["name"])
    world = World(**HUB_WORLD)
    for index in range(world.size):
        person = world.person(world.document(index))
        if person is not None:
            found.add(person.identity.document.number)
            if len(person.identity.name) >= 3:  # two-character names also occur as words
                found.add(person.identity.name)
            if person.identity.phone:
                found.add(person.identity.phone)
    return found


@pytest.fixture(scope="session", autouse=True)
def test_databases() -> Iterator[None]:
    """Requested first, so torn down last: after every hub using a database has stopped."""
    from tests.databases import drop_created

    yield
    drop_created()


@pytest.fixture(scope="session", autouse=True)
def no_personal_data_in_logs(test_databases: None) -> Iterator[None]:
    capture = _Capture()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    for noisy in ("aiosqlite", "asyncio", "hpack", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.INFO)
    yield
    root.removeHandler(capture)
    root.setLevel(previous)
    text = "\n".join(capture.lines + ERROR_MESSAGES)
    leaked = sorted(item for item in personal_data() if item and item in text)
    assert not leaked, f"{len(leaked)} test subjects' personal data reached logs or errors"
