"""UUID strings for the request path: random (v4) and time-ordered (v7).

Formatted straight from ``os.urandom`` bytes (the source :func:`uuid.uuid4` uses) without building
a :class:`uuid.UUID`, and the bytes are bought 4 KiB at a time: a system call costs more than the
rest of making an id. About a third of the cost of ``str(uuid.uuid4())``.
"""
from __future__ import annotations

import os
import threading
import time

_VARIANT = "89ab"  # RFC 9562 variant bits (10xx) as the first hex digit of the fourth group
_POOL_BYTES = 4096


class _Entropy:
    """Random bytes handed out in 16-byte slices; each slice goes to one caller only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""
        self._offset = 0

    def hex32(self) -> str:
        """32 random hex digits."""
        with self._lock:
            offset = self._offset
            if offset >= len(self._pool):
                self._pool, offset = os.urandom(_POOL_BYTES), 0
            self._offset = offset + 16
            return self._pool[offset : offset + 16].hex()

    def forget(self) -> None:
        """Drop the pool (in a forked child, which must not repeat its parent's ids)."""
        self._lock = threading.Lock()
        self._pool, self._offset = b"", 0


_entropy = _Entropy()
os.register_at_fork(after_in_child=_entropy.forget)


def uuid4_str() -> str:
    """A random UUID (version 4), lower-case and hyphenated."""
    h = _entropy.hex32()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def uuid7_str() -> str:
    """A time-ordered UUID (version 7: Unix milliseconds, then random bits).

    Ids made later sort later, so a database index on them grows at its end instead of at random
    places: storing a trace row in SQLite costs half as much, and stays flat as the table grows.
    """
    t = "%012x" % (time.time_ns() // 1_000_000)
    h = _entropy.hex32()
    return f"{t[:8]}-{t[8:]}-7{h[13:16]}-{_VARIANT[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"
