"""`hub demo`: the four simulators over a synthetic world, the hub, and GraphiQL with examples.

Imports simulators, so nothing in the serving path imports this module.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from connectors.records import DocumentRef
from connectors.world import World
from hub import translation
from hub.conformance import PACKAGED
from hub.domain.facts import RiskArea
from hub.domain.policy import PolicyBook
from hub.domain.rules import evaluate


@dataclass(frozen=True)
class Sample:
    label: str
    document: DocumentRef


def verdict_of(world: World, doc: DocumentRef, at: datetime, book: PolicyBook) -> Any:
    """The verdict and facts the hub will derive for a person of the world, computed in-process
    (to pick samples, and for tests and the benchmark to know the right answer)."""
    person = world.person(doc)
    if person is None:
        return None
    facts = translation.subject_facts(
        person.provincial,
        person.national.trips,
        person.national.flags,
        person.hongkong.driver_declarations,
    )
    return evaluate(facts, world_risk_areas(world), at, book.in_force(at)), facts


_AREAS: dict[int, tuple[int, tuple[RiskArea, ...]]] = {}


def world_risk_areas(world: World) -> tuple[RiskArea, ...]:
    """The world's risk-area list as the hub mirrors it; translated once per list version, not
    once per person asked about."""
    cached = _AREAS.get(id(world))
    if cached is None or cached[0] != world.risk_area_version:
        areas = tuple(translation.risk_area(a) for _, a in world.risk_area_changes(0))
        cached = _AREAS[id(world)] = (world.risk_area_version, areas)
    return cached[1]


def colour_of(world: World, doc: DocumentRef, at: datetime, book: PolicyBook) -> str | None:
    """The colour the hub will show for a person of the world."""
    found = verdict_of(world, doc, at, book)
    return None if found is None else str(found[0].colour.value)


def eligible_for(
    world: World, doc: DocumentRef, at: datetime, book: PolicyBook, region: str
) -> bool:
    """Whether the hub will find this person's code recognisable by `region` at `at`."""
    from hub.domain.recognition import recognise

    found = verdict_of(world, doc, at, book)
    if found is None:
        return False
    verdict, facts = found
    return bool(recognise(verdict, facts, at, book.in_force(at), region).eligible)


def samples(world: World, at: datetime, book: PolicyBook, limit: int = 5000) -> list[Sample]:
    """One person of each colour, a Macao resident and a Hong Kong driver, to try in GraphiQL."""
    wanted = {"GREEN": None, "YELLOW": None, "RED": None}
    found: list[Sample] = []
    for index in range(min(limit, world.size)):
        doc = world.document(index)
        colour = colour_of(world, doc, at, book)
        if colour in wanted and wanted[colour] is None and doc.type == "RESIDENT_ID":
            wanted[colour] = doc  # type: ignore[assignment]
            found.append(Sample(f"{colour.lower()} code", doc))
        if all(wanted.values()):
            break
    macao = next(
        (
            world.document(i)
            for i in range(min(limit, world.size))
            if world.document(i).type == "MACAO_ID"
        ),
        None,
    )
    if macao is not None:
        found.append(Sample("Macao resident", macao))
    for index in range(min(limit, world.size)):
        person = world.person(world.document(index))
        if person is not None and person.hongkong.driver_declarations:
            found.append(Sample("Hong Kong driver", person.identity.document))
            break
    return found


def _doc(sample: Sample) -> str:
    return f'{{type: {sample.document.type}, number: "{sample.document.number}"}}'


def example_queries(found: list[Sample]) -> str:
    """A GraphiQL document with one named operation per kind of user."""
    by_label = {s.label: s for s in found}
    person = by_label.get("yellow code") or found[0]
    green = by_label.get("green code") or found[0]
    macao = by_label.get("Macao resident") or green
    driver = by_label.get("Hong Kong driver") or green
    lines = [
        "# ghc-hub demo. Pick an operation with the play button's menu.",
        "# Documents to try:",
        *[f"#   {s.label:<17} {s.document.type:<12} {s.document.number}" for s in found],
        "",
        "# The citizen's own page: code, reasons, last three NATs, entries.",
        "query CitizenPage {",
        f"  citizen(document: {_doc(person)}) {{",
        "    name document { type number }",
        "    healthCode { colour reasons { rule source fact since until } popups validUntil policy",
        "                 sources { source status } }",
        "    natTests(last: 3) { sampledAt result institution }",
        "    entries { enteredAt port origin }",
        "  }",
        "}",
        "",
        "# A venue scanner: colour and masked name.",
        "query VenueScan {",
        f"  citizen(document: {_doc(green)}) {{ name healthCode {{ colour }} }}",
        "}",
        "",
        "# Macao asks whether a code can be recognised for a crossing now.",
        "query PartnerRecognition {",
        f"  recognition(document: {_doc(green)}, region: MACAO) {{",
        "    colour eligible natValidUntil reasons",
        "  }",
        "}",
        "",
        "# An analyst: what was this person's code at a past instant, and why.",
        "query PastInstant {",
        '  citizen(document: {type: RESIDENT_ID, number: "440304199003071037"}) {',
        '    healthCode(at: "2022-07-08T09:00:00+08:00") { colour reasons { rule since until }',
        "      validUntil policy }",
        "  }",
        "}",
        "",
        "# High-risk areas in Guangdong now.",
        "query RiskAreas {",
        '  riskAreas(region: "440000", level: HIGH) { areaCode name level designatedAt }',
        "}",
        "",
        "# How each source system is doing (breaker, errors, latency).",
        "query SourceStatus {",
        "  sourceStatus { source breaker errorRate latencyP50Ms latencyP99Ms }",
        "}",
        "",
        "# The mutations below need other credentials than GraphiQL's analyst key: put the",
        "# judge's key (and X-Purpose), a venue's key, or a citizen's Bearer token from the",
        "# terminal in the Headers pane. Each takes an idempotency key: a repeat answers the same.",
        "",
        "# A judge records a yellow code with a reason (every judgement is audited).",
        "mutation RecordJudgement {",
        "  recordJudgement(input: {",
        f'    idempotencyKey: "demo-judgement-0001", document: {_doc(green)},',
        '    colour: YELLOW, reason: "awaiting a second negative test" }) {',
        "    id action colour reason assignedAt",
        "  }",
        "}",
        "",
        "# A Macao resident (citizen token) carries their code to Macao.",
        "mutation RequestCodeTransfer {",
        "  requestCodeTransfer(input: {",
        '    idempotencyKey: "demo-transfer-0001", destination: MACAO, consent: true }) {',
        "    id eligible natDate expiresAt status",
        "  }",
        "}",
        "",
        "# A venue (venue key) scans the token from a citizen's QR code (`me { scanToken }`).",
        "mutation ScanCode {",
        "  scanCode(input: {",
        '    idempotencyKey: "demo-scan-0001", token: "<paste scanToken.token>",',
        '    venueCode: "V440304-0001" }) {',
        "    colour name scannedAt",
        "  }",
        "}",
        "",
        "# Everything the four systems hold about one person.",
        "query AllSources {",
        f"  macao: citizen(document: {_doc(macao)}) {{ name macaoCode {{ colour updatedAt }}",
        "    natTests { sampledAt result recognisedBy } }",
        f"  driver: citizen(document: {_doc(driver)}) {{ name hongKongCode {{ colour issuedAt }}",
        "    driverDeclarations { enteredAt exitedAt port plate } trips { areaCode at riskLevel }",
        "    flags { issuer colour reason } listings { category assignedAt } }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def _credentials(identity: Any, citizen: DocumentRef, token: str) -> str:
    lines = ["", "Credentials (GraphiQL already sends the analyst's):"]
    for key_id, key in identity.keys.items():
        lines.append(f"  {key_id:<13} X-Api-Key: {key}")
    lines.append("  analysts and judges also send  X-Purpose: <why you look>")
    lines.append(f"  citizen {citizen.number} (12 h):  Authorization: Bearer {token}")
    lines.append("  venues, partners and citizens run registered operations: hub/operations/")
    return "\n".join(lines)


def _banner(size: int, seed: int, port: int, sandbox: Any, found: list[Sample]) -> str:
    lines = [f"GraphiQL: http://127.0.0.1:{port}/graphql   ({size} people, seed {seed})"]
    for name, server in sandbox.servers.items():
        lines.append(f"  {name:<11} simulator {server.url}  (admin {server.admin_url})")
    lines.append("Documents to try:")
    for sample in found:
        lines.append(f"  {sample.label:<17} {sample.document.type:<12} {sample.document.number}")
    return "\n".join(lines)


async def _serve_then_announce(server: Any, banner: str) -> None:
    """Print the banner once the hub listens, so every address it shows answers."""
    serving = asyncio.create_task(server.serve())
    while not server.started and not serving.done():  # noqa: ASYNC110 (uvicorn has only a flag)
        await asyncio.sleep(0.01)
    if server.started:
        print(banner, flush=True)
    await serving


def run(size: int, seed: int, port: int, base_port: int) -> None:
    """Serve the demo until Ctrl-C, then stop everything."""
    from datetime import UTC

    import uvicorn

    from connectors.sandbox import start_sandbox
    from hub.app import create_app
    from hub.dev_identity import DevIdentity
    from hub.domain.documents import parse_document
    from hub.settings import Settings

    identity = DevIdentity()
    world = World(seed=seed, size=size)
    world.load_scenario_dir(PACKAGED)
    world.mark_initial()
    now = datetime.now(UTC)
    found = samples(world, now, PolicyBook.default())
    sandbox = start_sandbox(world, base_port=base_port)
    try:
        with tempfile.TemporaryDirectory(prefix="hub-demo-") as tmp:
            settings = Settings(
                auth=identity.auth_settings(),
                database_url=f"sqlite+aiosqlite:///{tmp}/hub.db",
                graphiql=True,
                port=port,
                provincial={"url": sandbox.provincial.url},
                national={"url": sandbox.national.url},
                macao={"url": sandbox.macao.url},
                hongkong={"url": sandbox.hongkong.url},
            )
            analyst = identity.headers("analyst-0001", purpose="demo")
            app = create_app(
                settings, graphiql_examples=example_queries(found), graphiql_headers=analyst
            )
            citizen = found[0].document
            token = identity.citizen_token(
                parse_document(citizen.type, citizen.number, today=now.date()),
                now=now,
                ttl=timedelta(hours=12),
            )
            credentials = _credentials(identity, citizen, token)
            server = uvicorn.Server(
                uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
            )
            banner = _banner(size, seed, port, sandbox, found) + credentials
            banner += "\nCtrl-C stops everything."
            try:
                asyncio.run(_serve_then_announce(server, banner))
            except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled: a clean stop
                pass
    finally:
        sandbox.stop()
