"""Admin rollback routes: put an earlier workflow or channel version back into service in one call."""
from __future__ import annotations

from aiohttp import web

from ..storage import CHANNEL, WORKFLOW
from .admin_bodies import RollbackBody
from .admin_common import load_body, path_id, principal_of, registry_of
from .api_schemas import ChannelEnvelope, EntityPath, WorkflowEnvelope
from .common import json_response, read_json_body
from .openapi import describe

ROLLBACK_BODY = RollbackBody()


@describe("Roll a workflow back to an earlier version", tag="Workflows", path=EntityPath, body=RollbackBody,
          description="A copy of that version becomes the only active version, at once.",
          responses={200: WorkflowEnvelope}, errors=(400, 404, 409, 415))
async def rollback_workflow(request: web.Request) -> web.Response:
    """Roll a workflow back to an earlier version: a copy of it becomes the only active version, at once."""
    workflow_id = path_id(request, WORKFLOW)
    body = load_body(await read_json_body(request), ROLLBACK_BODY)
    row = await registry_of(request).rollback(WORKFLOW, workflow_id, body["version"], discard_draft=bool(body.get("discard_draft")),
                                              principal=principal_of(request))
    return json_response({"data": row})


@describe("Roll a channel back to an earlier version", tag="Channels", path=EntityPath, body=RollbackBody,
          description="A copy of that version becomes the active version, at once.",
          responses={200: ChannelEnvelope}, errors=(400, 404, 409, 415))
async def rollback_channel(request: web.Request) -> web.Response:
    """Roll a channel back to an earlier version: a copy of it becomes the active version, at once."""
    channel_id = path_id(request, CHANNEL)
    body = load_body(await read_json_body(request), ROLLBACK_BODY)
    row = await registry_of(request).rollback(CHANNEL, channel_id, body["version"], discard_draft=bool(body.get("discard_draft")),
                                              principal=principal_of(request))
    return json_response({"data": row})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/v1/admin/workflows/{id}/rollback", rollback_workflow)
    app.router.add_post("/api/v1/admin/channels/{id}/rollback", rollback_channel)
