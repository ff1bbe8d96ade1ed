"""Async submissions (api-data.md §7.1): ``<any method> /api/v1/data/{channel-or-path}/async`` answers
202 with a trace id once the job is persisted; queue workers run it (docs/async.md)."""
from __future__ import annotations

from aiohttp import web

from ..governance import INGRESS_ASYNC
from .api_schemas import AsyncAccepted, DataPath, DataRequest
from .data import answer, receive
from .openapi import describe

ASYNC_ROUTE = "/api/v1/data/{path:.*}/async"


@describe("Submit a message for asynchronous processing", tag="Data", path=DataPath, body=DataRequest,
          body_required=False,
          description="Routed like a synchronous request (the `/async` suffix removed), checked by the channel's "
                      "async policies, persisted, then queued. Poll `GET /api/v1/data/traces/{trace_id}` until "
                      "`status` is `completed` or `failed`. When the channel stores no trace for the job, "
                      "`trace_id` is null and a `Warning` header says why.",
          responses={202: AsyncAccepted}, errors=(400, 403, 404, 409, 413, 415, 429, 500, 503))
async def handle_async(request: web.Request) -> web.Response:
    """Asynchronous submission to ``/api/v1/data/{channel-or-path}/async``."""
    return await answer(*await receive(request, INGRESS_ASYNC))


def add_routes(app: web.Application) -> None:
    app.router.add_route("*", ASYNC_ROUTE, handle_async)
