"""Admin rollback routes: put an earlier workflow or channel version back into service in one call."""
from __future__ import annotations

from aiohttp import web

from .admin_bodies import RollbackBody
from .admin_common import load_body, path_id, principal_of, registry_of
from .admin_kinds import ADMIN_KINDS, AdminKind
from .api_schemas import EntityPath
from .common import json_response, read_json_body
from .middleware import Handler
from .openapi import describe

ROLLBACK_BODY = RollbackBody()


def rollback(kind: AdminKind) -> Handler:
    @describe(f"Roll a {kind.singular} back to an earlier version", tag=kind.tag, path=EntityPath, body=RollbackBody,
              description=kind.rollback_description, responses={200: kind.envelope}, errors=(400, 404, 409, 415),
              operation_id=f"admin_rollback_rollback_{kind.singular}")
    async def handler(request: web.Request) -> web.Response:
        """Roll back to an earlier version: a copy of it goes into service, at once."""
        entity_id = path_id(request, kind.kind)
        body = load_body(await read_json_body(request), ROLLBACK_BODY)
        row = await registry_of(request).rollback(kind.kind, entity_id, body["version"],
                                                  discard_draft=bool(body.get("discard_draft")), principal=principal_of(request))
        return json_response({"data": row})

    return handler


def add_routes(app: web.Application) -> None:
    for kind in ADMIN_KINDS:
        app.router.add_post(kind.base + "/{id}/rollback", rollback(kind))
