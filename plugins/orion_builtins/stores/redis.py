"""``redis://`` / ``rediss://``: governance state shared by every instance that uses the same Redis.

Rate-limit buckets, idempotency keys and cached responses live under ``[governance] key_prefix``.
The token bucket is one Lua script (GCRA) run atomically by Redis on *Redis's* clock
(``TIME``): instances whose clocks disagree still share one consistent bucket, and nothing
depends on the client's clock. Each bucket key expires as soon as it would be full again.

A Redis that is down must not take the server with it: nothing connects before the first use
(``open`` never fails), every failure is :class:`StoreUnavailable` (rate limiting falls back to
local limits, deduplication and the cache fail open), and timeouts are short:

- connect: 0.25 s, any command: 0.5 s, no retries (the caller falls back instead);
- at most 100 connections per process; waiting for a free one: 0.5 s at most;
- after a connection failure or a timeout, calls fail at once for 1 s; then a single call
  probes Redis while the others keep failing fast, so a Redis that swallows packets stalls one
  request per second and worker, not every request.

``socket_connect_timeout``, ``socket_timeout``, ``max_connections`` and ``timeout`` (the pool
wait) can be overridden in the URL query, e.g. ``redis://cache:6379/0?socket_timeout=0.2``.
"""
from __future__ import annotations

import math
import time
from typing import Any
from urllib.parse import urlsplit

from redis import exceptions as redis_errors
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import parse_url
from redis.backoff import NoBackoff
from redis.retry import Retry

from orion_kernel import PluginError, hookimpl
from orion_kernel.governance import RateDecision, StoreUnavailable

SCHEMES = ("redis://", "rediss://")
CONNECT_TIMEOUT_SECS = 0.25
COMMAND_TIMEOUT_SECS = 0.5
MAX_CONNECTIONS = 100
POOL_WAIT_SECS = 0.5
RETRY_AFTER_FAILURE_SECS = 1.0
MICROS = 1_000_000

# GCRA on Redis's clock, in integer microseconds (TIME before a write needs Redis >= 5). KEYS[1] bucket; ARGV[1] emission interval,
# ARGV[2] burst. Stores the theoretical arrival time (TAT); returns
# {allowed, remaining, retry_after_us, reset_after_us} like MemoryStore.take_token.
TAKE_TOKEN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
local new_tat = math.max(tat, now) + interval
local allow_at = new_tat - interval * burst
if now < allow_at then
  return {0, 0, allow_at - now, tat - now}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return {1, math.min(burst - 1, math.floor((now - allow_at) / interval)), 0, new_tat - now}
"""

UNAVAILABLE = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError, TimeoutError)


class RedisStore:
    """The StateStore protocol on one Redis database; every key gets ``key_prefix`` in front."""

    name = "redis"

    def __init__(self, url: str, key_prefix: str = "") -> None:
        check_url(url)
        self.url = url
        self.prefix = key_prefix
        self._client: Redis | None = None
        self._take_token: Any = None
        self._down_until = 0.0  # while Redis is unreachable: when to try it again
        self._probing = False

    async def open(self) -> None:
        """Create the client; nothing connects until the first call."""
        pool = BlockingConnectionPool.from_url(
            self.url,
            socket_connect_timeout=CONNECT_TIMEOUT_SECS,
            socket_timeout=COMMAND_TIMEOUT_SECS,
            max_connections=MAX_CONNECTIONS,
            timeout=POOL_WAIT_SECS,
            retry=Retry(NoBackoff(), 0),
        )
        self._client = Redis(connection_pool=pool)
        self._take_token = self._client.register_script(TAKE_TOKEN)

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose(close_connection_pool=True)

    async def take_token(self, key: str, rate: float, burst: int) -> RateDecision:
        interval = max(1, round(MICROS / rate))
        allowed, remaining, retry_us, reset_us = await self._call(
            self._take_token, keys=[self.prefix + key], args=[interval, burst])
        return RateDecision(bool(allowed), int(remaining), retry_us / MICROS, reset_us / MICROS)

    async def add(self, key: str, value: bytes, ttl_secs: float) -> bool:
        client = self._ready()
        return bool(await self._call(client.set, self.prefix + key, value, px=_millis(ttl_secs), nx=True))

    async def get(self, key: str) -> bytes | None:
        client = self._ready()
        value: bytes | None = await self._call(client.get, self.prefix + key)
        return value

    async def set(self, key: str, value: bytes, ttl_secs: float) -> None:
        client = self._ready()
        await self._call(client.set, self.prefix + key, value, px=_millis(ttl_secs))

    async def delete(self, key: str) -> None:
        client = self._ready()
        await self._call(client.delete, self.prefix + key)

    def _ready(self) -> Redis:
        if self._client is None:
            raise StoreUnavailable("the redis store is not open")
        return self._client

    async def _call(self, command: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one command; StoreUnavailable for any Redis failure.

        After a connection failure or a timeout, calls fail at once until the pause is over; then
        one call probes Redis while the others keep failing fast.
        """
        self._ready()
        probing = False
        if self._down_until:
            if self._probing or time.monotonic() < self._down_until:
                raise StoreUnavailable("redis is unreachable (retrying shortly)")
            self._probing = probing = True
        try:
            result = await command(*args, **kwargs)
        except UNAVAILABLE as exc:
            self._down_until = time.monotonic() + RETRY_AFTER_FAILURE_SECS
            raise StoreUnavailable(f"redis is unreachable: {exc}") from None
        except redis_errors.RedisError as exc:  # e.g. OOM, READONLY replica: cannot serve either
            raise StoreUnavailable(f"redis failed: {exc}") from None
        finally:
            if probing:
                self._probing = False
        self._down_until = 0.0
        return result


def check_url(url: str) -> None:
    """Refuse a URL Redis would misread (start-up stops with the reason, not at the first request)."""
    try:
        options = parse_url(url)
    except ValueError as exc:
        raise PluginError(f"governance.store is not a valid Redis URL: {exc}") from None
    path = urlsplit(url).path.strip("/")
    if path and "db" not in options:
        raise PluginError(f"governance.store is not a valid Redis URL: the database '{path}' must be a number "
                          "(redis://host:6379/0)")


def _millis(ttl_secs: float) -> int:
    return max(1, math.ceil(ttl_secs * 1000))


@hookimpl
def orion_state_store_for_url(url: str, options: dict[str, Any]) -> RedisStore | None:
    if not url.startswith(SCHEMES):
        return None
    return RedisStore(url, options.get("key_prefix", ""))
