"""The trace writer: rows queued and committed in batches; nothing lost at shutdown."""
from __future__ import annotations

import asyncio
import logging

import pytest

from orion_builtins.storage.sqlite import SqliteStorage
from orion_kernel.message import storage_now
from orion_kernel.testing import default_config
from orion_kernel.trace_writer import TraceWriter


def config(mode: str = "batch", **storage) -> dict:
    cfg = default_config()
    cfg["tracing"]["storage"].update(mode=mode, **storage)
    return cfg


def row(i: int) -> dict:
    now = storage_now()
    return {"id": f"trace-{i:06d}", "channel": "c", "mode": "sync", "status": "completed", "input_json": "{}",
            "result_json": "{}", "duration_ms": 0.1, "started_at": now, "completed_at": now, "created_at": now,
            "updated_at": now}


@pytest.fixture
async def store(tmp_path):
    store = SqliteStorage(f"sqlite:///{tmp_path}/orion.db", {})
    await store.open()
    await store.migrate()
    yield store
    await store.close()


async def stored(store) -> int:
    _, total = await store.list_traces(filters={}, sort_by="created_at", descending=True, limit=1, offset=0)
    return total


async def test_a_full_batch_is_committed_without_waiting_for_the_interval(store):
    writer = TraceWriter(store, config(batch_size=10, batch_flush_interval_ms=60_000))
    writer.start()
    for i in range(10):
        await writer.record(row(i))
    for _ in range(100):
        if await stored(store) == 10:
            break
        await asyncio.sleep(0.01)
    assert await stored(store) == 10
    await writer.stop()


async def test_stopping_during_a_write_loses_nothing(store, caplog):
    """Shutdown while the background task is in the middle of a commit: that commit completes,
    then whatever is still queued is committed too."""
    writer = TraceWriter(store, config(batch_size=500, batch_flush_interval_ms=60_000))
    writer.start()
    for i in range(500):
        await writer.record(row(i))  # a full batch: the writer wakes up and starts committing
    for _ in range(3):
        await asyncio.sleep(0)  # let it get into the write
    for i in range(500, 520):
        await writer.record(row(i))  # queued behind the write in progress
    with caplog.at_level(logging.ERROR, logger="orion.traces"):
        await writer.stop()
    assert caplog.records == []
    assert await stored(store) == 520
