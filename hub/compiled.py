"""The venue scan, answered without the GraphQL executor.

Scanning is the hub's hottest path: at peak every venue scanner in a province asks at once, and
what the executor does per request for this one registered document (walk it, coerce its
variables, run each resolver through the extension pipeline, complete each value) is the same
every time. So it is done once, here: `CompiledScan.run` returns the ExecutionResult the
executor would (data; errors with their paths and locations), built from the very functions
the resolvers call (document parsing, the loaders, the rules, masking, error constructors).

It answers only the ordinary case. Variables not exactly as the document declares them, a
document the domain refuses, a role the permission table refuses: `run` returns None before
doing anything, and the request takes the general path, which says what was wrong. If the
registered document is ever changed, `build` finds it is no longer the shape compiled here and
the general path serves it. tests/hub/test_compiled.py runs each case both ways and compares
the answers and the audit records.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    located_error,
    parse,
    print_ast,
    validate,
)

from connectors.errors import SourceError
from connectors.records import DocumentRef
from hub.auth import Role
from hub.domain.documents import InvalidDocument, mask_name, parse_document
from hub.domain.policy import NoPolicyInForce
from hub.domain.rules import evaluate
from hub.domain.vocabulary import Colour
from hub.loaders import Loaders
from hub.permissions import refused_fields
from hub.persisted import PersistedOperations
from hub.schema import errors
from hub.schema.context import Context

OPERATION = "VenueScan"
# The shape compiled below; the registered text may differ only in comments and layout.
SHAPE = """query VenueScan($document: DocumentInput!) {
  citizen(document: $document) { name healthCode { colour } }
}"""
# What the audit record says was returned (hub.schema.selection.selected_paths of the shape)
AUDITED_FIELDS = ("healthCode.colour", "name")


class CompiledScan:
    """The VenueScan operation as straight-line code; one per app."""

    def __init__(self, schema: GraphQLSchema, text: str) -> None:
        self.text = text  # the registered document, as requests name it
        document = parse(text)
        operation = document.definitions[0]
        assert isinstance(operation, OperationDefinitionNode)
        citizen = operation.selection_set.selections[0]
        assert isinstance(citizen, FieldNode) and citizen.selection_set is not None
        name, health_code = citizen.selection_set.selections
        assert isinstance(name, FieldNode) and isinstance(health_code, FieldNode)
        self._citizen_nodes = [citizen]
        self._name_nodes = [name]
        self._code_nodes = [health_code]
        self.roles = frozenset(role for role in Role if not refused_fields(schema, document, role))
        # the executor's own serialisations of the enums, so the answers are the same text
        colour_type = schema.get_type("Colour")
        assert isinstance(colour_type, GraphQLEnumType)
        self._colours = {colour: colour_type.serialize(colour) for colour in Colour}
        document_type = schema.get_type("DocumentType")
        assert isinstance(document_type, GraphQLEnumType)
        self._document_types = {
            name: str(value.value) for name, value in document_type.values.items()
        }

    @classmethod
    def build(cls, schema: GraphQLSchema, persisted: PersistedOperations) -> CompiledScan | None:
        """The compiled scan for the registered VenueScan, if it is the shape compiled here."""
        registered = persisted.by_name.get(OPERATION)
        if registered is None:
            return None
        document = parse(registered.text)
        if validate(schema, document) or print_ast(document) != print_ast(parse(SHAPE)):
            return None
        return cls(schema, registered.text)

    async def run(
        self, context: Context, variables: Any, operation_name: Any
    ) -> ExecutionResult | None:
        """The scan's result, or None when the general path should answer (nothing done yet)."""
        if operation_name not in (None, OPERATION) or context.caller.role not in self.roles:
            return None
        given = variables.get("document") if isinstance(variables, dict) else None
        if not isinstance(given, dict) or len(variables) != 1 or len(given) != 2:
            return None
        kind, number = given.get("type"), given.get("number")
        if not isinstance(number, str) or kind not in self._document_types:
            return None
        try:
            document = parse_document(self._document_types[kind], number, today=context.today())
        except InvalidDocument:
            return None
        ref = DocumentRef(document.type.value, document.number)
        loaders = context.loaders
        try:
            context.record_access(loaders.subject_key(ref), "citizen", AUDITED_FIELDS)
        except Exception as exc:  # noqa: BLE001 - the scraping guard: the field's error
            error = located_error(exc, self._citizen_nodes, ["citizen"])
            return ExecutionResult({"citizen": None}, [error])
        loaders.begin_facts(ref)  # in the same round as the registration check
        if not await loaders.registered(loaders.identity, ref):
            return ExecutionResult({"citizen": None}, None)
        found: list[GraphQLError] = []
        name = await self._masked_name(loaders, ref, found)
        health_code = await self._health_code(context, ref, found)
        data = {"citizen": {"name": name, "healthCode": health_code}}
        return ExecutionResult(data, found or None)

    async def _masked_name(
        self, loaders: Loaders, ref: DocumentRef, found: list[GraphQLError]
    ) -> str | None:
        try:
            identity = (await loaders.identity.load(ref)).value
        except SourceError as exc:
            found.append(self._error(errors.source_unavailable(exc), self._name_nodes, "name"))
            return None
        except Exception as exc:  # noqa: BLE001 - as the executor: the field's error
            found.append(self._error(exc, self._name_nodes, "name"))
            return None
        return None if identity is None else mask_name(identity.name)

    async def _health_code(
        self, context: Context, ref: DocumentRef, found: list[GraphQLError]
    ) -> dict[str, str] | None:
        now = context.now()
        try:
            policy = context.policies.in_force(now)
            gathered = await context.loaders.subject_facts(ref)
            verdict = evaluate(gathered.facts, gathered.risk_areas, now, policy)
        except NoPolicyInForce:
            found.append(self._error(errors.no_policy_in_force(), self._code_nodes, "healthCode"))
            return None
        except Exception as exc:  # noqa: BLE001 - as the executor: the field's error
            found.append(self._error(exc, self._code_nodes, "healthCode"))
            return None
        return {"colour": self._colours[verdict.colour]}

    @staticmethod
    def _error(exc: Exception, nodes: list[FieldNode], field: str) -> GraphQLError:
        return located_error(exc, nodes, ["citizen", field])
