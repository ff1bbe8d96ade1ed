"""The StateStore contract, run against every built-in store (memory and the real Redis)."""
from __future__ import annotations

import asyncio

import pytest


async def test_rps_1_burst_1_lets_the_first_request_through_and_refuses_an_immediate_second(store):
    first = await store.take_token("rl:orders:10.0.0.1", 1, 1)
    assert first.allowed and first.remaining == 0 and first.retry_after == 0
    assert 0.9 < first.reset_after <= 1.0
    second = await store.take_token("rl:orders:10.0.0.1", 1, 1)
    assert not second.allowed and second.remaining == 0
    assert 0.9 < second.retry_after <= 1.0


@pytest.mark.parametrize("burst", [2, 5])
async def test_a_burst_of_n_passes_n_requests_then_refuses(store, burst):
    decisions = [await store.take_token("rl:c:k", 1, burst) for _ in range(burst + 1)]
    assert [d.allowed for d in decisions] == [True] * burst + [False]
    assert [d.remaining for d in decisions] == [*range(burst - 1, -1, -1), 0]
    refused = decisions[-1]
    assert 0.9 < refused.retry_after <= 1.0  # one token comes back after 1/rps
    assert burst - 0.1 < refused.reset_after <= burst  # the bucket is full again after burst/rps


async def test_tokens_come_back_at_the_rate(store):
    assert (await store.take_token("rl:c:k", 20, 1)).allowed
    refused = await store.take_token("rl:c:k", 20, 1)
    assert not refused.allowed and 0 < refused.retry_after <= 0.05
    await asyncio.sleep(refused.retry_after + 0.01)
    assert (await store.take_token("rl:c:k", 20, 1)).allowed


async def test_buckets_are_per_key(store):
    assert (await store.take_token("rl:c:a", 1, 1)).allowed
    assert not (await store.take_token("rl:c:a", 1, 1)).allowed
    assert (await store.take_token("rl:c:b", 1, 1)).allowed


async def test_add_stores_only_when_absent_and_again_once_expired(store):
    assert await store.add("dedup:c:k", b"first", 0.05) is True
    assert await store.add("dedup:c:k", b"second", 0.05) is False
    assert await store.get("dedup:c:k") == b"first"
    await asyncio.sleep(0.08)
    assert await store.get("dedup:c:k") is None
    assert await store.add("dedup:c:k", b"third", 10) is True
    assert await store.get("dedup:c:k") == b"third"


async def test_set_get_overwrite_expire_delete(store):
    assert await store.get("cache:c:k") is None
    await store.set("cache:c:k", b"\x00\xffbinary", 10)
    assert await store.get("cache:c:k") == b"\x00\xffbinary"
    await store.set("cache:c:k", b"new", 0.05)
    assert await store.get("cache:c:k") == b"new"
    await asyncio.sleep(0.08)
    assert await store.get("cache:c:k") is None
    await store.set("cache:c:k", b"v", 10)
    await store.delete("cache:c:k")
    assert await store.get("cache:c:k") is None
    await store.delete("cache:c:absent")  # deleting a missing key is not an error


async def test_a_zero_ttl_is_accepted(store):
    await store.set("cache:c:z", b"v", 0)
    assert await store.add("dedup:c:z", b"v", 0) is True
