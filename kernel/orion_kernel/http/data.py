"""Data API (api-data.md): route a request to a channel, run its workflows, answer the envelope."""
from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from .. import profiling
from ..errors import ApiError
from ..engine.snapshot import CompiledChannel
from ..governance import INGRESS_SYNC, ChannelRequest
from ..message import Message
from ..routing import split_path
from .api_schemas import (
    TRACE_SORT_COLUMNS,
    DataPath,
    DataRequest,
    DataResponse,
    Trace,
    TraceList,
    TraceListQuery,
    TracePath,
)
from .common import JSON_CONTENT_TYPE, is_json_content_type, json_response, paging, sorting
from .keys import KERNEL
from .middleware import REQUEST_ID
from .openapi import describe

DATA_PREFIX = "/api/v1/data/"
TRACES = "traces"


def resolve_channel(kernel_snapshot: Any, method: str, path: str) -> tuple[str, dict[str, str]]:
    """Route resolution (api-data.md §2): route table first, then the single-segment name fallback."""
    matched = kernel_snapshot.routes.match_path(method, path)
    if matched is not None:
        return matched
    segments = split_path(path)
    if len(segments) == 1:
        return segments[0], {}
    raise ApiError("NOT_FOUND", f"No channel matches {method} /{path}")


async def read_body(request: web.Request) -> bytes:
    """The request body, within ``client_max_size`` (413 beyond it).

    A body that has fully arrived (the usual small POST) is taken from the stream in one piece;
    anything else is read chunk by chunk by aiohttp, which checks the limit as it goes.
    """
    content = request.content
    if not content.is_eof():
        return await request.read()
    raw = content.read_nowait()
    limit = request.client_max_size
    if limit and len(raw) > limit:
        raise web.HTTPRequestEntityTooLarge(limit, len(raw))
    return raw


def decode_body(raw: bytes, content_type: str | None) -> tuple[Any, dict[str, Any]]:
    """``(payload, caller_metadata)`` from the body (api-data.md §3 steps 2–3)."""
    if not raw:
        return {}, {}
    if not is_json_content_type(content_type):
        raise ApiError("UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json for requests with a body")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError("BAD_REQUEST", f"Invalid JSON body: {exc}") from None
    if not isinstance(body, dict) or "data" not in body:
        raise ApiError("BAD_REQUEST", "Invalid JSON body: missing field `data`")
    metadata = body.get("metadata")
    return body["data"], dict(metadata) if isinstance(metadata, dict) else {}


def build_metadata(request: web.Request, caller: dict[str, Any], params: dict[str, str], request_id: str) -> dict[str, Any]:
    """Message metadata in the documented order (api-data.md §4)."""
    metadata = caller
    metadata["http_method"] = request.method
    if params:
        metadata["params"] = params
    if request.query_string:
        metadata["query"] = {key: value for key, value in request.query.items()}
    headers = {key.lower(): value for key, value in request.headers.items()}
    headers.setdefault("x-request-id", request_id)
    metadata["headers"] = headers
    return metadata


async def receive(request: web.Request, ingress: str) -> tuple[CompiledChannel, ChannelRequest]:
    """Route, decode and describe a data request (api-data.md §2–§4) for the ``ingress`` path."""
    kernel = request.app[KERNEL]
    profiled = kernel.debug_profile and profiling.requested(
        request.headers.get(profiling.PROFILE_HEADER), request.query.get(profiling.PROFILE_QUERY))
    if profiled and ingress == INGRESS_SYNC:
        profiling.begin()
    raw = await read_body(request)
    path = request.match_info["path"].strip().strip("/").strip()
    if not path:
        raise ApiError("BAD_REQUEST", "Channel name must not be empty")
    if path == TRACES or (path.startswith(TRACES + "/") and path.count("/") == 1):
        raise ApiError("METHOD_NOT_ALLOWED", f"Method {request.method} is not allowed on {request.path}")
    snapshot = kernel.runtime.snapshot
    name, params = resolve_channel(snapshot, request.method, path)
    channel = snapshot.channels.get(name)
    if channel is None:
        raise ApiError("NOT_FOUND", f"Channel '{name}' not found")
    payload, caller_metadata = decode_body(raw, request.headers.get("Content-Type"))
    request_id = request[REQUEST_ID]
    headers = (metadata := build_metadata(request, caller_metadata, params, request_id))["headers"]
    call = ChannelRequest(channel.name, ingress, Message(payload, metadata), request_id, body=raw, profile=profiled,
                          resolve_client=lambda: kernel.clients.resolve(request.remote, headers))
    return channel, call


async def answer(channel: CompiledChannel, call: ChannelRequest) -> web.Response:
    """Run ``call`` through the channel's chain for its ingress path and answer the reply."""
    try:
        reply = await channel.pipelines[call.ingress](call)
    except ApiError as exc:
        if call.response_headers:  # e.g. RateLimit headers belong on a refusal too
            exc.headers = {**call.response_headers, **(exc.headers or {})}
        raise
    response = web.Response(body=reply.body, status=reply.status, content_type=JSON_CONTENT_TYPE, headers=reply.headers)
    if call.response_headers:
        response.headers.update(call.response_headers)
    return response


@describe("Send a message to a channel (synchronous)", tag="Data", path=DataPath, body=DataRequest, body_required=False,
          description="Routed by the active channels' route patterns, or by channel name when the path is one segment.",
          responses={200: DataResponse}, errors=(400, 403, 404, 409, 413, 415, 422, 429, 500, 502, 503, 504))
async def handle_data(request: web.Request) -> web.Response:
    """Synchronous processing of ``/api/v1/data/{channel-or-path}``."""
    return await answer(*await receive(request, INGRESS_SYNC))


def _trace_projection(row: dict[str, Any]) -> dict[str, Any]:
    """GET /traces/{id}: absent values omitted, JSON columns parsed (api-data.md §8.2)."""
    out: dict[str, Any] = {"id": row["id"], "status": row["status"], "mode": row["mode"], "created_at": row["created_at"],
                           "channel": row["channel"]}
    if row.get("channel_id"):
        out["channel_id"] = row["channel_id"]
    if row["status"] == "completed" and row.get("result_json"):
        try:
            out["message"] = orjson.loads(row["result_json"])
        except orjson.JSONDecodeError:
            pass
    if row["status"] == "failed" and row.get("error_message"):
        out["error"] = row["error_message"]
    for key in ("started_at", "completed_at", "duration_ms"):
        if row.get(key) is not None:
            out[key] = row[key]
    if row.get("task_trace_json"):
        try:
            out["task_trace_json"] = orjson.loads(row["task_trace_json"])
        except orjson.JSONDecodeError:
            pass
    return out


@describe("Get one trace", tag="Data", path=TracePath, responses={200: Trace}, errors=(404,))
async def get_trace(request: web.Request) -> web.Response:
    """``GET /api/v1/data/traces/{id}``."""
    trace_id = request.match_info["id"]
    row = await request.app[KERNEL].storage.get_trace(trace_id)
    if row is None:
        raise ApiError("NOT_FOUND", f"Trace '{trace_id}' not found")
    return json_response(_trace_projection(row))


TRACE_FILTERS = ("status", "mode", "channel")


@describe("List traces", tag="Data", query=TraceListQuery, responses={200: TraceList}, errors=(400,))
async def list_traces(request: web.Request) -> web.Response:
    """``GET /api/v1/data/traces`` with filters, sorting and paging."""
    limit, offset = paging(request)
    sort_by, descending = sorting(request, TRACE_SORT_COLUMNS, "created_at")
    filters = {key: request.query[key] for key in TRACE_FILTERS if key in request.query}
    rows, total = await request.app[KERNEL].storage.list_traces(
        filters=filters, sort_by=sort_by, descending=descending, limit=limit, offset=offset)
    return json_response({"data": rows, "total": total, "limit": limit, "offset": offset})


def add_routes(app: web.Application) -> None:
    from . import data_async  # it builds on this module's helpers

    app.router.add_get("/api/v1/data/traces", list_traces)
    app.router.add_get("/api/v1/data/traces/{id}", get_trace)
    # one pattern match per data request: paths ending in /async skip the sync route at once
    app.router.add_route("*", "/api/v1/data/{path:(?!.*/async$).*}", handle_data)
    data_async.add_routes(app)
