"""The ``timeout_ms`` policy on its own: its config, the limit it sets, the 504 it answers."""
from __future__ import annotations

import asyncio

import pytest

from orion_builtins.governance import timeout
from orion_kernel import ApiError, Message
from orion_kernel.governance import INGRESS_ASYNC, INGRESS_CALL, INGRESS_KAFKA, INGRESS_SYNC, ChannelRequest, PolicyConfigError, Reply
from orion_kernel.testing import policy_catalog


def request() -> ChannelRequest:
    return ChannelRequest("slow-ch", INGRESS_SYNC, Message({}), "rid", client_ip="127.0.0.1")


def bind(ms):
    return timeout.bind(ms, None, "slow-ch")


@pytest.mark.parametrize(("block", "problem"), [
    ("5s", "Not a valid integer."), (1.5, "Not a valid integer."), (True, "Not a valid integer."),
    (-1, "Must be greater than or equal to 0 and less than or equal to 2147483647."), ({"ms": 5}, "Not a valid integer."),
])
def test_only_non_negative_integers_bind(block, problem):
    with pytest.raises(PolicyConfigError) as info:
        bind(block)
    assert info.value.problems == [("", problem)]


def test_zero_means_no_limit_and_binds_nothing():
    assert bind(0) is None


def test_it_applies_to_sync_call_and_kafka_runs_only():
    [policy] = timeout.orion_channel_policies()
    assert policy.ingress == {INGRESS_SYNC, INGRESS_CALL, INGRESS_KAFKA}
    assert INGRESS_ASYNC not in policy.ingress
    assert (policy.config_key, policy.order) == ("timeout_ms", 700)


async def test_a_fast_run_passes_with_the_limit_set_on_the_request():
    seen = []

    async def run(req: ChannelRequest) -> Reply:
        seen.append(req.run_timeout)
        return Reply(200, b"{}")

    reply = await bind(250)(request(), run)
    assert reply.status == 200 and seen == [0.25]


async def test_an_overstaying_run_is_cancelled_and_answered_504():
    cancelled = asyncio.Event()

    async def run(req: ChannelRequest) -> Reply:  # what the terminal does with run_timeout
        async with asyncio.timeout(req.run_timeout):
            try:
                await asyncio.sleep(5)
            except asyncio.CancelledError:
                cancelled.set()
                raise
        return Reply(200, b"{}")

    with pytest.raises(ApiError) as info:
        await bind(20)(request(), run)
    assert (info.value.status, info.value.code) == (504, "TIMEOUT")
    assert info.value.message == "Workflow execution on channel 'slow-ch' exceeded 20ms timeout"
    assert cancelled.is_set()


async def test_other_errors_pass_through():
    async def run(req: ChannelRequest) -> Reply:
        raise ApiError("RESPONSE_TOO_LARGE", "too big")

    with pytest.raises(ApiError) as info:
        await bind(1000)(request(), run)
    assert info.value.code == "RESPONSE_TOO_LARGE"


def test_catalog_reports_bad_values_at_channel_config():
    [error] = policy_catalog().check({"timeout_ms": -5})
    assert error.to_json() == {"path": "channel.config", "code": "INVALID",
                               "message": "channel.config does not match the ChannelConfig shape: timeout_ms: Must be greater than or equal to 0 and less than or equal to 2147483647."}
