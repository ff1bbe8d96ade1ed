"""Run one async job's workflows and describe how it ended (api-data.md §7.2 steps 2–4)."""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import profiling
from ..errors import RunAborted
from ..message import Message
from ..sql import dump_json, load_json
from ..trace_policy import task_trace_text
from .jobs import COMPLETED, FAILED, Job

if TYPE_CHECKING:
    from ..engine.runtime import EngineRuntime
    from ..engine.snapshot import CompiledChannel

logger = logging.getLogger("orion.queue")


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a job ended: ``completed`` with ``result_json``, or ``failed`` with ``error``.

    ``retryable`` failures (engine errors, timeouts, a missing channel) go to the dead-letter
    queue; a result over the size limit would only fail again, so it does not.
    """

    status: str
    duration_ms: float
    result_json: str | None = None
    error: str | None = None
    task_trace_json: str | None = None
    retryable: bool = False


class JobRunner:
    """Builds the message of a job and runs its channel's workflows within ``processing_timeout_ms``.

    :meth:`abandon` makes every run in progress stop at its next await (shutdown after
    ``queue.shutdown_timeout_secs``); an abandoned run returns None and nothing is stored for it.
    """

    def __init__(self, runtime: EngineRuntime, config: dict[str, Any]) -> None:
        self.runtime = runtime
        self.timeout_ms: int = config["queue"]["processing_timeout_ms"]
        self.max_result_size: int = config["queue"]["max_result_size_bytes"]
        self.abandoned = False
        self._scopes: set[asyncio.Timeout] = set()

    def abandon(self) -> None:
        self.abandoned = True
        now = asyncio.get_running_loop().time()
        for scope in self._scopes:
            scope.reschedule(now)

    async def run(self, job: Job) -> Outcome | None:
        started = time.perf_counter()
        channel = self.runtime.snapshot.channels.get(job.channel)
        if channel is None:
            return Outcome(FAILED, 0.0, error=f"Channel '{job.channel}' not found", retryable=True)
        steps: list[dict[str, Any]] | None = [] if job.steps else None
        profile: profiling.RequestProfile | None = None
        try:
            metadata = load_json(job.metadata_json)
            message = Message(load_json(job.payload_json), metadata)
            headers = metadata.get("headers") if isinstance(metadata.get("headers"), dict) else {}
            bucket = job.bucket
            if bucket is None and channel.rollout_key is not None:
                bucket = channel.rollout_key.bucket(headers, None)
            if job.profile:  # in a task of its own, so the profile's samples stay in that task's context
                profile = await asyncio.create_task(self._profiled(channel, message, headers, steps, bucket))
            else:
                await self._execute(channel, message, headers, steps, bucket)
        except RunAborted as exc:
            return self._failed(job, started, str(exc), steps)
        except TimeoutError:
            if self.abandoned:
                return None
            return self._failed(job, started, f"Timeout error: Processing timed out after {self.timeout_ms}ms", steps)
        except Exception as exc:  # a bug must fail the job, never the worker
            logger.exception("async job %s on channel '%s' raised", job.id, job.channel)
            return self._failed(job, started, f"Internal error: {type(exc).__name__}: {exc}", steps)
        duration_ms = _elapsed_ms(started)
        snapshot = message.snapshot()
        if profile is not None:
            snapshot["_orion"] = {"profile": profile.render(duration_ms)}  # api-data.md §5.3
        result = dump_json(snapshot)
        limit = self.max_result_size
        if limit and len(result) > limit:
            return Outcome(FAILED, duration_ms, error=f"Result size {len(result)} bytes exceeds limit of {limit} bytes",
                           task_trace_json=task_trace_text(job.channel, steps, limit))
        return Outcome(COMPLETED, duration_ms, result_json=result, task_trace_json=task_trace_text(job.channel, steps, limit))

    async def _execute(self, channel: CompiledChannel, message: Message, headers: dict[str, Any],
                       steps: list[dict[str, Any]] | None, bucket: int | None) -> None:
        async with asyncio.timeout(self.timeout_ms / 1000.0) as scope:
            self._scopes.add(scope)
            try:
                await self.runtime.execute(channel, message, headers.get("x-request-id"), steps=steps, bucket=bucket)
            finally:
                self._scopes.discard(scope)

    async def _profiled(self, channel: CompiledChannel, message: Message, headers: dict[str, Any],
                        steps: list[dict[str, Any]] | None, bucket: int | None) -> profiling.RequestProfile:
        profile = profiling.begin()
        await self._execute(channel, message, headers, steps, bucket)
        return profile

    def _failed(self, job: Job, started: float, error: str, steps: list[dict[str, Any]] | None) -> Outcome:
        return Outcome(FAILED, _elapsed_ms(started), error=error, retryable=True,
                       task_trace_json=task_trace_text(job.channel, steps, self.max_result_size))


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 3)
