"""The ``memory://`` store: what only it does (the shared contract is in test_store_contract.py)."""
from __future__ import annotations

import asyncio

from orion_builtins.stores.memory import MemoryStore, orion_state_store_for_url


async def test_values_are_bounded_by_max_keys_oldest_first():
    store = MemoryStore(max_keys=3)
    for index in range(5):
        await store.set(f"k{index}", b"v", 60)
    assert len(store._values) == 3
    assert [await store.get(f"k{index}") for index in range(5)] == [None, None, b"v", b"v", b"v"]


async def test_expired_values_are_evicted_before_live_ones():
    store = MemoryStore(max_keys=3)
    await store.set("live", b"v", 60)
    await store.set("short-1", b"v", 0.01)
    await store.set("short-2", b"v", 0.01)
    await asyncio.sleep(0.02)
    await store.set("new", b"v", 60)
    assert await store.get("live") == b"v" and await store.get("new") == b"v"
    assert len(store._values) == 2


async def test_rewriting_a_key_makes_it_the_newest():
    store = MemoryStore(max_keys=2)
    await store.set("a", b"1", 60)
    await store.set("b", b"1", 60)
    await store.set("a", b"2", 60)
    await store.set("c", b"1", 60)
    assert await store.get("a") == b"2" and await store.get("b") is None


async def test_buckets_are_bounded_too_and_idle_ones_go_first():
    store = MemoryStore(max_keys=2)
    await store.take_token("idle", 1000, 1)  # full again after 1 ms
    await store.take_token("busy", 1, 5)
    await asyncio.sleep(0.01)
    await store.take_token("new", 1, 5)
    assert set(store._buckets) == {"busy", "new"}
    for index in range(10):
        await store.take_token(f"k{index}", 1, 1)
    assert len(store._buckets) == 2


async def test_close_forgets_everything():
    store = MemoryStore()
    await store.set("k", b"v", 60)
    await store.take_token("b", 1, 1)
    await store.close()
    assert await store.get("k") is None
    assert (await store.take_token("b", 1, 1)).allowed


def test_only_memory_urls_are_ours_and_max_keys_comes_from_the_options():
    store = orion_state_store_for_url("memory://", {"memory_max_keys": 7})
    assert isinstance(store, MemoryStore) and store.max_keys == 7
    assert orion_state_store_for_url("redis://x", {}) is None
