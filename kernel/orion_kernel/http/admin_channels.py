"""Admin routes for channels (api-admin.md §4.2): CRUD, lifecycle, versions."""
from __future__ import annotations

from aiohttp import web

from ..storage import CHANNEL
from .admin_common import page, parse_status_body, path_id, principal_of, registry_of
from .common import json_response, no_content, paging, read_json_body, sorting
from .keys import KERNEL

BASE = "/api/v1/admin/channels"
SORT_COLUMNS = ("priority", "name", "status", "channel_type", "protocol", "created_at", "updated_at")
FILTERS = ("status", "channel_type", "protocol")


async def list_channels(request: web.Request) -> web.Response:
    """Latest version of each channel, filtered by ``status``/``channel_type``/``protocol``, sorted and paged."""
    limit, offset = paging(request)
    sort_by, descending = sorting(request, SORT_COLUMNS, "priority")
    filters = {key: request.query[key] for key in FILTERS if request.query.get(key)}
    rows, total = await request.app[KERNEL].storage.list_latest(
        CHANNEL, filters=filters, sort_by=sort_by, descending=descending, limit=limit, offset=offset,
    )
    return page(rows, total, limit, offset)


async def create_channel(request: web.Request) -> web.Response:
    body = await read_json_body(request)
    row = await registry_of(request).create(CHANNEL, body, principal=principal_of(request))
    return json_response({"data": row}, status=201)


async def get_channel(request: web.Request) -> web.Response:
    row = await registry_of(request).get(CHANNEL, path_id(request, CHANNEL))
    return json_response({"data": row})


async def update_channel(request: web.Request) -> web.Response:
    channel_id = path_id(request, CHANNEL)
    body = await read_json_body(request)
    row = await registry_of(request).update_draft(CHANNEL, channel_id, body, principal=principal_of(request))
    return json_response({"data": row})


async def delete_channel(request: web.Request) -> web.Response:
    await registry_of(request).delete(CHANNEL, path_id(request, CHANNEL), principal=principal_of(request))
    return no_content()


async def change_status(request: web.Request) -> web.Response:
    channel_id = path_id(request, CHANNEL)
    status, _ = parse_status_body(await read_json_body(request), with_rollout=False)
    row = await registry_of(request).change_status(CHANNEL, channel_id, status, principal=principal_of(request))
    return json_response({"data": row})


async def list_versions(request: web.Request) -> web.Response:
    """Every version newest first, paged; 404 when the channel does not exist."""
    channel_id = path_id(request, CHANNEL)
    limit, offset = paging(request)
    rows, total = await request.app[KERNEL].storage.list_versions(CHANNEL, channel_id, limit=limit, offset=offset)
    if total == 0:
        await registry_of(request).get(CHANNEL, channel_id)  # raises the 404
    return page(rows, total, limit, offset)


async def new_version(request: web.Request) -> web.Response:
    row = await registry_of(request).new_version(CHANNEL, path_id(request, CHANNEL), principal=principal_of(request))
    return json_response({"data": row}, status=201)


def add_routes(app: web.Application) -> None:
    """Register the channel routes; static sub-paths (``/import``) must be added before ``/{id}``."""
    app.router.add_get(BASE, list_channels)
    app.router.add_post(BASE, create_channel)
    app.router.add_patch(BASE + "/{id}/status", change_status)
    app.router.add_get(BASE + "/{id}/versions", list_versions)
    app.router.add_post(BASE + "/{id}/versions", new_version)
    app.router.add_get(BASE + "/{id}", get_channel)
    app.router.add_put(BASE + "/{id}", update_channel)
    app.router.add_delete(BASE + "/{id}", delete_channel)
