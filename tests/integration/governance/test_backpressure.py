"""``backpressure`` through the server: 503 when every slot is taken (name and REST routes), slots
freed after success, failure and timeout, channel_call into a full channel, bad blocks refused."""
from __future__ import annotations

import asyncio

import pytest

from tests.integration.governance.stateless_support import (
    ECHO,
    HOLD_WORKFLOW,
    SHAPE,
    Hold,
    assert_error,
    channel,
    create_channel_error,
    rest,
    send,
    task,
    workflow,
)


@pytest.fixture
def hold():
    return Hold()


async def test_a_full_channel_answers_503_at_once_and_serves_again_when_a_slot_frees(orion_client, hold):
    client = await orion_client(plugins=[hold.plugin()], workflows=[HOLD_WORKFLOW], channels=[
        rest("busy", "/busy/{id}", "held", config={"backpressure": {"max_concurrent": 2, "queue_depth": 5}})])
    first = [asyncio.create_task(send(client, path)) for path in ("busy", "busy/1")]
    while hold.started < 2:
        await asyncio.sleep(0.01)
    for path in ("busy", "busy/2"):  # by name and by route: one channel, one counter
        assert_error(*await send(client, path), 503, "SERVICE_UNAVAILABLE", "Channel 'busy' is at capacity")
    assert hold.started == 2  # refused requests never reached the workflow
    hold.release.set()
    assert [status for status, _, _ in await asyncio.gather(*first)] == [200, 200]
    status, body, _ = await send(client, "busy/3")
    assert status == 200 and body["data"] == {"held": True}


async def test_zero_refuses_every_request(orion_client):
    client = await orion_client(workflows=[ECHO], channels=[channel("closed", config={"backpressure": {"max_concurrent": 0}})])
    assert_error(*await send(client, "closed"), 503, "SERVICE_UNAVAILABLE", "Channel 'closed' is at capacity")


async def test_slots_are_released_after_failures_and_timeouts(orion_client, hold):
    failing = workflow("failing", task("fail", "channel_call", channel="nowhere"))
    client = await orion_client(plugins=[hold.plugin()], workflows=[HOLD_WORKFLOW, failing], channels=[
        channel("one-failing", "failing", config={"backpressure": {"max_concurrent": 1}}),
        channel("one-slow", "held", config={"backpressure": {"max_concurrent": 1}, "timeout_ms": 30}),
    ])
    for _ in range(3):  # a leaked slot would turn the second attempt into a 503
        status, body, _ = await send(client, "one-failing")
        assert (status, body["error"]["code"]) == (500, "ENGINE_ERROR")
        status, body, _ = await send(client, "one-slow")
        assert (status, body["error"]["code"]) == (504, "TIMEOUT")


async def test_a_channel_call_into_a_full_channel_is_refused_with_a_clear_message(orion_client, hold):
    caller = workflow("caller", {**task("call", "channel_call", channel="busy"), "continue_on_error": True})
    client = await orion_client(plugins=[hold.plugin()], workflows=[HOLD_WORKFLOW, caller], channels=[
        channel("busy", "held", config={"backpressure": {"max_concurrent": 1}}), channel("entry", "caller")])
    in_flight = asyncio.create_task(send(client, "busy"))
    await hold.running.wait()
    status, body, _ = await send(client, "entry")
    assert status == 200
    [error] = body["errors"]
    assert error["message"] == ("Task call error: Function execution error: channel_call to 'busy' was refused: "
                                "SERVICE_UNAVAILABLE: Channel 'busy' is at capacity")
    hold.release.set()
    assert (await in_flight)[0] == 200


@pytest.mark.parametrize(("block", "detail"), [
    ({}, "backpressure.max_concurrent: Missing data for required field."),
    ({"max_concurrent": True}, "backpressure.max_concurrent: Not a valid integer."),
    ({"max_concurrent": -1}, "backpressure.max_concurrent: Must be greater than or equal to 0 and less than or equal to 2147483647."),
    (5, "backpressure: Invalid input type."),
])
async def test_bad_blocks_are_refused_at_create(orion_client, block, detail):
    client = await orion_client()
    details = await create_channel_error(client, channel("x", config={"backpressure": block}))
    assert details == [{"path": "channel.config", "code": "INVALID", "message": SHAPE + detail}]
