"""Governance policy ``rate_limit`` (channels.md §4.1): a token bucket per channel and key → 429.

A channel with a ``rate_limit`` block is checked against its own limiter only, whether or not
platform rate limiting is on. A channel without one is checked, on HTTP ingress (sync and
async), against the platform data limiter when ``[rate_limit] enabled`` (config-and-ops.md §3.8);
otherwise nothing is bound and the channel pays nothing.

Every response of a limited request carries ``RateLimit`` and ``RateLimit-Policy``; a refusal is
429 ``RATE_LIMITED`` with ``Retry-After``. Buckets live in ``[governance] store`` (shared by every
instance with Redis); while that store is unreachable they fall back to this process's memory.
"""
from __future__ import annotations

import hashlib
from typing import Any

import orjson
from marshmallow import RAISE, Schema, fields, validate

from orion_kernel import Expr, ExpressionError, compile_expression, hookimpl
from orion_kernel.governance import (
    ALL_INGRESS,
    INGRESS_ASYNC,
    INGRESS_SYNC,
    ChannelPolicy,
    ChannelRequest,
    PolicyConfigError,
    PolicySetup,
    Proceed,
    RateLimiter,
    Reply,
    default_burst,
    load_block,
    platform_key,
    platform_limiter,
    refusal,
)

CONFIG_KEY = "rate_limit"
ORDER = 100  # step 0: before every other policy (api-data.md §5.1)
POLICY_NAME = "channel"
MAX_KEY_CHARS = 128  # longer computed keys are hashed, so a huge header value makes a short bucket key
HTTP_INGRESS = frozenset({INGRESS_SYNC, INGRESS_ASYNC})


MAX_RATE = 1_000_000  # the Redis bucket counts in microseconds: one token per µs at most


class JsonInteger(fields.Integer):
    """A JSON integer: booleans, floats and numeric strings are "Not a valid integer."."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return value


class RateLimitBlock(Schema):
    class Meta:
        unknown = RAISE

    requests_per_second = JsonInteger(required=True, validate=validate.Range(min=0, max=MAX_RATE))
    burst = JsonInteger(allow_none=True, validate=validate.Range(min=1, max=MAX_RATE))
    key_logic = fields.Raw(allow_none=True)


_BLOCK = RateLimitBlock()


class ChannelRateLimit:
    """The bound channel limit: bucket ``rl:<channel>:<key>``, key = client IP or ``key_logic``."""

    __slots__ = ("limiter", "prefix", "key_logic")

    def __init__(self, channel: str, limiter: RateLimiter, key_logic: Expr | None) -> None:
        self.limiter = limiter
        self.prefix = f"rl:{channel}:"
        self.key_logic = key_logic

    def key(self, request: ChannelRequest) -> str:
        """The bucket key: a string result of ``key_logic`` as is, any other as JSON; the client IP
        when there is no ``key_logic`` or it fails."""
        if self.key_logic is None:
            return request.client_ip
        context = {"client_ip": request.client_ip, "channel": request.channel, "headers": request.headers}
        try:
            value = self.key_logic.evaluate(context)
            key = value if isinstance(value, str) else orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
        except (ExpressionError, TypeError):
            return request.client_ip
        if len(key) > MAX_KEY_CHARS:
            key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
        return key

    async def __call__(self, request: ChannelRequest, proceed: Proceed) -> Reply:
        decision = await self.limiter.take(self.prefix + self.key(request))
        headers = self.limiter.headers(decision)
        request.response_headers.update(headers)
        if not decision.allowed:
            raise refusal(headers, decision)
        return await proceed(request)


class PlatformDataLimit:
    """``[rate_limit]`` for the data routes of a channel without its own limit: per client IP,
    HTTP ingress only (``channel_call`` and Kafka records are not client requests)."""

    __slots__ = ("limiter",)

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    async def __call__(self, request: ChannelRequest, proceed: Proceed) -> Reply:
        if request.ingress not in HTTP_INGRESS:
            return await proceed(request)
        decision = await self.limiter.take(platform_key(self.limiter, request.client_ip))
        headers = self.limiter.headers(decision)
        request.response_headers.update(headers)
        if not decision.allowed:
            raise refusal(headers, decision)
        return await proceed(request)


def bind(block: Any, setup: PolicySetup, channel: str) -> ChannelRateLimit | PlatformDataLimit | None:
    """The channel's own limit; without a block the platform data limiter, or None when that is off."""
    if block is None:
        limiter = platform_limiter("data", setup.config, setup.store, setup.local_store)
        return PlatformDataLimit(limiter) if limiter is not None else None
    loaded = load_block(_BLOCK, block)
    rate = loaded["requests_per_second"] or 1  # 0 is treated as 1 (channels.md §4.1)
    burst = loaded.get("burst") or default_burst(rate)
    key_logic = None
    if loaded.get("key_logic") is not None:
        try:
            key_logic = compile_expression(setup.expressions, loaded["key_logic"], templating=False)
        except ExpressionError as exc:
            raise PolicyConfigError([("key_logic", f"rate_limit.key_logic does not compile: {exc}")], at_path=True) from None
    return ChannelRateLimit(channel, RateLimiter(POLICY_NAME, rate, burst, setup.store, setup.local_store), key_logic)


@hookimpl
def orion_channel_policies():
    yield ChannelPolicy(
        name="rate_limit",
        config_key=CONFIG_KEY,
        order=ORDER,
        bind=bind,
        ingress=ALL_INGRESS,
        binds_without_block=True,
        description="Token bucket per channel and key (client IP or key_logic) → 429 RATE_LIMITED; "
                    "the platform data limit for channels without one",
    )
