"""What a resolver may reach: the caller, the request's loaders, the policy book and the clock,
and the record of whose data the request touched (for the audit log and the scraping guard)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from graphql import GraphQLError

from hub.auth import Caller, Role
from hub.domain.instants import CST
from hub.domain.policy import PolicyBook
from hub.idempotency import Idempotency
from hub.loaders import Loaders
from hub.signing import Signer
from hub.writes import Writes


@dataclass
class Access:
    """One root field's access to one person's data: the audit record's subject and fields."""

    subject_key: str
    root: str  # the response key of the root field (its alias, if any)
    fields: tuple[str, ...]
    denied: bool = False  # refused by the scraping guard: nothing of it was read


@dataclass
class Context:
    caller: Caller
    loaders: Loaders
    policies: PolicyBook
    clock: Callable[[], datetime]
    request_id: str = ""
    # called with each new subject; raises (a GraphQLError) when the caller may see no more people
    admit_subject: Callable[[Caller, str], None] = lambda caller, key: None
    accesses: list[Access] = field(default_factory=list)
    writes: Writes | None = None
    idempotency: Idempotency | None = None
    signer: Signer | None = None

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        """Today in China Standard Time: the date a birth date must not be after."""
        return self.clock().astimezone(CST).date()

    def record_access(self, subject_key: str, root: str, fields: tuple[str, ...]) -> None:
        """Note that this request reads this person's data; the scraping guard may refuse."""
        if all(a.subject_key != subject_key for a in self.accesses):
            try:
                self.admit_subject(self.caller, subject_key)
            except Exception:
                self.accesses.append(Access(subject_key, root, fields, denied=True))
                raise
        self.accesses.append(Access(subject_key, root, fields))

    def require_role(self, roles: frozenset[Role], what: str) -> None:
        if self.caller.role not in roles:
            raise GraphQLError(
                f"{what} is not available to the {self.caller.role} role",
                extensions={"code": "FORBIDDEN"},
            )
