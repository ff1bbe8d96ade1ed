"""Admin audit-log route (api-admin.md §9): every admin change, newest first, filtered and paged."""
from __future__ import annotations

from aiohttp import web

from .api_schemas import AuditLogList, AuditQuery
from .common import json_response, paging
from .keys import KERNEL
from .openapi import describe

FILTERS = ("action", "resource_type", "resource_id", "principal")


@describe("List audit-log entries, newest first", tag="Operational", query=AuditQuery,
          responses={200: AuditLogList}, errors=(400,))
async def list_audit_logs(request: web.Request) -> web.Response:
    """List audit-log entries newest first, filtered by ``action``, ``resource_type``, ``resource_id``, ``principal``."""
    limit, offset = paging(request)
    filters = {key: request.query[key] for key in FILTERS if request.query.get(key)}
    rows, total = await request.app[KERNEL].storage.list_audit(filters=filters, limit=limit, offset=offset)
    return json_response({"data": rows, "pagination": {"offset": offset, "limit": limit, "total": total}})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/admin/audit-logs", list_audit_logs)
