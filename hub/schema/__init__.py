"""The GraphQL schema: strawberry types and resolvers; resolvers only read `info.context`."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)

from hub.schema.authorization import Authorization
from hub.schema.limits import Limits, validation_rules
from hub.schema.mutations import Mutation
from hub.schema.query import Query


class HubSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Errors are logged by the HTTP endpoint, which knows the request id and masks them."""


def build_schema(limits: Limits | None = None, max_tokens: int = 2000) -> strawberry.Schema:
    """The schema with its request pipeline: cached parse (token-limited), cached validation
    (with the document limits), then the role's permissions; all before any resolver runs."""
    rules = validation_rules(limits or Limits())
    return HubSchema(
        query=Query,
        mutation=Mutation,
        # factories: strawberry shares the caches themselves across requests
        extensions=[
            lambda: MaxTokensLimiter(max_token_count=max_tokens),
            lambda: ParserCache(maxsize=1024),
            lambda: AddValidationRules(list(rules)),
            lambda: ValidationCache(maxsize=1024),
            Authorization,
        ],
    )


__all__ = ["build_schema"]
