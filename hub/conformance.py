"""Conformance scenarios: what to ask the hub for a scenario, and how its answer compares.

The comparison follows the scenario README: reasons, popups and recognition reasons compare as
sets of ids; instants compare as instants whatever their offset; a key missing from `expect` is
not checked; `expect.error` asks for an error with that `extensions.code`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

REGIONS = {"MACAO": "macao", "HONGKONG": "hongkong"}

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
