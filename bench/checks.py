"""What every answer must say, computed in-process with the hub's own domain code
(hub.translation, hub.domain.rules.evaluate, hub.domain.recognition.recognise), over the same
seeded world the simulators serve (same seed, size and anchor instant).

The hub evaluates at "now", so expectations are computed for the span of a phase: at its start
and at its end. When both agree the answer must equal them; when a person's answer changes
inside the span (a NAT window closes), the answer is kept and re-checked afterwards against the
expectation at its own send and receive instants (`recheck`). A wrong value or a missing field
is an error, never a success.

`check` (used by the load generator for each answer) imports nothing from the hub.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import orjson


def percentile(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[k]


# --- the answer's content, as a comparable dict ----------------------------------------------


class Missing(Exception):
    pass


def _get(node: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(node, dict) or key not in node:
            raise Missing(".".join(path))
        node = node[key]
    return node


def extract(kind: str, answer: Any) -> dict[str, Any]:
    """The fields a workload checks, read from a GraphQL answer; Missing when one is absent."""
    if kind in ("scan", "scan-cold"):
        citizen = _get(answer, "data", "citizen")
        return {"name": _get(citizen, "name"), "colour": _get(citizen, "healthCode", "colour")}
    if kind == "citizen":
        me = _get(answer, "data", "me")
        nats = _get(me, "natTests")
        for key in ("entries", "trips"):
            if not isinstance(_get(me, key), list):
                raise Missing(key)
        if not isinstance(_get(me, "healthCode", "reasons"), list):
            raise Missing("reasons")
        return {
            "name": _get(me, "name"),
            "colour": _get(me, "healthCode", "colour"),
            "nats": len(nats) if isinstance(nats, list) else None,
        }
    if kind == "partner":
        r = _get(answer, "data", "recognition")
        return {
            "colour": _get(r, "colour"),
            "eligible": _get(r, "eligible"),
            "reasons": sorted(_get(r, "reasons")),
            "natValid": _get(r, "natValidUntil") is not None,
        }
    if kind == "analyst50":
        data = _get(answer, "data")
        count = len(data) if isinstance(data, dict) else 0
        return {"colours": [_get(data, f"p{i}", "healthCode", "colour") for i in range(count)]}
    if kind == "floor":
        return {"colour": _get(answer, "data", "citizen", "healthCode", "colour")}
    raise ValueError(kind)


def check(kind: str, item: dict[str, Any], status: int, body: bytes) -> tuple[str, Any]:
    """("ok" | "ambiguous" | "<error kind>: detail", the extracted content)."""
    if status != 200:
        return f"http {status}: status", None
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "invalid json: body", None
    if isinstance(answer, dict) and answer.get("errors"):
        codes = {str(e.get("extensions", {}).get("code")) for e in answer["errors"]}
        return f"graphql errors: {sorted(codes)}", None
    try:
        got = extract(kind, answer)
    except Missing as missing:
        return f"missing field: {missing}", None
    if item.get("alt") is not None and got in (item["expect"], item["alt"]):
        return "ambiguous", got  # the answer changes inside the phase: re-check at its instant
    if got != item["expect"] and "UNKNOWN" in str(got) and "UNKNOWN" not in str(item["expect"]):
        return f"degraded (UNKNOWN colour): expected {item['expect']}, got {got}", got
    if got != item["expect"]:
        return f"wrong content: expected {item['expect']}, got {got}", got
    return "ok", got


# --- expectations (the hub's domain code) -----------------------------------------------------


class Oracle:
    """Expected answers for the people of World(seed, size, now=anchor)."""

    def __init__(self, seed: int, size: int, anchor: datetime) -> None:
        from connectors.world import World
        from hub.demo import world_risk_areas
        from hub.domain.policy import PolicyBook

        self.world = World(seed=seed, size=size, now=anchor)
        self.book = PolicyBook.default()
        self.areas = world_risk_areas(self.world)  # the national list as the hub mirrors it

    def document(self, index: int) -> Any:
        return self.world.document(index)

    def _facts(self, index: int) -> tuple[Any, Any]:
        from hub import translation

        person = self.world.person(self.world.document(index))
        if person is None:
            raise LookupError(f"person {index} is not in the world")
        facts = translation.subject_facts(
            person.provincial,
            person.national.trips,
            person.national.flags,
            person.hongkong.driver_declarations,
        )
        return person, facts

    def expect(self, kind: str, people: list[int], at: datetime) -> dict[str, Any]:
        from hub.domain.documents import mask_name
        from hub.domain.recognition import recognise
        from hub.domain.rules import evaluate

        policy = self.book.in_force(at)
        if kind == "analyst50":
            return {
                "colours": [
                    evaluate(self._facts(i)[1], self.areas, at, policy).colour.value for i in people
                ]
            }
        person, facts = self._facts(people[0])
        verdict = evaluate(facts, self.areas, at, policy)
        if kind in ("scan", "scan-cold"):
            return {"name": mask_name(person.identity.name), "colour": verdict.colour.value}
        if kind == "citizen":
            nats = len(person.provincial.nat_tests) if person.provincial else 0
            return {
                "name": person.identity.name,
                "colour": verdict.colour.value,
                "nats": min(3, nats),
            }
        if kind == "partner":
            r = recognise(verdict, facts, at, policy, "MACAO")
            return {
                "colour": r.colour.value,
                "eligible": r.eligible,
                "reasons": sorted(x.value for x in r.reasons),
                "natValid": r.nat_valid_until is not None,
            }
        raise ValueError(kind)

    def span(
        self, kind: str, people: list[int], start: datetime, end: datetime
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        first = self.expect(kind, people, start)
        last = self.expect(kind, people, end)
        return first, (None if last == first else last)

    def recheck(self, kind: str, people: list[int], got: Any, send: float, recv: float) -> bool:
        """An answer is right if it is the expectation at its send or at its receive instant."""
        return any(
            got == self.expect(kind, people, datetime.fromtimestamp(t, UTC)) for t in (send, recv)
        )
