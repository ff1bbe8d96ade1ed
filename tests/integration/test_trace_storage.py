"""Per-channel trace storage for synchronous runs (channels.md §4.8, config-and-ops.md §3.10):
``config.tracing`` overrides ``[tracing.storage]`` mode, sample_rate and errors_only."""
from __future__ import annotations

import sys
from typing import Any

from orion_kernel import TaskContext, TaskError, TaskFunction, hookimpl
from orion_kernel.http.keys import KERNEL


async def explode(ctx: TaskContext, params: dict[str, Any]) -> None:
    raise TaskError("boom")


@hookimpl
def orion_task_functions():
    yield TaskFunction(name="explode", run=explode)


PARSE = {"id": "p", "name": "p", "function": {"name": "parse_json", "input": {"source": "payload", "target": "in"}}}
TOLERATED = {"id": "x", "name": "x", "continue_on_error": True, "function": {"name": "explode", "input": {}}}


def channel(name: str, **tracing: Any) -> dict:
    return {"name": name, "config": {"tracing": tracing}} if tracing else {"name": name}


def workflow(name: str, *tasks: dict) -> dict:
    return {"workflow_id": f"wf-{name}", "name": name, "channel": name, "tasks": list(tasks)}


async def stored(client, name: str) -> list[dict]:
    resp = await client.get("/api/v1/data/traces", params={"channel": name, "mode": "sync"})
    return (await resp.json())["data"]


async def call(client, name: str, times: int = 1) -> None:
    for _ in range(times):
        resp = await client.post(f"/api/v1/data/{name}", json={"data": {"k": 1}})
        assert resp.status == 200, await resp.text()


async def start(orion_client, channels: list[dict], workflows: list[dict], **storage: Any):
    return await orion_client(plugins=[sys.modules[__name__]], workflows=workflows, channels=channels,
                              config={"tracing": {"storage": {"batch_flush_interval_ms": 60_000, **storage}}})


async def test_a_channel_overrides_the_mode(orion_client):
    names = ("default", "written", "quiet")
    client = await start(orion_client, [channel("default"), channel("written", mode="sync"), channel("quiet", mode="off")],
                         [workflow(name, PARSE) for name in names])
    for name in names:
        await call(client, name)
    assert len(await stored(client, "written")) == 1  # sync: stored before the answer
    assert await stored(client, "default") == []  # batch: still queued (the flush interval is a minute)
    await client.app[KERNEL].traces.flush()
    assert len(await stored(client, "default")) == 1
    assert await stored(client, "quiet") == []


async def test_errors_only_keeps_runs_with_errors(orion_client):
    client = await start(orion_client, [channel("clean", errors_only=True), channel("messy", errors_only=True),
                                        channel("everything")],
                         [workflow("clean", PARSE), workflow("messy", PARSE, TOLERATED), workflow("everything", PARSE)],
                         mode="sync")
    for name in ("clean", "messy", "everything"):
        await call(client, name)
    assert await stored(client, "clean") == []
    [row] = await stored(client, "messy")
    assert "Task x error" in row["result_json"]
    assert len(await stored(client, "everything")) == 1


async def test_the_global_errors_only_is_overridden_per_channel(orion_client):
    client = await start(orion_client, [channel("inherits"), channel("keeps", errors_only=False)],
                         [workflow("inherits", PARSE), workflow("keeps", PARSE)], mode="sync", errors_only=True)
    await call(client, "inherits")
    await call(client, "keeps")
    assert await stored(client, "inherits") == []
    assert len(await stored(client, "keeps")) == 1


async def test_sample_rate_keeps_that_fraction(orion_client):
    client = await start(orion_client, [channel("none", sample_rate=0), channel("some", sample_rate=0.5)],
                         [workflow("none", PARSE), workflow("some", PARSE)], mode="sync")
    await call(client, "none", 20)
    await call(client, "some", 200)
    assert await stored(client, "none") == []
    resp = await client.get("/api/v1/data/traces", params={"channel": "some", "limit": 1})
    assert 60 < (await resp.json())["total"] < 140
