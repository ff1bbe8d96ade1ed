"""The queue's transactions on a real SQLite file, with two stores standing for two processes
(each on its own connections): a job is claimed, finished and taken over exactly once."""
from __future__ import annotations

import asyncio

import pytest

from orion_builtins.storage.sqlite import SqliteStorage
from orion_kernel.async_queue.dlq import dead_letter
from orion_kernel.async_queue.jobs import RELEASED, Job, stamp
from orion_kernel.async_queue.store import JobStore
from orion_kernel.trace_policy import RECORD_NONE


@pytest.fixture
async def databases(tmp_path):
    """Two connections to one database file, as two worker processes have."""
    url = f"sqlite:{tmp_path / 'orion.db'}"
    first, second = SqliteStorage(url, {}), SqliteStorage(url, {})
    await first.open()
    await first.migrate()
    await second.open()
    yield first, second
    await first.close()
    await second.close()


async def job_rows(storage) -> list[dict]:
    return await storage.expired_async_jobs(stamp(3600), 100)


async def test_accept_stores_the_job_and_its_pending_trace_in_one_go(databases):
    storage, _ = databases
    store = JobStore(storage, "process-a")
    job = Job.new("orders", '{"n":1}', '{"http_method":"POST"}', channel_id="ch-1")
    await store.accept(job, stamp(30))
    [row] = await job_rows(storage)
    assert (row["id"], row["owner"], row["status"], row["attempt"], row["payload_json"]) == (job.id, "process-a", "pending", 0, '{"n":1}')
    trace = await storage.get_trace(job.id)
    assert (trace["status"], trace["mode"], trace["channel"], trace["channel_id"], trace["input_json"]) == (
        "pending", "async", "orders", "ch-1", '{"n":1}')


async def test_a_job_that_keeps_no_trace_is_stored_without_one(databases):
    storage, _ = databases
    job = Job.new("orders", "{}", "{}", record=RECORD_NONE)
    await JobStore(storage, "a").accept(job, stamp(30))
    assert job.trace_id is None
    assert await storage.get_trace(job.id) is None
    assert [row["id"] for row in await job_rows(storage)] == [job.id]


async def test_only_the_owner_starts_and_finishes_its_job(databases):
    storage, other_storage = databases
    mine, theirs = JobStore(storage, "a"), JobStore(other_storage, "b")
    job = Job.new("orders", "{}", "{}")
    await mine.accept(job, stamp(30))
    assert not await theirs.start(job, stamp())
    assert await mine.start(job, stamp())
    assert not await mine.start(job, stamp())  # already running
    assert (await storage.get_trace(job.id))["status"] == "running"
    assert not await theirs.finish(job, trace_update={"status": "completed"})
    entry = dead_letter(job, "Task error: boom", 5)
    assert await mine.finish(job, trace_update={"status": "failed", "error_message": "Task error: boom"}, dead_letter=entry)
    assert await job_rows(storage) == []
    assert (await storage.get_trace(job.id))["error_message"] == "Task error: boom"
    assert (await storage.get_dlq(entry["id"]))["trace_id"] == job.id


async def test_an_expired_claim_is_taken_over_by_exactly_one_of_two_racing_processes(databases):
    first, second = databases
    dead = JobStore(first, "killed-process")
    jobs = [Job.new("orders", "{}", "{}") for _ in range(20)]
    for job in jobs:
        await dead.accept(job, stamp(-1))  # its lease already ran out
    rows = await first.expired_async_jobs(stamp(), 100)
    assert {row["id"] for row in rows} == {job.id for job in jobs}
    a, b = JobStore(first, "a"), JobStore(second, "b")
    wins = await asyncio.gather(*(store.take_over(row, stamp(30)) for row in rows for store in (a, b)))
    assert sum(wins) == len(jobs)  # every job once, never twice
    assert all(wins[i] != wins[i + 1] for i in range(0, len(wins), 2))
    assert await first.expired_async_jobs(stamp(), 100) == []


async def test_renew_keeps_the_claims_it_holds_alive_and_release_hands_them_over_at_once(databases):
    storage, _ = databases
    store = JobStore(storage, "a")
    held, dropped = Job.new("orders", "{}", "{}"), Job.new("orders", "{}", "{}")
    await store.accept(held, stamp(-5))
    await store.accept(dropped, stamp(-5))
    await JobStore(storage, "b").accept(Job.new("orders", "{}", "{}"), stamp(30))
    assert len(await storage.expired_async_jobs(stamp(), 10)) == 2
    store.forget(dropped.id)  # e.g. a storage error while running it: its lease must run out
    assert await store.renew(stamp(30)) == 1  # only the job it still holds
    assert [row["id"] for row in await storage.expired_async_jobs(stamp(), 10)] == [dropped.id]
    assert await store.release(RELEASED) == 2  # every claim of "a"
    assert {row["owner"] for row in await storage.expired_async_jobs(stamp(), 10)} == {"a"}
    assert store.held == set()


async def test_a_dead_letter_entry_is_requeued_once(databases):
    first, second = databases
    job = Job.new("orders", '{"n":1}', "{}")
    entry = dead_letter(job, "boom", 5)
    await first.insert_dlq(entry)
    a, b = JobStore(first, "a"), JobStore(second, "b")
    retry_a, retry_b = Job.new("orders", "{}", "{}", attempt=1, dlq_id=entry["id"]), Job.new("orders", "{}", "{}", attempt=1, dlq_id=entry["id"])
    results = await asyncio.gather(a.requeue(entry["id"], retry_a, stamp(30)), b.requeue(entry["id"], retry_b, stamp(30)))
    assert sorted(results) == [False, True]
    assert await first.get_dlq(entry["id"]) is None
    assert len(await job_rows(first)) == 1
