"""The floor: what the web stack (uvicorn + Starlette + orjson) costs with no GraphQL and no
upstream. It reads the POSTed body like the hub does and answers a JSON body of the size of
the scan answer (BENCH_FLOOR_BYTES, set by the benchmark from a real scan answer)."""

from __future__ import annotations

import os

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def _body(size: int) -> bytes:
    template = {"data": {"citizen": {"name": "*四", "healthCode": {"colour": "GREEN"}}}, "pad": ""}
    base = len(orjson.dumps(template))
    template["pad"] = "x" * max(0, size - base)
    return orjson.dumps(template)


BODY = _body(int(os.environ.get("BENCH_FLOOR_BYTES", "80")))


async def graphql(request: Request) -> Response:
    payload = orjson.loads(await request.body())
    if not isinstance(payload, dict):
        return Response(b'{"error":"bad"}', status_code=400, media_type="application/json")
    return Response(orjson.dumps(orjson.loads(BODY)), media_type="application/json")


async def healthz(request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


app = Starlette(routes=[Route("/graphql", graphql, methods=["POST"]), Route("/healthz", healthz)])
