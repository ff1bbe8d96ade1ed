"""``cache`` (response cache) through the real HTTP app and the real server (channels.md §4.7).

The workflow runs a ``probe`` task from a plugin built here that counts runs and can fail or
record a non-fatal error on demand, so each test sees whether a request really ran.
"""
from __future__ import annotations

import json
import types

import aiohttp
import pytest
import redis.asyncio

from orion_kernel import TaskError, TaskFunction, hookimpl
from orion_kernel.testing import orion_server, provision
from tests.integration.governance.shared_store_support import ECHO_WORKFLOW, REDIS_DB_URL, shared_store_config



class Probe:
    """A ``probe`` task function: counts runs; fails, or adds a collected error, when told to."""

    def __init__(self) -> None:
        self.runs = 0
        self.fail = False
        self.module = types.ModuleType("orion_test_cache_probe")

        async def probe(ctx, params):
            self.runs += 1
            if self.fail:
                raise TaskError("downstream unavailable")
            ctx.write("data.run", self.runs)

        @hookimpl
        def orion_task_functions():
            yield TaskFunction(name="probe", run=probe)

        self.module.orion_task_functions = orion_task_functions


def probe_workflow(workflow_id: str = "probe", **fields) -> dict:
    return {"workflow_id": workflow_id, "name": workflow_id, **fields, "tasks": [
        {"id": "echo", "name": "echo", "function": {"name": "parse_json", "input": {"source": "payload", "target": "echo"}}},
        {"id": "probe", "name": "probe", "function": {"name": "probe", "input": {}}}]}


CACHE = {"enabled": True, "ttl_secs": 60, "cache_key_fields": ["data.user_id"]}
CHANNELS = [
    {"name": "users", "workflow_id": "probe", "config": {"cache": CACHE}},
    {"name": "whole", "workflow_id": "probe", "config": {"cache": {"enabled": True}}},
    {"name": "off", "workflow_id": "probe", "config": {"cache": {"enabled": False}}},
    {"name": "user-by-id", "workflow_id": "probe", "methods": ["GET", "POST"], "route_pattern": "/users/{user_id}",
     "config": {"cache": {"enabled": True}}},
]


@pytest.fixture
async def probe_client(orion_client):
    probe = Probe()
    client = await orion_client(plugins=[probe.module], workflows=[probe_workflow()], channels=CHANNELS)
    return probe, client


async def post(client, path: str, data=None):
    resp = await client.post(f"/api/v1/data/{path}", json={"data": {"user_id": 7} if data is None else data})
    return resp, await resp.read()


async def test_a_hit_answers_the_stored_body_marked_with_x_cache(probe_client):
    probe, client = probe_client
    first, body = await post(client, "users", {"user_id": 7, "note": "a"})
    assert first.status == 200 and first.headers["X-Cache"] == "MISS"
    hit, cached = await post(client, "users", {"user_id": 7, "note": "b"})  # "note" is not a key field
    assert hit.status == 200 and hit.headers["X-Cache"] == "HIT"
    assert hit.headers["Content-Type"] == "application/json"
    assert cached == body  # the original message id and data, byte for byte
    other, _ = await post(client, "users", {"user_id": 8})
    assert other.headers["X-Cache"] == "MISS"
    assert probe.runs == 2


async def test_without_key_fields_the_whole_data_is_the_key(probe_client):
    probe, client = probe_client
    await post(client, "whole", {"a": 1, "b": 2})
    hit, _ = await post(client, "whole", {"b": 2, "a": 1})
    assert hit.headers["X-Cache"] == "HIT"
    assert (await post(client, "whole", {"a": 1, "b": 3}))[0].headers["X-Cache"] == "MISS"
    assert probe.runs == 2


async def test_a_request_without_any_key_field_is_never_cached(probe_client):
    probe, client = probe_client
    for _ in range(2):
        resp, _ = await post(client, "users", {"name": "x"})
        assert resp.status == 200 and "X-Cache" not in resp.headers
    assert probe.runs == 2


async def test_a_disabled_block_caches_nothing(probe_client):
    probe, client = probe_client
    for _ in range(2):
        assert "X-Cache" not in (await post(client, "off"))[0].headers
    assert probe.runs == 2


async def test_rest_route_params_method_and_query_are_part_of_the_key(probe_client):
    probe, client = probe_client
    first = await client.get("/api/v1/data/users/1")
    assert (first.status, first.headers["X-Cache"]) == (200, "MISS")
    body = await first.read()
    again = await client.get("/api/v1/data/users/1")
    assert again.headers["X-Cache"] == "HIT" and await again.read() == body
    for method, path in (("GET", "users/2"), ("POST", "users/1"), ("GET", "users/1?page=2")):
        resp = await client.request(method, f"/api/v1/data/{path}")
        assert resp.headers["X-Cache"] == "MISS", (method, path)
    assert (await client.get("/api/v1/data/users/1?page=2")).headers["X-Cache"] == "HIT"
    assert probe.runs == 4


async def test_error_responses_are_never_cached(probe_client):
    probe, client = probe_client
    probe.fail = True
    for _ in range(2):
        resp = await client.post("/api/v1/data/users", json={"data": {"user_id": 7}})
        assert resp.status == 500 and resp.headers["X-Cache"] == "MISS"
        assert (await resp.json())["error"]["code"] == "ENGINE_ERROR"
    probe.fail = False
    assert (await post(client, "users"))[0].headers["X-Cache"] == "MISS"
    assert (await post(client, "users"))[0].headers["X-Cache"] == "HIT"
    assert probe.runs == 3


async def test_a_200_with_collected_errors_is_not_cached(orion_client):
    probe = Probe()
    probe.fail = True
    client = await orion_client(plugins=[probe.module], workflows=[probe_workflow(continue_on_error=True)],
                                channels=[{"name": "users", "workflow_id": "probe", "config": {"cache": CACHE}}])
    for _ in range(2):
        resp, body = await post(client, "users")
        assert resp.status == 200 and resp.headers["X-Cache"] == "MISS", body
        assert [e["message"] for e in json.loads(body)["errors"]] == [
            "Task probe error: Function execution error: downstream unavailable"]
    assert probe.runs == 2


@pytest.mark.parametrize(("block", "message"), [
    ({"enabled": "yes"}, "cache.enabled: Not a valid boolean."),
    ({"enabled": True, "ttl_secs": 0}, "cache.ttl_secs: Must be greater than or equal to 1 and less than or equal to 2147483647."),
    ({"enabled": True, "cache_key_fields": ["data."]},
     'cache.cache_key_fields.0: Not a field path: names separated by dots, e.g. "data.user_id".'),
])
async def test_an_invalid_block_is_refused_at_channel_create(orion_client, block, message):
    client = await orion_client()
    resp = await client.post("/api/v1/admin/channels", json={"name": "bad", "config": {"cache": block}})
    assert resp.status == 400
    [detail] = (await resp.json())["error"]["details"]
    assert detail == {"path": "channel.config", "code": "INVALID",
                      "message": f"channel.config does not match the ChannelConfig shape: {message}"}


async def test_an_unreachable_redis_fails_open(orion_client):
    probe = Probe()
    client = await orion_client(plugins=[probe.module], workflows=[probe_workflow()], channels=CHANNELS[:1],
                                config={"governance": {"store": "redis://127.0.0.1:1/0"}})
    for _ in range(2):
        resp, body = await post(client, "users")
        assert resp.status == 200 and "X-Cache" not in resp.headers, body
    assert probe.runs == 2


@pytest.mark.integration
async def test_two_servers_share_one_cache_in_redis(tmp_path, redis_prefix):
    config = shared_store_config(tmp_path, redis_prefix)
    channels = [{"name": "users", "workflow_id": "echo", "config": {"cache": {"enabled": True, "cache_key_fields": ["user_id"]}}}]
    async with orion_server(config, tmp_path) as one, aiohttp.ClientSession(one.url) as http_one:
        await provision(http_one, [ECHO_WORKFLOW], channels)
        async with orion_server(config, tmp_path) as two, aiohttp.ClientSession(two.url) as http_two:
            async with http_one.post("/api/v1/data/users", json={"data": {"user_id": 7}}) as first:
                assert (first.status, first.headers["X-Cache"]) == (200, "MISS")
                body = await first.read()
            async with http_two.post("/api/v1/data/users", json={"data": {"user_id": 7}}) as hit:
                assert (hit.status, hit.headers["X-Cache"]) == (200, "HIT")
                assert await hit.read() == body
    client = redis.asyncio.Redis.from_url(REDIS_DB_URL)
    try:
        stored = [key async for key in client.scan_iter(match=redis_prefix + "*")]
    finally:
        await client.aclose()
    # FNV-1a 64 of b'user_id' + b'7' (channels.md §4.7): the key another Orion server would use
    assert stored == [f"{redis_prefix}cache:users:e8888f400902bd57".encode()]
