"""The ``backpressure`` policy on its own: slots taken, refused when full, released on every exit."""
from __future__ import annotations

import asyncio

import pytest

from orion_builtins.governance import backpressure
from orion_kernel import ApiError, Message
from orion_kernel.governance import INGRESS_CALL, INGRESS_KAFKA, INGRESS_SYNC, ChannelRequest, PolicyConfigError, Reply


def request() -> ChannelRequest:
    return ChannelRequest("orders", INGRESS_SYNC, Message({}), "rid", client_ip="127.0.0.1")


def bind(**block):
    return backpressure.bind(block, None, "orders")


@pytest.mark.parametrize(("block", "problems"), [
    ({}, [("max_concurrent", "Missing data for required field.")]),
    ({"max_concurrent": True}, [("max_concurrent", "Not a valid integer.")]),
    ({"max_concurrent": "2"}, [("max_concurrent", "Not a valid integer.")]),
    ({"max_concurrent": -1}, [("max_concurrent", "Must be greater than or equal to 0 and less than or equal to 2147483647.")]),
    ({"max_concurrent": 1, "queue_depth": "x"}, [("queue_depth", "Not a valid integer.")]),
    ({"max_concurrent": 1, "slots": 2}, [("slots", "Unknown field.")]),
])
def test_bad_blocks(block, problems):
    with pytest.raises(PolicyConfigError) as info:
        backpressure.bind(block, None, "orders")
    assert info.value.problems == problems


def test_a_block_must_be_an_object():
    with pytest.raises(PolicyConfigError) as info:
        backpressure.bind(5, None, "orders")
    assert info.value.problems == [("", "Invalid input type.")]


def test_queue_depth_is_accepted_and_ignored_and_the_paths_are_sync_call_kafka():
    assert bind(max_concurrent=3, queue_depth=10).limit == 3
    [policy] = backpressure.orion_channel_policies()
    assert policy.ingress == {INGRESS_SYNC, INGRESS_CALL, INGRESS_KAFKA}
    assert (policy.config_key, policy.order) == ("backpressure", 600)


async def test_full_channel_refuses_at_once_with_503_and_frees_slots_afterwards():
    limit = bind(max_concurrent=2)
    release = asyncio.Event()

    async def slow(req: ChannelRequest) -> Reply:
        await release.wait()
        return Reply(200, b"{}")

    running = [asyncio.create_task(limit(request(), slow)) for _ in range(2)]
    await asyncio.sleep(0)
    assert limit.active == 2
    with pytest.raises(ApiError) as info:
        await limit(request(), slow)
    assert (info.value.status, info.value.code, info.value.message) == (
        503, "SERVICE_UNAVAILABLE", "Channel 'orders' is at capacity")
    release.set()
    assert [r.status for r in await asyncio.gather(*running)] == [200, 200]
    assert limit.active == 0
    assert (await limit(request(), slow)).status == 200


async def test_zero_rejects_everything():
    async def run(req: ChannelRequest) -> Reply:
        raise AssertionError("must not run")

    with pytest.raises(ApiError):
        await bind(max_concurrent=0)(request(), run)


async def test_slot_is_released_on_error_timeout_and_cancellation():
    limit = bind(max_concurrent=1)

    async def fails(req: ChannelRequest) -> Reply:
        raise ApiError("ENGINE_ERROR", "boom")

    with pytest.raises(ApiError):
        await limit(request(), fails)
    assert limit.active == 0

    async def times_out(req: ChannelRequest) -> Reply:
        async with asyncio.timeout(0.01):
            await asyncio.sleep(5)
        return Reply(200, b"")

    with pytest.raises(TimeoutError):
        await limit(request(), times_out)
    assert limit.active == 0

    started = asyncio.Event()

    async def hangs(req: ChannelRequest) -> Reply:
        started.set()
        await asyncio.sleep(5)
        return Reply(200, b"")

    task = asyncio.create_task(limit(request(), hangs))
    await started.wait()
    assert limit.active == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert limit.active == 0
