"""Fixtures for plugin tests that need a state store: the memory store, and the real Redis at 127.0.0.1:6379.

Each Redis test gets its own key prefix and deletes its keys afterwards, so tests running in
parallel (here or in other suites) never see each other's state.
"""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis.asyncio

from orion_builtins.stores.memory import MemoryStore
from orion_builtins.stores.redis import RedisStore

REDIS_URL = "redis://127.0.0.1:6379/0"


async def redis_is_up() -> bool:
    client = redis.asyncio.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        return bool(await client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        await client.aclose()


@pytest_asyncio.fixture
async def redis_store() -> AsyncIterator[RedisStore]:
    """An open RedisStore on a fresh key prefix; its keys are deleted after the test."""
    if not await redis_is_up():
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    prefix = f"orion-test:{uuid.uuid4().hex}:"
    store = RedisStore(REDIS_URL, prefix)
    await store.open()
    try:
        yield store
    finally:
        await store.close()
        client = redis.asyncio.Redis.from_url(REDIS_URL)
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest_asyncio.fixture
async def memory_store() -> AsyncIterator[MemoryStore]:
    store = MemoryStore(max_keys=1000)
    await store.open()
    yield store
    await store.close()


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest):
    """Each store in turn: the contract tests run against both."""
    return request.getfixturevalue(f"{request.param}_store")
