"""The GraphQL schema: strawberry types and resolvers; resolvers only read `info.context`."""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache

from hub.schema.query import Query

log = logging.getLogger("hub.graphql")


class HubSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Log only what nobody meant to raise; a refused document or a source outage is an
        answer the caller already has, not a fault of the hub."""
        for error in errors:
            original = error.original_error
            if original is None or isinstance(original, GraphQLError):
                continue
            log.error(
                "unexpected %s in %s",
                type(original).__name__,
                ".".join(str(p) for p in error.path or ()),
                exc_info=original,
            )


def build_schema() -> strawberry.Schema:
    # Parsing and validation are most of what a GraphQL request costs; a document seen before
    # is neither parsed nor validated again (bounded caches).
    return HubSchema(
        query=Query,
        # factories: the caches themselves are shared across requests by strawberry
        extensions=[lambda: ParserCache(maxsize=1024), lambda: ValidationCache(maxsize=1024)],
    )


__all__ = ["build_schema"]
