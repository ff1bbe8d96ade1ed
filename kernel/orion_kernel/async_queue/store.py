"""The queue's writes to storage: each step of a job's life is one atomic write.

Every step that changes a job matches on the claim it expects (``owner``, ``status``, or the
exact ``lease_until`` it saw), so when two processes race for one job exactly one of them
changes it; the other sees 0 rows and leaves the job alone. The store also knows which jobs this
process *holds* (queued or running here): only their claims are renewed, so a job the process
lost track of (a storage error mid-way) lets its lease run out and is recovered like any other.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..storage import ASYNC_JOB, DLQ, TRACE, StorageBackend, StorageTransaction
from .commits import GroupCommit
from .jobs import PENDING, RUNNING, Job

logger = logging.getLogger("orion.queue")

#: pauses between attempts of a final write (api-data.md §7.2 step 3: 3 retries, 100/200/300 ms)
WRITE_RETRY_DELAYS = (0.1, 0.2, 0.3)
#: job ids per lease-renewal statement
RENEW_CHUNK = 500


class JobStore:
    """Transactions over ``async_jobs``, ``traces`` and ``trace_dlq`` on behalf of one process
    (``owner``), grouped with :class:`GroupCommit` when they arrive together."""

    def __init__(self, storage: StorageBackend, owner: str) -> None:
        self.owner = owner
        self.commits = GroupCommit(storage)
        self.held: set[str] = set()

    def forget(self, job_id: str) -> None:
        """This process no longer holds the job (finished, lost, or dropped after an error)."""
        self.held.discard(job_id)

    async def accept(self, job: Job, lease_until: str) -> None:
        """Persist a new job claimed by this process, with its pending trace when it keeps one."""
        async def write(tx: StorageTransaction) -> None:
            await tx.insert_row(ASYNC_JOB, job.row(self.owner, lease_until))
            if job.trace_id is not None:
                await tx.insert_row(TRACE, job.trace_row(PENDING))

        await self.commits.run(write)
        self.held.add(job.id)

    async def requeue(self, entry_id: str, job: Job, lease_until: str) -> bool:
        """Turn dead-letter entry ``entry_id`` into ``job``; False when another process took it first."""
        async def write(tx: StorageTransaction) -> bool:
            if not await tx.delete_rows(DLQ, {"id": entry_id}):
                return False
            await tx.insert_row(ASYNC_JOB, job.row(self.owner, lease_until))
            if job.trace_id is not None:
                await tx.insert_row(TRACE, job.trace_row(PENDING))
            return True

        if not await self.commits.run(write):
            return False
        self.held.add(job.id)
        return True

    async def start(self, job: Job, started_at: str) -> bool:
        """Mark a queued job of ours running; False when another process took it over meanwhile."""
        async def write(tx: StorageTransaction) -> bool:
            where = {"id": job.id, "owner": self.owner, "status": PENDING}
            if not await tx.update_rows(ASYNC_JOB, where, {"status": RUNNING, "started_at": started_at}):
                return False
            if job.trace_id is not None:
                await tx.update_rows(TRACE, {"id": job.id}, {"status": RUNNING, "started_at": started_at})
            return True

        return await self.commits.run(write)

    async def finish(self, job: Job, *, trace_update: dict[str, Any] | None = None,
                     trace_insert: dict[str, Any] | None = None, dead_letter: dict[str, Any] | None = None) -> bool:
        """Remove a finished job of ours and record how it ended, in one transaction; retried per
        :data:`WRITE_RETRY_DELAYS`. False when the job is no longer ours (taken over). Raises the
        last storage error when every attempt failed."""
        for delay in (*WRITE_RETRY_DELAYS, None):
            try:
                finished = await self._finish(job, trace_update, trace_insert, dead_letter)
                self.forget(job.id)
                return finished
            except Exception:
                if delay is None:
                    self.forget(job.id)  # its fate is unknown: let the claim run out, recovery settles it
                    raise
                logger.warning("storing the end of async job %s failed; retrying in %sms", job.id, int(delay * 1000),
                               exc_info=True)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _finish(self, job: Job, trace_update: dict[str, Any] | None, trace_insert: dict[str, Any] | None,
                      dead_letter: dict[str, Any] | None) -> bool:
        async def write(tx: StorageTransaction) -> bool:
            if not await tx.delete_rows(ASYNC_JOB, {"id": job.id, "owner": self.owner}):
                return False
            if trace_update is not None:
                await tx.update_rows(TRACE, {"id": job.id}, trace_update)
            if trace_insert is not None:
                await tx.insert_row(TRACE, trace_insert)
            if dead_letter is not None:
                await tx.delete_rows(DLQ, {"id": dead_letter["id"]})  # its earlier entry, if it still exists
                await tx.insert_row(DLQ, dead_letter)
            return True

        return await self.commits.run(write)

    async def take_over(self, row: dict[str, Any], lease_until: str) -> bool:
        """Claim a job whose lease ran out, exactly as it was read; False when someone else did first."""
        where = {"id": row["id"], "owner": row["owner"], "lease_until": row["lease_until"]}

        async def write(tx: StorageTransaction) -> bool:
            return await tx.update_rows(ASYNC_JOB, where, {"owner": self.owner, "lease_until": lease_until}) > 0

        if not await self.commits.run(write):
            return False
        self.held.add(row["id"])
        return True

    async def renew(self, lease_until: str) -> int:
        """Extend the lease of every job this process holds; how many."""
        ids = sorted(self.held)
        if not ids:
            return 0

        async def write(tx: StorageTransaction) -> int:
            renewed = 0
            for start in range(0, len(ids), RENEW_CHUNK):
                where = {"owner": self.owner, "id": tuple(ids[start:start + RENEW_CHUNK])}
                renewed += await tx.update_rows(ASYNC_JOB, where, {"lease_until": lease_until})
            return renewed

        return await self.commits.run(write)

    async def release(self, lease_until: str) -> int:
        """Let go of every job this process claimed (at shutdown), so the next process takes them at once."""
        async def write(tx: StorageTransaction) -> int:
            return await tx.update_rows(ASYNC_JOB, {"owner": self.owner}, {"lease_until": lease_until})

        released = await self.commits.run(write)
        self.held.clear()
        return released
