"""Admin routes for workflows (api-admin.md §3.2): CRUD, lifecycle, versions."""
from __future__ import annotations

from aiohttp import web

from ..storage import WORKFLOW
from .admin_bodies import NewVersionBody
from .admin_common import load_body, page, path_id, principal_of, registry_of
from .api_schemas import (
    WORKFLOW_SORT_COLUMNS,
    EntityPath,
    PagingQuery,
    RolloutBody,
    WorkflowEnvelope,
    WorkflowInput,
    WorkflowList,
    WorkflowListQuery,
    WorkflowStatusBody,
    WorkflowUpdate,
)
from .common import json_response, no_content, paging, read_json_body, sorting
from .keys import KERNEL
from .openapi import describe

BASE = "/api/v1/admin/workflows"
TAG = "Workflows"
STATUS_BODY = WorkflowStatusBody()
ROLLOUT_BODY = RolloutBody()
NEW_VERSION_BODY = NewVersionBody()


@describe("List workflows (latest version of each)", tag=TAG, query=WorkflowListQuery,
          responses={200: WorkflowList}, errors=(400,))
async def list_workflows(request: web.Request) -> web.Response:
    """Latest version of each workflow, filtered by ``status`` / ``tag``, sorted and paged."""
    limit, offset = paging(request)
    sort_by, descending = sorting(request, WORKFLOW_SORT_COLUMNS, "priority")
    filters = {"status": request.query["status"]} if request.query.get("status") else {}
    rows, total = await request.app[KERNEL].storage.list_latest(
        WORKFLOW, filters=filters, tag=request.query.get("tag") or None,
        sort_by=sort_by, descending=descending, limit=limit, offset=offset,
    )
    return page(rows, total, limit, offset)


@describe("Create a workflow (draft version 1)", tag=TAG, body=WorkflowInput,
          description="Validated strictly: task functions must be registered and their inputs must match their schemas.",
          responses={201: WorkflowEnvelope}, errors=(400, 409, 413, 415))
async def create_workflow(request: web.Request) -> web.Response:
    body = await read_json_body(request)
    row = await registry_of(request).create(WORKFLOW, body, principal=principal_of(request))
    return json_response({"data": row}, status=201)


@describe("Get the latest version of a workflow", tag=TAG, path=EntityPath, responses={200: WorkflowEnvelope}, errors=(404,))
async def get_workflow(request: web.Request) -> web.Response:
    row = await registry_of(request).get(WORKFLOW, path_id(request, WORKFLOW))
    return json_response({"data": row})


@describe("Update the draft of a workflow", tag=TAG, path=EntityPath, body=WorkflowUpdate,
          description="Omitted and null fields keep their stored value; the merged result is validated like a create.",
          responses={200: WorkflowEnvelope}, errors=(400, 404, 409, 413, 415))
async def update_workflow(request: web.Request) -> web.Response:
    workflow_id = path_id(request, WORKFLOW)
    body = await read_json_body(request)
    row = await registry_of(request).update_draft(WORKFLOW, workflow_id, body, principal=principal_of(request))
    return json_response({"data": row})


@describe("Delete every version of a workflow", tag=TAG, path=EntityPath, responses={204: None}, errors=(404,))
async def delete_workflow(request: web.Request) -> web.Response:
    await registry_of(request).delete(WORKFLOW, path_id(request, WORKFLOW), principal=principal_of(request))
    return no_content()


@describe("Activate or archive a workflow", tag=TAG, path=EntityPath, body=WorkflowStatusBody,
          description="Activating with rollout_percentage below 100 keeps the previous active version for the rest.",
          responses={200: WorkflowEnvelope}, errors=(400, 404, 415))
async def change_status(request: web.Request) -> web.Response:
    workflow_id = path_id(request, WORKFLOW)
    body = load_body(await read_json_body(request), STATUS_BODY)
    row = await registry_of(request).change_status(WORKFLOW, workflow_id, body["status"], body.get("rollout_percentage"),
                                                   principal=principal_of(request))
    return json_response({"data": row})


@describe("Change the rollout split between the two newest active versions", tag=TAG, path=EntityPath,
          body=RolloutBody, responses={200: WorkflowEnvelope}, errors=(400, 404, 415))
async def change_rollout(request: web.Request) -> web.Response:
    workflow_id = path_id(request, WORKFLOW)
    body = load_body(await read_json_body(request), ROLLOUT_BODY)
    row = await registry_of(request).change_rollout(workflow_id, body["rollout_percentage"], principal=principal_of(request))
    return json_response({"data": row})


@describe("List the versions of a workflow, newest first", tag=TAG, path=EntityPath, query=PagingQuery,
          responses={200: WorkflowList}, errors=(400, 404))
async def list_versions(request: web.Request) -> web.Response:
    """Every version newest first, paged; 404 when the workflow does not exist."""
    workflow_id = path_id(request, WORKFLOW)
    limit, offset = paging(request)
    rows, total = await request.app[KERNEL].storage.list_versions(WORKFLOW, workflow_id, limit=limit, offset=offset)
    if total == 0:
        await registry_of(request).get(WORKFLOW, workflow_id)  # raises the 404
    return page(rows, total, limit, offset)


@describe("Start a new draft copied from the latest version (or from_version)", tag=TAG, path=EntityPath,
          body=NewVersionBody, body_required=False, responses={201: WorkflowEnvelope}, errors=(400, 404, 409, 415))
async def new_version(request: web.Request) -> web.Response:
    """Start a new draft copied from the latest version, or from ``from_version`` when the optional body names one."""
    workflow_id = path_id(request, WORKFLOW)
    raw = await read_json_body(request, required=False)
    body = load_body({} if raw is None else raw, NEW_VERSION_BODY)
    row = await registry_of(request).new_version(WORKFLOW, workflow_id, from_version=body.get("from_version"),
                                                 principal=principal_of(request))
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
