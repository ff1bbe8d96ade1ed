"""Build the aiohttp application of one worker: middleware, then admin, ops, API docs and data routes."""
from __future__ import annotations

from aiohttp import web

from ..kernel import Kernel
from . import admin, api_docs, data, health, platform_rate_limit
from .admin_auth import AdminAuth
from .cors import CorsPolicy
from .keys import KERNEL
from .middleware import middleware_for


def create_app(kernel: Kernel) -> web.Application:
    """The whole HTTP surface of one kernel. Data routes are added last (they catch all paths)."""
    app = web.Application(
        middlewares=[
            middleware_for(AdminAuth.from_config(kernel.config["admin_auth"]), CorsPolicy(kernel.config["cors"]["allowed_origins"])),
            *platform_rate_limit.middlewares(kernel),
        ],
        client_max_size=kernel.config["ingest"]["max_payload_size"],
    )
    app[KERNEL] = kernel
    health.add_routes(app)
    admin.add_routes(app)
    api_docs.add_routes(app)
    data.add_routes(app)
    return app
