"""The admin API under ``/api/v1/admin`` (api-admin.md): every admin route module, in route order."""
from __future__ import annotations

from aiohttp import web

from . import (
    admin_audit,
    admin_backups,
    admin_bulk,
    admin_catalog,
    admin_dlq,
    admin_dry_run,
    admin_engine,
    admin_entities,
    admin_rollback,
    admin_validate,
)


def add_routes(app: web.Application) -> None:
    """Register every admin route on ``app`` (the app factory calls this before the data routes).

    Static sub-paths (``/workflows/validate``, ``/workflows/export``, ...) come before the
    ``/{id}`` routes they would otherwise be taken for.
    """
    admin_validate.add_routes(app)
    admin_bulk.add_routes(app)
    admin_entities.add_routes(app)
    admin_rollback.add_routes(app)
    admin_dry_run.add_routes(app)
    admin_audit.add_routes(app)
    admin_engine.add_routes(app)
    admin_catalog.add_routes(app)
    admin_backups.add_routes(app)
    admin_dlq.add_routes(app)
