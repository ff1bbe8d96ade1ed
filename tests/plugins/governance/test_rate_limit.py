"""The ``rate_limit`` policy on its own: binding, keys, refusals, headers, platform limit, fallback."""
from __future__ import annotations

import logging
from typing import Any

import pytest

from orion_builtins.governance import rate_limit
from orion_builtins.stores.memory import MemoryStore
from orion_builtins.stores.redis import RedisStore
from orion_kernel import ApiError, Message
from orion_kernel.governance import (
    INGRESS_ASYNC,
    INGRESS_CALL,
    INGRESS_KAFKA,
    INGRESS_SYNC,
    ChannelRequest,
    PolicyConfigError,
    PolicySetup,
    Reply,
)
from orion_kernel.governance import rate_limiter
from orion_kernel.testing import default_expression_engine, in_memory_config, policy_catalog

OK = Reply(200, b"{}")


def setup_with(store: Any = None, config: dict[str, Any] | None = None) -> PolicySetup:
    local = MemoryStore()
    return PolicySetup(default_expression_engine(), in_memory_config(config), store or local, local)


def request(client_ip: str = "10.0.0.1", headers: dict[str, str] | None = None, ingress: str = INGRESS_SYNC,
            channel: str = "orders") -> ChannelRequest:
    return ChannelRequest(channel, ingress, Message({}, {"headers": headers or {}}), "req-1", client_ip)


class Terminal:
    """The rest of the chain: counts the requests that got through."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, _: ChannelRequest) -> Reply:
        self.calls += 1
        return OK


async def outcomes(policy, requests: list[ChannelRequest]) -> list[int]:
    """The status of each request in turn: 200 through, 429 refused."""
    statuses = []
    for req in requests:
        try:
            statuses.append((await policy(req, Terminal())).status)
        except ApiError as exc:
            assert exc.code == "RATE_LIMITED" and exc.status == 429
            statuses.append(exc.status)
    return statuses


# --- binding ----------------------------------------------------------------------------------------


def test_burst_defaults_to_half_the_rate_plus_one_and_zero_rps_is_one():
    setup = setup_with()
    assert rate_limit.bind({"requests_per_second": 10}, setup, "c").limiter.burst == 6
    assert rate_limit.bind({"requests_per_second": 1}, setup, "c").limiter.burst == 1
    zero = rate_limit.bind({"requests_per_second": 0}, setup, "c").limiter
    assert (zero.rate, zero.burst) == (1, 1)
    explicit = rate_limit.bind({"requests_per_second": 3, "burst": 9, "key_logic": None}, setup, "c").limiter
    assert (explicit.rate, explicit.burst) == (3, 9)


@pytest.mark.parametrize(("block", "problem"), [
    ({"requests_per_second": True}, ("requests_per_second", "Not a valid integer.")),
    ({"requests_per_second": -1}, ("requests_per_second", "Must be greater than or equal to 0 and less than or equal to 1000000.")),
    ({"requests_per_second": 5, "burst": 2.0}, ("burst", "Not a valid integer.")),
    ("fast", ("", "Invalid input type.")),
])
def test_bad_blocks_are_shape_errors(block, problem):
    with pytest.raises(PolicyConfigError) as caught:
        rate_limit.bind(block, setup_with(), "c")
    assert caught.value.problems == [problem] and not caught.value.at_path


def test_key_logic_that_does_not_compile_is_reported_at_its_path():
    [err] = policy_catalog().check({"rate_limit": {"requests_per_second": 1, "key_logic": {"nope": [1]}}})
    assert err.path == "channel.config.rate_limit.key_logic"
    assert err.message.startswith("rate_limit.key_logic does not compile: unknown operator `nope`")


def test_without_a_block_nothing_is_bound_unless_platform_limiting_is_on():
    assert rate_limit.bind(None, setup_with(), "c") is None
    assert policy_catalog().bind("c", {}) == {}
    platform = rate_limit.bind(None, setup_with(config={"rate_limit": {"enabled": True, "default_rps": 7}}), "c")
    assert isinstance(platform, rate_limit.PlatformDataLimit)
    assert (platform.limiter.name, platform.limiter.rate, platform.limiter.burst) == ("platform", 7, 50)
    data = rate_limit.bind(None, setup_with(config={"rate_limit": {"enabled": True, "endpoints": {"data_rps": 4}}}), "c")
    assert (data.limiter.name, data.limiter.rate, data.limiter.burst) == ("platform-data", 4, 3)


# --- the token bucket ---------------------------------------------------------------------------------


async def test_rps_1_burst_1_passes_the_first_request_and_refuses_an_immediate_second():
    policy = rate_limit.bind({"requests_per_second": 1, "burst": 1}, setup_with(), "orders")
    terminal = Terminal()
    first = request()
    assert (await policy(first, terminal)).status == 200
    assert first.response_headers == {"RateLimit-Policy": '"channel";q=1;w=1;orion-burst=1', "RateLimit": '"channel";r=0;t=1'}
    second = request()
    with pytest.raises(ApiError) as caught:
        await policy(second, terminal)
    assert terminal.calls == 1
    exc = caught.value
    assert (exc.status, exc.code, exc.message) == (429, "RATE_LIMITED", "Too many requests")
    assert exc.headers == {"Retry-After": "1", "RateLimit-Policy": '"channel";q=1;w=1;orion-burst=1',
                           "RateLimit": '"channel";r=0;t=1'}
    assert second.response_headers["RateLimit"] == '"channel";r=0;t=1'


async def test_a_burst_passes_then_refuses_counting_down_remaining():
    policy = rate_limit.bind({"requests_per_second": 2, "burst": 4}, setup_with(), "orders")
    requests = [request() for _ in range(5)]
    assert await outcomes(policy, requests) == [200, 200, 200, 200, 429]
    assert [r.response_headers["RateLimit"] for r in requests] == [
        '"channel";r=3;t=1', '"channel";r=2;t=1', '"channel";r=1;t=1', '"channel";r=0;t=1', '"channel";r=0;t=1']
    assert requests[0].response_headers["RateLimit-Policy"] == '"channel";q=4;w=2;orion-burst=4'


async def test_buckets_are_per_client_ip_and_namespaced_by_channel():
    store = MemoryStore()
    setup = setup_with(store)
    orders = rate_limit.bind({"requests_per_second": 1}, setup, "orders")
    billing = rate_limit.bind({"requests_per_second": 1}, setup, "billing")
    assert await outcomes(orders, [request("10.0.0.1"), request("10.0.0.2"), request("10.0.0.1")]) == [200, 200, 429]
    assert await outcomes(billing, [request("10.0.0.1", channel="billing")]) == [200]
    assert set(store._buckets) == {"rl:orders:10.0.0.1", "rl:orders:10.0.0.2", "rl:billing:10.0.0.1"}


async def test_key_logic_over_headers_shares_a_bucket_across_addresses():
    store = MemoryStore()
    policy = rate_limit.bind({"requests_per_second": 1, "key_logic": {"var": "headers.x-api-key"}}, setup_with(store), "orders")
    assert await outcomes(policy, [
        request("10.0.0.1", {"x-api-key": "key-A"}),
        request("10.0.0.2", {"x-api-key": "key-A"}),  # same key from elsewhere: same bucket
        request("10.0.0.1", {"x-api-key": "key-B"}),
    ]) == [200, 429, 200]
    assert set(store._buckets) == {"rl:orders:key-A", "rl:orders:key-B"}


@pytest.mark.parametrize(("logic", "key"), [
    ({"cat": [{"var": "channel"}, "/", {"var": "client_ip"}]}, "orders/10.0.0.1"),
    ({"var": "headers.x-tenant"}, "null"),  # absent header: JSON null, one bucket for all such requests
    ({"merge": [{"var": "headers.user-agent"}, 1]}, '["curl/8",1]'),
    ({"var": "headers"}, '{"user-agent":"curl/8","x-b":"2"}'),  # objects with sorted keys: a stable key
    ({"throw": "boom"}, "10.0.0.1"),  # evaluation error: the client IP
    ("everyone", "everyone"),
])
def test_key_logic_results(logic, key):
    policy = rate_limit.bind({"requests_per_second": 1, "key_logic": logic}, setup_with(), "orders")
    assert policy.key(request("10.0.0.1", {"x-b": "2", "user-agent": "curl/8"})) == key


def test_long_keys_are_hashed():
    policy = rate_limit.bind({"requests_per_second": 1, "key_logic": {"var": "headers.x-api-key"}}, setup_with(), "c")
    key = policy.key(request(headers={"x-api-key": "k" * 5000}))
    assert key.startswith("sha256:") and len(key) == 71
    assert key == policy.key(request("10.9.9.9", headers={"x-api-key": "k" * 5000}))


@pytest.mark.parametrize("ingress", [INGRESS_SYNC, INGRESS_ASYNC, INGRESS_CALL, INGRESS_KAFKA])
async def test_a_channel_limit_applies_on_every_ingress(ingress):
    policy = rate_limit.bind({"requests_per_second": 1}, setup_with(), "orders")
    assert await outcomes(policy, [request(ingress=ingress), request(ingress=ingress)]) == [200, 429]


# --- the platform data limit ---------------------------------------------------------------------------


async def test_the_platform_limit_is_per_client_across_channels_and_http_only():
    store = MemoryStore()
    setup = setup_with(store, {"rate_limit": {"enabled": True, "endpoints": {"data_rps": 2}}})
    orders, billing = rate_limit.bind(None, setup, "orders"), rate_limit.bind(None, setup, "billing")
    assert await outcomes(orders, [request("10.0.0.1"), request("10.0.0.1", channel="billing")]) == [200, 200]
    assert await outcomes(billing, [request("10.0.0.1", channel="billing"), request("10.0.0.2")]) == [429, 200]
    assert await outcomes(orders, [request(ingress=INGRESS_CALL), request(ingress=INGRESS_KAFKA)]) == [200, 200]
    assert set(store._buckets) == {"rlp:platform-data:10.0.0.1", "rlp:platform-data:10.0.0.2"}
    assert await outcomes(orders, [request("10.0.0.3", ingress=INGRESS_ASYNC)]) == [200]


async def test_a_channel_with_its_own_limit_skips_the_platform_limit():
    platform = {"rate_limit": {"enabled": True, "default_rps": 1, "default_burst": 1}}
    [own] = policy_catalog(platform).bind("orders", {"rate_limit": {"requests_per_second": 5}})[INGRESS_SYNC]
    assert isinstance(own, rate_limit.ChannelRateLimit)
    assert await outcomes(own, [request() for _ in range(3)]) == [200, 200, 200]  # the platform's 1 rps is not consulted


# --- a shared store that is down -------------------------------------------------------------------


async def test_an_unreachable_store_falls_back_to_local_limits_and_warns_once(caplog, monkeypatch):
    monkeypatch.setattr(rate_limiter, "STORE_FALLBACKS", rate_limiter.StoreFallbacks())
    down = RedisStore("redis://127.0.0.1:1/0", "x:")
    await down.open()
    setup = setup_with(down)
    try:
        policy = rate_limit.bind({"requests_per_second": 1, "burst": 2}, setup, "orders")
        with caplog.at_level(logging.WARNING, logger="orion.governance.rate_limit"):
            assert await outcomes(policy, [request() for _ in range(3)]) == [200, 200, 429]
    finally:
        await down.close()
    assert rate_limiter.STORE_FALLBACKS.count == 3
    [warning] = [r for r in caplog.records if r.name == "orion.governance.rate_limit"]
    assert "local per-process limits" in warning.getMessage()
    assert "rl:orders:10.0.0.1" in setup.local_store._buckets

