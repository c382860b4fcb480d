"""Conformance scenarios: what to ask the hub for a scenario, and how its answer compares.

The comparison follows the scenario README: reasons, popups and recognition reasons compare as
sets of ids; instants compare as instants whatever their offset; a key missing from `expect` is
not checked; `expect.error` asks for an error with that `extensions.code`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

from hub.store import JudgementRow

REGIONS = {"MACAO": "macao", "HONGKONG": "hongkong"}
PACKAGED = Path(__file__).parent / "scenarios"  # the shared reference scenarios, copied
SCENARIO_RESILIENCE = {"breaker_window": 100_000, "breaker_min_calls": 100_000, "max_attempts": 1}

QUERY = """
query Scenario($document: DocumentInput!, $at: DateTime!, $macao: Boolean!, $hongkong: Boolean!) {
  citizen(document: $document) {
    healthCode(at: $at) { colour reasons { rule } popups validUntil policy }
    macao: recognition(region: MACAO, at: $at) @include(if: $macao) { eligible reasons }
    hongkong: recognition(region: HONGKONG, at: $at) @include(if: $hongkong) { eligible reasons }
  }
}
"""


def request_for(scenario: Mapping[str, Any]) -> dict[str, Any]:
    """The GraphQL request (query and variables) that asks for a scenario's verdict."""
    wanted = scenario.get("expect", {}).get("recognition", {})
    return {
        "query": QUERY,
        "variables": {
            "document": dict(scenario["subject"]["document"]),
            "at": scenario["at"],
            "macao": "MACAO" in wanted,
            "hongkong": "HONGKONG" in wanted,
        },
    }


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def differences(
    scenario: Mapping[str, Any], response: Mapping[str, Any], upstream_calls: int | None = None
) -> list[str]:
    """What in `response` (a GraphQL JSON answer) does not match the scenario's `expect`."""
    expect = scenario.get("expect", {})
    found: list[str] = []
    errors = response.get("errors") or []
    codes = sorted({str((e.get("extensions") or {}).get("code")) for e in errors})
    if "error" in expect:
        if expect["error"] not in codes:
            found.append(f"error: expected {expect['error']}, got {codes or 'no error'}")
    else:
        code = ((response.get("data") or {}).get("citizen") or {}).get("healthCode")
        if code is None:
            return [f"no health code in the answer (errors: {codes or 'none'})"]
        found.extend(_verdict_differences(expect, code))
        citizen = response["data"]["citizen"]
        for region, wanted in expect.get("recognition", {}).items():
            got = citizen.get(REGIONS[region])
            if got is None:
                found.append(f"recognition {region}: missing")
                continue
            if "eligible" in wanted and wanted["eligible"] != got["eligible"]:
                found.append(f"recognition {region} eligible: expected {wanted['eligible']}, "
                             f"got {got['eligible']}")  # fmt: skip
            if "reasons" in wanted and set(wanted["reasons"]) != set(got["reasons"]):
                found.append(f"recognition {region} reasons: expected {sorted(wanted['reasons'])}, "
                             f"got {sorted(got['reasons'])}")  # fmt: skip
    limit = expect.get("upstreamCalls")
    if limit is not None and upstream_calls is not None and upstream_calls > limit:
        found.append(f"upstream calls: at most {limit} expected, {upstream_calls} made")
    return found


def _verdict_differences(expect: Mapping[str, Any], code: Mapping[str, Any]) -> list[str]:
    found = []
    if "colour" in expect and expect["colour"] != code["colour"]:
        found.append(f"colour: expected {expect['colour']}, got {code['colour']}")
    if "reasons" in expect:
        got = {r["rule"] for r in code["reasons"]}
        if set(expect["reasons"]) != got:
            found.append(f"reasons: expected {sorted(expect['reasons'])}, got {sorted(got)}")
    if "popups" in expect and set(expect["popups"]) != set(code["popups"]):
        found.append(f"popups: expected {sorted(expect['popups'])}, got {sorted(code['popups'])}")
    if "validUntil" in expect and _instant(expect["validUntil"]) != _instant(code["validUntil"]):
        found.append(f"validUntil: expected {expect['validUntil']}, got {code['validUntil']}")
    if "policy" in expect and expect["policy"] != code["policy"]:
        found.append(f"policy: expected {expect['policy']}, got {code['policy']}")
    return found


def run(directory: Path, *, out: TextIO) -> tuple[int, int]:
    """Load every scenario of `directory` into the simulators, ask the hub over HTTP for each
    subject's verdict, and print one line per failure; returns (passed, failed)."""
    import asyncio
    import tempfile

    from connectors.sandbox import start_sandbox
    from connectors.world import World
    from hub.app import create_app
    from hub.dev_identity import DevIdentity
    from hub.settings import Settings
    from hub.threaded import BackgroundServer

    world = World(seed=1, size=0)
    scenarios = world.load_scenario_dir(directory)
    if not scenarios:
        raise FileNotFoundError(f"no scenario files (*.json) in {directory}")
    sandbox = start_sandbox(world)
    identity = DevIdentity()
    with tempfile.TemporaryDirectory(prefix="hub-scenarios-") as tmp:
        settings = Settings(
            auth=identity.auth_settings(),
            database_url=f"sqlite+aiosqlite:///{tmp}/hub.db",
            # All scenarios share one world, and a scenario's `unavailable` fails a source for
            # its subject only; the source's breaker must not carry that over to the scenarios
            # after it, so it is kept from opening here (resilience has tests of its own).
            provincial={"url": sandbox.provincial.url, "resilience": SCENARIO_RESILIENCE},
            national={
                "url": sandbox.national.url,
                "risk_area_sync_interval": 0,
                "resilience": SCENARIO_RESILIENCE,
            },
            macao={"url": sandbox.macao.url, "resilience": SCENARIO_RESILIENCE},
            hongkong={"url": sandbox.hongkong.url, "resilience": SCENARIO_RESILIENCE},
        )
        asyncio.run(_store_judgements(settings, scenarios))
        hub = BackgroundServer(create_app(settings)).start()
        try:
            headers = identity.headers("analyst-0001", purpose="conformance scenarios")
            failures = asyncio.run(_ask_all(hub.url, headers, sandbox, scenarios, out))
        finally:
            hub.stop()
            sandbox.stop()
    return len(scenarios) - failures, failures


def judgement_row(judgement: Mapping[str, Any], row_id: str, subject_key: str) -> JudgementRow:
    """A scenario's judgement (`facts.hub.judgements[]`) as the hub stores it."""
    target = judgement.get("target") or {}
    return JudgementRow(
        id=row_id,
        subject_key=subject_key,
        action=judgement["action"],
        colour=judgement.get("colour"),
        until=_instant(judgement.get("until")),
        target_rule=target.get("rule"),
        target_fact=target.get("fact"),
        reason=judgement["reason"],
        assigned_at=datetime.fromisoformat(judgement["assignedAt"]),
        by=judgement["by"],
    )


async def _store_judgements(settings: Any, scenarios: list[dict[str, Any]]) -> None:
    """The hub's own records of each scenario, written as the judging officials would have."""
    from hub.domain.documents import parse_document, subject_key
    from hub.store import JudgementStore

    secret = settings.subject_key_secret.get_secret_value().encode()
    store = await JudgementStore.open(settings.database_url)
    try:
        for scenario in scenarios:
            judgements = scenario.get("facts", {}).get("hub", {}).get("judgements", [])
            if not judgements:
                continue
            given = scenario["subject"]["document"]
            doc = parse_document(given["type"], given["number"], today=date.max)
            for j in judgements:
                row_id = f"{scenario['id']}:{j['id']}"
                await store.add(judgement_row(j, row_id, subject_key(doc, secret)))
    finally:
        await store.close()


async def _ask_all(
    url: str, headers: dict[str, str], sandbox: Any, scenarios: list[dict[str, Any]], out: TextIO
) -> int:
    import aiohttp

    failures = 0
    async with aiohttp.ClientSession(headers=headers) as session:
        for scenario in scenarios:
            sandbox.reset_counters()
            async with session.post(f"{url}/graphql", json=request_for(scenario)) as reply:
                body = await reply.json()
            found = differences(scenario, body, sandbox.person_requests())
            if found:
                failures += 1
                print(f"FAIL {scenario['id']}: " + "; ".join(found), file=out)
    return failures
