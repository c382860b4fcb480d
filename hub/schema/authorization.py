"""The permission check as a schema extension: after validation, before execution, so a refused
field stops the whole operation with no resolver run and no upstream call."""

from __future__ import annotations

from collections.abc import Iterator

from cachetools import LRUCache
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from hub.auth import Role
from hub.permissions import refused_fields

# (query text, operation, role) -> refused fields: a pure function of its key, so a bounded
# process-wide cache is safe (keyed by text: parsed documents are rebuilt per request)
_REFUSED: LRUCache[tuple[str, str | None, Role], tuple[str, ...]] = LRUCache(maxsize=4096)


class Authorization(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        # Runs after the validation cache has filled pre_execution_errors (extension order).
        context = self.execution_context
        document = context.graphql_document
        if not context.pre_execution_errors and document is not None:
            role = context.context.caller.role
            key = (context.query or "", context.operation_name, role)
            refused = _REFUSED.get(key)
            if refused is None:
                refused = _REFUSED[key] = tuple(
                    refused_fields(context.schema._schema, document, role, context.operation_name)
                )
            if refused:
                context.pre_execution_errors = [
                    GraphQLError(
                        f"the {role} role may not ask for {', '.join(refused)}",
                        extensions={"code": "FORBIDDEN", "fields": list(refused)},
                    )
                ]
        yield
