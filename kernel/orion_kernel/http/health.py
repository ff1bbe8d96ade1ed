"""Operational endpoints: ``/health`` (components), ``/healthz`` (liveness), ``/readyz`` (readiness).

config-and-ops.md §6.1–6.3. None of them is behind admin authentication.
"""
from __future__ import annotations

import asyncio
import os
import time

from aiohttp import web

from .. import __version__
from ..kernel import Kernel
from .api_schemas import Health, Liveness, Readiness
from .common import json_response
from .keys import KERNEL
from .openapi import describe

OK = "ok"
ERROR = "error"
# Build identification, stamped into the environment by a release build (e.g. a container image).
GIT_HASH = os.environ.get("ORION_GIT_HASH") or "unknown"
BUILD_TIMESTAMP = os.environ.get("ORION_BUILD_TIMESTAMP") or "unknown"


async def database_status(kernel: Kernel) -> str:
    """``ok`` when the storage answers a trivial query within the health timeout."""
    timeout = kernel.config["engine"]["health_check_timeout_secs"]
    try:
        return OK if await asyncio.wait_for(kernel.storage.ping(), timeout) else ERROR
    except Exception:  # a timeout or any driver failure means the same thing to a probe
        return ERROR


def engine_status(kernel: Kernel) -> str:
    """``ok`` when a snapshot has been built.

    The engine is one reference swapped on reload, so reading it never waits and always fits
    within ``engine.health_check_timeout_secs``; before the first load there is nothing to read.
    """
    return OK if kernel.runtime.snapshot.revision >= 0 else ERROR


@describe("Component health", tag="Operational", responses={200: Health, 503: Health})
async def health(request: web.Request) -> web.Response:
    """GET /health: 200 ``ok`` when database and engine are ok, else 503 ``degraded``."""
    kernel = request.app[KERNEL]
    components = {"database": await database_status(kernel), "engine": engine_status(kernel)}
    healthy = all(value == OK for value in components.values())
    body = {
        "status": "ok" if healthy else "degraded",
        "version": __version__,
        "git_hash": GIT_HASH,
        "build_timestamp": BUILD_TIMESTAMP,
        "uptime_seconds": int(time.time() - kernel.runtime.started_at),
        "workflows_loaded": kernel.runtime.snapshot.workflows_count,
        "components": components,
        "connectors": {"circuit_breakers": {}},
    }
    return json_response(body, 200 if healthy else 503)


@describe("Liveness", tag="Operational", responses={200: Liveness})
async def healthz(request: web.Request) -> web.Response:
    """GET /healthz: 200 while the process can answer."""
    return json_response({"status": "ok"})


@describe("Readiness", tag="Operational", responses={200: Readiness, 503: Readiness})
async def readyz(request: web.Request) -> web.Response:
    """GET /readyz: 200 ``ready`` only when started, not shutting down, database and engine ok."""
    kernel = request.app[KERNEL]
    components = {
        "database": await database_status(kernel),
        "engine": engine_status(kernel),
        "initialized": kernel.ready,  # False before start-up finishes and from the first shutdown signal on
    }
    ready = components["database"] == OK and components["engine"] == OK and kernel.ready
    return json_response({"status": "ready" if ready else "not_ready", "components": components}, 200 if ready else 503)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/health", health)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
