"""The GraphQL HTTP endpoint: the request's path from bytes to an audited, masked answer.

POST /graphql (application/json, bounded body)
  -> who is calling (API key or citizen token)       401 UNAUTHENTICATED
  -> requests per minute                             429 RATE_LIMITED (audited)
  -> one operation, registered unless analyst/judge  400 PERSISTED_QUERY_REQUIRED / ..._NOT_FOUND
  -> a stated purpose for analysts and judges        400 PURPOSE_REQUIRED (audited)
  -> parse (token limit), validate (depth, aliases, cost), permissions   FORBIDDEN (audited)
  -> execute: resolvers record whose data they read; the scraping guard may refuse
     (the venue scan: hub/compiled.py, the same answer without the executor)
  -> one audit record per person accessed, committed before anything is sent (fail closed)
  -> errors masked: unexpected ones become a fixed message and the request id
"""

from __future__ import annotations

import logging
import re
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson
from graphql import ExecutionResult, GraphQLError, GraphQLSyntaxError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.types.graphql import OperationType

from hub.audit import AuditEntry, AuditLog, Outcome
from hub.auth import PURPOSE_REQUIRED, Authenticator, Caller, Unauthenticated
from hub.compiled import CompiledScan
from hub.permissions import INTROSPECTION_ROLES
from hub.persisted import PersistedOperations, requested_hash
from hub.ratelimit import RateLimited, RateLimiter
from hub.schema.context import Context
from hub.settings import SurfaceSettings

log = logging.getLogger("hub.endpoint")

_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
_TOO_MANY_TOKENS = re.compile(r"more than \d+ tokens")


class Refusal(Exception):
    """A request refused before execution: HTTP status, code, and a message a person reads."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.headers = headers or {}


def _json(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def _error_body(code: str, message: str, request_id: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code, "requestId": request_id}}]}


class GraphQLEndpoint:
    """An ASGI endpoint for /graphql; built once in create_app."""

    def __init__(
        self,
        *,
        schema: Any,
        surface: SurfaceSettings,
        authenticator: Authenticator,
        persisted: PersistedOperations,
        rate_limiter: RateLimiter,
        audit: Callable[[], AuditLog],
        make_context: Callable[[Caller, str], Context],
        clock: Callable[[], datetime],
        ide_html: str | None,
        compiled: Mapping[str, CompiledScan] | None = None,
    ) -> None:
        self._schema = schema
        self._surface = surface
        self._authenticator = authenticator
        self._persisted = persisted
        self._rate_limiter = rate_limiter
        self._audit = audit
        self._make_context = make_context
        self._clock = clock
        self._ide_html = ide_html
        self._compiled = compiled or {}  # registered text -> its compiled form

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        response = await self.handle(request)
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        request_id = uuid.uuid4().hex
        if request.method == "GET" and self._ide_html is not None:
            if "text/html" in request.headers.get("accept", ""):
                return HTMLResponse(self._ide_html)
        caller: Caller | None = None
        try:
            self._check_transport(request)
            body = await self._read_body(request)
            caller = self._authenticate(request)
            self._admit(caller)
            caller = self._with_purpose(request, caller)
            payloads = self._payloads(body)
            queries = [self._document(payload, caller) for payload in payloads]
        except Refusal as refusal:
            if caller is not None and refusal.status in (400, 429):
                await self._record_refusal(caller, refusal.code, request_id)
            return _json(
                _error_body(refusal.code, str(refusal), request_id), refusal.status, refusal.headers
            )
        if len(payloads) == 1 and not self._batched(body):
            status, answer = await self._execute(caller, queries[0], payloads[0], request_id)
            return _json(answer, status, {"Retry-After": "60"} if status == 429 else None)
        answers = []
        for query, payload in zip(queries, payloads, strict=True):  # in order, one at a time
            _, answer = await self._execute(caller, query, payload, uuid.uuid4().hex)
            answers.append(answer)
        return _json(answers)

    @staticmethod
    def _batched(body: bytes) -> bool:
        return body.lstrip()[:1] == b"["

    # --- before execution ------------------------------------------------------------------

    def _check_transport(self, request: Request) -> None:
        if request.method != "POST":
            raise Refusal(
                405, "METHOD_NOT_ALLOWED", "send GraphQL requests with POST", {"Allow": "POST"}
            )
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise Refusal(415, "UNSUPPORTED_MEDIA_TYPE", "the body must be application/json")

    async def _read_body(self, request: Request) -> bytes:
        limit = self._surface.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise Refusal(413, "BODY_TOO_LARGE", f"the body is over {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Refusal(413, "BODY_TOO_LARGE", f"the body is over {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _authenticate(self, request: Request) -> Caller:
        try:
            return self._authenticator.authenticate(request.headers, today=self._clock().date())
        except Unauthenticated as exc:
            raise Refusal(
                401, "UNAUTHENTICATED", str(exc), {"WWW-Authenticate": 'Bearer realm="ghc-hub"'}
            ) from exc

    def _admit(self, caller: Caller) -> None:
        try:
            self._rate_limiter.admit_request(caller.id, caller.role)
        except RateLimited as exc:
            raise Refusal(
                429,
                "RATE_LIMITED",
                f"too many requests: {exc}",
                {"Retry-After": str(int(exc.retry_after))},
            ) from exc

    def _payloads(self, body: bytes) -> list[dict[str, Any]]:
        """The operations of the body: one object, or a batch (an array) where configured."""
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise Refusal(400, "BAD_REQUEST", "the body is not valid JSON") from exc
        if not isinstance(payload, list):
            return [self._payload(payload)]
        if self._surface.max_batch < 2:
            raise Refusal(400, "BATCHING_NOT_SUPPORTED", "send one operation per request")
        if not 0 < len(payload) <= self._surface.max_batch:
            raise Refusal(
                400, "BATCH_TOO_LARGE", f"a batch holds 1 to {self._surface.max_batch} operations"
            )
        return [self._payload(item) for item in payload]

    def _payload(self, payload: Any) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise Refusal(400, "BAD_REQUEST", "the body must be a JSON object")
        variables = payload.get("variables")
        if variables is not None and not isinstance(variables, dict):
            raise Refusal(400, "BAD_REQUEST", "`variables` must be an object")
        name = payload.get("operationName")
        if name is not None and not isinstance(name, str):
            raise Refusal(400, "BAD_REQUEST", "`operationName` must be a string")
        return payload

    def _document(self, payload: dict[str, Any], caller: Caller) -> str:
        digest = requested_hash(payload)
        if digest is not None:
            operation = self._persisted.find(digest)
            if operation is None:
                raise Refusal(
                    400, "PERSISTED_QUERY_NOT_FOUND", "no registered operation has this hash"
                )
            return operation.text
        query = payload.get("query")
        if not isinstance(query, str) or not query.strip():
            raise Refusal(400, "BAD_REQUEST", "send `query`, or a registered operation's hash")
        if caller.role in self._surface.persisted_only_roles:
            raise Refusal(
                400,
                "PERSISTED_QUERY_REQUIRED",
                f"the {caller.role} role may run only registered operations",
            )
        return query

    def _with_purpose(self, request: Request, caller: Caller) -> Caller:
        if caller.role not in PURPOSE_REQUIRED:
            return caller
        purpose = request.headers.get("x-purpose", "").strip()
        if len(purpose) < 3:
            raise Refusal(
                400,
                "PURPOSE_REQUIRED",
                "analysts and judges state a purpose in the X-Purpose header",
            )
        return replace(caller, purpose=purpose[:200])

    # --- execution and after -----------------------------------------------------------------

    async def _execute(
        self, caller: Caller, query: str, payload: dict[str, Any], request_id: str
    ) -> tuple[int, dict[str, Any]]:
        context = self._make_context(caller, request_id)
        result: ExecutionResult | None = None
        compiled = self._compiled.get(query)
        if compiled is not None:
            result = await compiled.run(
                context, payload.get("variables"), payload.get("operationName")
            )
        if result is None:
            try:
                result = await self._schema.execute(
                    query,
                    variable_values=payload.get("variables"),
                    context_value=context,
                    operation_name=payload.get("operationName"),
                    allowed_operation_types={OperationType.QUERY, OperationType.MUTATION},
                )
            except CannotGetOperationTypeError:
                # strawberry raises (rather than answers) when operationName names nothing
                message = "the document has no operation of the name `operationName` gives"
                error = GraphQLError(message, extensions={"code": "OPERATION_NOT_FOUND"})
                result = ExecutionResult(None, [error])
        errors = [self._format(error, caller, request_id) for error in result.errors or ()]
        codes = {e["extensions"].get("code") for e in errors}
        try:
            await self._audit().append(self._audit_entries(context, result, codes, request_id))
        except Exception:  # noqa: BLE001 - whatever the cause, nothing is served unrecorded
            log.exception("audit write failed; request %s refused", request_id)
            message = "the access could not be recorded, so nothing was served"
            return 503, _error_body("AUDIT_UNAVAILABLE", message, request_id)
        body: dict[str, Any] = {"data": result.data}
        if errors:
            body["errors"] = errors
        return (429 if "RATE_LIMITED" in codes else 200), body

    def _format(self, error: GraphQLError, caller: Caller, request_id: str) -> dict[str, Any]:
        original = error.original_error
        if original is not None and not isinstance(original, GraphQLError):
            if isinstance(original, RateLimited):
                return {
                    "message": f"too many people looked up: {original}",
                    "path": error.path,
                    "extensions": {"code": "RATE_LIMITED", "requestId": request_id},
                }
            # The caller gets a fixed message; the log gets the type and the stack, but not the
            # exception's message, which may quote personal data the code was handling.
            log.error(
                "unexpected %s at %s (request %s)\n%s",
                type(original).__name__,
                error.path,
                request_id,
                "".join(traceback.format_tb(original.__traceback__)),
            )
            return {
                "message": "internal error",
                "path": error.path,
                "extensions": {"code": "INTERNAL_ERROR", "requestId": request_id},
            }
        formatted = error.formatted
        extensions = dict(formatted.get("extensions") or {})
        if "code" not in extensions:
            if isinstance(error, GraphQLSyntaxError) or error.message.startswith("Syntax Error"):
                too_many = _TOO_MANY_TOKENS.search(error.message)
                extensions["code"] = "TOO_MANY_TOKENS" if too_many else "GRAPHQL_PARSE_FAILED"
            else:
                extensions["code"] = "GRAPHQL_VALIDATION_FAILED"
        extensions["requestId"] = request_id
        message = formatted["message"]
        if caller.role not in INTROSPECTION_ROLES:
            message = _SUGGESTION.sub("", message)  # no schema hints for non-analysts
        out: dict[str, Any] = {"message": message, "extensions": extensions}
        if formatted.get("locations"):
            out["locations"] = formatted["locations"]
        if formatted.get("path"):
            out["path"] = formatted["path"]
        return out

    def _audit_entries(
        self, context: Context, result: ExecutionResult, codes: set[Any], request_id: str
    ) -> list[AuditEntry]:
        caller = context.caller
        now = self._clock()
        failed_roots = {str(e.path[0]) for e in result.errors or () if e.path and len(e.path) == 1}
        if not context.accesses:
            refused = "FORBIDDEN" in codes or "RATE_LIMITED" in codes
            if not refused:
                return []
            return [
                AuditEntry(
                    caller.id, caller.role, None, (), caller.purpose, "denied", request_id, now
                )
            ]
        entries = []
        for access in context.accesses:
            outcome: Outcome = "failed" if access.root in failed_roots else "served"
            if access.denied:
                outcome = "denied"
            entries.append(
                AuditEntry(
                    caller.id,
                    caller.role,
                    access.subject_key,
                    access.fields,
                    caller.purpose,
                    outcome,
                    request_id,
                    now,
                )
            )
        return entries

    async def _record_refusal(self, caller: Caller, code: str, request_id: str) -> None:
        entry = AuditEntry(
            caller.id,
            caller.role,
            None,
            (f"refused:{code}",),
            caller.purpose,
            "denied",
            request_id,
            self._clock(),
        )
        try:
            await self._audit().append([entry])
        except Exception:  # noqa: BLE001 - a refusal serves nothing, so it can still be sent
            log.exception("audit write of a refusal failed (request %s)", request_id)
