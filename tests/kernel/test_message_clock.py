"""The timestamps the message and storage layers stamp (message.rfc3339_now / storage_now)."""
from __future__ import annotations

import re
import time
from datetime import datetime, timezone

from orion_kernel import message
from orion_kernel.message import rfc3339_now, storage_now


def test_formats_match_the_documented_ones():
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", rfc3339_now())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", storage_now())


def test_the_value_is_now_in_utc():
    stamped = datetime.strptime(rfc3339_now(), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert abs((datetime.now(timezone.utc) - stamped).total_seconds()) < 1


def test_the_cached_second_follows_the_clock(monkeypatch):
    """The text of the second is cached; a new second must still show up, with its microseconds."""
    second = 1_767_225_599  # 2025-12-31T23:59:59Z
    monkeypatch.setattr(message.time, "time_ns", lambda: second * 1_000_000_000 + 999_999_999)
    assert rfc3339_now() == "2025-12-31T23:59:59.999999Z"
    monkeypatch.setattr(message.time, "time_ns", lambda: (second + 1) * 1_000_000_000 + 7_000)
    assert rfc3339_now() == "2026-01-01T00:00:00.000007Z"
    assert storage_now() == "2026-01-01T00:00:00.000007"


def test_successive_stamps_never_go_back():
    stamps = [rfc3339_now() for _ in range(1000)]
    time.sleep(0.001)
    stamps.append(rfc3339_now())
    assert stamps == sorted(stamps)
