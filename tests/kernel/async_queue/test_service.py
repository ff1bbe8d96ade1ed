"""The async queue of one kernel on a SQLite file: runs, failures and the dead-letter queue,
retries with the attempt count, takeover of jobs left by a stopped process, drain, retention."""
from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest
from marshmallow import Schema, fields

from orion_kernel import TaskContext, TaskError, TaskFunction, hookimpl
from orion_kernel.async_queue.jobs import Job, stamp
from orion_kernel.async_queue.leases import INTERRUPTED
from orion_kernel.async_queue.store import JobStore
from orion_kernel.http.keys import KERNEL

FINAL = ("completed", "failed")


class NapInput(Schema):
    seconds = fields.Float(required=True)


async def nap(ctx: TaskContext, params: dict[str, Any]) -> None:
    await asyncio.sleep(params["seconds"])


async def explode(ctx: TaskContext, params: dict[str, Any]) -> None:
    raise TaskError("boom")


async def grow(ctx: TaskContext, params: dict[str, Any]) -> None:
    ctx.write("data.big", "x" * 5000)


@hookimpl
def orion_task_functions():
    yield TaskFunction(name="nap", run=nap, input_schema=NapInput)
    yield TaskFunction(name="explode", run=explode)
    yield TaskFunction(name="grow", run=grow)


def task(function: str, **inputs: Any) -> dict:
    return {"id": function, "name": function, "function": {"name": function, "input": inputs}}


def workflow(channel: str, *tasks: dict) -> dict:
    return {"workflow_id": f"wf-{channel}", "name": channel, "channel": channel, "tasks": list(tasks)}


WORKFLOWS = [
    workflow("ok", task("parse_json", source="payload", target="in")),
    workflow("fails", task("explode")),
    workflow("slow", task("nap", seconds=5)),
    workflow("big", task("grow")),
]


@pytest.fixture
def queue_config(tmp_path) -> dict:
    return {"storage": {"url": f"sqlite:{tmp_path / 'orion.db'}"},
            "queue": {"dlq_retry_enabled": False, "dlq_max_retries": 2, "workers": 2}}


@pytest.fixture
async def client(orion_client, queue_config):
    return await orion_client(plugins=[sys.modules[__name__]], workflows=WORKFLOWS, config=queue_config)


async def submit(client, channel: str, data: Any = None) -> dict:
    resp = await client.post(f"/api/v1/data/{channel}/async", json={"data": data or {}})
    assert resp.status == 202, await resp.text()
    return await resp.json()


async def final_trace(storage, trace_id: str, timeout: float = 10.0) -> dict:
    for _ in range(int(timeout / 0.02)):
        row = await storage.get_trace(trace_id)
        if row is not None and row["status"] in FINAL:
            return row
        await asyncio.sleep(0.02)
    raise AssertionError(f"trace {trace_id} did not finish: {row}")


async def dlq_entries(storage, channel: str) -> list[dict]:
    rows, _ = await storage.list_dlq(channel=channel, exhausted=None, limit=100, offset=0)
    return rows


async def test_a_failure_is_dead_lettered_and_retried_with_its_attempt_count_until_exhausted(client):
    kernel = client.app[KERNEL]
    storage, queue = kernel.storage, kernel.queue
    first = await submit(client, "fails", {"n": 1})
    row = await final_trace(storage, first["trace_id"])
    assert row["error_message"] == "Function execution error: boom"
    [entry] = await dlq_entries(storage, "fails")
    assert (entry["trace_id"], entry["retry_count"], entry["max_retries"]) == (first["trace_id"], 0, 2)
    assert await queue.retry_due() == 0  # due one second after the failure, not before
    traces = [first["trace_id"]]
    for retry_count in (1, 2):
        await storage.update_dlq(entry["id"], {"next_retry_at": stamp(-1)})
        assert await queue.retry_due() == 1
        for _ in range(200):
            [entry] = await dlq_entries(storage, "fails") or [None]
            if entry is not None and entry["retry_count"] == retry_count:
                break
            await asyncio.sleep(0.02)
        assert entry["retry_count"] == retry_count and entry["trace_id"] not in traces
        traces.append(entry["trace_id"])
        assert (await final_trace(storage, entry["trace_id"]))["status"] == "failed"
    await storage.update_dlq(entry["id"], {"next_retry_at": stamp(-1)})
    assert await queue.retry_due() == 0  # exhausted: left for an operator
    assert queue.counters.dlq_retries == 2 and queue.counters.dlq_exhausted == 1 and queue.counters.failed == 3


async def test_an_oversized_result_fails_without_a_retry(client, queue_config):
    kernel = client.app[KERNEL]
    kernel.queue.pool.runner.max_result_size = 1000
    accepted = await submit(client, "big")
    row = await final_trace(kernel.storage, accepted["trace_id"])
    assert row["status"] == "failed" and row["error_message"].startswith("Result size ")
    assert row["error_message"].endswith(" bytes exceeds limit of 1000 bytes")
    assert await dlq_entries(kernel.storage, "big") == []


async def test_a_run_over_the_processing_timeout_fails_and_is_dead_lettered(client):
    kernel = client.app[KERNEL]
    kernel.queue.pool.runner.timeout_ms = 100
    accepted = await submit(client, "slow")
    row = await final_trace(kernel.storage, accepted["trace_id"])
    assert row["error_message"] == "Timeout error: Processing timed out after 100ms"
    assert len(await dlq_entries(kernel.storage, "slow")) == 1


async def test_errors_only_keeps_no_trace_of_a_success_and_a_failed_one_of_a_failure(orion_client, queue_config):
    client = await orion_client(plugins=[sys.modules[__name__]], config=queue_config,
                                workflows=[workflow("quiet", task("parse_json", source="payload", target="in")),
                                           workflow("loud", task("explode"))],
                                channels=[{"name": name, "config": {"tracing": {"errors_only": True}}} for name in ("quiet", "loud")])
    kernel = client.app[KERNEL]
    for channel in ("quiet", "loud"):
        resp = await client.post(f"/api/v1/data/{channel}/async", json={"data": {}})
        assert resp.status == 202 and await resp.json() == {"trace_id": None}
        assert "only if the run fails" in resp.headers["Warning"]
    for _ in range(200):
        if kernel.queue.counters.completed + kernel.queue.counters.failed == 2:
            break
        await asyncio.sleep(0.02)
    quiet, _ = await kernel.storage.list_traces(filters={"channel": "quiet"}, sort_by="created_at", descending=True, limit=10, offset=0)
    loud, _ = await kernel.storage.list_traces(filters={"channel": "loud"}, sort_by="created_at", descending=True, limit=10, offset=0)
    assert quiet == []
    assert [(row["status"], row["error_message"], row["mode"]) for row in loud] == [("failed", "Function execution error: boom", "async")]


async def test_jobs_of_a_stopped_process_are_resumed_or_marked_interrupted(client):
    kernel = client.app[KERNEL]
    storage = kernel.storage
    stopped = JobStore(storage, "a-process-that-was-killed")
    waiting = [Job.new("ok", '{"n":%d}' % i, "{}") for i in range(3)]
    running = Job.new("ok", '{"n":9}', "{}")
    for job in (*waiting, running):
        await stopped.accept(job, stamp(-1))  # its lease already ran out
    assert await stopped.start(running, stamp())
    assert await kernel.queue.leases.recover() == 4
    for job in waiting:
        row = await final_trace(storage, job.id)
        assert row["status"] == "completed"
    row = await final_trace(storage, running.id)
    assert (row["status"], row["error_message"]) == ("failed", INTERRUPTED)
    [entry] = await dlq_entries(storage, "ok")
    assert entry["trace_id"] == running.id and entry["retry_count"] == 0
    assert (kernel.queue.counters.resumed, kernel.queue.counters.interrupted) == (3, 1)
    assert await storage.expired_async_jobs(stamp(3600), 10) == []


async def test_stop_drains_within_the_timeout_then_releases_what_is_left(client):
    kernel = client.app[KERNEL]
    queue = kernel.queue
    queue.shutdown_timeout = 1
    accepted = [await submit(client, "slow") for _ in range(3)]  # 2 workers: 2 run, 1 waits
    await asyncio.sleep(0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await queue.stop()
    assert loop.time() - started < 3
    rows = [await kernel.storage.get_trace(a["trace_id"]) for a in accepted]
    assert sorted(row["status"] for row in rows) == ["pending", "running", "running"]  # abandoned, not failed
    left = await kernel.storage.expired_async_jobs(stamp(), 10)
    assert {row["id"] for row in left} == {a["trace_id"] for a in accepted}  # released: the next start takes them


async def test_retention_deletes_old_finished_traces_only(client):
    kernel = client.app[KERNEL]
    storage = kernel.storage
    old, new = stamp(-100 * 3600), stamp()
    rows = [{"id": f"{status}-{age}", "channel": "ok", "mode": "async", "status": status, "created_at": created, "updated_at": created}
            for status in ("pending", "running", "completed", "failed") for age, created in (("old", old), ("new", new))]
    await storage.insert_traces(rows)
    assert await kernel.queue.sweep() == 2
    left, _ = await storage.list_traces(filters={"channel": "ok"}, sort_by="created_at", descending=True, limit=20, offset=0)
    assert sorted(row["id"] for row in left) == ["completed-new", "failed-new", "pending-new", "pending-old",
                                                 "running-new", "running-old"]


async def test_a_result_that_cannot_be_stored_fails_the_job_with_the_spec_reason(client, monkeypatch):
    kernel = client.app[KERNEL]
    store = kernel.queue.store
    monkeypatch.setattr("orion_kernel.async_queue.store.WRITE_RETRY_DELAYS", (0.0, 0.0, 0.0))
    real_finish, attempts = store._finish, []

    async def refuse_results(job, trace_update, trace_insert, dead_letter):
        if trace_update and "result_json" in trace_update:
            attempts.append(job.id)
            raise RuntimeError("disk full")
        return await real_finish(job, trace_update, trace_insert, dead_letter)

    monkeypatch.setattr(store, "_finish", refuse_results)
    accepted = await submit(client, "ok")
    row = await final_trace(kernel.storage, accepted["trace_id"])
    assert (row["status"], row["error_message"], row["result_json"]) == ("failed", "Result persistence failed after retries", None)
    assert len(attempts) == 4  # the write and its three retries
    assert await kernel.storage.expired_async_jobs(stamp(3600), 10) == []


async def test_a_job_whose_end_cannot_be_stored_is_recovered_once_storage_works_again(orion_client, queue_config, monkeypatch):
    queue_config["queue"]["job_lease_secs"] = 1
    client = await orion_client(plugins=[sys.modules[__name__]], workflows=WORKFLOWS, config=queue_config)
    kernel = client.app[KERNEL]
    store = kernel.queue.store
    monkeypatch.setattr("orion_kernel.async_queue.store.WRITE_RETRY_DELAYS", (0.0, 0.0, 0.0))
    real_finish, broken = store._finish, [True]

    async def storage_down(*args):
        if broken[0]:
            raise RuntimeError("database unavailable")
        return await real_finish(*args)

    monkeypatch.setattr(store, "_finish", storage_down)
    accepted = await submit(client, "ok")
    for _ in range(200):
        if accepted["trace_id"] not in store.held and (await kernel.storage.get_trace(accepted["trace_id"]))["status"] == "running":
            break
        await asyncio.sleep(0.02)
    assert accepted["trace_id"] not in store.held  # given up: its claim is left to run out
    broken[0] = False
    row = await final_trace(kernel.storage, accepted["trace_id"], timeout=5)
    assert (row["status"], row["error_message"]) == ("failed", INTERRUPTED)
    assert kernel.queue.counters.interrupted == 1
