"""The token-bucket limiter shared by the rate-limit policy and the platform middleware."""
from __future__ import annotations

import logging

import pytest

from orion_builtins.stores.memory import MemoryStore
from orion_kernel.governance import RateDecision, RateLimiter, StoreUnavailable, platform_key, platform_limiter
from orion_kernel.governance import rate_limiter, store_failures
from orion_kernel.testing import in_memory_config

WORKFLOW = {"workflow_id": "hello", "name": "hello", "tasks": [
    {"id": "t", "name": "t", "function": {"name": "map", "input": {"mappings": [{"path": "data.ok", "logic": True}]}}}]}


def limiter(rate: int, burst: int) -> RateLimiter:
    store = MemoryStore()
    return RateLimiter("channel", rate, burst, store, store)


@pytest.mark.parametrize(("rate", "burst", "policy"), [
    (1, 1, '"channel";q=1;w=1;orion-burst=1'),
    (10, 6, '"channel";q=10;w=1;orion-burst=6'),
    (1, 10, '"channel";q=10;w=10;orion-burst=10'),  # w: the time an empty bucket takes to refill
    (3, 7, '"channel";q=9;w=3;orion-burst=7'),
])
def test_the_policy_field_describes_rate_and_burst(rate, burst, policy):
    assert limiter(rate, burst).policy_header == policy


def test_the_ratelimit_field_counts_remaining_and_the_seconds_to_the_next_token():
    one = limiter(1, 3)
    assert one.headers(RateDecision(True, 2, 0.0, 1.0))["RateLimit"] == '"channel";r=2;t=1'
    assert one.headers(RateDecision(True, 1, 0.0, 1.6))["RateLimit"] == '"channel";r=1;t=1'  # 0.4 s to a token
    assert one.headers(RateDecision(False, 0, 0.3, 3.0))["RateLimit"] == '"channel";r=0;t=1'  # = Retry-After
    assert rate_limiter.refusal({}, RateDecision(False, 0, 2.2, 3.0)).headers == {"Retry-After": "3"}
    assert rate_limiter.refusal({}, RateDecision(False, 0, 0.001, 3.0)).headers == {"Retry-After": "1"}


def test_platform_limiters_per_scope():
    store = MemoryStore()
    assert platform_limiter("admin", in_memory_config(), store, store) is None  # off by default
    on = in_memory_config({"rate_limit": {"enabled": True, "default_rps": 5, "default_burst": 8, "endpoints": {"admin_rps": 9}}})
    admin, data, other = (platform_limiter(scope, on, store, store) for scope in ("admin", "data", "default"))
    assert (admin.name, admin.rate, admin.burst) == ("platform-admin", 9, 5)
    assert (data.name, data.rate, data.burst) == ("platform", 5, 8)  # no data_rps: the default limiter
    assert (other.name, other.rate, other.burst) == ("platform", 5, 8)
    assert platform_key(data, "10.0.0.1") == platform_key(other, "10.0.0.1") == "rlp:platform:10.0.0.1"


def middleware_names(client) -> list[str]:
    return [getattr(m, "__name__", "") for m in client.app.middlewares]


class DownStore(MemoryStore):
    """A shared store that is unreachable (what RedisStore raises when Redis is down)."""

    async def take_token(self, key, rate, burst):
        raise StoreUnavailable("connection refused")


async def test_fallbacks_are_counted_and_warned_about_once_per_interval(caplog, monkeypatch):
    fallbacks = rate_limiter.StoreFallbacks()
    monkeypatch.setattr(rate_limiter, "STORE_FALLBACKS", fallbacks)
    clock = [1000.0]
    monkeypatch.setattr(store_failures.time, "monotonic", lambda: clock[0])
    local = MemoryStore()
    limit = RateLimiter("channel", 1, 1, DownStore(), local)
    with caplog.at_level(logging.WARNING, logger="orion.governance.rate_limit"):
        assert [(await limit.take("k")).allowed for _ in range(3)] == [True, False, False]
        clock[0] += rate_limiter.WARN_EVERY_SECS
        await limit.take("k")
    assert fallbacks.count == 4
    messages = [r.getMessage() for r in caplog.records if r.name == "orion.governance.rate_limit"]
    assert len(messages) == 2
    assert messages[0].endswith("1 fallback(s) since the last warning")
    assert messages[1].endswith("3 fallback(s) since the last warning")


async def test_the_platform_middleware_is_only_installed_when_enabled(orion_client):
    client = await orion_client()
    assert "platform_rate_limit" not in middleware_names(client)
    for _ in range(5):
        resp = await client.get("/health")
        assert resp.status == 200 and "RateLimit" not in resp.headers


async def test_the_platform_middleware_limits_other_routes_but_leaves_channels_to_their_chain(orion_client):
    client = await orion_client(workflows=[WORKFLOW], channels=[{"name": "hello", "workflow_id": "hello"}],
                                config={"rate_limit": {"enabled": True, "default_rps": 1, "default_burst": 100,
                                                       "endpoints": {"data_rps": 1}}})
    assert "platform_rate_limit" in middleware_names(client)
    resp = await client.get("/health")
    assert resp.status == 200 and resp.headers["RateLimit-Policy"] == '"platform";q=100;w=100;orion-burst=100'
    first = await client.post("/api/v1/data/hello", json={"data": {}})
    assert first.status == 200 and first.headers["RateLimit"] == '"platform-data";r=0;t=1'  # one token, not two
    refused = await client.get("/api/v1/data/traces")
    assert refused.status == 429 and refused.headers["Retry-After"] == "1"
    missing = await client.get("/api/v1/admin/channels/no-such-channel")  # an error answer keeps the headers
    assert missing.status == 404 and missing.headers["RateLimit-Policy"].startswith('"platform";')
