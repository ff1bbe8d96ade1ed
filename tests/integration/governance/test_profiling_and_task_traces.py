"""Per-request profiling (``_orion.profile``, only when enabled) and per-task tracing
(``config.tracing.per_task``) through the server, on name and REST routes."""
from __future__ import annotations

import orjson
import pytest

from tests.integration.governance.stateless_support import ECHO, channel, mapping, parse, rest, send, task, workflow

PROFILING = {"tracing": {"debug_profile_enabled": True, "storage": {"mode": "sync"}}}
PROFILE_KEYS = {"version", "totals_ms", "phases", "request_total_ms", "handlers_total_ms", "handlers", "by_function",
                "by_connector", "breakdown_pct", "workflow_total_ms", "workflow_overhead_ms", "engine_lock_wait_ms",
                "trace_store_ms"}


async def sync_traces(client, name):
    resp = await client.get("/api/v1/data/traces", params={"channel": name, "mode": "sync"})
    return (await resp.json())["data"]


async def trace(client, trace_id):
    resp = await client.get(f"/api/v1/data/traces/{trace_id}")
    assert resp.status == 200
    return await resp.json()


async def test_profiling_is_ignored_unless_enabled(orion_client):
    client = await orion_client(workflows=[ECHO], channels=[channel("orders")])
    status, body, _ = await send(client, "orders?profile=1", headers={"X-Orion-Profile": "1"})
    assert status == 200 and "_orion" not in body


@pytest.mark.parametrize(("path", "headers", "profiled"), [
    ("orders", {"X-Orion-Profile": "1"}, True),
    ("orders", {"X-Orion-Profile": "YES"}, True),
    ("shop/orders?profile=true", {}, True),
    ("orders?profile=0", {}, False),
    ("orders", {"X-Orion-Profile": "off"}, False),
    ("shop/orders", {}, False),
])
async def test_a_profile_when_asked_for(orion_client, path, headers, profiled):
    client = await orion_client(config=PROFILING, workflows=[ECHO], channels=[rest("orders", "/shop/orders")])
    status, body, _ = await send(client, path, {"n": 1}, headers=headers)
    assert status == 200 and body["data"] == {"in": {"n": 1}, "ran": True}
    assert list(body)[:4] == ["id", "status", "data", "errors"]
    assert ("_orion" in body) is profiled
    if profiled:
        profile = body["_orion"]["profile"]
        assert set(profile) == PROFILE_KEYS and profile["version"] == 1
        assert profile["handlers"] == [] and profile["handlers_total_ms"] == 0.0  # map and parse_json are not handlers
        assert [p["name"] for p in profile["phases"]] == ["handlers", "workflow_overhead", "trace_store"]
        assert profile["totals_ms"] == profile["request_total_ms"] >= profile["workflow_total_ms"] > 0
        assert profile["workflow_overhead_ms"] == profile["workflow_total_ms"]
    [row] = await sync_traces(client, "orders")
    stored = orjson.loads(row["result_json"])
    assert "_orion" not in stored and stored["id"] == body["id"]  # the stored result never carries debug output
    assert stored["data"] == body["data"]


async def test_channel_calls_are_handler_samples_with_nested_calls(orion_client):
    leaf = workflow("leaf", mapping("leaf", "data.leaf", True))
    middle = workflow("middle", task("call-leaf", "channel_call", channel="leaf-ch", response_path="data.from_leaf"))
    top = workflow("top", task("call-middle", "channel_call", channel="middle-ch", response_path="data.from_middle"),
                   task("call-leaf", "channel_call", channel="leaf-ch", response_path="data.direct"))
    client = await orion_client(config=PROFILING, workflows=[leaf, middle, top], channels=[
        channel("leaf-ch", "leaf"), channel("middle-ch", "middle"), channel("top-ch", "top")])
    status, body, _ = await send(client, "top-ch", headers={"X-Orion-Profile": "1"})
    assert status == 200 and body["data"]["direct"] == {"leaf": True}
    profile = body["_orion"]["profile"]
    first, second = profile["handlers"]
    assert first["function"] == second["function"] == "channel_call"
    assert [(n["function"], n["depth"]) for n in first["nested"]] == [("channel_call", 1)]
    assert "nested" not in second
    assert profile["by_function"] == {"channel_call": {"count": 2, "total_ms": pytest.approx(
        first["duration_ms"] + second["duration_ms"], abs=0.02)}}
    assert profile["by_connector"] == {}
    assert profile["handlers_total_ms"] == pytest.approx(first["duration_ms"] + second["duration_ms"], abs=0.02)
    assert 0 < first["pct_of_workflow"] <= 100
    assert profile["handlers_total_ms"] <= profile["workflow_total_ms"]


async def test_errors_carry_no_profile(orion_client):
    client = await orion_client(config=PROFILING, workflows=[ECHO], channels=[
        channel("closed", config={"backpressure": {"max_concurrent": 0}})])
    status, body, _ = await send(client, "closed", headers={"X-Orion-Profile": "1"})
    assert status == 503 and set(body) == {"error"}


STEPS_WF = workflow("steps", parse(), mapping("double", "data.double", {"*": [{"var": "data.in.n"}, 2]}),
                    mapping("big", "data.big", True, condition={">": [{"var": "data.double"}, 100]}))


@pytest.mark.parametrize("tracing", [{"per_task": True}, {"task_details": True}, {"per_task": True, "task_details": False}])
async def test_per_task_traces_are_stored_and_returned_parsed(orion_client, tracing):
    client = await orion_client(config={"tracing": {"storage": {"mode": "sync"}}}, workflows=[STEPS_WF], channels=[
        rest("traced", "/traced/{id}", "steps", config={"tracing": tracing})])
    for path in ("traced", "traced/1"):
        status, body, _ = await send(client, path, {"n": 3})
        assert status == 200 and body == {"id": body["id"], "status": "ok", "data": {"in": {"n": 3}, "double": 6}, "errors": []}
    rows = await sync_traces(client, "traced")
    assert len(rows) == 2
    for row in rows:
        steps = orjson.loads(row["task_trace_json"])["steps"]
        assert [(s["task_id"], s["result"]) for s in steps] == [("parse", "executed"), ("double", "executed"), ("big", "skipped")]
        assert steps[1]["message"]["context"]["data"] == {"in": {"n": 3}, "double": 6}
        assert steps[0]["message"]["context"]["data"] == {"in": {"n": 3}}  # a snapshot, not the final message
        assert isinstance(steps[0]["duration_us"], int) and steps[0]["workflow_id"] == "steps"
        one = await trace(client, row["id"])
        assert one["task_trace_json"] == {"steps": steps}


@pytest.mark.parametrize("tracing", [None, {"per_task": False}, {"task_details": False}, {"per_task": False, "task_details": True}])
async def test_without_per_task_no_steps_are_stored(orion_client, tracing):
    config = {"tracing": tracing} if tracing is not None else {}
    client = await orion_client(config={"tracing": {"storage": {"mode": "sync"}}}, workflows=[STEPS_WF],
                                channels=[channel("plain", "steps", config=config)])
    assert (await send(client, "plain", {"n": 3}))[0] == 200
    [row] = await sync_traces(client, "plain")
    assert row["task_trace_json"] is None
    assert "task_trace_json" not in await trace(client, row["id"])


async def test_a_task_trace_beyond_the_result_size_limit_is_not_stored(orion_client):
    config = {"tracing": {"storage": {"mode": "sync"}}, "queue": {"max_result_size_bytes": 400}}
    client = await orion_client(config=config, workflows=[STEPS_WF],
                                channels=[channel("traced", "steps", config={"tracing": {"per_task": True}})])
    status, body, _ = await send(client, "traced", {"n": 3})
    assert status == 200  # the answer fits, the steps (a message snapshot per task) do not
    [row] = await sync_traces(client, "traced")
    assert row["task_trace_json"] is None and orjson.loads(row["result_json"]) == body


async def test_profiling_and_per_task_tracing_together(orion_client):
    client = await orion_client(config=PROFILING, workflows=[STEPS_WF],
                                channels=[channel("both", "steps", config={"tracing": {"per_task": True}})])
    status, body, _ = await send(client, "both", {"n": 60}, headers={"X-Orion-Profile": "true"})
    assert status == 200 and body["data"]["big"] is True and body["_orion"]["profile"]["trace_store_ms"] >= 0
    [row] = await sync_traces(client, "both")
    assert "_orion" not in row["result_json"]
    assert len(orjson.loads(row["task_trace_json"])["steps"]) == 3
