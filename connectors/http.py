"""What every connector shares: one pooled aiohttp session per source, explicit timeouts, and
the translation of transport failures into the `connectors.errors` tree.

A connector builds on `SourceClient`: it calls `self.request(...)`, which returns status, headers
and body bytes or raises `SourceUnavailable`; the connector then decodes its own wire style with
`decode_json` and `validate`, which raise `SourceContractError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
import orjson
import pydantic
from multidict import CIMultiDictProxy

from connectors.errors import SourceContractError, SourceRejected, SourceUnavailable

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)


@dataclass(frozen=True)
class ClientConfig:
    """Where a source is and how long the hub waits for it.

    aiohttp's default total timeout is 300 s; a health-code answer is useless by then, so every
    session gets explicit connect and total timeouts.
    """

    base_url: str
    connect_timeout: float = 1.0
    total_timeout: float = 3.0
    max_connections: int = 64


@dataclass(frozen=True)
class Reply:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The `Retry-After` header in seconds (only the delta-seconds form is used by our sources)."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class SourceClient:
    """Base of the four connectors: owns one pooled session, opened lazily, closed by `close`."""

    source: str = "source"

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self.config.max_connections,
                limit_per_host=self.config.max_connections,
                ttl_dns_cache=300,
            )
            self._session = aiohttp.ClientSession(
                base_url=self.config.base_url,
                connector=connector,
                timeout=aiohttp.ClientTimeout(
                    total=self.config.total_timeout,
                    connect=self.config.connect_timeout,
                ),
                json_serialize=lambda obj: orjson.dumps(obj).decode(),
                auto_decompress=True,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def __aenter__(self: _ClientT) -> _ClientT:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        route: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        params: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Reply:
        """Send one request and read the whole body; transport failures become SourceUnavailable.

        `timeout` (seconds) narrows the session's total timeout for this call, so a caller with a
        deadline can pass what is left of it.
        """
        extra: dict[str, Any] = {}
        if timeout is not None:  # passing timeout=None to aiohttp would disable the timeout
            extra["timeout"] = aiohttp.ClientTimeout(
                total=max(0.001, min(timeout, self.config.total_timeout)),
                connect=self.config.connect_timeout,
            )
        try:
            async with self.session.request(
                method,
                path,
                headers=headers,
                data=body,
                params=params,
                **extra,
            ) as response:
                payload = await response.read()
                return Reply(response.status, response.headers, payload)
        except TimeoutError as exc:  # asyncio.TimeoutError is TimeoutError on 3.11+
            raise SourceUnavailable(self.source, "timed out", route=route) from exc
        except aiohttp.ClientConnectorError as exc:
            raise SourceUnavailable(self.source, "connection refused", route=route) from exc
        except aiohttp.ClientPayloadError as exc:
            raise SourceUnavailable(self.source, "incomplete body", route=route) from exc
        except aiohttp.ClientError as exc:
            raise SourceUnavailable(
                self.source, f"transport error ({type(exc).__name__})", route=route
            ) from exc

    def raise_for_status(self, reply: Reply, *, route: str) -> None:
        """Plain HTTP failures: 429 and 5xx are unavailability, other 4xx are rejections."""
        if reply.status == 429:
            raise SourceUnavailable(
                self.source,
                "rate limited (429)",
                route=route,
                retry_after=retry_after_seconds(reply.headers),
            )
        if reply.status >= 500:
            raise SourceUnavailable(
                self.source,
                f"HTTP {reply.status}",
                route=route,
                retry_after=retry_after_seconds(reply.headers),
            )
        if reply.status >= 400:
            raise SourceRejected(
                self.source, f"HTTP {reply.status}", route=route, code=str(reply.status)
            )

    def decode_json(self, reply: Reply, *, route: str) -> Any:
        try:
            return orjson.loads(reply.body)
        except orjson.JSONDecodeError as exc:
            raise SourceContractError(self.source, "body is not JSON", route=route) from exc

    def validate(self, model: type[ModelT], data: Any, *, route: str) -> ModelT:
        try:
            return model.model_validate(data)
        except pydantic.ValidationError as exc:
            # the field paths help whoever fixes the contract; values are left out (personal data)
            fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})[:5]
            raise SourceContractError(
                self.source, f"answer breaks the contract at {', '.join(fields)}", route=route
            ) from exc


_ClientT = TypeVar("_ClientT", bound=SourceClient)


async def gather_batches(*coroutines: Any) -> list[Any]:
    """Run batch requests concurrently; on the first failure cancel the rest and re-raise it."""
    if len(coroutines) == 1:  # the usual case: no task and gathering future for one batch
        return [await coroutines[0]]
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def chunked(items: list[Any], size: int) -> list[list[Any]]:
    """Split a request into the source's batch size."""
    return [items[i : i + size] for i in range(0, len(items), size)]
