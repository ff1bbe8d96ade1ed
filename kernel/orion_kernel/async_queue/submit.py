"""The ``async`` ingress terminal: what an accepted async submission does (api-data.md §7.1 steps 3–5).

The channel's async policies ran before (rate limit, CORS, validation, deduplication). The job
is persisted (with its pending trace) before the 202 goes out, so an accepted job survives a
crash; a full queue answers 503 before anything is written.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from ..governance import ChannelRequest, Reply
from ..sql import dump_json
from .jobs import Job

if TYPE_CHECKING:
    from ..engine.snapshot import CompiledChannel
    from .service import AsyncQueue

ACCEPTED = 202


class AsyncSubmit:
    """Turns a request that passed the channel's async chain into a queued job."""

    def __init__(self, queue: AsyncQueue) -> None:
        self.queue = queue

    async def __call__(self, channel: CompiledChannel, request: ChannelRequest) -> Reply:
        message = request.message
        record, warning = channel.trace.async_record(channel.name)
        bucket = None
        if channel.rollout_key is not None:
            bucket = channel.rollout_key.bucket(request.headers, request.client_ip)
        job = Job.new(channel.name, dump_json(message.payload), dump_json(message.context["metadata"]), record=record,
                      steps=channel.trace_tasks, profile=request.profile, bucket=bucket, channel_id=channel.channel_id)
        await self.queue.accept(job)
        headers = {"Warning": f'299 - "{warning}"'} if warning is not None else None
        return Reply(ACCEPTED, orjson.dumps({"trace_id": job.trace_id}), headers=headers)
