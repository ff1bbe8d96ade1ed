"""What a channel does once every policy let a request through: the last link of each chain.

``sync`` runs the workflows and answers the envelope (api-data.md §5.1 steps 6–8); ``call``
runs them for ``channel_call`` and hands the message back. The async submission registers its
own terminal (the queue).
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson

from . import profiling
from .errors import TIMEOUT, VALIDATION, ApiError, RunAborted
from .governance import ChannelRequest, Reply
from .ids import uuid7_str
from .message import storage_now
from .trace_policy import task_trace_text

if TYPE_CHECKING:
    from .engine.runtime import EngineRuntime
    from .engine.snapshot import CompiledChannel
    from .trace_writer import TraceWriter

Terminal = Callable[["CompiledChannel", ChannelRequest], Awaitable[Reply]]


def abort_error(exc: RunAborted) -> ApiError:
    """Map a run stopped by a task failure to its HTTP error (api-data.md §6)."""
    kind = exc.cause.kind
    if kind == VALIDATION:
        return ApiError("VALIDATION_ERROR", str(exc))
    if kind == TIMEOUT:
        return ApiError("TIMEOUT_ERROR", str(exc))
    return ApiError("ENGINE_ERROR", "An internal engine error occurred")


async def execute_within_timeout(runtime: EngineRuntime, channel: CompiledChannel, request: ChannelRequest,
                                 steps: list[dict[str, Any]] | None = None, bucket: int | None = None) -> None:
    """Run the channel's workflows within ``request.run_timeout`` seconds (set by the ``timeout_ms``
    policy): an overstaying run is cancelled and TimeoutError raised for the policy to answer."""
    async with asyncio.timeout(request.run_timeout):
        await runtime.execute(channel, request.message, request.request_id, steps=steps, bucket=bucket)


class SyncRun:
    """Run the channel, serialize the envelope once, hand the trace row to the writer.

    A profiled request (``request.profile``) gets ``_orion.profile`` appended to the answer, never
    to the stored result; a channel with ``config.tracing.per_task`` stores its steps on the row.
    """

    def __init__(self, runtime: EngineRuntime, traces: TraceWriter, config: dict[str, Any]) -> None:
        self.runtime = runtime
        self.traces = traces
        self.max_result_size: int = config["queue"]["max_result_size_bytes"]

    async def __call__(self, channel: CompiledChannel, request: ChannelRequest) -> Reply:
        message = request.message
        profile = profiling.current() if request.profile else None
        steps: list[dict[str, Any]] | None = [] if channel.trace_tasks else None
        started = time.perf_counter()
        try:
            bucket = None
            if channel.rollout_key is not None:
                bucket = channel.rollout_key.bucket(request.headers, request.client_ip)
            if request.run_timeout is None:
                await self.runtime.execute(channel, message, request.request_id, steps=steps, bucket=bucket)
            else:
                await execute_within_timeout(self.runtime, channel, request, steps, bucket)
        except RunAborted as exc:
            raise abort_error(exc) from None
        duration_ms = (time.perf_counter() - started) * 1000.0
        body = orjson.dumps({"id": message.id, "status": "ok", "data": message.context["data"], "errors": message.errors})
        limit = self.max_result_size
        if limit and len(body) > limit:
            raise ApiError("RESPONSE_TOO_LARGE", f"Result size {len(body)} bytes exceeds limit of {limit} bytes")
        if channel.trace.keeps_sync(bool(message.errors)):  # mode, sample_rate, errors_only
            stored = time.perf_counter() if profile is not None else 0.0
            now = storage_now()
            await self.traces.record({
                "id": uuid7_str(), "channel": channel.name, "channel_id": channel.channel_id, "mode": "sync",
                "status": "completed", "input_json": orjson.dumps(message.payload).decode(), "result_json": body.decode(),
                "error_message": None, "duration_ms": round(duration_ms, 3), "started_at": now, "completed_at": now,
                "created_at": now, "updated_at": now,
                "task_trace_json": task_trace_text(channel.name, steps, self.max_result_size),
            }, channel.trace.mode)
            if profile is not None:
                profile.trace_store_ms = (time.perf_counter() - stored) * 1000.0
        if profile is not None:
            body = profile.attach(body, duration_ms)
        return Reply(200, body, message=message)


class CallRun:
    """``channel_call``: run the channel's workflows on the caller's child message."""

    def __init__(self, runtime: EngineRuntime) -> None:
        self.runtime = runtime

    async def __call__(self, channel: CompiledChannel, request: ChannelRequest) -> Reply:
        if request.run_timeout is None:
            await self.runtime.execute(channel, request.message, request.request_id)
        else:
            await execute_within_timeout(self.runtime, channel, request)
        return Reply(200, b"", message=request.message)
