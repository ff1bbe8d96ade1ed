"""Rate limiting through the real server: channel limits (name and REST routes), client identity
behind trusted proxies, the platform limiter, a Redis shared by two servers, and Redis down."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio

from orion_kernel.testing import orion_server, provision

pytestmark = pytest.mark.integration

REDIS = "redis://127.0.0.1:6379/11"  # the database conftest.redis_prefix cleans
SHAPE = "channel.config does not match the ChannelConfig shape: "
WORKFLOW = {"workflow_id": "hello", "name": "hello", "tasks": [
    {"id": "t", "name": "t", "function": {"name": "map", "input": {"mappings": [{"path": "data.ok", "logic": True}]}}}]}
ORDERS = {"name": "orders", "workflow_id": "hello", "config": {"rate_limit": {"requests_per_second": 1, "burst": 1}}}
ITEMS = {"name": "shop-items", "workflow_id": "hello", "protocol": "rest", "methods": ["GET"],
         "route_pattern": "/shops/{shop}/items", "config": {"rate_limit": {"requests_per_second": 1, "burst": 2}}}
FREE = {"name": "free", "workflow_id": "hello"}


def config(tmp_path: Path, **sections: Any) -> dict[str, Any]:
    return {"storage": {"url": f"sqlite:{tmp_path / 'orion.db'}"}, "server": {"shutdown_drain_secs": 1}, **sections}


async def call(http: aiohttp.ClientSession, method: str, path: str, **kwargs: Any) -> tuple[int, dict[str, Any], Any]:
    async with http.request(method, path, **kwargs) as resp:
        return resp.status, await resp.json(), resp.headers


async def statuses(http: aiohttp.ClientSession, method: str, paths: list[str], **kwargs: Any) -> list[int]:
    return [(await call(http, method, path, **kwargs))[0] for path in paths]


def assert_refused(status: int, body: dict[str, Any], headers: Any, policy: str) -> None:
    assert status == 429
    assert body == {"error": {"code": "RATE_LIMITED", "message": "Too many requests", "request_id": headers["x-request-id"]}}
    assert headers["Retry-After"] == "1"
    assert headers["RateLimit"] == f'"{policy}";r=0;t=1'
    assert headers["RateLimit-Policy"].startswith(f'"{policy}";q=')
    assert headers["Content-Type"].startswith("application/json")
    assert headers["X-Content-Type-Options"] == "nosniff"  # a refusal is a normal answer: security headers too


class OneClientPerCall:
    """Provision through a trusted proxy, each admin call from another client address."""

    def __init__(self, http: aiohttp.ClientSession) -> None:
        self.http = http
        self.calls = 0

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        self.calls += 1
        return self.http.request(method, path, headers={"X-Forwarded-For": f"198.51.100.{self.calls}"}, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self._send("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self._send("PATCH", path, **kwargs)


async def test_channel_limits_on_name_and_rest_routes_with_headers_and_create_checks(tmp_path):
    async with orion_server(config(tmp_path), tmp_path) as server, aiohttp.ClientSession(server.url) as http:
        await provision(http, [WORKFLOW], [ORDERS, ITEMS, FREE])

        status, body, headers = await call(http, "POST", "/api/v1/data/orders", json={"data": {}})
        assert status == 200 and body["data"] == {"ok": True}
        assert headers["RateLimit"] == '"channel";r=0;t=1'
        assert headers["RateLimit-Policy"] == '"channel";q=1;w=1;orion-burst=1'
        assert "Retry-After" not in headers
        assert_refused(*await call(http, "POST", "/api/v1/data/orders", json={"data": {}}), "channel")
        # without trusted proxies a forwarded address is ignored: it cannot pick a fresh bucket
        assert await statuses(http, "POST", ["/api/v1/data/orders"], json={"data": {}},
                              headers={"X-Forwarded-For": "203.0.113.9"}) == [429]

        # a REST route is limited as the channel it resolves to, whatever its first path segment
        first, second = (await call(http, "GET", "/api/v1/data/shops/a/items")), (await call(http, "GET", "/api/v1/data/shops/b/items"))
        assert (first[0], second[0]) == (200, 200)
        assert (first[2]["RateLimit"], second[2]["RateLimit"]) == ('"channel";r=1;t=1', '"channel";r=0;t=1')
        assert_refused(*await call(http, "GET", "/api/v1/data/shops/c/items"), "channel")

        # a channel without a limit (platform limiting off): no headers, never refused
        for _ in range(5):
            status, _, headers = await call(http, "POST", "/api/v1/data/free", json={"data": {}})
            assert status == 200 and "RateLimit" not in headers

        # an invalid block is refused when the channel is created
        status, body, _ = await call(http, "POST", "/api/v1/admin/channels", json={
            "name": "bad", "workflow_id": "hello", "config": {"rate_limit": {"requests_per_second": "10"}}})
        assert status == 400
        assert body["error"]["details"] == [{"path": "channel.config", "code": "INVALID",
                                             "message": SHAPE + "rate_limit.requests_per_second: Not a valid integer."}]
        status, body, _ = await call(http, "POST", "/api/v1/admin/channels", json={
            "name": "bad", "workflow_id": "hello", "config": {"rate_limit": {"requests_per_second": 1, "key_logic": {"nope": 1}}}})
        assert status == 400
        [detail] = body["error"]["details"]
        assert detail["path"] == "channel.config.rate_limit.key_logic" and "unknown operator `nope`" in detail["message"]


async def test_platform_limits_admin_and_other_routes_per_client_behind_a_trusted_proxy(tmp_path):
    settings = config(tmp_path, rate_limit={"enabled": True, "default_rps": 1, "default_burst": 2,
                                            "endpoints": {"admin_rps": 1, "data_rps": 2}})
    settings["server"]["trusted_proxies"] = ["127.0.0.1"]
    async with orion_server(settings, tmp_path) as server, aiohttp.ClientSession(server.url) as http:
        await provision(OneClientPerCall(http), [WORKFLOW], [ORDERS, FREE])
        alice, bob = {"X-Forwarded-For": "203.0.113.1"}, {"X-Forwarded-For": "203.0.113.2"}

        # admin routes: admin_rps 1 → burst 1, per client address
        status, _, headers = await call(http, "GET", "/api/v1/admin/channels", headers=alice)
        assert status == 200 and headers["RateLimit-Policy"] == '"platform-admin";q=1;w=1;orion-burst=1'
        assert_refused(*await call(http, "GET", "/api/v1/admin/channels", headers=alice), "platform-admin")
        assert (await call(http, "GET", "/api/v1/admin/channels", headers=bob))[0] == 200

        # other routes: the default limiter (1 rps, burst 2); an address forged left of the proxy's entry is ignored
        forged = {"X-Forwarded-For": "10.1.1.1, 203.0.113.3"}
        assert await statuses(http, "GET", ["/health", "/health"], headers=forged) == [200, 200]
        assert_refused(*await call(http, "GET", "/health", headers={"X-Forwarded-For": "10.2.2.2, 203.0.113.3"}), "platform")

        # a data channel without its own limit: the platform data limiter (data_rps 2 → burst 2)
        free = ["/api/v1/data/free"] * 3
        assert await statuses(http, "POST", free, json={"data": {}}, headers=alice) == [200, 200, 429]
        assert (await call(http, "GET", "/api/v1/data/traces", headers=alice))[0] == 429  # the same data limiter
        # a channel with its own limit skips the platform one (and a fresh client is not limited by alice's use)
        assert await statuses(http, "POST", ["/api/v1/data/orders"] * 2, json={"data": {}}, headers=alice) == [200, 429]
        status, _, headers = await call(http, "POST", "/api/v1/data/free", json={"data": {}}, headers=bob)
        assert status == 200 and headers["RateLimit"] == '"platform-data";r=1;t=1'


async def test_two_servers_on_one_redis_share_one_limit(tmp_path, redis_prefix):
    settings = config(tmp_path, governance={"store": REDIS, "key_prefix": redis_prefix})
    shared = {**ORDERS, "config": {"rate_limit": {"requests_per_second": 1, "burst": 3}}}
    async with orion_server(settings, tmp_path) as first, aiohttp.ClientSession(first.url) as one:
        await provision(one, [WORKFLOW], [shared])
        async with orion_server(settings, tmp_path) as second, aiohttp.ClientSession(second.url) as two:
            assert first.port != second.port
            results = [await call(http, "POST", "/api/v1/data/orders", json={"data": {}}) for http in (one, two, one, two)]
            assert [status for status, _, _ in results] == [200, 200, 200, 429]
            assert [headers["RateLimit"] for _, _, headers in results] == [
                '"channel";r=2;t=1', '"channel";r=1;t=1', '"channel";r=0;t=1', '"channel";r=0;t=1']
    client = redis.asyncio.Redis.from_url(REDIS)
    try:
        assert await client.exists(f"{redis_prefix}rl:orders:127.0.0.1") == 1
    finally:
        await client.aclose()


async def test_with_redis_unreachable_the_server_keeps_serving_with_local_limits(tmp_path):
    settings = config(tmp_path, governance={"store": "redis://127.0.0.1:1/0"})
    async with orion_server(settings, tmp_path) as server, aiohttp.ClientSession(server.url) as http:
        await provision(http, [WORKFLOW], [{**ORDERS, "config": {"rate_limit": {"requests_per_second": 1, "burst": 2}}}])
        assert await statuses(http, "POST", ["/api/v1/data/orders"] * 3, json={"data": {}}) == [200, 200, 429]
        await server.wait_for_stderr("rate limiting uses local per-process limits: the shared store is unavailable")
