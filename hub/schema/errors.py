"""GraphQL errors the hub raises on purpose, each with a stable `extensions.code`.

Messages say what was wrong in words a caller can act on, and never carry a document number,
a name or any other personal data.
"""

from __future__ import annotations

from graphql import GraphQLError

from connectors.errors import SourceContractError, SourceError, SourceRejected
from hub.domain.documents import InvalidDocument


def invalid_document(exc: InvalidDocument) -> GraphQLError:
    return GraphQLError(
        f"invalid document: {exc.message}",
        extensions={"code": "INVALID_DOCUMENT", "rule": exc.rule},
    )


def no_policy_in_force() -> GraphQLError:
    return GraphQLError(
        "no policy version was in force at that instant", extensions={"code": "NO_POLICY_IN_FORCE"}
    )


def bad_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


def source_unavailable(exc: SourceError) -> GraphQLError:
    """A field whose source did not answer: the error names the source, not the person."""
    code = "SOURCE_UNAVAILABLE"
    if isinstance(exc, SourceContractError):
        code = "SOURCE_CONTRACT_ERROR"
    elif isinstance(exc, SourceRejected):
        code = "SOURCE_REJECTED"
    # the connector's own words name the route and what went wrong, never a person
    return GraphQLError(
        f"the {exc.source} system did not answer usably",
        extensions={"code": code, "source": exc.source, "detail": str(exc)},
    )


def subject_not_found() -> GraphQLError:
    return GraphQLError(
        "no person is registered with this document", extensions={"code": "SUBJECT_NOT_FOUND"}
    )
