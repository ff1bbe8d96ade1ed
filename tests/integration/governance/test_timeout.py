"""``timeout_ms`` through the server: 504 on name and REST routes, the run really cancelled, no
trace stored, channel_call into a bounded channel, bad values refused at create."""
from __future__ import annotations

import asyncio
import time

import pytest

from tests.integration.governance.stateless_support import (
    ECHO,
    HOLD_WORKFLOW,
    SHAPE,
    Hold,
    assert_error,
    channel,
    create_channel_error,
    mapping,
    rest,
    send,
    task,
    workflow,
)

SYNC_TRACES = {"tracing": {"storage": {"mode": "sync"}}}


@pytest.fixture
def hold():
    return Hold()


async def traces_of(client, name):
    resp = await client.get("/api/v1/data/traces", params={"channel": name})
    return (await resp.json())["data"]


async def test_an_overstaying_run_is_cancelled_and_answered_504_on_name_and_rest_routes(orion_client, hold):
    client = await orion_client(plugins=[hold.plugin()], config=SYNC_TRACES, workflows=[HOLD_WORKFLOW], channels=[
        channel("slow-ch", "held", config={"timeout_ms": 50}),
        rest("slow-rest", "/slow/{id}", "held", config={"timeout_ms": 50}),
    ])
    for path, name in (("slow-ch", "slow-ch"), ("slow/7", "slow-rest")):
        started = time.perf_counter()
        status, body, headers = await send(client, path)
        assert time.perf_counter() - started < 2.0
        assert_error(status, body, headers, 504, "TIMEOUT", f"Workflow execution on channel '{name}' exceeded 50ms timeout")
    assert (hold.started, hold.cancelled, hold.finished) == (2, 2, 0)  # cancelled, not left running
    hold.release.set()
    await asyncio.sleep(0.05)
    assert hold.finished == 0
    assert await traces_of(client, "slow-ch") == []  # a failed sync run leaves no trace row


async def test_a_run_within_the_limit_answers_normally(orion_client):
    client = await orion_client(workflows=[ECHO], channels=[channel("quick", config={"timeout_ms": 5000})])
    status, body, _ = await send(client, "quick", {"n": 1})
    assert status == 200 and body["data"] == {"in": {"n": 1}, "ran": True}


async def test_zero_means_no_limit(orion_client, hold):
    client = await orion_client(plugins=[hold.plugin()], workflows=[HOLD_WORKFLOW],
                                channels=[channel("unbounded", "held", config={"timeout_ms": 0})])
    pending = asyncio.create_task(send(client, "unbounded"))
    await hold.running.wait()
    await asyncio.sleep(0.1)
    hold.release.set()
    status, body, _ = await pending
    assert status == 200 and body["data"] == {"held": True}


async def test_a_channel_call_into_a_bounded_channel_times_out_with_a_clear_message(orion_client, hold):
    caller = workflow("caller", task("call", "channel_call", channel="slow-ch"))
    tolerant = workflow("tolerant", {**task("call", "channel_call", channel="slow-ch"), "continue_on_error": True},
                        mapping("after", "data.after", True))
    client = await orion_client(plugins=[hold.plugin()], workflows=[HOLD_WORKFLOW, caller, tolerant], channels=[
        channel("slow-ch", "held", config={"timeout_ms": 50}), channel("entry", "caller"), channel("entry2", "tolerant")])
    status, body, headers = await send(client, "entry")
    assert_error(status, body, headers, 504, "TIMEOUT_ERROR",
                 "Timeout error: channel_call to 'slow-ch' timed out: Workflow execution on channel 'slow-ch' exceeded 50ms timeout")
    status, body, _ = await send(client, "entry2")
    assert status == 200 and body["data"] == {"after": True}
    [error] = body["errors"]
    assert error["code"] == "TASK_ERROR" and "exceeded 50ms timeout" in error["message"]
    assert hold.cancelled == 2


@pytest.mark.parametrize(("value", "detail"), [
    ("5s", "timeout_ms: Not a valid integer."), (-1, "timeout_ms: Must be greater than or equal to 0 and less than or equal to 2147483647."),
    (2.5, "timeout_ms: Not a valid integer."),
])
async def test_bad_values_are_refused_at_create(orion_client, value, detail):
    client = await orion_client()
    details = await create_channel_error(client, channel("x", config={"timeout_ms": value}))
    assert details == [{"path": "channel.config", "code": "INVALID", "message": SHAPE + detail}]
