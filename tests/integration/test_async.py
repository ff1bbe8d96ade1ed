"""Async processing through the real server (api-data.md §7–8, docs/async.md): submit and poll,
failures into the dead-letter queue and back, a full queue, a killed server, a burst, a drain."""
from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from orion_builtins.storage.sqlite import SqliteStorage
from orion_kernel.async_queue.jobs import stamp
from orion_kernel.testing import orion_server, provision

pytestmark = pytest.mark.integration

PLUGINS_DIR = Path(__file__).parent / "plugins"
PLUGIN_ENV = {"PYTHONPATH": os.pathsep.join(filter(None, [str(PLUGINS_DIR), os.environ.get("PYTHONPATH")]))}
FINAL = ("completed", "failed")
ADMIN = "/api/v1/admin"


def config(tmp_path: Path, **queue: Any) -> dict:
    """A file database in ``tmp_path``, the test plugins, fast DLQ polling and short claims."""
    return {
        "server": {"shutdown_drain_secs": 5},
        "storage": {"url": f"sqlite:{tmp_path / 'orion.db'}"},
        "plugins": {"modules": ["orion_test_slow", "orion_test_async"]},
        "queue": {"dlq_poll_interval_secs": 1, "job_lease_secs": 2, **queue},
    }


def task(function: str, **inputs: Any) -> dict:
    return {"id": function, "name": function, "function": {"name": function, "input": inputs}}


def workflow(channel: str, *tasks: dict) -> dict:
    return {"workflow_id": channel, "name": channel, "channel": channel, "tasks": list(tasks)}


PARSE = task("parse_json", source="payload", target="in")


async def submit(http: aiohttp.ClientSession, path: str, data: Any = None, status: int = 202) -> dict:
    async with http.post(f"/api/v1/data/{path}/async", json={"data": data if data is not None else {}}) as resp:
        body = await resp.json()
        assert resp.status == status, body
        return body


async def poll(http: aiohttp.ClientSession, trace_id: str, timeout: float = 30.0) -> dict:
    """The trace once it is completed or failed."""
    deadline = time.monotonic() + timeout
    while True:
        async with http.get(f"/api/v1/data/traces/{trace_id}") as resp:
            assert resp.status == 200, await resp.text()
            trace = await resp.json()
        if trace["status"] in FINAL:
            return trace
        assert time.monotonic() < deadline, f"trace {trace_id} still {trace['status']} after {timeout}s"
        await asyncio.sleep(0.05)


async def get_json(http: aiohttp.ClientSession, path: str, expect: int = 200, **params: Any) -> dict:
    async with http.get(path, params=params) as resp:
        body = await resp.json()
        assert resp.status == expect, body
        return body


async def traces_of(http: aiohttp.ClientSession, channel: str, **filters: str) -> dict:
    return await get_json(http, "/api/v1/data/traces", channel=channel, mode="async", limit=1000, **filters)


async def test_submit_then_poll_until_completed(tmp_path):
    rest = {"name": "orders", "protocol": "rest", "methods": ["PUT"], "route_pattern": "/orders/{order_id}"}
    async with orion_server(config(tmp_path), tmp_path, env=PLUGIN_ENV) as server:
        async with aiohttp.ClientSession(server.url) as http:
            await provision(http, [workflow("orders", PARSE)], [rest])
            accepted = await submit(http, "orders", {"qty": 2})
            assert list(accepted) == ["trace_id"]
            trace = await poll(http, accepted["trace_id"])
            assert (trace["status"], trace["mode"], trace["channel"]) == ("completed", "async", "orders")
            message = trace["message"]
            assert set(message) == {"id", "payload", "context", "audit_trail", "errors"}
            assert message["payload"] == {"qty": 2} and message["context"]["data"] == {"in": {"qty": 2}}
            assert message["context"]["metadata"]["http_method"] == "POST"
            assert trace["duration_ms"] >= 0 and trace["started_at"] <= trace["completed_at"]

            async with http.put("/api/v1/data/orders/ORD-7/async?src=test", json={"data": {"qty": 3}}) as resp:
                assert resp.status == 202  # a REST route with the suffix, routed by method and pattern
                routed = await poll(http, (await resp.json())["trace_id"])
            metadata = routed["message"]["context"]["metadata"]
            assert (metadata["params"], metadata["query"], metadata["http_method"]) == ({"order_id": "ORD-7"}, {"src": "test"}, "PUT")

            listing = await traces_of(http, "orders", status="completed")
            assert listing["total"] == 2 and {row["id"] for row in listing["data"]} == {accepted["trace_id"], routed["id"]}
            assert (await get_json(http, "/api/v1/data/traces", mode="async", limit=1))["limit"] == 1


async def test_trace_storage_off_still_runs_the_job_without_a_trace(tmp_path):
    quiet = {"name": "quiet", "config": {"tracing": {"mode": "off"}}}
    async with orion_server(config(tmp_path), tmp_path, env=PLUGIN_ENV) as server:
        async with aiohttp.ClientSession(server.url) as http:
            marker = tmp_path / "ran.txt"
            await provision(http, [workflow("quiet", task("append_line", path=str(marker)))], [quiet])
            async with http.post("/api/v1/data/quiet/async", json={"data": {"token": "t1"}}) as resp:
                assert resp.status == 202 and await resp.json() == {"trace_id": None}
                assert resp.headers["Warning"] == "299 - \"Trace persistence disabled for channel 'quiet'\""
            for _ in range(200):
                if marker.exists():
                    break
                await asyncio.sleep(0.05)
            assert marker.read_text() == "t1\n"
            assert (await traces_of(http, "quiet"))["total"] == 0


def seconds_between(earlier: str, later: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


async def test_a_failing_job_is_retried_with_backoff_until_exhausted_then_requeued_after_the_fix(tmp_path):
    async with orion_server(config(tmp_path, dlq_max_retries=2), tmp_path, env=PLUGIN_ENV) as server:
        async with aiohttp.ClientSession(server.url) as http:
            await provision(http, [workflow("flaky", PARSE, task("explode"))])
            accepted = await submit(http, "flaky", {"order": 1})
            failed = await poll(http, accepted["trace_id"])
            assert (failed["status"], failed["error"]) == ("failed", "Function execution error: boom")

            seen: dict[int, dict] = {}  # retry_count -> the entry as first seen with it
            deadline = time.monotonic() + 30
            while 2 not in seen:
                listing = await get_json(http, f"{ADMIN}/dlq", channel="flaky")
                assert listing["total"] <= 1
                for entry in listing["data"]:
                    seen.setdefault(entry["retry_count"], entry)
                assert time.monotonic() < deadline, seen
                await asyncio.sleep(0.05)
            assert set(seen) == {0, 1, 2} and len({entry["id"] for entry in seen.values()}) == 1  # one entry, counted up
            for count, entry in seen.items():
                assert round(seconds_between(entry["updated_at"], entry["next_retry_at"])) == 2 ** count  # 1 s, 2 s, 4 s
                assert entry["max_retries"] == 2 and entry["exhausted"] == (count == 2)
            assert seen[0]["trace_id"] == accepted["trace_id"]
            runs = (await traces_of(http, "flaky"))["data"]
            assert [run["status"] for run in runs] == ["failed"] * 3  # the submission and two retries
            assert seconds_between(seen[0]["updated_at"], seen[1]["updated_at"]) >= 1
            assert seconds_between(seen[1]["updated_at"], seen[2]["updated_at"]) >= 2
            await asyncio.sleep(1.5)
            assert (await traces_of(http, "flaky"))["total"] == 3  # exhausted: no further retry

            entry_id = seen[0]["id"]
            exhausted = await get_json(http, f"{ADMIN}/dlq", channel="flaky", exhausted="true")
            assert [entry["id"] for entry in exhausted["data"]] == [entry_id]
            detail = (await get_json(http, f"{ADMIN}/dlq/{entry_id}"))["data"]
            assert detail["payload_json"] == '{"order":1}' and detail["error_message"] == "Function execution error: boom"

            async with http.post(f"{ADMIN}/workflows/flaky/versions", json={}) as resp:  # the fix: drop the failing task
                assert resp.status == 201
            async with http.put(f"{ADMIN}/workflows/flaky", json={"tasks": [PARSE]}) as resp:
                assert resp.status == 200, await resp.text()
            async with http.patch(f"{ADMIN}/workflows/flaky/status", json={"status": "active"}) as resp:
                assert resp.status == 200
            async with http.post(f"{ADMIN}/dlq/{entry_id}/requeue") as resp:
                requeued = (await resp.json())["data"]
                assert resp.status == 200 and requeued["id"] == entry_id
            fixed = await poll(http, requeued["trace_id"])
            assert fixed["status"] == "completed" and fixed["message"]["context"]["data"] == {"in": {"order": 1}}
            await get_json(http, f"{ADMIN}/dlq/{entry_id}", expect=404)
            audit = await get_json(http, f"{ADMIN}/audit-logs", resource_type="trace_dlq")
            assert [(row["action"], row["resource_id"]) for row in audit["data"]] == [("requeue", entry_id)]


async def test_a_full_queue_answers_503_before_storing_anything(tmp_path):
    settings = config(tmp_path, workers=1, buffer_size=2, max_queue_memory_bytes=4000)
    async with orion_server(settings, tmp_path, env=PLUGIN_ENV) as server:
        async with aiohttp.ClientSession(server.url) as http:
            await provision(http, [workflow("slow", task("sleep", seconds=0.5))])
            first = await submit(http, "slow")
            await server.wait_for_stderr("sleep task started")  # the one worker holds it; the buffer is empty
            queued = [await submit(http, "slow"), await submit(http, "slow")]
            full = await submit(http, "slow", status=503)
            assert full["error"]["code"] == "SERVICE_UNAVAILABLE"
            assert full["error"]["message"] == "Async queue is full (2 pending jobs, queue.buffer_size 2)"
            assert (await traces_of(http, "slow"))["total"] == 3  # nothing stored for the refusal
            for accepted in (first, *queued):
                assert (await poll(http, accepted["trace_id"]))["status"] == "completed"
            too_big = await submit(http, "slow", {"blob": "x" * 5000}, status=503)
            assert too_big["error"]["message"].startswith("Trace queue memory limit exceeded (0 + ")
            assert too_big["error"]["message"].endswith(" > 4000 bytes)")
            status = await get_json(http, f"{ADMIN}/engine/status")
            assert status["queue"]["rejected"] == 2 and status["queue"]["completed"] == 3


async def test_jobs_accepted_before_a_sigkill_all_end_after_the_restart(tmp_path):
    """A killed server is restarted (with two worker processes racing to recover its jobs):
    the job that was running fails with the reason and is retried from the dead-letter queue,
    the waiting ones run; every accepted job runs to completion exactly once."""
    runs = tmp_path / "runs.txt"
    settings = config(tmp_path, workers=1)
    tokens = [f"job-{i}" for i in range(8)]
    async with orion_server(settings, tmp_path, env=PLUGIN_ENV) as server:
        async with aiohttp.ClientSession(server.url) as http:
            await provision(http, [workflow("work", task("sleep", seconds=0.5), task("append_line", path=str(runs)))])
            accepted = [await submit(http, "work", {"token": token}) for token in tokens]
            await server.wait_for_stderr("sleep task started")
        assert await server.stop(signal.SIGKILL) == -signal.SIGKILL

    async with orion_server(settings, tmp_path, workers=2, env=PLUGIN_ENV) as server:
        async with aiohttp.ClientSession(server.url) as http:
            finals = [await poll(http, job["trace_id"]) for job in accepted]
            statuses = Counter(trace["status"] for trace in finals)
            assert statuses == {"completed": 7, "failed": 1}
            [interrupted] = [trace for trace in finals if trace["status"] == "failed"]
            assert interrupted["error"] == "Interrupted: the process running this job stopped before it finished"
            deadline = time.monotonic() + 30
            while sorted(runs.read_text().split()) != sorted(tokens):  # the dead-letter retry runs it
                assert time.monotonic() < deadline, runs.read_text()
                await asyncio.sleep(0.1)
            assert (await get_json(http, f"{ADMIN}/dlq"))["total"] == 0
            assert (await traces_of(http, "work", status="pending"))["total"] == 0
            assert (await traces_of(http, "work", status="running"))["total"] == 0
    assert Counter(runs.read_text().split()) == Counter(tokens)  # nothing ran twice


async def test_sigterm_drains_the_jobs_in_flight(tmp_path):
    settings = config(tmp_path, workers=2)
    async with orion_server(settings, tmp_path, env=PLUGIN_ENV) as server:
        async with aiohttp.ClientSession(server.url) as http:
            await provision(http, [workflow("slow", task("sleep", seconds=1))])
            accepted = [await submit(http, "slow") for _ in range(3)]
            await server.wait_for_stderr("sleep task started")
        assert await server.stop(signal.SIGTERM) == 0
    assert "draining the async queue" in server.stderr
    storage = SqliteStorage(f"sqlite:{tmp_path / 'orion.db'}", {})
    await storage.open()
    try:
        rows = [await storage.get_trace(job["trace_id"]) for job in accepted]
        assert [row["status"] for row in rows] == ["completed"] * 3
        assert await storage.expired_async_jobs(stamp(3600), 10) == []
    finally:
        await storage.close()


async def test_a_burst_of_2000_submissions_keeps_the_server_responsive_and_every_job_finishes(tmp_path):
    runs = tmp_path / "runs.txt"
    settings = config(tmp_path, buffer_size=5000, job_lease_secs=30)
    async with orion_server(settings, tmp_path, workers=2, env=PLUGIN_ENV) as server:
        async with aiohttp.ClientSession(server.url) as http:
            await provision(http, [workflow("burst", PARSE, task("append_line", path=str(runs)))])
        await asyncio.sleep(0.5)  # both workers have the channel
        connector = aiohttp.TCPConnector(limit=64, force_close=True)  # new connections: both workers get some
        async with aiohttp.ClientSession(server.url, connector=connector) as http, \
                aiohttp.ClientSession(server.url) as probe:
            probes: list[float] = []
            done = asyncio.Event()

            async def watch_health() -> None:
                while not done.is_set():
                    started = time.monotonic()
                    async with probe.get("/healthz") as resp:
                        assert resp.status == 200
                    probes.append(time.monotonic() - started)
                    await asyncio.sleep(0.05)

            watcher = asyncio.create_task(watch_health())
            started = time.monotonic()
            accepted = await asyncio.gather(*(submit(http, "burst", {"token": f"b{i}"}) for i in range(2000)))
            submitted = time.monotonic() - started
            while (await traces_of(probe, "burst", status="completed"))["total"] < 2000:
                assert time.monotonic() - started < 120, "the burst did not finish within 2 minutes"
                await asyncio.sleep(0.25)
            finished = time.monotonic() - started
            done.set()
            await watcher
        ids = {job["trace_id"] for job in accepted}
        assert len(ids) == 2000
        async with aiohttp.ClientSession(server.url) as http:
            assert (await traces_of(http, "burst", status="failed"))["total"] == 0
    assert Counter(runs.read_text().split()) == Counter(f"b{i}" for i in range(2000))  # each once
    print(f"\nburst: 2000 accepted in {submitted:.1f}s, all completed after {finished:.1f}s; "
          f"/healthz {len(probes)} probes, slowest {max(probes) * 1000:.0f}ms")
    assert len(probes) >= 5 and max(probes) < 2.0


async def test_retention_deletes_old_finished_traces_and_keeps_pending_ones(tmp_path):
    storage = SqliteStorage(f"sqlite:{tmp_path / 'orion.db'}", {})
    await storage.open()
    await storage.migrate()
    old, recent = stamp(-3 * 3600), stamp()
    await storage.insert_traces([
        {"id": f"{status}-{age}", "channel": "kept", "mode": "async", "status": status, "created_at": created,
         "updated_at": created}
        for status in ("pending", "running", "completed", "failed") for age, created in (("old", old), ("recent", recent))])
    await storage.close()
    settings = config(tmp_path, trace_retention_hours=2, trace_cleanup_interval_secs=1)
    async with orion_server(settings, tmp_path, env=PLUGIN_ENV) as server:
        async with aiohttp.ClientSession(server.url) as http:
            deadline = time.monotonic() + 10
            while (await traces_of(http, "kept"))["total"] != 6:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.1)
            left = {row["id"] for row in (await traces_of(http, "kept"))["data"]}
    assert left == {"pending-old", "running-old", "pending-recent", "running-recent", "completed-recent", "failed-recent"}
