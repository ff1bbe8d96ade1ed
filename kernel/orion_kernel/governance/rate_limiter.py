"""One token-bucket limit over the state store, shared by the channel policy and the platform limiters.

A :class:`RateLimiter` takes a token for a key from the configured store (GCRA, capacity
``burst``, ``rate`` per second); when that store is unreachable it takes it from this process's
memory store instead, so a Redis outage turns a shared limit into a per-process one rather than
into no limit or an error. It also renders the IETF ``RateLimit`` / ``RateLimit-Policy`` fields
(draft-ietf-httpapi-ratelimit-headers-11 syntax) and the 429 refusal.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from ..errors import ApiError
from .store_failures import StoreFailures
from .stores import RateDecision, StateStore, StoreUnavailable

logger = logging.getLogger("orion.governance.rate_limit")

RATE_LIMITED = "RATE_LIMITED"
TOO_MANY_REQUESTS = "Too many requests"
WARN_EVERY_SECS = 60.0


class StoreFallbacks(StoreFailures):
    """How often a limit fell back to local state because the shared store was unreachable."""

    def __init__(self) -> None:
        super().__init__(logger, "rate limiting", WARN_EVERY_SECS)

    def warn(self, unreported: int, action: str, exc: Exception) -> None:
        logger.warning("rate limiting uses local per-process limits: the shared store is unavailable (%s); "
                       "%d fallback(s) since the last warning", exc, unreported)


#: every limiter of this process counts its fallbacks here
STORE_FALLBACKS = StoreFallbacks()


class RateLimiter:
    """A named limit: ``rate`` tokens per second, at most ``burst`` at once, per bucket key."""

    __slots__ = ("name", "rate", "burst", "store", "local_store", "policy_header", "_interval")

    def __init__(self, name: str, rate: int, burst: int, store: StateStore, local_store: StateStore) -> None:
        self.name = name
        self.rate = rate
        self.burst = burst
        self.store = store
        self.local_store = local_store
        self._interval = 1.0 / rate
        window = max(1, math.ceil(burst / rate))  # seconds an empty bucket takes to refill
        self.policy_header = f'"{name}";q={rate * window};w={window};orion-burst={burst}'

    async def take(self, key: str) -> RateDecision:
        """Take one token from ``key``'s bucket; from the local store while the shared one is down."""
        if self.store is self.local_store:
            return await self.store.take_token(key, self.rate, self.burst)
        try:
            return await self.store.take_token(key, self.rate, self.burst)
        except StoreUnavailable as exc:
            STORE_FALLBACKS.record("using local per-process limits", exc)
            return await self.local_store.take_token(key, self.rate, self.burst)

    def headers(self, decision: RateDecision) -> dict[str, str]:
        """``RateLimit-Policy`` and ``RateLimit`` for a response to a request that ``decision`` judged.

        ``t`` is the effective window: on a refusal the same number of seconds as ``Retry-After``,
        otherwise the seconds until the next token is added (until then at most ``r`` more pass).
        """
        if decision.allowed:
            available = self.burst - decision.reset_after / self._interval  # tokens left, with the fraction
            t = math.ceil((1.0 - (available - decision.remaining)) * self._interval - 1e-9)
        else:
            t = retry_after_secs(decision)
        return {"RateLimit-Policy": self.policy_header, "RateLimit": f'"{self.name}";r={decision.remaining};t={max(0, t)}'}


def retry_after_secs(decision: RateDecision) -> int:
    """``Retry-After`` in whole seconds, at least 1."""
    return max(1, math.ceil(decision.retry_after - 1e-9))


def refusal(headers: Mapping[str, str], decision: RateDecision) -> ApiError:
    """The 429 answer: ``RATE_LIMITED`` with ``Retry-After`` and the given RateLimit fields."""
    return ApiError(RATE_LIMITED, TOO_MANY_REQUESTS, headers={**headers, "Retry-After": str(retry_after_secs(decision))})


def default_burst(rate: int) -> int:
    """The burst when none is configured: ``rate / 2 + 1`` (integer division)."""
    return rate // 2 + 1


def platform_limiter(scope: str, config: Mapping[str, Any], store: StateStore, local_store: StateStore) -> RateLimiter | None:
    """The ``[rate_limit]`` limiter for ``scope`` (``admin``, ``data`` or anything else); None when disabled.

    ``endpoints.admin_rps`` / ``endpoints.data_rps`` give those routes their own limiter (burst
    rate/2 + 1); otherwise a route uses the default limiter (``default_rps`` / ``default_burst``),
    whose buckets it shares with every other such route.
    """
    section = config["rate_limit"]
    if not section["enabled"]:
        return None
    rate = section["endpoints"].get(f"{scope}_rps") if scope in ("admin", "data") else None
    if rate:
        return RateLimiter(f"platform-{scope}", rate, default_burst(rate), store, local_store)
    return RateLimiter("platform", section["default_rps"], section["default_burst"], store, local_store)


def platform_key(limiter: RateLimiter, client_ip: str) -> str:
    """One client's bucket under a platform limiter (apart from every channel's ``rl:`` keys)."""
    return f"rlp:{limiter.name}:{client_ip}"
