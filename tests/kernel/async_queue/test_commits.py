"""Group commit on a real SQLite file: writes that arrive together share a transaction, and a
failing write fails alone."""
from __future__ import annotations

import asyncio

import pytest

from orion_builtins.storage.sqlite import SqliteStorage
from orion_kernel.async_queue.commits import MAX_GROUP, GroupCommit
from orion_kernel.storage import DLQ


class CountingStorage(SqliteStorage):
    """SQLite that counts its transactions."""

    transactions = 0

    def transaction(self):
        self.transactions += 1
        return super().transaction()


@pytest.fixture
async def storage(tmp_path):
    store = CountingStorage(f"sqlite:{tmp_path / 'orion.db'}", {})
    await store.open()
    await store.migrate()
    yield store
    await store.close()


def entry(i: int) -> dict:
    return {"id": f"e{i:04d}", "trace_id": f"t{i}", "channel": "c", "payload_json": "{}", "error_message": "boom"}


def insert(i: int):
    async def write(tx):
        await tx.insert_row(DLQ, entry(i))
        return i

    return write


async def stored(storage) -> int:
    _, total = await storage.list_dlq(channel=None, exhausted=None, limit=1, offset=0)
    return total


async def test_writes_arriving_together_share_few_transactions(storage):
    commits = GroupCommit(storage)
    results = await asyncio.gather(*(commits.run(insert(i)) for i in range(500)))
    assert results == list(range(500))
    assert await stored(storage) == 500
    assert storage.transactions <= 1 + -(-499 // MAX_GROUP)  # the first alone, the rest in full groups


async def test_a_lone_write_commits_at_once(storage):
    commits = GroupCommit(storage)
    assert await commits.run(insert(1)) == 1
    assert await commits.run(insert(2)) == 2
    assert storage.transactions == 2 and await stored(storage) == 2


async def test_a_failing_write_fails_alone(storage):
    commits = GroupCommit(storage)

    async def broken(tx):
        await tx.insert_row(DLQ, entry(3))  # undone with its transaction
        raise RuntimeError("bad write")

    runs = [commits.run(insert(i)) for i in range(3)] + [commits.run(broken)] + [commits.run(insert(i)) for i in (4, 5)]
    results = await asyncio.gather(*runs, return_exceptions=True)
    assert results[:3] == [0, 1, 2] and results[4:] == [4, 5]
    assert isinstance(results[3], RuntimeError)
    rows, _ = await storage.list_dlq(channel=None, exhausted=None, limit=10, offset=0)
    assert sorted(row["id"] for row in rows) == ["e0000", "e0001", "e0002", "e0004", "e0005"]
