"""The ``deduplication`` policy on its own, over the memory store and a real Redis."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
import pytest

from orion_builtins.governance import deduplication
from orion_builtins.stores.memory import MemoryStore
from orion_builtins.stores.redis import RedisStore
from orion_kernel import ApiError, Message
from orion_kernel.governance import (
    INGRESS_ASYNC,
    INGRESS_CALL,
    INGRESS_SYNC,
    ChannelRequest,
    PolicyConfigError,
    PolicySetup,
    Reply,
)
from orion_kernel.testing import default_expression_engine, in_memory_config

def bind(store: Any, channel: str = "orders", **block: Any):
    setup = PolicySetup(default_expression_engine(), in_memory_config(), store, store)
    return deduplication.bind({"header": "Idempotency-Key", **block}, setup, channel)


def request(key: str | None = "key-001", payload: Any = None, ingress: str = INGRESS_SYNC, channel: str = "orders",
            **metadata: Any) -> ChannelRequest:
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["idempotency-key"] = key
    message = Message({"n": 1} if payload is None else payload, {"http_method": "POST", **metadata, "headers": headers})
    return ChannelRequest(channel, ingress, message, "req-1", client_ip="10.0.0.1")


class Run:
    """The rest of the chain: counts runs; answers an envelope with ``status``, or raises ``error``."""

    def __init__(self, status: int = 200, error: Exception | None = None) -> None:
        self.calls = 0
        self.status = status
        self.error = error
        self.release: asyncio.Event | None = None

    async def __call__(self, req: ChannelRequest) -> Reply:
        self.calls += 1
        if self.release is not None:
            await self.release.wait()
        if self.error is not None:
            raise self.error
        req.message.context["data"] = {"run": self.calls}
        body = orjson.dumps({"id": req.message.id, "status": "ok", "data": {"run": self.calls}, "errors": []})
        return Reply(self.status, body, message=req.message)


# --- the block ------------------------------------------------------------------------------------


def test_defaults_and_the_window_alias():
    policy = bind(MemoryStore())
    assert isinstance(policy, deduplication.Deduplication) and not isinstance(policy, deduplication.ReplayDeduplication)
    assert (policy.header, policy.window_secs, policy.prefix) == ("idempotency-key", 300, "dedup:orders:")
    assert bind(MemoryStore(), retention_secs=7).window_secs == 7
    assert bind(MemoryStore(), window_secs=9, retention_secs=9).window_secs == 9
    assert isinstance(bind(MemoryStore(), mode="replay", connector="redis"), deduplication.ReplayDeduplication)


@pytest.mark.parametrize(("block", "problem"), [
    ({"header": "K", "window_secs": 5, "retention_secs": 6},
     ("", "window_secs and its alias retention_secs differ (5 and 6); set one of them")),
    ({"header": "Idem Key"}, ("header", "Not a valid HTTP header name.")),
    ({"header": "K", "mode": "replace"}, ("mode", "Must be one of: reject, replay.")),
    ({"header": "K", "window_secs": 0}, ("window_secs", "Must be greater than or equal to 1 and less than or equal to 2147483647.")),
    ({"header": "K", "window_secs": 2.5}, ("window_secs", "Not a valid integer.")),
    ({"header": "K", "ttl": 5}, ("ttl", "Unknown field.")),
])
def test_invalid_blocks(block, problem):
    setup = PolicySetup(default_expression_engine(), in_memory_config(), MemoryStore(), MemoryStore())
    with pytest.raises(PolicyConfigError) as exc:
        deduplication.bind(block, setup, "orders")
    assert exc.value.problems == [problem]


# --- mode "reject" -------------------------------------------------------------------------------


async def test_reject_a_repeated_key_inside_the_window(store):
    policy, run = bind(store), Run()
    assert (await policy(request(), run)).status == 200
    with pytest.raises(ApiError) as exc:
        await policy(request(), run)
    assert (exc.value.status, exc.value.code) == (409, "CONFLICT")
    assert exc.value.message == "Duplicate request: idempotency key 'key-001' already seen"
    assert run.calls == 1 and policy.rejected == 1
    assert (await policy(request("key-002"), run)).status == 200


async def test_reject_keeps_the_key_when_the_run_fails(store):
    policy = bind(store)
    with pytest.raises(ApiError):
        await policy(request(), Run(error=ApiError("ENGINE_ERROR", "boom")))
    with pytest.raises(ApiError) as exc:
        await policy(request(), Run())
    assert exc.value.code == "CONFLICT"


async def test_no_key_no_deduplication(store):
    policy, run = bind(store), Run()
    for key in (None, None, "", "", "bad\udcff", "bad\udcff"):
        assert (await policy(request(key), run)).status == 200
    assert run.calls == 6


async def test_keys_are_scoped_per_channel(store):
    orders, invoices, run = bind(store, "orders"), bind(store, "invoices"), Run()
    await orders(request(), run)
    await invoices(request(channel="invoices"), run)
    assert run.calls == 2
    assert await store.get("dedup:orders:key-001") == b"1"


async def test_the_key_is_accepted_again_after_the_window(store):
    policy, run = bind(store, window_secs=1), Run()
    await policy(request(), run)
    await asyncio.sleep(1.1)
    await policy(request(), run)
    assert run.calls == 2


async def test_reject_applies_on_every_ingress(store):
    policy, run = bind(store), Run()
    await policy(request(ingress=INGRESS_ASYNC), run)
    for ingress in (INGRESS_SYNC, INGRESS_CALL):
        with pytest.raises(ApiError):
            await policy(request(ingress=ingress), run)


# --- mode "replay" --------------------------------------------------------------------------------


async def test_replay_answers_the_stored_response(store):
    policy, run = bind(store, mode="replay"), Run()
    first_request = request()
    first = await policy(first_request, run)
    assert first_request.response_headers == {}
    again = request()
    replayed = await policy(again, run)
    assert (replayed.status, replayed.body) == (200, first.body)
    assert again.response_headers == {"Idempotent-Replayed": "true"}
    assert run.calls == 1 and policy.replayed == 1


async def test_replay_keeps_a_non_200_success_status(store):
    policy = bind(store, mode="replay")
    await policy(request(ingress=INGRESS_ASYNC), Run(status=202))
    replayed = await policy(request(ingress=INGRESS_ASYNC), Run())
    assert replayed.status == 202


async def test_replay_refuses_the_key_with_a_different_request(store):
    policy, run = bind(store, mode="replay"), Run()
    await policy(request(payload={"n": 1}), run)
    for other in (request(payload={"n": 2}), request(payload={"n": 1}, params={"id": "7"}),
                  request(payload={"n": 1}, query={"x": "1"}), request(payload={"n": 1}, http_method="PUT"),
                  request(payload={"n": 1}, ingress=INGRESS_ASYNC)):
        with pytest.raises(ApiError) as exc:
            await policy(other, run)
        assert (exc.value.status, exc.value.code) == (422, "UNPROCESSABLE")
        assert exc.value.message == ("Idempotency key 'key-001' was already used for a different request; "
                                     "use a new key for a new request")
    assert run.calls == 1


async def test_the_fingerprint_ignores_key_order():
    a = request(payload={"a": 1, "b": {"c": 2, "d": 3}})
    b = request(payload={"b": {"d": 3, "c": 2}, "a": 1})
    assert deduplication.request_fingerprint(a) == deduplication.request_fingerprint(b)


async def test_replay_a_key_in_flight_gets_409(store):
    policy, slow = bind(store, mode="replay"), Run()
    slow.release = asyncio.Event()
    first = asyncio.create_task(policy(request(), slow))
    while slow.calls == 0:
        await asyncio.sleep(0.005)
    with pytest.raises(ApiError) as exc:
        await policy(request(), Run())
    assert (exc.value.status, exc.value.code) == (409, "CONFLICT")
    assert exc.value.message == "A request with idempotency key 'key-001' is still being processed; retry later"
    slow.release.set()
    assert (await first).status == 200
    assert (await policy(request(), Run())).body == (await first).body


@pytest.mark.parametrize("outcome", [{"status": 500}, {"error": ApiError("TIMEOUT", "too slow")},
                                     {"error": ApiError("SERVICE_UNAVAILABLE", "full")}, {"error": asyncio.CancelledError()}])
async def test_replay_releases_the_key_after_an_error(store, outcome):
    policy, failure = bind(store, mode="replay"), Run(**outcome)
    try:
        reply = await policy(request(), failure)
    except (ApiError, asyncio.CancelledError):
        pass
    else:
        assert reply.status == 500
    assert await store.get("dedup:orders:key-001") is None
    retry = Run()
    assert (await policy(request(), retry)).status == 200
    assert retry.calls == 1


async def test_replay_through_channel_call_restores_the_child_data(store):
    policy = bind(store, mode="replay")
    first = request(ingress=INGRESS_CALL)
    await policy(first, Run())
    again = request(ingress=INGRESS_CALL)
    reply = await policy(again, Run())
    assert reply.message is again.message
    assert again.message.context["data"] == first.message.context["data"] == {"run": 1}


async def test_replay_over_a_key_recorded_in_reject_mode_is_a_conflict(store):
    await bind(store)(request(), Run())
    with pytest.raises(ApiError) as exc:
        await bind(store, mode="replay")(request(), Run())
    assert exc.value.code == "CONFLICT" and "already seen" in exc.value.message


# --- a store that is down: fail open ----------------------------------------------------------


@pytest.mark.parametrize("mode", ["reject", "replay"])
async def test_unreachable_store_lets_requests_through(mode, caplog):
    store = RedisStore("redis://127.0.0.1:1/0")
    await store.open()
    try:
        policy, run = bind(store, mode=mode), Run()
        with caplog.at_level(logging.WARNING, logger="orion.governance.deduplication"):
            for _ in range(3):
                assert (await policy(request(), run)).status == 200
    finally:
        await store.close()
    assert run.calls == 3
    assert policy.store_failures.count >= 3
    [warning] = [r for r in caplog.records if r.name == "orion.governance.deduplication"]
    assert "channel 'orders' deduplication: state store unavailable, request let through without deduplication" in warning.message
