"""create_app(settings): the composition root. The lifespan owns the sources' sessions, the
caches, the database and the audit log; nothing here is a module-level singleton."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from strawberry.http.ides import get_graphql_ide_html

from connectors.records import DocumentRef
from connectors.resilience import Deadline
from hub.audit import AuditLog
from hub.auth import ApiKeyRecord, Authenticator, Caller, Role, TokenRules
from hub.collector import frozen_start_up
from hub.compiled import CompiledScan
from hub.domain.documents import Document, DocumentType, subject_key
from hub.domain.policy import PolicyBook
from hub.domain.vocabulary import Region
from hub.endpoint import GraphQLEndpoint
from hub.idempotency import Idempotency
from hub.loaders import Loaders
from hub.outbox import Outbox
from hub.persisted import PersistedOperations
from hub.ratelimit import RateLimiter
from hub.schema import build_schema
from hub.schema.context import Context
from hub.schema.limits import Limits
from hub.settings import Settings
from hub.signing import Signer
from hub.sources import Sources, deliverers
from hub.store import JudgementStore
from hub.store.database import migrate, open_engine
from hub.writes import Writes

log = logging.getLogger("hub.app")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def graphiql_html(examples: str | None, headers: dict[str, str] | None) -> str:
    """GraphiQL opening on the hub's example operations, sending the given headers."""
    html = get_graphql_ide_html(graphql_ide="graphiql")
    if examples is not None:
        start = html.index("const EXAMPLE_QUERY = `") + len("const EXAMPLE_QUERY = `")
        end = html.index("`;", start)
        escaped = examples.replace("\\", "\\\\").replace("`", "\\`").replace("${", "\\${")
        html = html[:start] + escaped + html[end:]
    if headers:
        preset = f"const defaultHeaders = {json.dumps(headers)};"
        html = html.replace("const defaultHeaders = {};", preset)
    return html


def authenticator(settings: Settings) -> Authenticator:
    secret = settings.subject_key_secret.get_secret_value().encode()
    auth = settings.auth
    keys = [
        ApiKeyRecord(k.id, Role(k.role), k.sha256, Region(k.region) if k.region else None)
        for k in auth.api_keys
    ]
    tokens = (
        TokenRules(auth.token_public_key, auth.token_issuer, auth.token_audience)
        if auth.token_public_key
        else None
    )
    return Authenticator(
        keys, tokens, name_citizen=lambda doc: f"citizen:{subject_key(doc, secret)[:32]}"
    )


def create_app(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = _utc_now,
    policies: PolicyBook | None = None,
    graphiql_examples: str | None = None,
    graphiql_headers: dict[str, str] | None = None,
) -> Starlette:
    secret = settings.subject_key_secret.get_secret_value().encode()
    book = policies or PolicyBook.default()
    signing_pem = settings.signing_key_pem
    signer = Signer.from_settings(signing_pem.get_secret_value() if signing_pem else None, secret)
    surface = settings.surface

    def key_of(ref: DocumentRef) -> str:
        return subject_key(Document(DocumentType(ref.type), ref.number), secret)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = open_engine(settings.database_url)
        await migrate(engine)
        app.state.engine = engine
        sources = app.state.sources = Sources.from_settings(settings)
        app.state.store = JudgementStore(engine)
        app.state.audit = await AuditLog.open(engine)
        outbox = Outbox(
            engine,
            deliverers(sources),
            clock,
            lease=timedelta(seconds=settings.outbox_lease_s),
            poll_s=settings.outbox_poll_s,
        )
        app.state.outbox = outbox
        app.state.idempotency = Idempotency(engine, clock)
        app.state.writes = Writes(engine, outbox, signer, book)
        outbox.start()
        try:
            async with frozen_start_up():
                yield
        finally:
            await outbox.stop()
            await sources.close()
            await app.state.audit.close()
            await engine.dispose()

    async def jwks(request: Request) -> Response:
        """The public key that verifies transfer tickets and code tokens, for offline checks."""
        return JSONResponse(signer.jwks(), headers={"Cache-Control": "public, max-age=300"})

    async def healthz(request: Request) -> Response:
        """The process is alive; checks nothing else."""
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        """The hub can serve: not draining, its database reachable. Sources only report."""
        sources = {
            name: str(guard.status().breaker_state)
            for name, guard in app.state.sources.guards.items()
        }
        degraded = sorted(name for name, state in sources.items() if state != "CLOSED")
        if app.state.draining:
            return JSONResponse({"status": "draining", "sources": sources}, status_code=503)
        try:
            await app.state.store.ping()
        except Exception:  # noqa: BLE001 - any failure of the database means not ready
            log.warning("readiness: the database is not reachable")
            return JSONResponse({"status": "database unreachable"}, status_code=503)
        return JSONResponse({"status": "degraded" if degraded else "ready", "sources": sources})

    app = HubApp(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/.well-known/jwks.json", jwks),
        ],
        lifespan=lifespan,
        # with no origin allowed, browsers get no CORS headers either way: the middleware
        # would only wrap every response's sending (3 % of a venue scan's CPU)
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=surface.cors_origins,
                allow_methods=["POST"],
                allow_headers=["Authorization", "Content-Type", "X-Api-Key", "X-Purpose"],
            )
        ]
        if surface.cors_origins
        else [],
    )
    app.state.settings = settings
    app.state.draining = False
    limiter = RateLimiter(surface.requests_per_minute, surface.subjects_per_minute)
    app.state.rate_limiter_reset = limiter.reset

    def admit_subject(caller: Caller, key: str) -> None:
        limiter.admit_subject(caller.id, caller.role, key)

    def make_context(caller: Caller, request_id: str) -> Context:
        state = app.state
        return Context(
            caller=caller,
            loaders=Loaders(
                state.sources, state.store, key_of, Deadline.after(settings.request_deadline_s)
            ),
            policies=book,
            clock=clock,
            request_id=request_id,
            admit_subject=admit_subject,
            writes=state.writes,
            idempotency=state.idempotency,
            signer=signer,
        )

    limits = Limits(surface.max_depth, surface.max_aliases, surface.max_cost)
    schema = build_schema(limits, surface.max_tokens)
    persisted = PersistedOperations.from_dir()
    scan = CompiledScan.build(schema._schema, persisted) if surface.compiled_scan else None
    app.state.compiled_scan = scan
    endpoint = GraphQLEndpoint(
        schema=schema,
        surface=surface,
        authenticator=authenticator(settings),
        persisted=persisted,
        rate_limiter=limiter,
        audit=lambda: app.state.audit,
        make_context=make_context,
        clock=clock,
        ide_html=graphiql_html(graphiql_examples, graphiql_headers) if settings.graphiql else None,
        compiled={scan.text: scan} if scan is not None else None,
    )
    # first in the table: the router tries routes in order, and nearly every request is this one
    app.router.routes.insert(0, Route("/graphql", endpoint, methods=["GET", "POST"]))
    if not surface.cors_origins:  # with CORS, /graphql needs the middleware: Starlette's path
        app.graphql = endpoint
    return app


class HubApp(Starlette):
    """Starlette, with /graphql answered before Starlette's middleware and router.

    Nearly every request is for /graphql, and its endpoint already answers every failure it
    knows; Starlette's error and exception middleware and its route matching did nothing for
    it but cost 5 % of a venue scan's CPU (py-spy, at saturation). The rest (the lifespan, the
    other routes, and /graphql too when CORS is configured) goes through Starlette. An
    exception the endpoint does not handle still becomes a 500: uvicorn's, where it was the
    error middleware's."""

    graphql: GraphQLEndpoint | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.graphql is not None and scope["type"] == "http" and scope["path"] == "/graphql":
            scope["app"] = self
            await self.graphql(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
