"""The ``cache`` (response cache) policy on its own, over the memory store and a real Redis."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
import pytest

from orion_builtins.governance import response_cache
from orion_builtins.stores.memory import MemoryStore
from orion_builtins.stores.redis import RedisStore
from orion_kernel import ApiError, Message
from orion_kernel.governance import INGRESS_SYNC, ChannelRequest, PolicyConfigError, PolicySetup, Reply
from orion_kernel.testing import default_expression_engine, in_memory_config, policy_catalog

def bind(store: Any, channel: str = "users", **block: Any):
    setup = PolicySetup(default_expression_engine(), in_memory_config(), store, store)
    return response_cache.bind({"enabled": True, **block}, setup, channel)


def request(data: Any = None, method: str = "POST", profile: bool = False, **metadata: Any) -> ChannelRequest:
    message = Message({"user_id": 7} if data is None else data, {"http_method": method, **metadata, "headers": {}})
    return ChannelRequest("users", INGRESS_SYNC, message, "req-1", client_ip="10.0.0.1", profile=profile)


class Run:
    """The rest of the chain: counts runs and answers an envelope (``errors`` / ``status`` as given)."""

    def __init__(self, status: int = 200, errors: list[dict[str, Any]] | None = None) -> None:
        self.calls = 0
        self.status = status
        self.errors = errors or []

    async def __call__(self, req: ChannelRequest) -> Reply:
        self.calls += 1
        req.message.errors.extend(self.errors)
        body = orjson.dumps({"id": req.message.id, "status": "ok", "data": {"run": self.calls}, "errors": req.message.errors})
        return Reply(self.status, body, message=req.message)


def fnv(*chunks: bytes) -> str:
    return f"{response_cache.fnv1a_64(chunks):016x}"


# --- the hash and the key ----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "digest"), [
    (b"", "cbf29ce484222325"), (b"a", "af63dc4c8601ec8c"), (b"foobar", "85944171f73967e8"),
])
def test_fnv1a_64_reference_vectors(text, digest):
    assert fnv(text) == digest


def test_key_without_fields_hashes_the_compact_sorted_data():
    policy = bind(MemoryStore())
    material = policy.key_material(request({"b": [1, {"y": 2, "x": 1}], "a": "é"}).message)
    assert material == ['{"a":"é","b":[1,{"x":1,"y":2}]}'.encode()]


def test_key_fields_in_list_order_absent_skipped_data_prefix_and_dot_paths():
    policy = bind(MemoryStore(), cache_key_fields=["data.region", "user_id", "missing", "profile.tier", "tags.1"])
    data = {"user_id": 7, "region": "eu", "profile": {"tier": "gold"}, "tags": ["a", "b"], "other": 1}
    assert policy.key_material(request(data).message) == [
        b"region", b'"eu"', b"user_id", b"7", b"profile.tier", b'"gold"', b"tags.1", b'"b"']
    assert policy.key_material(request({"user_id": None}).message) == [b"user_id", b"null"]


def test_no_listed_field_present_means_no_caching():
    policy = bind(MemoryStore(), cache_key_fields=["user_id"])
    assert policy.key_material(request({"other": 1}).message) is None
    assert policy.key_material(request([1, 2]).message) is None


def test_method_route_params_and_query_join_the_key_only_when_present():
    policy = bind(MemoryStore(), cache_key_fields=["user_id"])
    base = [b"user_id", b"7"]
    assert policy.key_material(request().message) == base
    assert policy.key_material(request(method="GET", params={"id": "42", "b": "x"}, query={"z": "1", "a": "2"}).message) == [
        *base, b"\0method=", b"GET", b"\0params=", b'{"b":"x","id":"42"}', b"\0query=", b'{"a":"2","z":"1"}']


def test_empty_field_list_means_the_whole_data():
    assert bind(MemoryStore(), cache_key_fields=[]).fields is None


def test_disabled_block_binds_nothing_and_defaults():
    assert bind(MemoryStore(), enabled=False, ttl_secs=5) is None
    policy = bind(MemoryStore(), connector="redis")
    assert (policy.ttl_secs, policy.prefix) == (300, "cache:users:")


@pytest.mark.parametrize(("block", "problem"), [
    ({"enabled": "true"}, ("enabled", "Not a valid boolean.")),
    ({"enabled": 1}, ("enabled", "Not a valid boolean.")),
    ({}, ("enabled", "Missing data for required field.")),
    ({"enabled": True, "ttl_secs": 0}, ("ttl_secs", "Must be greater than or equal to 1 and less than or equal to 2147483647.")),
    ({"enabled": True, "ttl_secs": "60"}, ("ttl_secs", "Not a valid integer.")),
    ({"enabled": True, "cache_key_fields": "user_id"}, ("cache_key_fields", "Not a valid list.")),
    ({"enabled": True, "cache_key_fields": ["a..b"]},
     ("cache_key_fields.0", 'Not a field path: names separated by dots, e.g. "data.user_id".')),
    ({"enabled": True, "ttl": 5}, ("ttl", "Unknown field.")),
])
def test_invalid_blocks(block, problem):
    setup = PolicySetup(default_expression_engine(), in_memory_config(), MemoryStore(), MemoryStore())
    with pytest.raises(PolicyConfigError) as exc:
        response_cache.bind(block, setup, "users")
    assert exc.value.problems == [problem]


def test_the_policy_applies_to_sync_requests_only():
    [policy] = [p for p in policy_catalog().policies if p.config_key == "cache"]
    assert policy.ingress == frozenset({INGRESS_SYNC})


# --- lookups and stores ------------------------------------------------------------------------


async def test_a_hit_answers_the_stored_body_without_running(store):
    policy, run = bind(store), Run()
    first_request = request()
    first = await policy(first_request, run)
    assert first_request.response_headers == {"X-Cache": "MISS"}
    again = request()
    hit = await policy(again, run)
    assert (hit.status, hit.body, hit.message) == (200, first.body, None)
    assert again.response_headers == {"X-Cache": "HIT"}
    assert run.calls == 1 and (policy.hits, policy.misses) == (1, 1)
    key = "cache:users:" + fnv(b'{"user_id":7}')
    assert await store.get(key) == first.body


async def test_different_requests_have_different_entries(store):
    policy, run = bind(store, cache_key_fields=["user_id"]), Run()
    for req in (request({"user_id": 1}), request({"user_id": 2}), request({"user_id": 1}, params={"id": "9"}),
                request({"user_id": 1}, query={"page": "2"}), request({"user_id": 1}, method="PUT")):
        await policy(req, run)
    assert run.calls == 5
    await policy(request({"user_id": 1, "noise": "ignored"}), run)
    assert run.calls == 5


async def test_uncacheable_requests_always_run(store):
    policy, run = bind(store, cache_key_fields=["user_id"]), Run()
    for _ in range(2):
        req = request({"name": "x"})
        await policy(req, run)
        assert req.response_headers == {}
    assert run.calls == 2 and (policy.hits, policy.misses) == (0, 0)


@pytest.mark.parametrize("answer", [{"errors": [{"code": "TASK_ERROR", "message": "down", "path": None}]}, {"status": 202}])
async def test_answers_other_than_a_clean_200_are_not_stored(store, answer):
    policy, run = bind(store), Run(**answer)
    await policy(request(), run)
    await policy(request(), run)
    assert run.calls == 2


async def test_errors_are_not_stored(store):
    policy = bind(store)

    async def fail(req: ChannelRequest) -> Reply:
        raise ApiError("ENGINE_ERROR", "boom")

    with pytest.raises(ApiError):
        await policy(request(), fail)
    run = Run()
    await policy(request(), run)
    assert run.calls == 1


async def test_a_profiled_answer_is_not_stored(store):
    policy, run = bind(store), Run()
    await policy(request(profile=True), run)
    await policy(request(), run)
    assert run.calls == 2


async def test_entries_expire_after_the_ttl(store):
    policy, run = bind(store, ttl_secs=1), Run()
    await policy(request(), run)
    await asyncio.sleep(1.1)
    await policy(request(), run)
    assert run.calls == 2


async def test_channels_do_not_share_entries(store):
    users, admins, run = bind(store, "users"), bind(store, "admins"), Run()
    await users(request(), run)
    await admins(request(), run)
    assert run.calls == 2


async def test_unreachable_store_is_a_miss_that_stores_nothing(caplog):
    store = RedisStore("redis://127.0.0.1:1/0")
    await store.open()
    try:
        policy, run = bind(store), Run()
        with caplog.at_level(logging.WARNING, logger="orion.governance.response_cache"):
            for _ in range(3):
                req = request()
                assert (await policy(req, run)).status == 200
                assert req.response_headers == {}
    finally:
        await store.close()
    assert run.calls == 3 and policy.store_failures.count == 3 and (policy.hits, policy.misses) == (0, 0)
    [warning] = [r for r in caplog.records if r.name == "orion.governance.response_cache"]
    assert "channel 'users' response cache: state store unavailable, request answered without the cache" in warning.message
