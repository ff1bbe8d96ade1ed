"""Fixtures for governance tests that share state through the real Redis at 127.0.0.1:6379."""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio
from tests.integration.governance.shared_store_support import REDIS_DB_URL


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own in Redis db 11, its keys deleted afterwards; skip when Redis is down."""
    client = redis.asyncio.Redis.from_url(REDIS_DB_URL, socket_connect_timeout=0.5)
    try:
        await client.ping()
    except (redis.RedisError, OSError):
        await client.aclose()
        pytest.skip(f"Redis is not reachable at {REDIS_DB_URL}")
    prefix = f"orion-it:{uuid.uuid4().hex}:"
    try:
        yield prefix
    finally:
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
