"""The admin API under ``/api/v1/admin`` (api-admin.md): workflow and channel routes."""
from __future__ import annotations

from aiohttp import web

from . import admin_channels, admin_workflows


def add_routes(app: web.Application) -> None:
    """Register every admin route on ``app`` (the app factory calls this before the data routes)."""
    admin_workflows.add_routes(app)
    admin_channels.add_routes(app)
