"""The ``redis://`` store against the real Redis: prefixes, sharing, expiry, and a Redis that is down."""
from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio

from orion_builtins.stores import redis as redis_plugin
from orion_builtins.stores.redis import RedisStore, orion_state_store_for_url
from orion_kernel import PluginError
from orion_kernel.governance import StoreUnavailable

REDIS_URL = "redis://127.0.0.1:6379/0"  # as in conftest.py


async def raw_client():
    return redis.asyncio.Redis.from_url(REDIS_URL)


async def test_every_key_carries_the_prefix_and_buckets_expire_once_full(redis_store):
    await redis_store.set("cache:c:k", b"v", 10)
    await redis_store.take_token("rl:c:k", 2, 3)
    client = await raw_client()
    try:
        assert await client.get(redis_store.prefix + "cache:c:k") == b"v"
        assert await client.get("cache:c:k") is None
        ttl_ms = await client.pttl(redis_store.prefix + "rl:c:k")
        assert 0 < ttl_ms <= 500  # one token taken at 2/s: full again within 0.5 s
        assert 0 < await client.pttl(redis_store.prefix + "cache:c:k") <= 10_000
    finally:
        await client.aclose()


async def test_two_clients_share_one_bucket(redis_store):
    other = RedisStore(REDIS_URL, redis_store.prefix)
    await other.open()
    try:
        results = [await (redis_store if i % 2 else other).take_token("rl:c:k", 1, 4) for i in range(6)]
    finally:
        await other.close()
    assert [r.allowed for r in results] == [True] * 4 + [False] * 2


async def test_concurrent_takes_never_exceed_the_burst(redis_store):
    # one token per 100 s: however long 50 concurrent calls take on a busy machine, none refills
    results = await asyncio.gather(*(redis_store.take_token("rl:c:k", 0.01, 10) for _ in range(50)))
    assert sum(r.allowed for r in results) == 10


async def test_open_does_not_connect_and_a_refused_connection_is_store_unavailable():
    store = RedisStore("redis://127.0.0.1:1/0", "x:")
    await store.open()  # nothing listens on port 1: still fine
    try:
        started = time.perf_counter()
        with pytest.raises(StoreUnavailable, match="unreachable"):
            await store.take_token("rl:c:k", 1, 1)
        assert time.perf_counter() - started < 0.5
        started = time.perf_counter()
        for call in (store.get("k"), store.set("k", b"v", 1), store.add("k", b"v", 1), store.delete("k")):
            with pytest.raises(StoreUnavailable):
                await call
        assert time.perf_counter() - started < 0.01  # while it is down, calls fail at once
    finally:
        await store.close()


async def test_a_redis_that_never_answers_times_out_quickly_then_fails_fast(monkeypatch):
    async def silent(reader, writer):
        await reader.read()  # accept, never answer

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    store = RedisStore(f"redis://127.0.0.1:{port}/0", "x:")
    await store.open()
    try:
        started = time.perf_counter()
        with pytest.raises(StoreUnavailable):
            await store.get("k")
        assert time.perf_counter() - started < redis_plugin.COMMAND_TIMEOUT_SECS + 0.3
        started = time.perf_counter()
        with pytest.raises(StoreUnavailable):
            await store.get("k")
        assert time.perf_counter() - started < 0.01
        monkeypatch.setattr(store, "_down_until", time.monotonic() - 1)  # the pause is over: one call probes

        async def timed_get() -> float:
            started = time.perf_counter()
            with pytest.raises(StoreUnavailable):
                await store.get("k")
            return time.perf_counter() - started

        probe, *others = await asyncio.gather(*(timed_get() for _ in range(5)))
        assert probe >= redis_plugin.COMMAND_TIMEOUT_SECS - 0.05
        assert max(others) < 0.05  # the others did not wait for the silent Redis
    finally:
        await store.close()
        server.close()


async def test_it_recovers_once_redis_answers_again(redis_store, monkeypatch):
    redis_store._down_until = time.monotonic() + 60  # as after a failure
    with pytest.raises(StoreUnavailable):
        await redis_store.get("k")
    redis_store._down_until = time.monotonic() - 1
    assert await redis_store.get("k") is None


def test_a_closed_or_unopened_store_is_unavailable():
    store = RedisStore(REDIS_URL, "x:")
    with pytest.raises(StoreUnavailable, match="not open"):
        asyncio.run(store.get("k"))


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/3", "rediss://cache.internal:6380/0", "redis://h?socket_timeout=0.1"])
def test_redis_urls_get_a_redis_store_with_the_key_prefix(url):
    store = orion_state_store_for_url(url, {"key_prefix": "app:", "store": url})
    assert isinstance(store, RedisStore) and store.prefix == "app:" and store.url == url


@pytest.mark.parametrize("url", ["memory://", "memory", "http://x", "redis-cluster://x"])
def test_other_urls_are_not_ours(url):
    assert orion_state_store_for_url(url, {"key_prefix": "app:"}) is None


@pytest.mark.parametrize(("url", "problem"), [
    ("redis://127.0.0.1:abc/0", "Port could not be cast to integer value as 'abc'"),
    ("redis://127.0.0.1:6379/x", "the database 'x' must be a number"),
    ("redis://h?socket_timeout=soon", "Invalid value for 'socket_timeout'"),
])
def test_a_malformed_url_stops_start_up_with_the_reason(url, problem):
    with pytest.raises(PluginError, match="governance.store is not a valid Redis URL: ") as caught:
        orion_state_store_for_url(url, {"key_prefix": ""})
    assert problem in str(caught.value)
