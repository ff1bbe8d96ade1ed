"""The in-memory queue of accepted jobs waiting for a worker, bounded in count and in bytes."""
from __future__ import annotations

import asyncio

from ..errors import ApiError
from .jobs import Job


class QueueClosed(Exception):
    """The queue stopped accepting work (the server is shutting down)."""


class JobBuffer:
    """A FIFO of :class:`Job` bounded by ``buffer_size`` jobs and ``max_bytes`` (0 = no byte bound).

    Room is *reserved* before a job is persisted and the job *put* after, so concurrent
    submissions cannot overshoot the bounds while they wait for their write; a failed write
    gives its reservation back with :meth:`cancel`. Counts and bytes cover reserved and queued
    jobs until a worker takes them.
    """

    def __init__(self, buffer_size: int, max_bytes: int) -> None:
        self.buffer_size = buffer_size
        self.max_bytes = max_bytes
        self.count = 0
        self.bytes = 0
        self.closed = False
        self._queue: asyncio.Queue[Job | None] = asyncio.Queue()

    def room(self) -> int:
        """How many more jobs fit by count (bytes are checked per job)."""
        return 0 if self.closed else max(0, self.buffer_size - self.count)

    def reserve(self, size: int) -> None:
        """Hold room for one job of ``size`` bytes, or raise: QueueClosed when closed, 503
        ``SERVICE_UNAVAILABLE`` when full (api-data.md §7.1 step 4)."""
        if self.closed:
            raise QueueClosed()
        if self.count >= self.buffer_size:
            raise ApiError("SERVICE_UNAVAILABLE",
                           f"Async queue is full ({self.count} pending jobs, queue.buffer_size {self.buffer_size})")
        if self.max_bytes and self.bytes + size > self.max_bytes:
            raise ApiError("SERVICE_UNAVAILABLE",
                           f"Trace queue memory limit exceeded ({self.bytes} + {size} > {self.max_bytes} bytes)")
        self.count += 1
        self.bytes += size

    def cancel(self, size: int) -> None:
        """Give back a reservation whose job was not persisted."""
        self.count -= 1
        self.bytes -= size

    def put(self, job: Job) -> None:
        """Queue a job whose room was reserved."""
        self._queue.put_nowait(job)

    async def get(self) -> Job | None:
        """The next job, or None once the queue is closed and every job before that was taken."""
        job = await self._queue.get()
        if job is None:
            self._queue.put_nowait(None)  # every other worker sees the end too
            return None
        self.count -= 1
        self.bytes -= job.size
        return job

    def close(self) -> None:
        """Refuse new work; workers take what is queued, then get None."""
        if not self.closed:
            self.closed = True
            self._queue.put_nowait(None)

    def drain_remaining(self) -> list[Job]:
        """Take every job still queued (after the workers stopped)."""
        jobs = []
        while not self._queue.empty():
            job = self._queue.get_nowait()
            if job is not None:
                self.count -= 1
                self.bytes -= job.size
                jobs.append(job)
        return jobs
