"""Admin routes for workflows (api-admin.md §3.2): CRUD, lifecycle, versions."""
from __future__ import annotations

from aiohttp import web

from ..storage import WORKFLOW
from .admin_common import page, parse_rollout_body, parse_status_body, path_id, principal_of, registry_of
from .common import json_response, no_content, paging, read_json_body, sorting
from .keys import KERNEL

BASE = "/api/v1/admin/workflows"
SORT_COLUMNS = ("priority", "name", "status", "created_at", "updated_at")


async def list_workflows(request: web.Request) -> web.Response:
    """Latest version of each workflow, filtered by ``status`` / ``tag``, sorted and paged."""
    limit, offset = paging(request)
    sort_by, descending = sorting(request, SORT_COLUMNS, "priority")
    filters = {"status": request.query["status"]} if request.query.get("status") else {}
    rows, total = await request.app[KERNEL].storage.list_latest(
        WORKFLOW, filters=filters, tag=request.query.get("tag") or None,
        sort_by=sort_by, descending=descending, limit=limit, offset=offset,
    )
    return page(rows, total, limit, offset)


async def create_workflow(request: web.Request) -> web.Response:
    body = await read_json_body(request)
    row = await registry_of(request).create(WORKFLOW, body, principal=principal_of(request))
    return json_response({"data": row}, status=201)


async def get_workflow(request: web.Request) -> web.Response:
    row = await registry_of(request).get(WORKFLOW, path_id(request, WORKFLOW))
    return json_response({"data": row})


async def update_workflow(request: web.Request) -> web.Response:
    workflow_id = path_id(request, WORKFLOW)
    body = await read_json_body(request)
    row = await registry_of(request).update_draft(WORKFLOW, workflow_id, body, principal=principal_of(request))
    return json_response({"data": row})


async def delete_workflow(request: web.Request) -> web.Response:
    await registry_of(request).delete(WORKFLOW, path_id(request, WORKFLOW), principal=principal_of(request))
    return no_content()


async def change_status(request: web.Request) -> web.Response:
    workflow_id = path_id(request, WORKFLOW)
    status, rollout = parse_status_body(await read_json_body(request), with_rollout=True)
    row = await registry_of(request).change_status(WORKFLOW, workflow_id, status, rollout, principal=principal_of(request))
    return json_response({"data": row})


async def change_rollout(request: web.Request) -> web.Response:
    workflow_id = path_id(request, WORKFLOW)
    rollout = parse_rollout_body(await read_json_body(request))
    row = await registry_of(request).change_rollout(workflow_id, rollout, principal=principal_of(request))
    return json_response({"data": row})


async def list_versions(request: web.Request) -> web.Response:
    """Every version newest first, paged; 404 when the workflow does not exist."""
    workflow_id = path_id(request, WORKFLOW)
    limit, offset = paging(request)
    rows, total = await request.app[KERNEL].storage.list_versions(WORKFLOW, workflow_id, limit=limit, offset=offset)
    if total == 0:
        await registry_of(request).get(WORKFLOW, workflow_id)  # raises the 404
    return page(rows, total, limit, offset)


async def new_version(request: web.Request) -> web.Response:
    row = await registry_of(request).new_version(WORKFLOW, path_id(request, WORKFLOW), principal=principal_of(request))
    return json_response({"data": row}, status=201)


def add_routes(app: web.Application) -> None:
    """Register the workflow routes; static sub-paths (``/import``, ...) must be added before ``/{id}``."""
    app.router.add_get(BASE, list_workflows)
    app.router.add_post(BASE, create_workflow)
    app.router.add_patch(BASE + "/{id}/status", change_status)
    app.router.add_patch(BASE + "/{id}/rollout", change_rollout)
    app.router.add_get(BASE + "/{id}/versions", list_versions)
    app.router.add_post(BASE + "/{id}/versions", new_version)
    app.router.add_get(BASE + "/{id}", get_workflow)
    app.router.add_put(BASE + "/{id}", update_workflow)
    app.router.add_delete(BASE + "/{id}", delete_workflow)
