"""A background task that calls a coroutine every N seconds until stopped; failures are logged, not fatal."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger("orion.queue")


class Periodic:
    """Runs ``step`` every ``interval`` seconds (first after one interval unless ``at_start``).

    :meth:`stop` waits for a step in progress to end instead of cancelling it, so a step is
    never cut off halfway through a write.
    """

    def __init__(self, name: str, interval: float, step: Callable[[], Awaitable[object]], *, at_start: bool = False) -> None:
        self.name = name
        self.interval = interval
        self.step = step
        self.at_start = at_start
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name=f"orion-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._stop.set()
            await self._task
            self._task = None

    async def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            if not (first and self.at_start):
                try:
                    await asyncio.wait_for(self._stop.wait(), timeout=self.interval)
                    return
                except TimeoutError:
                    pass
            first = False
            try:
                await self.step()
            except Exception:
                logger.exception("%s failed; trying again in %ss", self.name, self.interval)
