"""Admin bulk routes: import workflows or channels as drafts (all or nothing), export them for re-import."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from ..bulk_import import MAX_BATCH, import_batch
from ..errors import ApiError, field_error
from ..storage import CHANNEL, WORKFLOW, StorageBackend
from ..validation.common import json_type
from .admin_bodies import dry_run_flag
from .admin_common import parse_error, principal_of, registry_of
from .api_schemas import (
    ChannelExport,
    ChannelFilters,
    ChannelInput,
    ImportQuery,
    ImportResult,
    WorkflowExport,
    WorkflowFilters,
    WorkflowInput,
)
from .common import json_response, read_json_body
from .keys import KERNEL
from .openapi import describe

EXPORT_PAGE = 1000
CHANNEL_FILTERS = ("status", "channel_type", "protocol")


def _items(body: Any) -> list[Any]:
    """The import body: a JSON array of at most :data:`MAX_BATCH` create objects."""
    if not isinstance(body, list):
        raise parse_error([field_error("body", "INVALID", f"invalid type: {json_type(body)}, expected a JSON array of definitions")])
    if len(body) > MAX_BATCH:
        raise ApiError("VALIDATION_ERROR", f"Import batch has {len(body)} items; at most {MAX_BATCH} are accepted, split it",
                       details=[field_error("body", "INVALID", f"at most {MAX_BATCH} items per import", got=len(body))])
    return body


@describe("Import workflows as drafts, all or nothing", tag="Workflows", query=ImportQuery,
          body={"type": "array", "items": WorkflowInput, "maxItems": MAX_BATCH},
          responses={200: ImportResult}, errors=(400, 413, 415))
async def import_workflows(request: web.Request) -> web.Response:
    """Import workflows as drafts, all or nothing; ``?dry_run=true`` only reports what would happen."""
    dry_run = dry_run_flag(request)
    items = _items(await read_json_body(request))
    result = await import_batch(registry_of(request), WORKFLOW, items, dry_run=dry_run, principal=principal_of(request))
    return json_response(result)


@describe("Import channels as drafts, all or nothing", tag="Channels", query=ImportQuery,
          body={"type": "array", "items": ChannelInput, "maxItems": MAX_BATCH},
          responses={200: ImportResult}, errors=(400, 413, 415))
async def import_channels(request: web.Request) -> web.Response:
    """Import channels as drafts, all or nothing; ``?dry_run=true`` only reports what would happen."""
    dry_run = dry_run_flag(request)
    items = _items(await read_json_body(request))
    result = await import_batch(registry_of(request), CHANNEL, items, dry_run=dry_run, principal=principal_of(request))
    return json_response(result)


async def _all_latest(storage: StorageBackend, kind: str, filters: dict[str, Any], tag: str | None = None) -> list[dict[str, Any]]:
    """The latest version of every matching entity, priority descending then name ascending."""
    rows: list[dict[str, Any]] = []
    while True:
        page, total = await storage.list_latest(kind, filters=filters, tag=tag, sort_by="priority", descending=True,
                                                limit=EXPORT_PAGE, offset=len(rows))
        rows += page
        if not page or len(rows) >= total:
            return rows


@describe("Export the latest version of every workflow, ready for re-import", tag="Workflows", query=WorkflowFilters,
          responses={200: WorkflowExport})
async def export_workflows(request: web.Request) -> web.Response:
    """Export the latest version of every workflow (``status``, ``tag`` filters), ready for re-import."""
    filters = {"status": request.query["status"]} if request.query.get("status") else {}
    rows = await _all_latest(request.app[KERNEL].storage, WORKFLOW, filters, request.query.get("tag") or None)
    return json_response({"data": rows})


@describe("Export the latest version of every channel, ready for re-import", tag="Channels", query=ChannelFilters,
          responses={200: ChannelExport})
async def export_channels(request: web.Request) -> web.Response:
    """Export the latest version of every channel (``status``, ``channel_type``, ``protocol`` filters), ready for re-import."""
    filters = {key: request.query[key] for key in CHANNEL_FILTERS if request.query.get(key)}
    rows = await _all_latest(request.app[KERNEL].storage, CHANNEL, filters)
    return json_response({"data": rows})


def add_routes(app: web.Application) -> None:
    """Register before ``/{id}`` routes (a static sub-path wins)."""
    app.router.add_post("/api/v1/admin/workflows/import", import_workflows)
    app.router.add_get("/api/v1/admin/workflows/export", export_workflows)
    app.router.add_post("/api/v1/admin/channels/import", import_channels)
    app.router.add_get("/api/v1/admin/channels/export", export_channels)
