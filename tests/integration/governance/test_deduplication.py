"""``deduplication`` through the real HTTP app and the real server (channels.md §4.6).

The workflow runs a ``probe`` task from a plugin built here: it counts runs, can be held open
(a request in flight) and can fail on demand (a transient error), so each test sees whether a
request really ran.
"""
from __future__ import annotations

import asyncio
import types

import aiohttp
import pytest
import redis.asyncio

from orion_kernel import TaskError, TaskFunction, hookimpl
from orion_kernel.testing import orion_server, provision
from tests.integration.governance.shared_store_support import ECHO_WORKFLOW, REDIS_DB_URL, shared_store_config

KEY = "Idempotency-Key"


class Probe:
    """A ``probe`` task function whose behaviour the test controls."""

    def __init__(self) -> None:
        self.runs = 0
        self.failures_left = 0
        self.gate: asyncio.Event | None = None
        self.module = types.ModuleType("orion_test_probe")

        async def probe(ctx, params):
            self.runs += 1
            if self.gate is not None:
                await self.gate.wait()
            if self.failures_left:
                self.failures_left -= 1
                raise TaskError("downstream unavailable")
            ctx.write("data.run", self.runs)

        @hookimpl
        def orion_task_functions():
            yield TaskFunction(name="probe", run=probe)

        self.module.orion_task_functions = orion_task_functions


PROBE_WORKFLOW = {"workflow_id": "probe", "name": "probe", "tasks": [
    {"id": "echo", "name": "echo", "function": {"name": "parse_json", "input": {"source": "payload", "target": "echo"}}},
    {"id": "probe", "name": "probe", "function": {"name": "probe", "input": {}}}]}
CALLER_WORKFLOW = {"workflow_id": "caller", "name": "caller", "tasks": [
    {"id": "call", "name": "call", "function": {"name": "channel_call", "input": {"channel": "orders"}}}]}
CHANNELS = [
    {"name": "orders", "workflow_id": "probe", "config": {"deduplication": {"header": KEY, "window_secs": 60}}},
    {"name": "hooks", "workflow_id": "probe",
     "config": {"deduplication": {"header": "X-Delivery-Id", "retention_secs": 60, "mode": "replay"}}},
    {"name": "shop-orders", "workflow_id": "probe", "methods": ["POST"], "route_pattern": "/shops/{shop_id}/orders",
     "config": {"deduplication": {"header": KEY, "mode": "replay"}}},
    {"name": "front", "workflow_id": "caller"},
]


@pytest.fixture
async def probe_client(orion_client):
    probe = Probe()
    client = await orion_client(plugins=[probe.module], workflows=[PROBE_WORKFLOW, CALLER_WORKFLOW], channels=CHANNELS)
    return probe, client


async def post(client, path: str, data=None, headers=None):
    resp = await client.post(f"/api/v1/data/{path}", json={"data": {"n": 1} if data is None else data}, headers=headers)
    return resp, await resp.read()


async def error_of(resp) -> dict:
    body = await resp.json()
    assert body["error"].pop("request_id") == resp.headers["X-Request-Id"]
    return body["error"]


# --- mode "reject" -------------------------------------------------------------------------------


async def test_reject_mode_answers_a_repeated_key_with_409(probe_client):
    probe, client = probe_client
    first, body = await post(client, "orders", headers={KEY: "key-001"})
    assert first.status == 200, body
    again, _ = await post(client, "orders", headers={KEY: "key-001"})
    assert again.status == 409
    assert again.headers["Content-Type"].startswith("application/json")
    assert await error_of(again) == {"code": "CONFLICT", "message": "Duplicate request: idempotency key 'key-001' already seen"}
    other, _ = await post(client, "orders", headers={KEY: "key-002"})
    assert other.status == 200
    assert probe.runs == 2


async def test_requests_without_the_header_are_not_deduplicated(probe_client):
    probe, client = probe_client
    for _ in range(2):
        assert (await post(client, "orders"))[0].status == 200
    assert probe.runs == 2


async def test_reject_mode_keeps_the_key_of_a_failed_request(probe_client):
    probe, client = probe_client
    probe.failures_left = 1
    failed, _ = await post(client, "orders", headers={KEY: "key-9"})
    assert failed.status == 500
    retry, _ = await post(client, "orders", headers={KEY: "key-9"})
    assert retry.status == 409


async def test_keys_are_per_channel(probe_client):
    probe, client = probe_client
    assert (await post(client, "orders", headers={KEY: "shared"}))[0].status == 200
    assert (await post(client, "shops/s1/orders", headers={KEY: "shared"}))[0].status == 200
    assert probe.runs == 2


async def test_channel_call_is_deduplicated_too(probe_client):
    """The child message inherits the caller's headers: the second call into ``orders`` is refused."""
    probe, client = probe_client
    first, body = await post(client, "front", headers={KEY: "via-call"})
    assert first.status == 200, body
    second, _ = await post(client, "front", headers={KEY: "via-call"})
    assert second.status == 500
    assert (await error_of(second))["code"] == "ENGINE_ERROR"
    assert probe.runs == 1


# --- mode "replay" --------------------------------------------------------------------------------


async def test_replay_mode_replays_the_first_answer(probe_client):
    probe, client = probe_client
    first, body = await post(client, "hooks", {"event": "paid"}, {"X-Delivery-Id": "evt-1"})
    assert first.status == 200 and "Idempotent-Replayed" not in first.headers
    again, replayed = await post(client, "hooks", {"event": "paid"}, {"x-delivery-id": "evt-1"})
    assert again.status == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Content-Type"].startswith("application/json")
    assert replayed == body  # same message id, same data: the workflow did not run again
    assert probe.runs == 1


async def test_replay_mode_refuses_the_key_with_another_body_with_422(probe_client):
    probe, client = probe_client
    await post(client, "hooks", {"event": "paid"}, {"X-Delivery-Id": "evt-2"})
    other, _ = await post(client, "hooks", {"event": "refunded"}, {"X-Delivery-Id": "evt-2"})
    assert other.status == 422
    assert await error_of(other) == {
        "code": "UNPROCESSABLE",
        "message": "Idempotency key 'evt-2' was already used for a different request; use a new key for a new request"}
    assert probe.runs == 1


async def test_replay_mode_key_in_flight_gets_409(probe_client):
    probe, client = probe_client
    probe.gate = asyncio.Event()
    first = asyncio.ensure_future(post(client, "hooks", {"event": "paid"}, {"X-Delivery-Id": "evt-3"}))
    while probe.runs == 0:
        await asyncio.sleep(0.01)
    concurrent, _ = await post(client, "hooks", {"event": "paid"}, {"X-Delivery-Id": "evt-3"})
    assert concurrent.status == 409
    assert await error_of(concurrent) == {
        "code": "CONFLICT", "message": "A request with idempotency key 'evt-3' is still being processed; retry later"}
    probe.gate.set()
    done, body = await first
    assert done.status == 200
    after, replayed = await post(client, "hooks", {"event": "paid"}, {"X-Delivery-Id": "evt-3"})
    assert after.headers["Idempotent-Replayed"] == "true" and replayed == body
    assert probe.runs == 1


async def test_replay_mode_lets_a_webhook_retry_after_an_error(probe_client):
    """A failed delivery is not replayed: the sender's retry runs, and its success is kept."""
    probe, client = probe_client
    probe.failures_left = 1
    failed, _ = await post(client, "hooks", {"event": "paid"}, {"X-Delivery-Id": "evt-4"})
    assert failed.status == 500 and "Idempotent-Replayed" not in failed.headers
    retry, body = await post(client, "hooks", {"event": "paid"}, {"X-Delivery-Id": "evt-4"})
    assert retry.status == 200 and "Idempotent-Replayed" not in retry.headers
    again, replayed = await post(client, "hooks", {"event": "paid"}, {"X-Delivery-Id": "evt-4"})
    assert again.headers["Idempotent-Replayed"] == "true" and replayed == body
    assert probe.runs == 2


async def test_replay_on_a_rest_route_the_route_params_are_part_of_the_request(probe_client):
    probe, client = probe_client
    first, body = await post(client, "shops/s1/orders", {"sku": "A"}, {KEY: "ord-1"})
    assert first.status == 200
    again, replayed = await post(client, "shops/s1/orders", {"sku": "A"}, {KEY: "ord-1"})
    assert again.headers["Idempotent-Replayed"] == "true" and replayed == body
    other_shop, _ = await post(client, "shops/s2/orders", {"sku": "A"}, {KEY: "ord-1"})
    assert other_shop.status == 422
    assert probe.runs == 1


# --- configuration and a store that is down ------------------------------------------------------


@pytest.mark.parametrize(("block", "message"), [
    ({"window_secs": 5}, "deduplication.header: Missing data for required field."),
    ({"header": KEY, "mode": "ignore"}, "deduplication.mode: Must be one of: reject, replay."),
    ({"header": KEY, "window_secs": 5, "retention_secs": 10},
     "deduplication: window_secs and its alias retention_secs differ (5 and 10); set one of them"),
])
async def test_an_invalid_block_is_refused_at_channel_create(orion_client, block, message):
    client = await orion_client()
    resp = await client.post("/api/v1/admin/channels", json={"name": "bad", "config": {"deduplication": block}})
    assert resp.status == 400
    [detail] = (await resp.json())["error"]["details"]
    assert detail == {"path": "channel.config", "code": "INVALID",
                      "message": f"channel.config does not match the ChannelConfig shape: {message}"}


@pytest.mark.parametrize("mode", ["reject", "replay"])
async def test_an_unreachable_redis_fails_open(orion_client, mode):
    probe = Probe()
    client = await orion_client(
        plugins=[probe.module], workflows=[PROBE_WORKFLOW], config={"governance": {"store": "redis://127.0.0.1:1/0"}},
        channels=[{"name": "orders", "workflow_id": "probe", "config": {"deduplication": {"header": KEY, "mode": mode}}}])
    for _ in range(2):
        resp, body = await post(client, "orders", headers={KEY: "key-001"})
        assert resp.status == 200, body
        assert "Idempotent-Replayed" not in resp.headers
    assert probe.runs == 2


# --- two server processes, one Redis ----------------------------------------------------------------


@pytest.mark.integration
async def test_two_servers_share_one_dedup_store_in_redis(tmp_path, redis_prefix):
    config = shared_store_config(tmp_path, redis_prefix)
    channels = [
        {"name": "orders", "workflow_id": "echo", "config": {"deduplication": {"header": KEY}}},
        {"name": "hooks", "workflow_id": "echo", "config": {"deduplication": {"header": KEY, "mode": "replay"}}},
        {"name": "shop-orders", "workflow_id": "echo", "methods": ["POST"], "route_pattern": "/shops/{shop_id}/orders",
         "config": {"deduplication": {"header": KEY}}},
    ]
    async with orion_server(config, tmp_path) as one, aiohttp.ClientSession(one.url) as http_one:
        await provision(http_one, [ECHO_WORKFLOW], channels)
        async with orion_server(config, tmp_path) as two, aiohttp.ClientSession(two.url) as http_two:

            async def send(http, path, key, data=None):
                async with http.post(f"/api/v1/data/{path}", json={"data": data or {"n": 1}}, headers={KEY: key}) as resp:
                    return resp.status, dict(resp.headers), await resp.read()

            status, _, body = await send(http_one, "orders", "k-1")
            assert status == 200, body
            status, _, body = await send(http_two, "orders", "k-1")
            assert status == 409, body
            assert b"Duplicate request: idempotency key 'k-1' already seen" in body

            status, _, body = await send(http_two, "shops/s1/orders", "k-2")
            assert status == 200, body
            assert (await send(http_one, "shops/s1/orders", "k-2"))[0] == 409

            status, _, first = await send(http_one, "hooks", "k-3", {"event": "paid"})
            assert status == 200
            status, headers, replayed = await send(http_two, "hooks", "k-3", {"event": "paid"})
            assert (status, headers.get("Idempotent-Replayed"), replayed) == (200, "true", first)
            assert (await send(http_two, "hooks", "k-3", {"event": "other"}))[0] == 422

    client = redis.asyncio.Redis.from_url(REDIS_DB_URL)
    try:
        stored = sorted([key async for key in client.scan_iter(match=redis_prefix + "*")])
    finally:
        await client.aclose()
    assert stored == [f"{redis_prefix}dedup:{name}".encode() for name in ("hooks:k-3", "orders:k-1", "shop-orders:k-2")]


async def raw_post(client, path: str, header_line: bytes) -> bytes:
    """POST over a plain socket, so a header can carry bytes that are not UTF-8."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    body = b'{"data": {"n": 1}}'
    writer.write(b"POST /api/v1/data/" + path.encode() + b" HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                 + header_line + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer.split(b"\r\n", 1)[0]


async def test_a_key_that_is_not_utf8_text_is_not_deduplicated(probe_client):
    probe, client = probe_client
    for _ in range(2):
        assert await raw_post(client, "orders", b"Idempotency-Key: \xff\xfe-key") == b"HTTP/1.1 200 OK"
    assert probe.runs == 2
