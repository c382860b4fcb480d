"""The workloads: who is asked about, with which credentials, and what the answer must say.

- scan       VenueScan (persisted) with the venue's key; people drawn from a Zipf distribution
             over the world (venues see the same people again)
- scan-cold  the same, every request a different person
- citizen    CitizenPage (persisted) with the person's own token (signed ahead, cached)
- partner    PartnerRecognition (persisted) with the Macao key, region MACAO
- analyst50  one analyst query with fifty aliased citizens' colours (analyst key + X-Purpose),
             fifty different people each time (so the upstream figure is one batch per route)
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from bench.checks import Oracle
from hub.dev_identity import DevIdentity
from hub.domain.documents import parse_document
from hub.persisted import PersistedOperations

WORKLOADS = ("scan", "scan-cold", "citizen", "partner", "analyst50")
ZIPF_S = 1.0
JSON = {"Content-Type": "application/json"}


class Zipf:
    """Ranks 0..n-1 with P(rank k) proportional to 1/(k+1)^s, mapped to people by a fixed
    permutation (so the popular people are spread over the world, not its first indices)."""

    def __init__(self, n: int, s: float = ZIPF_S, seed: int = 7) -> None:
        self.n = n
        self.cumulative = list(itertools.accumulate(1.0 / (k + 1) ** s for k in range(n)))
        self.rng = random.Random(seed)
        self.step = _coprime(n, 1_000_003)

    def draw(self) -> int:
        rank = bisect.bisect_left(self.cumulative, self.rng.random() * self.cumulative[-1])
        return (min(rank, self.n - 1) * self.step + 12_345) % self.n


def _coprime(n: int, start: int) -> int:
    step = start
    while math.gcd(step, n) != 1:
        step += 1
    return step


class Cold:
    """Each person once (until the world is used up), in a scattered order of its own."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.k = 0
        self.step = _coprime(n, 7_368_787)

    def draw(self) -> int:
        self.k += 1
        return (self.k * self.step + 987) % self.n

    @property
    def wrapped(self) -> bool:
        return self.k >= self.n


class Workloads:
    """Builds the requests of a phase of a workload, each with its expected answer."""

    def __init__(self, oracle: Oracle, identity: DevIdentity) -> None:
        self.oracle = oracle
        self.identity = identity
        size = oracle.world.size
        self.zipf = Zipf(size)
        self.cold = Cold(size)
        ops = PersistedOperations.from_dir().by_name
        self.hashes = {name: op.sha256 for name, op in ops.items()}
        self._tokens: dict[int, str] = {}
        self._next_id = 0
        self.analyst_query = (
            "query Fifty("
            + ", ".join(f"$d{i}: DocumentInput!" for i in range(50))
            + ") {\n"
            + "\n".join(
                f"  p{i}: citizen(document: $d{i}) {{ healthCode {{ colour }} }}" for i in range(50)
            )
            + "\n}\n"
        )

    def _doc(self, index: int) -> dict[str, str]:
        ref = self.oracle.document(index)
        return {"type": ref.type, "number": ref.number}

    def _persisted(self, name: str, variables: dict[str, Any] | None) -> str:
        body: dict[str, Any] = {
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": self.hashes[name]}}
        }
        if variables:
            body["variables"] = variables
        return orjson.dumps(body).decode()

    def token(self, index: int) -> str:
        if index not in self._tokens:
            ref = self.oracle.document(index)
            now = datetime.now(UTC)
            document = parse_document(ref.type, ref.number, today=now.date())
            self._tokens[index] = self.identity.citizen_token(
                document, now=now - timedelta(minutes=1), ttl=timedelta(hours=6)
            )
        return self._tokens[index]

    def people(self, kind: str) -> list[int]:
        if kind == "scan-cold":
            return [self.cold.draw()]
        if kind == "analyst50":
            return [self.cold.draw() for _ in range(50)]
        return [self.zipf.draw()]

    def request(self, kind: str, people: list[int]) -> tuple[str, dict[str, str]]:
        if kind in ("scan", "scan-cold"):
            body = self._persisted("VenueScan", {"document": self._doc(people[0])})
            return body, JSON | self.identity.headers("venue-0001")
        if kind == "citizen":
            return self._persisted("CitizenPage", None), JSON | {
                "Authorization": f"Bearer {self.token(people[0])}"
            }
        if kind == "partner":
            variables = {"document": self._doc(people[0]), "region": "MACAO"}
            return self._persisted("PartnerRecognition", variables), JSON | self.identity.headers(
                "macao"
            )
        if kind == "analyst50":
            variables = {f"d{i}": self._doc(p) for i, p in enumerate(people)}
            body = orjson.dumps({"query": self.analyst_query, "variables": variables}).decode()
            return body, JSON | self.identity.headers("analyst-0001", purpose="benchmark")
        raise ValueError(kind)

    def items(self, kind: str, count: int, span_s: float) -> list[dict[str, Any]]:
        """`count` requests; expectations for now .. now + span_s."""
        start = datetime.now(UTC)
        end = start + timedelta(seconds=span_s)
        memo: dict[tuple[int, ...], tuple[Any, Any]] = {}
        out = []
        for _ in range(count):
            people = self.people(kind)
            key = tuple(people)
            if key not in memo:
                memo[key] = self.oracle.span(kind, people, start, end)
            expect, alt = memo[key]
            body, headers = self.request(kind, people)
            self._next_id += 1
            out.append(
                {
                    "id": self._next_id,
                    "people": people,
                    "body": body,
                    "headers": headers,
                    "expect": expect,
                    "alt": alt,
                }
            )
        return out


def floor_items(count: int) -> list[dict[str, Any]]:
    """The floor answers one fixed body; its check is only that the JSON has the colour."""
    body = orjson.dumps(
        {
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}},
            "variables": {"document": {"type": "RESIDENT_ID", "number": "440113195001010000"}},
        }
    ).decode()
    return [
        {
            "id": i,
            "people": [],
            "body": body,
            "headers": JSON,
            "expect": {"colour": "GREEN"},
            "alt": None,
        }
        for i in range(count)
    ]
