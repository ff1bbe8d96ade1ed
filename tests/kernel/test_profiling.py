"""Per-request profiling (api-data.md §5.3): samples, nesting and the version 1 shape."""
from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from orion_kernel import profiling
from orion_kernel.profiling import HandlerSample, RequestProfile


@pytest.mark.parametrize(("header", "query", "wanted"), [
    ("1", None, True), ("TRUE", None, True), (" yes ", None, True), (None, "1", True), (None, "True", True),
    ("0", None, False), ("no", None, False), ("false", "0", False), ("", "", False), ("on", None, False),
    (None, None, False), ("0", "yes", True),
])
def test_truthy_values(header, query, wanted):
    assert profiling.requested(header, query) is wanted


def test_samples_outside_a_profiled_request_are_no_ops():
    assert profiling.current() is None
    with HandlerSample("channel_call"):
        pass
    assert profiling.current() is None


async def in_own_task(coro):
    """Each request runs in a task of its own (as aiohttp runs handlers), so the sink stays there."""
    return await asyncio.create_task(coro)


async def test_nested_samples_are_listed_under_their_top_level_call_with_depth():
    async def request():
        profile = profiling.begin()
        assert profiling.current() is profile
        with HandlerSample("channel_call"):
            assert profiling.current() is None  # inside a call nothing renders
            with HandlerSample("cache_read", "hot"):
                pass
            with HandlerSample("channel_call"):
                with HandlerSample("db_read", "orders-db"):
                    pass
        with HandlerSample("db_read", "orders-db"):
            pass
        assert profiling.current() is profile
        return profile

    profile = await in_own_task(request())
    assert profiling.current() is None
    first, second = profile.samples
    assert [(s["function"], s.get("connector"), s["depth"]) for s in first["nested"]] == [
        ("cache_read", "hot", 1), ("channel_call", None, 1), ("db_read", "orders-db", 2)]
    assert "nested" not in second and "depth" not in second
    assert all(s["duration_ms"] >= 0 for s in [first, second, *first["nested"]])


def test_render_shape_and_arithmetic():
    profile = RequestProfile()
    profile.started = time.perf_counter() - 0.010  # 10 ms ago
    profile.samples = [{"function": "db_read", "connector": "orders-db", "duration_ms": 4.0},
                       {"function": "channel_call", "duration_ms": 2.0,
                        "nested": [{"function": "cache_read", "connector": "hot", "duration_ms": 0.111, "depth": 1}]},
                       {"function": "db_read", "connector": "orders-db", "duration_ms": 1.0}]
    profile.trace_store_ms = 0.5
    out = profile.render(workflow_total_ms=8.0)
    assert out["version"] == 1
    assert out["totals_ms"] == out["request_total_ms"] and out["request_total_ms"] >= 10.0
    assert out["handlers_total_ms"] == 7.0
    assert out["workflow_total_ms"] == 8.0 and out["workflow_overhead_ms"] == 1.0
    assert out["trace_store_ms"] == 0.5 and out["engine_lock_wait_ms"] == 0.0
    assert [p["name"] for p in out["phases"]] == ["handlers", "workflow_overhead", "trace_store"]
    assert out["handlers"][0] == {"function": "db_read", "connector": "orders-db", "duration_ms": 4.0, "pct_of_workflow": 50.0}
    assert out["handlers"][1]["nested"] == [{"function": "cache_read", "connector": "hot", "duration_ms": 0.11, "depth": 1}]
    assert out["by_function"] == {"db_read": {"count": 2, "total_ms": 5.0}, "channel_call": {"count": 1, "total_ms": 2.0}}
    assert out["by_connector"] == {"orders-db": {"count": 2, "total_ms": 5.0}}  # nested samples do not count
    total = out["request_total_ms"]
    assert out["breakdown_pct"]["external_io"] == pytest.approx(7.0 / total * 100, abs=0.1)
    assert set(out["breakdown_pct"]) == {"external_io", "workflow_overhead", "trace_store"}


def test_zero_basis_and_no_negative_numbers():
    profile = RequestProfile()
    profile.samples = [{"function": "channel_call", "duration_ms": 3.0}]
    out = profile.render(workflow_total_ms=0.0)
    assert out["handlers"][0]["pct_of_workflow"] == 0.0
    assert out["workflow_overhead_ms"] == 0.0  # floored: handlers outlasting the run never go negative
    assert "trace_store" not in [p["name"] for p in out["phases"]]
    text = orjson.dumps(out).decode()
    assert "-0.0" not in text and ": -" not in text


def test_attach_appends_to_the_envelope():
    body = orjson.dumps({"id": "m", "status": "ok", "data": {}, "errors": []})
    out = orjson.loads(RequestProfile().attach(body, 1.0))
    assert list(out) == ["id", "status", "data", "errors", "_orion"]
    assert out["_orion"]["profile"]["version"] == 1
