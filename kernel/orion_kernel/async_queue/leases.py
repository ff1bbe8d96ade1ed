"""Claims: keep this process's jobs claimed, and take over jobs whose claim ran out.

Every job row names the process that holds it (``owner``) and until when (``lease_until``);
the holder renews its leases every third of ``queue.job_lease_secs``. A lease that ran out
means its process stopped (killed, crashed, or shut down and released its claims): any process
takes such a job over with a compare-and-set on the exact lease it read, so exactly one does.
A job that was still ``pending`` is resumed; one that was ``running`` may have done part of
its work, so it is not silently re-run: it is marked failed ("Interrupted …") and filed in the
dead-letter queue, whose retries (counted, with backoff) run it again.
"""
from __future__ import annotations

import logging
from typing import Any

from ..errors import ApiError
from ..storage import StorageBackend
from .buffer import JobBuffer
from .counters import QueueCounters
from .jobs import FAILED, PENDING, RUNNING, Job, stamp
from .runner import Outcome
from .store import JobStore
from .worker import WorkerPool

logger = logging.getLogger("orion.queue")

INTERRUPTED = "Interrupted: the process running this job stopped before it finished"
BATCH = 200


class Leases:
    """Lease renewal and takeover for one process."""

    def __init__(self, storage: StorageBackend, store: JobStore, buffer: JobBuffer, pool: WorkerPool,
                 counters: QueueCounters, config: dict[str, Any]) -> None:
        self.storage = storage
        self.store = store
        self.buffer = buffer
        self.pool = pool
        self.counters = counters
        self.lease_secs: int = config["queue"]["job_lease_secs"]

    @property
    def interval(self) -> float:
        """How often leases are renewed and expired ones looked for."""
        return max(0.2, self.lease_secs / 3)

    def lease_until(self) -> str:
        return stamp(self.lease_secs)

    async def tick(self) -> None:
        await self.store.renew(self.lease_until())
        await self.recover()

    async def recover(self) -> int:
        """Take over every job whose lease ran out, as far as this process has room; how many."""
        taken = 0
        while True:
            rows = await self.storage.expired_async_jobs(stamp(), BATCH)
            progress = 0
            for row in rows:
                if row["id"] in self.store.held:
                    continue  # ours, its renewal was late (a stalled process): keep it
                if row["status"] == RUNNING:
                    progress += await self._interrupted(row)
                elif row["status"] == PENDING and self.buffer.room():
                    progress += await self._resume(row)
            taken += progress
            if len(rows) < BATCH or not progress:
                return taken

    async def _resume(self, row: dict[str, Any]) -> int:
        job = Job.from_row(row)
        try:
            self.buffer.reserve(job.size)
        except ApiError:
            return 0  # no room here: the next sweep, or another process, takes it
        try:
            taken = await self.store.take_over(row, self.lease_until())
        except BaseException:
            self.buffer.cancel(job.size)
            raise
        if not taken:
            self.buffer.cancel(job.size)
            return 0
        self.buffer.put(job)
        self.counters.resumed += 1
        logger.info("resumed async job %s on channel '%s' (its process stopped before running it)", job.id, job.channel)
        return 1

    async def _interrupted(self, row: dict[str, Any]) -> int:
        if not await self.store.take_over(row, self.lease_until()):
            return 0
        job = Job.from_row(row)
        await self.pool.settle(job, Outcome(FAILED, 0.0, error=INTERRUPTED, retryable=True), row.get("started_at"))
        self.counters.interrupted += 1
        logger.warning("async job %s on channel '%s' was interrupted while running; marked failed and dead-lettered",
                       job.id, job.channel)
        return 1
