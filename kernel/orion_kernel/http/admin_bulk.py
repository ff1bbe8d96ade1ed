"""Admin bulk routes: import workflows or channels as drafts (all or nothing), export them for re-import."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from ..bulk_import import MAX_BATCH, import_batch
from ..errors import ApiError, field_error
from ..storage import StorageBackend
from ..validation.common import json_type
from .admin_bodies import dry_run_flag
from .admin_common import parse_error, principal_of, registry_of
from .admin_kinds import ADMIN_KINDS, AdminKind
from .api_schemas import ImportQuery, ImportResult
from .common import json_response, read_json_body
from .keys import KERNEL
from .middleware import Handler
from .openapi import describe

EXPORT_PAGE = 1000


def _items(body: Any) -> list[Any]:
    """The import body: a JSON array of at most :data:`MAX_BATCH` create objects."""
    if not isinstance(body, list):
        raise parse_error([field_error("body", "INVALID", f"invalid type: {json_type(body)}, expected a JSON array of definitions")])
    if len(body) > MAX_BATCH:
        raise ApiError("VALIDATION_ERROR", f"Import batch has {len(body)} items; at most {MAX_BATCH} are accepted, split it",
                       details=[field_error("body", "INVALID", f"at most {MAX_BATCH} items per import", got=len(body))])
    return body


def importer(kind: AdminKind) -> Handler:
    @describe(f"Import {kind.plural} as drafts, all or nothing", tag=kind.tag, query=ImportQuery,
              body={"type": "array", "items": kind.input, "maxItems": MAX_BATCH},
              responses={200: ImportResult}, errors=(400, 413, 415), operation_id=f"admin_bulk_import_{kind.plural}")
    async def handler(request: web.Request) -> web.Response:
        """Import as drafts, all or nothing; ``?dry_run=true`` only reports what would happen."""
        dry_run = dry_run_flag(request)
        items = _items(await read_json_body(request))
        result = await import_batch(registry_of(request), kind.kind, items, dry_run=dry_run, principal=principal_of(request))
        return json_response(result)

    return handler


async def _all_latest(storage: StorageBackend, kind: str, filters: dict[str, Any], tag: str | None) -> list[dict[str, Any]]:
    """The latest version of every matching entity, priority descending then name ascending."""
    rows: list[dict[str, Any]] = []
    while True:
        page, total = await storage.list_latest(kind, filters=filters, tag=tag, sort_by="priority", descending=True,
                                                limit=EXPORT_PAGE, offset=len(rows))
        rows += page
        if not page or len(rows) >= total:
            return rows


def exporter(kind: AdminKind) -> Handler:
    @describe(f"Export the latest version of every {kind.singular}, ready for re-import", tag=kind.tag,
              query=kind.export_query, responses={200: kind.export}, operation_id=f"admin_bulk_export_{kind.plural}")
    async def handler(request: web.Request) -> web.Response:
        """Export the latest version of every entity the query's filters match, ready for re-import."""
        query = request.query
        rows = await _all_latest(request.app[KERNEL].storage, kind.kind, kind.filters_in(query), kind.tag_in(query))
        return json_response({"data": rows})

    return handler


def add_routes(app: web.Application) -> None:
    """Register before ``/{id}`` routes (a static sub-path wins)."""
    for kind in ADMIN_KINDS:
        app.router.add_post(kind.base + "/import", importer(kind))
        app.router.add_get(kind.base + "/export", exporter(kind))
