"""Connector of the national integrated government service platform.

Auth is OAuth2 client credentials. The client fetches a bearer token lazily and keeps it until
it is about to expire: it refreshes when less than `min(5 s, 10 % of the lifetime)` remains
(enough for one request's latency and small clock skew; proportional for the short lifetimes
tests use). However many callers need a token at once, only one fetch is in flight (an asyncio
lock). A call answered `401` (token revoked, or expired sooner than the client thought) fetches
a new token once and retries that call once; a second `401` is `SourceRejected`.

Every public method is bounded as a whole (token fetch, call, retry) by `timeout`, or by the
config's `total_timeout` when no narrower `timeout` is given.
"""

from __future__ import annotations

import asyncio
import base64
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar
from urllib.parse import quote_plus

import orjson

from connectors.errors import SourceContractError, SourceRejected, SourceUnavailable
from connectors.http import (
    ClientConfig,
    ModelT,
    Reply,
    SourceClient,
    chunked,
    gather_batches,
)
from connectors.national.models import (
    MAX_BATCH,
    FlagAnswer,
    ItineraryAnswer,
    OAuthError,
    Problem,
    RiskAreaList,
    TokenResponse,
)
from connectors.national.translate import (
    document_to_wire,
    flag_from_wire,
    risk_area_from_wire,
    trip_from_wire,
)
from connectors.records import DocumentRef, Flag, RiskArea, Trip

TOKEN_PATH = "/oauth/token"
RISK_AREAS_PATH = "/api/v1/risk-areas"
ITINERARIES_PATH = "/api/v1/itineraries/query"
FLAGS_PATH = "/api/v1/flags/query"
REFRESH_FRACTION = 0.1  # refresh when less than this share of the lifetime remains...
REFRESH_MAX_S = 5.0  # ...or less than this many seconds, whichever is smaller

_SLUG = re.compile(r"[a-z0-9_-]{1,40}")
T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class NationalConfig(ClientConfig):
    """Where the platform is, the hub's client credentials, and the batch size (at most 50).

    `clock` (seconds, monotonic) times token expiry; tests pass their own.
    """

    client_id: str
    client_secret: str = field(repr=False)
    batch_size: int = MAX_BATCH
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")


@dataclass(frozen=True)
class RiskAreaSync:
    """One sync of the national risk-area list.

    `changes` are (version, entry) pairs with `since_version < version <= self.version`, oldest
    first. `not_modified` means the caller's `etag` still matches: nothing changed, `version`
    echoes `since_version` and `changes` is empty. A `version` below `since_version` means the
    platform rebuilt its list: sync again from 0.
    """

    version: int
    etag: str | None
    not_modified: bool
    changes: tuple[tuple[int, RiskArea], ...]


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float  # on the config's clock
    lifetime: float

    def fresh(self, now: float) -> bool:
        margin = min(REFRESH_MAX_S, self.lifetime * REFRESH_FRACTION)
        return now < self.expires_at - margin


class _Item(Protocol):
    @property
    def document_type(self) -> str: ...

    @property
    def document_number(self) -> str: ...


ItemT = TypeVar("ItemT", bound=_Item)
AnswerT = TypeVar("AnswerT", ItineraryAnswer, FlagAnswer)


class NationalClient(SourceClient):
    """Risk-area sync, trips and flags from the national platform, as neutral records."""

    source = "national"
    config: NationalConfig

    def __init__(self, config: NationalConfig) -> None:
        super().__init__(config)
        self._token: _Token | None = None
        self._token_lock = asyncio.Lock()
        self._batch_size = min(config.batch_size, MAX_BATCH)

    # --- public API ------------------------------------------------------------------------

    async def risk_areas(
        self,
        *,
        since_version: int = 0,
        etag: str | None = None,
        timeout: float | None = None,
    ) -> RiskAreaSync:
        """The list entries after `since_version`; `etag` makes the request conditional (304)."""
        if since_version < 0:
            raise ValueError("since_version must not be negative")
        route = f"GET {RISK_AREAS_PATH}"
        headers = {"Accept": "application/json"}
        if etag is not None:
            headers["If-None-Match"] = etag
        params = {"sinceVersion": str(since_version)} if since_version else None

        async def call(deadline: float) -> Reply:
            return await self._authorised(
                "GET",
                RISK_AREAS_PATH,
                route=route,
                deadline=deadline,
                headers=headers,
                params=params,
            )

        reply = await self._bounded(route, timeout, call)
        if reply.status == 304:
            if etag is None:
                raise SourceContractError(
                    self.source, "304 to an unconditional request", route=route
                )
            return RiskAreaSync(since_version, reply.headers.get("ETag", etag), True, ())
        self._raise_for_error(reply, route)
        answer = self._decode(RiskAreaList, reply, route)
        changes = tuple(sorted((risk_area_from_wire(e) for e in answer.items), key=_version))
        if any(not since_version < v <= answer.version for v, _ in changes):
            raise SourceContractError(self.source, "entry version outside the sync", route=route)
        return RiskAreaSync(answer.version, reply.headers.get("ETag"), False, changes)

    async def trips(
        self,
        docs: Iterable[DocumentRef],
        *,
        timeout: float | None = None,
    ) -> dict[DocumentRef, tuple[Trip, ...]]:
        """Trips of every requested document; a person the platform does not know has none."""
        route = f"POST {ITINERARIES_PATH}"

        async def chunk_trips(
            chunk: list[DocumentRef], deadline: float
        ) -> dict[DocumentRef, tuple[Trip, ...]]:
            answer = await self._query(ITINERARIES_PATH, route, ItineraryAnswer, chunk, deadline)
            items = self._match(chunk, answer.items, route)
            return {doc: tuple(trip_from_wire(t) for t in items[doc].trips) for doc in chunk}

        return await self._batched(docs, route, timeout, chunk_trips)

    async def flags(
        self,
        docs: Iterable[DocumentRef],
        *,
        timeout: float | None = None,
    ) -> dict[DocumentRef, tuple[Flag, ...]]:
        """Cross-province flags of every requested document (revoked ones included)."""
        route = f"POST {FLAGS_PATH}"

        async def chunk_flags(
            chunk: list[DocumentRef], deadline: float
        ) -> dict[DocumentRef, tuple[Flag, ...]]:
            answer = await self._query(FLAGS_PATH, route, FlagAnswer, chunk, deadline)
            items = self._match(chunk, answer.items, route)
            return {doc: tuple(flag_from_wire(f) for f in items[doc].flags) for doc in chunk}

        return await self._batched(docs, route, timeout, chunk_flags)

    # --- batches ---------------------------------------------------------------------------

    async def _batched(
        self,
        docs: Iterable[DocumentRef],
        route: str,
        budget: float | None,
        one: Callable[[list[DocumentRef], float], Awaitable[dict[DocumentRef, T]]],
    ) -> dict[DocumentRef, T]:
        unique = list(dict.fromkeys(docs))
        if not unique:
            return {}

        async def run(deadline: float) -> list[dict[DocumentRef, T]]:
            chunks = chunked(unique, self._batch_size)
            return await gather_batches(*(one(chunk, deadline) for chunk in chunks))

        merged: dict[DocumentRef, T] = {}
        for part in await self._bounded(route, budget, run):
            merged.update(part)
        return merged

    async def _query(
        self,
        path: str,
        route: str,
        model: type[AnswerT],
        chunk: list[DocumentRef],
        deadline: float,
    ) -> AnswerT:
        body = orjson.dumps({"documents": [document_to_wire(doc) for doc in chunk]})
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        reply = await self._authorised(
            "POST", path, route=route, deadline=deadline, headers=headers, body=body
        )
        self._raise_for_error(reply, route)
        return self._decode(model, reply, route)

    def _match(
        self, chunk: Sequence[DocumentRef], items: Sequence[ItemT], route: str
    ) -> dict[DocumentRef, ItemT]:
        """The answer's item for each requested document; a missing one breaks the contract."""
        by_doc = {DocumentRef(i.document_type, i.document_number): i for i in items}
        if any(doc not in by_doc for doc in chunk):
            raise SourceContractError(
                self.source, "answer lacks an entry for a requested document", route=route
            )
        return by_doc

    # --- auth ------------------------------------------------------------------------------

    async def _authorised(
        self,
        method: str,
        path: str,
        *,
        route: str,
        deadline: float,
        headers: dict[str, str],
        body: bytes | None = None,
        params: dict[str, str] | None = None,
    ) -> Reply:
        """Send with a bearer token; on 401 fetch a new token once and retry once."""
        token = await self._access_token(deadline)
        for attempt in range(2):
            reply = await self.request(
                method,
                path,
                route=route,
                body=body,
                params=params,
                headers={**headers, "Authorization": f"Bearer {token.value}"},
                timeout=self._remaining(deadline, route),
            )
            if reply.status != 401:
                return reply
            if attempt == 0:
                if self._token is token:  # not yet replaced by a concurrent caller
                    self._token = None
                token = await self._access_token(deadline)
        raise SourceRejected(
            self.source, "access token refused twice", route=route, code="invalid_token"
        )

    async def _access_token(self, deadline: float) -> _Token:
        """The cached token while fresh; else one fetch, shared by every concurrent caller."""
        token = self._token
        if token is not None and token.fresh(self.config.clock()):
            return token
        async with self._token_lock:
            token = self._token  # another caller may have fetched while this one waited
            if token is not None and token.fresh(self.config.clock()):
                return token
            token = await self._fetch_token(deadline)
            self._token = token
            return token

    async def _fetch_token(self, deadline: float) -> _Token:
        route = f"POST {TOKEN_PATH}"
        config = self.config
        # RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64'd
        pair = f"{quote_plus(config.client_id)}:{quote_plus(config.client_secret)}"
        headers = {
            "Authorization": "Basic " + base64.b64encode(pair.encode()).decode(),
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        sent_at = config.clock()  # lifetime counts from the send: errs on the early side
        reply = await self.request(
            "POST",
            TOKEN_PATH,
            route=route,
            headers=headers,
            body=b"grant_type=client_credentials",
            timeout=self._remaining(deadline, route),
        )
        if reply.status == 200:
            answer = self._decode(TokenResponse, reply, route)
            return _Token(answer.access_token, sent_at + answer.expires_in, answer.expires_in)
        if reply.status in (400, 401):
            code = _oauth_error_code(reply)
            message = (
                "client credentials refused"
                if code == "invalid_client"
                else f"token request refused (HTTP {reply.status})"
            )
            raise SourceRejected(self.source, message, route=route, code=code or str(reply.status))
        self.raise_for_status(reply, route=route)
        raise SourceContractError(self.source, f"unexpected HTTP {reply.status}", route=route)

    # --- plumbing --------------------------------------------------------------------------

    async def _bounded(
        self, route: str, budget: float | None, work: Callable[[float], Awaitable[T]]
    ) -> T:
        """Run `work(deadline)` under one deadline for the whole call, however many requests.

        The deadline is `budget` seconds (the caller's `timeout`), never more than the config's
        `total_timeout`.
        """
        limit = (
            self.config.total_timeout if budget is None else min(budget, self.config.total_timeout)
        )
        deadline = asyncio.get_running_loop().time() + max(0.001, limit)
        try:
            async with asyncio.timeout_at(deadline):
                return await work(deadline)
        except TimeoutError as exc:
            raise SourceUnavailable(self.source, "timed out", route=route) from exc

    def _remaining(self, deadline: float, route: str) -> float:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise SourceUnavailable(self.source, "timed out", route=route)
        return left

    def _raise_for_error(self, reply: Reply, route: str) -> None:
        """Problem answers: 429 / 5xx are unavailability, other 4xx rejections (code = kind)."""
        if reply.status == 429 or reply.status >= 500:
            self.raise_for_status(reply, route=route)
        if reply.status >= 400:
            slug = _problem_slug(reply)
            raise SourceRejected(
                self.source,
                f"HTTP {reply.status}" + (f" ({slug})" if slug else ""),
                route=route,
                code=slug or str(reply.status),
            )
        if reply.status != 200:
            raise SourceContractError(self.source, f"unexpected HTTP {reply.status}", route=route)

    def _decode(self, model: type[ModelT], reply: Reply, route: str) -> ModelT:
        return self.validate(model, self.decode_json(reply, route=route), route=route)


def _version(change: tuple[int, RiskArea]) -> int:
    return change[0]


def _problem_slug(reply: Reply) -> str | None:
    """The last segment of a problem's `type`, if it is a plain slug (never free text)."""
    try:
        problem = Problem.model_validate_json(reply.body)
    except ValueError:
        return None
    slug = problem.type.rstrip("/").rsplit("/", 1)[-1]
    return slug if _SLUG.fullmatch(slug) else None


def _oauth_error_code(reply: Reply) -> str | None:
    try:
        error = OAuthError.model_validate_json(reply.body).error
    except ValueError:
        return None
    return error if _SLUG.fullmatch(error) else None
