"""Group commit: the queue's small writes share transactions instead of queueing for the writer one by one.

Every write of the queue is a short function of one transaction. While one transaction commits,
the writes that arrive wait and then go together in the next one, so a burst costs a few commits
instead of one per job, and a quiet queue still commits each write at once. If a shared
transaction fails, each of its writes is retried in a transaction of its own, so one bad write
fails alone.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ..storage import StorageBackend, StorageTransaction

T = TypeVar("T")
Write = Callable[[StorageTransaction], Awaitable[Any]]

#: writes in one shared transaction at most (bounds how long the writer lock is held)
MAX_GROUP = 200


class GroupCommit:
    """Runs writes on ``storage``, several per transaction when they arrive together."""

    def __init__(self, storage: StorageBackend) -> None:
        self.storage = storage
        self._waiting: list[tuple[Write, asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def run(self, write: Callable[[StorageTransaction], Awaitable[T]]) -> T:
        """``write(tx)``'s result once its transaction committed; its exception if it failed."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting.append((write, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name="orion-queue-commits")
        return await future

    async def _flush(self) -> None:
        try:
            while self._waiting:
                group, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
                group = [(write, future) for write, future in group if not future.cancelled()]
                if len(group) == 1:
                    await self._alone(*group[0])
                elif group:
                    await self._together(group)
        finally:
            self._flusher = None

    async def _together(self, group: list[tuple[Write, asyncio.Future[Any]]]) -> None:
        results: list[Any] = []
        try:
            async with self.storage.transaction() as tx:
                for write, _ in group:
                    results.append(await write(tx))
        except Exception:
            for write, future in group:  # find the write that failed; the others go through
                await self._alone(write, future)
            return
        for (_, future), result in zip(group, results):
            if not future.done():
                future.set_result(result)

    async def _alone(self, write: Write, future: asyncio.Future[Any]) -> None:
        try:
            async with self.storage.transaction() as tx:
                result = await write(tx)
        except Exception as exc:
            if not future.done():
                future.set_exception(exc)
            return
        if not future.done():
            future.set_result(result)
