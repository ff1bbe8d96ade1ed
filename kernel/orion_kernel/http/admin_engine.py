"""Admin engine routes (api-admin.md §7): what the running engine has loaded, and a manual reload."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from .. import __version__
from ..audit import record_audit
from ..engine.snapshot import CompiledChannel, Snapshot
from ..errors import ApiError
from ..kernel import Kernel
from .admin_common import principal_of
from .api_schemas import EngineReload, EngineStatus
from .common import json_response
from .keys import KERNEL
from .openapi import describe

SERVING = "serving"
NO_WORKFLOWS = "no_workflows"


def loaded_workflows(snapshot: Snapshot) -> int:
    """Workflow instances loaded per channel (a workflow on two channels counts twice, api-admin.md §7)."""
    return sum(len(channel.workflows) for channel in snapshot.channels.values())


def _channel_state(channel: CompiledChannel) -> dict[str, Any]:
    key = channel.rollout_key
    return {
        "name": channel.name,
        "channel_id": channel.channel_id,
        "version": channel.version,
        "channel_type": channel.channel_type,
        "protocol": channel.protocol,
        "state": SERVING if channel.workflows else NO_WORKFLOWS,
        "workflows": [
            {"workflow_id": wf.workflow_id, "version": wf.version, "priority": wf.priority,
             "rollout_buckets": list(wf.bucket) if wf.bucket is not None else None}
            for wf in channel.workflows
        ],
        "rollout_key": {key.source: key.name} if key is not None else None,
    }


async def queue_status(kernel: Kernel) -> dict[str, Any]:
    """This process's async queue and the dead-letter queue's size."""
    _, size = await kernel.storage.list_dlq(channel=None, exhausted=None, limit=1, offset=0)
    _, exhausted = await kernel.storage.list_dlq(channel=None, exhausted=True, limit=1, offset=0)
    return {**kernel.queue.status(), "dlq": {"size": size, "exhausted": exhausted}}


@describe("Engine status: what is loaded, the state of every active channel, the async queue", tag="Engine",
          responses={200: EngineStatus})
async def engine_status(request: web.Request) -> web.Response:
    """Engine status: version, uptime, what is loaded, and the state of every active channel."""
    runtime = request.app[KERNEL].runtime
    snapshot = runtime.snapshot
    loaded = loaded_workflows(snapshot)
    return json_response({
        "version": __version__,
        "uptime_seconds": int(time.time() - runtime.started_at),
        "workflows_count": loaded,
        "active_workflows": loaded,
        "channels": [name for name, channel in snapshot.channels.items() if channel.workflows],
        "revision": snapshot.revision,
        "reloads": runtime.reloads,
        "loaded_at": datetime.fromtimestamp(snapshot.built_at, timezone.utc).isoformat(timespec="milliseconds"),
        "channel_states": [_channel_state(channel) for channel in snapshot.channels.values()],
        "queue": await queue_status(request.app[KERNEL]),
    })


@describe("Reload the engine from storage, on every worker and instance", tag="Engine",
          responses={200: EngineReload}, errors=(500,))
async def reload_engine(request: web.Request) -> web.Response:
    """Rebuild the engine from storage, on every worker and every instance sharing the database."""
    kernel = request.app[KERNEL]
    async with kernel.storage.transaction() as tx:
        await tx.bump_revision()  # the other workers and instances reload when they see it
    try:
        snapshot = await asyncio.wait_for(kernel.runtime.reload(), kernel.config["engine"]["reload_timeout_secs"])
    except TimeoutError:
        raise ApiError("INTERNAL_ERROR", "Engine reload timed out waiting for write lock") from None
    loaded = loaded_workflows(snapshot)
    await record_audit(kernel.storage, "reload", "engine", "manual", principal_of(request),
                       {"revision": snapshot.revision, "workflows_count": loaded})
    return json_response({"reloaded": True, "workflows_count": loaded})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/admin/engine/status", engine_status)
    app.router.add_post("/api/v1/admin/engine/reload", reload_engine)
