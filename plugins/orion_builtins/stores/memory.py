"""``memory://``: governance state in this process (essential; also every remote store's fallback).

Each worker process has its own: with ``server.workers = N`` a rate limit admits up to N times
its rate and an idempotency key is only known to the worker that saw it. Use ``redis://`` to share.
"""
from __future__ import annotations

import math
import time
from typing import Any

from orion_kernel import hookimpl
from orion_kernel.governance import RateDecision

ORION_ESSENTIAL = True
SCHEME = "memory://"


class MemoryStore:
    """Expiring values and token buckets in dicts, bounded by ``max_keys`` each (oldest dropped)."""

    name = "memory"

    def __init__(self, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._values: dict[str, tuple[float, bytes]] = {}  # key -> (expires at, value)
        self._buckets: dict[str, float] = {}  # key -> GCRA theoretical arrival time

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        self._values.clear()
        self._buckets.clear()

    async def take_token(self, key: str, rate: float, burst: int) -> RateDecision:
        now = time.monotonic()
        interval = 1.0 / rate
        capacity = interval * burst
        tat = self._buckets.get(key, now)
        new_tat = max(tat, now) + interval
        allow_at = new_tat - capacity
        if now < allow_at:
            return RateDecision(False, 0, allow_at - now, tat - now)
        if key not in self._buckets and len(self._buckets) >= self.max_keys:
            self._evict(self._buckets, now)
        self._buckets[key] = new_tat
        remaining = min(burst - 1, math.floor((now - allow_at) / interval + 1e-9))
        return RateDecision(True, max(0, remaining), 0.0, new_tat - now)

    def _evict(self, table: dict[str, Any], now: float) -> None:
        """Drop entries already expired (a bucket is idle once its TAT has passed), else the oldest."""
        expired = [k for k, v in table.items() if (v[0] if isinstance(v, tuple) else v) <= now]
        for key in expired:
            del table[key]
        while len(table) >= self.max_keys:
            del table[next(iter(table))]

    def _live(self, key: str, now: float) -> tuple[float, bytes] | None:
        entry = self._values.get(key)
        if entry is not None and entry[0] <= now:
            del self._values[key]
            return None
        return entry

    async def add(self, key: str, value: bytes, ttl_secs: float) -> bool:
        now = time.monotonic()
        if self._live(key, now) is not None:
            return False
        self._store(key, value, ttl_secs, now)
        return True

    async def get(self, key: str) -> bytes | None:
        entry = self._live(key, time.monotonic())
        return None if entry is None else entry[1]

    async def set(self, key: str, value: bytes, ttl_secs: float) -> None:
        self._store(key, value, ttl_secs, time.monotonic())

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)

    def _store(self, key: str, value: bytes, ttl_secs: float, now: float) -> None:
        if key not in self._values and len(self._values) >= self.max_keys:
            self._evict(self._values, now)
        self._values.pop(key, None)  # re-insert: insertion order is age order
        self._values[key] = (now + ttl_secs, value)


@hookimpl
def orion_state_store_for_url(url: str, options: dict[str, Any]) -> MemoryStore | None:
    if url != SCHEME and url != "memory":
        return None
    return MemoryStore(options.get("memory_max_keys", 100_000))
