"""What each role may ask for, as a table of (type, field), checked on the whole operation before
anything executes: a refused field costs no upstream call and returns no partial data.

Argument-dependent rules (a partner's own region only; past instants for analysts and judges)
are checked by the resolvers before they load anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    visit,
)

from hub.auth import Role

ALL: frozenset[str] = frozenset({"*"})

_CITIZEN_PAGE = {
    "Query": frozenset({"me"}),
    "Mutation": frozenset({"requestCodeTransfer", "declareCrossBorderTrip"}),
    "TransferTicket": ALL,
    "TicketStatus": ALL,
    "TripDeclaration": ALL,
    "CodeToken": ALL,
    "Citizen": frozenset(
        {
            "document",
            "name",
            "phone",
            "healthCode",
            "natTests",
            "antibodyTests",
            "entries",
            "trips",
            "scanToken",
            "transferTickets",
        }
    ),  # fmt: skip
    "MaskedDocument": ALL,
    "HealthCode": frozenset({"colour", "reasons", "popups", "validUntil", "at", "policy"}),
    "Reason": frozenset({"rule", "description", "since", "until"}),
    "NatTest": ALL,
    "AntibodyTest": ALL,
    "Entry": ALL,
    "Trip": ALL,
}

_EVERYTHING_READ = {"*": ALL, "Mutation": frozenset()}
# judges read as analysts do, and record judgements; citizens' own requests stay theirs
_JUDGE = {
    "*": ALL,
    "Mutation": frozenset({"recordJudgement", "dismissReason"}),
}

PERMISSIONS: Mapping[Role, Mapping[str, frozenset[str]]] = {
    Role.CITIZEN: _CITIZEN_PAGE,
    Role.VENUE: {
        "Query": frozenset({"citizen"}),
        "Mutation": frozenset({"scanCode"}),
        "ScanResult": ALL,
        "Citizen": frozenset({"name", "healthCode"}),
        "HealthCode": frozenset({"colour"}),
    },
    Role.PARTNER: {
        "Query": frozenset({"recognition", "sourceStatus"}),
        "Recognition": ALL,
        "SourceHealth": ALL,
    },
    Role.ANALYST: _EVERYTHING_READ,
    Role.JUDGE: _JUDGE,
}

INTROSPECTION_ROLES = frozenset({Role.ANALYST, Role.JUDGE})

# Arguments that widen what a field reveals: another instant than now is the analysts' and
# judges' "what was known then" view.
PAST_INSTANT_ROLES = frozenset({Role.ANALYST, Role.JUDGE})
_RESTRICTED_ARGUMENTS = {
    ("Citizen", "healthCode", "at"): PAST_INSTANT_ROLES,
    ("Citizen", "recognition", "at"): PAST_INSTANT_ROLES,
    ("Query", "recognition", "at"): PAST_INSTANT_ROLES,
    ("Query", "colourCounts", "at"): PAST_INSTANT_ROLES,
}
_INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})


def allowed(role: Role, type_name: str, field: str) -> bool:
    if field == "__typename":
        return True
    if field in _INTROSPECTION_FIELDS:
        return role in INTROSPECTION_ROLES
    if type_name.startswith("__"):  # inside introspection, reachable only through the above
        return role in INTROSPECTION_ROLES
    table = PERMISSIONS[role]
    fields = table.get(type_name, table.get("*", frozenset()))
    return fields is ALL or "*" in fields or field in fields


class _Collect(Visitor):
    def __init__(self, type_info: TypeInfo, role: Role) -> None:
        super().__init__()
        self.type_info = type_info
        self.role = role
        self.refused: list[str] = []

    def enter_field(self, node: FieldNode, *_: object) -> None:
        parent = self.type_info.get_parent_type()
        if parent is None:
            return
        parent_name = get_named_type(parent).name
        field = node.name.value
        if not allowed(self.role, parent_name, field):
            self.refused.append(f"{parent_name}.{field}")
        for argument in node.arguments or ():
            roles = _RESTRICTED_ARGUMENTS.get((parent_name, field, argument.name.value))
            if roles is not None and self.role not in roles:
                self.refused.append(f"{parent_name}.{field}({argument.name.value}:)")


def _executed(document: DocumentNode, operation_name: str | None) -> DocumentNode:
    """The operation that will run and the fragments it spreads: only they are checked, so a
    document may hold examples for other roles (as GraphiQL's does)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [
        o
        for o in operations
        if operation_name is None or (o.name and o.name.value == operation_name)
    ]
    if len(chosen) != 1:
        return document  # ambiguous or unknown: execution will refuse it; check everything
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    wanted: dict[str, FragmentDefinitionNode] = {}
    stack: list[Any] = [chosen[0]]
    while stack:
        node = stack.pop()
        for spread in _spreads(node):
            if spread in fragments and spread not in wanted:
                wanted[spread] = fragments[spread]
                stack.append(fragments[spread])
    return DocumentNode(definitions=(chosen[0], *wanted.values()))


def _spreads(node: Any) -> list[str]:
    found: list[str] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, FragmentSpreadNode):
            found.append(current.name.value)
        selection_set = getattr(current, "selection_set", None)
        if selection_set is not None:
            stack.extend(selection_set.selections)
    return found


def refused_fields(
    schema: GraphQLSchema, document: DocumentNode, role: Role, operation_name: str | None = None
) -> list[str]:
    """Every `Type.field` the executed operation asks for that `role` may not (sorted, unique)."""
    type_info = TypeInfo(schema)
    collector = _Collect(type_info, role)
    visit(_executed(document, operation_name), TypeInfoVisitor(type_info, collector))
    return sorted(set(collector.refused))
