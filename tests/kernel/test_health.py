"""/health, /healthz and /readyz (config-and-ops.md §6.1–6.3) on an in-process kernel."""
from __future__ import annotations

import asyncio
import time

from orion_kernel import __version__
from orion_kernel.http.app import create_app
from orion_kernel.http.keys import KERNEL
from orion_kernel.kernel import Kernel
from orion_kernel.plugins import load_plugins
from orion_kernel.testing import STANDARD_FUNCTION_PLUGINS, in_memory_config

WORKFLOW = {
    "workflow_id": "wf-health",
    "name": "health",
    "channel": "health-channel",
    "tasks": [{"id": "parse", "name": "parse", "function": {"name": "parse_json", "input": {"source": "payload", "target": "in"}}}],
}


async def test_healthz_is_ok(orion_client):
    client = await orion_client()
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok"}


async def test_health_reports_components_and_loaded_workflows(orion_client):
    client = await orion_client(workflows=[WORKFLOW])
    resp = await client.get("/health")
    assert resp.status == 200
    body = await resp.json()
    uptime = body.pop("uptime_seconds")
    assert isinstance(uptime, int) and 0 <= uptime < 60
    assert body == {
        "status": "ok",
        "version": __version__,
        "git_hash": "unknown",
        "build_timestamp": "unknown",
        "workflows_loaded": 1,
        "components": {"database": "ok", "engine": "ok"},
        "connectors": {"circuit_breakers": {}},
    }


async def test_health_is_degraded_when_the_database_does_not_answer_in_time(orion_client):
    client = await orion_client(config={"engine": {"health_check_timeout_secs": 1}})
    kernel = client.app[KERNEL]
    release = asyncio.Event()
    holding = asyncio.Event()

    async def hold_the_database() -> None:  # in-memory SQLite: reads wait for the open write transaction
        async with kernel.storage.transaction():
            holding.set()
            await release.wait()

    holder = asyncio.create_task(hold_the_database())
    await holding.wait()
    started = time.monotonic()
    try:
        resp = await client.get("/health")
        elapsed = time.monotonic() - started
    finally:
        release.set()
        await holder
    assert resp.status == 503
    body = await resp.json()
    assert body["status"] == "degraded"
    assert body["components"] == {"database": "error", "engine": "ok"}
    assert 0.9 <= elapsed < 5


async def test_readyz_is_ready_after_start(orion_client):
    client = await orion_client()
    resp = await client.get("/readyz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ready", "components": {"database": "ok", "engine": "ok", "initialized": True}}


async def test_readyz_is_not_ready_once_shutdown_begins(orion_client):
    client = await orion_client()
    client.app[KERNEL].begin_shutdown()
    resp = await client.get("/readyz")
    assert resp.status == 503
    assert await resp.json() == {
        "status": "not_ready",
        "components": {"database": "ok", "engine": "ok", "initialized": False},
    }
    assert (await client.get("/healthz")).status == 200  # still alive while draining


async def test_readyz_and_health_fail_when_the_database_is_gone(orion_client):
    client = await orion_client()
    await client.app[KERNEL].storage.close()
    ready = await client.get("/readyz")
    assert ready.status == 503
    assert (await ready.json())["components"] == {"database": "error", "engine": "ok", "initialized": True}
    health = await client.get("/health")
    assert health.status == 503
    assert (await health.json())["status"] == "degraded"


async def test_nothing_is_ready_before_the_kernel_starts(aiohttp_client):
    cfg = in_memory_config()
    kernel = Kernel(cfg, load_plugins(only=STANDARD_FUNCTION_PLUGINS))
    client = await aiohttp_client(create_app(kernel))
    ready = await client.get("/readyz")
    assert ready.status == 503
    assert await ready.json() == {
        "status": "not_ready",
        "components": {"database": "error", "engine": "error", "initialized": False},
    }
    health = await client.get("/health")
    assert health.status == 503
    body = await health.json()
    assert (body["status"], body["components"], body["workflows_loaded"]) == (
        "degraded", {"database": "error", "engine": "error"}, 0,
    )
