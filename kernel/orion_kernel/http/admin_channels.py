"""Admin routes for channels (api-admin.md §4.2): CRUD, lifecycle, versions."""
from __future__ import annotations

from aiohttp import web

from ..storage import CHANNEL
from .admin_bodies import NewVersionBody
from .admin_common import load_body, page, path_id, principal_of, registry_of
from .api_schemas import (
    CHANNEL_SORT_COLUMNS,
    ChannelEnvelope,
    ChannelInput,
    ChannelList,
    ChannelListQuery,
    ChannelStatusBody,
    ChannelUpdate,
    EntityPath,
    PagingQuery,
)
from .common import json_response, no_content, paging, read_json_body, sorting
from .keys import KERNEL
from .openapi import describe

BASE = "/api/v1/admin/channels"
TAG = "Channels"
STATUS_BODY = ChannelStatusBody()
NEW_VERSION_BODY = NewVersionBody()
FILTERS = ("status", "channel_type", "protocol")


@describe("List channels (latest version of each)", tag=TAG, query=ChannelListQuery,
          responses={200: ChannelList}, errors=(400,))
async def list_channels(request: web.Request) -> web.Response:
    """Latest version of each channel, filtered by ``status``/``channel_type``/``protocol``, sorted and paged."""
    limit, offset = paging(request)
    sort_by, descending = sorting(request, CHANNEL_SORT_COLUMNS, "priority")
    filters = {key: request.query[key] for key in FILTERS if request.query.get(key)}
    rows, total = await request.app[KERNEL].storage.list_latest(
        CHANNEL, filters=filters, sort_by=sort_by, descending=descending, limit=limit, offset=offset,
    )
    return page(rows, total, limit, offset)


@describe("Create a channel (draft version 1)", tag=TAG, body=ChannelInput,
          description="With only a name it becomes a sync HTTP channel on POST /api/v1/data/<name>.",
          responses={201: ChannelEnvelope}, errors=(400, 409, 413, 415))
async def create_channel(request: web.Request) -> web.Response:
    body = await read_json_body(request)
    row = await registry_of(request).create(CHANNEL, body, principal=principal_of(request))
    return json_response({"data": row}, status=201)


@describe("Get the latest version of a channel", tag=TAG, path=EntityPath, responses={200: ChannelEnvelope}, errors=(404,))
async def get_channel(request: web.Request) -> web.Response:
    row = await registry_of(request).get(CHANNEL, path_id(request, CHANNEL))
    return json_response({"data": row})


@describe("Update the draft of a channel", tag=TAG, path=EntityPath, body=ChannelUpdate,
          description="Omitted and null fields keep their stored value; the merged result is validated like a create.",
          responses={200: ChannelEnvelope}, errors=(400, 404, 409, 413, 415))
async def update_channel(request: web.Request) -> web.Response:
    channel_id = path_id(request, CHANNEL)
    body = await read_json_body(request)
    row = await registry_of(request).update_draft(CHANNEL, channel_id, body, principal=principal_of(request))
    return json_response({"data": row})


@describe("Delete every version of a channel", tag=TAG, path=EntityPath, responses={204: None}, errors=(404,))
async def delete_channel(request: web.Request) -> web.Response:
    await registry_of(request).delete(CHANNEL, path_id(request, CHANNEL), principal=principal_of(request))
    return no_content()


@describe("Activate or archive a channel", tag=TAG, path=EntityPath, body=ChannelStatusBody,
          responses={200: ChannelEnvelope}, errors=(400, 404, 415))
async def change_status(request: web.Request) -> web.Response:
    channel_id = path_id(request, CHANNEL)
    body = load_body(await read_json_body(request), STATUS_BODY)
    row = await registry_of(request).change_status(CHANNEL, channel_id, body["status"], principal=principal_of(request))
    return json_response({"data": row})


@describe("List the versions of a channel, newest first", tag=TAG, path=EntityPath, query=PagingQuery,
          responses={200: ChannelList}, errors=(400, 404))
async def list_versions(request: web.Request) -> web.Response:
    """Every version newest first, paged; 404 when the channel does not exist."""
    channel_id = path_id(request, CHANNEL)
    limit, offset = paging(request)
    rows, total = await request.app[KERNEL].storage.list_versions(CHANNEL, channel_id, limit=limit, offset=offset)
    if total == 0:
        await registry_of(request).get(CHANNEL, channel_id)  # raises the 404
    return page(rows, total, limit, offset)


@describe("Start a new draft copied from the latest version (or from_version)", tag=TAG, path=EntityPath,
          body=NewVersionBody, body_required=False, responses={201: ChannelEnvelope}, errors=(400, 404, 409, 415))
async def new_version(request: web.Request) -> web.Response:
    """Start a new draft copied from the latest version, or from ``from_version`` when the optional body names one."""
    channel_id = path_id(request, CHANNEL)
    raw = await read_json_body(request, required=False)
    body = load_body({} if raw is None else raw, NEW_VERSION_BODY)
    row = await registry_of(request).new_version(CHANNEL, channel_id, from_version=body.get("from_version"),
                                                 principal=principal_of(request))
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
