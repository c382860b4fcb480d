"""The one error tree every connector raises.

    SourceError                  a source system did not give a usable answer
     +-- SourceUnavailable       it did not answer: refused, timed out, hung, 5xx, 429, outage
     +-- SourceRejected          it answered "no" to this request: bad parameter, auth refused
     +-- SourceContractError     it answered something that breaks the wire contract

Lower-layer exceptions (aiohttp, pydantic, asyncio timeouts, JSON decoding) are re-raised
as one of these with `raise ... from exc`; none of them escapes a connector. Messages name the
source and the route, never a person's document or name.
"""

from __future__ import annotations


class SourceError(Exception):
    """A source system did not give a usable answer."""

    def __init__(self, source: str, message: str, *, route: str | None = None) -> None:
        self.source = source
        self.route = route
        where = f"{source} {route}" if route else source
        super().__init__(f"{where}: {message}")


class SourceUnavailable(SourceError):
    """The source did not answer in time, refused, or reported itself unable to serve.

    `retry_after` carries the source's own hint (seconds) when it gave one (HTTP 429 / 503).
    """

    def __init__(
        self,
        source: str,
        message: str,
        *,
        route: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(source, message, route=route)
        self.retry_after = retry_after


class SourceRejected(SourceError):
    """The source refused this request (bad parameter, authentication); retrying won't help."""

    def __init__(
        self, source: str, message: str, *, route: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(source, message, route=route)
        self.code = code


class SourceContractError(SourceError):
    """The source answered, but the answer breaks the wire contract (malformed, wrong shape)."""
