"""create_app(settings): the composition root. The lifespan owns the sources' sessions, the
caches and the database; nothing here is a module-level singleton."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from connectors.records import DocumentRef
from hub.domain.documents import Document, DocumentType, subject_key
from hub.domain.policy import PolicyBook
from hub.loaders import Loaders
from hub.schema import build_schema
from hub.schema.context import Context
from hub.settings import Settings
from hub.sources import Sources
from hub.store import JudgementStore


def _utc_now() -> datetime:
    return datetime.now(UTC)


class HubGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with the hub's per-request context."""

    def __init__(
        self,
        app: Starlette,
        clock: Callable[[], datetime],
        examples: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(build_schema(), **kwargs)
        self._app = app
        self._clock = clock
        self._examples = examples

    @property
    def graphql_ide_html(self) -> str:
        """GraphiQL, opening on the hub's example operations instead of strawberry's welcome."""
        html = super().graphql_ide_html
        if self._examples is None:
            return html
        start = html.index("const EXAMPLE_QUERY = `")
        end = html.index("`;", start)
        examples = self._examples.replace("\\", "\\\\").replace("`", "\\`").replace("${", "\\${")
        return html[: start + len("const EXAMPLE_QUERY = `")] + examples + html[end:]

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None
    ) -> Context:
        state = self._app.state
        return Context(
            loaders=Loaders(state.sources, state.store, state.subject_key),
            policies=state.policies,
            clock=self._clock,
        )


def create_app(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = _utc_now,
    policies: PolicyBook | None = None,
    graphiql_examples: str | None = None,
) -> Starlette:
    secret = settings.subject_key_secret.get_secret_value().encode()

    def key_of(ref: DocumentRef) -> str:
        return subject_key(Document(DocumentType(ref.type), ref.number), secret)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.sources = Sources.from_settings(settings)
        app.state.store = await JudgementStore.open(settings.database_url)
        try:
            yield
        finally:
            await app.state.sources.close()
            await app.state.store.close()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    app = Starlette(routes=[Route("/healthz", healthz)], lifespan=lifespan)
    app.state.settings = settings
    app.state.policies = policies or PolicyBook.default()
    app.state.subject_key = key_of
    graphql = HubGraphQL(
        app, clock, graphiql_examples, graphql_ide="graphiql" if settings.graphiql else None
    )
    app.add_route("/graphql", graphql, methods=["GET", "POST"])  # type: ignore[arg-type]
    return app
