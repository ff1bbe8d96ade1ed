"""Admin routes of workflows and channels (api-admin.md §3.2, §4.2): CRUD, lifecycle, versions.

One handler factory per operation, parameterised by the :class:`AdminKind`. Operation ids are the
ones the OpenAPI document has always published (generated clients name their methods after them).
"""
from __future__ import annotations

from aiohttp import web

from ..storage import WORKFLOW
from .admin_bodies import NewVersionBody
from .admin_common import load_body, page, path_id, principal_of, registry_of
from .admin_kinds import ADMIN_KINDS, WORKFLOWS, AdminKind
from .api_schemas import EntityPath, PagingQuery, RolloutBody
from .common import json_response, no_content, paging, read_json_body, sorting
from .keys import KERNEL
from .middleware import Handler
from .openapi import describe

ROLLOUT_BODY = RolloutBody()
NEW_VERSION_BODY = NewVersionBody()


def _operation_id(kind: AdminKind, name: str) -> str:
    return f"admin_{kind.plural}_{name}"


def list_latest(kind: AdminKind) -> Handler:
    @describe(f"List {kind.plural} (latest version of each)", tag=kind.tag, query=kind.list_query,
              responses={200: kind.list_envelope}, errors=(400,), operation_id=_operation_id(kind, f"list_{kind.plural}"))
    async def handler(request: web.Request) -> web.Response:
        """Latest version of each entity, filtered, sorted and paged."""
        limit, offset = paging(request)
        sort_by, descending = sorting(request, kind.sort_columns, "priority")
        rows, total = await request.app[KERNEL].storage.list_latest(
            kind.kind, filters=kind.filters_in(request.query), tag=kind.tag_in(request.query),
            sort_by=sort_by, descending=descending, limit=limit, offset=offset,
        )
        return page(rows, total, limit, offset)

    return handler


def create(kind: AdminKind) -> Handler:
    @describe(f"Create a {kind.singular} (draft version 1)", tag=kind.tag, body=kind.input, description=kind.create_description,
              responses={201: kind.envelope}, errors=(400, 409, 413, 415),
              operation_id=_operation_id(kind, f"create_{kind.singular}"))
    async def handler(request: web.Request) -> web.Response:
        body = await read_json_body(request)
        row = await registry_of(request).create(kind.kind, body, principal=principal_of(request))
        return json_response({"data": row}, status=201)

    return handler


def get_latest(kind: AdminKind) -> Handler:
    @describe(f"Get the latest version of a {kind.singular}", tag=kind.tag, path=EntityPath, responses={200: kind.envelope},
              errors=(404,), operation_id=_operation_id(kind, f"get_{kind.singular}"))
    async def handler(request: web.Request) -> web.Response:
        row = await registry_of(request).get(kind.kind, path_id(request, kind.kind))
        return json_response({"data": row})

    return handler


def update_draft(kind: AdminKind) -> Handler:
    @describe(f"Update the draft of a {kind.singular}", tag=kind.tag, path=EntityPath, body=kind.update,
              description="Omitted and null fields keep their stored value; the merged result is validated like a create.",
              responses={200: kind.envelope}, errors=(400, 404, 409, 413, 415),
              operation_id=_operation_id(kind, f"update_{kind.singular}"))
    async def handler(request: web.Request) -> web.Response:
        entity_id = path_id(request, kind.kind)
        body = await read_json_body(request)
        row = await registry_of(request).update_draft(kind.kind, entity_id, body, principal=principal_of(request))
        return json_response({"data": row})

    return handler


def delete(kind: AdminKind) -> Handler:
    @describe(f"Delete every version of a {kind.singular}", tag=kind.tag, path=EntityPath, responses={204: None},
              errors=(404,), operation_id=_operation_id(kind, f"delete_{kind.singular}"))
    async def handler(request: web.Request) -> web.Response:
        await registry_of(request).delete(kind.kind, path_id(request, kind.kind), principal=principal_of(request))
        return no_content()

    return handler


def change_status(kind: AdminKind) -> Handler:
    status_body = kind.status_body()

    @describe(f"Activate or archive a {kind.singular}", tag=kind.tag, path=EntityPath, body=kind.status_body,
              description=kind.status_description, responses={200: kind.envelope}, errors=(400, 404, 415),
              operation_id=_operation_id(kind, "change_status"))
    async def handler(request: web.Request) -> web.Response:
        """Activate or archive; a workflow's body may carry ``rollout_percentage`` (a channel's body refuses it)."""
        entity_id = path_id(request, kind.kind)
        body = load_body(await read_json_body(request), status_body)
        row = await registry_of(request).change_status(kind.kind, entity_id, body["status"], body.get("rollout_percentage"),
                                                       principal=principal_of(request))
        return json_response({"data": row})

    return handler


@describe("Change the rollout split between the two newest active versions", tag=WORKFLOWS.tag, path=EntityPath,
          body=RolloutBody, responses={200: WORKFLOWS.envelope}, errors=(400, 404, 415),
          operation_id=_operation_id(WORKFLOWS, "change_rollout"))
async def change_rollout(request: web.Request) -> web.Response:
    """Workflows only: move traffic between the two newest active versions."""
    workflow_id = path_id(request, WORKFLOW)
    body = load_body(await read_json_body(request), ROLLOUT_BODY)
    row = await registry_of(request).change_rollout(workflow_id, body["rollout_percentage"], principal=principal_of(request))
    return json_response({"data": row})


def list_versions(kind: AdminKind) -> Handler:
    @describe(f"List the versions of a {kind.singular}, newest first", tag=kind.tag, path=EntityPath, query=PagingQuery,
              responses={200: kind.list_envelope}, errors=(400, 404), operation_id=_operation_id(kind, "list_versions"))
    async def handler(request: web.Request) -> web.Response:
        """Every version newest first, paged; 404 when the entity does not exist."""
        entity_id = path_id(request, kind.kind)
        limit, offset = paging(request)
        rows, total = await request.app[KERNEL].storage.list_versions(kind.kind, entity_id, limit=limit, offset=offset)
        if total == 0:
            await registry_of(request).get(kind.kind, entity_id)  # raises the 404
        return page(rows, total, limit, offset)

    return handler


def new_version(kind: AdminKind) -> Handler:
    @describe("Start a new draft copied from the latest version (or from_version)", tag=kind.tag, path=EntityPath,
              body=NewVersionBody, body_required=False, responses={201: kind.envelope}, errors=(400, 404, 409, 415),
              operation_id=_operation_id(kind, "new_version"))
    async def handler(request: web.Request) -> web.Response:
        """Start a new draft copied from the latest version, or from ``from_version`` when the optional body names one."""
        entity_id = path_id(request, kind.kind)
        raw = await read_json_body(request, required=False)
        body = load_body({} if raw is None else raw, NEW_VERSION_BODY)
        row = await registry_of(request).new_version(kind.kind, entity_id, from_version=body.get("from_version"),
                                                     principal=principal_of(request))
        return json_response({"data": row}, status=201)

    return handler


def add_routes(app: web.Application) -> None:
    """Register each kind's routes, workflows first; static sub-paths (``/import``, ...) must be added before ``/{id}``."""
    for kind in ADMIN_KINDS:
        base = kind.base
        app.router.add_get(base, list_latest(kind))
        app.router.add_post(base, create(kind))
        app.router.add_patch(base + "/{id}/status", change_status(kind))
        if kind.kind == WORKFLOW:  # only workflows split traffic between versions
            app.router.add_patch(base + "/{id}/rollout", change_rollout)
        app.router.add_get(base + "/{id}/versions", list_versions(kind))
        app.router.add_post(base + "/{id}/versions", new_version(kind))
        app.router.add_get(base + "/{id}", get_latest(kind))
        app.router.add_put(base + "/{id}", update_draft(kind))
        app.router.add_delete(base + "/{id}", delete(kind))
