"""The queue workers: take a job, mark it running, run it, store how it ended (api-data.md §7.2)."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..message import storage_now
from ..trace_policy import RECORD_ERRORS, RECORD_FULL
from .buffer import JobBuffer
from .counters import QueueCounters
from .dlq import dead_letter, is_exhausted
from .jobs import COMPLETED, FAILED, Job
from .runner import JobRunner, Outcome
from .store import JobStore

logger = logging.getLogger("orion.queue")

PERSISTENCE_FAILED = "Result persistence failed after retries"


class WorkerPool:
    """``queue.workers`` tasks sharing one :class:`JobBuffer`.

    :meth:`drain` lets them finish what is queued and running; after its timeout the runs in
    progress are abandoned (their rows keep this process's claim until it is released).
    """

    def __init__(self, buffer: JobBuffer, store: JobStore, runner: JobRunner, counters: QueueCounters,
                 config: dict[str, Any]) -> None:
        self.buffer = buffer
        self.store = store
        self.runner = runner
        self.counters = counters
        self.size: int = config["queue"]["workers"]
        self.max_retries: int = config["queue"]["dlq_max_retries"]
        self.running = 0
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._work(), name=f"orion-queue-worker-{i}") for i in range(self.size)]

    async def drain(self, timeout: float) -> bool:
        """Close the buffer and wait for the workers to finish it, up to ``timeout`` seconds;
        then abandon what still runs. True when everything finished in time."""
        self.buffer.close()
        if not self._tasks:
            return True
        _, late = await asyncio.wait(self._tasks, timeout=timeout)
        if late:
            self.runner.abandon()
            _, stuck = await asyncio.wait(late, timeout=1.0)
            for task in stuck:  # a run that ignores cancellation: stop waiting for it
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        self._tasks = []
        return not late

    async def _work(self) -> None:
        while (job := await self.buffer.get()) is not None:
            if self.runner.abandoned:
                continue  # left queued: the released claim hands it to the next process
            self.running += 1
            try:
                await self.process(job)
            except Exception:
                # storage failed after retries: let the claim run out, recovery settles the job
                self.store.forget(job.id)
                logger.exception("async job %s on channel '%s' could not be stored; it will be recovered", job.id, job.channel)
            finally:
                self.running -= 1

    async def process(self, job: Job) -> None:
        """One job from start to its stored end."""
        started_at = storage_now()
        if not await self.store.start(job, started_at):
            self.store.forget(job.id)
            self.counters.lost_claims += 1
            return
        outcome = await self.runner.run(job)
        if outcome is None:
            return  # abandoned at shutdown
        await self.settle(job, outcome, started_at)

    async def settle(self, job: Job, outcome: Outcome, started_at: str | None) -> None:
        """Store how ``job`` ended: its trace per its record, a dead-letter entry when it failed."""
        now = storage_now()
        failed = outcome.status == FAILED
        entry = dead_letter(job, outcome.error or "", self.max_retries) if failed and outcome.retryable else None
        try:
            stored = await self.store.finish(job, **trace_writes(job, outcome, started_at, now), dead_letter=entry)
        except Exception:
            if failed or job.record != RECORD_FULL:
                raise
            # the result could not be written (api-data.md §7.2 step 3): record the failure without it
            logger.exception("storing the result of async job %s failed after retries", job.id)
            outcome, entry = Outcome(FAILED, outcome.duration_ms, error=PERSISTENCE_FAILED), None
            stored = await self.store.finish(job, **trace_writes(job, outcome, started_at, now))
        if not stored:
            self.counters.lost_claims += 1
            return
        self.counters.ran(outcome.duration_ms, outcome.status == COMPLETED)
        if entry is not None:
            self.counters.dead_lettered += 1
            if is_exhausted(entry):
                self.counters.dlq_exhausted += 1
                logger.warning("async job %s on channel '%s' failed after %d retries; dead-letter entry %s is exhausted: %s",
                               job.id, job.channel, job.attempt, entry["id"], outcome.error)


def trace_writes(job: Job, outcome: Outcome, started_at: str | None, now: str) -> dict[str, dict[str, Any] | None]:
    """What the end of ``job`` writes to its trace: an update of the row its submission stored
    (``RECORD_FULL``), a failed row of its own (``RECORD_ERRORS``, failures only), or nothing."""
    if job.record == RECORD_FULL:
        update: dict[str, Any] = {"status": outcome.status, "duration_ms": outcome.duration_ms, "completed_at": now,
                                  "task_trace_json": outcome.task_trace_json}
        if outcome.status == FAILED:
            update["error_message"] = outcome.error
        else:
            update["result_json"] = outcome.result_json
        return {"trace_update": update, "trace_insert": None}
    if job.record == RECORD_ERRORS and outcome.status == FAILED:
        row = job.trace_row(FAILED, error_message=outcome.error, duration_ms=outcome.duration_ms, started_at=started_at,
                            completed_at=now, task_trace_json=outcome.task_trace_json)
        return {"trace_update": None, "trace_insert": row}
    return {"trace_update": None, "trace_insert": None}
