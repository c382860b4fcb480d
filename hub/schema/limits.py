"""Limits on what one GraphQL document may ask: depth, aliases and an estimated cost.

They run as validation rules, so an over-limit document is refused before anything executes
(no upstream call) with an `extensions.code` that says which limit. Fragments are followed
where they are spread (a fragment spread ten times costs ten times), and a fragment cycle is
cut rather than followed (the standard rules report the cycle itself).
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)

# Root fields that ask the source systems about people cost more than a field read from memory.
ROOT_FIELD_COST = {"citizen": 10, "me": 10, "recognition": 10, "riskAreas": 5}


@dataclass(frozen=True)
class Limits:
    max_depth: int = 10
    max_aliases: int = 60
    max_cost: int = 1500


@dataclass(frozen=True)
class _Measure:
    depth: int
    cost: int


def _measure(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    root: bool,
    following: frozenset[str],
    memo: dict[tuple[str, bool], _Measure],
) -> _Measure:
    if selection_set is None:
        return _Measure(0, 0)
    depth = 0
    cost = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            inner = _measure(selection.selection_set, fragments, False, following, memo)
            weight = ROOT_FIELD_COST.get(selection.name.value, 1) if root else 1
            depth = max(depth, 1 + inner.depth)
            cost += weight + inner.cost
        elif isinstance(selection, InlineFragmentNode):
            inner = _measure(selection.selection_set, fragments, root, following, memo)
            depth, cost = max(depth, inner.depth), cost + inner.cost
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in following:
                continue
            # memoised: a fragment spread twice in a fragment spread twice ... is measured
            # once per level, not 2^n times
            if (name, root) not in memo:
                memo[(name, root)] = _measure(
                    fragment.selection_set, fragments, root, following | {name}, memo
                )
            inner = memo[(name, root)]
            depth, cost = max(depth, inner.depth), cost + inner.cost
    return _Measure(depth, cost)


def _count_aliases(document: DocumentNode) -> int:
    count = 0
    stack: list[object] = list(document.definitions)
    while stack:
        node = stack.pop()
        if isinstance(node, FieldNode) and node.alias is not None:
            count += 1
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            stack.extend(selection_set.selections)
    return count


def validation_rules(limits: Limits) -> list[type[ValidationRule]]:
    """The rule classes for these limits (built once per app, so validation caches hit)."""

    class DocumentLimits(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            document = context.document
            fragments = {
                d.name.value: d
                for d in document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            aliases = _count_aliases(document)
            if aliases > limits.max_aliases:
                self._refuse(f"{aliases} aliases; at most {limits.max_aliases}", "TOO_MANY_ALIASES")
            for operation in document.definitions:
                if not isinstance(operation, OperationDefinitionNode):
                    continue
                measure = _measure(operation.selection_set, fragments, True, frozenset(), {})
                if measure.depth > limits.max_depth:
                    self._refuse(
                        f"depth {measure.depth}; at most {limits.max_depth}", "QUERY_TOO_DEEP"
                    )
                if measure.cost > limits.max_cost:
                    self._refuse(
                        f"estimated cost {measure.cost}; at most {limits.max_cost}",
                        "QUERY_TOO_COSTLY",
                    )

        def _refuse(self, what: str, code: str) -> None:
            self.report_error(GraphQLError(f"operation refused: {what}", extensions={"code": code}))

    return [DocumentLimits]
