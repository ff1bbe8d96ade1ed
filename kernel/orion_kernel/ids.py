"""UUID strings for the request path: random (v4) and time-ordered (v7).

Formatted straight from ``os.urandom`` (the source :func:`uuid.uuid4` uses), without building a
:class:`uuid.UUID`: less than half the cost of ``str(uuid.uuid4())``.
"""
from __future__ import annotations

import os
import time

_VARIANT = "89ab"  # RFC 9562 variant bits (10xx) as the first hex digit of the fourth group


def uuid4_str() -> str:
    """A random UUID (version 4), lower-case and hyphenated."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def uuid7_str() -> str:
    """A time-ordered UUID (version 7: Unix milliseconds, then random bits).

    Ids made later sort later, so a database index on them grows at its end instead of at random
    places: storing a trace row in SQLite costs half as much, and stays flat as the table grows.
    """
    ms = time.time_ns() // 1_000_000
    h = os.urandom(10).hex()
    return f"{ms >> 16:08x}-{ms & 0xFFFF:04x}-7{h[1:4]}-{_VARIANT[int(h[4], 16) & 3]}{h[5:8]}-{h[8:]}"
