"""Admin routes for the trace dead-letter queue (docs/async.md): list, get, requeue and purge entries.

Served under ``/api/v1/admin/dlq`` and, for clients of later Orion releases, under
``/api/v1/admin/trace-dlq`` (api-admin.md §12). Requeue and purge are audited.
"""
from __future__ import annotations

from typing import Any

from aiohttp import web

from ..async_queue.dlq import is_exhausted
from ..async_queue.jobs import stamp
from ..audit import record_audit
from ..errors import ApiError, field_error, not_found
from ..validation.ids import is_valid_id, shorten
from .admin_common import load_body, page, principal_of
from .api_schemas import (
    DlqEnvelope,
    DlqList,
    DlqPath,
    DlqPurgeBody,
    DlqPurged,
    DlqQuery,
    DlqRequeuedEnvelope,
)
from .common import json_response, no_content, paging, read_json_body
from .keys import KERNEL
from .openapi import describe

PREFIXES = ("/api/v1/admin/dlq", "/api/v1/admin/trace-dlq")
RESOURCE = "trace_dlq"
BOOLEANS = {"true": True, "false": False}
_PURGE = DlqPurgeBody()


def _entry(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "exhausted": is_exhausted(row)}


def _exhausted_filter(request: web.Request) -> bool | None:
    value = request.query.get("exhausted")
    if value is None or value == "":
        return None
    try:
        return BOOLEANS[value.lower()]
    except KeyError:
        raise ApiError("VALIDATION_ERROR", "Invalid query string: exhausted: expected true or false", details=[
            field_error("query.exhausted", "TYPE_MISMATCH", "'exhausted' must be true or false", expected="boolean",
                        got=value)]) from None


async def _existing(request: web.Request) -> dict[str, Any]:
    entry_id = request.match_info["id"]
    row = await request.app[KERNEL].storage.get_dlq(entry_id) if is_valid_id(entry_id) else None
    if row is None:
        raise not_found(f"Dead-letter entry '{shorten(entry_id)}' not found")
    return row


@describe("List dead-letter entries, newest first", tag="Operational", query=DlqQuery,
          responses={200: DlqList}, errors=(400,))
async def list_entries(request: web.Request) -> web.Response:
    """Dead-letter entries newest first, filtered by ``channel`` and ``exhausted``, paged."""
    limit, offset = paging(request)
    exhausted = _exhausted_filter(request)
    rows, total = await request.app[KERNEL].storage.list_dlq(
        channel=request.query.get("channel") or None, exhausted=exhausted, limit=limit, offset=offset)
    return page([_entry(row) for row in rows], total, limit, offset)


@describe("Get one dead-letter entry with its payload", tag="Operational", path=DlqPath,
          responses={200: DlqEnvelope}, errors=(404,))
async def get_entry(request: web.Request) -> web.Response:
    """One dead-letter entry."""
    return json_response({"data": _entry(await _existing(request))})


@describe("Requeue a dead-letter entry now, with its retry count reset", tag="Operational", path=DlqPath,
          description="The entry becomes a new pending job (new trace id) counted as a first attempt, so a new "
                      "failure gets the full `queue.dlq_max_retries` again. The channel must be active.",
          responses={200: DlqRequeuedEnvelope}, errors=(404, 409, 500, 503))
async def requeue_entry(request: web.Request) -> web.Response:
    """Put one entry back on the queue at once (exhausted or not)."""
    kernel = request.app[KERNEL]
    entry = await _existing(request)
    if entry["channel"] not in kernel.runtime.snapshot.channels:
        raise ApiError("CONFLICT", f"Channel '{shorten(entry['channel'])}' is not active; activate it before "
                                   f"requeueing dead-letter entry '{entry['id']}'")
    try:
        job = await kernel.queue.requeue(entry, attempt=0)
    except ValueError:
        raise ApiError("CONFLICT", f"Dead-letter entry '{entry['id']}' cannot be requeued: its stored payload or "
                                   "metadata is not valid JSON; purge it") from None
    if job is None:  # the retry task requeued it a moment ago
        raise not_found(f"Dead-letter entry '{entry['id']}' not found")
    kernel.queue.counters.dlq_requeued += 1
    await record_audit(kernel.storage, "requeue", RESOURCE, entry["id"], principal_of(request),
                       {"trace_id": job.id, "channel": job.channel, "previous_retry_count": entry["retry_count"]})
    return json_response({"data": {"id": entry["id"], "channel": job.channel, "trace_id": job.trace_id}})


@describe("Delete one dead-letter entry", tag="Operational", path=DlqPath, responses={204: None}, errors=(404,))
async def delete_entry(request: web.Request) -> web.Response:
    """Purge one entry."""
    kernel = request.app[KERNEL]
    entry = await _existing(request)
    if not await kernel.storage.delete_dlq(entry["id"]):
        raise not_found(f"Dead-letter entry '{entry['id']}' not found")
    await record_audit(kernel.storage, "delete", RESOURCE, entry["id"], principal_of(request), {"channel": entry["channel"]})
    return no_content()


@describe("Purge dead-letter entries: the exhausted ones (default) or all", tag="Operational", body=DlqPurgeBody,
          body_required=False, responses={200: DlqPurged}, errors=(400, 415))
async def purge_entries(request: web.Request) -> web.Response:
    """Delete exhausted (or all) entries, optionally only those older than ``older_than_hours``."""
    kernel = request.app[KERNEL]
    body = await read_json_body(request, required=False)
    options = load_body(body if body is not None else {}, _PURGE)
    scope = options.get("scope") or "exhausted"
    hours = options.get("older_than_hours")
    purged = await kernel.storage.purge_dlq(exhausted_only=scope == "exhausted",
                                            created_before=stamp(-hours * 3600.0) if hours is not None else None)
    await record_audit(kernel.storage, "purge", RESOURCE, f"{purged} purged", principal_of(request),
                       {"scope": scope, "older_than_hours": hours})
    return json_response({"purged": purged, "scope": scope, "older_than_hours": hours})


def add_routes(app: web.Application) -> None:
    for prefix in PREFIXES:
        app.router.add_get(prefix, list_entries)
        app.router.add_post(f"{prefix}/purge", purge_entries)
        app.router.add_get(f"{prefix}/{{id}}", get_entry)
        app.router.add_delete(f"{prefix}/{{id}}", delete_entry)
        app.router.add_post(f"{prefix}/{{id}}/requeue", requeue_entry)
