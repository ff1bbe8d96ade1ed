"""The in-memory job buffer: bounded by count and bytes, FIFO, closed cleanly."""
from __future__ import annotations

import asyncio

import pytest

from orion_kernel.async_queue.buffer import JobBuffer, QueueClosed
from orion_kernel.async_queue.jobs import Job
from orion_kernel.errors import ApiError


def job(size: int = 10, channel: str = "c") -> Job:
    return Job.new(channel, "x" * (size - 2), "{}")


def test_reserve_is_bounded_by_count_with_the_documented_503():
    buffer = JobBuffer(buffer_size=2, max_bytes=0)
    buffer.reserve(10)
    buffer.reserve(10)
    with pytest.raises(ApiError) as refused:
        buffer.reserve(10)
    assert refused.value.status == 503 and refused.value.code == "SERVICE_UNAVAILABLE"
    assert refused.value.message == "Async queue is full (2 pending jobs, queue.buffer_size 2)"
    buffer.cancel(10)
    buffer.reserve(10)  # a cancelled reservation gives its room back
    assert (buffer.count, buffer.bytes) == (2, 20)


def test_reserve_is_bounded_by_bytes_with_the_spec_message():
    buffer = JobBuffer(buffer_size=100, max_bytes=25)
    buffer.reserve(20)
    with pytest.raises(ApiError) as refused:
        buffer.reserve(6)
    assert refused.value.message == "Trace queue memory limit exceeded (20 + 6 > 25 bytes)"
    buffer.reserve(5)  # exactly at the limit is allowed
    assert buffer.bytes == 25


async def test_jobs_come_out_in_order_and_free_their_room():
    buffer = JobBuffer(buffer_size=10, max_bytes=0)
    jobs = [job(10 + i) for i in range(3)]
    for item in jobs:
        buffer.reserve(item.size)
        buffer.put(item)
    assert [await buffer.get() for _ in jobs] == jobs
    assert (buffer.count, buffer.bytes) == (0, 0)


async def test_close_lets_every_waiting_worker_finish_the_queue_then_stop():
    buffer = JobBuffer(buffer_size=10, max_bytes=0)
    first = job()
    buffer.reserve(first.size)
    buffer.put(first)
    buffer.close()
    with pytest.raises(QueueClosed):
        buffer.reserve(1)
    assert buffer.room() == 0
    results = await asyncio.gather(buffer.get(), buffer.get(), buffer.get())
    assert results == [first, None, None]


async def test_drain_remaining_takes_what_no_worker_took():
    buffer = JobBuffer(buffer_size=10, max_bytes=0)
    left = [job(), job()]
    for item in left:
        buffer.reserve(item.size)
        buffer.put(item)
    buffer.close()
    assert buffer.drain_remaining() == left
    assert (buffer.count, buffer.bytes) == (0, 0)
