"""The shared state behind stateful policies (rate limit, deduplication, response cache).

A store plugin answers ``orion_state_store_for_url``; the built-ins are ``memory://`` (this
process only) and ``redis://`` (shared by every instance).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class StoreUnavailable(Exception):
    """The store could not be reached; policies fail open or fall back to local state."""


@dataclass(frozen=True, slots=True)
class RateDecision:
    """One token-bucket check: allowed or not, tokens left, seconds until one is free / until full."""

    allowed: bool
    remaining: int
    retry_after: float
    reset_after: float


class StateStore(Protocol):
    """Key/value state with expiry plus an atomic token bucket; keys are already namespaced."""

    name: str

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def take_token(self, key: str, rate: float, burst: int) -> RateDecision:
        """GCRA: take one token from ``key``'s bucket (capacity ``burst``, ``rate`` per second)."""

    async def add(self, key: str, value: bytes, ttl_secs: float) -> bool:
        """Store ``value`` only if ``key`` is absent (or expired); True when stored."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl_secs: float) -> None: ...

    async def delete(self, key: str) -> None: ...
