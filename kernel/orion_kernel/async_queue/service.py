"""The async queue of one process: what it accepts, its workers and its background tasks, started
and stopped in order (config-and-ops.md §9.1 step 9, §9.3 steps 3–4)."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..errors import ApiError
from ..ids import uuid4_str
from ..sql import load_json
from ..storage import StorageBackend
from ..trace_policy import RECORD_FULL
from .buffer import JobBuffer, QueueClosed
from .counters import QueueCounters
from .dlq import retry_job
from .jobs import RELEASED, Job, stamp
from .leases import Leases
from .periodic import Periodic
from .retention import sweep_traces
from .runner import JobRunner
from .store import JobStore
from .worker import WorkerPool

if TYPE_CHECKING:
    from ..engine.runtime import EngineRuntime

logger = logging.getLogger("orion.queue")

DLQ_BATCH = 20  # entries fetched per round of the retry task (api-data.md §7.3)


class AsyncQueue:
    """Accepts jobs (persisted before they are queued), runs them on a :class:`WorkerPool`, retries
    dead letters, renews and takes over claims, and sweeps old traces.

    ``owner`` identifies this process in the claims it writes; it is new on every start.
    """

    def __init__(self, storage: StorageBackend, runtime: EngineRuntime, config: dict[str, Any]) -> None:
        settings = config["queue"]
        self.storage = storage
        self.runtime = runtime
        self.owner = uuid4_str()
        self.counters = QueueCounters()
        self.buffer = JobBuffer(settings["buffer_size"], settings["max_queue_memory_bytes"])
        self.store = JobStore(storage, self.owner)
        self.pool = WorkerPool(self.buffer, self.store, JobRunner(runtime, config), self.counters, config)
        self.leases = Leases(storage, self.store, self.buffer, self.pool, self.counters, config)
        self.shutdown_timeout: int = settings["shutdown_timeout_secs"]
        self.retention_hours: int = settings["trace_retention_hours"]
        self._leases = Periodic("queue-leases", self.leases.interval, self.leases.tick, at_start=True)
        self._background: list[Periodic] = []
        if settings["dlq_retry_enabled"]:
            self._background.append(Periodic("dlq-retry", settings["dlq_poll_interval_secs"], self.retry_due))
        if self.retention_hours > 0:
            self._background.append(Periodic("trace-retention", settings["trace_cleanup_interval_secs"], self.sweep))
        self._started = False

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the workers, the lease keeper (which first resumes jobs left by stopped
        processes), the dead-letter retry task and the retention sweep."""
        self.pool.start()
        self._leases.start()
        for task in self._background:
            task.start()
        self._started = True

    async def stop(self) -> None:
        """Stop the retry and retention tasks, let queued and running jobs finish for up to
        ``queue.shutdown_timeout_secs``, then release the claims of whatever is left."""
        if not self._started:
            return
        self._started = False
        for task in self._background:
            await task.stop()
        depth, running = self.buffer.count, self.pool.running
        if depth or running:
            logger.info("draining the async queue: %d queued, %d running; waiting up to %ss",
                        depth, running, self.shutdown_timeout)
        if not await self.pool.drain(self.shutdown_timeout):
            logger.warning("async jobs still running after queue.shutdown_timeout_secs (%ss) were abandoned; "
                           "the next start marks them failed and dead-letters them", self.shutdown_timeout)
        await self._leases.stop()
        left = self.buffer.drain_remaining()
        try:
            await self.store.release(RELEASED)
        except Exception:
            logger.exception("could not release this process's async jobs; they are resumed once their lease runs out")
        if left:
            logger.info("%d queued async job(s) left for the next start", len(left))

    # --- submissions ---------------------------------------------------------------------------

    async def accept(self, job: Job) -> None:
        """Persist ``job`` and queue it. 503 when the queue is full, 500 ``QUEUE_ERROR`` when it is closed."""
        self._reserve(job)
        try:
            await self.store.accept(job, self.leases.lease_until())
        except BaseException:
            self.buffer.cancel(job.size)
            raise
        self.buffer.put(job)
        self.counters.accepted += 1

    def _reserve(self, job: Job) -> None:
        try:
            self.buffer.reserve(job.size)
        except QueueClosed:
            raise ApiError("QUEUE_ERROR", "An internal queue error occurred") from None
        except ApiError:
            self.counters.rejected += 1
            raise

    # --- dead letters --------------------------------------------------------------------------

    async def requeue(self, entry: dict[str, Any], *, attempt: int) -> Job | None:
        """Run dead-letter ``entry`` again as a new job counted as ``attempt``; None when another
        process requeued it first. Raises like :meth:`accept` when there is no room, and
        ValueError when its stored payload or metadata is not JSON."""
        load_json(entry["payload_json"])
        load_json(entry["metadata_json"])
        channel = self.runtime.snapshot.channels.get(entry["channel"])
        if channel is None:  # the retry fails with "Channel … not found" and counts as an attempt
            job = retry_job(entry, attempt=attempt, record=RECORD_FULL)
        else:
            job = retry_job(entry, attempt=attempt, record=channel.trace.async_record(channel.name)[0],
                            steps=channel.trace_tasks, channel_id=channel.channel_id)
        self._reserve(job)
        try:
            requeued = await self.store.requeue(entry["id"], job, self.leases.lease_until())
        except BaseException:
            self.buffer.cancel(job.size)
            raise
        if not requeued:
            self.buffer.cancel(job.size)
            return None
        self.buffer.put(job)
        return job

    async def retry_due(self) -> int:
        """One round of the retry task: requeue due entries while there is room; how many."""
        retried = 0
        while self.buffer.room():
            entries = await self.storage.due_dlq(stamp(), DLQ_BATCH)
            for entry in entries:
                try:
                    job = await self.requeue(entry, attempt=int(entry["retry_count"]) + 1)
                except ValueError:
                    await self._exhaust(entry, "its stored payload or metadata is not valid JSON")
                    continue
                except ApiError:
                    return retried  # full: the next round goes on
                if job is not None:
                    retried += 1
                    self.counters.dlq_retries += 1
            if len(entries) < DLQ_BATCH:
                break
        return retried

    async def _exhaust(self, entry: dict[str, Any], why: str) -> None:
        await self.storage.update_dlq(entry["id"], {"retry_count": entry["max_retries"],
                                                    "error_message": f"{entry['error_message']} (not retried: {why})"})
        self.counters.dlq_exhausted += 1
        logger.warning("dead-letter entry %s is exhausted: %s", entry["id"], why)

    async def sweep(self) -> int:
        """One round of trace retention."""
        deleted = await sweep_traces(self.storage, self.retention_hours)
        self.counters.retention_deleted += deleted
        return deleted

    # --- status --------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Depth, running jobs and the counters of this process (for engine status and metrics)."""
        return {"depth": self.buffer.count, "bytes": self.buffer.bytes, "running": self.pool.running,
                "workers": self.pool.size, **self.counters.as_dict()}
